//! The traits that tie values to their gradients.
//!
//! - [`Differentiable`]: a value with a gradient type (a tensor's gradient is
//!   a tensor of the same type; a model's is its generated gradient struct).
//! - [`Accumulate`]: gradients add up when a value is used more than once.
//! - [`Leaves`]: a visit of every tensor's elements in a fixed order, which
//!   gradcheck, optimizers and weight files are written against.

use crate::device::Storage;
use crate::shape::Shape;
use crate::tensor::Tensor;
use crate::Float;

/// A value that gradients flow through.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not differentiable",
    label = "no gradient type for this value",
    note = "tensors, `Param`s, tuples of them and `#[derive(Module)]` structs are differentiable; \
            pass other values as constants"
)]
pub trait Differentiable {
    /// The gradient's type, which mirrors the value's structure.
    type Grad: Accumulate;

    /// A gradient of zeros for this value (its shape may depend on `Dyn` axes
    /// or `Vec` lengths, which is why it takes `self`).
    fn zero_grad(&self) -> Self::Grad;
}

/// Adds another gradient of the same type into this one.
pub trait Accumulate: Sized {
    fn accumulate(&mut self, other: Self);
}

/// Adds `grad` into an optional accumulator: the first contribution is moved
/// in, later ones are added. Generated backward passes keep one such slot per
/// value, so a value used once costs no addition and no zero-filled buffer.
#[inline]
pub fn accumulate_into<G: Accumulate>(slot: &mut Option<G>, grad: G) {
    match slot {
        Some(acc) => acc.accumulate(grad),
        None => *slot = Some(grad),
    }
}

/// Returns the accumulated gradient of `value`, or zeros if nothing reached it.
#[inline]
pub fn grad_or_zero<T: Differentiable>(slot: Option<T::Grad>, value: &T) -> T::Grad {
    slot.unwrap_or_else(|| value.zero_grad())
}

/// Collects a value's gradient one part at a time, for the backward passes
/// that `#[differentiable]` generates.
///
/// A method that reads `self.weight` and `self.bias` gets one gradient per
/// field. The generated code does not build a zero gradient of the whole
/// model and add each field's gradient into it. It takes empty
/// [`Parts`](GradParts::Parts) in the forward pass and moves each field's
/// gradient into its part. Then [`assemble`](GradParts::assemble) makes
/// zeros only for the parts that nothing reached. The parts record shapes,
/// not borrows, so the pullback does not borrow the model.
///
/// `#[derive(Module)]` implements this trait, with one part per field, so
/// that `self.layer.bias` reaches `parts.layer.bias`. A hand-written model
/// implements it with a struct of its fields' parts; any other value can
/// use a single [`GradSlot`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot collect its gradient field by field",
    label = "its fields are read in a `#[differentiable]` body",
    note = "derive `Module` for it, or implement `autograd::GradParts` with one part per field"
)]
pub trait GradParts: Differentiable {
    /// The gradient collected so far, part by part, with what each part needs
    /// to make its zeros.
    type Parts: AddGrad<Self::Grad>;

    /// Empty parts, shaped like `self`'s gradient.
    fn grad_parts(&self) -> Self::Parts;

    /// Builds the gradient from its parts, with zeros for the empty ones.
    fn assemble(parts: Self::Parts) -> Self::Grad;
}

/// Adds a gradient into the parts that collect it.
pub trait AddGrad<G> {
    fn add_grad(&mut self, grad: G);
}

/// The part of a gradient that is collected whole: the sum so far, if any,
/// and the shape that makes its zeros.
#[derive(Clone, Debug)]
pub struct GradSlot<G, Z> {
    grad: Option<G>,
    shape: Z,
}

impl<G, Z> GradSlot<G, Z> {
    /// Creates an empty slot for a gradient of the given shape.
    pub fn new(shape: Z) -> Self {
        GradSlot { grad: None, shape }
    }

