//! Elementwise arithmetic: `-x`, `a + b`, `a - b`, `a * b`, `a / b`, between
//! two tensors of the same shape type or a tensor and a scalar.
//!
//! There is no implicit broadcasting: both tensor operands have the same
//! shape type, so `[N]` against `[N, 1]` does not compile. Use `broadcast`
//! to repeat a tensor along new axes explicitly.

use core::ops::{Add, Div, Mul, Neg, Sub};

use crate::device::Storage;
use crate::grad::Differentiable;
use crate::shape::Shape;
use crate::tensor::Tensor;
use crate::Float;

/// The VJP form of `a + b`, which `#[differentiable]` calls for `+`.
#[diagnostic::on_unimplemented(
    message = "cannot add `{Rhs}` to `{Self}` in a differentiable function",
    label = "no `+` between these operand types",
    note = "both tensors must have the same shape type (no implicit broadcasting); \
            call `.broadcast()` to repeat a tensor along new axes"
)]
pub trait AddVjp<Rhs: Differentiable = Self>: Differentiable {
    type Output: Differentiable;

    #[allow(clippy::type_complexity)]
    fn add_vjp(
        &self,
        rhs: &Rhs,
    ) -> (
        Self::Output,
        (
            impl FnOnce(<Self::Output as Differentiable>::Grad) -> Self::Grad + use<Self, Rhs>,
            impl FnOnce(<Self::Output as Differentiable>::Grad) -> Rhs::Grad + use<Self, Rhs>,
        ),
    );
}

/// The VJP form of `a - b`, which `#[differentiable]` calls for `-`.
#[diagnostic::on_unimplemented(
    message = "cannot subtract `{Rhs}` from `{Self}` in a differentiable function",
    label = "no `-` between these operand types",
    note = "both tensors must have the same shape type (no implicit broadcasting); \
            call `.broadcast()` to repeat a tensor along new axes"
)]
pub trait SubVjp<Rhs: Differentiable = Self>: Differentiable {
    type Output: Differentiable;

    #[allow(clippy::type_complexity)]
    fn sub_vjp(
        &self,
        rhs: &Rhs,
    ) -> (
        Self::Output,
        (
            impl FnOnce(<Self::Output as Differentiable>::Grad) -> Self::Grad + use<Self, Rhs>,
            impl FnOnce(<Self::Output as Differentiable>::Grad) -> Rhs::Grad + use<Self, Rhs>,
        ),
    );
}

/// The VJP form of `a * b` (elementwise), which `#[differentiable]` calls
/// for `*`.
#[diagnostic::on_unimplemented(
    message = "cannot multiply `{Self}` by `{Rhs}` elementwise in a differentiable function",
    label = "no `*` between these operand types",
    note = "`*` is elementwise and needs the same shape type on both sides; \
            use `.matmul()` for a matrix product"
)]
pub trait MulVjp<Rhs: Differentiable = Self>: Differentiable {
    type Output: Differentiable;

    #[allow(clippy::type_complexity)]
    fn mul_vjp(
        &self,
        rhs: &Rhs,
    ) -> (
        Self::Output,
        (
            impl FnOnce(<Self::Output as Differentiable>::Grad) -> Self::Grad + use<Self, Rhs>,
            impl FnOnce(<Self::Output as Differentiable>::Grad) -> Rhs::Grad + use<Self, Rhs>,
        ),
    );
}

/// The VJP form of `a / b` (elementwise), which `#[differentiable]` calls
/// for `/`.
#[diagnostic::on_unimplemented(
    message = "cannot divide `{Self}` by `{Rhs}` in a differentiable function",
    label = "no `/` between these operand types",
    note = "both tensors must have the same shape type (no implicit broadcasting)"
)]
pub trait DivVjp<Rhs: Differentiable = Self>: Differentiable {
    type Output: Differentiable;

    #[allow(clippy::type_complexity)]
    fn div_vjp(
        &self,
        rhs: &Rhs,
    ) -> (
        Self::Output,
        (
            impl FnOnce(<Self::Output as Differentiable>::Grad) -> Self::Grad + use<Self, Rhs>,
            impl FnOnce(<Self::Output as Differentiable>::Grad) -> Rhs::Grad + use<Self, Rhs>,
        ),
    );
}

/// The VJP form of `-x`, which `#[differentiable]` calls for unary minus.
#[diagnostic::on_unimplemented(
    message = "cannot negate `{Self}` in a differentiable function",
    label = "no unary `-` for this type"
)]
pub trait NegVjp: Differentiable {
    type Output: Differentiable;

