//! Ops that move elements without arithmetic: transpose, broadcast, reshape,
//! flatten, concat, narrow, select and the per-row pick of class scores.
//!
//! Output shapes are computed in the types: concatenating `[A]` and `[B]`
//! gives `[A + B]` as a typenum sum, flattening `[A, B]` gives `[A · B]`, and
//! a reshape between static shapes with different element counts does not
//! compile. Every op copies its output into a fresh buffer.

use core::ops::Add;

use typenum::{IsEqual, IsLessOrEqual, LeEq, Sum, True, Unsigned};

use super::axis::{AxisLayout, ReduceAxis};
use crate::device::Storage;
use crate::shape::{ConstShape, Dim, InlineShape, Rank0, Rank1, Rank2, Rank3, Rank4, Shape};
use crate::tensor::{ShapeError, Tensor};
use crate::{Float, NoGrad};

/// Copies the elements of `x` into a tensor of shape `shape` with the same
/// element count, in row-major order.
fn relabel<S: Shape, S2: Shape, E: Float, D: Storage<S, E> + Storage<S2, E>>(
    x: &Tensor<S, E, D>,
    shape: S2,
) -> Tensor<S2, E, D> {
    let data = x.as_slice();
    Tensor::from_fn_with_shape(shape, |i| data[i])
}

impl<M: Dim, N: Dim, E: Float, D: Storage<Rank2<M, N>, E> + Storage<Rank2<N, M>, E>> Tensor<Rank2<M, N>, E, D> {
    /// The transpose (PyTorch `x.t()`).
    ///
    /// # Shapes
    /// `[M, N] -> [N, M]`
    pub fn t(&self) -> Tensor<Rank2<N, M>, E, D> {
        let Rank2(m, n) = self.shape();
        let (rows, cols) = (m.size(), n.size());
        let x = self.as_slice();
        Tensor::from_fn_with_shape(Rank2(n, m), |i| x[(i % rows) * cols + i / rows])
    }

    /// VJP of [`t`](Self::t): `dx = dyᵀ`.
    #[allow(clippy::type_complexity)]
    pub fn t_vjp(&self) -> (Tensor<Rank2<N, M>, E, D>, (impl FnOnce(Tensor<Rank2<N, M>, E, D>) -> Self + use<M, N, E, D>,)) {
        (self.t(), (|grad: Tensor<Rank2<N, M>, E, D>| grad.t(),))
    }
}

impl<B, M, N, E, D> Tensor<Rank3<B, M, N>, E, D>
where
    B: Dim,
    M: Dim,
    N: Dim,
    E: Float,
    D: Storage<Rank3<B, M, N>, E> + Storage<Rank3<B, N, M>, E>,
{
    /// Transposes each matrix of a batch: swaps the last two axes (PyTorch
    /// `x.mT` or `x.transpose(1, 2)`).
    ///
    /// # Shapes
    /// `[B, M, N] -> [B, N, M]`
    pub fn mt(&self) -> Tensor<Rank3<B, N, M>, E, D> {
        let Rank3(b, m, n) = self.shape();
        let (rows, cols) = (m.size(), n.size());
        let x = self.as_slice();
        Tensor::from_fn_with_shape(Rank3(b, n, m), |i| {
            let (batch, j) = (i / (rows * cols), i % (rows * cols));
            x[batch * rows * cols + (j % rows) * cols + j / rows]
        })
    }

    /// VJP of [`mt`](Self::mt): `dx = dy` with its last two axes swapped.
    #[allow(clippy::type_complexity)]
    pub fn mt_vjp(&self) -> (Tensor<Rank3<B, N, M>, E, D>, (impl FnOnce(Tensor<Rank3<B, N, M>, E, D>) -> Self + use<B, M, N, E, D>,)) {
        (self.mt(), (|grad: Tensor<Rank3<B, N, M>, E, D>| grad.mt(),))
    }
}

