//! Emits the backward pass: the pullbacks run in reverse order, and the
//! cotangent of each value collects in an `Option` slot `grad_<value>`, so
//! that a value used several times adds its contributions and a value that
//! nothing reached costs nothing.

use std::collections::HashSet;

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use super::analysis;
use super::forward::wrap_branch;
use super::ir::*;
use super::Emitter;

/// A cotangent that enters a block from outside: the output it belongs to
/// and the expression (an `Option`) that holds it.
pub struct Seed {
    pub var: Option<VarId>,
    pub cotangent: TokenStream,
}

impl Emitter<'_> {
    /// The statements that declare the slots of `block`, seed them, and run
    /// its pullbacks in reverse. The slots of `keep` are declared even when
    /// nothing reaches them, because the caller returns them.
    pub fn backward_block(&self, block: &Block, seeds: &[Seed], keep: &[VarId]) -> TokenStream {
        let mut slots: Vec<VarId> = keep.to_vec();
        for var in analysis::gradient_targets(block, self.vars) {
            if !slots.contains(&var) {
                slots.push(var);
            }
        }
        let mut declared: HashSet<VarId> = HashSet::new();
        let mut tokens = TokenStream::new();
        for seed in seeds {
            let Some(var) = seed.var.filter(|v| self.vars[*v].active) else { continue };
            let slot = self.slot(var);
            let cotangent = &seed.cotangent;
            if declared.insert(var) {
                tokens.extend(quote!(let mut #slot = #cotangent;));
            } else {
                tokens.extend(quote!(::autograd::Accumulate::accumulate(&mut #slot, #cotangent);));
            }
        }
        for var in &slots {
            if declared.insert(*var) {
                let slot = self.slot(*var);
                tokens.extend(quote!(let mut #slot = None;));
            }
        }
        for stmt in block.stmts.iter().rev() {
            tokens.extend(self.backward_stmt(stmt, &declared));
        }
        tokens
    }

    fn backward_stmt(&self, stmt: &Stmt, slots: &HashSet<VarId>) -> TokenStream {
        match stmt {
            Stmt::Const { .. } | Stmt::Verbatim(_) => quote!(),
            Stmt::Call { var, call } => {
                if !slots.contains(var) || !self.vars[*var].active {
                    return quote!();
                }
                self.backward_call(*var, call)
            }
            Stmt::Alias { var, source, .. } => {
                if !slots.contains(var) {
                    return quote!();
                }
                let (slot, source_slot) = (self.slot(*var), self.slot(*source));
                quote!(::autograd::Accumulate::accumulate(&mut #source_slot, #slot);)
            }
            Stmt::Tuple { var, elems } => {
                if !slots.contains(var) {
                    return quote!();
                }
                let slot = self.slot(*var);
                let (pattern, accumulate) = self.partials(elems);
                quote! {
                    if let Some((#(#pattern,)*)) = #slot {
                        #accumulate
                    }
                }
            }
            Stmt::Untuple { source, elems } => {
                let Some(source) = source.var.filter(|v| self.vars[*v].active) else {
                    return quote!();
                };
                let source_slot = self.slot(source);
                let parts = elems.iter().map(|v| {
                    let saved = self.saved(*v);
                    if slots.contains(v) {
                        let slot = self.slot(*v);
                        quote!(::autograd::grad_or_zero(#slot, &#saved))
                    } else {
                        quote!(::autograd::Differentiable::zero_grad(&#saved))
                    }
                });
                let partial = format_ident!("d_{}", self.name(source));
                quote! {
                    let #partial = (#(#parts,)*);
                    ::autograd::accumulate_into(&mut #source_slot, #partial);
                }
            }
            Stmt::Branch { arms, inputs, outputs, pullback, .. } => {
                if !self.is_recorded(outputs) || inputs.is_empty() {
                    return quote!();
                }
                let cotangents: Vec<TokenStream> = outputs
                    .iter()
                    .filter(|v| self.vars[**v].active)
                    .map(|v| if slots.contains(v) { self.slot(*v).into_token_stream() } else { quote!(None) })
                    .collect();
                let count = arms.len();
                let match_arms = (0..count).map(|k| {
                    let pattern = wrap_branch(k, count, quote!(pullback));
                    quote!(#pattern => pullback(#(#cotangents),*),)
                });
                let partials: Vec<Ident> = inputs.iter().map(|v| format_ident!("d_{}", self.name(*v))).collect();
                let accumulate = inputs.iter().zip(&partials).map(|(v, d)| {
                    let slot = self.slot(*v);
                    quote!(::autograd::Accumulate::accumulate(&mut #slot, #d);)
                });
                quote! {
                    let (#(#partials,)*) = match #pullback { #(#match_arms)* };
                    #(#accumulate)*
                }
            }
            Stmt::Loop { carried, inputs, pullbacks, .. } => {
                let active: Vec<&Carried> = carried.iter().filter(|c| self.vars[c.start].active).collect();
                if active.is_empty() {
                    return quote!();
                }
                let carries: Vec<Ident> = active.iter().map(|c| format_ident!("grad_{}_carry", self.name(c.after))).collect();
                let initial = active.iter().map(|c| {
                    if slots.contains(&c.after) {
                        self.slot(c.after).into_token_stream()
                    } else {
                        quote!(None)
                    }
                });
                let carried_partials: Vec<Ident> = active.iter().map(|c| format_ident!("d_{}", self.name(c.start))).collect();
                let input_partials: Vec<Ident> = inputs.iter().map(|v| format_ident!("d_{}", self.name(*v))).collect();
                let accumulate_inputs = inputs.iter().zip(&input_partials).map(|(v, d)| {
                    let slot = self.slot(*v);
                    quote!(::autograd::Accumulate::accumulate(&mut #slot, #d);)
                });
                let accumulate_before = active.iter().zip(&carries).filter_map(|(c, carry)| {
                    let before = c.before.var.filter(|v| self.vars[*v].active)?;
                    let slot = self.slot(before);
                    Some(quote!(::autograd::Accumulate::accumulate(&mut #slot, #carry);))
                });
                quote! {
                    #(let mut #carries = #initial;)*
                    for pullback in ::core::iter::Iterator::rev(::core::iter::IntoIterator::into_iter(#pullbacks)) {
                        let (#(#carried_partials,)* #(#input_partials,)*) = pullback(#(#carries),*);
                        #(#carries = #carried_partials;)*
                        #(#accumulate_inputs)*
                    }
                    #(#accumulate_before)*
                }
            }
        }
    }

    fn backward_call(&self, var: VarId, call: &Call) -> TokenStream {
        let slot = self.slot(var);
        let pullback = self.pullback(var);
        if let CallKind::Apply { .. } = call.kind {
            let operand = &call.operands[0];
            let Some(target) = operand.var.filter(|v| self.vars[*v].active) else {
                return quote!();
            };
            let target_slot = self.slot(target);
            let partial = format_ident!("d_{}", self.name(target));
            return quote! {
                if let Some(grad) = #slot {
                    let #partial = #pullback(grad);
                    ::autograd::accumulate_into(&mut #target_slot, #partial);
                }
            };
        }
        let mask = call.operands.iter().map(|o| {
            if o.var.is_some_and(|v| self.vars[v].active) {
                quote!(::autograd::Need)
            } else {
                quote!(::autograd::Skip)
            }
        });
        let (pattern, accumulate) = self.partials(&call.operands);
        quote! {
            if let Some(grad) = #slot {
                let (#(#pattern,)*) = ::autograd::Pullbacks::pull(#pullback, grad, (#(#mask,)*));
                #accumulate
            }
        }
    }

    /// Names for the gradients of `operands` (`_` for constants) and the
    /// statements that add them to their slots.
    fn partials(&self, operands: &[Operand]) -> (Vec<TokenStream>, TokenStream) {
        let mut used: Vec<String> = Vec::new();
        let mut pattern = Vec::new();
        let mut accumulate = TokenStream::new();
        for operand in operands {
            let Some(var) = operand.var.filter(|v| self.vars[*v].active) else {
                pattern.push(quote!(_));
                continue;
            };
            let mut name = format!("d_{}", self.name(var));
            let mut counter = 2;
            while used.contains(&name) {
                name = format!("d_{}_{counter}", self.name(var));
                counter += 1;
            }
            used.push(name.clone());
            let partial = Ident::new(&name, proc_macro2::Span::call_site());
            let slot = self.slot(var);
            pattern.push(quote!(#partial));
            accumulate.extend(quote!(::autograd::accumulate_into(&mut #slot, #partial);));
        }
        (pattern, accumulate)
    }

    /// The pullback of one arm: output cotangents in, input cotangents out.
    pub fn arm_pullback(&self, arm: &Arm, inputs: &[VarId], outputs: &[VarId]) -> TokenStream {
        let mut params = Vec::new();
        let mut seeds = Vec::new();
        for (k, output) in outputs.iter().enumerate() {
            if !self.vars[*output].active {
                continue;
            }
            let param = format_ident!("grad_{}", self.name(*output));
            seeds.push(Seed { var: arm.outputs[k].var, cotangent: quote!(#param) });
            params.push(quote!(#param: Option<_>));
        }
        let body = self.backward_block(&arm.block, &seeds, inputs);
        let results = inputs.iter().map(|v| self.slot(*v));
        quote! {
            move |#(#params),*| {
                #body
                (#(#results,)*)
            }
        }
    }

    /// The pullback of one loop iteration: the cotangents of the carried
    /// values at the end of the iteration in; at its start, and of the
    /// inputs, out.
    pub fn loop_pullback(&self, body: &Block, carried: &[Carried], inputs: &[VarId]) -> TokenStream {
        let active: Vec<&Carried> = carried.iter().filter(|c| self.vars[c.start].active).collect();
        let params: Vec<Ident> = active.iter().map(|c| format_ident!("grad_{}_end", self.name(c.start))).collect();
        let seeds: Vec<Seed> = active
            .iter()
            .zip(&params)
            .map(|(c, p)| Seed { var: c.end.var, cotangent: quote!(#p) })
            .collect();
        let mut keep: Vec<VarId> = active.iter().map(|c| c.start).collect();
        keep.extend(inputs);
        let block = self.backward_block(body, &seeds, &keep);
        let results = keep.iter().map(|v| self.slot(*v));
        quote! {
            move |#(#params: Option<_>),*| {
                #block
                (#(#results,)*)
            }
        }
    }
}

use quote::ToTokens;
