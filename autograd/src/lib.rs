//! Compile-time typed automatic differentiation.
//!
//! Tensors carry their shapes in their types ([`Rank2<U64, U784>`]), every
//! primitive op has a VJP rule ([`ops`]), [`Function`] takes hand-written
//! backward passes, [`Param`] and [`Module`] mark and walk what an optimizer
//! trains, and [`gradcheck()`] checks any of them against finite differences.
//!
//! # Differentiable functions
//!
//! `#[differentiable]` reads the body of a forward function and generates
//! its backward pass at compile time, so no tape is recorded at run time.
//! The generated code allocates nothing of its own, except that a loop with
//! a run-time count stores its per-iteration pullbacks in a `Vec`. For
//! `fn f(x: &X, w: &W) -> Y` it keeps `f` and adds:
//!
//! - `f_vjp(x, w) -> (Y, pullback)`, where `pullback` is one `FnOnce` that
//!   maps the output's cotangent to the gradients of all arguments,
//!   `(X::Grad, W::Grad)`, with [`NoGrad`] in the slots of constant
//!   arguments;
//! - `f_grad(x, w) -> (Y, (X::Grad, W::Grad))`: the value of a loss and its
//!   gradients (PyTorch's `loss.backward()`). It requires `Y` to be a scalar
//!   tensor `Tensor<Rank0, ..>`, so calling it on a function with a vector
//!   output is a compile error at the call (PyTorch raises at run time).
//!
//! A method `fn forward(&self, x: &X)` gets `forward_vjp(&self, x)`, whose
//! pullback returns the model's gradient struct first (`Self::Grad`, as
//! `#[derive(Module)]` generates it). Reading `self.weight` routes that
//! value's gradient into `grads.weight`, and calling `self.layer.forward(x)`
//! routes the layer's gradient into `grads.layer`. Each field's gradient
//! moves into place through [`GradParts`], and only fields that nothing
//! reached get zeros. A `#[module(constant)]` or `#[module(skip)]` field can
//! be read too; the gradient computed for it is dropped.
//!
//! An argument whose type borrows, such as `labels: &ClassIndices<'_, N, C>`,
//! is accepted: the generated functions name its `'_` lifetime, and the
//! pullback may hold the borrow until it runs.
//!
//! On a `#[derive(Module)]` struct, such a method must read every module
//! field as `self.<field>`, because a parameter that the forward pass never
//! reads would always get a zero gradient. A method that leaves a field out
//! fails to build with an error that names the field. Mark a method that
//! uses part of the model on purpose `#[differentiable(partial)]`. The check
//! runs in `cargo build`, not in `cargo check`, and it is skipped for a
//! method that uses `self` other than through its fields (such as
//! `self.hidden(x)`).
//!
//! ```
//! use autograd::typenum::U3;
//! use autograd::{differentiable, Rank0, Rank1, Tensor};
//!
//! /// The tutorial neuron: loss = (sigmoid(w·x + b) - y)².
//! #[differentiable]
//! fn loss(
//!     w: &Tensor<Rank1<U3>, f64>,
//!     b: &Tensor<Rank0, f64>,
//!     #[no_grad] x: &Tensor<Rank1<U3>, f64>,
//!     #[no_grad] y: &Tensor<Rank0, f64>,
//! ) -> Tensor<Rank0, f64> {
//!     let z = (w * x).sum() + b;
//!     let error = z.sigmoid() - y;
//!     &error * &error
//! }
//!
//! let w = Tensor::from_array([0.5, -0.5, 1.0]);
//! let b = Tensor::scalar(0.0);
//! let x = Tensor::from_array([1.0, 1.0, 0.0]);
//! let y = Tensor::scalar(1.0);
//! let (value, (grad_w, grad_b, _, _)) = loss_grad(&w, &b, &x, &y);
//!
//! // z = 0, sigmoid(0) = 1/2, loss = 1/4; dloss/dz = 2 (1/2 - 1) · 1/4 = -1/4
//! assert_eq!(value.item(), 0.25);
//! assert_eq!(grad_b.item(), -0.25);
//! assert_eq!(grad_w.as_slice(), &[-0.25, -0.25, 0.0]);
//! ```
//!
//! What the body may contain:
//!
//! - `let` bindings (names and tuples of names), shadowing and reassignment
//!   of local variables, nested expressions, `+ - * /` and unary `-`,
//!   method calls `x.op(..)` (which call `x.op_vjp(..)`), function calls
//!   `path::f(..)` (which call `path::f_vjp(..)`), [`Function`]s through
//!   `F::apply(..)`, and other `#[differentiable]` functions;
//! - constants: literals, and any value that does not depend on a
//!   differentiated argument (integers, configuration, shapes through
//!   `dims()`, `shape()`, `numel()`, `len()`); [`no_grad`] stops a gradient;
//! - `if`/`else` and `match` on constant conditions (the arm that ran is
//!   recorded in a [`Branch`]), `for` loops over ranges, and early
//!   `return`s in the arms of top-level `if`s and `match`es, nested or not.
//!   The code after such a branch moves into the arms that do not return.
//!   Tuple and struct results are accepted too (a struct's
//!   gradient type must have the same field names, as the gradient structs
//!   of `#[derive(Module)]` do).
//!
//! Arguments of primitive types (`usize`, `bool`, `f32`, ...) are constants;
//! every other argument is differentiated unless it is marked `#[no_grad]`
//! or left out of `#[differentiable(wrt(a, b))]`, and then its gradient is
//! not computed at all. A `&mut` argument must be `#[no_grad]`: the forward
//! pass may change it (a random number generator for dropout), and nothing
//! flows back into it. `while`, `loop`, closures, macros, `unsafe`, `&mut`
//! expressions and assignment through references are rejected with an error
//! that says what to write instead. A call without a derivative rule fails with
//! ``cannot find function `f_vjp` `` or ``no method named `op_vjp` ``:
//! give `f` a `#[differentiable]` attribute or write its VJP form.
//!
//! Known limits: a differentiable function called from another one computes
//! the gradients of all its differentiated arguments, even those the caller
//! drops (primitives skip them). A `for` loop over a range whose ends are
//! integer literals or upper-case constants (`0..4`, `0..STEPS`) keeps its
//! pullbacks in an array; any other range needs the `alloc` feature, because
//! its pullbacks go in a `Vec`. On the inline device without `alloc`, write
//! loop counts as constants.
#![cfg_attr(not(feature = "std"), no_std)]
#![warn(missing_docs)]
#![allow(missing_docs)] // NOTE: lifted once every public item has its docs.