/// Broadcasting, reshaping, concatenation, narrowing and selection along a
/// typed axis.
impl<S: Shape, E: Float, D: Storage<S, E>> Tensor<S, E, D> {
    /// Repeats the tensor along a new axis at position `AXIS` (PyTorch
    /// `x.unsqueeze(AXIS).expand(...)`). There is no implicit broadcasting
    /// in this library; this is the explicit form.
    ///
    /// ```
    /// use autograd::{Tensor, Rank1, Rank2, typenum::{U2, U3}};
    ///
    /// let bias: Tensor<Rank1<U3>> = Tensor::from_array([1.0, 2.0, 3.0]);
    /// let rows: Tensor<Rank2<U2, U3>> = bias.broadcast::<0, _>();
    /// assert_eq!(rows.as_slice(), &[1.0, 2.0, 3.0, 1.0, 2.0, 3.0]);
    /// ```
    ///
    /// # Shapes
    /// `[N] -> [M, N]` with `AXIS = 0`, `[M] -> [M, N]` with `AXIS = 1`; in
    /// general `S2` with axis `AXIS` removed must be `S`.
    pub fn broadcast<const AXIS: usize, S2>(&self) -> Tensor<S2, E, D>
    where
        S2: ConstShape + ReduceAxis<AXIS, Reduced = S>,
        D: Storage<S2, E>,
    {
        self.broadcast_with_shape::<AXIS, S2>(S2::default())
    }

    /// VJP of [`broadcast`](Self::broadcast): `dx` is `dy` summed along the
    /// new axis.
    #[allow(clippy::type_complexity)]
    pub fn broadcast_vjp<const AXIS: usize, S2>(&self) -> (Tensor<S2, E, D>, (impl FnOnce(Tensor<S2, E, D>) -> Self + use<AXIS, S, S2, E, D>,))
    where
        S2: ConstShape + ReduceAxis<AXIS, Reduced = S>,
        D: Storage<S2, E>,
    {
        let (y, (pullback, _)) = self.broadcast_with_shape_vjp::<AXIS, S2>(S2::default());
        (y, (pullback,))
    }

    /// [`broadcast`](Self::broadcast) to a shape with `Dyn` axes, such as a
    /// bias repeated over a batch of `Dyn` rows:
    /// `bias.broadcast_with_shape::<0, _>(Rank2(Dyn(n), U3::default()))`.
    ///
    /// Panics if `shape` without axis `AXIS` differs from this tensor's shape
    /// in a `Dyn` axis.
    #[track_caller]
    pub fn broadcast_with_shape<const AXIS: usize, S2>(&self, shape: S2) -> Tensor<S2, E, D>
    where
        S2: ReduceAxis<AXIS, Reduced = S>,
        D: Storage<S2, E>,
    {
        let (reduced, _) = shape.split_axis();
        if reduced != self.shape() {
            panic!(
                "broadcast: cannot repeat a tensor of shape {:?} into {:?} along axis {AXIS}",
                self.dims().as_ref(),
                shape.dims().as_ref()
            );
        }
        let layout = AxisLayout::of(&shape, AXIS);
        let x = self.as_slice();
        Tensor::from_fn_with_shape(shape, |i| x[(i / (layout.len * layout.inner)) * layout.inner + i % layout.inner])
    }

    /// VJP of [`broadcast_with_shape`](Self::broadcast_with_shape): `dx` is
    /// `dy` summed along the new axis; the shape has no gradient.
    #[allow(clippy::type_complexity)]
    #[track_caller]
    pub fn broadcast_with_shape_vjp<const AXIS: usize, S2>(
        &self,
        shape: S2,
    ) -> (Tensor<S2, E, D>, (impl FnOnce(Tensor<S2, E, D>) -> Self + use<AXIS, S, S2, E, D>, NoGrad))
    where
        S2: ReduceAxis<AXIS, Reduced = S>,
        D: Storage<S2, E>,
    {
        let y = self.broadcast_with_shape::<AXIS, S2>(shape);
        (y, (|grad: Tensor<S2, E, D>| grad.sum_axis::<AXIS>(), NoGrad))
    }

