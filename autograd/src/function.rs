//! `Function`: an op with a hand-written backward pass.

use crate::grad::Differentiable;

/// An op whose backward pass is written by hand, as PyTorch's
/// `torch.autograd.Function`.
///
/// `forward` returns the output and a `Saved` context (the typed
/// `ctx.save_for_backward`); `backward` consumes that context and the output's
/// gradient and returns the input's gradient. The gradient types are fixed by
/// the input and output types: for a two-tensor input `(A, B)` the backward
/// must return `(A, B)`'s gradient, so returning one gradient too few, or one
/// of the wrong shape, does not compile.
///
/// ```
/// use autograd::{Function, Tensor, Rank1, typenum::U3};
///
/// struct Sigmoid;
///
/// impl Function for Sigmoid {
///     type Input = Tensor<Rank1<U3>, f64>;
///     type Output = Tensor<Rank1<U3>, f64>;
///     type Saved = Tensor<Rank1<U3>, f64>;
///
///     fn forward(x: &Self::Input) -> (Self::Output, Self::Saved) {
///         let y = x.map(|v| 1.0 / (1.0 + (-v).exp()));
///         (y.clone(), y)
///     }
///
///     fn backward(y: Self::Saved, grad_output: Self::Output) -> Self::Input {
///         // d sigmoid / dx = y (1 - y)
///         grad_output.zip_map(&y, |g, y| g * y * (1.0 - y))
///     }
/// }
///
/// let x = Tensor::from_array([-1.0, 0.0, 2.0]);
/// let (y, pullback) = Sigmoid::apply_vjp(&x);
/// let grad = pullback(Tensor::ones());
/// assert_eq!(y.get([1]), 0.5);
/// assert_eq!(grad.get([1]), 0.25);
/// ```
pub trait Function {
    /// The input: a tensor, or a tuple of tensors for several inputs.
    type Input: Differentiable;
    /// The output: a tensor, or a tuple of tensors.
    type Output: Differentiable;
    /// What `forward` keeps for `backward`.
    type Saved;

    fn forward(input: &Self::Input) -> (Self::Output, Self::Saved);

    fn backward(
        saved: Self::Saved,
        grad_output: <Self::Output as Differentiable>::Grad,
    ) -> <Self::Input as Differentiable>::Grad;

    /// Runs the forward pass only.
    fn apply(input: &Self::Input) -> Self::Output {
        Self::forward(input).0
    }

    /// Runs the forward pass and returns the output with its pullback, the
    /// same form as every primitive's `*_vjp` method, so `#[differentiable]`
    /// code can call a `Function` like a built-in op.
    #[allow(clippy::type_complexity)]
    fn apply_vjp(
        input: &Self::Input,
    ) -> (
        Self::Output,
        impl FnOnce(<Self::Output as Differentiable>::Grad) -> <Self::Input as Differentiable>::Grad + use<Self>,
    ) {
        let (output, saved) = Self::forward(input);
        (output, move |grad_output| Self::backward(saved, grad_output))
    }
}
