//! Proc macros for `autograd`. Use them through the `autograd` crate, which
//! re-exports them.

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

mod differentiable;
mod module;

/// Derives `autograd::Module` for a struct of parameters and layers, with a
/// mirrored gradient struct `<Name>Grads` and a PyTorch-like `Display`.
///
/// See the `Module` trait in `autograd` for what the generated code does and
/// for the `#[module(skip)]` and `#[module(constant)]` field attributes.
#[proc_macro_derive(Module, attributes(module))]
pub fn derive_module(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    module::expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

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
