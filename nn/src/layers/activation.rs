//! Activation layers: elementwise functions and the softmax family, none
//! with parameters.

use core::f64::consts::{FRAC_1_SQRT_2, FRAC_2_SQRT_PI};
use core::fmt;
use core::marker::PhantomData;

use autograd::{Float, Shape, Storage, Tensor};

use super::Forward;

/// Multiplies the cotangent by `df(x, y)` elementwise, with `x` the saved
/// input and `y` the saved output.
fn elementwise_pullback<S: Shape, E: Float, D: Storage<S, E>>(
    x: Tensor<S, E, D>,
    y: Tensor<S, E, D>,
    df: impl Fn(E, E) -> E + Copy,
) -> impl FnOnce(Tensor<S, E, D>) -> Tensor<S, E, D> + Clone {
    move |mut grad: Tensor<S, E, D>| {
        assert!(
            grad.shape() == x.shape(),
            "activation pullback: the cotangent has shape {:?} but the input has shape {:?}",
            grad.dims().as_ref(),
            x.dims().as_ref()
        );
        let (xs, ys) = (x.as_slice(), y.as_slice());
        for (i, g) in grad.as_mut_slice().iter_mut().enumerate() {
            *g *= df(xs[i], ys[i]);
        }
        grad
    }
}

/// `1 / (1 + e^-x)` without overflow for large `|x|`.
fn sigmoid<E: Float>(x: E) -> E {
    if x >= E::ZERO {
        E::ONE / (E::ONE + (-x).exp())
    } else {
        let e = x.exp();
        e / (E::ONE + e)
    }
}

/// Declares a parameterless activation struct with `new`, `Default` and its
/// PyTorch repr.
macro_rules! activation_struct {
    ($(#[$doc:meta])* $Layer:ident, $repr:literal) => {
        $(#[$doc])*
        pub struct $Layer<E = f32>(PhantomData<fn() -> E>);

        impl<E> $Layer<E> {
            pub const fn new() -> Self {
                $Layer(PhantomData)
            }
        }

        impl<E> Default for $Layer<E> {
            fn default() -> Self {
                Self::new()
            }
        }

        impl<E> Clone for $Layer<E> {
            fn clone(&self) -> Self {
                *self
            }
        }

        impl<E> Copy for $Layer<E> {}

        impl<E> fmt::Debug for $Layer<E> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(stringify!($Layer))
            }
        }

        impl<E> fmt::Display for $Layer<E> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str($repr)
            }
        }

        impl_parameterless_module!($Layer);
    };
}

/// Implements `Forward` on tensors of any shape for an elementwise
/// activation: `f` computes `y` from `x`, `df` the derivative from `x` and
/// `y`, and `c` is the layer's constant (`self.constant()`).
macro_rules! impl_elementwise_forward {
    ($Layer:ident, |$x:ident, $y:ident, $c:ident| f = $f:expr, df = $df:expr) => {
        impl<S: Shape, E: Float, D: Storage<S, E>> Forward<Tensor<S, E, D>> for $Layer<E> {
            type Output = Tensor<S, E, D>;

            /// # Shapes
            /// Any shape; the output has the input's shape.
            fn forward(&self, x: &Tensor<S, E, D>) -> Tensor<S, E, D> {
                let $c: E = self.constant();
                x.map(move |$x: E| $f)
            }

            #[allow(clippy::type_complexity)]
            fn forward_vjp(
                &self,
                x: &Tensor<S, E, D>,
            ) -> (
                Tensor<S, E, D>,
                (
                    impl FnOnce(Tensor<S, E, D>) + Clone + use<S, E, D>,
                    impl FnOnce(Tensor<S, E, D>) -> Tensor<S, E, D> + Clone + use<S, E, D>,
                ),
            ) {
                let $c: E = self.constant();
                let y = x.map(move |$x: E| $f);
                #[allow(unused_variables)]
                let pullback = elementwise_pullback(x.clone(), y.clone(), move |$x: E, $y: E| $df);
                (y, (|_: Tensor<S, E, D>| (), pullback))
            }
        }
    };
}

