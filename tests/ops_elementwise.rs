//! Forward values and gradients of the elementwise ops: the unary ops
//! (`ln` … `gelu_tanh`), `maximum`, `minimum` and `clamp`.
//!
//! Every VJP rule passes an f64 `gradcheck` on seeded random inputs. Forward
//! values are compared with `std`'s f64 functions or with values derived by
//! hand. Edge inputs (kinks, ties, saturation at ±1000) get their exact
//! gradients asserted, since a central difference across a kink checks
//! nothing.

use autograd::typenum::{U3, U4};
use autograd::{
    gradcheck, ConstShape, Differentiable, Dyn, Float, GradcheckOptions, Inline, Leaves, Rank1,
    Rank2, Rng, Tensor,
};

type Matrix = Tensor<Rank2<U3, U4>, f64>;
type Vector = Tensor<Rank1<U4>, f64>;

/// The VJP form of a method as `gradcheck` takes it: the output and the
/// pullback of the receiver, dropping the `NoGrad` slots of constant
/// arguments.
macro_rules! vjp {
    ($method:ident $(, $arg:expr)*) => {
        |x: &_| {
            let (y, (pullback, ..)) = x.$method($($arg),*);
            (y, pullback)
        }
    };
}

/// Draws a 3×4 matrix uniformly from `[low, high)`.
fn uniform(low: f64, high: f64, seed: u64) -> Matrix {
    Tensor::uniform(low, high, &mut Rng::seed_from_u64(seed))
}

#[track_caller]
fn assert_gradcheck<T, P>(input: &T, forward: impl Fn(&T) -> T, vjp: impl Fn(&T) -> (T, P))
where
    T: Differentiable<Grad = T> + Leaves<f64> + Clone,
    P: FnOnce(T) -> T,
{
    if let Err(error) = gradcheck(forward, vjp, input, GradcheckOptions::default()) {
        panic!("gradcheck failed: {error}");
    }
}

/// Checks `y = f(x)` elementwise, to 1e-14 relative to `1 + |f(x)|`, which
/// covers one-ulp differences between libm and `std`.
#[track_caller]
fn assert_forward(x: &Matrix, y: &Matrix, f: impl Fn(f64) -> f64) {
    for (&xi, &yi) in x.as_slice().iter().zip(y.as_slice()) {
        let expected = f(xi);
        assert!(
            (yi - expected).abs() <= 1e-14 * (1.0 + expected.abs()),
            "at x = {xi}: got {yi}, expected {expected}"
        );
    }
}

/// Pulls back a cotangent of ones, which gives the derivative at each
/// element of an elementwise op.
fn derivative<S, E, P>(
    vjp: impl Fn(&Tensor<S, E>) -> (Tensor<S, E>, P),
    x: &Tensor<S, E>,
) -> Tensor<S, E>
where
    S: ConstShape,
    E: Float,
    P: FnOnce(Tensor<S, E>) -> Tensor<S, E>,
{
    let (_, pullback) = vjp(x);
    pullback(Tensor::ones())
}

#[track_caller]
fn assert_values(actual: &Vector, expected: [f64; 4]) {
    assert_eq!(actual.as_slice(), expected.as_slice());
}

// ---- ln, log1p, sqrt, square ----

#[test]
fn ln_forward_matches_std() {
    let x = uniform(0.1, 5.0, 1);
    assert_forward(&x, &x.ln(), f64::ln);
}

#[test]
fn ln_gradcheck() {
    assert_gradcheck(&uniform(0.2, 3.0, 2), Matrix::ln, vjp!(ln_vjp));
}

#[test]
fn ln_of_zero_is_negative_infinity() {
    let x = Vector::from_array([0.0, 1.0, -1.0, f64::INFINITY]);
    let y = x.ln();
    assert_eq!(y.get([0]), f64::NEG_INFINITY);
    assert_eq!(y.get([1]), 0.0);
    assert!(y.get([2]).is_nan());
    assert_eq!(y.get([3]), f64::INFINITY);
}

#[test]
fn log1p_forward_matches_std() {
    let x = uniform(-0.9, 5.0, 3);
    assert_forward(&x, &x.log1p(), f64::ln_1p);
}

