//! Layers, losses, optimizers and weight files for `autograd`, with
//! PyTorch's semantics.
//!
//! - [`loss`]: loss functions with typed reductions and VJP forms;
//! - [`optim`]: SGD, Adam, AdamW, RMSprop, Adagrad and learning-rate
//!   schedulers, whose state mirrors the model's gradient struct;
//! - [`layers`]: `Linear`, activations, `Flatten`, `Dropout`, and the
//!   [`Forward`](layers::Forward) trait that chains layers in tuples;
//! - `weights` (with `std`): safetensors files with PyTorch's state-dict
//!   names, loaded all-or-nothing.
//!
//! Without the `alloc` feature the crate is `#![no_std]` and works on the
//! `Inline` device with no allocation.
#![cfg_attr(not(feature = "std"), no_std)]

#[cfg(feature = "alloc")]
extern crate alloc;

#[cfg(feature = "std")]
pub mod data;
pub mod loss;
pub mod optim;
#[cfg(feature = "std")]
pub mod weights;