activation_struct!(
    /// The rectified linear unit `max(x, 0)`, as PyTorch's `nn.ReLU`. Its
    /// gradient at 0 is 0, as in PyTorch.
    Relu,
    "ReLU()"
);

activation_struct!(
    /// The logistic function `1 / (1 + e^-x)`, as PyTorch's `nn.Sigmoid`,
    /// computed without overflow for large `|x|`.
    Sigmoid,
    "Sigmoid()"
);

activation_struct!(
    /// The hyperbolic tangent, as PyTorch's `nn.Tanh`.
    Tanh,
    "Tanh()"
);


activation_struct!(
    /// The sigmoid linear unit `x · sigmoid(x)`, as PyTorch's `nn.SiLU`.
    Silu,
    "SiLU()"
);

activation_struct!(
    /// The softmax over the last axis, as PyTorch's `nn.Softmax(dim=-1)`,
    /// shifted by each lane's maximum so large inputs do not overflow.
    Softmax,
    "Softmax(dim=-1)"
);

activation_struct!(
    /// The log-softmax over the last axis, as PyTorch's
    /// `nn.LogSoftmax(dim=-1)`, through log-sum-exp.
    LogSoftmax,
    "LogSoftmax(dim=-1)"
);

impl<E: Float> Relu<E> {
    fn constant(&self) -> E {
        E::ZERO
    }
}

impl<E: Float> Sigmoid<E> {
    fn constant(&self) -> E {
        E::ZERO
    }
}

impl<E: Float> Tanh<E> {
    fn constant(&self) -> E {
        E::ZERO
    }
}

impl<E: Float> Silu<E> {
    fn constant(&self) -> E {
        E::ZERO
    }
}

impl_elementwise_forward!(Relu, |x, y, _c| f = x.max(E::ZERO), df = if x > E::ZERO { E::ONE } else { E::ZERO });

impl_elementwise_forward!(Sigmoid, |x, y, _c| f = sigmoid(x), df = y * (E::ONE - y));

impl_elementwise_forward!(Tanh, |x, y, _c| f = x.tanh(), df = E::ONE - y * y);

/// The Gaussian error linear unit `x Φ(x)`, with `Φ` the standard normal
/// distribution function, as PyTorch's `nn.GELU`.
///
/// [`Gelu::new`] is exact (`approximate='none'`, PyTorch's default) and
/// [`Gelu::tanh`] uses PyTorch's `approximate='tanh'` form
/// `0.5 x (1 + tanh(sqrt(2/π) (x + 0.044715 x³)))`.
pub struct Gelu<E = f32> {
    tanh: bool,
    marker: PhantomData<fn() -> E>,
}

impl<E> Gelu<E> {
    /// The exact GELU.
    pub const fn new() -> Self {
        Gelu {
            tanh: false,
            marker: PhantomData,
        }
    }

    /// The tanh approximation of the GELU.
    pub const fn tanh() -> Self {
        Gelu {
            tanh: true,
            marker: PhantomData,
        }
    }
}

impl<E: Float> Gelu<E> {
    /// 1 for the tanh approximation, 0 for the exact form.
    fn constant(&self) -> E {
        if self.tanh {
            E::ONE
        } else {
            E::ZERO
        }
    }
}

impl<E> Default for Gelu<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> Clone for Gelu<E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<E> Copy for Gelu<E> {}

impl<E> fmt::Debug for Gelu<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gelu").field("tanh", &self.tanh).finish()
    }
}

impl<E> fmt::Display for Gelu<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let approximate = if self.tanh { "tanh" } else { "none" };
        write!(f, "GELU(approximate='{approximate}')")
    }
}

impl_parameterless_module!(Gelu);

/// `x Φ(x)` with `Φ(x) = (1 + erf(x / √2)) / 2`.
fn gelu_exact<E: Float>(x: E) -> E {
    x * E::from_f64(0.5) * (E::ONE + (x * E::from_f64(FRAC_1_SQRT_2)).erf())
}

