//! Elementwise selection: `maximum` and `minimum` of two tensors of the same
//! shape, and `clamp` between two constant bounds.
//!
//! Each output element is one of its inputs, so the cotangent goes to the
//! input that was selected. Ties and bounds follow PyTorch's backward rules,
//! which the docs of each VJP state.

use super::unary_vjp;
use crate::device::Storage;
use crate::grad::NoGrad;
use crate::shape::Shape;
use crate::tensor::Tensor;
use crate::Float;

impl<S: Shape, E: Float, D: Storage<S, E>> Tensor<S, E, D> {
    /// The larger of `self` and `other`, elementwise, and NaN where either is
    /// NaN; PyTorch `torch.maximum`.
    ///
    /// Panics if a `Dyn` axis differs between the two.
    #[track_caller]
    pub fn maximum(&self, other: &Self) -> Self {
        self.check_same_shape("maximum", other);
        self.zip_map(other, E::max)
    }

    /// VJP of [`maximum`](Self::maximum): the cotangent goes to the larger
    /// input, and on a tie each input gets half of it, as in PyTorch.
    ///
    /// Where an input is NaN both inputs get the whole cotangent, because
    /// PyTorch's masks (`a == b`, `a < b`) are false for NaN.
    #[allow(clippy::type_complexity)]
    #[track_caller]
    pub fn maximum_vjp(
        &self,
        other: &Self,
    ) -> (Self, (impl FnOnce(Self) -> Self, impl FnOnce(Self) -> Self)) {
        (
            self.maximum(other),
            share_pullbacks(self, other, maximum_share),
        )
    }

    /// The smaller of `self` and `other`, elementwise, and NaN where either
    /// is NaN; PyTorch `torch.minimum`.
    ///
    /// Panics if a `Dyn` axis differs between the two.
    #[track_caller]
    pub fn minimum(&self, other: &Self) -> Self {
        self.check_same_shape("minimum", other);
        self.zip_map(other, E::min)
    }

    /// VJP of [`minimum`](Self::minimum): the cotangent goes to the smaller
    /// input, and on a tie each input gets half of it, as in PyTorch. NaN
    /// is handled as in [`maximum_vjp`](Self::maximum_vjp).
    #[allow(clippy::type_complexity)]
    #[track_caller]
    pub fn minimum_vjp(
        &self,
        other: &Self,
    ) -> (Self, (impl FnOnce(Self) -> Self, impl FnOnce(Self) -> Self)) {
        (
            self.minimum(other),
            share_pullbacks(self, other, minimum_share),
        )
    }

    /// `min(max(x, min), max)`, elementwise; PyTorch `torch.clamp`.
    ///
    /// When `min > max` every element becomes `max`, and a NaN element stays
    /// NaN, both as in PyTorch.
    pub fn clamp(&self, min: E, max: E) -> Self {
        self.map(|x| x.max(min).min(max))
    }

    /// VJP of [`clamp`](Self::clamp): `dx = dy` where `min < x < max`,
    /// else 0. The bounds get no gradient.
    ///
    /// The mask excludes both bounds: an input sitting exactly on a bound
    /// gets gradient 0, which is what torch 2.15 returns for scalar bounds
    /// (the `clamp_at_bounds` case of `tests/reference/ops.json`). When
    /// `min > max` the mask is empty and the gradient is 0.
    #[allow(clippy::type_complexity)]
    pub fn clamp_vjp(&self, min: E, max: E) -> (Self, (impl FnOnce(Self) -> Self, NoGrad, NoGrad)) {
        let f = move |x: E| x.max(min).min(max);
        let df = move |x: E, _| {
            if x > min && x < max {
                E::ONE
            } else {
                E::ZERO
            }
        };
        let (y, (pullback,)) = unary_vjp(self, f, df);
        (y, (pullback, NoGrad, NoGrad))
    }
}

/// The share of the cotangent of `maximum(a, b)` that goes to `a`.
fn maximum_share<E: Float>(a: E, b: E) -> E {
    if a == b {
        E::from_f64(0.5)
    } else if a < b {
        E::ZERO
    } else {
        E::ONE
    }
}

/// The share of the cotangent of `minimum(a, b)` that goes to `a`.
fn minimum_share<E: Float>(a: E, b: E) -> E {
    if a == b {
        E::from_f64(0.5)
    } else if a > b {
        E::ZERO
    } else {
        E::ONE
    }
}

/// Pullbacks that scale the cotangent by `share(a, b)` for `a` and by
/// `share(b, a)` for `b`.
#[allow(clippy::type_complexity)]
fn share_pullbacks<S: Shape, E: Float, D: Storage<S, E>>(
    a: &Tensor<S, E, D>,
    b: &Tensor<S, E, D>,
    share: fn(E, E) -> E,
) -> (
    impl FnOnce(Tensor<S, E, D>) -> Tensor<S, E, D>,
    impl FnOnce(Tensor<S, E, D>) -> Tensor<S, E, D>,
) {
    let (a_for_a, b_for_a) = (a.clone(), b.clone());
    let (a_for_b, b_for_b) = (a.clone(), b.clone());
    let pullback_a = move |grad| scale_by_share(grad, &a_for_a, &b_for_a, share);
    let pullback_b = move |grad| scale_by_share(grad, &b_for_b, &a_for_b, share);
    (pullback_a, pullback_b)
}

/// Multiplies each element of `grad` by `share(x, other)` at its position.
#[track_caller]
fn scale_by_share<S: Shape, E: Float, D: Storage<S, E>>(
    mut grad: Tensor<S, E, D>,
    x: &Tensor<S, E, D>,
    other: &Tensor<S, E, D>,
    share: fn(E, E) -> E,
) -> Tensor<S, E, D> {
    grad.check_same_shape("pullback", x);
    let (xs, others) = (x.as_slice(), other.as_slice());
    for (i, g) in grad.as_mut_slice().iter_mut().enumerate() {
        *g *= share(xs[i], others[i]);
    }
    grad
}
