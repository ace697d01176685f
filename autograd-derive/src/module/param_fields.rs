//! The list of module fields that `#[differentiable]` methods check their
//! reads against (see `autograd::__private::check_param_reads`).

use proc_macro2::TokenStream;
use quote::quote;

use super::ast::Container;

/// `impl Net { const __AUTOGRAD_PARAM_FIELDS = &[(field, message), ...]; }`:
/// one entry per module field, with the error a method that never reads
/// that field fails with.
pub fn emit_param_fields(container: &Container<'_>) -> TokenStream {
    let ident = container.ident;
    let (impl_generics, ty_generics, where_clause) = container.generics.split_for_impl();
    let entries = container.module_fields().map(|field| {
        let name = &field.name;
        let message = format!(
            "this `#[differentiable]` method of `{ident}` never reads the module field \
             `{name}`, so the parameters in `{name}` would always get a zero gradient: use \
             `self.{name}` in the forward pass, remove the field, or mark the method \
             `#[differentiable(partial)]` if it is meant to use only part of the model"
        );
        quote!((#name, #message))
    });
    quote! {
        #[automatically_derived]
        impl #impl_generics #ident #ty_generics #where_clause {
            #[doc(hidden)]
            #[allow(dead_code)]
            const __AUTOGRAD_PARAM_FIELDS: &'static [(&'static str, &'static str)] = &[#(#entries),*];
        }
    }
}
