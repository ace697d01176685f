//! Typed axes: which shape remains when an axis is removed, and how the
//! elements of one axis are laid out in a row-major buffer.
//!
//! [`ReduceAxis<AXIS>`] is implemented for every axis of [`Rank1`] to
//! [`Rank4`]. Reductions (`sum_axis::<1>()`), softmax along an axis,
//! broadcasting along a new axis, concatenation and narrowing are all written
//! against it, so `Rank2<M, N>` summed over axis 1 is `Rank1<M>` by type and
//! asking for axis 2 of a matrix does not compile.

use crate::shape::{Dim, Rank0, Rank1, Rank2, Rank3, Rank4, Shape};

/// A shape that has an axis `AXIS`.
///
/// `Reduced` is the shape without that axis, `Axis` the axis' dimension type,
/// and `WithAxis<X>` the same shape with that axis replaced by `X` (what
/// concatenation and narrowing produce).
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no axis {AXIS}",
    label = "axis {AXIS} is out of range for this shape",
    note = "axes count from 0: a `Rank2<M, N>` has axis 0 (the M rows) and axis 1 (the N columns)"
)]
pub trait ReduceAxis<const AXIS: usize>: Shape {
    /// The shape with axis `AXIS` removed.
    type Reduced: Shape;

    /// The dimension type of axis `AXIS`.
    type Axis: Dim;

    /// The shape with axis `AXIS` replaced by `X`.
    type WithAxis<X: Dim>: Shape + ReduceAxis<AXIS, Reduced = Self::Reduced, Axis = X>;

    /// Splits the shape into the remaining axes and the removed one.
    fn split_axis(&self) -> (Self::Reduced, Self::Axis);

    /// Inserts an axis of dimension `X` at position `AXIS`.
    fn insert_axis<X: Dim>(reduced: Self::Reduced, axis: X) -> Self::WithAxis<X>;
}

impl<A: Dim> ReduceAxis<0> for Rank1<A> {
    type Reduced = Rank0;
    type Axis = A;
    type WithAxis<X: Dim> = Rank1<X>;

    fn split_axis(&self) -> (Rank0, A) {
        (Rank0, self.0)
    }

    fn insert_axis<X: Dim>(_: Rank0, axis: X) -> Rank1<X> {
        Rank1(axis)
    }
}

/// Implements `ReduceAxis<$axis>` for `$rank<$($d),+>`: `$removed` is the
/// type parameter of the removed axis and `$($kept),+` the others in order.
macro_rules! impl_reduce_axis {
    ($rank:ident <$($d:ident),+>, $axis:literal, $removed:ident, $reduced:ident <$($kept:ident),+>) => {
        #[allow(non_snake_case)]
        impl<$($d: Dim),+> ReduceAxis<$axis> for $rank<$($d),+> {
            type Reduced = $reduced<$($kept),+>;
            type Axis = $removed;
            type WithAxis<X: Dim> = impl_reduce_axis!(@replace $rank, $removed, X, $($d),+);

            fn split_axis(&self) -> (Self::Reduced, $removed) {
                let $rank($($d),+) = *self;
                ($reduced($($kept),+), $removed)
            }

            fn insert_axis<X: Dim>(reduced: Self::Reduced, axis: X) -> Self::WithAxis<X> {
                let $reduced($($kept),+) = reduced;
                let $removed = axis;
                $rank($($d),+)
            }
        }
    };
    // `$rank` with the parameter named `$removed` replaced by `$x`.
    (@replace $rank:ident, $removed:ident, $x:ident, $($d:ident),+) => {
        $rank<$(impl_reduce_axis!(@pick $removed, $x, $d)),+>
    };
    (@pick A, $x:ident, A) => { $x };
    (@pick B, $x:ident, B) => { $x };
    (@pick C, $x:ident, C) => { $x };
    (@pick D, $x:ident, D) => { $x };
    (@pick $removed:ident, $x:ident, $d:ident) => { $d };
}