    #[allow(clippy::type_complexity)]
    fn neg_vjp(
        &self,
    ) -> (
        Self::Output,
        (impl FnOnce(<Self::Output as Differentiable>::Grad) -> Self::Grad + use<Self>,),
    );
}

/// Plain floats are differentiable too: a scalar factor in `x * s` gets the
/// gradient `sum(dy * x)`.
macro_rules! impl_float_differentiable {
    ($($t:ty),*) => {$(
        impl Differentiable for $t {
            type Grad = $t;
            fn zero_grad(&self) -> $t {
                0.0
            }
        }

        impl crate::grad::GradParts for $t {
            type Parts = crate::grad::GradSlot<$t, ()>;
            fn grad_parts(&self) -> Self::Parts {
                crate::grad::GradSlot::new(())
            }
            fn assemble(parts: Self::Parts) -> $t {
                parts.into_grad(|()| 0.0)
            }
        }

        impl crate::grad::Accumulate for $t {
            fn accumulate(&mut self, other: $t) {
                *self += other;
            }
        }

        impl crate::grad::Leaves<$t> for $t {
            fn visit_leaves(&self, f: &mut dyn FnMut(&[$t])) {
                f(core::slice::from_ref(self))
            }
            fn visit_leaves_mut(&mut self, f: &mut dyn FnMut(&mut [$t])) {
                f(core::slice::from_mut(self))
            }
        }
    )*};
}

impl_float_differentiable!(f32, f64);

type T<S, E, D> = Tensor<S, E, D>;

impl<S: Shape, E: Float, D: Storage<S, E>> Tensor<S, E, D> {
    /// Combines `self` with `rhs` elementwise, writing into `self`'s buffer.
    #[track_caller]
    fn zip_assign(mut self, rhs: &Self, op: &str, f: impl Fn(E, E) -> E) -> Self {
        self.check_same_shape(op, rhs);
        for (a, &b) in self.as_mut_slice().iter_mut().zip(rhs.as_slice()) {
            *a = f(*a, b);
        }
        self
    }

    /// `Σ a·b` over all elements, as a plain float.
    fn dot_all(&self, other: &Self) -> E {
        self.as_slice().iter().zip(other.as_slice()).map(|(&a, &b)| a * b).sum()
    }
}

/// Operator impls for owned and borrowed operands, tensor-tensor and
/// tensor-scalar. `$f` combines two elements.
macro_rules! impl_binary_operator {
    ($trait:ident, $method:ident, $name:literal, $f:expr) => {
        impl<S: Shape, E: Float, D: Storage<S, E>> $trait<&T<S, E, D>> for T<S, E, D> {
            type Output = T<S, E, D>;
            #[track_caller]
            fn $method(self, rhs: &T<S, E, D>) -> T<S, E, D> {
                self.zip_assign(rhs, $name, $f)
            }
        }

        impl<S: Shape, E: Float, D: Storage<S, E>> $trait<T<S, E, D>> for T<S, E, D> {
            type Output = T<S, E, D>;
            #[track_caller]
            fn $method(self, rhs: T<S, E, D>) -> T<S, E, D> {
                self.zip_assign(&rhs, $name, $f)
            }
        }

        impl<S: Shape, E: Float, D: Storage<S, E>> $trait<&T<S, E, D>> for &T<S, E, D> {
            type Output = T<S, E, D>;
            #[track_caller]
            fn $method(self, rhs: &T<S, E, D>) -> T<S, E, D> {
                self.clone().zip_assign(rhs, $name, $f)
            }
        }

        impl<S: Shape, E: Float, D: Storage<S, E>> $trait<T<S, E, D>> for &T<S, E, D> {
            type Output = T<S, E, D>;
            #[track_caller]
            fn $method(self, rhs: T<S, E, D>) -> T<S, E, D> {
                self.clone().zip_assign(&rhs, $name, $f)
            }
        }

        impl<S: Shape, E: Float, D: Storage<S, E>> $trait<E> for T<S, E, D> {
            type Output = T<S, E, D>;
            fn $method(mut self, rhs: E) -> T<S, E, D> {
                self.map_inplace(|a| $f(a, rhs));
                self
            }
        }

        impl<S: Shape, E: Float, D: Storage<S, E>> $trait<E> for &T<S, E, D> {
            type Output = T<S, E, D>;
            fn $method(self, rhs: E) -> T<S, E, D> {
                self.map(|a| $f(a, rhs))
            }
        }

        impl_binary_operator!(@scalar_lhs $trait, $method, $f, f32);
        impl_binary_operator!(@scalar_lhs $trait, $method, $f, f64);
    };
    (@scalar_lhs $trait:ident, $method:ident, $f:expr, $e:ty) => {
        impl<S: Shape, D: Storage<S, $e>> $trait<T<S, $e, D>> for $e {
            type Output = T<S, $e, D>;
            fn $method(self, mut rhs: T<S, $e, D>) -> T<S, $e, D> {
                rhs.map_inplace(|b| $f(self, b));
                rhs
            }
        }

        impl<S: Shape, D: Storage<S, $e>> $trait<&T<S, $e, D>> for $e {
            type Output = T<S, $e, D>;
            fn $method(self, rhs: &T<S, $e, D>) -> T<S, $e, D> {
                rhs.map(|b| $f(self, b))
            }
        }
    };
}

