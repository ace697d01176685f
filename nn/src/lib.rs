//! Layers, losses, optimizers and weight files for `autograd`, with
//! PyTorch's semantics.
//!
//! - [`loss`]: loss functions with typed reductions and VJP forms;
//! - [`optim`]: SGD, Adam, AdamW, RMSprop, Adagrad and learning-rate
//!   schedulers, whose state mirrors the model's gradient struct;
//! - [`layers`]: `Linear`, activations, `Flatten`, `Dropout`, and the
//!   [`Forward`](layers::Forward) trait that chains layers in tuples,
//!   arrays and `Vec`s;
//! - `weights` (with `std`): safetensors files with PyTorch's state-dict
//!   names, loaded all-or-nothing.
//!
//! Without the `alloc` feature the crate is `#![no_std]` and works on the
//! `Inline` device with no allocation.
#![cfg_attr(not(feature = "std"), no_std)]

#[cfg(feature = "alloc")]
extern crate alloc;

#[cfg(feature = "std")]
pub mod data;
pub mod layers;
pub mod loss;
pub mod optim;
#[cfg(feature = "std")]
pub mod weights;

/// A training step on the `Inline` device, which is all that builds without
/// `alloc`; `cargo test -p nn --no-default-features --lib` runs it.
#[cfg(test)]
mod inline_tests {
    use autograd::typenum::{U2, U3};
    use autograd::{Inline, Rank1, Rng, Tensor};

    use crate::layers::{Forward, Linear};
    use crate::loss::{mse_loss, mse_loss_vjp};
    use crate::optim::{Optimizer, Sgd, SgdConfig};

    #[test]
    fn inline_linear_sgd_step_reduces_loss() {
        let mut layer: Linear<U3, U2, f32, Inline> = Linear::new(&mut Rng::seed_from_u64(0));
        let mut sgd = Sgd::new(&layer, SgdConfig { lr: 0.1, ..SgdConfig::default() });
        let x: Tensor<Rank1<U3>, f32, Inline> = Tensor::from_array([1.0, -1.0, 0.5]);
        let target: Tensor<Rank1<U2>, f32, Inline> = Tensor::from_array([0.5, -0.5]);

        let before = mse_loss(&layer.forward(&x), &target).item();
        let (y, (pullback_params, _)) = layer.forward_vjp(&x);
        let (_, (pullback_y, _)) = mse_loss_vjp(&y, &target);
        sgd.step(&mut layer, pullback_params(pullback_y(Tensor::scalar(1.0))));
        let after = mse_loss(&layer.forward(&x), &target).item();
        assert!(after < before, "loss went from {before} to {after}");
    }
}
