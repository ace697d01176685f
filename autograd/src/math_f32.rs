//! An `f32` exponential and logarithm written so that a loop over a slice
//! vectorises.
//!
//! `libm::expf` and `libm::logf` branch on their argument, so each call
//! runs alone (about 45 and 50 instructions). [`exp`] has no branch: it
//! clamps the argument, splits it as `x = n·ln 2 + r` with `n` an integer
//! and `|r| <= ln 2 / 2`, evaluates `eʳ` by a polynomial and multiplies by
//! `2ⁿ` through the exponent bits. [`ln`] splits `x = 2ᵉ·m` with
//! `m` in `[√½, √2)` and evaluates `ln m = 2 atanh((m - 1)/(m + 1))` by its
//! series. [`exp_in_place`] and [`ln_in_place`] run them over a slice, with
//! AVX2 when `std` detects it at run time.

/// `log2(e)`.
const LOG2_E: f32 = core::f32::consts::LOG2_E;

/// `ln 2` split as `LN2_HI + LN2_LO`: `LN2_HI = 355/512` has 9 significant
/// bits, so `n · LN2_HI` is exact for every `|n| <= 150` (17 bits) and the
/// reduction `x - n·ln 2` loses no bits (Cody and Waite's method).
const LN2_HI: f32 = 355.0 / 512.0;
const LN2_LO: f32 = -2.121_944_4e-4;

/// `1.5 · 2²³`: adding it rounds a float of magnitude below 2²² to an
/// integer, which then sits in the low mantissa bits of the sum.
const ROUND: f32 = 12_582_912.0;

/// Above this, `eˣ` exceeds `f32::MAX` (`ln(f32::MAX) ≈ 88.72`).
const HIGH: f32 = 89.0;

/// Below this, `eˣ` rounds to 0 (`ln(2⁻¹⁵⁰) ≈ -103.97`).
const LOW: f32 = -104.0;

/// Taylor coefficients `1/k!` for `k = 2..=7`. On `|r| <= 0.3466` the
/// remainder is below `0.3466⁸ / 8! ≈ 5·10⁻⁹` of the result, a twentieth of
/// an `f32` ulp.
const C2: f32 = 1.0 / 2.0;
const C3: f32 = 1.0 / 6.0;
const C4: f32 = 1.0 / 24.0;
const C5: f32 = 1.0 / 120.0;
const C6: f32 = 1.0 / 720.0;
const C7: f32 = 1.0 / 5040.0;

/// `eˣ` within 2 ulp (tested against `f64::exp` over `[-104, 89]`), with
/// `e^∞ = ∞`, `e^-∞ = 0`, NaN for NaN, and gradual underflow to
/// subnormals.
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    // NaN fails both comparisons and becomes LOW; it is restored at the end.
    let clamped = if x < HIGH { x } else { HIGH };
    let clamped = if clamped > LOW { clamped } else { LOW };

    let shifted = clamped * LOG2_E + ROUND;
    let n_float = shifted - ROUND;
    // The low bits of `shifted` are `n` plus the bits of ROUND.
    let n = shifted.to_bits() as i32 - ROUND.to_bits() as i32;

    let r = (clamped - n_float * LN2_HI) - n_float * LN2_LO;
    let tail = C5 + r * (C6 + r * C7);
    let poly = 1.0 + r * (1.0 + r * (C2 + r * (C3 + r * (C4 + r * tail))));

    // 2ⁿ for n in [-150, 128] as two normal factors 2^(n/2) and 2^(n - n/2),
    // so that the result underflows or overflows in one rounding.
    let half = n >> 1;
    let scale_a = f32::from_bits(((half + 127) as u32) << 23);
    let scale_b = f32::from_bits(((n - half + 127) as u32) << 23);
    let y = poly * scale_a * scale_b;
    if x.is_nan() {
        x
    } else {
        y
    }
}

/// Replaces every element `x` of `xs` with `eˣ`, as [`exp`] does.
pub(crate) fn exp_in_place(xs: &mut [f32]) {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2.
        unsafe { exp_in_place_avx2(xs) };
        return;
    }
    exp_loop(xs);
}

#[inline(always)]
fn exp_loop(xs: &mut [f32]) {
    for x in xs {
        *x = exp(*x);
    }
}

/// [`exp_in_place`] compiled for AVX2: eight lanes instead of SSE2's four.
///
/// # Safety
///
/// The CPU must support AVX2.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[target_feature(enable = "avx2")]
unsafe fn exp_in_place_avx2(xs: &mut [f32]) {
    exp_loop(xs);
}