/// `Φ(x) + x φ(x)`, with `φ(x) = e^(-x²/2) / √(2π)`.
fn gelu_exact_grad<E: Float>(x: E) -> E {
    let phi = (-(x * x) * E::from_f64(0.5)).exp() * E::from_f64(0.5 * FRAC_2_SQRT_PI * FRAC_1_SQRT_2);
    E::from_f64(0.5) * (E::ONE + (x * E::from_f64(FRAC_1_SQRT_2)).erf()) + x * phi
}

/// `sqrt(2/π)` and the cubic coefficient of the tanh approximation.
const GELU_TANH_SCALE: f64 = FRAC_2_SQRT_PI * FRAC_1_SQRT_2;
const GELU_TANH_CUBIC: f64 = 0.044715;

/// `0.5 x (1 + tanh(u))` with `u = sqrt(2/π) (x + 0.044715 x³)`.
fn gelu_tanh<E: Float>(x: E) -> E {
    let u = E::from_f64(GELU_TANH_SCALE) * (x + E::from_f64(GELU_TANH_CUBIC) * x * x * x);
    E::from_f64(0.5) * x * (E::ONE + u.tanh())
}

/// `0.5 (1 + t) + 0.5 x (1 - t²) du/dx`, with `t = tanh(u)`.
fn gelu_tanh_grad<E: Float>(x: E) -> E {
    let (k, a) = (E::from_f64(GELU_TANH_SCALE), E::from_f64(GELU_TANH_CUBIC));
    let t = (k * (x + a * x * x * x)).tanh();
    let du = k * (E::ONE + E::from_f64(3.0) * a * x * x);
    E::from_f64(0.5) * (E::ONE + t) + E::from_f64(0.5) * x * (E::ONE - t * t) * du
}

impl_elementwise_forward!(
    Gelu,
    |x, y, tanh| f = if tanh == E::ZERO { gelu_exact(x) } else { gelu_tanh(x) },
    df = if tanh == E::ZERO { gelu_exact_grad(x) } else { gelu_tanh_grad(x) }
);

// d(x σ(x))/dx = σ(x) (1 + x (1 - σ(x))).
impl_elementwise_forward!(
    Silu,
    |x, y, _c| f = x * sigmoid(x),
    df = sigmoid(x) * (E::ONE + x * (E::ONE - sigmoid(x)))
);

/// The leaky rectified linear unit, `x` for `x > 0` and
/// `negative_slope · x` elsewhere, as PyTorch's `nn.LeakyReLU`. The
/// gradient at 0 is `negative_slope`, as in PyTorch.
pub struct LeakyRelu<E = f32> {
    /// The slope for negative inputs (PyTorch's default 0.01).
    pub negative_slope: f64,
    marker: PhantomData<fn() -> E>,
}

impl<E> LeakyRelu<E> {
    pub const fn new(negative_slope: f64) -> Self {
        LeakyRelu {
            negative_slope,
            marker: PhantomData,
        }
    }
}

impl<E: Float> LeakyRelu<E> {
    fn constant(&self) -> E {
        E::from_f64(self.negative_slope)
    }
}

/// PyTorch's default slope, 0.01.
impl<E> Default for LeakyRelu<E> {
    fn default() -> Self {
        Self::new(0.01)
    }
}

impl<E> Clone for LeakyRelu<E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<E> Copy for LeakyRelu<E> {}

impl<E> fmt::Debug for LeakyRelu<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LeakyRelu").field("negative_slope", &self.negative_slope).finish()
    }
}

impl<E> fmt::Display for LeakyRelu<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LeakyReLU(negative_slope={})", PythonFloat(self.negative_slope))
    }
}

impl_parameterless_module!(LeakyRelu);

impl_elementwise_forward!(
    LeakyRelu,
    |x, y, slope| f = if x > E::ZERO { x } else { slope * x },
    df = if x > E::ZERO { E::ONE } else { slope }
);

/// Formats a float as Python's `repr` does for the usual cases: `1.0`
/// rather than `1`.
pub(crate) struct PythonFloat(pub f64);

