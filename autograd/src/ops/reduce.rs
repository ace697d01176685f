//! Reductions: over all elements to a scalar (`sum`, `mean`, `var`, `max`,
//! `min`, `logsumexp`, `norm`) and along one typed axis (`sum_axis`,
//! `mean_axis`, `var_axis`, `max_axis`, `min_axis`, `logsumexp_axis`).
//!
//! Both kinds run the same lane kernels: a whole-tensor reduction is one lane
//! of every element, an axis reduction has one lane per element of the
//! reduced shape (see [`AxisLayout`]).

use super::axis::{AxisLayout, ReduceAxis};
use crate::device::Storage;
use crate::shape::{Rank0, Shape};
use crate::tensor::Tensor;
use crate::{Float, NoGrad};

/// Reduces every lane of `x` with `f`, writing one value per lane.
fn reduce_lanes<R: Shape, E: Float, D: Storage<R, E>>(
    out: R,
    x: &[E],
    layout: AxisLayout,
    mut f: impl FnMut(&mut dyn Iterator<Item = E>) -> E,
) -> Tensor<R, E, D> {
    Tensor::from_fn_with_shape(out, |lane| f(&mut layout.lane(x, lane)))
}

/// Writes `g[lane] * weight(element, lane)` into every element of a tensor
/// shaped like the input, where `weight(k, lane)` is the local derivative of
/// the lane's output with respect to its element `k`.
fn spread_lanes<S: Shape, E: Float, D: Storage<S, E>>(
    shape: S,
    grad: &[E],
    layout: AxisLayout,
    mut weight: impl FnMut(usize, usize) -> E,
) -> Tensor<S, E, D> {
    let mut dx = Tensor::zeros_with_shape(shape);
    let data = dx.as_mut_slice();
    for (lane, &g) in grad.iter().enumerate().take(layout.lanes()) {
        for k in 0..layout.len {
            data[layout.index(lane, k)] = g * weight(k, lane);
        }
    }
    dx
}

fn sum_of<E: Float>(lane: &mut dyn Iterator<Item = E>) -> E {
    lane.fold(E::ZERO, |acc, v| acc + v)
}

/// The maximum of a lane and the position of its first occurrence. A NaN
/// wins over every number, as in `torch.max`.
fn first_max<E: Float>(lane: impl Iterator<Item = E>) -> (E, usize) {
    let mut best = (E::NEG_INFINITY, 0);
    for (k, v) in lane.enumerate() {
        if best.0.is_nan() {
            break;
        }
        if k == 0 || v > best.0 || v.is_nan() {
            best = (v, k);
        }
    }
    best
}

/// The pullback of `max_axis` (`sign = 1`) and `min_axis` (`sign = -1`):
/// each lane's `dy` goes to the first position of the lane's maximum of
/// `sign · x`.
#[allow(clippy::type_complexity)]
fn first_extremum_pullback<const AXIS: usize, S, E, D>(
    x: &Tensor<S, E, D>,
    sign: E,
) -> impl FnOnce(Tensor<S::Reduced, E, D>) -> Tensor<S, E, D> + use<AXIS, S, E, D>
where
    S: ReduceAxis<AXIS>,
    E: Float,
    D: Storage<S, E> + Storage<S::Reduced, E>,
{
    let x = x.clone();
    move |grad: Tensor<S::Reduced, E, D>| {
        let shape = x.shape();
        check_reduced_grad::<AXIS, S, E, D>(&shape, &grad);
        let layout = AxisLayout::of(&shape, AXIS);
        let data = x.as_slice();
        let mut position = 0;
        let mut current_lane = usize::MAX;
        spread_lanes(shape, grad.as_slice(), layout, |k, lane| {
            if lane != current_lane {
                current_lane = lane;
                position = first_max(layout.lane(data, lane).map(|v| sign * v)).1;
            }
            if k == position {
                E::ONE
            } else {
                E::ZERO
            }
        })
    }
}

/// `log Σ exp(v)` over a lane, shifted by the lane's maximum so that no
/// `exp` overflows. A lane whose maximum is infinite returns that maximum.
fn logsumexp_of<E: Float>(lane: impl Iterator<Item = E> + Clone) -> E {
    let (max, _) = first_max(lane.clone());
    if !max.is_finite() {
        return max;
    }
    let sum = lane.fold(E::ZERO, |acc, v| acc + (v - max).exp());
    max + sum.ln()
}