    /// The same elements in row-major order under another static shape with
    /// the same element count (PyTorch `x.reshape(...)`). A different element
    /// count is a compile error.
    ///
    /// ```
    /// use autograd::{Tensor, Rank2, typenum::{U2, U3}};
    ///
    /// let x: Tensor<Rank2<U2, U3>> = Tensor::from_fn(|i| i as f32);
    /// let y: Tensor<Rank2<U3, U2>> = x.reshape();
    /// assert_eq!(y.get([2, 0]), 4.0);
    /// ```
    ///
    /// ```compile_fail
    /// use autograd::{Tensor, Rank2, typenum::{U2, U3, U4}};
    ///
    /// let x: Tensor<Rank2<U2, U3>> = Tensor::zeros();
    /// let y: Tensor<Rank2<U2, U4>> = x.reshape(); // 6 elements into 8
    /// ```
    pub fn reshape<S2>(&self) -> Tensor<S2, E, D>
    where
        S: ReshapeTo<S2>,
        S2: ConstShape,
        D: Storage<S2, E>,
    {
        relabel(self, S2::default())
    }

    /// VJP of [`reshape`](Self::reshape): `dy` reshaped back.
    #[allow(clippy::type_complexity)]
    pub fn reshape_vjp<S2>(&self) -> (Tensor<S2, E, D>, (impl FnOnce(Tensor<S2, E, D>) -> Self + use<S, S2, E, D>,))
    where
        S: ReshapeTo<S2>,
        S2: ConstShape,
        D: Storage<S2, E>,
    {
        let shape = self.shape();
        (self.reshape(), (move |grad: Tensor<S2, E, D>| relabel(&grad, shape),))
    }

    /// Reshapes to a shape known only at run time, such as one with a `Dyn`
    /// axis (PyTorch `x.reshape(...)`).
    ///
    /// # Errors
    /// [`ShapeError`] when `shape` has another element count than `self`.
    pub fn try_reshape_with_shape<S2: Shape>(&self, shape: S2) -> Result<Tensor<S2, E, D>, ShapeError>
    where
        D: Storage<S2, E>,
    {
        if shape.numel() != self.numel() {
            return Err(ShapeError {
                expected: shape.numel(),
                found: self.numel(),
            });
        }
        Ok(relabel(self, shape))
    }

    /// VJP of [`try_reshape_with_shape`](Self::try_reshape_with_shape):
    /// `dy` reshaped back; the shape has no gradient.
    ///
    /// # Errors
    /// As [`try_reshape_with_shape`](Self::try_reshape_with_shape).
    #[allow(clippy::type_complexity)]
    pub fn try_reshape_with_shape_vjp<S2: Shape>(
        &self,
        shape: S2,
    ) -> Result<(Tensor<S2, E, D>, (impl FnOnce(Tensor<S2, E, D>) -> Self + use<S, S2, E, D>, NoGrad)), ShapeError>
    where
        D: Storage<S2, E>,
    {
        let y = self.try_reshape_with_shape(shape)?;
        let input_shape = self.shape();
        let pullback = move |grad: Tensor<S2, E, D>| {
            grad.check_numel("reshape pullback", input_shape.numel());
            relabel(&grad, input_shape)
        };
        Ok((y, (pullback, NoGrad)))
    }

    /// All elements as one vector (PyTorch `x.flatten()`). The length is the
    /// typenum product of the dims.
    ///
    /// # Shapes
    /// `[A, B] -> [A · B]`, `[A, B, C] -> [A · B · C]`, and so on.
    pub fn flatten(&self) -> Tensor<Rank1<S::Len>, E, D>
    where
        S: InlineShape,
        S::Len: Dim,
        D: Storage<Rank1<S::Len>, E>,
    {
        relabel(self, Rank1(S::Len::default()))
    }

    /// VJP of [`flatten`](Self::flatten): `dy` reshaped back.
    #[allow(clippy::type_complexity)]
    pub fn flatten_vjp(&self) -> (Tensor<Rank1<S::Len>, E, D>, (impl FnOnce(Tensor<Rank1<S::Len>, E, D>) -> Self + use<S, E, D>,))
    where
        S: InlineShape,
        S::Len: Dim,
        D: Storage<Rank1<S::Len>, E>,
    {
        let shape = self.shape();
        (self.flatten(), (move |grad: Tensor<Rank1<S::Len>, E, D>| relabel(&grad, shape),))
    }