/// Odd-power coefficients `1/(2k + 1)` of `atanh(s)/s - 1`, `k = 1..=4`.
/// With `|s| <= (√2 - 1)/(√2 + 1) ≈ 0.1716` the next term is below
/// `0.1716¹⁰ / 11 ≈ 2·10⁻⁹` of the result.
const A3: f32 = 1.0 / 3.0;
const A5: f32 = 1.0 / 5.0;
const A7: f32 = 1.0 / 7.0;
const A9: f32 = 1.0 / 9.0;

/// `ln x` within 2 ulp (tested against `f64::ln` over normal and subnormal
/// inputs), with `ln 0 = -∞`, `ln ∞ = ∞`, and NaN for negative inputs and
/// NaN.
#[inline(always)]
pub(crate) fn ln(x: f32) -> f32 {
    // Subnormals are scaled by 2²³ into the normal range first.
    let subnormal = x < f32::MIN_POSITIVE;
    let scaled = if subnormal { x * 8_388_608.0 } else { x };
    let bits = scaled.to_bits() as i32;
    let exponent = ((bits >> 23) & 0xff) - 127 - if subnormal { 23 } else { 0 };
    let mantissa = f32::from_bits(((bits & 0x007f_ffff) | 0x3f80_0000) as u32);
    // Move m from [1, 2) to [√½, √2), so that |s| stays small.
    let high = mantissa > core::f32::consts::SQRT_2;
    let m = if high { mantissa * 0.5 } else { mantissa };
    let e = (exponent + if high { 1 } else { 0 }) as f32;

    let f = m - 1.0;
    let s = f / (2.0 + f);
    let s2 = s * s;
    let series = s2 * (A3 + s2 * (A5 + s2 * (A7 + s2 * A9)));
    let ln_m = 2.0 * s + 2.0 * s * series;
    let y = e * LN2_HI + (ln_m + e * LN2_LO);

    if x == 0.0 {
        f32::NEG_INFINITY
    } else if x < 0.0 || x.is_nan() {
        f32::NAN
    } else if x == f32::INFINITY {
        x
    } else {
        y
    }
}

/// Replaces every element `x` of `xs` with `ln x`, as [`ln`] does.
pub(crate) fn ln_in_place(xs: &mut [f32]) {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2.
        unsafe { ln_in_place_avx2(xs) };
        return;
    }
    ln_loop(xs);
}

#[inline(always)]
fn ln_loop(xs: &mut [f32]) {
    for x in xs {
        *x = ln(*x);
    }
}