#[test]
fn log1p_is_accurate_for_tiny_x() {
    // ln(1 + x) = x - x²/2 + x³/3 - …, where x³/3 is below one ulp at
    // x = 1e-10; computing ln(1 + x) directly would lose 7 digits.
    let x = 1e-10;
    let expected = x - x * x / 2.0;
    let y = Vector::full(x).log1p().get([0]);
    assert!(
        (y - expected).abs() <= 1e-15 * expected,
        "{y} versus {expected}"
    );
}

#[test]
fn log1p_gradcheck() {
    assert_gradcheck(&uniform(-0.5, 3.0, 4), Matrix::log1p, vjp!(log1p_vjp));
}

#[test]
fn sqrt_forward_matches_std() {
    let x = uniform(0.0, 9.0, 5);
    assert_forward(&x, &x.sqrt(), f64::sqrt);
}

#[test]
fn sqrt_gradcheck() {
    assert_gradcheck(&uniform(0.2, 3.0, 6), Matrix::sqrt, vjp!(sqrt_vjp));
}

#[test]
fn sqrt_grad_at_zero_is_infinite() {
    // d√x/dx = 1 / (2√x) → +∞ as x → 0+, which PyTorch returns too.
    let x = Vector::from_array([0.0, 0.25, 1.0, 4.0]);
    assert_eq!(x.sqrt().get([0]), 0.0);
    assert_values(
        &derivative(vjp!(sqrt_vjp), &x),
        [f64::INFINITY, 1.0, 0.5, 0.25],
    );
}

#[test]
fn square_forward_and_gradcheck() {
    let x = uniform(-2.0, 2.0, 7);
    assert_forward(&x, &x.square(), |v| v * v);
    assert_gradcheck(&x, Matrix::square, vjp!(square_vjp));
}

// ---- powf, powi ----

#[test]
fn powf_forward_matches_std() {
    let x = uniform(0.0, 4.0, 8);
    assert_forward(&x, &x.powf(2.5), |v| v.powf(2.5));
    assert_forward(&x, &x.powf(-1.5), |v| v.powf(-1.5));
}

#[test]
fn powf_gradcheck() {
    let x = uniform(0.2, 3.0, 9);
    for p in [2.5, 0.5, -1.5, 3.0] {
        assert_gradcheck(&x, |x: &Matrix| x.powf(p), vjp!(powf_vjp, p));
    }
}

#[test]
fn powf_gradcheck_negative_base_integer_exponent() {
    assert_gradcheck(
        &uniform(-3.0, -0.2, 10),
        |x: &Matrix| x.powf(3.0),
        vjp!(powf_vjp, 3.0),
    );
}

#[test]
fn powf_zero_exponent_has_zero_grad() {
    // x⁰ = 1 is constant, including at x = 0 where p·xᵖ⁻¹ would be 0 · ∞.
    let x = Vector::from_array([0.0, 2.0, -3.0, 0.5]);
    assert_values(&x.powf(0.0), [1.0; 4]);
    assert_values(&derivative(vjp!(powf_vjp, 0.0), &x), [0.0; 4]);
}

#[test]
fn powf_grad_at_zero_base() {
    // p·xᵖ⁻¹ at x = 0 is +∞ for 0 < p < 1 and 0 for p > 1.
    let x = Vector::zeros();
    assert_values(&derivative(vjp!(powf_vjp, 0.5), &x), [f64::INFINITY; 4]);
    assert_values(&derivative(vjp!(powf_vjp, 2.5), &x), [0.0; 4]);
}

#[test]
fn powi_forward_matches_products() {
    let x = uniform(-3.0, 3.0, 11);
    assert_forward(&x, &x.powi(3), |v| v * v * v);
    assert_forward(&x, &x.powi(-2), |v| 1.0 / (v * v));
    assert_forward(&x, &x.powi(1), |v| v);
}

#[test]
fn powi_gradcheck() {
    let x = uniform(-2.0, 2.0, 12);
    for n in [1, 2, 3, 5] {
        assert_gradcheck(&x, |x: &Matrix| x.powi(n), vjp!(powi_vjp, n));
    }
}

#[test]
fn powi_gradcheck_negative_exponent() {
    for x in [uniform(0.5, 2.0, 13), uniform(-2.0, -0.5, 14)] {
        assert_gradcheck(&x, |x: &Matrix| x.powi(-2), vjp!(powi_vjp, -2));
        assert_gradcheck(&x, |x: &Matrix| x.powi(-3), vjp!(powi_vjp, -3));
    }
}

