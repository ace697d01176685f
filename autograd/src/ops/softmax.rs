//! `softmax` and `log_softmax`, over the whole tensor or along one axis.
//!
//! Both go through the log-sum-exp of each lane, shifted by the lane's
//! maximum: `log_softmax(x)_k = x_k - m - log Σ exp(x_j - m)`. Every `exp`
//! gets an argument of at most 0, so logits of magnitude 1000 give finite values and
//! finite gradients. `softmax_axis::<1>()` on `Rank2<N, C>` is the per-row
//! softmax that cross entropy needs.

use super::axis::{AxisLayout, ReduceAxis};
use crate::device::Storage;
use crate::shape::Shape;
use crate::tensor::Tensor;
use crate::Float;

/// `log_softmax` of every lane of `x`.
fn log_softmax_lanes<S: Shape, E: Float, D: Storage<S, E>>(x: &Tensor<S, E, D>, layout: AxisLayout) -> Tensor<S, E, D> {
    let mut y = x.clone();
    let data = y.as_mut_slice();
    for lane in 0..layout.lanes() {
        let mut max = E::NEG_INFINITY;
        for k in 0..layout.len {
            max = max.max(data[layout.index(lane, k)]);
        }
        let mut sum = E::ZERO;
        for k in 0..layout.len {
            sum += (data[layout.index(lane, k)] - max).exp();
        }
        let lse = max + sum.ln();
        for k in 0..layout.len {
            data[layout.index(lane, k)] -= lse;
        }
    }
    y
}

/// `eˣ` of every element, in place over one slice (vectorised for f32).
fn exp_of<S: Shape, E: Float, D: Storage<S, E>>(mut x: Tensor<S, E, D>) -> Tensor<S, E, D> {
    E::exp_in_place(x.as_mut_slice());
    x
}

/// `dx_k = dy_k - p_k Σ_j dy_j` per lane, with `p = exp(log_softmax(x))`,
/// written into `grad`'s buffer.
fn log_softmax_pullback<S: Shape, E: Float, D: Storage<S, E>>(
    mut grad: Tensor<S, E, D>,
    log_p: &Tensor<S, E, D>,
    layout: AxisLayout,
) -> Tensor<S, E, D> {
    grad.check_same_shape("log_softmax pullback", log_p);
    let log_p = log_p.as_slice();
    let g = grad.as_mut_slice();
    for lane in 0..layout.lanes() {
        let total: E = (0..layout.len).map(|k| g[layout.index(lane, k)]).sum();
        for k in 0..layout.len {
            let i = layout.index(lane, k);
            g[i] -= log_p[i].exp() * total;
        }
    }
    grad
}

/// `dx_k = p_k (dy_k - Σ_j p_j dy_j)` per lane, written into `grad`'s
/// buffer.
fn softmax_pullback<S: Shape, E: Float, D: Storage<S, E>>(
    mut grad: Tensor<S, E, D>,
    p: &Tensor<S, E, D>,
    layout: AxisLayout,
) -> Tensor<S, E, D> {
    grad.check_same_shape("softmax pullback", p);
    let p = p.as_slice();
    let g = grad.as_mut_slice();
    for lane in 0..layout.lanes() {
        let inner: E = (0..layout.len).map(|k| layout.index(lane, k)).map(|i| p[i] * g[i]).sum();
        for k in 0..layout.len {
            let i = layout.index(lane, k);
            g[i] = p[i] * (g[i] - inner);
        }
    }
    grad
}

impl<S: Shape, E: Float, D: Storage<S, E>> Tensor<S, E, D> {
    /// `exp(x_i) / Σ_j exp(x_j)` over all elements (PyTorch
    /// `torch.softmax(x.flatten(), 0)` reshaped back).
    pub fn softmax(&self) -> Self {
        exp_of(log_softmax_lanes(self, AxisLayout::whole(self.numel())))
    }

    /// VJP of [`softmax`](Self::softmax): `dx = p ⊙ (dy - ⟨p, dy⟩)`.
    #[allow(clippy::type_complexity)]
    pub fn softmax_vjp(&self) -> (Self, (impl FnOnce(Self) -> Self,)) {
        let layout = AxisLayout::whole(self.numel());
        let p = self.softmax();
        let saved = p.clone();
        (p, (move |grad| softmax_pullback(grad, &saved, layout),))
    }

    /// `x_i - log Σ_j exp(x_j)` over all elements, computed with a shifted
    /// log-sum-exp so it stays finite for inputs near ±1000.
    pub fn log_softmax(&self) -> Self {
        log_softmax_lanes(self, AxisLayout::whole(self.numel()))
    }

    /// VJP of [`log_softmax`](Self::log_softmax): `dx = dy - softmax(x) Σ dy`.
    #[allow(clippy::type_complexity)]
    pub fn log_softmax_vjp(&self) -> (Self, (impl FnOnce(Self) -> Self,)) {
        let layout = AxisLayout::whole(self.numel());
        let y = self.log_softmax();
        let saved = y.clone();
        (y, (move |grad| log_softmax_pullback(grad, &saved, layout),))
    }

    /// Softmax along axis `AXIS` (PyTorch `torch.softmax(x, dim=AXIS)`):
    /// every lane along that axis sums to 1.
    ///
    /// # Shapes
    /// Same as the input.
    pub fn softmax_axis<const AXIS: usize>(&self) -> Self
    where
        S: ReduceAxis<AXIS>,
    {
        exp_of(log_softmax_lanes(self, AxisLayout::of(&self.shape(), AXIS)))
    }

    /// VJP of [`softmax_axis`](Self::softmax_axis): `dx = p ⊙ (dy - ⟨p,
    /// dy⟩)` per lane.
    #[allow(clippy::type_complexity)]
    pub fn softmax_axis_vjp<const AXIS: usize>(&self) -> (Self, (impl FnOnce(Self) -> Self + use<AXIS, S, E, D>,))
    where
        S: ReduceAxis<AXIS>,
    {
        let layout = AxisLayout::of(&self.shape(), AXIS);
        let p = self.softmax_axis::<AXIS>();
        let saved = p.clone();
        (p, (move |grad| softmax_pullback(grad, &saved, layout),))
    }

    /// Log-softmax along axis `AXIS` (PyTorch `torch.log_softmax(x,
    /// dim=AXIS)`), finite for inputs near ±1000.
    ///
    /// # Shapes
    /// Same as the input. On `Rank2<N, C>` logits, `log_softmax_axis::<1>()`
    /// normalises each of the `N` rows over its `C` classes.
    pub fn log_softmax_axis<const AXIS: usize>(&self) -> Self
    where
        S: ReduceAxis<AXIS>,
    {
        log_softmax_lanes(self, AxisLayout::of(&self.shape(), AXIS))
    }

    /// VJP of [`log_softmax_axis`](Self::log_softmax_axis): `dx = dy -
    /// softmax(x) Σ dy` per lane.
    #[allow(clippy::type_complexity)]
    pub fn log_softmax_axis_vjp<const AXIS: usize>(&self) -> (Self, (impl FnOnce(Self) -> Self + use<AXIS, S, E, D>,))
    where
        S: ReduceAxis<AXIS>,
    {
        let layout = AxisLayout::of(&self.shape(), AXIS);
        let y = self.log_softmax_axis::<AXIS>();
        let saved = y.clone();
        (y, (move |grad| log_softmax_pullback(grad, &saved, layout),))
    }
}
