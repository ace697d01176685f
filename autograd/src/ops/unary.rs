//! Elementwise unary ops: every output element depends on the input element
//! at the same position only, so the output has the input's shape and the
//! pullback multiplies the cotangent by the derivative elementwise.
//!
//! | method | formula | PyTorch |
//! |---|---|---|
//! | `exp` | `eˣ` | `torch.exp` |
//! | `ln` | `ln x` | `torch.log` |
//! | `log1p` | `ln(1 + x)` | `torch.log1p` |
//! | `sqrt` | `√x` | `torch.sqrt` |
//! | `square` | `x²` | `torch.square` |
//! | `powf(p)` | `xᵖ` | `torch.pow(x, p)` |
//! | `powi(n)` | `xⁿ` | `torch.pow(x, n)` |
//! | `abs` | absolute value | `torch.abs` |
//! | `sin`, `cos`, `tanh` | in radians | `torch.sin`, `torch.cos`, `torch.tanh` |
//! | `sigmoid` | `1 / (1 + e⁻ˣ)` | `torch.sigmoid` |
//! | `relu` | `max(x, 0)` | `torch.relu` |
//! | `leaky_relu(s)` | `x` if `x > 0`, else `s·x` | `F.leaky_relu` |
//! | `elu(α)` | `x` if `x > 0`, else `α(eˣ - 1)` | `F.elu` |
//! | `silu` | `x · sigmoid(x)` | `F.silu` |
//! | `softplus` | `ln(1 + eˣ)` | `F.softplus` (`beta=1`, `threshold=20`) |
//! | `gelu` | `x · Φ(x)` | `F.gelu` |
//! | `gelu_tanh` | tanh approximation of `gelu` | `F.gelu(approximate='tanh')` |
//!
//! Scalar arguments (`p`, `n`, `s`, `α`) are constants: their slot in the
//! pullback tuple is [`NoGrad`].

use super::unary_vjp;
use crate::device::Storage;
use crate::grad::NoGrad;
use crate::shape::Shape;
use crate::tensor::Tensor;
use crate::Float;

impl<S: Shape, E: Float, D: Storage<S, E>> Tensor<S, E, D> {
    /// `eˣ`, elementwise; PyTorch `torch.exp`.
    pub fn exp(&self) -> Self {
        self.map(E::exp)
    }

    /// VJP of [`exp`](Self::exp): `dx = dy · eˣ`, reusing the output.
    #[allow(clippy::type_complexity)]
    pub fn exp_vjp(&self) -> (Self, (impl FnOnce(Self) -> Self,)) {
        unary_vjp(self, E::exp, |_, y| y)
    }

    /// The natural logarithm `ln x`, elementwise; PyTorch `torch.log`.
    ///
    /// `ln 0 = -∞` and a negative `x` gives NaN, as in PyTorch.
    pub fn ln(&self) -> Self {
        self.map(E::ln)
    }

    /// VJP of [`ln`](Self::ln): `dx = dy / x`.
    #[allow(clippy::type_complexity)]
    pub fn ln_vjp(&self) -> (Self, (impl FnOnce(Self) -> Self,)) {
        unary_vjp(self, E::ln, |x, _| E::ONE / x)
    }

    /// `ln(1 + x)`, elementwise, accurate for small `x`; PyTorch `torch.log1p`.
    pub fn log1p(&self) -> Self {
        self.map(E::ln_1p)
    }

    /// VJP of [`log1p`](Self::log1p): `dx = dy / (1 + x)`.
    #[allow(clippy::type_complexity)]
    pub fn log1p_vjp(&self) -> (Self, (impl FnOnce(Self) -> Self,)) {
        unary_vjp(self, E::ln_1p, |x, _| E::ONE / (E::ONE + x))
    }

    /// `√x`, elementwise; PyTorch `torch.sqrt`.
    pub fn sqrt(&self) -> Self {
        self.map(E::sqrt)
    }

    /// VJP of [`sqrt`](Self::sqrt): `dx = dy / (2√x)`.
    ///
    /// At `x = 0` the derivative is `+∞`, as in PyTorch, so a nonzero
    /// cotangent gives an infinite gradient and a zero cotangent gives NaN.
    #[allow(clippy::type_complexity)]
    pub fn sqrt_vjp(&self) -> (Self, (impl FnOnce(Self) -> Self,)) {
        unary_vjp(self, E::sqrt, |_, y| E::ONE / (y + y))
    }