#[test]
fn powi_zero_exponent_has_zero_grad() {
    let x = Vector::from_array([0.0, 2.0, -3.0, 0.5]);
    assert_values(&x.powi(0), [1.0; 4]);
    assert_values(&derivative(vjp!(powi_vjp, 0), &x), [0.0; 4]);
}

#[test]
fn powi_grad_with_minimum_exponent() {
    // n = i32::MIN, so n - 1 does not fit in i32. At x = ±1, n·xⁿ⁻¹ is n
    // times (±1) raised to an odd power.
    let n = i32::MIN;
    let x = Vector::from_array([1.0, -1.0, 1.0, -1.0]);
    let grad = derivative(vjp!(powi_vjp, n), &x);
    assert_eq!(grad.get([0]), f64::from(n));
    assert_eq!(grad.get([1]), -f64::from(n));
}

// ---- abs, sin, cos ----

#[test]
fn abs_forward_and_gradcheck() {
    let x = uniform(-2.0, 2.0, 15);
    assert_forward(&x, &x.abs(), f64::abs);
    assert_gradcheck(&x, Matrix::abs, vjp!(abs_vjp));
}

#[test]
fn abs_grad_at_zero_is_zero() {
    let x = Vector::from_array([0.0, -0.0, 3.0, -3.0]);
    assert_values(&derivative(vjp!(abs_vjp), &x), [0.0, 0.0, 1.0, -1.0]);
}

#[test]
fn sin_forward_and_gradcheck() {
    let x = uniform(-4.0, 4.0, 16);
    assert_forward(&x, &x.sin(), f64::sin);
    assert_gradcheck(&x, Matrix::sin, vjp!(sin_vjp));
}

#[test]
fn cos_forward_and_gradcheck() {
    let x = uniform(-4.0, 4.0, 17);
    assert_forward(&x, &x.cos(), f64::cos);
    assert_gradcheck(&x, Matrix::cos, vjp!(cos_vjp));
}

// ---- tanh, sigmoid ----

#[test]
fn tanh_forward_and_gradcheck() {
    let x = uniform(-3.0, 3.0, 18);
    assert_forward(&x, &x.tanh(), f64::tanh);
    assert_gradcheck(&x, Matrix::tanh, vjp!(tanh_vjp));
}

#[test]
fn tanh_saturates_without_nan() {
    let x = Vector::from_array([1000.0, -1000.0, 40.0, -40.0]);
    assert_values(&x.tanh(), [1.0, -1.0, 1.0, -1.0]);
    assert_values(&derivative(vjp!(tanh_vjp), &x), [0.0; 4]);
}

#[test]
fn sigmoid_forward_matches_logistic() {
    let x = uniform(-6.0, 6.0, 19);
    assert_forward(&x, &x.sigmoid(), |v| 1.0 / (1.0 + (-v).exp()));
}

#[test]
fn sigmoid_gradcheck() {
    assert_gradcheck(&uniform(-6.0, 6.0, 20), Matrix::sigmoid, vjp!(sigmoid_vjp));
}

#[test]
fn sigmoid_saturates_without_nan() {
    let x = Vector::from_array([1000.0, -1000.0, 800.0, -800.0]);
    let y = x.sigmoid();
    let grad = derivative(vjp!(sigmoid_vjp), &x);
    assert_values(&y, [1.0, 0.0, 1.0, 0.0]);
    assert_values(&grad, [0.0; 4]);
}

#[test]
fn sigmoid_grad_is_accurate_in_negative_tail() {
    // σ'(-30) = e⁻³⁰ / (1 + e⁻³⁰)² ≈ 9.4e-14 keeps its relative
    // precision, since y(1 - y) multiplies a tiny y by about 1.
    let x = Vector::full(-30.0);
    let z = (-30.0f64).exp();
    let expected = z / ((1.0 + z) * (1.0 + z));
    let grad = derivative(vjp!(sigmoid_vjp), &x).get([0]);
    assert!(
        (grad - expected).abs() <= 1e-14 * expected,
        "{grad} versus {expected}"
    );
}

// ---- relu, leaky_relu, elu ----

#[test]
fn relu_forward_and_gradcheck() {
    let x = uniform(-2.0, 2.0, 21);
    assert_forward(&x, &x.relu(), |v| if v > 0.0 { v } else { 0.0 });
    assert_gradcheck(&x, Matrix::relu, vjp!(relu_vjp));
}