#[cfg(feature = "alloc")]
extern crate alloc;

// Generated code names items as `::autograd::…`, which must resolve inside
// this crate too.
extern crate self as autograd;

pub mod device;
mod element;
mod math_f32;
pub mod function;
pub mod gemm;
pub mod grad;
#[cfg(feature = "alloc")]
pub mod gradcheck;
pub mod module;
mod module_impls;
pub mod ops;
mod param_reads;
pub mod pullbacks;
pub mod rng;
mod scalar_loss;
pub mod shape;
pub mod tensor;

pub use typenum;

#[cfg(feature = "alloc")]
pub use device::{Cpu, CpuBuf};
pub use device::{Device, Inline, Storage};
pub use element::Float;
pub use function::Function;
pub use grad::{
    accumulate_into, grad_or_zero, Accumulate, AddGrad, Differentiable, GradParts, GradSlot, Leaves, NoGrad,
};
#[cfg(feature = "alloc")]
pub use gradcheck::{gradcheck, gradcheck_function, GradcheckError, GradcheckOptions};
pub use autograd_derive::{differentiable, Module};
pub use module::{Module, ModuleRepr, Param, ParamListing, ParamName, StaticModule};
pub use ops::{AddVjp, DivVjp, MatMul, MatMulT, MulVjp, NegVjp, ReduceAxis, ReshapeTo, SubVjp};
#[doc(hidden)]
pub use pullbacks::__private;
pub use pullbacks::{no_grad, Branch, Need, Pullbacks, Skip};
pub use rng::Rng;
pub use shape::{ConstShape, Dim, Dyn, InlineShape, Rank0, Rank1, Rank2, Rank3, Rank4, Shape};
pub use tensor::{ArrayData, ShapeError, Tensor};
