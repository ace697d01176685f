//! Finite-difference checking of gradients, in `f64`.

use alloc::vec::Vec;
use core::fmt;

use crate::function::Function;
use crate::grad::{Differentiable, Leaves};

/// Tolerances and step size for [`gradcheck`]; the defaults are PyTorch's
/// (`torch.autograd.gradcheck`: `eps=1e-6`, `atol=1e-5`, `rtol=1e-3`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GradcheckOptions {
    /// The finite-difference step.
    pub eps: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// Relative tolerance, against the numerical value.
    pub rtol: f64,
}

impl Default for GradcheckOptions {
    fn default() -> Self {
        GradcheckOptions {
            eps: 1e-6,
            atol: 1e-5,
            rtol: 1e-3,
        }
    }
}

/// The first Jacobian entry where the analytical and numerical gradients
/// disagree, or a forward that the vjp form computes differently.
#[derive(Clone, Debug, PartialEq)]
pub enum GradcheckError {
    /// `d output[output_index] / d input[input_index]` differs.
    Mismatch {
        input_index: usize,
        output_index: usize,
        analytical: f64,
        numerical: f64,
    },
    /// The value returned with the pullback is not the forward's value.
    ForwardMismatch {
        output_index: usize,
        forward: f64,
        vjp: f64,
    },
    /// The pullback returned a gradient with another number of elements than
    /// the input.
    GradientSize { expected: usize, found: usize },
}

impl fmt::Display for GradcheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GradcheckError::Mismatch {
                input_index,
                output_index,
                analytical,
                numerical,
            } => write!(
                f,
                "gradient of output element {output_index} with respect to input element \
                 {input_index}: analytical {analytical:e}, numerical {numerical:e}"
            ),
            GradcheckError::ForwardMismatch {
                output_index,
                forward,
                vjp,
            } => write!(
                f,
                "output element {output_index}: forward gives {forward:e} but the vjp form \
                 gives {vjp:e}"
            ),
            GradcheckError::GradientSize { expected, found } => write!(
                f,
                "the pullback returned {found} gradient elements for an input of {expected}"
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for GradcheckError {}

fn flatten<T: Leaves<f64> + ?Sized>(value: &T) -> Vec<f64> {
    let mut out = Vec::new();
    value.visit_leaves(&mut |x| out.extend_from_slice(x));
    out
}

fn set_flat<T: Leaves<f64> + ?Sized>(value: &mut T, index: usize, to: f64) {
    let mut offset = 0;
    value.visit_leaves_mut(&mut |x| {
        if (offset..offset + x.len()).contains(&index) {
            x[index - offset] = to;
        }
        offset += x.len();
    });
}

/// Checks a pullback against central differences of the forward, entry by
/// entry of the Jacobian.
///
/// `forward` computes the output; `vjp` computes it together with a pullback
/// that maps an output cotangent to the input's gradient. For each output
/// element `j`, the pullback of the unit cotangent `e_j` gives row `j` of the
/// analytical Jacobian; each input element `i` is moved by `±eps` for the
/// numerical column `i`. An entry passes when
/// `|analytical - numerical| <= atol + rtol * |numerical|`.
///
/// Cost: `2 · inputs` forward calls and `outputs` pullbacks, so keep test
/// inputs small.
///
/// # Errors
/// The first entry that fails, with its indices and both values.
///
/// ```
/// use autograd::{gradcheck, GradcheckOptions, Tensor, Rank1, typenum::U3};
///
/// let x: Tensor<Rank1<U3>, f64> = Tensor::from_array([0.5, -1.0, 2.0]);
/// gradcheck(|x: &Tensor<Rank1<U3>, f64>| x.exp(), |x| {
///     let (y, (pullback,)) = x.exp_vjp();
///     (y, pullback)
/// }, &x, GradcheckOptions::default()).unwrap();
/// ```
pub fn gradcheck<X, Y, P>(
    forward: impl Fn(&X) -> Y,
    vjp: impl Fn(&X) -> (Y, P),
    input: &X,
    options: GradcheckOptions,
) -> Result<(), GradcheckError>
where
    X: Differentiable + Leaves<f64> + Clone,
    X::Grad: Leaves<f64>,
    Y: Leaves<f64> + Clone,
    P: FnOnce(Y) -> X::Grad,
{
    let n_in = input.leaf_numel();
    let y0 = forward(input);
    let y0_flat = flatten(&y0);
    let n_out = y0_flat.len();

    let (y_vjp, _) = vjp(input);
    for (j, (&a, &b)) in y0_flat.iter().zip(&flatten(&y_vjp)).enumerate() {
        let same = a == b || (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-12 * a.abs().max(1.0);
        if !same {
            return Err(GradcheckError::ForwardMismatch {
                output_index: j,
                forward: a,
                vjp: b,
            });
        }
    }

    // analytical[j * n_in + i] = d y_j / d x_i
    let mut analytical = Vec::with_capacity(n_in * n_out);
    for j in 0..n_out {
        let mut cotangent = y0.clone();
        cotangent.fill_zero();
        set_flat(&mut cotangent, j, 1.0);
        let (_, pullback) = vjp(input);
        let row = flatten(&pullback(cotangent));
        if row.len() != n_in {
            return Err(GradcheckError::GradientSize {
                expected: n_in,
                found: row.len(),
            });
        }
        analytical.extend(row);
    }

    let x_flat = flatten(input);
    for i in 0..n_in {
        let mut plus = input.clone();
        set_flat(&mut plus, i, x_flat[i] + options.eps);
        let mut minus = input.clone();
        set_flat(&mut minus, i, x_flat[i] - options.eps);
        let (y_plus, y_minus) = (flatten(&forward(&plus)), flatten(&forward(&minus)));
        for j in 0..n_out {
            let numerical = (y_plus[j] - y_minus[j]) / (2.0 * options.eps);
            let a = analytical[j * n_in + i];
            // Written so that a NaN on either side fails the check.
            let within = (a - numerical).abs() <= options.atol + options.rtol * numerical.abs();
            if !within {
                return Err(GradcheckError::Mismatch {
                    input_index: i,
                    output_index: j,
                    analytical: a,
                    numerical,
                });
            }
        }
    }
    Ok(())
}

/// Runs [`gradcheck`] on a [`Function`] at `input`.
///
/// # Errors
/// As [`gradcheck`].
pub fn gradcheck_function<F>(input: &F::Input, options: GradcheckOptions) -> Result<(), GradcheckError>
where
    F: Function,
    F::Input: Leaves<f64> + Clone,
    <F::Input as Differentiable>::Grad: Leaves<f64>,
    F::Output: Leaves<f64> + Clone + Differentiable<Grad = F::Output>,
{
    gradcheck(F::apply, |x| F::apply_vjp(x), input, options)
}