#[test]
fn relu_grad_at_zero_is_zero() {
    let x = Vector::from_array([0.0, -0.0, 2.0, -2.0]);
    assert_values(&derivative(vjp!(relu_vjp), &x), [0.0, 0.0, 1.0, 0.0]);
}

#[test]
fn relu_keeps_nan() {
    let x = Vector::from_array([f64::NAN, 1.0, -1.0, 0.0]);
    assert!(x.relu().get([0]).is_nan());
}

#[test]
fn leaky_relu_forward_and_gradcheck() {
    let x = uniform(-2.0, 2.0, 22);
    for slope in [0.01, 0.2, -0.5] {
        assert_forward(&x, &x.leaky_relu(slope), |v| {
            if v > 0.0 {
                v
            } else {
                slope * v
            }
        });
        assert_gradcheck(
            &x,
            |x: &Matrix| x.leaky_relu(slope),
            vjp!(leaky_relu_vjp, slope),
        );
    }
}

#[test]
fn leaky_relu_grad_at_zero_is_slope() {
    // PyTorch's rule is `x > 0 ? dy : dy · slope`, so 0 takes the slope.
    let x = Vector::from_array([0.0, -0.0, 2.0, -2.0]);
    assert_values(
        &derivative(vjp!(leaky_relu_vjp, 0.1), &x),
        [0.1, 0.1, 1.0, 0.1],
    );
}

#[test]
fn elu_forward_and_gradcheck() {
    let x = uniform(-3.0, 2.0, 23);
    for alpha in [1.0, 0.5, 2.0] {
        assert_forward(&x, &x.elu(alpha), |v| {
            if v > 0.0 {
                v
            } else {
                alpha * (v.exp() - 1.0)
            }
        });
        assert_gradcheck(&x, |x: &Matrix| x.elu(alpha), vjp!(elu_vjp, alpha));
    }
}

#[test]
fn elu_grad_at_zero_is_alpha() {
    let x = Vector::from_array([0.0, 1.0, -1000.0, 1000.0]);
    let grad = derivative(vjp!(elu_vjp, 0.5), &x);
    assert_values(&grad, [0.5, 1.0, 0.0, 1.0]);
}

#[test]
fn elu_with_unit_alpha_is_smooth_at_zero() {
    // With alpha = 1 both one-sided derivatives at 0 are 1, so a central
    // difference across 0 is a valid check.
    let x = Vector::from_array([0.0, 1e-3, -1e-3, -5.0]);
    assert_gradcheck(&x, |x: &Vector| x.elu(1.0), vjp!(elu_vjp, 1.0));
}

// ---- silu, softplus ----

#[test]
fn silu_forward_and_gradcheck() {
    let x = uniform(-6.0, 6.0, 24);
    assert_forward(&x, &x.silu(), |v| v / (1.0 + (-v).exp()));
    assert_gradcheck(&x, Matrix::silu, vjp!(silu_vjp));
}

#[test]
fn silu_saturates_without_nan() {
    let x = Vector::from_array([1000.0, -1000.0, 0.0, 800.0]);
    assert_values(&x.silu(), [1000.0, 0.0, 0.0, 800.0]);
    // silu'(0) = σ(0) = 1/2.
    assert_values(&derivative(vjp!(silu_vjp), &x), [1.0, 0.0, 0.5, 1.0]);
}

#[test]
fn softplus_forward_matches_std() {
    let x = uniform(-6.0, 6.0, 25);
    assert_forward(&x, &x.softplus(), |v| v.exp().ln_1p());
}

#[test]
fn softplus_gradcheck() {
    assert_gradcheck(
        &uniform(-6.0, 6.0, 26),
        Matrix::softplus,
        vjp!(softplus_vjp),
    );
}

#[test]
fn softplus_gradcheck_beside_threshold() {
    // Either side of PyTorch's threshold 20, away from the jump of about
    // 2e-9 at 20 itself.
    let x = Vector::from_array([19.5, 19.9, 20.1, 25.0]);
    assert_gradcheck(&x, Vector::softplus, vjp!(softplus_vjp));
}

#[test]
fn softplus_is_stable_for_large_magnitudes() {
    let x = Vector::from_array([1000.0, -1000.0, 21.0, -800.0]);
    assert_values(&x.softplus(), [1000.0, 0.0, 21.0, 0.0]);
    assert_values(&derivative(vjp!(softplus_vjp), &x), [1.0, 0.0, 1.0, 0.0]);
}