    /// `x²`, elementwise; PyTorch `torch.square`.
    pub fn square(&self) -> Self {
        self.map(|x| x * x)
    }

    /// VJP of [`square`](Self::square): `dx = dy · 2x`.
    #[allow(clippy::type_complexity)]
    pub fn square_vjp(&self) -> (Self, (impl FnOnce(Self) -> Self,)) {
        unary_vjp(self, |x| x * x, |x, _| x + x)
    }

    /// `xᵖ` for a constant float exponent, elementwise; PyTorch
    /// `torch.pow(x, p)`.
    ///
    /// A negative `x` with a non-integer `p` gives NaN.
    pub fn powf(&self, p: E) -> Self {
        self.map(|x| x.powf(p))
    }

    /// VJP of [`powf`](Self::powf): `dx = dy · p·xᵖ⁻¹`; the exponent gets
    /// no gradient.
    ///
    /// For `p = 0` the gradient is 0 everywhere, including at `x = 0` where
    /// `p·xᵖ⁻¹` would be `0 · ∞`, because PyTorch masks this case the same
    /// way. For `0 < p < 1` the derivative at `x = 0` is `+∞`, as for
    /// [`sqrt_vjp`](Self::sqrt_vjp).
    #[allow(clippy::type_complexity)]
    pub fn powf_vjp(&self, p: E) -> (Self, (impl FnOnce(Self) -> Self, NoGrad)) {
        let df = move |x: E, _| {
            if p == E::ZERO {
                E::ZERO
            } else {
                p * x.powf(p - E::ONE)
            }
        };
        let (y, (pullback,)) = unary_vjp(self, move |x| x.powf(p), df);
        (y, (pullback, NoGrad))
    }

    /// `xⁿ` for a constant integer exponent, elementwise; PyTorch
    /// `torch.pow(x, n)`.
    ///
    /// Computed by repeated squaring, so a negative `x` is fine.
    pub fn powi(&self, n: i32) -> Self {
        self.map(|x| x.powi(n))
    }

    /// VJP of [`powi`](Self::powi): `dx = dy · n·xⁿ⁻¹`; the exponent gets no
    /// gradient. For `n = 0` the gradient is 0 everywhere, as for
    /// [`powf_vjp`](Self::powf_vjp).
    #[allow(clippy::type_complexity)]
    pub fn powi_vjp(&self, n: i32) -> (Self, (impl FnOnce(Self) -> Self, NoGrad)) {
        let (y, (pullback,)) = unary_vjp(
            self,
            move |x| x.powi(n),
            move |x, _| scalar::powi_derivative(x, n),
        );
        (y, (pullback, NoGrad))
    }

    /// `|x|`, elementwise; PyTorch `torch.abs`.
    pub fn abs(&self) -> Self {
        self.map(E::abs)
    }

    /// VJP of [`abs`](Self::abs): `dx = dy · sign(x)`, with `sign(0) = 0`
    /// as in PyTorch, so the gradient at 0 is 0.
    #[allow(clippy::type_complexity)]
    pub fn abs_vjp(&self) -> (Self, (impl FnOnce(Self) -> Self,)) {
        unary_vjp(self, E::abs, |x, _| scalar::sign(x))
    }

    /// `sin x`, elementwise, in radians; PyTorch `torch.sin`.
    pub fn sin(&self) -> Self {
        self.map(E::sin)
    }

    /// VJP of [`sin`](Self::sin): `dx = dy · cos x`.
    #[allow(clippy::type_complexity)]
    pub fn sin_vjp(&self) -> (Self, (impl FnOnce(Self) -> Self,)) {
        unary_vjp(self, E::sin, |x, _| x.cos())
    }

    /// `cos x`, elementwise, in radians; PyTorch `torch.cos`.
    pub fn cos(&self) -> Self {
        self.map(E::cos)
    }

