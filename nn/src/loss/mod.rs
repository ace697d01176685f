//! Loss functions with PyTorch's formulas, reductions and edge cases.
//!
//! Every loss `name_loss` comes in four forms, following the VJP convention of
//! `autograd::ops` (one pullback per argument, `NoGrad` for arguments without
//! a gradient):
//!
//! ```text
//! mse_loss(&pred, &target)                     -> mean, Tensor<Rank0>
//! mse_loss_vjp(&pred, &target)                 -> (loss, (pullback_pred, pullback_target))
//! mse_loss_with(&pred, &target, Sum)           -> R::Output
//! mse_loss_with_vjp(&pred, &target, Sum)       -> (loss, (pullback_pred, pullback_target, NoGrad))
//! ```
//!
//! The reduction is a type ([`Mean`], [`Sum`] or [`NoReduction`]), so the
//! output type follows it: `Mean` and `Sum` give a scalar tensor, and
//! `NoReduction` (PyTorch's `reduction='none'`) gives one loss per element.
//! The prediction and the target have the same shape type, so a prediction
//! of shape `[N]` against a target of shape `[N, 1]` does not compile, where
//! PyTorch silently broadcasts it to `[N, N]`:
//!
//! ```compile_fail
//! use autograd::{Tensor, Rank1, Rank2, typenum::{U1, U4}};
//!
//! let pred: Tensor<Rank1<U4>> = Tensor::zeros();
//! let target: Tensor<Rank2<U4, U1>> = Tensor::zeros();
//! // error: the loss target's shape, element type or device differs from the prediction's
//! let loss = nn::loss::mse_loss(&pred, &target);
//! ```
//!
//! | this crate | PyTorch |
//! |---|---|
//! | [`mse_loss`] | `F.mse_loss` |
//! | [`l1_loss`] | `F.l1_loss` |
//! | [`smooth_l1_loss`] | `F.smooth_l1_loss(beta=…)` |
//! | [`huber_loss`] | `F.huber_loss(delta=…)` |
//! | [`binary_cross_entropy`] | `F.binary_cross_entropy` |
//! | [`binary_cross_entropy_with_logits`] | `F.binary_cross_entropy_with_logits` |
//! | [`cross_entropy`] | `F.cross_entropy` (class indices or probabilities, `label_smoothing`) |
//! | [`nll_loss`] | `F.nll_loss` |