    /// Joins `rhs` after `self` along axis `AXIS` (PyTorch `torch.cat([self,
    /// rhs], dim=AXIS)`). The concatenated axis must be static, and its
    /// output size is the typenum sum; the other axes must match, `Dyn` ones
    /// at run time.
    ///
    /// ```
    /// use autograd::{Tensor, Rank2, typenum::{U1, U2, U3}};
    ///
    /// let a: Tensor<Rank2<U2, U2>> = Tensor::from_array([[1.0, 2.0], [3.0, 4.0]]);
    /// let b: Tensor<Rank2<U2, U1>> = Tensor::from_array([[5.0], [6.0]]);
    /// let c: Tensor<Rank2<U2, U3>> = a.concat::<1, _>(&b);
    /// assert_eq!(c.as_slice(), &[1.0, 2.0, 5.0, 3.0, 4.0, 6.0]);
    /// ```
    ///
    /// # Shapes
    /// `[A] ++ [B] -> [A + B]`; `[A, N] ++ [B, N] -> [A + B, N]` along axis 0;
    /// `[M, A] ++ [M, B] -> [M, A + B]` along axis 1.
    #[track_caller]
    #[allow(clippy::type_complexity)]
    pub fn concat<const AXIS: usize, B>(&self, rhs: &Tensor<S::WithAxis<B>, E, D>) -> Tensor<S::WithAxis<Sum<S::Axis, B>>, E, D>
    where
        S: ReduceAxis<AXIS>,
        S::Axis: Add<B>,
        B: Dim,
        Sum<S::Axis, B>: Dim + Default,
        D: Storage<S::WithAxis<B>, E> + Storage<S::WithAxis<Sum<S::Axis, B>>, E>,
    {
        let (reduced, _) = self.shape().split_axis();
        let (rhs_reduced, _) = rhs.shape().split_axis();
        if reduced != rhs_reduced {
            panic!(
                "concat: shapes {:?} and {:?} differ outside axis {AXIS}",
                self.dims().as_ref(),
                rhs.dims().as_ref()
            );
        }

        let shape = S::insert_axis(reduced, Sum::<S::Axis, B>::default());
        let a_block = AxisLayout::of(&self.shape(), AXIS);
        let (a_len, b_len) = (a_block.len * a_block.inner, AxisLayout::of(&rhs.shape(), AXIS).len * a_block.inner);
        let (a, b) = (self.as_slice(), rhs.as_slice());
        Tensor::from_fn_with_shape(shape, |i| {
            let (o, j) = (i / (a_len + b_len), i % (a_len + b_len));
            if j < a_len {
                a[o * a_len + j]
            } else {
                b[o * b_len + j - a_len]
            }
        })
    }

    /// VJP of [`concat`](Self::concat): `dy` split back into the two parts.
    #[track_caller]
    #[allow(clippy::type_complexity)]
    pub fn concat_vjp<const AXIS: usize, B>(
        &self,
        rhs: &Tensor<S::WithAxis<B>, E, D>,
    ) -> (
        Tensor<S::WithAxis<Sum<S::Axis, B>>, E, D>,
        (
            impl FnOnce(Tensor<S::WithAxis<Sum<S::Axis, B>>, E, D>) -> Self + use<AXIS, S, B, E, D>,
            impl FnOnce(Tensor<S::WithAxis<Sum<S::Axis, B>>, E, D>) -> Tensor<S::WithAxis<B>, E, D> + use<AXIS, S, B, E, D>,
        ),
    )
    where
        S: ReduceAxis<AXIS>,
        S::Axis: Add<B>,
        B: Dim,
        Sum<S::Axis, B>: Dim + Default,
        D: Storage<S::WithAxis<B>, E> + Storage<S::WithAxis<Sum<S::Axis, B>>, E>,
    {
        let y = self.concat::<AXIS, B>(rhs);
        let (a_shape, b_shape) = (self.shape(), rhs.shape());
        let inner = AxisLayout::of(&a_shape, AXIS).inner;
        let a_len = AxisLayout::of(&a_shape, AXIS).len * inner;
        let b_len = AxisLayout::of(&b_shape, AXIS).len * inner;
        let pullback_lhs = move |grad: Tensor<S::WithAxis<Sum<S::Axis, B>>, E, D>| {
            let g = grad.as_slice();
            Tensor::from_fn_with_shape(a_shape, |i| g[(i / a_len) * (a_len + b_len) + i % a_len])
        };
        let pullback_rhs = move |grad: Tensor<S::WithAxis<Sum<S::Axis, B>>, E, D>| {
            let g = grad.as_slice();
            Tensor::from_fn_with_shape(b_shape, |i| g[(i / b_len) * (a_len + b_len) + a_len + i % b_len])
        };
        (y, (pullback_lhs, pullback_rhs))
    }

