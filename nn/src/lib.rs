//! Layers, losses and optimizers for `autograd`, with PyTorch's semantics.
//!
//! - [`loss`]: loss functions with typed reductions and VJP forms;
//! - [`optim`]: SGD, Adam, AdamW, RMSprop, Adagrad and learning-rate
//!   schedulers, whose state mirrors the model's gradient struct;
//! - [`layers`]: `Linear`, activations, `Flatten`, `Dropout`, and the
//!   [`Forward`](layers::Forward) trait that chains layers in tuples.
//!
//! Without the `alloc` feature the crate is `#![no_std]` and works on the
//! `Inline` device with no allocation.
#![cfg_attr(not(feature = "std"), no_std)]

#[cfg(feature = "alloc")]
extern crate alloc;

pub mod loss;

#[cfg(feature = "std")]
pub mod data;