/// [`ln_in_place`] compiled for AVX2.
///
/// # Safety
///
/// The CPU must support AVX2.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[target_feature(enable = "avx2")]
unsafe fn ln_in_place_avx2(xs: &mut [f32]) {
    ln_loop(xs);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_within_two_ulp_over_every_binade() {
        let mut worst = (0.0, 0.0f32);
        // 2000 points in each binade from the subnormals to the largest.
        for exponent in -149..128 {
            for i in 0..2000 {
                let x = 2f64.powi(exponent) * (1.0 + i as f64 / 2000.0);
                let x = x as f32;
                if !x.is_finite() || x == 0.0 {
                    continue;
                }
                let error = ulps(ln(x), (x as f64).ln());
                if error > worst.0 {
                    worst = (error, x);
                }
            }
        }
        assert!(worst.0 <= 2.0, "{} ulp at x = {:e}", worst.0, worst.1);
    }

    #[test]
    fn ln_near_one_keeps_relative_accuracy() {
        for i in 1..2000 {
            for x in [1.0 + i as f32 * 1e-6, 1.0 - i as f32 * 1e-6] {
                let error = ulps(ln(x), (x as f64).ln());
                assert!(error <= 2.0, "{error} ulp at x = {x}");
            }
        }
    }

    #[test]
    fn ln_of_edge_values() {
        assert_eq!(ln(1.0), 0.0);
        assert_eq!(ln(0.0), f32::NEG_INFINITY);
        assert_eq!(ln(-0.0), f32::NEG_INFINITY);
        assert_eq!(ln(f32::INFINITY), f32::INFINITY);
        assert!(ln(-1.0).is_nan());
        assert!(ln(f32::NEG_INFINITY).is_nan());
        assert!(ln(f32::NAN).is_nan());
        assert!(ulps(ln(f32::MAX), (f32::MAX as f64).ln()) <= 1.0);
        assert!(ulps(ln(f32::from_bits(1)), (f32::from_bits(1) as f64).ln()) <= 1.0);
        assert!(ulps(ln(core::f32::consts::E), 1.0) <= 1.0);
    }

    #[test]
    fn ln_slice_form_matches_scalar_form() {
        let mut xs: Vec<f32> = (0..1003).map(|i| i as f32 * 0.37).collect();
        xs.extend([f32::NAN, f32::INFINITY, -1.0, 0.0, 1e-42]);
        let expected: Vec<f32> = xs.iter().map(|&x| ln(x)).collect();
        ln_in_place(&mut xs);
        for (got, want) in xs.iter().zip(&expected) {
            assert!(got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()), "{got} vs {want}");
        }
    }

    /// Measures the distance from `got` to the exact `expected` in units of
    /// the `f32` spacing at `expected` (the subnormal spacing below the
    /// normal range).
    fn ulps(got: f32, expected: f64) -> f64 {
        let spacing = if expected.abs() < f32::MIN_POSITIVE as f64 {
            2f64.powi(-149)
        } else {
            let e = (expected as f32).abs();
            (f32::from_bits(e.to_bits() + 1) - e) as f64
        };
        (got as f64 - expected).abs() / spacing
    }

    #[test]
    fn exp_within_two_ulp_over_dense_sweep() {
        let mut worst = (0.0, 0.0f32);
        let steps = 1_000_000;
        for i in 0..=steps {
            let x = -104.0 + (89.0 + 104.0) * i as f64 / steps as f64;
            let x = x as f32;
            let expected = (x as f64).exp();
            if expected > f32::MAX as f64 {
                assert_eq!(exp(x), f32::INFINITY, "exp({x})");
                continue;
            }
            let error = ulps(exp(x), expected);
            if error > worst.0 {
                worst = (error, x);
            }
        }
        assert!(worst.0 <= 2.0, "{} ulp at x = {}", worst.0, worst.1);
    }

    #[test]
    fn exp_near_zero_and_reduction_edges() {
        let ln2 = core::f64::consts::LN_2;
        let mut xs: Vec<f32> = (-2000..=2000).map(|i| i as f32 * 1e-4).collect();
        for n in -150..=128 {
            // Around each (n + 1/2)·ln 2, where the rounding of n flips.
            let edge = (n as f64 + 0.5) * ln2;
            let e = edge as f32;
            xs.extend([f32::from_bits(e.to_bits().wrapping_sub(1)), e, f32::from_bits(e.to_bits() + 1)]);
        }
        for x in xs.into_iter().filter(|x| (LOW..88.7).contains(x)) {
            let error = ulps(exp(x), (x as f64).exp());
            assert!(error <= 2.0, "{error} ulp at x = {x}");
        }
    }

    #[test]
    fn exp_of_edge_values() {
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(-0.0), 1.0);
        assert_eq!(exp(f32::INFINITY), f32::INFINITY);
        assert_eq!(exp(f32::NEG_INFINITY), 0.0);
        assert!(exp(f32::NAN).is_nan());
        assert_eq!(exp(89.0), f32::INFINITY);
        assert_eq!(exp(1e30), f32::INFINITY);
        assert_eq!(exp(f32::MAX), f32::INFINITY);
        assert_eq!(exp(-104.0), 0.0);
        assert_eq!(exp(-1e30), 0.0);
        assert_eq!(exp(f32::MIN), 0.0);
        // The largest finite result and a subnormal one.
        assert!(exp(88.72).is_finite());
        let subnormal = exp(-100.0);
        assert!(subnormal > 0.0 && subnormal < f32::MIN_POSITIVE);
        assert!(ulps(subnormal, (-100f64).exp()) <= 1.0);
        assert_eq!(exp(f32::MIN_POSITIVE), 1.0);
        assert!(ulps(exp(1.0), core::f64::consts::E) <= 1.0);
    }

    #[test]
    fn slice_form_matches_scalar_form() {
        let mut xs: Vec<f32> = (0..1003).map(|i| (i as f32 - 500.0) * 0.21).collect();
        xs.extend([f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.0]);
        let expected: Vec<f32> = xs.iter().map(|&x| exp(x)).collect();
        exp_in_place(&mut xs);
        for (got, want) in xs.iter().zip(&expected) {
            assert!(got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()), "{got} vs {want}");
        }
    }
}
