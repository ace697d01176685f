//! Layers, losses, optimizers and weight files for `autograd`.
#![cfg_attr(not(feature = "std"), no_std)]

#[cfg(feature = "std")]
pub mod weights;
