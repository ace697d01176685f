//! Emits the backward pass: the pullbacks run in reverse order, and the
//! cotangent of each value collects in an `Option` slot `grad_<value>`, so
//! that a value used several times adds its contributions and a value that
//! nothing reached costs nothing.
//!
//! A value that gets exactly one contribution, from a pullback that always
//! runs, needs no `Option`: its slot is bound directly to that gradient
//! (`let (grad_z,) = pull(..)`), as a person would write the chain by hand.

use std::collections::{HashMap, HashSet};

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
    /// The cotangent itself when it is always present (`cotangent` is then
    /// `Some(present)`).
    pub present: Option<TokenStream>,
}

impl Emitter<'_> {
    /// Emits the statements that declare the slots of `block`, seed them,
    /// and run its pullbacks in reverse. The slots of `keep` are declared even when
    /// nothing reaches them, because the caller returns them.
    pub fn backward_block(&self, block: &Block, seeds: &[Seed], keep: &[VarId]) -> TokenStream {
        let mut slots: Vec<VarId> = keep.to_vec();
        for var in analysis::gradient_targets(block, self.vars) {
            if !slots.contains(&var) {
                slots.push(var);
            }
        }
        let direct = self.direct_slots(block, seeds, keep);
        let mut declared: HashSet<VarId> = HashSet::new();
        let mut tokens = TokenStream::new();
        for seed in seeds {
            let Some(var) = seed.var.filter(|v| self.vars[*v].active) else { continue };
            let slot = self.slot(var);
            let cotangent = &seed.cotangent;
            if self.targets.contains_key(&var) {
                declared.insert(var);
                tokens.extend(self.add_to(var, cotangent.clone(), true));
            } else if !declared.insert(var) {
                tokens.extend(quote!(::autograd::Accumulate::accumulate(&mut #slot, #cotangent);));
            } else if let (true, Some(present)) = (direct.contains(&var), &seed.present) {
                tokens.extend(quote!(let #slot = #present;));
            } else {
                tokens.extend(quote!(let mut #slot = #cotangent;));
            }
        }
        for var in &slots {
            if declared.insert(*var) && !direct.contains(var) && !self.targets.contains_key(var) {
                let slot = self.slot(*var);
                tokens.extend(quote!(let mut #slot = None;));
            }
        }
        for stmt in block.stmts.iter().rev() {
            tokens.extend(self.backward_stmt(stmt, &declared, &direct));
        }
        tokens
    }

    /// Finds the values of `block` whose gradient is always present and comes from
    /// one place, so that it needs no `Option` slot: a seed that is always
    /// present, or the single contribution of a call whose own gradient is
    /// direct. Only values that a call defines qualify, because only
    /// `backward_call` reads a direct slot; the values in `keep` are
    /// returned as `Option`s and never qualify.
    fn direct_slots(&self, block: &Block, seeds: &[Seed], keep: &[VarId]) -> HashSet<VarId> {
        let active = |operand: &Operand| operand.var.filter(|v| self.vars[*v].active);
        let mut contributions: HashMap<VarId, usize> = HashMap::new();
        let mut count = |var: Option<VarId>| {
            if let Some(var) = var {
                *contributions.entry(var).or_default() += 1;
            }
        };
        for seed in seeds {
            count(seed.var);
        }
        for stmt in &block.stmts {
            match stmt {
                Stmt::Const { .. } | Stmt::Verbatim(_) => {}
                Stmt::Call { call, .. } => call.operands.iter().for_each(|o| count(active(o))),
                Stmt::Alias { source, .. } => count(Some(*source)),
                Stmt::Tuple { elems, .. } => elems.iter().for_each(|o| count(active(o))),
                Stmt::Struct { fields, .. } => fields.iter().for_each(|(_, o)| count(active(o))),
                Stmt::Untuple { source, .. } => count(active(source)),
                Stmt::Branch { inputs, .. } => inputs.iter().for_each(|v| count(Some(*v))),
                Stmt::Loop { inputs, carried, .. } => {
                    inputs.iter().for_each(|v| count(Some(*v)));
                    carried.iter().for_each(|c| count(active(&c.before)));
                }
            }
        }
        let defined_by_call: HashSet<VarId> = block
            .stmts
            .iter()
            .filter_map(|stmt| match stmt {
                Stmt::Call { var, .. } => Some(*var),
                _ => None,
            })
            .collect();
        let qualifies = |var: VarId| {
            self.vars[var].active
                && defined_by_call.contains(&var)
                && !keep.contains(&var)
                && contributions.get(&var) == Some(&1)
        };

        let mut direct = HashSet::new();
        for seed in seeds {
            if let (Some(var), Some(_)) = (seed.var, &seed.present) {
                if qualifies(var) {
                    direct.insert(var);
                }
            }
        }
        for stmt in block.stmts.iter().rev() {
            if let Stmt::Call { var, call } = stmt {
                if direct.contains(var) {
                    for operand in call.operands.iter().filter_map(active) {
                        if qualifies(operand) {
                            direct.insert(operand);
                        }
                    }
                }
            }
        }
        direct
    }

    fn backward_stmt(&self, stmt: &Stmt, slots: &HashSet<VarId>, direct: &HashSet<VarId>) -> TokenStream {
        match stmt {
            Stmt::Const { .. } | Stmt::Verbatim(_) => quote!(),
            Stmt::Call { var, call } => {
                if !slots.contains(var) || !self.vars[*var].active {
                    return quote!();
                }
                self.backward_call(*var, call, direct)
            }
            Stmt::Alias { var, source, .. } => {
                if !slots.contains(var) {
                    return quote!();
                }
                let slot = self.slot(*var);
                self.add_to(*source, quote!(#slot), true)
            }
            Stmt::Tuple { var, elems } => {
                if !slots.contains(var) {
                    return quote!();
                }
                let slot = self.slot(*var);
                let (pattern, accumulate) = self.partials(elems, &HashSet::new());
                quote! {
                    if let Some((#(#pattern,)*)) = #slot {
                        #accumulate
                    }
                }
            }
            Stmt::Struct { var, fields, .. } => {
                if !slots.contains(var) {
                    return quote!();
                }
                let slot = self.slot(*var);
                let accumulate = fields.iter().filter_map(|(field, value)| {
                    let target = value.var.filter(|v| self.vars[*v].active)?;
                    Some(self.add_to(target, quote!(grad.#field), false))
                });
                quote! {
                    if let Some(grad) = #slot {
                        #(#accumulate)*
                    }
                }
            }
            Stmt::Untuple { source, elems } => {
                let Some(source) = source.var.filter(|v| self.vars[*v].active) else {
                    return quote!();
                };
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
                let add = self.add_to(source, quote!(#partial), false);
                quote! {
                    let #partial = (#(#parts,)*);
                    #add
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
                let accumulate = inputs.iter().zip(&partials).map(|(v, d)| self.add_to(*v, quote!(#d), true));
                quote! {
                    let (#(#partials,)*) = match #pullback { #(#match_arms)* };
                    #(#accumulate)*
                }
            }
            Stmt::Loop { carried, inputs, pullbacks, count, .. } => {
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
                let accumulate_inputs: Vec<TokenStream> =
                    inputs.iter().zip(&input_partials).map(|(v, d)| self.add_to(*v, quote!(#d), true)).collect();
                let accumulate_before = active.iter().zip(&carries).filter_map(|(c, carry)| {
                    let before = c.before.var.filter(|v| self.vars[*v].active)?;
                    Some(self.add_to(before, quote!(#carry), true))
                });
                let recorded = quote!(::core::iter::IntoIterator::into_iter(#pullbacks));
                let recorded = match count {
                    Some(_) => quote!(::core::iter::Iterator::flatten(#recorded)),
                    None => recorded,
                };
                quote! {
                    #(let mut #carries = #initial;)*
                    for pullback in ::core::iter::Iterator::rev(#recorded) {
                        let (#(#carried_partials,)* #(#input_partials,)*) = pullback(#(#carries),*);
                        #(#carries = #carried_partials;)*
                        #(#accumulate_inputs)*
                    }
                    #(#accumulate_before)*
                }
            }
        }
    }

    fn backward_call(&self, var: VarId, call: &Call, direct: &HashSet<VarId>) -> TokenStream {
        let slot = self.slot(var);
        let pullback = self.pullback(var);
        let run = |body: TokenStream| {
            if direct.contains(&var) {
                quote! {
                    let grad = #slot;
                    #body
                }
            } else {
                quote! {
                    if let Some(grad) = #slot {
                        #body
                    }
                }
            }
        };
        if let CallKind::Apply { .. } = call.kind {
            let operand = &call.operands[0];
            let Some(target) = operand.var.filter(|v| self.vars[*v].active) else {
                return quote!();
            };
            if direct.contains(&target) {
                let target_slot = self.slot(target);
                return run(quote!(let #target_slot = #pullback(grad);));
            }
            let partial = format_ident!("d_{}", self.name(target));
            let add = self.add_to(target, quote!(#partial), false);
            return run(quote! {
                let #partial = #pullback(grad);
                #add
            });
        }
        let mask = self.mask(call);
        let (pattern, accumulate) = self.partials(&call.operands, direct);
        if direct.contains(&var) {
            // The gradient goes straight into the call, without the `grad`
            // temporary.
            return quote! {
                let (#(#pattern,)*) = ::autograd::Pullbacks::pull(#pullback, #slot, #mask);
                #accumulate
            };
        }
        run(quote! {
            let (#(#pattern,)*) = ::autograd::Pullbacks::pull(#pullback, grad, #mask);
            #accumulate
        })
    }

    /// Adds `grad` (an `Option` of a gradient when `optional`) to the slot
    /// of `var`, or straight into the receiver's parts when `var` is a field
    /// read at the top level of the body.
    fn add_to(&self, var: VarId, grad: TokenStream, optional: bool) -> TokenStream {
        match (self.targets.get(&var), optional) {
            (Some(target), true) => quote! {
                if let Some(grad) = #grad {
                    ::autograd::AddGrad::add_grad(&mut #target, grad);
                }
            },
            (Some(target), false) => quote!(::autograd::AddGrad::add_grad(&mut #target, #grad);),
            (None, true) => {
                let slot = self.slot(var);
                quote!(::autograd::Accumulate::accumulate(&mut #slot, #grad);)
            }
            (None, false) => {
                let slot = self.slot(var);
                quote!(::autograd::accumulate_into(&mut #slot, #grad);)
            }
        }
    }

    /// `(Need, Skip, ..)`: which operands of a call get a gradient.
    pub fn mask(&self, call: &Call) -> TokenStream {
        let entries = call.operands.iter().map(|o| {
            if o.var.is_some_and(|v| self.vars[v].active) {
                quote!(::autograd::Need)
            } else {
                quote!(::autograd::Skip)
            }
        });
        quote!((#(#entries,)*))
    }

    /// Names for the gradients of `operands` (`_` for constants, the slot
    /// itself for a direct value) and the statements that add the others to
    /// their slots.
    fn partials(&self, operands: &[Operand], direct: &HashSet<VarId>) -> (Vec<TokenStream>, TokenStream) {
        let mut used: Vec<String> = Vec::new();
        let mut pattern = Vec::new();
        let mut accumulate = TokenStream::new();
        for operand in operands {
            let Some(var) = operand.var.filter(|v| self.vars[*v].active) else {
                pattern.push(quote!(_));
                continue;
            };
            let slot = self.slot(var);
            if direct.contains(&var) {
                pattern.push(quote!(#slot));
                continue;
            }
            let mut name = format!("d_{}", self.name(var));
            let mut counter = 2;
            while used.contains(&name) {
                name = format!("d_{}_{counter}", self.name(var));
                counter += 1;
            }
            used.push(name.clone());
            let partial = Ident::new(&name, proc_macro2::Span::call_site());
            pattern.push(quote!(#partial));
            accumulate.extend(self.add_to(var, quote!(#partial), false));
        }
        (pattern, accumulate)
    }

    /// Emits the pullback of one arm, which maps the output cotangents to the
    /// input cotangents.
    pub fn arm_pullback(&self, arm: &Arm, inputs: &[VarId], outputs: &[VarId]) -> TokenStream {
        let mut params = Vec::new();
        let mut seeds = Vec::new();
        for (k, output) in outputs.iter().enumerate() {
            if !self.vars[*output].active {
                continue;
            }
            let param = format_ident!("grad_{}", self.name(*output));
            seeds.push(Seed { var: arm.outputs[k].var, cotangent: quote!(#param), present: None });
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

    /// Emits the pullback of one loop iteration. It maps the cotangents of
    /// the carried values at the end of the iteration to their cotangents at
    /// its start, followed by the cotangents of the inputs.
    pub fn loop_pullback(&self, body: &Block, carried: &[Carried], inputs: &[VarId]) -> TokenStream {
        let active: Vec<&Carried> = carried.iter().filter(|c| self.vars[c.start].active).collect();
        let params: Vec<Ident> = active.iter().map(|c| format_ident!("grad_{}_end", self.name(c.start))).collect();
        let seeds: Vec<Seed> = active
            .iter()
            .zip(&params)
            .map(|(c, p)| Seed { var: c.end.var, cotangent: quote!(#p), present: None })
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