/// Defines the four forms of an elementwise loss (see the module docs) from
/// its elementwise formula `loss(p, t)` and partial derivatives
/// `grad(p, t) = (∂loss/∂p, ∂loss/∂t)`. Hyperparameters listed in `params`
/// come after `target` in every form, and each gets a `NoGrad` slot.
macro_rules! elementwise_loss {
    (
        $(#[$doc:meta])*
        fn $name:ident, $vjp:ident, $with:ident, $with_vjp:ident;
        params($($param:ident),*);
        check = $check:expr;
        loss = $loss:expr;
        grad = $grad:expr;
    ) => {
        $(#[$doc])*
        #[track_caller]
        pub fn $name<S, E, D, T>(
            pred: &Tensor<S, E, D>,
            target: &T,
            $($param: E,)*
        ) -> Tensor<Rank0, E, D>
        where
            S: Shape,
            E: Float,
            D: Storage<S, E> + Storage<Rank0, E>,
            T: LossTarget<S, E, D>,
        {
            $with(pred, target, $($param,)* Mean)
        }

        #[doc = concat!("The VJP form of [`", stringify!($name), "`]: the mean loss with \
                         one pullback for the prediction and one for the target.")]
        #[allow(clippy::type_complexity)]
        #[track_caller]
        pub fn $vjp<S, E, D, T>(
            pred: &Tensor<S, E, D>,
            target: &T,
            $($param: E,)*
        ) -> (
            Tensor<Rank0, E, D>,
            (
                impl FnOnce(Tensor<Rank0, E, D>) -> Tensor<S, E, D>,
                impl FnOnce(Tensor<Rank0, E, D>) -> Tensor<S, E, D>,
                $(elementwise_loss!(@nograd $param),)*
            ),
        )
        where
            S: Shape,
            E: Float,
            D: Storage<S, E> + Storage<Rank0, E>,
            T: LossTarget<S, E, D>,
        {
            let (loss, (pullback_pred, pullback_target, $($param,)* _)) =
                $with_vjp(pred, target, $($param,)* Mean);
            (loss, (pullback_pred, pullback_target, $($param,)*))
        }

        #[doc = concat!("[`", stringify!($name), "`] with the reduction chosen by type: \
                         [`Mean`](crate::loss::Mean), [`Sum`](crate::loss::Sum) or [`NoReduction`](crate::loss::NoReduction).")]
        #[track_caller]
        pub fn $with<S, E, D, T, R>(
            pred: &Tensor<S, E, D>,
            target: &T,
            $($param: E,)*
            reduction: R,
        ) -> R::Output
        where
            S: Shape,
            E: Float,
            D: Storage<S, E>,
            R: Reduction<S, E, D>,
            T: LossTarget<S, E, D>,
        {
            let target = target.as_target();
            ($check)(pred);
            reduction.reduce(super::elementwise_losses(stringify!($name), pred, target, $loss))
        }

        #[doc = concat!("The VJP form of [`", stringify!($with), "`].")]
        #[allow(clippy::type_complexity)]
        #[track_caller]
        pub fn $with_vjp<S, E, D, T, R>(
            pred: &Tensor<S, E, D>,
            target: &T,
            $($param: E,)*
            reduction: R,
        ) -> (
            R::Output,
            (
                impl FnOnce(R::Output) -> Tensor<S, E, D>,
                impl FnOnce(R::Output) -> Tensor<S, E, D>,
                $(elementwise_loss!(@nograd $param),)*
                NoGrad,
            ),
        )
        where
            S: Shape,
            E: Float,
            D: Storage<S, E>,
            R: Reduction<S, E, D>,
            T: LossTarget<S, E, D>,
        {
            let target = target.as_target();
            ($check)(pred);
            let (loss, (pullback_pred, pullback_target)) = super::elementwise_loss_vjp(
                stringify!($name),
                pred,
                target,
                reduction,
                $loss,
                $grad,
            );
            (loss, (pullback_pred, pullback_target, $(elementwise_loss!(@nograd_value $param),)* NoGrad))
        }
    };
    (@nograd $param:ident) => { NoGrad };
    (@nograd_value $param:ident) => { NoGrad };
}

mod binary;
mod classification;
mod reduction;
mod regression;

pub use binary::{
    binary_cross_entropy, binary_cross_entropy_vjp, binary_cross_entropy_with,
    binary_cross_entropy_with_logits, binary_cross_entropy_with_logits_vjp,
    binary_cross_entropy_with_logits_with, binary_cross_entropy_with_logits_with_vjp,
    binary_cross_entropy_with_vjp,
};
pub use classification::{
    cross_entropy, cross_entropy_vjp, cross_entropy_with, cross_entropy_with_vjp, nll_loss,
    nll_loss_vjp, nll_loss_with, nll_loss_with_vjp, ClassIndexError, ClassIndices,
    CrossEntropyTarget,
};
pub use reduction::{Mean, NoReduction, Reduction, Sum};
pub use regression::{
    huber_loss, huber_loss_vjp, huber_loss_with, huber_loss_with_vjp, l1_loss, l1_loss_vjp,
    l1_loss_with, l1_loss_with_vjp, mse_loss, mse_loss_vjp, mse_loss_with, mse_loss_with_vjp,
    smooth_l1_loss, smooth_l1_loss_vjp, smooth_l1_loss_with, smooth_l1_loss_with_vjp,
};

use autograd::{Float, Shape, Storage, Tensor};

/// The type of a loss target for a prediction of type `Tensor<S, E, D>`:
/// implemented only for that same tensor type.
///
/// The losses take the target as `&T` with `T: LossTarget<S, E, D>` instead
/// of `&Tensor<S, E, D>` so that a target of another shape is reported by
/// this trait's message instead of as mismatched types. A target built in
/// place, such as `&Tensor::zeros()`, still gets its shape from the
/// prediction.
#[diagnostic::on_unimplemented(
    message = "the loss target's shape, element type or device differs from the prediction's",
    label = "expected a target of the same tensor type as the prediction",
    note = "losses compare the prediction and the target element by element and never \
            broadcast: give the target the prediction's shape (for example, reshape a \
            `[N, 1]` target to `[N]` with `.reshape()`), element type (`.cast()`) and device"
)]
pub trait LossTarget<S: Shape, E: Float, D: Storage<S, E>> {
    /// Returns the target as the prediction's tensor type (it is that type already).
    fn as_target(&self) -> &Tensor<S, E, D>;
}

