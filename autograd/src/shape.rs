//! Shapes whose dimensions are types.
//!
//! A dimension is either a typenum unsigned integer (`U5`, `U784`), whose size
//! is part of the type, or [`Dyn`], whose size is known only at run time (the
//! batch axis of the last partial batch, say). A shape is one of [`Rank0`] to
//! [`Rank4`] over such dimensions. Shapes made only of typenum dimensions
//! implement [`ConstShape`], which gives the element count as a constant, and
//! those whose element count is also a typenum product implement
//! [`InlineShape`], which the allocation-free [`Inline`](crate::Inline) device
//! needs.

use core::fmt::Debug;
use core::ops::Mul;

use generic_array::ArrayLength;
use typenum::{Prod, Unsigned};

/// One axis of a shape: a typenum constant or a run-time size.
pub trait Dim: Copy + Debug + PartialEq + Send + Sync + 'static {
    /// The size, when the type fixes it. It must equal [`Dim::size`] of
    /// every value, because devices size buffers from it.
    const STATIC: Option<usize>;

    /// The size of this axis.
    fn size(&self) -> usize;

    /// Builds the dimension from a run-time size, or returns `None` when the
    /// type fixes a different size.
    fn from_size(size: usize) -> Option<Self>;
}

impl<U: Unsigned + Copy + Default + Debug + PartialEq + Send + Sync + 'static> Dim for U {
    const STATIC: Option<usize> = Some(U::USIZE);

    fn size(&self) -> usize {
        U::USIZE
    }

    fn from_size(size: usize) -> Option<Self> {
        (size == U::USIZE).then(U::default)
    }
}

/// A dimension whose size is known only at run time.
///
/// Use it for the batch axis: `Tensor<Rank2<Dyn, U4>>` contains any number of
/// rows of four features. Where a `Dyn` axis meets another size (the rows of
/// a matrix product, the two operands of `+`), the sizes are checked at run
/// time and a mismatch panics with both sizes in the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Dyn(pub usize);

impl Dim for Dyn {
    const STATIC: Option<usize> = None;

    fn size(&self) -> usize {
        self.0
    }

    fn from_size(size: usize) -> Option<Self> {
        Some(Dyn(size))
    }
}

/// Checks that two sizes of the same axis agree, panicking with both sizes.
///
/// Only `Dyn` axes can disagree at run time; typenum axes are equal by type.
#[track_caller]
pub fn check_same_size(what: &str, left: usize, right: usize) {
    assert!(
        left == right,
        "{what}: sizes do not match: {left} versus {right}"
    );
}

/// The shape of a tensor: its rank and the size of each axis.
pub trait Shape: Copy + Debug + PartialEq + Send + Sync + 'static {
    /// The number of axes.
    const RANK: usize;

    /// The sizes of the axes as an array of `RANK` entries.
    type Dims: Copy + Debug + AsRef<[usize]> + AsMut<[usize]>;

    /// The sizes of the axes.
    fn dims(&self) -> Self::Dims;

    /// The number of elements, the product of the sizes.
    ///
    /// # Panics
    ///
    /// Panics if the product does not fit in `usize`. Buffers and kernels
    /// are sized from it, so a wrapped count would be unsound.
    fn numel(&self) -> usize {
        let dims = self.dims();
        let sizes = dims.as_ref();
        if sizes.contains(&0) {
            return 0;
        }
        match sizes.iter().try_fold(1usize, |count, &size| count.checked_mul(size)) {
            Some(count) => count,
            None => panic!("the shape {sizes:?} has more elements than usize can count"),
        }
    }

    /// Builds the shape from run-time sizes, or returns `None` when the rank
    /// differs or a typenum axis has another size.
    fn from_dims(dims: &[usize]) -> Option<Self>;

    /// The number of elements when the type fixes every axis, `None` when an
    /// axis is [`Dyn`]. The [`Cpu`](crate::Cpu) device keeps the elements of
    /// a small fixed-size tensor inside the tensor value instead of on the
    /// heap.
    const STATIC_NUMEL: Option<usize> = None;
}