/// `dx_k = dy · exp(x_k - lse)`, the softmax of the lane. A lane whose
/// log-sum-exp is `-inf` (every element `-inf`) gets gradient 0, since no
/// element changes the output to first order.
fn logsumexp_weight<E: Float>(x: E, lse: E) -> E {
    if lse == E::NEG_INFINITY {
        E::ZERO
    } else {
        (x - lse).exp()
    }
}

impl<S: Shape, E: Float, D: Storage<S, E> + Storage<Rank0, E>> Tensor<S, E, D> {
    /// The sum of all elements, as a scalar tensor (PyTorch `x.sum()`).
    pub fn sum(&self) -> Tensor<Rank0, E, D> {
        // A fold from +0 rather than `Iterator::sum`, whose float sum of no
        // elements is -0; PyTorch gives +0 for an empty sum.
        Tensor::scalar(self.as_slice().iter().fold(E::ZERO, |total, &x| total + x))
    }

    /// VJP of [`sum`](Self::sum): every element's gradient is `dy`.
    #[allow(clippy::type_complexity)]
    pub fn sum_vjp(&self) -> (Tensor<Rank0, E, D>, (impl FnOnce(Tensor<Rank0, E, D>) -> Self,)) {
        let shape = self.shape();
        (self.sum(), (move |grad: Tensor<Rank0, E, D>| Self::full_with_shape(shape, grad.item()),))
    }

    /// The mean of all elements (PyTorch `x.mean()`). The mean of no elements
    /// is NaN, as in PyTorch.
    pub fn mean(&self) -> Tensor<Rank0, E, D> {
        Tensor::scalar(self.as_slice().iter().copied().sum::<E>() / E::from_usize(self.numel()))
    }

    /// VJP of [`mean`](Self::mean): `dx_i = dy / n`.
    #[allow(clippy::type_complexity)]
    pub fn mean_vjp(&self) -> (Tensor<Rank0, E, D>, (impl FnOnce(Tensor<Rank0, E, D>) -> Self,)) {
        let shape = self.shape();
        let n = E::from_usize(self.numel());
        (self.mean(), (move |grad: Tensor<Rank0, E, D>| Self::full_with_shape(shape, grad.item() / n),))
    }

    /// The variance of all elements (PyTorch `x.var(unbiased=...)`):
    /// `Σ (x_i - μ)² / (n - 1)` when `unbiased`, `/ n` otherwise.
    ///
    /// As in PyTorch, the unbiased variance of one element divides by zero
    /// and is NaN.
    pub fn var(&self, unbiased: bool) -> Tensor<Rank0, E, D> {
        let x = self.as_slice();
        let n = E::from_usize(x.len());
        let mean = x.iter().copied().sum::<E>() / n;
        let squares: E = x.iter().map(|&v| (v - mean) * (v - mean)).sum();
        Tensor::scalar(squares / var_divisor(x.len(), unbiased))
    }

    /// VJP of [`var`](Self::var): `dx_i = dy · 2 (x_i - μ) / (n - 1)`, or
    /// `/ n` when biased. The mean's own dependence on `x` drops out because
    /// `Σ (x_i - μ) = 0`.
    #[allow(clippy::type_complexity)]
    pub fn var_vjp(&self, unbiased: bool) -> (Tensor<Rank0, E, D>, (impl FnOnce(Tensor<Rank0, E, D>) -> Self, NoGrad)) {
        let x = self.clone();
        let pullback = move |grad: Tensor<Rank0, E, D>| {
            let data = x.as_slice();
            let n = E::from_usize(data.len());
            let mean = data.iter().copied().sum::<E>() / n;
            let scale = grad.item() * E::from_f64(2.0) / var_divisor(data.len(), unbiased);
            x.map(|v| scale * (v - mean))
        };
        (self.var(unbiased), (pullback, NoGrad))
    }

    /// The largest element (PyTorch `x.max()` without a dimension). NaN if
    /// any element is NaN, and `-inf` for a tensor with no elements.
    pub fn max(&self) -> Tensor<Rank0, E, D> {
        Tensor::scalar(first_max(self.as_slice().iter().copied()).0)
    }