    /// The elements `START .. START + LEN` along axis `AXIS` (PyTorch
    /// `x.narrow(AXIS, START, LEN)`, or `x[:, START:START + LEN]` for axis
    /// 1). The range is checked at compile time against the axis' static
    /// size.
    ///
    /// ```
    /// use autograd::{Tensor, Rank1, typenum::{U1, U2, U4}};
    ///
    /// let x: Tensor<Rank1<U4>> = Tensor::from_array([1.0, 2.0, 3.0, 4.0]);
    /// let y: Tensor<Rank1<U2>> = x.narrow::<0, U1, U2>();
    /// assert_eq!(y.as_slice(), &[2.0, 3.0]);
    /// ```
    ///
    /// ```compile_fail
    /// use autograd::{Tensor, Rank1, typenum::{U3, U4}};
    ///
    /// let x: Tensor<Rank1<U4>> = Tensor::zeros();
    /// let y = x.narrow::<0, U3, U3>(); // 3..6 is past the end of 4
    /// ```
    ///
    /// # Shapes
    /// `[.., n, ..] -> [.., LEN, ..]`
    #[allow(clippy::type_complexity)]
    pub fn narrow<const AXIS: usize, START, LEN>(&self) -> Tensor<S::WithAxis<LEN>, E, D>
    where
        S: ReduceAxis<AXIS>,
        START: Unsigned + Add<LEN>,
        LEN: Dim + Unsigned + Default,
        Sum<START, LEN>: IsLessOrEqual<S::Axis>,
        LeEq<Sum<START, LEN>, S::Axis>: RangeInBounds,
        D: Storage<S::WithAxis<LEN>, E>,
    {
        let (reduced, _) = self.shape().split_axis();
        let shape = S::insert_axis(reduced, LEN::default());
        let layout = AxisLayout::of(&self.shape(), AXIS);
        let x = self.as_slice();
        let (block, part) = (layout.len * layout.inner, LEN::USIZE * layout.inner);
        let offset = START::USIZE * layout.inner;
        Tensor::from_fn_with_shape(shape, |i| x[(i / part) * block + offset + i % part])
    }

    /// VJP of [`narrow`](Self::narrow): `dy` placed at the narrowed range,
    /// zeros elsewhere.
    #[allow(clippy::type_complexity)]
    pub fn narrow_vjp<const AXIS: usize, START, LEN>(
        &self,
    ) -> (Tensor<S::WithAxis<LEN>, E, D>, (impl FnOnce(Tensor<S::WithAxis<LEN>, E, D>) -> Self + use<AXIS, S, START, LEN, E, D>,))
    where
        S: ReduceAxis<AXIS>,
        START: Unsigned + Add<LEN>,
        LEN: Dim + Unsigned + Default,
        Sum<START, LEN>: IsLessOrEqual<S::Axis>,
        LeEq<Sum<START, LEN>, S::Axis>: RangeInBounds,
        D: Storage<S::WithAxis<LEN>, E>,
    {
        let shape = self.shape();
        let pullback = move |grad: Tensor<S::WithAxis<LEN>, E, D>| {
            let layout = AxisLayout::of(&shape, AXIS);
            let (block, part) = (layout.len * layout.inner, LEN::USIZE * layout.inner);
            let offset = START::USIZE * layout.inner;
            let mut dx = Self::zeros_with_shape(shape);
            let data = dx.as_mut_slice();
            for (i, &g) in grad.as_slice().iter().enumerate() {
                data[(i / part) * block + offset + i % part] = g;
            }
            dx
        };
        (self.narrow::<AXIS, START, LEN>(), (pullback,))
    }