/// Multiplies the static sizes, or returns `None` if one of them is `None`.
const fn static_product(sizes: &[Option<usize>]) -> Option<usize> {
    let mut product = 1usize;
    let mut i = 0;
    while i < sizes.len() {
        match sizes[i] {
            Some(size) => product = product.saturating_mul(size),
            None => return None,
        }
        i += 1;
    }
    Some(product)
}

/// A shape made only of typenum dimensions: its element count is a constant.
#[diagnostic::on_unimplemented(
    message = "the shape `{Self}` has no size fixed by its type: an axis is `Dyn`, a run-time size",
    label = "this takes its shape from the type, which needs every axis to be a typenum size",
    note = "build a tensor with a `Dyn` axis from its run-time sizes with `zeros_with_shape`, \
            `full_with_shape`, `from_fn_with_shape`, `from_slice_with_shape`, `randn_with_shape` \
            or `uniform_with_shape`, for example \
            `Tensor::<Rank2<Dyn, U3>>::zeros_with_shape(Rank2(Dyn(rows), U3::new()))`"
)]
pub trait ConstShape: Shape + Default {
    /// The number of elements.
    const NUMEL: usize;
}

/// A constant shape whose element count is also a typenum number, so that an
/// array of that length can be a type (`GenericArray<E, Self::Len>`).
#[diagnostic::on_unimplemented(
    message = "the `Inline` device cannot hold the shape `{Self}`: an axis is `Dyn`, a run-time size",
    label = "an `Inline` tensor is an array whose length comes from the shape type",
    note = "use the `Cpu` device for a shape with a `Dyn` axis, as in `Tensor<Rank2<Dyn, U3>, f32, Cpu>`, \
            or give every axis a typenum size"
)]
pub trait InlineShape: ConstShape {
    /// The element count as a typenum number.
    type Len: ArrayLength;
}

/// The shape of a scalar.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Rank0;

/// The shape of a vector of `A` elements.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Rank1<A>(pub A);

/// The shape of an `A` by `B` matrix, stored row-major.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Rank2<A, B>(pub A, pub B);

/// A rank-3 shape, stored row-major.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Rank3<A, B, C>(pub A, pub B, pub C);

/// A rank-4 shape, stored row-major (`[N, C, H, W]` for images).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Rank4<A, B, C, D>(pub A, pub B, pub C, pub D);

impl Shape for Rank0 {
    const RANK: usize = 0;
    type Dims = [usize; 0];
    const STATIC_NUMEL: Option<usize> = Some(1);

    fn dims(&self) -> [usize; 0] {
        []
    }

    fn from_dims(dims: &[usize]) -> Option<Self> {
        dims.is_empty().then_some(Rank0)
    }
}

// Not listed as an example implementation in the error for a `Dyn` shape,
// where it would suggest a scalar instead of a `*_with_shape` constructor.
#[diagnostic::do_not_recommend]
impl ConstShape for Rank0 {
    const NUMEL: usize = 1;
}

#[diagnostic::do_not_recommend]
impl InlineShape for Rank0 {
    type Len = typenum::U1;
}

macro_rules! impl_shape {
    ($name:ident, $rank:literal, $($dim:ident $index:tt),+) => {
        impl<$($dim: Dim),+> Shape for $name<$($dim),+> {
            const RANK: usize = $rank;
            type Dims = [usize; $rank];
            const STATIC_NUMEL: Option<usize> = static_product(&[$($dim::STATIC),+]);

            fn dims(&self) -> [usize; $rank] {
                [$(self.$index.size()),+]
            }

            fn from_dims(dims: &[usize]) -> Option<Self> {
                if dims.len() != $rank {
                    return None;
                }
                Some($name($($dim::from_size(dims[$index])?),+))
            }
        }

        // `do_not_recommend` makes rustc report `Rank2<Dyn, U3>: ConstShape`
        // with the message above instead of the unsatisfied `Dyn: Unsigned`.
        #[diagnostic::do_not_recommend]
        impl<$($dim: Dim + Unsigned + Default),+> ConstShape for $name<$($dim),+> {
            const NUMEL: usize = 1 $(* $dim::USIZE)+;
        }
    };
}

