//! Emits the forward pass: each primitive through its VJP form, keeping
//! the pullbacks under `<value>_pullback`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};

use super::ir::*;
use super::Emitter;

impl Emitter<'_> {
    pub fn forward_block(&self, block: &Block) -> TokenStream {
        block.stmts.iter().map(|stmt| self.forward_stmt(stmt)).collect()
    }

    fn forward_stmt(&self, stmt: &Stmt) -> TokenStream {
        match stmt {
            Stmt::Const { mutable, expr, .. } => {
                let mutability = mutable.then(|| quote!(mut));
                quote!(let #mutability #expr;)
            }
            Stmt::Verbatim(tokens) => tokens.clone(),
            Stmt::Call { var, call } => {
                let name = self.name(*var);
                let pullback = self.pullback(*var);
                let call_tokens = self.call_tokens(call);
                let skips = call.operands.iter().any(|o| !o.var.is_some_and(|v| self.vars[v].active));
                if skips && !matches!(call.kind, CallKind::Apply { .. }) {
                    // Drop the pullbacks of constant operands now, with what
                    // they saved, rather than carry them to the backward pass.
                    let mask = self.mask(call);
                    quote! {
                        let (#name, #pullback) = #call_tokens;
                        let #pullback = ::autograd::Pullbacks::keep(#pullback, #mask);
                    }
                } else {
                    quote!(let (#name, #pullback) = #call_tokens;)
                }
            }
            Stmt::Alias { var, expr, .. } => {
                let name = self.name(*var);
                quote!(let #name = #expr;)
            }
            Stmt::Tuple { var, elems } => {
                let name = self.name(*var);
                let elems = elems.iter().map(|e| &e.tokens);
                quote!(let #name = (#(#elems,)*);)
            }
            Stmt::Struct { var, path, fields } => {
                let name = self.name(*var);
                let fields = fields.iter().map(|(field, value)| {
                    let value = &value.tokens;
                    quote!(#field: #value)
                });
                quote!(let #name = #path { #(#fields),* };)
            }
            Stmt::Untuple { source, elems } => {
                let names: Vec<_> = elems.iter().map(|v| self.name(*v)).collect();
                let saved = elems.iter().map(|v| {
                    let name = self.name(*v);
                    let saved = self.saved(*v);
                    quote!(let #saved = ::core::clone::Clone::clone(&#name);)
                });
                let source = &source.tokens;
                quote! {
                    let (#(#names,)*) = #source;
                    #(#saved)*
                }
            }
            Stmt::Branch { selector, arms, inputs, outputs, pullback, span } => {
                self.forward_branch(selector, arms, inputs, outputs, pullback, *span)
            }
            Stmt::Loop { pat, range, body, carried, inputs, pullbacks, count, span } => {
                self.forward_loop(pat, range, body, carried, inputs, pullbacks, count.as_ref(), *span)
            }
        }
    }

    /// Emits the VJP form of a call, with the span of the user's operator or
    /// name so that a missing rule is reported there.
    fn call_tokens(&self, call: &Call) -> TokenStream {
        let span = call.span;
        let by_ref = |o: &Operand| {
            let tokens = &o.tokens;
            if o.is_ref {
                tokens.clone()
            } else {
                quote!(&#tokens)
            }
        };
        match &call.kind {
            CallKind::Binary { method, trait_name } => {
                let (lhs, rhs) = (by_ref(&call.operands[0]), by_ref(&call.operands[1]));
                quote_spanned!(span=> ::autograd::#trait_name::#method(#lhs, #rhs))
            }
            CallKind::Neg => {
                let x = by_ref(&call.operands[0]);
                quote_spanned!(span=> ::autograd::NegVjp::neg_vjp(#x))
            }
            CallKind::Method { vjp_name, turbofish } => {
                let receiver = &call.operands[0].tokens;
                let receiver = match receiver.to_string().chars().next() {
                    Some('&') | Some('-') | Some('!') => quote!((#receiver)),
                    _ => receiver.clone(),
                };
                let args = call.operands[1..].iter().map(|o| &o.tokens);
                quote_spanned!(span=> #receiver.#vjp_name #turbofish(#(#args),*))
            }
            CallKind::Path { vjp_path } | CallKind::Apply { vjp_path } => {
                let args = call.operands.iter().map(|o| &o.tokens);
                quote_spanned!(span=> #vjp_path(#(#args),*))
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn forward_branch(
        &self,
        selector: &Selector,
        arms: &[Arm],
        inputs: &[VarId],
        outputs: &[VarId],
        pullback: &proc_macro2::Ident,
        span: proc_macro2::Span,
    ) -> TokenStream {
        let names: Vec<_> = outputs.iter().map(|v| self.name(*v)).collect();
        let records = self.is_recorded(outputs);
        let count = arms.len();
        let arm_bodies: Vec<TokenStream> = arms
            .iter()
            .enumerate()
            .map(|(k, arm)| {
                let stmts = self.forward_block(&arm.block);
                let values = arm.outputs.iter().map(|o| &o.tokens);
                let record = records.then(|| {
                    let closure = self.arm_pullback(arm, inputs, outputs);
                    let wrapped = wrap_branch(k, count, closure);
                    quote!(#wrapped,)
                });
                quote!({
                    #stmts
                    (#(#values,)* #record)
                })
            })
            .collect();
        let pattern = records.then(|| quote!(#pullback,));
        let selected = match selector {
            Selector::If(cond) => {
                let (then_body, else_body) = (&arm_bodies[0], &arm_bodies[1]);
                quote_spanned!(span=> if #cond #then_body else #else_body)
            }
            Selector::Match(scrutinee) => {
                let heads = arms.iter().map(|a| a.head.clone().unwrap_or_default());
                quote_spanned!(span=> match #scrutinee { #(#heads => #arm_bodies)* })
            }
        };
        quote!(let (#(#names,)* #pattern) = #selected;)
    }

    #[allow(clippy::too_many_arguments)]
    fn forward_loop(
        &self,
        pat: &TokenStream,
        range: &TokenStream,
        body: &Block,
        carried: &[Carried],
        inputs: &[VarId],
        pullbacks: &proc_macro2::Ident,
        count: Option<&TokenStream>,
        span: proc_macro2::Span,
    ) -> TokenStream {
        let carries: Vec<_> = carried.iter().map(|c| format_ident!("{}_carry", self.name(c.after))).collect();
        let befores = carried.iter().map(|c| &c.before.tokens);
        let starts = carried.iter().map(|c| self.name(c.start));
        let ends = carried.iter().map(|c| &c.end.tokens);
        let afters = carried.iter().map(|c| self.name(c.after));
        let stmts = self.forward_block(body);
        let records = carried.iter().any(|c| self.vars[c.start].active);
        let iteration = format_ident!("{}_index", pullbacks);
        let (new_record, push_record, head) = match (records, count) {
            (false, _) => (quote!(), quote!(), quote!(#pat in #range)),
            (true, None) => {
                let closure = self.loop_pullback(body, carried, inputs);
                (
                    quote!(let mut #pullbacks = ::autograd::__private::Vec::new();),
                    quote!(#pullbacks.push(#closure);),
                    quote!(#pat in #range),
                )
            }
            // A constant count keeps the pullbacks in an array, so the loop
            // allocates nothing.
            (true, Some(count)) => {
                let closure = self.loop_pullback(body, carried, inputs);
                (
                    quote!(let mut #pullbacks: [Option<_>; #count] = [const { None }; #count];),
                    quote!(#pullbacks[#iteration] = Some(#closure);),
                    quote!((#iteration, #pat) in ::core::iter::Iterator::enumerate(#range)),
                )
            }
        };
        quote_spanned! {span=>
            #(let mut #carries = #befores;)*
            #new_record
            for #head {
                #(let #starts = #carries;)*
                #stmts
                #(#carries = #ends;)*
                #push_record
            }
            #(let #afters = #carries;)*
        }
    }
}

/// Arm `k` of `count` as a nested `::autograd::Branch`: `Then(p)`,
/// `Else(Then(p))`, ..., and `Else(Else(..(p)))` for the last arm.
pub fn wrap_branch(k: usize, count: usize, inner: TokenStream) -> TokenStream {
    let mut tokens = if k + 1 == count && count > 1 { inner } else { quote!(::autograd::Branch::Then(#inner)) };
    if count == 1 {
        return quote!(::autograd::Branch::Then(#tokens));
    }
    for _ in 0..k {
        tokens = quote!(::autograd::Branch::Else(#tokens));
    }
    tokens
}
