//! `#[differentiable]`: generates a function's VJP form from its body.
//!
//! The expansion runs in four steps, one module each:
//!
//! 1. [`check`] rejects syntax without a gradient rule (`while`, closures,
//!    macros, `&mut`, ...) with an error that names what to write instead;
//! 2. [`normalise`] lowers the body to A-normal form ([`ir`]): one primitive
//!    per statement, fresh names for reassigned variables, and each value
//!    marked active when it depends on a differentiated argument;
//! 3. [`forward`] emits the forward pass through every primitive's VJP form;
//! 4. [`backward`] emits the pullback that runs the recorded pullbacks in
//!    reverse.
//!
//! For `fn f(x: &X, w: &W) -> Y` the expansion keeps `f` and adds
//!
//! - `f_vjp(x, w) -> (Y, impl FnOnce(Y::Grad) -> (X::Grad, W::Grad))`, one
//!   closure that returns the gradients of all arguments (`NoGrad` for the
//!   constant ones);
//! - `f_grad(x, w) -> (Y, (X::Grad, W::Grad))`: the value and the gradient
//!   of a loss. It requires `Y` to be a scalar tensor (`ScalarLoss`), so a
//!   call on a function with a vector output fails to compile at the call.

mod analysis;
mod backward;
mod check;
mod forward;
mod ir;
mod normalise;
mod param_reads;
mod scalar_loss;
mod signature;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote, ToTokens};
use syn::visit::Visit;

use backward::Seed;
use ir::{Origin, Var, VarId};
use normalise::Lowerer;
use signature::{Arg, Options};

