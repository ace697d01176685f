//! Compile-time typed automatic differentiation.
//!
//! Tensors carry their shapes in their types ([`Rank2<U64, U784>`]), every
//! primitive op has a VJP rule ([`ops`]), [`Function`] takes hand-written
//! backward passes, [`Param`] and [`Module`] mark and walk what an optimizer
//! trains, and [`gradcheck()`] checks any of them against finite differences.
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
pub mod function;
pub mod gemm;
pub mod grad;
#[cfg(feature = "alloc")]
pub mod gradcheck;
pub mod module;
mod module_impls;
pub mod ops;
pub mod pullbacks;
pub mod rng;
pub mod shape;
pub mod tensor;

pub use typenum;

#[cfg(feature = "alloc")]
pub use device::Cpu;
pub use device::{Device, Inline, Storage};
pub use element::Float;
pub use function::Function;
pub use grad::{accumulate_into, grad_or_zero, Accumulate, Differentiable, Leaves, NoGrad};
#[cfg(feature = "alloc")]
pub use gradcheck::{gradcheck, gradcheck_function, GradcheckError, GradcheckOptions};
pub use autograd_derive::{differentiable, Module};
pub use module::{Module, ModuleRepr, Param, ParamName, StaticModule};
pub use ops::{AddVjp, DivVjp, MatMul, MatMulT, MulVjp, NegVjp, ReduceAxis, ReshapeTo, SubVjp};
#[doc(hidden)]
pub use pullbacks::__private;
pub use pullbacks::{no_grad, Branch, Need, Pullbacks, Skip};
pub use rng::Rng;
pub use shape::{ConstShape, Dim, Dyn, InlineShape, Rank0, Rank1, Rank2, Rank3, Rank4, Shape};
pub use tensor::{ArrayData, ShapeError, Tensor};
