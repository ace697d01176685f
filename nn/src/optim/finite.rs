//! The gradient check behind [`Optimizer::try_step`](super::Optimizer::try_step).

use alloc::string::{String, ToString};
use core::fmt;

use autograd::{Float, Module};

/// The error of [`Optimizer::try_step`](super::Optimizer::try_step): an
/// element of a gradient is NaN or infinite, so the step was not taken and
/// neither the model nor the optimizer's state changed.
#[derive(Clone, Debug)]
pub struct NonFiniteGradient {
    /// The state-dict name of the parameter, such as `l1.weight`. It is
    /// empty when the model is a single `Param`.
    pub param: String,
    /// The row-major index of the first non-finite element in that
    /// parameter's gradient.
    pub index: usize,
    /// That element, converted to `f64`: NaN, `inf` or `-inf`.
    pub value: f64,
}

impl fmt::Display for NonFiniteGradient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.param.is_empty() {
            f.write_str("the gradient of the model's parameter")?;
        } else {
            write!(f, "the gradient of `{}`", self.param)?;
        }
        write!(
            f,
            " is {} at element {}, so the optimizer skipped the step and left the model \
             unchanged. Check this batch's loss and data, or lower the learning rate",
            self.value, self.index
        )
    }
}

impl core::error::Error for NonFiniteGradient {}

/// Finds the first NaN or infinite gradient element, in the order of the
/// model's parameters.
pub(super) fn first_non_finite<M: Module>(model: &mut M, grads: &M::Grads) -> Option<NonFiniteGradient> {
    let mut leaf = 0usize;
    let mut found: Option<(usize, usize, f64)> = None;
    model.lockstep(grads, [], &mut |_, grad, []| {
        if found.is_none() {
            if let Some(index) = grad.iter().position(|g| !g.is_finite()) {
                found = Some((leaf, index, Float::to_f64(grad[index])));
            }
        }
        leaf += 1;
    });
    let (found_leaf, index, value) = found?;

    // `visit_params` walks the parameters in the order of `lockstep`.
    let mut position = 0usize;
    let mut param = String::new();
    model.visit_params(None, &mut |name, _, _| {
        if position == found_leaf {
            param = name.to_string();
        }
        position += 1;
    });
    Some(NonFiniteGradient { param, index, value })
}