#[test]
fn softplus_is_accurate_in_negative_tail() {
    // ln(1 + eˣ) = eˣ - e²ˣ/2 + …, and e²ˣ/2 is below one ulp of eˣ at x = -40.
    let x = Vector::full(-40.0);
    let expected = (-40.0f64).exp();
    let y = x.softplus().get([0]);
    assert!(
        (y - expected).abs() <= 1e-15 * expected,
        "{y} versus {expected}"
    );
}

// ---- gelu, gelu_tanh ----

#[test]
fn gelu_forward_at_known_points() {
    // gelu(x) = x·Φ(x), with Φ(1) = 0.8413447460685429 from tables of the
    // normal distribution and Φ(-1) = 1 - Φ(1).
    let phi_1 = 0.8413447460685429;
    let x = Vector::from_array([0.0, 1.0, -1.0, 2.0]);
    let y = x.gelu();
    assert_eq!(y.get([0]), 0.0);
    assert!((y.get([1]) - phi_1).abs() < 1e-15);
    assert!((y.get([2]) + (1.0 - phi_1)).abs() < 1e-15);
    // Φ(2) = 0.9772498680518208.
    assert!((y.get([3]) - 2.0 * 0.9772498680518208).abs() < 1e-15);
}

#[test]
fn gelu_gradcheck() {
    assert_gradcheck(&uniform(-4.0, 4.0, 27), Matrix::gelu, vjp!(gelu_vjp));
}

#[test]
fn gelu_saturates_without_nan() {
    // gelu'(0) = Φ(0) = 1/2.
    let x = Vector::from_array([1000.0, -1000.0, 0.0, -40.0]);
    assert_values(&x.gelu(), [1000.0, 0.0, 0.0, 0.0]);
    assert_values(&derivative(vjp!(gelu_vjp), &x), [1.0, 0.0, 0.5, 0.0]);
}

#[test]
fn gelu_tanh_forward_matches_formula() {
    let x = uniform(-4.0, 4.0, 28);
    let c = (2.0 / std::f64::consts::PI).sqrt();
    assert_forward(&x, &x.gelu_tanh(), |v| {
        0.5 * v * (1.0 + (c * (v + 0.044715 * v * v * v)).tanh())
    });
}

#[test]
fn gelu_tanh_gradcheck() {
    assert_gradcheck(
        &uniform(-4.0, 4.0, 29),
        Matrix::gelu_tanh,
        vjp!(gelu_tanh_vjp),
    );
}

#[test]
fn gelu_tanh_saturates_without_nan() {
    // 1e200 cubed overflows to infinity; the gradient is still 1 and 0.
    let x = Vector::from_array([1000.0, -1000.0, 1e200, -1e200]);
    assert_values(&x.gelu_tanh(), [1000.0, 0.0, 1e200, 0.0]);
    assert_values(&derivative(vjp!(gelu_tanh_vjp), &x), [1.0, 0.0, 1.0, 0.0]);
}

#[test]
fn gelu_tanh_grad_at_zero_is_half() {
    let x = Vector::zeros();
    assert_values(&derivative(vjp!(gelu_tanh_vjp), &x), [0.5; 4]);
}

// ---- maximum, minimum, clamp ----

/// `maximum_vjp` or `minimum_vjp` as `gradcheck` takes a two-argument op:
/// the input is the pair, the gradient is the pair of gradients.
macro_rules! pair_vjp {
    ($method:ident) => {
        |(a, b): &(Matrix, Matrix)| {
            let (y, (pullback_a, pullback_b)) = a.$method(b);
            (y, move |grad: Matrix| {
                (pullback_a(grad.clone()), pullback_b(grad))
            })
        }
    };
}

fn random_pair(seed: u64) -> (Matrix, Matrix) {
    (uniform(-2.0, 2.0, seed), uniform(-2.0, 2.0, seed + 1000))
}

#[test]
fn maximum_forward_and_gradcheck() {
    let (a, b) = random_pair(30);
    let y = a.maximum(&b);
    for i in 0..a.numel() {
        assert_eq!(y.as_slice()[i], a.as_slice()[i].max(b.as_slice()[i]));
    }
    let result = gradcheck(
        |(a, b): &(Matrix, Matrix)| a.maximum(b),
        pair_vjp!(maximum_vjp),
        &(a, b),
        GradcheckOptions::default(),
    );
    assert_eq!(result, Ok(()));
}

