//! Primitive ops and their VJP rules.
//!
//! Every op `op` has a forward form and a VJP form `op_vjp`. The VJP form
//! returns the output together with one pullback per argument (the receiver
//! of a method is argument 0):
//!
//! ```text
//! x.exp()            -> y
//! x.exp_vjp()        -> (y, (pullback_x,))
//! a.mul_vjp(&b)      -> (y, (pullback_a, pullback_b))
//! x.powi_vjp(3)      -> (y, (pullback_x, NoGrad))
//! ```
//!
//! A pullback is an `FnOnce` that takes the output's cotangent by value and
//! returns the gradient of its argument. It owns what it saved from the
//! forward pass. On [`Cpu`](crate::Cpu) a saved heap tensor is a
//! reference-counted clone, so saving costs no copy, and a saved small
//! fixed-size tensor is a copy of at most 32 bytes. Arguments without a gradient (integers,
//! class indices) get [`NoGrad`](crate::NoGrad) in their slot. Splitting the
//! pullback per argument lets a caller skip the gradients it does not need:
//! the first layer of a network never computes the gradient of its input.
//!
//! `#[differentiable]` turns `a * b` into `MulVjp::mul_vjp(&a, &b)` and
//! `x.op(args)` into `x.op_vjp(args)`, and runs the pullbacks in reverse.

mod arith;
mod axis;
mod binary;
mod matmul;
mod reduce;
mod shape_ops;
mod softmax;
mod unary;

pub use arith::{AddVjp, DivVjp, MulVjp, NegVjp, SubVjp};
pub use axis::ReduceAxis;
pub use matmul::{MatMul, MatMulT};
pub use shape_ops::{RangeInBounds, ReshapeTo, SameElementCount};

use crate::device::Storage;
use crate::shape::Shape;
use crate::tensor::Tensor;
use crate::Float;

/// The VJP form of an elementwise unary op: `f` computes the output and
/// `df(x, y)` the derivative at input `x` with output `y`.
#[allow(clippy::type_complexity)]
pub(crate) fn unary_vjp<S, E, D>(
    x: &Tensor<S, E, D>,
    f: impl Fn(E) -> E,
    df: impl Fn(E, E) -> E,
) -> (Tensor<S, E, D>, (impl FnOnce(Tensor<S, E, D>) -> Tensor<S, E, D>,))
where
    S: Shape,
    E: Float,
    D: Storage<S, E>,
{
    let y = x.map(f);
    let saved_x = x.clone();
    let saved_y = y.clone();
    let pullback = move |mut grad: Tensor<S, E, D>| {
        grad.check_same_shape("pullback", &saved_x);
        let (xs, ys) = (saved_x.as_slice(), saved_y.as_slice());
        for ((g, &x), &y) in grad.as_mut_slice().iter_mut().zip(xs).zip(ys) {
            *g *= df(x, y);
        }
        grad
    };
    (y, (pullback,))
}
