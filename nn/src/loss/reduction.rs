//! Loss reductions: the mean, the sum, or the elementwise losses themselves.

use autograd::{Differentiable, Float, Rank0, Shape, Storage, Tensor};

/// A reduction of elementwise losses, chosen by type so the output type of a
/// loss follows from it: [`Mean`] and [`Sum`] return a scalar tensor,
/// [`NoReduction`] returns the losses themselves.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a loss reduction for these losses",
    label = "expected `Mean`, `Sum` or `NoReduction`",
    note = "`Mean` and `Sum` need a device that can hold a scalar tensor"
)]
pub trait Reduction<S: Shape, E: Float, D: Storage<S, E>>: Copy {
    /// The loss function's output.
    type Output: Differentiable<Grad = Self::Output>;

    /// Reduces the elementwise losses.
    fn reduce(self, losses: Tensor<S, E, D>) -> Self::Output;

    /// Maps the cotangent of the output to the cotangent of each elementwise
    /// loss: `dy / n` everywhere for `Mean`, `dy` for `Sum`, and the cotangent
    /// itself for `NoReduction`.
    fn expand(self, cotangent: Self::Output, shape: S) -> Tensor<S, E, D>;

    /// Returns the cotangent of every elementwise loss when they are all
    /// equal (`Mean` and `Sum`), so that a pullback can scale by one number
    /// instead of building the tensor of [`expand`](Self::expand).
    fn uniform_cotangent(self, _cotangent: &Self::Output, _shape: S) -> Option<E> {
        None
    }
}

/// The mean of the elementwise losses, PyTorch's default `reduction='mean'`.
///
/// The mean over zero elements is NaN, as in PyTorch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mean;

/// The sum of the elementwise losses, PyTorch's `reduction='sum'`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sum;

/// No reduction: the loss of every element, PyTorch's `reduction='none'`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoReduction;

impl<S, E, D> Reduction<S, E, D> for Mean
where
    S: Shape,
    E: Float,
    D: Storage<S, E> + Storage<Rank0, E>,
{
    type Output = Tensor<Rank0, E, D>;

    fn reduce(self, losses: Tensor<S, E, D>) -> Self::Output {
        let n = E::from_usize(losses.numel());
        Tensor::scalar(losses.as_slice().iter().copied().sum::<E>() / n)
    }

    fn expand(self, cotangent: Self::Output, shape: S) -> Tensor<S, E, D> {
        let n = E::from_usize(shape.numel());
        Tensor::full_with_shape(shape, cotangent.item() / n)
    }

    fn uniform_cotangent(self, cotangent: &Self::Output, shape: S) -> Option<E> {
        Some(cotangent.item() / E::from_usize(shape.numel()))
    }
}

impl<S, E, D> Reduction<S, E, D> for Sum
where
    S: Shape,
    E: Float,
    D: Storage<S, E> + Storage<Rank0, E>,
{
    type Output = Tensor<Rank0, E, D>;

    fn reduce(self, losses: Tensor<S, E, D>) -> Self::Output {
        Tensor::scalar(losses.as_slice().iter().copied().sum())
    }

    fn expand(self, cotangent: Self::Output, shape: S) -> Tensor<S, E, D> {
        Tensor::full_with_shape(shape, cotangent.item())
    }

    fn uniform_cotangent(self, cotangent: &Self::Output, _shape: S) -> Option<E> {
        Some(cotangent.item())
    }
}

impl<S, E, D> Reduction<S, E, D> for NoReduction
where
    S: Shape,
    E: Float,
    D: Storage<S, E>,
{
    type Output = Tensor<S, E, D>;

    fn reduce(self, losses: Tensor<S, E, D>) -> Self::Output {
        losses
    }

    #[track_caller]
    fn expand(self, cotangent: Self::Output, shape: S) -> Tensor<S, E, D> {
        assert!(
            cotangent.shape() == shape,
            "loss pullback: the cotangent has shape {:?} but the losses have shape {:?}",
            cotangent.dims().as_ref(),
            shape.dims().as_ref()
        );
        cotangent
    }
}
