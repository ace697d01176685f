//! The `_grad` function for an output that is not written `Tensor<Rank0, ..>`.

use quote::ToTokens;

/// Returns a copy of `function` whose where clause requires the output to be
/// `autograd::__private::ScalarLoss`, so that `f_grad` on a vector output
/// fails at the call with that trait's message, and an output alias of a
/// scalar tensor still gets a working `f_grad`.
///
/// The `for<'__loss>` binder keeps rustc from rejecting the bound where the
/// function is defined when the output type is concrete and not a scalar:
/// a bound with a binder is checked where it is used.
pub fn require_scalar_output(function: &syn::ItemFn) -> syn::ItemFn {
    let mut guarded = function.clone();
    // Unlike the `_grad` of a scalar loss, this one exists only to give its
    // callers a clear error, so it is not worth a warning when unused.
    guarded.attrs.push(syn::parse_quote!(#[allow(dead_code)]));
    if let syn::ReturnType::Type(_, output) = &function.sig.output {
        let output = output.to_token_stream();
        guarded
            .sig
            .generics
            .make_where_clause()
            .predicates
            .push(syn::parse_quote!(for<'__loss> #output: ::autograd::__private::ScalarLoss));
    }
    guarded
}