    /// The slice at `index` along axis `AXIS`, with that axis removed
    /// (PyTorch `x.select(AXIS, index)`; `x.select::<0>(i)` is row `i` of a
    /// matrix).
    ///
    /// Panics if `index` is not below the axis' size.
    ///
    /// # Shapes
    /// `[.., n, ..] -> [.., ..]`
    #[track_caller]
    pub fn select<const AXIS: usize>(&self, index: usize) -> Tensor<S::Reduced, E, D>
    where
        S: ReduceAxis<AXIS>,
        D: Storage<S::Reduced, E>,
    {
        let (reduced, _) = self.shape().split_axis();
        let layout = AxisLayout::of(&self.shape(), AXIS);
        assert!(
            index < layout.len,
            "select: index {index} is out of range for axis {AXIS} of size {}",
            layout.len
        );
        let x = self.as_slice();
        Tensor::from_fn_with_shape(reduced, |lane| x[layout.index(lane, index)])
    }

    /// VJP of [`select`](Self::select): `dy` placed at `index`, zeros
    /// elsewhere; the index has no gradient.
    #[allow(clippy::type_complexity)]
    #[track_caller]
    pub fn select_vjp<const AXIS: usize>(
        &self,
        index: usize,
    ) -> (Tensor<S::Reduced, E, D>, (impl FnOnce(Tensor<S::Reduced, E, D>) -> Self + use<AXIS, S, E, D>, NoGrad))
    where
        S: ReduceAxis<AXIS>,
        D: Storage<S::Reduced, E>,
    {
        let y = self.select::<AXIS>(index);
        let shape = self.shape();
        let pullback = move |grad: Tensor<S::Reduced, E, D>| {
            super::reduce::check_reduced_grad::<AXIS, S, E, D>(&shape, &grad);
            let layout = AxisLayout::of(&shape, AXIS);
            let mut dx = Self::zeros_with_shape(shape);
            let data = dx.as_mut_slice();
            for (lane, &g) in grad.as_slice().iter().enumerate() {
                data[layout.index(lane, index)] = g;
            }
            dx
        };
        (y, (pullback, NoGrad))
    }

    /// Panics unless the tensor has `numel` elements.
    #[track_caller]
    fn check_numel(&self, op: &str, numel: usize) {
        assert!(
            self.numel() == numel,
            "{op}: the cotangent has {} elements, expected {numel}",
            self.numel()
        );
    }
}

/// A static shape that can be reshaped to `S2`: both have the same element
/// count, compared as typenum products at compile time.
pub trait ReshapeTo<S2: Shape>: Shape {}

impl<S, S2> ReshapeTo<S2> for S
where
    S: InlineShape,
    S2: InlineShape,
    S::Len: IsEqual<S2::Len>,
    typenum::Eq<S::Len, S2::Len>: SameElementCount,
{
}

/// Holds only for `typenum::True`, the result of comparing two element
/// counts at compile time. A bound on it fails with this trait's message,
/// where an equality bound on the counts would print a type mismatch
/// between two typenum binary expansions.
#[diagnostic::on_unimplemented(
    message = "cannot reshape: the two shapes have different element counts",
    label = "reshape keeps every element, so both shapes need the same number of elements",
    note = "for shapes with `Dyn` axes use `try_reshape_with_shape`, which checks at run time"
)]
pub trait SameElementCount {}

impl SameElementCount for True {}

/// Holds only for `typenum::True`, the result of a compile-time range check.
#[diagnostic::on_unimplemented(
    message = "the range `START .. START + LEN` of `narrow` runs past the end of the axis",
    label = "START + LEN must not exceed the axis' size",
    note = "`narrow::<AXIS, START, LEN>()` takes LEN elements from index START of a static axis"
)]
pub trait RangeInBounds {}

impl RangeInBounds for True {}