    /// VJP of [`max`](Self::max): the gradient is split evenly between all
    /// elements equal to the maximum, as PyTorch does for a full reduction
    /// (`torch.max(dim)` instead sends it to one index, see
    /// [`max_axis`](Self::max_axis)).
    #[allow(clippy::type_complexity)]
    pub fn max_vjp(&self) -> (Tensor<Rank0, E, D>, (impl FnOnce(Tensor<Rank0, E, D>) -> Self,)) {
        let y = self.max();
        let x = self.clone();
        let m = y.item();
        (y, (move |grad: Tensor<Rank0, E, D>| split_between_ties(&x, m, grad.item()),))
    }

    /// The smallest element (PyTorch `x.min()` without a dimension). NaN if
    /// any element is NaN, and `inf` for a tensor with no elements.
    pub fn min(&self) -> Tensor<Rank0, E, D> {
        Tensor::scalar(-first_max(self.as_slice().iter().map(|&v| -v)).0)
    }

    /// VJP of [`min`](Self::min): the gradient is split evenly between all
    /// elements equal to the minimum.
    #[allow(clippy::type_complexity)]
    pub fn min_vjp(&self) -> (Tensor<Rank0, E, D>, (impl FnOnce(Tensor<Rank0, E, D>) -> Self,)) {
        let y = self.min();
        let x = self.clone();
        let m = y.item();
        (y, (move |grad: Tensor<Rank0, E, D>| split_between_ties(&x, m, grad.item()),))
    }

    /// `log Σ exp(x_i)` over all elements (PyTorch `torch.logsumexp(x,
    /// dim=all)`), computed as `m + log Σ exp(x_i - m)` with `m` the maximum,
    /// so inputs of magnitude 1000 give finite results.
    pub fn logsumexp(&self) -> Tensor<Rank0, E, D> {
        Tensor::scalar(logsumexp_of(self.as_slice().iter().copied()))
    }

    /// VJP of [`logsumexp`](Self::logsumexp): `dx_i = dy · softmax(x)_i`.
    #[allow(clippy::type_complexity)]
    pub fn logsumexp_vjp(&self) -> (Tensor<Rank0, E, D>, (impl FnOnce(Tensor<Rank0, E, D>) -> Self,)) {
        let y = self.logsumexp();
        let (x, lse) = (self.clone(), y.item());
        (y, (move |grad: Tensor<Rank0, E, D>| x.map(|v| grad.item() * logsumexp_weight(v, lse)),))
    }

    /// The Euclidean (L2) norm `sqrt(Σ x_i²)` of all elements (PyTorch
    /// `torch.linalg.vector_norm(x)`).
    ///
    /// The elements are scaled by the largest magnitude before squaring, so
    /// the result neither overflows for elements near `1e200` nor underflows
    /// to 0 for elements near `1e-200`.
    pub fn norm(&self) -> Tensor<Rank0, E, D> {
        let x = self.as_slice();
        let scale = x.iter().fold(E::ZERO, |acc, v| acc.max(v.abs()));
        if scale == E::ZERO || !scale.is_finite() {
            return Tensor::scalar(scale);
        }
        let squares: E = x.iter().map(|&v| (v / scale) * (v / scale)).sum();
        Tensor::scalar(scale * squares.sqrt())
    }

    /// VJP of [`norm`](Self::norm): `dx_i = dy · x_i / ‖x‖`.
    ///
    /// The norm is not differentiable at the zero vector, and this rule
    /// returns the gradient 0 there (a subgradient). Writing the norm as
    /// `x.pow(2).sum().sqrt()` instead would chain `1 / (2 sqrt(0)) = inf`
    /// with `2x = 0` and give NaN.
    #[allow(clippy::type_complexity)]
    pub fn norm_vjp(&self) -> (Tensor<Rank0, E, D>, (impl FnOnce(Tensor<Rank0, E, D>) -> Self,)) {
        let y = self.norm();
        let (x, norm) = (self.clone(), y.item());
        let pullback = move |grad: Tensor<Rank0, E, D>| {
            if norm == E::ZERO {
                return x.zeros_like();
            }
            let scale = grad.item() / norm;
            x.map(|v| scale * v)
        };
        (y, (pullback,))
    }
}