    /// Returns the collected gradient, or `zeros(shape)` if nothing reached it.
    pub fn into_grad(self, zeros: impl FnOnce(Z) -> G) -> G {
        match self.grad {
            Some(grad) => grad,
            None => zeros(self.shape),
        }
    }
}

impl<G: Accumulate, Z> AddGrad<G> for GradSlot<G, Z> {
    #[inline]
    fn add_grad(&mut self, grad: G) {
        accumulate_into(&mut self.grad, grad);
    }
}

impl<S: Shape, E: Float, D: Storage<S, E>> GradParts for Tensor<S, E, D> {
    type Parts = GradSlot<Self, S>;

    fn grad_parts(&self) -> Self::Parts {
        GradSlot::new(self.shape())
    }

    fn assemble(parts: Self::Parts) -> Self {
        parts.into_grad(Tensor::zeros_with_shape)
    }
}

impl GradParts for () {
    type Parts = ();
    fn grad_parts(&self) {}
    fn assemble(_: ()) {}
}

impl AddGrad<()> for () {
    fn add_grad(&mut self, _: ()) {}
}

macro_rules! impl_tuple_parts {
    ($($t:ident $g:ident $i:tt),+) => {
        impl<$($t: GradParts),+> GradParts for ($($t,)+) {
            type Parts = ($($t::Parts,)+);
            fn grad_parts(&self) -> Self::Parts {
                ($(self.$i.grad_parts(),)+)
            }
            fn assemble(parts: Self::Parts) -> Self::Grad {
                ($($t::assemble(parts.$i),)+)
            }
        }

        impl<$($g, $t: AddGrad<$g>),+> AddGrad<($($g,)+)> for ($($t,)+) {
            fn add_grad(&mut self, grad: ($($g,)+)) {
                $(self.$i.add_grad(grad.$i);)+
            }
        }
    };
}

impl_tuple_parts!(A GA 0);
impl_tuple_parts!(A GA 0, B GB 1);
impl_tuple_parts!(A GA 0, B GB 1, C GC 2);
impl_tuple_parts!(A GA 0, B GB 1, C GC 2, D GD 3);
impl_tuple_parts!(A GA 0, B GB 1, C GC 2, D GD 3, F GF 4);
impl_tuple_parts!(A GA 0, B GB 1, C GC 2, D GD 3, F GF 4, G GG 5);
impl_tuple_parts!(A GA 0, B GB 1, C GC 2, D GD 3, F GF 4, G GG 5, H GH 6);
impl_tuple_parts!(A GA 0, B GB 1, C GC 2, D GD 3, F GF 4, G GG 5, H GH 6, I GI 7);

impl<T: GradParts, const N: usize> GradParts for [T; N] {
    type Parts = [T::Parts; N];
    fn grad_parts(&self) -> Self::Parts {
        core::array::from_fn(|i| self[i].grad_parts())
    }
    fn assemble(parts: Self::Parts) -> Self::Grad {
        parts.map(T::assemble)
    }
}

impl<G, P: AddGrad<G>, const N: usize> AddGrad<[G; N]> for [P; N] {
    fn add_grad(&mut self, grad: [G; N]) {
        for (part, grad) in self.iter_mut().zip(grad) {
            part.add_grad(grad);
        }
    }
}

impl<T: GradParts> GradParts for Option<T> {
    type Parts = Option<T::Parts>;
    fn grad_parts(&self) -> Self::Parts {
        self.as_ref().map(GradParts::grad_parts)
    }
    fn assemble(parts: Self::Parts) -> Self::Grad {
        parts.map(T::assemble)
    }
}

impl<G, P: AddGrad<G>> AddGrad<Option<G>> for Option<P> {
    /// Adds a present gradient into present parts. A gradient of `None` (an
    /// absent sub-module) adds nothing.
    #[track_caller]
    fn add_grad(&mut self, grad: Option<G>) {
        match (self, grad) {
            (Some(part), Some(grad)) => part.add_grad(grad),
            (None, Some(_)) => panic!("add_grad: a gradient for an absent optional value"),
            (_, None) => {}
        }
    }
}

