//! The element types a tensor can hold: `f32` and `f64`.
//!
//! Math goes through `libm` so the same code builds with and without `std`.

use core::fmt::{Debug, Display, LowerExp};
use core::iter::Sum;
use core::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

/// A floating-point element type, implemented for `f32` and `f64`.
pub trait Float:
    Copy
    + Default
    + Debug
    + Display
    + LowerExp
    + PartialEq
    + PartialOrd
    + Send
    + Sync
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Sum
{
    /// The type's name as PyTorch prints it (`float32`, `float64`).
    const DTYPE: &'static str;
    /// The safetensors dtype code (`F32`, `F64`).
    const SAFETENSORS_DTYPE: &'static str;
    const ZERO: Self;
    const ONE: Self;
    const INFINITY: Self;
    const NEG_INFINITY: Self;
    const EPSILON: Self;

    /// Converts from `f64`, rounding to nearest for `f32`.
    fn from_f64(x: f64) -> Self;
    fn to_f64(self) -> f64;
    fn from_usize(n: usize) -> Self {
        Self::from_f64(n as f64)
    }

    fn exp(self) -> Self;

    /// Replaces every element `x` of `xs` with `eˣ`.
    ///
    /// For `f32` this runs a vectorised exponential of this crate, within
    /// 2 ulp of the exact value. For `f64` it calls [`exp`](Self::exp) on
    /// each element.
    fn exp_in_place(xs: &mut [Self]) {
        for x in xs {
            *x = x.exp();
        }
    }
    fn ln(self) -> Self;

    /// Replaces every element `x` of `xs` with `ln x`.
    ///
    /// For `f32` this runs a vectorised logarithm of this crate, within 2 ulp
    /// of the exact value. For `f64` it calls [`ln`](Self::ln) on each
    /// element.
    fn ln_in_place(xs: &mut [Self]) {
        for x in xs {
            *x = x.ln();
        }
    }
    fn ln_1p(self) -> Self;
    fn exp_m1(self) -> Self;
    fn sqrt(self) -> Self;
    fn powf(self, p: Self) -> Self;
    fn powi(self, n: i32) -> Self;
    fn abs(self) -> Self;
    fn sin(self) -> Self;
    fn cos(self) -> Self;
    fn tanh(self) -> Self;
    fn erf(self) -> Self;
    fn floor(self) -> Self;
    fn is_nan(self) -> bool;
    fn is_finite(self) -> bool;

    /// The larger of two values; NaN if either is NaN, as `torch.maximum`.
    fn max(self, other: Self) -> Self {
        if self.is_nan() || other.is_nan() {
            return self + other;
        }
        if self >= other {
            self
        } else {
            other
        }
    }

    /// The smaller of two values; NaN if either is NaN, as `torch.minimum`.
    fn min(self, other: Self) -> Self {
        if self.is_nan() || other.is_nan() {
            return self + other;
        }
        if self <= other {
            self
        } else {
            other
        }
    }

    /// Matrix product `c = alpha * a * b + beta * c` over row- or
    /// column-strided slices; see [`crate::gemm`].
    #[allow(clippy::too_many_arguments)]
    fn gemm(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: &[Self],
        a_strides: [usize; 2],
        b: &[Self],
        b_strides: [usize; 2],
        beta: Self,
        c: &mut [Self],
        c_row_stride: usize,
    );

    /// Matrix product `c = a * b` into an `m × n` row-major output that
    /// may be uninitialised; every element of `c` is written.
    ///
    /// # Panics
    ///
    /// Panics if `c` does not have `m · n` elements or an operand is too
    /// short for its dimensions and strides.
    #[allow(clippy::too_many_arguments)]
    fn gemm_uninit(
        m: usize,
        k: usize,
        n: usize,
        a: &[Self],
        a_strides: [usize; 2],
        b: &[Self],
        b_strides: [usize; 2],
        c: &mut [core::mem::MaybeUninit<Self>],
    );
}