/// `n - 1` for the unbiased variance (Bessel's correction), `n` otherwise.
fn var_divisor<E: Float>(n: usize, unbiased: bool) -> E {
    E::from_usize(if unbiased { n.saturating_sub(1) } else { n })
}

/// `g / count` on every element equal to `m`, 0 elsewhere.
fn split_between_ties<S: Shape, E: Float, D: Storage<S, E>>(x: &Tensor<S, E, D>, m: E, g: E) -> Tensor<S, E, D> {
    let count = x.as_slice().iter().filter(|&&v| v == m).count();
    if count == 0 {
        // Only a NaN maximum equals no element; then every gradient is NaN.
        return x.map(|_| g * m);
    }
    let share = g / E::from_usize(count);
    x.map(|v| if v == m { share } else { E::ZERO })
}

/// Reductions along one axis. The axis is a const generic checked against
/// the shape ([`ReduceAxis`]), and the output shape drops that axis:
///
/// ```
/// use autograd::{Tensor, Rank1, Rank2, typenum::{U2, U3}};
///
/// let x: Tensor<Rank2<U2, U3>> = Tensor::from_array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
/// let rows: Tensor<Rank1<U2>> = x.sum_axis::<1>();
/// let cols: Tensor<Rank1<U3>> = x.sum_axis::<0>();
/// assert_eq!(rows.as_slice(), &[6.0, 15.0]);
/// assert_eq!(cols.as_slice(), &[5.0, 7.0, 9.0]);
/// ```
impl<S: Shape, E: Float, D: Storage<S, E>> Tensor<S, E, D> {
    /// The sum along axis `AXIS` (PyTorch `x.sum(dim=AXIS)`).
    ///
    /// # Shapes
    /// `[.., n, ..] -> [.., ..]`: axis `AXIS` is removed.
    pub fn sum_axis<const AXIS: usize>(&self) -> Tensor<S::Reduced, E, D>
    where
        S: ReduceAxis<AXIS>,
        D: Storage<S::Reduced, E>,
    {
        let (out, _) = self.shape().split_axis();
        let layout = AxisLayout::of(&self.shape(), AXIS);
        reduce_lanes(out, self.as_slice(), layout, sum_of)
    }

    /// VJP of [`sum_axis`](Self::sum_axis): `dy` is repeated along the axis,
    /// the same operation as [`broadcast`](Self::broadcast).
    #[allow(clippy::type_complexity)]
    pub fn sum_axis_vjp<const AXIS: usize>(
        &self,
    ) -> (Tensor<S::Reduced, E, D>, (impl FnOnce(Tensor<S::Reduced, E, D>) -> Self + use<AXIS, S, E, D>,))
    where
        S: ReduceAxis<AXIS>,
        D: Storage<S::Reduced, E>,
    {
        let shape = self.shape();
        let pullback = move |grad: Tensor<S::Reduced, E, D>| {
            check_reduced_grad::<AXIS, S, E, D>(&shape, &grad);
            let layout = AxisLayout::of(&shape, AXIS);
            spread_lanes(shape, grad.as_slice(), layout, |_, _| E::ONE)
        };
        (self.sum_axis::<AXIS>(), (pullback,))
    }

    /// The mean along axis `AXIS` (PyTorch `x.mean(dim=AXIS)`).
    ///
    /// # Shapes
    /// `[.., n, ..] -> [.., ..]`: axis `AXIS` is removed.
    pub fn mean_axis<const AXIS: usize>(&self) -> Tensor<S::Reduced, E, D>
    where
        S: ReduceAxis<AXIS>,
        D: Storage<S::Reduced, E>,
    {
        let (out, axis) = self.shape().split_axis();
        let n = E::from_usize(crate::shape::Dim::size(&axis));
        let layout = AxisLayout::of(&self.shape(), AXIS);
        reduce_lanes(out, self.as_slice(), layout, |lane| sum_of(lane) / n)
    }