impl<E: Float, D: Storage<Rank0, E>> Tensor<Rank0, E, D> {
    /// The scalar repeated into every element of a static shape (PyTorch
    /// `x.expand(shape)` on a 0-dimensional tensor).
    pub fn expand<S2: ConstShape>(&self) -> Tensor<S2, E, D>
    where
        D: Storage<S2, E>,
    {
        self.expand_with_shape(S2::default())
    }

    /// VJP of [`expand`](Self::expand): `dx = Σ dy`.
    #[allow(clippy::type_complexity)]
    pub fn expand_vjp<S2: ConstShape>(&self) -> (Tensor<S2, E, D>, (impl FnOnce(Tensor<S2, E, D>) -> Self + use<S2, E, D>,))
    where
        D: Storage<S2, E>,
    {
        let (y, (pullback, _)) = self.expand_with_shape_vjp(S2::default());
        (y, (pullback,))
    }

    /// The scalar repeated into every element of `shape`, which may have
    /// `Dyn` axes.
    pub fn expand_with_shape<S2: Shape>(&self, shape: S2) -> Tensor<S2, E, D>
    where
        D: Storage<S2, E>,
    {
        Tensor::full_with_shape(shape, self.item())
    }

    /// VJP of [`expand_with_shape`](Self::expand_with_shape): `dx = Σ dy`;
    /// the shape has no gradient.
    #[allow(clippy::type_complexity)]
    pub fn expand_with_shape_vjp<S2: Shape>(&self, shape: S2) -> (Tensor<S2, E, D>, (impl FnOnce(Tensor<S2, E, D>) -> Self + use<S2, E, D>, NoGrad))
    where
        D: Storage<S2, E>,
    {
        let pullback = |grad: Tensor<S2, E, D>| Tensor::scalar(grad.as_slice().iter().copied().sum());
        (self.expand_with_shape(shape), (pullback, NoGrad))
    }
}

/// Flattening every axis after the first, which keeps a batch axis that may
/// be `Dyn` (PyTorch `x.flatten(1)`, what `nn.Flatten()` does).
impl<N, A, B, E, D> Tensor<Rank3<N, A, B>, E, D>
where
    N: Dim,
    A: Dim + core::ops::Mul<B>,
    B: Dim,
    typenum::Prod<A, B>: Dim + Default,
    E: Float,
    D: Storage<Rank3<N, A, B>, E> + Storage<Rank2<N, typenum::Prod<A, B>>, E>,
{
    /// Flattens the last two axes into one, keeping the batch axis `N`.
    ///
    /// # Shapes
    /// `[N, A, B] -> [N, A · B]`
    pub fn flatten_keep_batch(&self) -> Tensor<Rank2<N, typenum::Prod<A, B>>, E, D> {
        relabel(self, Rank2(self.shape().0, Default::default()))
    }

    /// VJP of [`flatten_keep_batch`](Self::flatten_keep_batch): `dy`
    /// reshaped back.
    #[allow(clippy::type_complexity)]
    pub fn flatten_keep_batch_vjp(
        &self,
    ) -> (
        Tensor<Rank2<N, typenum::Prod<A, B>>, E, D>,
        (impl FnOnce(Tensor<Rank2<N, typenum::Prod<A, B>>, E, D>) -> Self + use<N, A, B, E, D>,),
    ) {
        let shape = self.shape();
        let pullback = move |grad: Tensor<Rank2<N, typenum::Prod<A, B>>, E, D>| {
            grad.check_numel("flatten_keep_batch pullback", shape.numel());
            relabel(&grad, shape)
        };
        (self.flatten_keep_batch(), (pullback,))
    }
}