/// Visits the elements of every tensor inside a value, in a fixed order.
///
/// Two values of the same type visit the same number of leaves with the same
/// lengths, in the same order; a model and its gradient struct visit in the
/// same order too.
pub trait Leaves<E: Float> {
    fn visit_leaves(&self, f: &mut dyn FnMut(&[E]));
    fn visit_leaves_mut(&mut self, f: &mut dyn FnMut(&mut [E]));

    /// The total number of elements over all leaves.
    fn leaf_numel(&self) -> usize {
        let mut n = 0;
        self.visit_leaves(&mut |x| n += x.len());
        n
    }

    /// Multiplies every element by `factor`.
    fn scale(&mut self, factor: E) {
        self.visit_leaves_mut(&mut |x| x.iter_mut().for_each(|v| *v *= factor));
    }

    /// Sets every element to zero.
    fn fill_zero(&mut self) {
        self.visit_leaves_mut(&mut |x| x.fill(E::ZERO));
    }
}

/// The slot of a pullback tuple for an argument that has no gradient (an
/// integer exponent, a class index). Generated code never calls it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoGrad;

impl<S: Shape, E: Float, D: Storage<S, E>> Differentiable for Tensor<S, E, D> {
    type Grad = Self;

    fn zero_grad(&self) -> Self {
        self.zeros_like()
    }
}

impl<S: Shape, E: Float, D: Storage<S, E>> Accumulate for Tensor<S, E, D> {
    #[track_caller]
    fn accumulate(&mut self, other: Self) {
        self.check_same_shape("accumulate", &other);
        for (a, b) in self.as_mut_slice().iter_mut().zip(other.as_slice()) {
            *a += *b;
        }
    }
}

impl<S: Shape, E: Float, D: Storage<S, E>> Leaves<E> for Tensor<S, E, D> {
    fn visit_leaves(&self, f: &mut dyn FnMut(&[E])) {
        f(self.as_slice())
    }

    fn visit_leaves_mut(&mut self, f: &mut dyn FnMut(&mut [E])) {
        f(self.as_mut_slice())
    }
}

impl Differentiable for () {
    type Grad = ();
    fn zero_grad(&self) {}
}

impl Accumulate for () {
    fn accumulate(&mut self, _: ()) {}
}

impl<E: Float> Leaves<E> for () {
    fn visit_leaves(&self, _: &mut dyn FnMut(&[E])) {}
    fn visit_leaves_mut(&mut self, _: &mut dyn FnMut(&mut [E])) {}
}

macro_rules! impl_tuple {
    ($($t:ident $i:tt),+) => {
        impl<$($t: Differentiable),+> Differentiable for ($($t,)+) {
            type Grad = ($($t::Grad,)+);
            fn zero_grad(&self) -> Self::Grad {
                ($(self.$i.zero_grad(),)+)
            }
        }

        impl<$($t: Accumulate),+> Accumulate for ($($t,)+) {
            fn accumulate(&mut self, other: Self) {
                $(self.$i.accumulate(other.$i);)+
            }
        }

        impl<E: Float, $($t: Leaves<E>),+> Leaves<E> for ($($t,)+) {
            fn visit_leaves(&self, f: &mut dyn FnMut(&[E])) {
                $(self.$i.visit_leaves(f);)+
            }
            fn visit_leaves_mut(&mut self, f: &mut dyn FnMut(&mut [E])) {
                $(self.$i.visit_leaves_mut(f);)+
            }
        }
    };
}

impl_tuple!(A 0);
impl_tuple!(A 0, B 1);
impl_tuple!(A 0, B 1, C 2);
impl_tuple!(A 0, B 1, C 2, D 3);
impl_tuple!(A 0, B 1, C 2, D 3, F 4);
impl_tuple!(A 0, B 1, C 2, D 3, F 4, G 5);
impl_tuple!(A 0, B 1, C 2, D 3, F 4, G 5, H 6);
impl_tuple!(A 0, B 1, C 2, D 3, F 4, G 5, H 6, I 7);