    /// VJP of [`mean_axis`](Self::mean_axis): `dy / n` repeated along the
    /// axis.
    #[allow(clippy::type_complexity)]
    pub fn mean_axis_vjp<const AXIS: usize>(
        &self,
    ) -> (Tensor<S::Reduced, E, D>, (impl FnOnce(Tensor<S::Reduced, E, D>) -> Self + use<AXIS, S, E, D>,))
    where
        S: ReduceAxis<AXIS>,
        D: Storage<S::Reduced, E>,
    {
        let shape = self.shape();
        let pullback = move |grad: Tensor<S::Reduced, E, D>| {
            check_reduced_grad::<AXIS, S, E, D>(&shape, &grad);
            let layout = AxisLayout::of(&shape, AXIS);
            let n = E::from_usize(layout.len);
            spread_lanes(shape, grad.as_slice(), layout, |_, _| E::ONE / n)
        };
        (self.mean_axis::<AXIS>(), (pullback,))
    }

    /// The maximum along axis `AXIS` (the values of PyTorch's
    /// `x.max(dim=AXIS)`). NaN for a lane that contains a NaN.
    ///
    /// # Shapes
    /// `[.., n, ..] -> [.., ..]`: axis `AXIS` is removed.
    pub fn max_axis<const AXIS: usize>(&self) -> Tensor<S::Reduced, E, D>
    where
        S: ReduceAxis<AXIS>,
        D: Storage<S::Reduced, E>,
    {
        let (out, _) = self.shape().split_axis();
        let layout = AxisLayout::of(&self.shape(), AXIS);
        reduce_lanes(out, self.as_slice(), layout, |lane| first_max(lane).0)
    }

    /// VJP of [`max_axis`](Self::max_axis): each lane's `dy` goes to the
    /// first position of its maximum, as `torch.max(dim)` routes it through
    /// the returned index. Unlike the full [`max`](Self::max), ties are not
    /// split.
    #[allow(clippy::type_complexity)]
    pub fn max_axis_vjp<const AXIS: usize>(
        &self,
    ) -> (Tensor<S::Reduced, E, D>, (impl FnOnce(Tensor<S::Reduced, E, D>) -> Self + use<AXIS, S, E, D>,))
    where
        S: ReduceAxis<AXIS>,
        D: Storage<S::Reduced, E>,
    {
        (self.max_axis::<AXIS>(), (first_extremum_pullback::<AXIS, S, E, D>(self, E::ONE),))
    }

    /// The minimum along axis `AXIS` (the values of PyTorch's
    /// `x.min(dim=AXIS)`). NaN for a lane that contains a NaN.
    ///
    /// # Shapes
    /// `[.., n, ..] -> [.., ..]`: axis `AXIS` is removed.
    pub fn min_axis<const AXIS: usize>(&self) -> Tensor<S::Reduced, E, D>
    where
        S: ReduceAxis<AXIS>,
        D: Storage<S::Reduced, E>,
    {
        let (out, _) = self.shape().split_axis();
        let layout = AxisLayout::of(&self.shape(), AXIS);
        reduce_lanes(out, self.as_slice(), layout, |lane| -first_max(lane.map(|v| -v)).0)
    }

    /// VJP of [`min_axis`](Self::min_axis): each lane's `dy` goes to the
    /// first position of its minimum, as with
    /// [`max_axis`](Self::max_axis).
    #[allow(clippy::type_complexity)]
    pub fn min_axis_vjp<const AXIS: usize>(
        &self,
    ) -> (Tensor<S::Reduced, E, D>, (impl FnOnce(Tensor<S::Reduced, E, D>) -> Self + use<AXIS, S, E, D>,))
    where
        S: ReduceAxis<AXIS>,
        D: Storage<S::Reduced, E>,
    {
        (self.min_axis::<AXIS>(), (first_extremum_pullback::<AXIS, S, E, D>(self, -E::ONE),))
    }

    /// The variance along axis `AXIS` (PyTorch `x.var(dim=AXIS,
    /// unbiased=...)`), dividing by `n - 1` when `unbiased` and by `n`
    /// otherwise. Layer and batch normalisation use the biased form.
    ///
    /// # Shapes
    /// `[.., n, ..] -> [.., ..]`: axis `AXIS` is removed.
    pub fn var_axis<const AXIS: usize>(&self, unbiased: bool) -> Tensor<S::Reduced, E, D>
    where
        S: ReduceAxis<AXIS>,
        D: Storage<S::Reduced, E>,
    {
        let layout = AxisLayout::of(&self.shape(), AXIS);
        let means = self.mean_axis::<AXIS>();
        let divisor = var_divisor(layout.len, unbiased);
        let (x, mu) = (self.as_slice(), means.as_slice());
        let squares = |lane: usize| layout.lane(x, lane).map(|v| (v - mu[lane]) * (v - mu[lane])).sum::<E>();
        Tensor::from_fn_with_shape(means.shape(), |lane| squares(lane) / divisor)
    }

