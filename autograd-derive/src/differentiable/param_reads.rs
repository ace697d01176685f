//! The check that a `&self` method reads every module field of its model.
//!
//! The method's `_vjp` form gets an inline `const` block that compares the
//! fields its body reads as `self.<field>` with the list that
//! `#[derive(Module)]` emits. A
//! type without the derive has an empty list, so the check passes there.
//! `#[differentiable(partial)]` turns the check off.

use proc_macro2::TokenStream;
use quote::{quote_spanned, ToTokens};
use syn::ext::IdentExt;
use syn::visit::Visit;

/// Prepends the check to the body of the generated `_vjp` form of
/// `function`, through which every gradient of the method is computed (the
/// `_grad` form calls it). The plain method computes no gradient, so it is
/// left as written.
///
/// Skips a function without a `self` receiver, one marked `partial`, and
/// one that uses `self` other than as `self.<field>`, because a call such as
/// `self.hidden(x)` may read any field.
pub fn insert_check(function: &syn::ItemFn, vjp: &mut TokenStream, partial: bool) {
    if partial || function.sig.receiver().is_none() {
        return;
    }
    let mut reads = FieldReads::default();
    reads.visit_block(&function.block);
    if reads.self_used_otherwise {
        return;
    }

    let fields = reads.fields;
    let span = function.sig.ident.span();
    let check: TokenStream = quote_spanned! {span=>
        const {
            #[allow(unused_imports)]
            use ::autograd::__private::ParamFieldsFallback as _;
            ::autograd::__private::check_param_reads(Self::__AUTOGRAD_PARAM_FIELDS, &[#(#fields),*])
        };
    };
    if let Ok(mut vjp_function) = syn::parse2::<syn::ItemFn>(vjp.clone()) {
        let statement = syn::Stmt::Expr(syn::Expr::Verbatim(check), None);
        vjp_function.block.stmts.insert(0, statement);
        *vjp = vjp_function.into_token_stream();
    }
}

#[derive(Default)]
struct FieldReads {
    fields: Vec<String>,
    self_used_otherwise: bool,
}

impl<'ast> Visit<'ast> for FieldReads {
    fn visit_expr_field(&mut self, field: &'ast syn::ExprField) {
        if is_self(&field.base) {
            let name = match &field.member {
                syn::Member::Named(ident) => ident.unraw().to_string(),
                syn::Member::Unnamed(index) => index.index.to_string(),
            };
            if !self.fields.contains(&name) {
                self.fields.push(name);
            }
        } else {
            syn::visit::visit_expr_field(self, field);
        }
    }

    fn visit_expr_path(&mut self, path: &'ast syn::ExprPath) {
        if path.path.is_ident("self") {
            self.self_used_otherwise = true;
        }
    }
}

fn is_self(expr: &syn::Expr) -> bool {
    matches!(expr, syn::Expr::Path(path) if path.qself.is_none() && path.path.is_ident("self"))
}