impl_binary_operator!(Add, add, "add", |a, b| a + b);
impl_binary_operator!(Sub, sub, "sub", |a, b| a - b);
impl_binary_operator!(Mul, mul, "mul", |a, b| a * b);
impl_binary_operator!(Div, div, "div", |a, b| a / b);

impl<S: Shape, E: Float, D: Storage<S, E>> Neg for T<S, E, D> {
    type Output = T<S, E, D>;
    fn neg(mut self) -> T<S, E, D> {
        self.map_inplace(|a| -a);
        self
    }
}

impl<S: Shape, E: Float, D: Storage<S, E>> Neg for &T<S, E, D> {
    type Output = T<S, E, D>;
    fn neg(self) -> T<S, E, D> {
        self.map(|a| -a)
    }
}

impl<S: Shape, E: Float, D: Storage<S, E>> NegVjp for T<S, E, D> {
    type Output = Self;

    fn neg_vjp(&self) -> (Self, (impl FnOnce(Self) -> Self + use<S, E, D>,)) {
        (-self, (|grad: Self| -grad,))
    }
}

// d(a + b) = da + db
impl<S: Shape, E: Float, D: Storage<S, E>> AddVjp for T<S, E, D> {
    type Output = Self;

    fn add_vjp(&self, rhs: &Self) -> (Self, (impl FnOnce(Self) -> Self + use<S, E, D>, impl FnOnce(Self) -> Self + use<S, E, D>)) {
        (self + rhs, (|grad| grad, |grad| grad))
    }
}

// d(a - b) = da - db
impl<S: Shape, E: Float, D: Storage<S, E>> SubVjp for T<S, E, D> {
    type Output = Self;

    fn sub_vjp(&self, rhs: &Self) -> (Self, (impl FnOnce(Self) -> Self + use<S, E, D>, impl FnOnce(Self) -> Self + use<S, E, D>)) {
        (self - rhs, (|grad| grad, |grad: Self| -grad))
    }
}

// d(a · b) = b · da + a · db
impl<S: Shape, E: Float, D: Storage<S, E>> MulVjp for T<S, E, D> {
    type Output = Self;

    fn mul_vjp(&self, rhs: &Self) -> (Self, (impl FnOnce(Self) -> Self + use<S, E, D>, impl FnOnce(Self) -> Self + use<S, E, D>)) {
        let (a, b) = (self.clone(), rhs.clone());
        (self * rhs, (move |grad| grad * &b, move |grad| grad * &a))
    }
}

// d(a / b) = da / b - a · db / b²
impl<S: Shape, E: Float, D: Storage<S, E>> DivVjp for T<S, E, D> {
    type Output = Self;

    fn div_vjp(&self, rhs: &Self) -> (Self, (impl FnOnce(Self) -> Self + use<S, E, D>, impl FnOnce(Self) -> Self + use<S, E, D>)) {
        let (a, b) = (self.clone(), rhs.clone());
        let b_for_lhs = rhs.clone();
        let pullback_rhs = move |grad: Self| {
            grad.check_same_shape("div pullback", &a);
            let (xa, xb) = (a.as_slice(), b.as_slice());
            let mut grad = grad;
            for (i, g) in grad.as_mut_slice().iter_mut().enumerate() {
                *g = -*g * xa[i] / (xb[i] * xb[i]);
            }
            grad
        };
        (self / rhs, (move |grad| grad / &b_for_lhs, pullback_rhs))
    }
}