    /// VJP of [`var_axis`](Self::var_axis): `dx_k = dy · 2 (x_k - μ) /
    /// (n - 1)` along each lane, or `/ n` when biased; `unbiased` has no
    /// gradient.
    #[allow(clippy::type_complexity)]
    pub fn var_axis_vjp<const AXIS: usize>(
        &self,
        unbiased: bool,
    ) -> (Tensor<S::Reduced, E, D>, (impl FnOnce(Tensor<S::Reduced, E, D>) -> Self + use<AXIS, S, E, D>, NoGrad))
    where
        S: ReduceAxis<AXIS>,
        D: Storage<S::Reduced, E>,
    {
        let x = self.clone();
        let means = self.mean_axis::<AXIS>();
        let pullback = move |grad: Tensor<S::Reduced, E, D>| {
            let shape = x.shape();
            check_reduced_grad::<AXIS, S, E, D>(&shape, &grad);
            let layout = AxisLayout::of(&shape, AXIS);
            let scale = E::from_f64(2.0) / var_divisor(layout.len, unbiased);
            let (data, mu) = (x.as_slice(), means.as_slice());
            spread_lanes(shape, grad.as_slice(), layout, |k, lane| {
                scale * (data[layout.index(lane, k)] - mu[lane])
            })
        };
        (self.var_axis::<AXIS>(unbiased), (pullback, NoGrad))
    }

    /// `log Σ exp` along axis `AXIS` (PyTorch `torch.logsumexp(x,
    /// dim=AXIS)`), shifted by each lane's maximum so that inputs of
    /// magnitude 1000 give finite results.
    ///
    /// # Shapes
    /// `[.., n, ..] -> [.., ..]`: axis `AXIS` is removed.
    pub fn logsumexp_axis<const AXIS: usize>(&self) -> Tensor<S::Reduced, E, D>
    where
        S: ReduceAxis<AXIS>,
        D: Storage<S::Reduced, E>,
    {
        let (out, _) = self.shape().split_axis();
        let layout = AxisLayout::of(&self.shape(), AXIS);
        let x = self.as_slice();
        Tensor::from_fn_with_shape(out, |lane| logsumexp_of(layout.lane(x, lane)))
    }

    /// VJP of [`logsumexp_axis`](Self::logsumexp_axis): `dx = dy ·
    /// softmax(x)` along each lane.
    #[allow(clippy::type_complexity)]
    pub fn logsumexp_axis_vjp<const AXIS: usize>(
        &self,
    ) -> (Tensor<S::Reduced, E, D>, (impl FnOnce(Tensor<S::Reduced, E, D>) -> Self + use<AXIS, S, E, D>,))
    where
        S: ReduceAxis<AXIS>,
        D: Storage<S::Reduced, E>,
    {
        let y = self.logsumexp_axis::<AXIS>();
        let (x, lse) = (self.clone(), y.clone());
        let pullback = move |grad: Tensor<S::Reduced, E, D>| {
            let shape = x.shape();
            check_reduced_grad::<AXIS, S, E, D>(&shape, &grad);
            let layout = AxisLayout::of(&shape, AXIS);
            let (data, lse) = (x.as_slice(), lse.as_slice());
            spread_lanes(shape, grad.as_slice(), layout, |k, lane| {
                logsumexp_weight(data[layout.index(lane, k)], lse[lane])
            })
        };
        (y, (pullback,))
    }
}

/// Panics with both shapes when a cotangent's `Dyn` axes differ from the
/// reduced input shape.
#[track_caller]
pub(crate) fn check_reduced_grad<const AXIS: usize, S, E, D>(shape: &S, grad: &Tensor<S::Reduced, E, D>)
where
    S: ReduceAxis<AXIS>,
    E: Float,
    D: Storage<S::Reduced, E>,
{
    let (reduced, _) = shape.split_axis();
    if reduced != grad.shape() {
        panic!(
            "pullback: the cotangent has shape {:?}, expected {:?}",
            grad.dims().as_ref(),
            reduced.dims().as_ref()
        );
    }
}