impl fmt::Display for PythonFloat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_finite() && self.0 == libm::floor(self.0) && self.0.abs() < 1e16 {
            write!(f, "{:.1}", self.0)
        } else {
            write!(f, "{}", self.0)
        }
    }
}

/// The length of the last axis, over which softmax normalizes (1 for a
/// scalar).
fn last_axis<S: Shape>(shape: &S) -> usize {
    shape.dims().as_ref().last().copied().unwrap_or(1).max(1)
}

/// The log-softmax of each lane of `lane` contiguous elements.
fn log_softmax_lanes<S: Shape, E: Float, D: Storage<S, E>>(x: &Tensor<S, E, D>) -> Tensor<S, E, D> {
    let lane = last_axis(&x.shape());
    let mut y = x.clone();
    for row in y.as_mut_slice().chunks_mut(lane) {
        let max = row.iter().fold(E::NEG_INFINITY, |m, &v| m.max(v));
        let lse = max + row.iter().map(|&v| (v - max).exp()).sum::<E>().ln();
        row.iter_mut().for_each(|v| *v -= lse);
    }
    y
}

impl<S: Shape, E: Float, D: Storage<S, E>> Forward<Tensor<S, E, D>> for Softmax<E> {
    type Output = Tensor<S, E, D>;

    /// # Shapes
    /// Any shape; each lane along the last axis sums to 1.
    fn forward(&self, x: &Tensor<S, E, D>) -> Tensor<S, E, D> {
        log_softmax_lanes(x).map(E::exp)
    }

    #[allow(clippy::type_complexity)]
    fn forward_vjp(
        &self,
        x: &Tensor<S, E, D>,
    ) -> (
        Tensor<S, E, D>,
        (
            impl FnOnce(Tensor<S, E, D>) + Clone + use<S, E, D>,
            impl FnOnce(Tensor<S, E, D>) -> Tensor<S, E, D> + Clone + use<S, E, D>,
        ),
    ) {
        let y = self.forward(x);
        let saved = y.clone();
        // dx = y ⊙ (dy - Σ y ⊙ dy), per lane.
        let pullback = move |mut grad: Tensor<S, E, D>| {
            let lane = last_axis(&saved.shape());
            for (g, p) in grad.as_mut_slice().chunks_mut(lane).zip(saved.as_slice().chunks(lane)) {
                let inner: E = g.iter().zip(p).map(|(&g, &p)| g * p).sum();
                g.iter_mut().zip(p).for_each(|(g, &p)| *g = p * (*g - inner));
            }
            grad
        };
        (y, (|_: Tensor<S, E, D>| (), pullback))
    }
}

impl<S: Shape, E: Float, D: Storage<S, E>> Forward<Tensor<S, E, D>> for LogSoftmax<E> {
    type Output = Tensor<S, E, D>;

    /// # Shapes
    /// Any shape; normalizes each lane along the last axis.
    fn forward(&self, x: &Tensor<S, E, D>) -> Tensor<S, E, D> {
        log_softmax_lanes(x)
    }

    #[allow(clippy::type_complexity)]
    fn forward_vjp(
        &self,
        x: &Tensor<S, E, D>,
    ) -> (
        Tensor<S, E, D>,
        (
            impl FnOnce(Tensor<S, E, D>) + Clone + use<S, E, D>,
            impl FnOnce(Tensor<S, E, D>) -> Tensor<S, E, D> + Clone + use<S, E, D>,
        ),
    ) {
        let y = self.forward(x);
        let saved = y.clone();
        // dx = dy - softmax(x) Σ dy, per lane.
        let pullback = move |mut grad: Tensor<S, E, D>| {
            let lane = last_axis(&saved.shape());
            for (g, l) in grad.as_mut_slice().chunks_mut(lane).zip(saved.as_slice().chunks(lane)) {
                let total: E = g.iter().copied().sum();
                g.iter_mut().zip(l).for_each(|(g, &l)| *g -= l.exp() * total);
            }
            grad
        };
        (y, (|_: Tensor<S, E, D>| (), pullback))
    }
}