impl_reduce_axis!(Rank2<A, B>, 0, A, Rank1<B>);
impl_reduce_axis!(Rank2<A, B>, 1, B, Rank1<A>);
impl_reduce_axis!(Rank3<A, B, C>, 0, A, Rank2<B, C>);
impl_reduce_axis!(Rank3<A, B, C>, 1, B, Rank2<A, C>);
impl_reduce_axis!(Rank3<A, B, C>, 2, C, Rank2<A, B>);
impl_reduce_axis!(Rank4<A, B, C, D>, 0, A, Rank3<B, C, D>);
impl_reduce_axis!(Rank4<A, B, C, D>, 1, B, Rank3<A, C, D>);
impl_reduce_axis!(Rank4<A, B, C, D>, 2, C, Rank3<A, B, D>);
impl_reduce_axis!(Rank4<A, B, C, D>, 3, D, Rank3<A, B, C>);

/// Where the elements along one axis sit in a row-major buffer.
///
/// The buffer is viewed as `[outer, len, inner]`: `outer` is the product of
/// the sizes before the axis, `len` the axis' size and `inner` the product of
/// the sizes after it. A lane is the `len` elements that share their other
/// indices; lane `l` of the reduced shape (row-major) starts at
/// `(l / inner) * len * inner + l % inner` and steps by `inner`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AxisLayout {
    pub outer: usize,
    pub len: usize,
    pub inner: usize,
}

impl AxisLayout {
    /// The layout of `axis` in `shape`.
    pub fn of<S: Shape>(shape: &S, axis: usize) -> Self {
        let dims = shape.dims();
        let dims = dims.as_ref();
        AxisLayout {
            outer: dims[..axis].iter().product(),
            len: dims[axis],
            inner: dims[axis + 1..].iter().product(),
        }
    }

    /// All `numel` elements as one lane, for reductions over a whole tensor.
    pub fn whole(numel: usize) -> Self {
        AxisLayout {
            outer: 1,
            len: numel,
            inner: 1,
        }
    }

    /// The number of lanes, which is the reduced shape's element count.
    pub fn lanes(&self) -> usize {
        self.outer * self.inner
    }

    /// The buffer index of element `k` of lane `lane`.
    pub fn index(&self, lane: usize, k: usize) -> usize {
        let (o, i) = (lane / self.inner, lane % self.inner);
        (o * self.len + k) * self.inner + i
    }

    /// The elements of lane `lane`, in axis order.
    pub fn lane<'a, E: Copy>(&self, data: &'a [E], lane: usize) -> impl Iterator<Item = E> + Clone + 'a {
        let (start, step, len) = (self.index(lane, 0), self.inner, self.len);
        data[start.min(data.len())..].iter().step_by(step.max(1)).take(len).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::Dyn;
    use typenum::{U2, U3, U4};

    #[test]
    fn split_and_insert_axis_round_trip() {
        let shape = Rank3(U2::default(), Dyn(5), U4::default());
        let (reduced, axis) = <Rank3<U2, Dyn, U4> as ReduceAxis<1>>::split_axis(&shape);
        assert_eq!(reduced.dims(), [2, 4]);
        assert_eq!(axis, Dyn(5));
        let back = <Rank3<U2, Dyn, U4> as ReduceAxis<1>>::insert_axis(reduced, U3::default());
        assert_eq!(back.dims(), [2, 3, 4]);
    }

    #[test]
    fn layout_indexes_middle_axis() {
        // [2, 3, 4], axis 1: lane (o=1, i=2) contains 12+2, 12+6, 12+10.
        let layout = AxisLayout::of(&Rank3(U2::default(), U3::default(), U4::default()), 1);
        assert_eq!(layout, AxisLayout { outer: 2, len: 3, inner: 4 });
        let data: [usize; 24] = core::array::from_fn(|i| i);
        let lane: [usize; 3] = {
            let mut it = layout.lane(&data, 4 + 2);
            core::array::from_fn(|_| it.next().unwrap())
        };
        assert_eq!(lane, [14, 18, 22]);
    }
}