/// Expands `#[differentiable(attr)] item`.
pub fn expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let mut function: syn::ItemFn = syn::parse2(item)?;
    let mut errors = Vec::new();
    let options = Options::parse(attr).unwrap_or_else(|error| {
        errors.push(error);
        Options::default()
    });
    // The generated functions name the `'_` lifetimes of the arguments'
    // types, so that their pullback can capture them (`ClassIndices<'_, ..>`).
    let mut named = function.clone();
    name_anonymous_lifetimes(&mut named.sig);
    let args = signature::read_args(&mut function.sig, &options, &mut errors);
    let named_args = signature::read_args(&mut named.sig, &options, &mut Vec::new());
    check_signature(&function.sig, &mut errors);
    check::reject_unsupported(&function.block, &mut errors);

    let mut lowerer = Lowerer::new();
    reserve_names(&function, &mut lowerer);
    let inputs: Vec<VarId> = args
        .iter()
        .enumerate()
        .map(|(index, arg)| lowerer.bind_input(&arg.name, index, arg.is_ref, arg.differentiated))
        .collect();
    let block = if errors.is_empty() { lowerer.lower_block(&function.block) } else { ir::Block::default() };
    errors.append(&mut lowerer.errors);

    if let Some(error) = errors.into_iter().reduce(|mut all, e| {
        all.combine(e);
        all
    }) {
        // Keep the plain function so that its callers still compile and the
        // user sees only these errors.
        let errors = error.to_compile_error();
        return Ok(quote!(#function #errors));
    }

    Ok(finish(&function, &named, &named_args, &inputs, &block, &lowerer.vars, options.partial))
}

/// The function as written, its VJP form and its `_grad` form, generated
/// from `named` (the function with its argument lifetimes named).
fn finish(
    function: &syn::ItemFn,
    named: &syn::ItemFn,
    args: &[Arg],
    inputs: &[VarId],
    block: &ir::Block,
    vars: &[Var],
    partial: bool,
) -> TokenStream {
    let emitter = Emitter { vars, targets: HashMap::new() };
    let mut vjp = emitter.vjp_function(named, args, inputs, block);
    let grad = if signature::is_scalar_tensor(&named.sig.output) {
        grad_function(named, args)
    } else {
        grad_function(&scalar_loss::require_scalar_output(named), args)
    };
    param_reads::insert_check(function, &mut vjp, partial);
    quote! {
        #function
        #vjp
        #grad
    }
}

/// Replaces each `'_` in the generic arguments of the argument types
/// (`&ClassIndices<'_, N, C>`) with a named lifetime parameter of the
/// function. References' own lifetimes stay
/// elided: a pullback never holds a reference to an argument.
fn name_anonymous_lifetimes(sig: &mut syn::Signature) {
    struct Namer {
        named: Vec<syn::Lifetime>,
    }
    impl syn::visit_mut::VisitMut for Namer {
        fn visit_generic_argument_mut(&mut self, arg: &mut syn::GenericArgument) {
            if let syn::GenericArgument::Lifetime(lifetime) = arg {
                if lifetime.ident == "_" {
                    let name = format!("'__autograd_{}", self.named.len());
                    *lifetime = syn::Lifetime::new(&name, lifetime.apostrophe);
                    self.named.push(lifetime.clone());
                }
            }
            syn::visit_mut::visit_generic_argument_mut(self, arg);
        }
    }
    let mut namer = Namer { named: Vec::new() };
    for input in sig.inputs.iter_mut() {
        syn::visit_mut::VisitMut::visit_fn_arg_mut(&mut namer, input);
    }
    for lifetime in namer.named.iter().rev() {
        let param = syn::GenericParam::Lifetime(syn::LifetimeParam::new(lifetime.clone()));
        sig.generics.params.insert(0, param);
    }
}

fn check_signature(sig: &syn::Signature, errors: &mut Vec<syn::Error>) {
    if let syn::ReturnType::Default = sig.output {
        errors.push(syn::Error::new_spanned(
            &sig.ident,
            "a `#[differentiable]` function returns the value to differentiate; add a return type \
             such as `-> Tensor<Rank0, f32>`",
        ));
    }
    if let Some(token) = &sig.asyncness {
        errors.push(syn::Error::new_spanned(token, "a `#[differentiable]` function cannot be `async`"));
    }
    if let Some(token) = &sig.constness {
        errors.push(syn::Error::new_spanned(token, "a `#[differentiable]` function cannot be `const`"));
    }
    if let Some(token) = &sig.variadic {
        errors.push(syn::Error::new_spanned(token, "a `#[differentiable]` function cannot be variadic"));
    }
}

/// Reserves every name the body reads that it does not bind itself
/// (functions, constants, types), so that no generated name shadows one.
fn reserve_names(function: &syn::ItemFn, lowerer: &mut Lowerer) {
    #[derive(Default)]
    struct Idents {
        read: Vec<String>,
        bound: Vec<String>,
    }
    impl<'ast> Visit<'ast> for Idents {
        // Only paths share the namespace of local variables; method and
        // field names do not.
        fn visit_expr_path(&mut self, path: &'ast syn::ExprPath) {
            if let Some(first) = path.path.segments.first() {
                self.read.push(first.ident.to_string());
            }
            syn::visit::visit_expr_path(self, path);
        }
        fn visit_pat_ident(&mut self, pat: &'ast syn::PatIdent) {
            self.bound.push(pat.ident.to_string());
            syn::visit::visit_pat_ident(self, pat);
        }
    }
    let mut idents = Idents::default();
    idents.visit_block(&function.block);
    for name in idents.read {
        if !idents.bound.contains(&name) {
            lowerer.reserve(&name);
        }
    }
    for name in ["pullback", "grad", "cotangent", "value", "self_parts"] {
        lowerer.reserve(name);
    }
}

/// Names of the generated bindings.
pub struct Emitter<'a> {
    pub vars: &'a [Var],
    /// For the top level of the backward pass: the parts (`self_parts.w`)
    /// that the gradients of field reads go into, with no slot of their own.
    pub targets: HashMap<VarId, TokenStream>,
}