impl<S: Shape, E: Float, D: Storage<S, E>> LossTarget<S, E, D> for Tensor<S, E, D> {
    fn as_target(&self) -> &Tensor<S, E, D> {
        self
    }
}

/// Computes the loss of each element of `pred` against the same element of `target`,
/// with its reduction and pullbacks.
///
/// `loss(p, t)` is the elementwise loss and `grad(p, t)` returns its partial
/// derivatives `(∂loss/∂p, ∂loss/∂t)`.
#[allow(clippy::type_complexity)]
fn elementwise_loss_vjp<S, E, D, R>(
    op: &str,
    pred: &Tensor<S, E, D>,
    target: &Tensor<S, E, D>,
    reduction: R,
    loss: impl Fn(E, E) -> E,
    grad: impl Fn(E, E) -> (E, E) + Copy,
) -> (
    R::Output,
    (
        impl FnOnce(R::Output) -> Tensor<S, E, D>,
        impl FnOnce(R::Output) -> Tensor<S, E, D>,
    ),
)
where
    S: Shape,
    E: Float,
    D: Storage<S, E>,
    R: Reduction<S, E, D>,
{
    let losses = elementwise_losses(op, pred, target, loss);
    let shape = pred.shape();
    let (pred_for_pred, target_for_pred) = (pred.clone(), target.clone());
    let (pred_for_target, target_for_target) = (pred.clone(), target.clone());

    let pullback_pred = move |cotangent: R::Output| {
        let mut g = reduction.expand(cotangent, shape);
        let (p, t) = (pred_for_pred.as_slice(), target_for_pred.as_slice());
        for (i, g) in g.as_mut_slice().iter_mut().enumerate() {
            *g *= grad(p[i], t[i]).0;
        }
        g
    };
    let pullback_target = move |cotangent: R::Output| {
        let mut g = reduction.expand(cotangent, shape);
        let (p, t) = (pred_for_target.as_slice(), target_for_target.as_slice());
        for (i, g) in g.as_mut_slice().iter_mut().enumerate() {
            *g *= grad(p[i], t[i]).1;
        }
        g
    };
    (reduction.reduce(losses), (pullback_pred, pullback_target))
}

/// Computes the unreduced elementwise losses.
#[track_caller]
fn elementwise_losses<S, E, D>(
    op: &str,
    pred: &Tensor<S, E, D>,
    target: &Tensor<S, E, D>,
    loss: impl Fn(E, E) -> E,
) -> Tensor<S, E, D>
where
    S: Shape,
    E: Float,
    D: Storage<S, E>,
{
    check_same_shape(op, pred.shape(), target.shape());
    pred.zip_map(target, loss)
}

/// Panics with both shapes when a `Dyn` axis makes them differ.
#[track_caller]
fn check_same_shape<S: Shape>(op: &str, pred: S, target: S) {
    if pred != target {
        panic!(
            "{op}: the prediction has shape {:?} but the target has shape {:?}",
            pred.dims().as_ref(),
            target.dims().as_ref()
        );
    }
}

/// `1` for positive, `-1` for negative and `0` for zero (and NaN), so that
/// the gradient of `|x|` at 0 is 0 as in PyTorch.
fn sign<E: Float>(x: E) -> E {
    if x > E::ZERO {
        E::ONE
    } else if x < E::ZERO {
        -E::ONE
    } else {
        E::ZERO
    }
}