#[test]
fn minimum_forward_and_gradcheck() {
    let (a, b) = random_pair(31);
    let y = a.minimum(&b);
    for i in 0..a.numel() {
        assert_eq!(y.as_slice()[i], a.as_slice()[i].min(b.as_slice()[i]));
    }
    let result = gradcheck(
        |(a, b): &(Matrix, Matrix)| a.minimum(b),
        pair_vjp!(minimum_vjp),
        &(a, b),
        GradcheckOptions::default(),
    );
    assert_eq!(result, Ok(()));
}

#[test]
fn maximum_splits_grad_evenly_on_ties() {
    let a = Vector::from_array([1.0, 2.0, -3.0, 0.0]);
    let b = Vector::from_array([1.0, 1.0, 3.0, -0.0]);
    let (_, (pullback_a, pullback_b)) = a.maximum_vjp(&b);
    let grad = Vector::from_array([2.0, 2.0, 2.0, 4.0]);
    assert_values(&pullback_a(grad.clone()), [1.0, 2.0, 0.0, 2.0]);
    assert_values(&pullback_b(grad), [1.0, 0.0, 2.0, 2.0]);
}

#[test]
fn minimum_splits_grad_evenly_on_ties() {
    let a = Vector::from_array([1.0, 2.0, -3.0, 0.0]);
    let b = Vector::from_array([1.0, 1.0, 3.0, -0.0]);
    let (_, (pullback_a, pullback_b)) = a.minimum_vjp(&b);
    let grad = Vector::from_array([2.0, 2.0, 2.0, 4.0]);
    assert_values(&pullback_a(grad.clone()), [1.0, 0.0, 2.0, 2.0]);
    assert_values(&pullback_b(grad), [1.0, 2.0, 0.0, 2.0]);
}

#[test]
fn maximum_and_minimum_propagate_nan() {
    let a = Vector::from_array([f64::NAN, 1.0, 0.0, 0.0]);
    let b = Vector::from_array([1.0, f64::NAN, 0.0, 0.0]);
    assert!(a.maximum(&b).get([0]).is_nan());
    assert!(a.maximum(&b).get([1]).is_nan());
    assert!(a.minimum(&b).get([0]).is_nan());
    assert!(a.minimum(&b).get([1]).is_nan());
}

#[test]
#[should_panic(expected = "maximum: shapes do not match: [2] versus [3]")]
fn maximum_panics_on_mismatched_dyn_axes() {
    let a: Tensor<Rank1<Dyn>, f64> = Tensor::zeros_with_shape(Rank1(Dyn(2)));
    let b: Tensor<Rank1<Dyn>, f64> = Tensor::zeros_with_shape(Rank1(Dyn(3)));
    let _ = a.maximum(&b);
}

#[test]
fn clamp_forward_and_gradcheck() {
    let x = uniform(-2.0, 2.0, 32);
    assert_forward(&x, &x.clamp(-0.5, 0.7), |v| v.clamp(-0.5, 0.7));
    assert_gradcheck(
        &x,
        |x: &Matrix| x.clamp(-0.5, 0.7),
        vjp!(clamp_vjp, -0.5, 0.7),
    );
}

#[test]
fn clamp_grad_is_zero_on_bounds() {
    // torch 2.15 with scalar bounds masks with min < x < max.
    let x = Vector::from_array([-1.0, 1.0, -1.5, 0.5]);
    assert_values(&x.clamp(-1.0, 1.0), [-1.0, 1.0, -1.0, 0.5]);
    assert_values(
        &derivative(vjp!(clamp_vjp, -1.0, 1.0), &x),
        [0.0, 0.0, 0.0, 1.0],
    );
}

#[test]
fn clamp_with_min_above_max_gives_max() {
    let x = Vector::from_array([-5.0, 0.0, 1.5, 5.0]);
    assert_values(&x.clamp(2.0, 1.0), [1.0; 4]);
    assert_values(&derivative(vjp!(clamp_vjp, 2.0, 1.0), &x), [0.0; 4]);
}

#[test]
fn clamp_keeps_nan_with_zero_grad() {
    let x = Vector::from_array([f64::NAN, 0.0, 0.0, 0.0]);
    assert!(x.clamp(-1.0, 1.0).get([0]).is_nan());
    assert_eq!(derivative(vjp!(clamp_vjp, -1.0, 1.0), &x).get([0]), 0.0);
}