    /// VJP of [`cos`](Self::cos): `dx = -dy · sin x`.
    #[allow(clippy::type_complexity)]
    pub fn cos_vjp(&self) -> (Self, (impl FnOnce(Self) -> Self,)) {
        unary_vjp(self, E::cos, |x, _| -x.sin())
    }

    /// `tanh x`, elementwise; PyTorch `torch.tanh`. Saturates to `±1`
    /// without overflow for large `|x|`.
    pub fn tanh(&self) -> Self {
        self.map(E::tanh)
    }

    /// VJP of [`tanh`](Self::tanh): `dx = dy · (1 - y²)`, reusing the output.
    #[allow(clippy::type_complexity)]
    pub fn tanh_vjp(&self) -> (Self, (impl FnOnce(Self) -> Self,)) {
        unary_vjp(self, E::tanh, |_, y| E::ONE - y * y)
    }

    /// The logistic function `1 / (1 + e⁻ˣ)`, elementwise; PyTorch
    /// `torch.sigmoid`.
    ///
    /// For `x < 0` it computes `eˣ / (1 + eˣ)`, so no intermediate overflows
    /// to infinity, and both tails saturate to exactly 0 and 1.
    pub fn sigmoid(&self) -> Self {
        self.map(scalar::sigmoid)
    }

    /// VJP of [`sigmoid`](Self::sigmoid): `dx = dy · y(1 - y)`, reusing the
    /// output, which is 0 (not NaN) where the sigmoid saturates.
    #[allow(clippy::type_complexity)]
    pub fn sigmoid_vjp(&self) -> (Self, (impl FnOnce(Self) -> Self,)) {
        unary_vjp(self, scalar::sigmoid, |_, y| y * (E::ONE - y))
    }

    /// `max(x, 0)`, elementwise; PyTorch `torch.relu`. NaN stays NaN.
    pub fn relu(&self) -> Self {
        self.map(|x| x.max(E::ZERO))
    }

    /// VJP of [`relu`](Self::relu): `dx = dy` where `x > 0`, else 0. The
    /// gradient at 0 is 0, as in PyTorch.
    #[allow(clippy::type_complexity)]
    pub fn relu_vjp(&self) -> (Self, (impl FnOnce(Self) -> Self,)) {
        unary_vjp(self, |x| x.max(E::ZERO), |x, _| scalar::step(x, E::ZERO))
    }

    /// `x` where `x > 0`, else `negative_slope · x`, elementwise; PyTorch
    /// `F.leaky_relu` (whose default `negative_slope` is 0.01).
    pub fn leaky_relu(&self, negative_slope: E) -> Self {
        self.map(|x| scalar::leaky_relu(x, negative_slope))
    }

    /// VJP of [`leaky_relu`](Self::leaky_relu): `dx = dy` where `x > 0`,
    /// else `dy · negative_slope`. At 0 the gradient is `negative_slope`, as
    /// in PyTorch. The slope gets no gradient.
    #[allow(clippy::type_complexity)]
    pub fn leaky_relu_vjp(&self, negative_slope: E) -> (Self, (impl FnOnce(Self) -> Self, NoGrad)) {
        let f = move |x| scalar::leaky_relu(x, negative_slope);
        let df = move |x, _| scalar::step(x, negative_slope);
        let (y, (pullback,)) = unary_vjp(self, f, df);
        (y, (pullback, NoGrad))
    }

    /// `x` where `x > 0`, else `alpha · (eˣ - 1)`, elementwise; PyTorch
    /// `F.elu` (whose default `alpha` is 1).
    pub fn elu(&self, alpha: E) -> Self {
        self.map(|x| scalar::elu(x, alpha))
    }

    /// VJP of [`elu`](Self::elu): `dx = dy` where `x > 0`, else
    /// `dy · alpha · eˣ`. At 0 the gradient is `alpha`, as in PyTorch. The
    /// `alpha` gets no gradient.
    #[allow(clippy::type_complexity)]
    pub fn elu_vjp(&self, alpha: E) -> (Self, (impl FnOnce(Self) -> Self, NoGrad)) {
        let f = move |x| scalar::elu(x, alpha);
        let df = move |x: E, _| if x > E::ZERO { E::ONE } else { alpha * x.exp() };
        let (y, (pullback,)) = unary_vjp(self, f, df);
        (y, (pullback, NoGrad))
    }