impl<T: Differentiable, const N: usize> Differentiable for [T; N] {
    type Grad = [T::Grad; N];
    fn zero_grad(&self) -> Self::Grad {
        core::array::from_fn(|i| self[i].zero_grad())
    }
}

impl<T: Accumulate, const N: usize> Accumulate for [T; N] {
    fn accumulate(&mut self, other: Self) {
        for (a, b) in self.iter_mut().zip(other) {
            a.accumulate(b);
        }
    }
}

impl<E: Float, T: Leaves<E>, const N: usize> Leaves<E> for [T; N] {
    fn visit_leaves(&self, f: &mut dyn FnMut(&[E])) {
        self.iter().for_each(|x| x.visit_leaves(f));
    }
    fn visit_leaves_mut(&mut self, f: &mut dyn FnMut(&mut [E])) {
        self.iter_mut().for_each(|x| x.visit_leaves_mut(f));
    }
}

#[cfg(feature = "alloc")]
mod alloc_impls {
    use super::*;
    use alloc::vec::Vec;

    impl<T: Differentiable> Differentiable for Vec<T> {
        type Grad = Vec<T::Grad>;
        fn zero_grad(&self) -> Self::Grad {
            self.iter().map(Differentiable::zero_grad).collect()
        }
    }

    impl<T: Accumulate> Accumulate for Vec<T> {
        #[track_caller]
        fn accumulate(&mut self, other: Self) {
            assert_eq!(self.len(), other.len(), "accumulate: Vec lengths differ");
            for (a, b) in self.iter_mut().zip(other) {
                a.accumulate(b);
            }
        }
    }

    impl<T: GradParts> GradParts for Vec<T> {
        type Parts = Vec<T::Parts>;
        fn grad_parts(&self) -> Self::Parts {
            self.iter().map(GradParts::grad_parts).collect()
        }
        fn assemble(parts: Self::Parts) -> Self::Grad {
            parts.into_iter().map(T::assemble).collect()
        }
    }

    impl<G, P: AddGrad<G>> AddGrad<Vec<G>> for Vec<P> {
        #[track_caller]
        fn add_grad(&mut self, grad: Vec<G>) {
            assert_eq!(self.len(), grad.len(), "add_grad: Vec lengths differ");
            for (part, grad) in self.iter_mut().zip(grad) {
                part.add_grad(grad);
            }
        }
    }

    impl<E: Float, T: Leaves<E>> Leaves<E> for Vec<T> {
        fn visit_leaves(&self, f: &mut dyn FnMut(&[E])) {
            self.iter().for_each(|x| x.visit_leaves(f));
        }
        fn visit_leaves_mut(&mut self, f: &mut dyn FnMut(&mut [E])) {
            self.iter_mut().for_each(|x| x.visit_leaves_mut(f));
        }
    }
}

impl<T: Differentiable> Differentiable for Option<T> {
    type Grad = Option<T::Grad>;
    fn zero_grad(&self) -> Self::Grad {
        self.as_ref().map(Differentiable::zero_grad)
    }
}

impl<T: Accumulate> Accumulate for Option<T> {
    fn accumulate(&mut self, other: Self) {
        if let Some(g) = other {
            accumulate_into(self, g);
        }
    }
}

impl<E: Float, T: Leaves<E>> Leaves<E> for Option<T> {
    fn visit_leaves(&self, f: &mut dyn FnMut(&[E])) {
        if let Some(x) = self {
            x.visit_leaves(f);
        }
    }
    fn visit_leaves_mut(&mut self, f: &mut dyn FnMut(&mut [E])) {
        if let Some(x) = self {
            x.visit_leaves_mut(f);
        }
    }
}
