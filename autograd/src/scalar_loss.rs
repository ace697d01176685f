//! The bound behind the `_grad` function that `#[differentiable]` generates.

use crate::device::Storage;
use crate::shape::Rank0;
use crate::tensor::Tensor;
use crate::{Differentiable, Float};

/// A scalar output, whose gradient can be seeded with a cotangent of one
/// (PyTorch's implicit `loss.backward()`).
///
/// `#[differentiable]` generates `f_grad` for every function, and requires
/// this bound when the output is not written `Tensor<Rank0, ..>`. Calling
/// `f_grad` on a function that returns a vector or a matrix is then a compile
/// error at the call, where PyTorch raises "grad can be implicitly created only
/// for scalar outputs" at run time.
#[diagnostic::on_unimplemented(
    message = "`_grad` needs a function that returns a scalar loss (`Tensor<Rank0, ..>`)",
    label = "this function's output has axes, so there is no single loss to differentiate",
    note = "reduce the output to a scalar inside the function with `.sum()`, `.mean()` or a loss \
            from `nn::loss`, or call the `_vjp` form and pass a cotangent of the output's shape"
)]
pub trait ScalarLoss: Differentiable {
    /// The cotangent that starts the backward pass: a scalar tensor of one.
    fn seed() -> Self::Grad;
}

impl<E: Float, D: Storage<Rank0, E>> ScalarLoss for Tensor<Rank0, E, D> {
    fn seed() -> Self {
        Tensor::ones()
    }
}