/// Tensor-scalar and scalar-tensor rules. The scalar's gradient is the sum
/// over the tensor, since the scalar touches every element.
macro_rules! impl_scalar_vjp {
    ($e:ty) => {
        impl<S: Shape, D: Storage<S, $e>> AddVjp<$e> for T<S, $e, D> {
            type Output = Self;
            fn add_vjp(&self, rhs: &$e) -> (Self, (impl FnOnce(Self) -> Self + use<S, D>, impl FnOnce(Self) -> $e + use<S, D>)) {
                (self + *rhs, (|grad| grad, |grad: Self| grad.as_slice().iter().sum()))
            }
        }

        impl<S: Shape, D: Storage<S, $e>> AddVjp<T<S, $e, D>> for $e {
            type Output = T<S, $e, D>;
            fn add_vjp(&self, rhs: &T<S, $e, D>) -> (T<S, $e, D>, (impl FnOnce(T<S, $e, D>) -> $e + use<S, D>, impl FnOnce(T<S, $e, D>) -> T<S, $e, D> + use<S, D>)) {
                (*self + rhs, (|grad: T<S, $e, D>| grad.as_slice().iter().sum(), |grad| grad))
            }
        }

        impl<S: Shape, D: Storage<S, $e>> SubVjp<$e> for T<S, $e, D> {
            type Output = Self;
            fn sub_vjp(&self, rhs: &$e) -> (Self, (impl FnOnce(Self) -> Self + use<S, D>, impl FnOnce(Self) -> $e + use<S, D>)) {
                (self - *rhs, (|grad| grad, |grad: Self| -grad.as_slice().iter().sum::<$e>()))
            }
        }

        impl<S: Shape, D: Storage<S, $e>> SubVjp<T<S, $e, D>> for $e {
            type Output = T<S, $e, D>;
            fn sub_vjp(&self, rhs: &T<S, $e, D>) -> (T<S, $e, D>, (impl FnOnce(T<S, $e, D>) -> $e + use<S, D>, impl FnOnce(T<S, $e, D>) -> T<S, $e, D> + use<S, D>)) {
                (*self - rhs, (|grad: T<S, $e, D>| grad.as_slice().iter().sum(), |grad: T<S, $e, D>| -grad))
            }
        }

        impl<S: Shape, D: Storage<S, $e>> MulVjp<$e> for T<S, $e, D> {
            type Output = Self;
            fn mul_vjp(&self, rhs: &$e) -> (Self, (impl FnOnce(Self) -> Self + use<S, D>, impl FnOnce(Self) -> $e + use<S, D>)) {
                let (x, s) = (self.clone(), *rhs);
                (self * s, (move |grad| grad * s, move |grad: Self| grad.dot_all(&x)))
            }
        }

        impl<S: Shape, D: Storage<S, $e>> MulVjp<T<S, $e, D>> for $e {
            type Output = T<S, $e, D>;
            fn mul_vjp(&self, rhs: &T<S, $e, D>) -> (T<S, $e, D>, (impl FnOnce(T<S, $e, D>) -> $e + use<S, D>, impl FnOnce(T<S, $e, D>) -> T<S, $e, D> + use<S, D>)) {
                let (x, s) = (rhs.clone(), *self);
                (s * rhs, (move |grad: T<S, $e, D>| grad.dot_all(&x), move |grad| grad * s))
            }
        }

        // d(x / s) = dx / s - x · ds / s²
        impl<S: Shape, D: Storage<S, $e>> DivVjp<$e> for T<S, $e, D> {
            type Output = Self;
            fn div_vjp(&self, rhs: &$e) -> (Self, (impl FnOnce(Self) -> Self + use<S, D>, impl FnOnce(Self) -> $e + use<S, D>)) {
                let (x, s) = (self.clone(), *rhs);
                (self / s, (move |grad| grad / s, move |grad: Self| -grad.dot_all(&x) / (s * s)))
            }
        }

        // d(s / x) = ds / x - s · dx / x²
        impl<S: Shape, D: Storage<S, $e>> DivVjp<T<S, $e, D>> for $e {
            type Output = T<S, $e, D>;
            fn div_vjp(&self, rhs: &T<S, $e, D>) -> (T<S, $e, D>, (impl FnOnce(T<S, $e, D>) -> $e + use<S, D>, impl FnOnce(T<S, $e, D>) -> T<S, $e, D> + use<S, D>)) {
                let (x, s) = (rhs.clone(), *self);
                let x_for_rhs = rhs.clone();
                let pullback_rhs = move |grad: T<S, $e, D>| {
                    grad.zip_assign(&x_for_rhs, "div pullback", |g, x| -g * s / (x * x))
                };
                (s / rhs, (move |grad: T<S, $e, D>| grad.as_slice().iter().zip(x.as_slice()).map(|(&g, &x)| g / x).sum(), pullback_rhs))
            }
        }
    };
}

impl_scalar_vjp!(f32);
impl_scalar_vjp!(f64);
