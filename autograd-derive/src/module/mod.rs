//! `#[derive(Module)]`, in the stages of serde_derive: parse the input into
//! this macro's own AST while reading the `#[module(...)]` attributes
//! ([`ast`], [`attr`]), check what the types cannot ([`check`]), then emit
//! one item per function ([`emit`]). Every stage collects its errors, with
//! their spans, into one [`Errors`] value, so a user sees all of them in one
//! build, and the macro never panics.

mod ast;
mod attr;
mod check;
mod emit;
mod param_fields;

use proc_macro2::TokenStream;
use syn::DeriveInput;

/// Expands `#[derive(Module)]` on `input`, or returns every error found.
pub fn expand(input: &DeriveInput) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    let container = ast::Container::from_ast(input, &mut errors);
    if let Some(container) = &container {
        check::check(container, &mut errors);
    }
    errors.finish()?;

    match container {
        Some(container) => {
            let mut tokens = emit::emit(&container);
            tokens.extend(param_fields::emit_param_fields(&container));
            Ok(tokens)
        }
        // `from_ast` returns `None` only after recording an error.
        None => Ok(TokenStream::new()),
    }
}

/// The errors of one expansion, combined into one `syn::Error` so that each
/// keeps its own span.
#[derive(Default)]
pub struct Errors(Option<syn::Error>);

impl Errors {
    pub fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(first) => first.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub fn finish(self) -> syn::Result<()> {
        match self.0 {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}
