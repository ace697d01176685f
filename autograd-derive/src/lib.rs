//! Proc macros for `autograd`. Use them through the `autograd` crate, which
//! re-exports them.

use proc_macro::TokenStream;

mod differentiable;

/// Generates the VJP form of a forward function at compile time.
///
/// The crate documentation of `autograd` describes what it generates and
/// which syntax it accepts.
#[proc_macro_attribute]
pub fn differentiable(attr: TokenStream, item: TokenStream) -> TokenStream {
    differentiable::expand(attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