// ---- other devices and f32 ----

type InlineVector = Tensor<Rank1<U4>, f64, Inline>;

#[test]
fn inline_device_sigmoid_gradcheck() {
    let x = InlineVector::from_array([-2.0, -0.3, 0.4, 3.0]);
    assert_gradcheck(&x, InlineVector::sigmoid, vjp!(sigmoid_vjp));
    assert_gradcheck(&x, |x: &InlineVector| x.powi(3), vjp!(powi_vjp, 3));
}

#[test]
fn inline_device_maximum_gradcheck() {
    let a = InlineVector::from_array([-2.0, -0.3, 0.4, 3.0]);
    let b = InlineVector::from_array([1.0, -0.5, 0.6, 2.0]);
    let result = gradcheck(
        |(a, b): &(InlineVector, InlineVector)| a.maximum(b),
        |(a, b): &(InlineVector, InlineVector)| {
            let (y, (pullback_a, pullback_b)) = a.maximum_vjp(b);
            (y, move |grad: InlineVector| {
                (pullback_a(grad.clone()), pullback_b(grad))
            })
        },
        &(a, b),
        GradcheckOptions::default(),
    );
    assert_eq!(result, Ok(()));
}

type Vector32 = Tensor<Rank1<U4>, f32>;
type Matrix32 = Tensor<Rank2<U3, U4>, f32>;

#[test]
fn f32_saturating_ops_stay_finite() {
    // e^1000 overflows f32 (and f64), so none of these may compute it.
    let x = Vector32::from_array([1000.0, -1000.0, 100.0, -100.0]);
    macro_rules! assert_finite {
        ($op:ident, $vjp:ident) => {
            let y = x.$op();
            let grad = derivative(vjp!($vjp), &x);
            assert!(y.all_finite(), "{} output {y}", stringify!($op));
            assert!(grad.all_finite(), "{} gradient {grad}", stringify!($op));
        };
    }
    assert_finite!(sigmoid, sigmoid_vjp);
    assert_finite!(tanh, tanh_vjp);
    assert_finite!(softplus, softplus_vjp);
    assert_finite!(silu, silu_vjp);
    assert_finite!(gelu, gelu_vjp);
    assert_finite!(gelu_tanh, gelu_tanh_vjp);
}

#[test]
fn f32_gelu_tanh_grad_is_finite_where_x_squared_overflows() {
    let x = Vector32::from_array([1e20, -1e20, 1e13, -1e13]);
    let grad = derivative(vjp!(gelu_tanh_vjp), &x);
    assert_eq!(grad.as_slice(), [1.0, 0.0, 1.0, 0.0].as_slice());
}

/// Checks an f32 result against the f64 one to about 8 f32 ulps.
#[track_caller]
fn assert_f32_agrees(name: &str, y64: &Matrix, y32: &Matrix32) {
    for (&a, &b) in y64.as_slice().iter().zip(y32.as_slice()) {
        assert!(
            (a - f64::from(b)).abs() <= 1e-6 * (1.0 + a.abs()),
            "{name}: f64 {a}, f32 {b}"
        );
    }
}

#[test]
fn f32_forward_agrees_with_f64() {
    let x64 = uniform(-3.0, 3.0, 33);
    let x32: Matrix32 = x64.cast();
    assert_f32_agrees("sigmoid", &x64.sigmoid(), &x32.sigmoid());
    assert_f32_agrees("tanh", &x64.tanh(), &x32.tanh());
    assert_f32_agrees("softplus", &x64.softplus(), &x32.softplus());
    assert_f32_agrees("gelu", &x64.gelu(), &x32.gelu());
    assert_f32_agrees("gelu_tanh", &x64.gelu_tanh(), &x32.gelu_tanh());
    assert_f32_agrees("elu", &x64.elu(1.0), &x32.elu(1.0));
}

#[test]
fn ops_keep_dyn_shapes() {
    let x: Tensor<Rank2<Dyn, U3>, f64> = Tensor::full_with_shape(Rank2(Dyn(5), U3::default()), 0.5);
    assert_eq!(x.relu().dims(), [5, 3]);
    assert_eq!(x.clamp(0.0, 1.0).dims(), [5, 3]);
    assert_eq!(x.maximum(&x).dims(), [5, 3]);
}