    /// `x · sigmoid(x)`, elementwise; PyTorch `F.silu` (also called swish).
    pub fn silu(&self) -> Self {
        self.map(|x| x * scalar::sigmoid(x))
    }

    /// VJP of [`silu`](Self::silu): `dx = dy · s(1 + x(1 - s))` with
    /// `s = sigmoid(x)`.
    #[allow(clippy::type_complexity)]
    pub fn silu_vjp(&self) -> (Self, (impl FnOnce(Self) -> Self,)) {
        let df = |x: E, _| {
            let s = scalar::sigmoid(x);
            s * (E::ONE + x * (E::ONE - s))
        };
        unary_vjp(self, |x| x * scalar::sigmoid(x), df)
    }

    /// `ln(1 + eˣ)`, elementwise; PyTorch `F.softplus` with its defaults
    /// `beta = 1` and `threshold = 20`: for `x > 20` it returns `x`, which
    /// differs from `ln(1 + eˣ)` by less than `e⁻²⁰ ≈ 2·10⁻⁹`.
    ///
    /// `ln_1p` keeps the result accurate for very negative `x`, where it is
    /// about `eˣ`, and the threshold keeps `eˣ` from overflowing.
    pub fn softplus(&self) -> Self {
        self.map(scalar::softplus)
    }

    /// VJP of [`softplus`](Self::softplus): `dx = dy · sigmoid(x)`, and
    /// exactly `dy` above the threshold, as in PyTorch.
    #[allow(clippy::type_complexity)]
    pub fn softplus_vjp(&self) -> (Self, (impl FnOnce(Self) -> Self,)) {
        let df = |x: E, _| {
            if x > E::from_f64(scalar::SOFTPLUS_THRESHOLD) {
                E::ONE
            } else {
                scalar::sigmoid(x)
            }
        };
        unary_vjp(self, scalar::softplus, df)
    }

    /// `x · Φ(x) = x/2 · (1 + erf(x/√2))`, where `Φ` is the standard normal
    /// CDF, elementwise; PyTorch `F.gelu` (its default `approximate='none'`).
    pub fn gelu(&self) -> Self {
        self.map(scalar::gelu)
    }

    /// VJP of [`gelu`](Self::gelu): `dx = dy · (Φ(x) + x·φ(x))`, where
    /// `φ(x) = e^(-x²/2) / √(2π)` is the standard normal density.
    #[allow(clippy::type_complexity)]
    pub fn gelu_vjp(&self) -> (Self, (impl FnOnce(Self) -> Self,)) {
        unary_vjp(self, scalar::gelu, |x, _| scalar::gelu_derivative(x))
    }

    /// The tanh approximation of [`gelu`](Self::gelu),
    /// `x/2 · (1 + tanh(√(2/π) · (x + 0.044715·x³)))`, elementwise; PyTorch
    /// `F.gelu(x, approximate='tanh')`.
    pub fn gelu_tanh(&self) -> Self {
        self.map(scalar::gelu_tanh)
    }

    /// VJP of [`gelu_tanh`](Self::gelu_tanh): with `u = √(2/π)·(x + c·x³)`,
    /// `c = 0.044715` and `t = tanh u`,
    /// `dx = dy · ((1 + t)/2 + x/2 · (1 - t²) · √(2/π)·(1 + 3c·x²))`.
    ///
    /// Where `t` saturates to `±1` the second term is taken as 0, so a huge
    /// `|x|` whose `x²` overflows gives 0 or 1 rather than `0 · ∞ = NaN`.
    #[allow(clippy::type_complexity)]
    pub fn gelu_tanh_vjp(&self) -> (Self, (impl FnOnce(Self) -> Self,)) {
        unary_vjp(self, scalar::gelu_tanh, |x, _| {
            scalar::gelu_tanh_derivative(x)
        })
    }
}

/// The scalar functions behind the ops, shared by each forward and its VJP.
mod scalar {
    use crate::Float;