macro_rules! impl_float {
    ($t:ident, $dtype:literal, $st:literal, $suffix:ident, $mm:ident) => {
        impl Float for $t {
            const DTYPE: &'static str = $dtype;
            const SAFETENSORS_DTYPE: &'static str = $st;
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const INFINITY: Self = $t::INFINITY;
            const NEG_INFINITY: Self = $t::NEG_INFINITY;
            const EPSILON: Self = $t::EPSILON;

            fn from_f64(x: f64) -> Self {
                x as $t
            }
            fn to_f64(self) -> f64 {
                self as f64
            }
            fn exp(self) -> Self {
                impl_float!(@libm $suffix exp)(self)
            }
            impl_float!(@exp_in_place $suffix);
            fn ln(self) -> Self {
                impl_float!(@libm $suffix log)(self)
            }
            fn ln_1p(self) -> Self {
                impl_float!(@libm $suffix log1p)(self)
            }
            fn exp_m1(self) -> Self {
                impl_float!(@libm $suffix expm1)(self)
            }
            fn sqrt(self) -> Self {
                // Both round correctly, so they agree bit for bit. std's is
                // an LLVM intrinsic, which loops over slices can vectorise.
                #[cfg(feature = "std")]
                return <$t>::sqrt(self);
                #[cfg(not(feature = "std"))]
                return impl_float!(@libm $suffix sqrt)(self);
            }
            fn powf(self, p: Self) -> Self {
                impl_float!(@libm $suffix pow)(self, p)
            }
            fn powi(self, n: i32) -> Self {
                // Exponentiation by squaring keeps integer powers exact for
                // negative bases, which `pow` with a float exponent also does,
                // but this avoids the libm call.
                let mut base = if n < 0 { 1.0 / self } else { self };
                let mut e = n.unsigned_abs();
                let mut acc: $t = 1.0;
                while e > 0 {
                    if e & 1 == 1 {
                        acc *= base;
                    }
                    base *= base;
                    e >>= 1;
                }
                acc
            }
            fn abs(self) -> Self {
                impl_float!(@libm $suffix fabs)(self)
            }
            fn sin(self) -> Self {
                impl_float!(@libm $suffix sin)(self)
            }
            fn cos(self) -> Self {
                impl_float!(@libm $suffix cos)(self)
            }
            fn tanh(self) -> Self {
                impl_float!(@libm $suffix tanh)(self)
            }
            fn erf(self) -> Self {
                impl_float!(@libm $suffix erf)(self)
            }
            fn floor(self) -> Self {
                impl_float!(@libm $suffix floor)(self)
            }
            fn is_nan(self) -> bool {
                $t::is_nan(self)
            }
            fn is_finite(self) -> bool {
                $t::is_finite(self)
            }

            fn gemm(
                m: usize,
                k: usize,
                n: usize,
                alpha: Self,
                a: &[Self],
                a_strides: [usize; 2],
                b: &[Self],
                b_strides: [usize; 2],
                beta: Self,
                c: &mut [Self],
                c_row_stride: usize,
            ) {
                crate::gemm::$mm(m, k, n, alpha, a, a_strides, b, b_strides, beta, c, c_row_stride)
            }

            fn gemm_uninit(
                m: usize,
                k: usize,
                n: usize,
                a: &[Self],
                a_strides: [usize; 2],
                b: &[Self],
                b_strides: [usize; 2],
                c: &mut [core::mem::MaybeUninit<Self>],
            ) {
                crate::gemm::gemm_uninit(m, k, n, a, a_strides, b, b_strides, c)
            }
        }
    };
    (@exp_in_place f32) => {
        fn exp_in_place(xs: &mut [Self]) {
            crate::math_f32::exp_in_place(xs)
        }

        fn ln_in_place(xs: &mut [Self]) {
            crate::math_f32::ln_in_place(xs)
        }
    };
    (@exp_in_place f64) => {};
    (@libm f32 $f:ident) => { paste_f32!($f) };
    (@libm f64 $f:ident) => { libm::$f };
}

macro_rules! paste_f32 {
    (exp) => { libm::expf };
    (log) => { libm::logf };
    (log1p) => { libm::log1pf };
    (expm1) => { libm::expm1f };
    (sqrt) => { libm::sqrtf };
    (pow) => { libm::powf };
    (fabs) => { libm::fabsf };
    (sin) => { libm::sinf };
    (cos) => { libm::cosf };
    (tanh) => { libm::tanhf };
    (erf) => { libm::erff };
    (floor) => { libm::floorf };
}

impl_float!(f32, "float32", "F32", f32, gemm_f32);
impl_float!(f64, "float64", "F64", f64, gemm_f64);
