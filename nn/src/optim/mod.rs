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
//! // error: the optimizer of `Param<Tensor<Rank1<..>>>` was handed `Tensor<Rank1<..>>`,
//! // which is not the gradient type of `Param<Tensor<Rank1<..>>>`
//! sgd.step(&mut model, grads_of_another_model);
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
#[cfg(feature = "alloc")]
mod finite;
mod rmsprop;
mod scheduler;
mod sgd;

pub use adagrad::{Adagrad, AdagradConfig};
pub use adam::{Adam, AdamConfig, AdamW, AdamWConfig};
#[cfg(feature = "alloc")]
pub use finite::NonFiniteGradient;
pub use rmsprop::{RmsProp, RmsPropConfig};
pub use scheduler::{CosineAnnealingLr, ExponentialLr, LrScheduler, StepLr};
pub use sgd::{Sgd, SgdConfig};

use autograd::Module;

/// An optimizer for models of type [`Optimizer::Model`].
pub trait Optimizer {
    /// The model type whose parameters this optimizer updates.
    type Model: Module;

    /// Updates the model's parameters from its gradients, consuming them.
    ///
    /// `grads` has the model's own gradient type, `<Self::Model as
    /// Module>::Grads`: that is the only type implementing
    /// [`GradientsOf<Self::Model>`], a bound that gives the error for another
    /// model's gradients a readable message.
    fn step<G: GradientsOf<Self::Model>>(&mut self, model: &mut Self::Model, grads: G);

    /// Checks that every gradient element is finite, then takes the step.
    ///
    /// A NaN or infinite element returns [`NonFiniteGradient`], which names
    /// the parameter and the element, and leaves the model and the
    /// optimizer's state (moments, step count) as they were. [`step`]
    /// would write NaN into the parameters instead. The check reads every
    /// gradient element once more, and it covers the gradients only: a
    /// finite gradient large enough to overflow inside the update (its
    /// square in `f32` above about 1.8e19) can still make a parameter NaN
    /// or infinite. Available with the `alloc` feature, which the
    /// parameter's name needs.
    ///
    /// [`step`]: Optimizer::step
    #[cfg(feature = "alloc")]
    fn try_step<G: GradientsOf<Self::Model>>(
        &mut self,
        model: &mut Self::Model,
        grads: G,
    ) -> Result<(), NonFiniteGradient> {
        let grads = grads.into_grads();
        if let Some(error) = finite::first_non_finite(model, &grads) {
            return Err(error);
        }
        self.step(model, grads);
        Ok(())
    }

    /// The learning rate of the next step.
    fn lr(&self) -> f64;

    /// Sets the learning rate of the next steps (schedulers call this).
    fn set_lr(&mut self, lr: f64);
}

/// The gradient type of the model type `M`: implemented only for
/// `<M as Module>::Grads`, so [`Optimizer::step`] takes nothing else.
///
/// A `G` that is not `M::Grads` fails the impl's `M: Module<Grads = G>`
/// bound, and `do_not_recommend` makes rustc report that as this trait's
/// message instead of a type mismatch of the associated type. A gradient
/// value built in place, as in `sgd.step(&mut model, Tensor::ones())`, still
/// gets its type from the model.
#[diagnostic::on_unimplemented(
    message = "the optimizer of `{M}` was handed `{Self}`, which is not the gradient type of `{M}`",
    label = "expected `<{M} as Module>::Grads`",
    note = "an optimizer updates one model type: pass the gradients that this model's own \
            `_grad` or `_vjp` form returned (a derived model `Net` has gradients of type \
            `NetGrads`)"
)]
pub trait GradientsOf<M: Module> {
    /// Returns the value as the model's gradient type (it is that type already).
    fn into_grads(self) -> M::Grads;
}

#[diagnostic::do_not_recommend]
impl<M: Module<Grads = G>, G> GradientsOf<M> for G {
    fn into_grads(self) -> G {
        self
    }
}

/// A compile-time check that a model type can hold parameters.
///
/// Each optimizer's `new` reads [`CanHoldParams::CHECK`] in its own body, so
/// that the build error for a model made only of parameterless layers points
/// at the user's call of `new` and names the model type.
struct CanHoldParams<M>(core::marker::PhantomData<M>);

impl<M: Module> CanHoldParams<M> {
    const CHECK: () = assert!(
        M::CAN_HOLD_PARAMS,
        "the model has no parameters to optimize: its type holds only layers without \
         parameters (such as `Relu`) or arrays of length 0. Wrap the trainable tensors in \
         `Param` or add a layer with parameters (such as `Linear`)"
    );
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
