//! Optimizers and learning-rate schedulers with PyTorch's update rules.
//!
//! | this crate | PyTorch |
//! |---|---|
//! | [`Sgd`] | `torch.optim.SGD` |
//! | [`Adam`] | `torch.optim.Adam` |
//! | [`AdamW`] | `torch.optim.AdamW` |
//! | [`RmsProp`] | `torch.optim.RMSprop` |
//! | [`Adagrad`] | `torch.optim.Adagrad` |
//! | [`StepLr`] | `torch.optim.lr_scheduler.StepLR` |
//! | [`ExponentialLr`] | `torch.optim.lr_scheduler.ExponentialLR` |
//! | [`CosineAnnealingLr`] | `torch.optim.lr_scheduler.CosineAnnealingLR` |
//!
//! An optimizer is built for one model type `M` and keeps its state (momentum
//! buffers, moment estimates) in values of the model's gradient type
//! `M::Grads`, allocated once when the optimizer is built.
//! [`Optimizer::step`] takes the gradients by value, so a step consumes them
//! and the next step needs fresh ones. The gradients of earlier steps cannot
//! pile up the way they do in PyTorch when `zero_grad()` is forgotten, and
//! the gradients of another model type do not compile.
//!
//! ```compile_fail
//! use autograd::{Param, Tensor, Rank1, typenum::{U2, U3}};
//! use nn::optim::{Optimizer, Sgd, SgdConfig};
//!
//! let mut model: Param<Tensor<Rank1<U2>>> = Param::new(Tensor::zeros());
//! let mut sgd = Sgd::new(&model, SgdConfig::default());
//! let grads_of_another_model: Tensor<Rank1<U3>> = Tensor::zeros();
//! sgd.step(&mut model, grads_of_another_model); // expected `Rank1<U2>`, found `Rank1<U3>`
//! ```
//!
//! Hyperparameters are `f64`, as Python floats are in PyTorch, and are
//! converted to the parameters' element type at each step.
//!
//! ```
//! use autograd::{Module, Param, Tensor, Rank1, typenum::U2};
//! use nn::optim::{Optimizer, Sgd, SgdConfig};
//!
//! let mut weight: Param<Tensor<Rank1<U2>, f64>> = Param::new(Tensor::from_array([1.0, 2.0]));
//! let mut sgd = Sgd::new(&weight, SgdConfig { lr: 0.5, ..SgdConfig::default() });
//! sgd.step(&mut weight, Tensor::from_array([1.0, -1.0]));
//! assert_eq!(weight.as_slice(), &[0.5, 2.5]);
//! ```

mod adagrad;
mod adam;
mod rmsprop;
mod scheduler;
mod sgd;

pub use adagrad::{Adagrad, AdagradConfig};
pub use adam::{Adam, AdamConfig, AdamW, AdamWConfig};
pub use rmsprop::{RmsProp, RmsPropConfig};
pub use scheduler::{CosineAnnealingLr, ExponentialLr, LrScheduler, StepLr};
pub use sgd::{Sgd, SgdConfig};

use autograd::Module;

/// An optimizer for models of type [`Optimizer::Model`].
pub trait Optimizer {
    /// The model type whose parameters this optimizer updates.
    type Model: Module;

    /// Updates the model's parameters from its gradients, consuming them.
    fn step(&mut self, model: &mut Self::Model, grads: <Self::Model as Module>::Grads);

    /// The learning rate of the next step.
    fn lr(&self) -> f64;

    /// Sets the learning rate of the next steps (schedulers call this).
    fn set_lr(&mut self, lr: f64);
}

/// Panics when the model has no parameters, as PyTorch raises
/// `ValueError: optimizer got an empty parameter list`.
#[track_caller]
fn check_has_params<M: Module>(model: &M, optimizer: &str) {
    assert!(
        model.num_params() > 0,
        "{optimizer}: the model has no parameters to optimize; wrap the trainable tensors \
         in `Param` and include their layers in the model"
    );
}

/// Panics with the hyperparameter's name when `ok` is false, as PyTorch's
/// optimizers raise `ValueError` for invalid hyperparameters.
#[track_caller]
fn check_hyperparameter(ok: bool, optimizer: &str, name: &str, value: f64) {
    assert!(ok, "{optimizer}: invalid {name}: {value}");
}
