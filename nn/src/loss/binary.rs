//! Binary classification losses: cross entropy on probabilities and on
//! logits.

use autograd::{Float, NoGrad, Rank0, Shape, Storage, Tensor};

use super::{LossTarget, Mean, Reduction};

/// PyTorch clamps each logarithm of the binary cross entropy at -100, so a
/// probability of exactly 0 or 1 gives a finite loss.
const LOG_CLAMP: f64 = -100.0;

/// PyTorch divides the gradient of the binary cross entropy by
/// `max(p (1 - p), 1e-12)`, so it stays finite at `p = 0` and `p = 1`. Its
/// 1e-12 is an `f32` constant (9.99999996e-13) in float64 too, as torch
/// 2.15 computes it, so this one is rounded the same way.
const BCE_GRAD_EPSILON: f64 = 1e-12_f32 as f64;

fn clamped_ln<E: Float>(x: E) -> E {
    x.ln().max(E::from_f64(LOG_CLAMP))
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

elementwise_loss! {
    /// Binary cross entropy between probabilities and targets, as PyTorch's
    /// `F.binary_cross_entropy`: `-(t ln p + (1 - t) ln(1 - p))`, with each
    /// logarithm clamped at -100.
    ///
    /// The gradient with respect to `pred` is PyTorch's
    /// `(p - t) / max(p (1 - p), 1e-12)`. The gradient with respect to
    /// `target` is that of the clamped loss, `max(ln(1 - p), -100) - max(ln p, -100)`,
    /// which stays finite at `p = 0` and `p = 1` where PyTorch's `-logit(p)` is
    /// infinite. Prefer [`binary_cross_entropy_with_logits`] on logits: it is
    /// exact where the sigmoid saturates.
    ///
    /// # Panics
    /// If an element of `pred` lies outside `[0, 1]`, as PyTorch raises.
    ///
    /// # Shapes
    /// `pred` and `target` have the same shape type `S`; the output is a scalar.
    fn binary_cross_entropy, binary_cross_entropy_vjp, binary_cross_entropy_with,
        binary_cross_entropy_with_vjp;
    params();
    check = |pred: &Tensor<S, E, D>| check_probabilities(pred);
    loss = |p: E, t: E| -(t * clamped_ln(p) + (E::ONE - t) * clamped_ln(E::ONE - p));
    grad = |p: E, t: E| {
        let denominator = (p * (E::ONE - p)).max(E::from_f64(BCE_GRAD_EPSILON));
        ((p - t) / denominator, clamped_ln(E::ONE - p) - clamped_ln(p))
    };
}

#[track_caller]
fn check_probabilities<S: Shape, E: Float, D: Storage<S, E>>(pred: &Tensor<S, E, D>) {
    if let Some(i) = pred.as_slice().iter().position(|&p| !(p >= E::ZERO && p <= E::ONE)) {
        panic!(
            "binary_cross_entropy: every element of the prediction must lie in [0, 1], \
             but element {i} is {}; apply a sigmoid first or use \
             binary_cross_entropy_with_logits",
            pred.as_slice()[i]
        );
    }
}

elementwise_loss! {
    /// Binary cross entropy on logits, as PyTorch's
    /// `F.binary_cross_entropy_with_logits`: the binary cross entropy of
    /// `sigmoid(x)` against `t`, computed as `max(x, 0) - x t + ln(1 + e^-|x|)`
    /// so that it is finite and exact for any logit (at ±100 too).
    ///
    /// Gradients: `sigmoid(x) - t` for the logits, `-x` for the target.
    ///
    /// # Shapes
    /// `logits` and `target` have the same shape type `S`; the output is a
    /// scalar.
    fn binary_cross_entropy_with_logits, binary_cross_entropy_with_logits_vjp,
        binary_cross_entropy_with_logits_with, binary_cross_entropy_with_logits_with_vjp;
    params();
    check = |_: &Tensor<S, E, D>| ();
    loss = |x: E, t: E| x.max(E::ZERO) - x * t + (-x.abs()).exp().ln_1p();
    grad = |x: E, t: E| (sigmoid(x) - t, -x);
}