    /// `√(2/π)`.
    const SQRT_2_OVER_PI: f64 =
        core::f64::consts::FRAC_2_SQRT_PI * core::f64::consts::FRAC_1_SQRT_2;
    /// `1 / √(2π)`, the normal density at 0.
    const FRAC_1_SQRT_2PI: f64 = SQRT_2_OVER_PI / 2.0;
    /// The cubic coefficient of the tanh approximation of GELU.
    const GELU_TANH_CUBIC: f64 = 0.044715;
    /// Above this input PyTorch's `softplus` (with `beta = 1`) returns `x`.
    pub(super) const SOFTPLUS_THRESHOLD: f64 = 20.0;

    pub(super) fn sigmoid<E: Float>(x: E) -> E {
        if x >= E::ZERO {
            E::ONE / (E::ONE + (-x).exp())
        } else {
            let z = x.exp();
            z / (E::ONE + z)
        }
    }

    /// -1, 0 or 1 by the sign of `x`; 0 for NaN.
    pub(super) fn sign<E: Float>(x: E) -> E {
        if x > E::ZERO {
            E::ONE
        } else if x < E::ZERO {
            -E::ONE
        } else {
            E::ZERO
        }
    }

    /// 1 where `x > 0`, else `below` (the derivative of relu-like ops).
    pub(super) fn step<E: Float>(x: E, below: E) -> E {
        if x > E::ZERO {
            E::ONE
        } else {
            below
        }
    }

    /// `n·xⁿ⁻¹`, and 0 for `n = 0`.
    pub(super) fn powi_derivative<E: Float>(x: E, n: i32) -> E {
        if n == 0 {
            return E::ZERO;
        }
        let n_float = E::from_f64(f64::from(n));
        match n.checked_sub(1) {
            Some(m) => n_float * x.powi(m),
            // n = i32::MIN: n - 1 overflows i32 but is exact in f64.
            None => n_float * x.powf(E::from_f64(f64::from(n) - 1.0)),
        }
    }

    pub(super) fn leaky_relu<E: Float>(x: E, negative_slope: E) -> E {
        if x > E::ZERO {
            x
        } else {
            negative_slope * x
        }
    }

    pub(super) fn elu<E: Float>(x: E, alpha: E) -> E {
        if x > E::ZERO {
            x
        } else {
            alpha * x.exp_m1()
        }
    }

    pub(super) fn softplus<E: Float>(x: E) -> E {
        if x > E::from_f64(SOFTPLUS_THRESHOLD) {
            x
        } else {
            x.exp().ln_1p()
        }
    }

    /// `Φ(x) = (1 + erf(x/√2)) / 2`, the standard normal CDF.
    fn normal_cdf<E: Float>(x: E) -> E {
        let erf = (x * E::from_f64(core::f64::consts::FRAC_1_SQRT_2)).erf();
        E::from_f64(0.5) * (E::ONE + erf)
    }

    pub(super) fn gelu<E: Float>(x: E) -> E {
        x * normal_cdf(x)
    }

    pub(super) fn gelu_derivative<E: Float>(x: E) -> E {
        let density = E::from_f64(FRAC_1_SQRT_2PI) * (E::from_f64(-0.5) * x * x).exp();
        normal_cdf(x) + x * density
    }

    /// `tanh(√(2/π) · (x + c·x³))`, the inner term of the tanh GELU.
    fn gelu_tanh_inner<E: Float>(x: E) -> E {
        let u = E::from_f64(SQRT_2_OVER_PI) * (x + E::from_f64(GELU_TANH_CUBIC) * x * x * x);
        u.tanh()
    }

    pub(super) fn gelu_tanh<E: Float>(x: E) -> E {
        E::from_f64(0.5) * x * (E::ONE + gelu_tanh_inner(x))
    }

    pub(super) fn gelu_tanh_derivative<E: Float>(x: E) -> E {
        let half = E::from_f64(0.5);
        let t = gelu_tanh_inner(x);
        let sech2 = E::ONE - t * t;
        if sech2 == E::ZERO {
            return half * (E::ONE + t);
        }
        let du =
            E::from_f64(SQRT_2_OVER_PI) * (E::ONE + E::from_f64(3.0 * GELU_TANH_CUBIC) * x * x);
        half * (E::ONE + t) + half * x * sech2 * du
    }
}
