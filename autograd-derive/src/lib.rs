//! Proc macros for `autograd`. Use them through the `autograd` crate, which
//! re-exports them.