/// Flattening every axis after the first of a rank-4 tensor, such as
/// `[N, C, H, W]` images into `[N, C · H · W]` features.
impl<N, C, H, W, E, D> Tensor<Rank4<N, C, H, W>, E, D>
where
    N: Dim,
    C: Dim + core::ops::Mul<H>,
    H: Dim,
    W: Dim,
    typenum::Prod<C, H>: core::ops::Mul<W>,
    typenum::Prod<typenum::Prod<C, H>, W>: Dim + Default,
    E: Float,
    D: Storage<Rank4<N, C, H, W>, E> + Storage<Rank2<N, typenum::Prod<typenum::Prod<C, H>, W>>, E>,
{
    /// Flattens the last three axes into one, keeping the batch axis `N`.
    ///
    /// # Shapes
    /// `[N, C, H, W] -> [N, C · H · W]`
    #[allow(clippy::type_complexity)]
    pub fn flatten_keep_batch(&self) -> Tensor<Rank2<N, typenum::Prod<typenum::Prod<C, H>, W>>, E, D> {
        relabel(self, Rank2(self.shape().0, Default::default()))
    }

    /// VJP of [`flatten_keep_batch`](Self::flatten_keep_batch): `dy`
    /// reshaped back.
    #[allow(clippy::type_complexity)]
    pub fn flatten_keep_batch_vjp(
        &self,
    ) -> (
        Tensor<Rank2<N, typenum::Prod<typenum::Prod<C, H>, W>>, E, D>,
        (impl FnOnce(Tensor<Rank2<N, typenum::Prod<typenum::Prod<C, H>, W>>, E, D>) -> Self + use<N, C, H, W, E, D>,),
    ) {
        let shape = self.shape();
        let pullback = move |grad: Tensor<Rank2<N, typenum::Prod<typenum::Prod<C, H>, W>>, E, D>| {
            grad.check_numel("flatten_keep_batch pullback", shape.numel());
            relabel(&grad, shape)
        };
        (self.flatten_keep_batch(), (pullback,))
    }
}

/// Picking one entry per row by class index, as cross entropy and NLL loss
/// read the score of each sample's target class.
impl<N: Dim, C: Dim, E: Float, D: Storage<Rank2<N, C>, E> + Storage<Rank1<N>, E>> Tensor<Rank2<N, C>, E, D> {
    /// `y_i = x[i, classes[i]]` (PyTorch `x.gather(1,
    /// classes.unsqueeze(1)).squeeze(1)`, or `x[arange(N), classes]`).
    ///
    /// Panics if `classes` does not contain exactly one index per row. Also
    /// panics if an index is not below `C`, with the index, its row and `C`
    /// in the message.
    ///
    /// # Shapes
    /// `[N, C]` with `N` class indices `-> [N]`
    #[track_caller]
    pub fn select_per_row(&self, classes: &[usize]) -> Tensor<Rank1<N>, E, D> {
        let Rank2(n, c) = self.shape();
        let cols = c.size();
        check_classes(classes, n.size(), cols);
        let x = self.as_slice();
        Tensor::from_fn_with_shape(Rank1(n), |row| x[row * cols + classes[row]])
    }

    /// VJP of [`select_per_row`](Self::select_per_row): `dy_i` placed at
    /// `[i, classes[i]]`, zeros elsewhere; the indices have no gradient. The
    /// pullback borrows `classes`.
    #[allow(clippy::type_complexity)]
    #[track_caller]
    pub fn select_per_row_vjp<'a>(
        &self,
        classes: &'a [usize],
    ) -> (Tensor<Rank1<N>, E, D>, (impl FnOnce(Tensor<Rank1<N>, E, D>) -> Self + use<'a, N, C, E, D>, NoGrad)) {
        let y = self.select_per_row(classes);
        let shape = self.shape();
        let pullback = move |grad: Tensor<Rank1<N>, E, D>| {
            let cols = shape.1.size();
            check_same_len("select_per_row pullback", grad.numel(), shape.0.size());
            let mut dx = Self::zeros_with_shape(shape);
            let data = dx.as_mut_slice();
            for (row, &g) in grad.as_slice().iter().enumerate() {
                data[row * cols + classes[row]] = g;
            }
            dx
        };
        (y, (pullback, NoGrad))
    }
}

#[track_caller]
fn check_classes(classes: &[usize], rows: usize, cols: usize) {
    assert!(
        classes.len() == rows,
        "select_per_row: expected one class index per row, {rows} rows, found {} indices",
        classes.len()
    );
    for (row, &class) in classes.iter().enumerate() {
        assert!(
            class < cols,
            "select_per_row: class index {class} in row {row} is out of range for {cols} classes"
        );
    }
}

#[track_caller]
fn check_same_len(what: &str, found: usize, expected: usize) {
    crate::shape::check_same_size(what, found, expected);
}