impl_shape!(Rank1, 1, A 0);
impl_shape!(Rank2, 2, A 0, B 1);
impl_shape!(Rank3, 3, A 0, B 1, C 2);
impl_shape!(Rank4, 4, A 0, B 1, C 2, D 3);

#[diagnostic::do_not_recommend]
impl<A> InlineShape for Rank1<A>
where
    A: Dim + Unsigned + Default + ArrayLength,
{
    type Len = A;
}

#[diagnostic::do_not_recommend]
impl<A, B> InlineShape for Rank2<A, B>
where
    A: Dim + Unsigned + Default + Mul<B>,
    B: Dim + Unsigned + Default,
    Prod<A, B>: ArrayLength,
{
    type Len = Prod<A, B>;
}

#[diagnostic::do_not_recommend]
impl<A, B, C> InlineShape for Rank3<A, B, C>
where
    A: Dim + Unsigned + Default + Mul<B>,
    B: Dim + Unsigned + Default,
    C: Dim + Unsigned + Default,
    Prod<A, B>: Mul<C>,
    Prod<Prod<A, B>, C>: ArrayLength,
{
    type Len = Prod<Prod<A, B>, C>;
}

#[diagnostic::do_not_recommend]
impl<A, B, C, D> InlineShape for Rank4<A, B, C, D>
where
    A: Dim + Unsigned + Default + Mul<B>,
    B: Dim + Unsigned + Default,
    C: Dim + Unsigned + Default,
    D: Dim + Unsigned + Default,
    Prod<A, B>: Mul<C>,
    Prod<Prod<A, B>, C>: Mul<D>,
    Prod<Prod<Prod<A, B>, C>, D>: ArrayLength,
{
    type Len = Prod<Prod<Prod<A, B>, C>, D>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use typenum::{U3, U4, U5};

    #[test]
    fn const_shape_numel_is_product_of_dims() {
        assert_eq!(<Rank3<U3, U4, U5> as ConstShape>::NUMEL, 60);
        assert_eq!(<Rank0 as ConstShape>::NUMEL, 1);
    }

    #[test]
    fn static_numel_is_none_with_a_dyn_axis() {
        assert_eq!(<Rank2<U3, U4> as Shape>::STATIC_NUMEL, Some(12));
        assert_eq!(<Rank0 as Shape>::STATIC_NUMEL, Some(1));
        assert_eq!(<Rank2<Dyn, U4> as Shape>::STATIC_NUMEL, None);
        assert_eq!(<Rank3<U3, U4, Dyn> as Shape>::STATIC_NUMEL, None);
    }

    #[test]
    #[should_panic(expected = "has more elements than usize can count")]
    fn numel_rejects_overflowing_product() {
        let _ = Rank2(Dyn((1 << 63) + 1), Dyn(2)).numel();
    }

    #[test]
    fn numel_of_zero_axis_is_zero() {
        assert_eq!(Rank3(Dyn(usize::MAX), Dyn(usize::MAX), Dyn(0)).numel(), 0);
    }

    #[test]
    fn dyn_axis_reports_runtime_size() {
        let shape = Rank2(Dyn(7), U4::default());
        assert_eq!(shape.dims(), [7, 4]);
        assert_eq!(shape.numel(), 28);
    }

    #[test]
    fn from_dims_rejects_wrong_static_size() {
        assert_eq!(Rank2::<U3, U4>::from_dims(&[3, 5]), None);
        assert_eq!(Rank2::<U3, U4>::from_dims(&[3, 4]), Some(Rank2::default()));
        assert_eq!(Rank1::<Dyn>::from_dims(&[9]), Some(Rank1(Dyn(9))));
        assert_eq!(Rank1::<Dyn>::from_dims(&[9, 1]), None);
    }
}