impl Emitter<'_> {
    fn name(&self, var: VarId) -> &Ident {
        &self.vars[var].name
    }

    fn slot(&self, var: VarId) -> Ident {
        format_ident!("grad_{}", self.vars[var].name)
    }

    fn pullback(&self, var: VarId) -> Ident {
        format_ident!("{}_pullback", self.vars[var].name)
    }

    fn saved(&self, var: VarId) -> Ident {
        format_ident!("{}_saved", self.vars[var].name)
    }

    /// Returns whether a branch records its pullback, which it does when
    /// one of its outputs is active.
    fn is_recorded(&self, outputs: &[VarId]) -> bool {
        outputs.iter().any(|v| self.vars[*v].active)
    }

    /// `f_vjp`: the forward pass with its pullbacks, and the pullback that
    /// maps the output's cotangent to every argument's gradient.
    fn vjp_function(&self, function: &syn::ItemFn, args: &[Arg], inputs: &[VarId], block: &ir::Block) -> TokenStream {
        let sig = &function.sig;
        let vjp_name = format_ident!("{}_vjp", sig.ident);
        let fn_name = &sig.ident;
        let vis = &function.vis;
        let attrs = function.attrs.iter().filter(|a| !a.path().is_ident("doc"));
        let (generics, where_clause) = (&sig.generics, &sig.generics.where_clause);
        let params = &sig.inputs;
        let output = match &sig.output {
            syn::ReturnType::Type(_, ty) => ty.to_token_stream(),
            syn::ReturnType::Default => quote!(()),
        };
        // The pullback may hold values whose types name the function's
        // lifetime parameters, such as saved class indices. In edition 2021
        // an `impl Trait` captures a lifetime only when its bounds name it.
        let lifetimes: Vec<&syn::Lifetime> = sig.generics.lifetimes().map(|param| &param.lifetime).collect();
        let captures = (!lifetimes.is_empty())
            .then(|| quote!(+ ::autograd::__private::Captures<(#(&#lifetimes (),)*)>));
        let grad_types = args.iter().map(|arg| {
            if arg.differentiated {
                let ty = &arg.value_type;
                quote!(<#ty as ::autograd::Differentiable>::Grad)
            } else {
                quote!(::autograd::NoGrad)
            }
        });
        let mark_used = mark_original_used(function);

        // A gradient that nothing reached still needs its shape. The receiver
        // and an argument whose fields are read get empty `GradParts`, which
        // each field's gradient moves into. Any other argument is cloned (an
        // `Arc` count for a heap tensor on the `Cpu` device).
        // NOTE: on the inline device the clone copies the argument's array on
        // every call, even when the backward pass reaches the argument.
        let mut saves = TokenStream::new();
        let mut finals = TokenStream::new();
        let mut results = Vec::new();
        let mut targets = HashMap::new();
        let used = analysis::used_vars(block);
        let mut whole_unused = Vec::new();
        let differentiated: Vec<VarId> = args
            .iter()
            .zip(inputs)
            .filter(|(arg, _)| arg.differentiated)
            .map(|(_, v)| *v)
            .collect();
        for (arg, &var) in args.iter().zip(inputs) {
            if !arg.differentiated {
                results.push(quote!(::autograd::NoGrad));
                continue;
            }
            let name = &arg.name;
            let ty = &arg.value_type;
            let slot = self.slot(var);
            let by_ref = if arg.is_ref { quote!(#name) } else { quote!(&#name) };
            let fields: Vec<(VarId, Vec<Ident>)> = self
                .vars
                .iter()
                .enumerate()
                .filter_map(|(id, v)| match &v.origin {
                    Origin::Field { root, path } if *root == var => Some((id, path.clone())),
                    _ => None,
                })
                .collect();
            if name == "self" || !fields.is_empty() {
                let parts = format_ident!("{}_parts", name);
                saves.extend(quote!(let mut #parts = ::autograd::GradParts::grad_parts(#by_ref);));
                // The argument's own slot collects uses of it as a whole
                // (`self.hidden(x)`); a body that only reads its fields has none.
                if used.contains(&var) {
                    finals.extend(quote! {
                        if let Some(grad) = #slot {
                            ::autograd::AddGrad::add_grad(&mut #parts, grad);
                        }
                    });
                } else {
                    whole_unused.push(var);
                }
                for (field_var, path) in fields {
                    targets.insert(field_var, quote!(#parts #(.#path)*));
                }
                finals.extend(quote!(let #slot = <#ty as ::autograd::GradParts>::assemble(#parts);));
            } else {
                let saved = format_ident!("{}_saved", name);
                saves.extend(quote!(let #saved = <#ty as ::core::clone::Clone>::clone(#by_ref);));
                finals.extend(quote!(let #slot = ::autograd::grad_or_zero(#slot, &#saved);));
            }
            results.push(slot.into_token_stream());
        }

        let mut keep: Vec<VarId> = differentiated.iter().copied().filter(|v| !whole_unused.contains(v)).collect();
        for (id, var) in self.vars.iter().enumerate() {
            if matches!(var.origin, Origin::Field { root, .. } if differentiated.contains(&root)) {
                keep.push(id);
            }
        }
        let result = block.result.clone().unwrap_or(ir::Operand { var: None, tokens: quote!(()), is_ref: false });
        let seeds = [Seed { var: result.var, cotangent: quote!(Some(cotangent)), present: Some(quote!(cotangent)) }];
        let forward = self.forward_block(block);
        let top_level = Emitter { vars: self.vars, targets };
        let backward = top_level.backward_block(block, &seeds, &keep);
        let value = &result.tokens;
        let doc = format!(
            " The VJP form of [`{fn_name}`], generated by `#[differentiable]`: its value and one \
             pullback that maps the output's cotangent to the gradients of all arguments \
             (`NoGrad` for constant arguments)."
        );
        quote! {
            #[doc = #doc]
            #(#attrs)*
            #[inline]
            #[allow(unused_variables, unused_mut, clippy::type_complexity, clippy::let_and_return, clippy::let_unit_value)]
            #vis fn #vjp_name #generics (#params) -> (
                #output,
                impl ::core::ops::FnOnce(<#output as ::autograd::Differentiable>::Grad) -> (#(#grad_types,)*) #captures,
            ) #where_clause {
                #[allow(unused_imports)]
                use ::autograd::__private::traits::*;
                #mark_used

                #saves
                #forward

                let pullback = move |cotangent: <#output as ::autograd::Differentiable>::Grad| {
                    #backward
                    #finals
                    (#(#results,)*)
                };
                (#value, pullback)
            }
        }
    }
}

/// `let _ = f;` (or `Self::f::<T>`), which counts as a use of the function as
/// written, so that a program that calls only `f_grad` gets no "never used"
/// warning for `f`. A function with `impl Trait` arguments cannot be named
/// with its generic arguments, and gets no mark.
fn mark_original_used(function: &syn::ItemFn) -> TokenStream {
    let sig = &function.sig;
    #[derive(Default)]
    struct ImplTraitFinder(bool);
    impl<'ast> Visit<'ast> for ImplTraitFinder {
        fn visit_type_impl_trait(&mut self, _: &'ast syn::TypeImplTrait) {
            self.0 = true;
        }
    }
    let mut finder = ImplTraitFinder::default();
    for input in &sig.inputs {
        finder.visit_fn_arg(input);
    }
    if finder.0 {
        return TokenStream::new();
    }
    let generic_args: Vec<&Ident> = sig
        .generics
        .params
        .iter()
        .filter_map(|param| match param {
            syn::GenericParam::Type(ty) => Some(&ty.ident),
            syn::GenericParam::Const(constant) => Some(&constant.ident),
            syn::GenericParam::Lifetime(_) => None,
        })
        .collect();
    let turbofish = (!generic_args.is_empty()).then(|| quote!(::<#(#generic_args),*>));
    let name = &sig.ident;
    if sig.receiver().is_some() || is_method_context(function) {
        quote!(let _ = Self::#name #turbofish;)
    } else {
        quote!(let _ = #name #turbofish;)
    }
}

/// `f_grad`: the value of a scalar loss and the gradients of its arguments.
fn grad_function(function: &syn::ItemFn, args: &[Arg]) -> TokenStream {
    let sig = &function.sig;
    let fn_name = &sig.ident;
    let grad_name = format_ident!("{}_grad", sig.ident);
    let vjp_name = format_ident!("{}_vjp", sig.ident);
    let vis = &function.vis;
    let attrs = function.attrs.iter().filter(|a| !a.path().is_ident("doc"));
    let (generics, where_clause) = (&sig.generics, &sig.generics.where_clause);
    let params = &sig.inputs;
    let syn::ReturnType::Type(_, output) = &sig.output else {
        return quote!();
    };
    let grad_types = args.iter().map(|arg| {
        if arg.differentiated {
            let ty = &arg.value_type;
            quote!(<#ty as ::autograd::Differentiable>::Grad)
        } else {
            quote!(::autograd::NoGrad)
        }
    });

    let call = if args.first().is_some_and(|a| a.name == "self") {
        let rest = args[1..].iter().map(|a| &a.name);
        quote!(self.#vjp_name(#(#rest),*))
    } else {
        let names = args.iter().map(|a| &a.name);
        if function.sig.receiver().is_none() && is_method_context(function) {
            quote!(Self::#vjp_name(#(#names),*))
        } else {
            quote!(#vjp_name(#(#names),*))
        }
    };

    let doc = format!(
        " The value of [`{fn_name}`] and the gradients of its arguments (PyTorch's \
         `loss.backward()` from a cotangent of one), generated by `#[differentiable]`."
    );
    quote! {
        #[doc = #doc]
        #(#attrs)*
        #[allow(clippy::type_complexity)]
        #vis fn #grad_name #generics (#params) -> (#output, (#(#grad_types,)*)) #where_clause {
            let (value, pullback) = #call;
            (value, pullback(<#output as ::autograd::__private::ScalarLoss>::seed()))
        }
    }
}

/// Returns whether a function without a receiver is an associated function,
/// judged by its signature naming `Self` (the attribute cannot see the impl).
fn is_method_context(function: &syn::ItemFn) -> bool {
    function.sig.to_token_stream().to_string().contains("Self")
}
