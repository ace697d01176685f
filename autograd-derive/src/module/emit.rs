//! The generated items, one function each: the gradient struct and its
//! impls, `Differentiable`, `Module`, `StaticModule` and `Display`.
//!
//! Every path is absolute (`::autograd::...`, `::core::...`), so the
//! expansion works whatever the user imported. Code that uses a field's type
//! as a module is spanned at that type, so an error such as "`Foo` is not a
//! module" points at the field, not at the derive.

use std::collections::HashSet;

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{GenericParam, Generics, Ident, Type, WherePredicate};

use super::ast::{Container, Field, Style};
use super::attr::Role;

pub fn emit(container: &Container<'_>) -> TokenStream {
    // `check` has rejected containers without module fields.
    let Some(cx) = Context::new(container) else {
        return TokenStream::new();
    };

    let grads_struct = emit_grads_struct(&cx);
    let grads_clone = emit_grads_clone(&cx);
    let grads_debug = emit_grads_debug(&cx);
    let grads_accumulate = emit_grads_accumulate(&cx);
    let grads_leaves = emit_grads_leaves(&cx);
    let model_leaves = emit_model_leaves(&cx);
    let differentiable = emit_differentiable(&cx);
    let grad_parts = emit_grad_parts(&cx);
    let module = emit_module(&cx);
    let static_module = emit_static_module(&cx);
    let display = emit_display(&cx);

    quote! {
        #grads_struct
        #grads_clone
        #grads_debug
        #grads_accumulate
        #grads_leaves
        #model_leaves
        #differentiable
        #grad_parts
        #module
        #static_module
        #display
    }
}

/// The input of every emitting function: the container, the gradient
/// struct's name and the generics with the bounds that make the fields
/// modules. It also lists the generic parameters that no module field uses,
/// because the gradient struct needs a marker field to use them.
struct Context<'c, 'a> {
    container: &'c Container<'a>,
    grads_ident: Ident,
    /// The struct that collects the gradient field by field (`GradParts`).
    parts_ident: Ident,
    /// The struct's generics plus `FieldTy: Module<Elem = ...>` for every
    /// module field.
    bounded: Generics,
    unused_params: Vec<GenericParam>,
    first_ty: &'c Type,
}

impl<'c, 'a> Context<'c, 'a> {
    /// Returns `None` for a container without module fields.
    fn new(container: &'c Container<'a>) -> Option<Self> {
        let ident = container.ident;
        let grads_ident = format_ident!("{}Grads", ident, span = ident.span());
        let parts_ident = format_ident!("{}GradParts", ident, span = ident.span());
        let first_ty = elem_source(container)?.ty;

        let mut bounded = container.generics.clone();
        bounded
            .make_where_clause()
            .predicates
            .extend(module_bounds(container, first_ty));

        Some(Context {
            container,
            grads_ident,
            parts_ident,
            bounded,
            unused_params: unused_params(container),
            first_ty,
        })
    }

    fn is_tuple(&self) -> bool {
        self.container.style == Style::Tuple
    }

    /// Iterates over the gradient struct's fields: module fields and, in a tuple
    /// struct, a `()` in place of each other field so that `grads.2` is the
    /// gradient of `model.2`.
    fn grads_fields(&self) -> impl Iterator<Item = &'c Field<'a>> + '_ {
        let tuple = self.is_tuple();
        self.container
            .fields
            .iter()
            .filter(move |field| tuple || field.role == Role::Module)
    }

    fn marker(&self) -> Option<(syn::Member, TokenStream)> {
        if self.unused_params.is_empty() {
            return None;
        }
        let member = if self.is_tuple() {
            syn::Member::Unnamed(syn::Index::from(self.container.fields.len()))
        } else {
            syn::Member::Named(format_ident!("__marker"))
        };
        let parts = self.unused_params.iter().map(|param| match param {
            GenericParam::Type(ty) => {
                let ident = &ty.ident;
                quote!(fn() -> #ident)
            }
            GenericParam::Lifetime(lifetime) => {
                let lifetime = &lifetime.lifetime;
                quote!(&#lifetime ())
            }
            GenericParam::Const(constant) => {
                let ident = &constant.ident;
                quote!([(); #ident])
            }
        });
        Some((member, quote!(::core::marker::PhantomData<(#(#parts,)*)>)))
    }

    /// `member: value` for the marker field, in a struct literal.
    fn marker_init(&self) -> TokenStream {
        match self.marker() {
            Some((member, _)) => quote!(#member: ::core::marker::PhantomData,),
            None => TokenStream::new(),
        }
    }
}

/// Picks the module field whose `Elem` is the struct's: the first `Param` whose
/// type mentions no generic parameter, else the first such field, else the
/// first module field.
///
/// A concrete type is preferred because rustc rewrites `<Concrete as
/// Module>::Elem` to `f32` but does not rewrite `<M as Module>::Elem` to
/// `f32` from a where clause, so `Wrapper<M> { inner: M, scale:
/// Param<Tensor<Rank0>> }` compiles only with `scale` as the source. A
/// `Param` is preferred so that a field that is not a module (a `String`)
/// is reported once, as not a module, and not again through the element
/// type it would set.
fn elem_source<'c, 'a>(container: &'c Container<'a>) -> Option<&'c Field<'a>> {
    let params = param_names(container.generics);
    let is_concrete = |field: &&Field<'a>| {
        let mut names = Names::default();
        names.visit_type(field.ty);
        names.0.is_disjoint(&params)
    };
    let mut fields = container.module_fields();
    fields
        .clone()
        .filter(is_concrete)
        .find(|field| super::check::is_param(field.ty))
        .or_else(|| fields.clone().find(is_concrete))
        .or_else(|| fields.next())
}

/// `FieldTy: Module` for the field that sets the element type and
/// `FieldTy: Module<Elem = <SourceTy as Module>::Elem>` for the others, each
/// spanned at the field's type: every parameter of a module has one element
/// type.
///
/// A field of the same type as the source gets no bound of its own:
/// `T: Module<Elem = <T as Module>::Elem>` sends rustc into an overflow.
fn module_bounds(container: &Container<'_>, first_ty: &Type) -> Vec<WherePredicate> {
    let source = first_ty.to_token_stream().to_string();
    let mut bounds =
        vec![syn::parse_quote_spanned!(first_ty.span()=> #first_ty: ::autograd::Module)];
    for field in container.module_fields() {
        let ty = field.ty;
        if ty.to_token_stream().to_string() == source {
            continue;
        }
        bounds.push(syn::parse_quote_spanned!(ty.span()=>
            #ty: ::autograd::Module<Elem = <#first_ty as ::autograd::Module>::Elem>
        ));
    }
    bounds
}

/// Returns the generic parameters that no module field's type mentions. The check is
/// by name, so it can only over-count uses, never miss one.
fn unused_params(container: &Container<'_>) -> Vec<GenericParam> {
    let mut names = Names::default();
    for field in container.module_fields() {
        names.visit_type(field.ty);
    }

    container
        .generics
        .params
        .iter()
        .filter(|param| !names.0.contains(&param_name(param)))
        .cloned()
        .collect()
}

/// The identifiers and lifetimes (with their `'`) that occur in a type.
#[derive(Default)]
struct Names(HashSet<String>);

impl<'ast> Visit<'ast> for Names {
    fn visit_ident(&mut self, ident: &'ast Ident) {
        self.0.insert(ident.to_string());
    }

    fn visit_lifetime(&mut self, lifetime: &'ast syn::Lifetime) {
        self.0.insert(format!("'{}", lifetime.ident));
    }
}

fn param_name(param: &GenericParam) -> String {
    match param {
        GenericParam::Type(ty) => ty.ident.to_string(),
        GenericParam::Lifetime(lifetime) => format!("'{}", lifetime.lifetime.ident),
        GenericParam::Const(constant) => constant.ident.to_string(),
    }
}

fn param_names(generics: &Generics) -> HashSet<String> {
    generics.params.iter().map(param_name).collect()
}

/// Returns the type of a field of the gradient struct: the field's
/// `Module::Grads`, or `()` for a skipped position of a tuple struct.
fn grads_type(field: &Field<'_>) -> TokenStream {
    let ty = field.ty;
    match field.role {
        Role::Module => quote_spanned!(ty.span()=> <#ty as ::autograd::Module>::Grads),
        Role::Skip | Role::Constant => quote!(()),
    }
}

fn emit_grads_struct(cx: &Context<'_, '_>) -> TokenStream {
    let vis = cx.container.vis;
    let grads_ident = &cx.grads_ident;
    let model = cx.container.ident.to_string();
    let (_, _, where_clause) = cx.bounded.split_for_impl();
    let params = &cx.container.generics.params;
    let params = if params.is_empty() {
        quote!()
    } else {
        quote!(<#params>)
    };
    let doc = format!(
        "The gradient of a [`{model}`]: one field per parameter or layer field, \
         generated by `#[derive(Module)]`."
    );

    let fields = cx.grads_fields().map(|field| {
        let vis = field.vis;
        let ty = grads_type(field);
        let doc = format!("The gradient of `{}`.", field.name);
        match &field.member {
            syn::Member::Named(ident) => quote!(#[doc = #doc] #vis #ident: #ty),
            syn::Member::Unnamed(_) => quote!(#[doc = #doc] #vis #ty),
        }
    });
    let marker = cx.marker().map(|(member, ty)| match member {
        syn::Member::Named(ident) => quote!(#[doc(hidden)] pub #ident: #ty),
        syn::Member::Unnamed(_) => quote!(#[doc(hidden)] pub #ty),
    });
    let fields = fields.chain(marker);

    if cx.is_tuple() {
        quote! {
            #[doc = #doc]
            #vis struct #grads_ident #params (#(#fields,)*) #where_clause;
        }
    } else {
        quote! {
            #[doc = #doc]
            #vis struct #grads_ident #params #where_clause {
                #(#fields,)*
            }
        }
    }
}

fn emit_grads_clone(cx: &Context<'_, '_>) -> TokenStream {
    let grads_ident = &cx.grads_ident;
    let (impl_generics, ty_generics, where_clause) = cx.bounded.split_for_impl();
    let members = cx.grads_fields().map(|field| &field.member);
    let marker = cx.marker_init();

    quote! {
        impl #impl_generics ::core::clone::Clone for #grads_ident #ty_generics #where_clause {
            fn clone(&self) -> Self {
                #grads_ident {
                    #(#members: ::core::clone::Clone::clone(&self.#members),)*
                    #marker
                }
            }
        }
    }
}

fn emit_grads_debug(cx: &Context<'_, '_>) -> TokenStream {
    let grads_ident = &cx.grads_ident;
    let name = grads_ident.to_string();
    let (impl_generics, ty_generics, where_clause) = cx.bounded.split_for_impl();
    let members = cx.grads_fields().map(|field| &field.member);

    let body = if cx.is_tuple() {
        quote! {
            f.debug_tuple(#name)
                #(.field(&self.#members))*
                .finish()
        }
    } else {
        let names = cx.grads_fields().map(|field| &field.name);
        quote! {
            f.debug_struct(#name)
                #(.field(#names, &self.#members))*
                .finish()
        }
    };

    quote! {
        impl #impl_generics ::core::fmt::Debug for #grads_ident #ty_generics #where_clause {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                #body
            }
        }
    }
}

fn emit_grads_accumulate(cx: &Context<'_, '_>) -> TokenStream {
    let grads_ident = &cx.grads_ident;
    let (impl_generics, ty_generics, where_clause) = cx.bounded.split_for_impl();
    let statements = cx.container.module_fields().map(|field| {
        let member = &field.member;
        quote_spanned! {field.ty.span()=>
            ::autograd::Accumulate::accumulate(&mut self.#member, other.#member);
        }
    });

    quote! {
        impl #impl_generics ::autograd::Accumulate for #grads_ident #ty_generics #where_clause {
            fn accumulate(&mut self, other: Self) {
                #(#statements)*
            }
        }
    }
}

/// `Leaves` for the gradient struct, which optimizers and gradcheck read.
fn emit_grads_leaves(cx: &Context<'_, '_>) -> TokenStream {
    emit_leaves(cx, &cx.grads_ident, grads_type)
}

/// `Leaves` for the model itself, so that `gradcheck` can perturb its
/// parameters. Skipped and constant fields are not leaves.
fn emit_model_leaves(cx: &Context<'_, '_>) -> TokenStream {
    emit_leaves(cx, cx.container.ident, |field| field.ty.to_token_stream())
}

/// Visits the module fields in declaration order, the order every other
/// generated walk uses, so a model and its gradients line up leaf by leaf.
fn emit_leaves<F, T>(cx: &Context<'_, '_>, target: &Ident, field_type: F) -> TokenStream
where
    F: Fn(&Field<'_>) -> T,
    T: ToTokens,
{
    let elem = Ident::new("__E", Span::call_site());

    let mut generics = cx.bounded.clone();
    generics
        .params
        .push(syn::parse_quote!(#elem: ::autograd::Float));
    let where_clause = generics.make_where_clause();
    for field in cx.container.module_fields() {
        let ty = field_type(field);
        where_clause
            .predicates
            .push(syn::parse_quote!(#ty: ::autograd::Leaves<#elem>));
    }
    let (impl_generics, _, where_clause) = generics.split_for_impl();
    let (_, ty_generics, _) = cx.container.generics.split_for_impl();

    let members: Vec<_> = cx
        .container
        .module_fields()
        .map(|field| &field.member)
        .collect();

    quote! {
        impl #impl_generics ::autograd::Leaves<#elem> for #target #ty_generics #where_clause {
            fn visit_leaves(&self, f: &mut dyn FnMut(&[#elem])) {
                #(::autograd::Leaves::<#elem>::visit_leaves(&self.#members, f);)*
            }

            fn visit_leaves_mut(&mut self, f: &mut dyn FnMut(&mut [#elem])) {
                #(::autograd::Leaves::<#elem>::visit_leaves_mut(&mut self.#members, f);)*
            }
        }
    }
}

fn emit_differentiable(cx: &Context<'_, '_>) -> TokenStream {
    let ident = cx.container.ident;
    let grads_ident = &cx.grads_ident;
    let (impl_generics, ty_generics, where_clause) = cx.bounded.split_for_impl();
    let inits = cx.grads_fields().map(|field| {
        let member = &field.member;
        match field.role {
            Role::Module => quote_spanned! {field.ty.span()=>
                #member: ::autograd::Differentiable::zero_grad(&self.#member),
            },
            Role::Skip | Role::Constant => quote!(#member: (),),
        }
    });
    let marker = cx.marker_init();

    quote! {
        impl #impl_generics ::autograd::Differentiable for #ident #ty_generics #where_clause {
            type Grad = #grads_ident #ty_generics;

            fn zero_grad(&self) -> Self::Grad {
                #grads_ident {
                    #(#inits)*
                    #marker
                }
            }
        }
    }
}

/// Emits the parts struct, which mirrors the gradient struct with each field's
/// `GradParts::Parts`, and the `GradParts` and `AddGrad` impls that let a
/// generated backward pass move each field's gradient into place.
fn emit_grad_parts(cx: &Context<'_, '_>) -> TokenStream {
    let vis = cx.container.vis;
    let ident = cx.container.ident;
    let grads_ident = &cx.grads_ident;
    let parts_ident = &cx.parts_ident;
    let (impl_generics, ty_generics, where_clause) = cx.bounded.split_for_impl();
    let params = &cx.container.generics.params;
    let params = if params.is_empty() {
        quote!()
    } else {
        quote!(<#params>)
    };
    let doc = format!(
        "A [`{grads_ident}`] while a backward pass that `#[differentiable]` generated \
         collects it field by field; see `autograd::GradParts`."
    );

    // Every field has a part, so that a `#[differentiable]` method can read
    // a constant field: the gradient it computes for it is dropped.
    let part_type = |field: &Field<'_>| {
        let ty = field.ty;
        match field.role {
            Role::Module => quote_spanned!(ty.span()=> <#ty as ::autograd::GradParts>::Parts),
            Role::Skip | Role::Constant => quote!(::autograd::__private::Discard),
        }
    };
    let fields = cx.container.fields.iter().map(|field| {
        let vis = field.vis;
        let ty = part_type(field);
        match &field.member {
            syn::Member::Named(ident) => quote!(#vis #ident: #ty),
            syn::Member::Unnamed(_) => quote!(#vis #ty),
        }
    });
    let marker = cx.marker().map(|(member, ty)| match member {
        syn::Member::Named(ident) => quote!(pub #ident: #ty),
        syn::Member::Unnamed(_) => quote!(pub #ty),
    });
    let fields = fields.chain(marker);
    let definition = if cx.is_tuple() {
        quote! {
            #[doc = #doc]
            #[allow(missing_docs)]
            #vis struct #parts_ident #params (#(#fields,)*) #where_clause;
        }
    } else {
        quote! {
            #[doc = #doc]
            #[allow(missing_docs)]
            #vis struct #parts_ident #params #where_clause {
                #(#fields,)*
            }
        }
    };

    let mut empty = Vec::new();
    let mut assemble = Vec::new();
    let mut add = Vec::new();
    for field in cx.container.fields.iter() {
        let member = &field.member;
        let ty = field.ty;
        match field.role {
            Role::Module => {
                empty.push(quote_spanned! {ty.span()=>
                    #member: ::autograd::GradParts::grad_parts(&self.#member),
                });
                assemble.push(quote_spanned! {ty.span()=>
                    #member: <#ty as ::autograd::GradParts>::assemble(parts.#member),
                });
                add.push(quote_spanned! {ty.span()=>
                    ::autograd::AddGrad::add_grad(&mut self.#member, grad.#member);
                });
            }
            Role::Skip | Role::Constant => {
                empty.push(quote!(#member: ::autograd::__private::Discard,));
                if cx.is_tuple() {
                    assemble.push(quote!(#member: (),));
                }
            }
        }
    }
    let marker = cx.marker_init();

    quote! {
        #definition

        impl #impl_generics ::autograd::GradParts for #ident #ty_generics #where_clause {
            type Parts = #parts_ident #ty_generics;

            fn grad_parts(&self) -> Self::Parts {
                #parts_ident {
                    #(#empty)*
                    #marker
                }
            }

            fn assemble(parts: Self::Parts) -> Self::Grad {
                #grads_ident {
                    #(#assemble)*
                    #marker
                }
            }
        }

        impl #impl_generics ::autograd::AddGrad<#grads_ident #ty_generics> for #parts_ident #ty_generics #where_clause {
            fn add_grad(&mut self, grad: #grads_ident #ty_generics) {
                #(#add)*
            }
        }
    }
}

fn emit_module(cx: &Context<'_, '_>) -> TokenStream {
    let ident = cx.container.ident;
    let name = ident.to_string();
    let grads_ident = &cx.grads_ident;
    let first_ty = cx.first_ty;
    let (impl_generics, ty_generics, where_clause) = cx.bounded.split_for_impl();
    let fields: Vec<&Field<'_>> = cx.container.module_fields().collect();

    let num_params = fields.iter().map(|field| {
        let member = &field.member;
        quote_spanned!(field.ty.span()=> ::autograd::Module::num_params(&self.#member))
    });

    let can_hold_params = fields.iter().map(|field| {
        let ty = &field.ty;
        quote_spanned!(field.ty.span()=> <#ty as ::autograd::Module>::CAN_HOLD_PARAMS)
    });

    let visit = fields.iter().map(|field| {
        let member = &field.member;
        let name = &field.name;
        quote_spanned! {field.ty.span()=>
            ::autograd::Module::visit_params(
                &self.#member,
                ::core::option::Option::Some(&::autograd::ParamName::field(parent, #name)),
                f,
            );
        }
    });

    let visit_mut = fields.iter().map(|field| {
        let member = &field.member;
        let name = &field.name;
        quote_spanned! {field.ty.span()=>
            ::autograd::Module::visit_params_mut(
                &mut self.#member,
                ::core::option::Option::Some(&::autograd::ParamName::field(parent, #name)),
                f,
            );
        }
    });

    let lockstep = fields.iter().map(|field| {
        let member = &field.member;
        quote_spanned! {field.ty.span()=>
            ::autograd::Module::lockstep(
                &mut self.#member,
                &grads.#member,
                states.each_mut().map(|state| &mut state.#member),
                f,
            );
        }
    });

    let children = fields.iter().map(|field| {
        let member = &field.member;
        let name = &field.name;
        quote!(.child(&#name, &self.#member))
    });

    quote! {
        impl #impl_generics ::autograd::Module for #ident #ty_generics #where_clause {
            type Elem = <#first_ty as ::autograd::Module>::Elem;
            type Grads = #grads_ident #ty_generics;
            const CAN_HOLD_PARAMS: bool = false #(|| #can_hold_params)*;

            fn num_params(&self) -> usize {
                0 #(+ #num_params)*
            }

            fn visit_params(
                &self,
                parent: ::core::option::Option<&::autograd::ParamName<'_>>,
                f: &mut dyn FnMut(&::autograd::ParamName<'_>, &[usize], &[Self::Elem]),
            ) {
                #(#visit)*
            }

            fn visit_params_mut(
                &mut self,
                parent: ::core::option::Option<&::autograd::ParamName<'_>>,
                f: &mut dyn FnMut(&::autograd::ParamName<'_>, &[usize], &mut [Self::Elem]),
            ) {
                #(#visit_mut)*
            }

            #[allow(unused_mut)]
            fn lockstep<const __K: usize>(
                &mut self,
                grads: &Self::Grads,
                mut states: [&mut Self::Grads; __K],
                f: &mut impl FnMut(&mut [Self::Elem], &[Self::Elem], [&mut [Self::Elem]; __K]),
            ) {
                #(#lockstep)*
            }

            fn fmt_repr(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                ::autograd::ModuleRepr::new(f, #name)
                    #(#children)*
                    .finish()
            }
        }
    }
}

/// Implements `StaticModule` so that it applies exactly when every module
/// field is static. The bounds are written `for<'__m> FieldTy:
/// StaticModule`, because a false bound without generic parameters (a `Vec`
/// field) is an error in a plain where clause. The higher-ranked form only
/// leaves the impl unusable, which is what a model with a `Vec` needs.
fn emit_static_module(cx: &Context<'_, '_>) -> TokenStream {
    let ident = cx.container.ident;
    let mut generics = cx.bounded.clone();
    let where_clause = generics.make_where_clause();
    for field in cx.container.module_fields() {
        let ty = field.ty;
        where_clause
            .predicates
            .push(syn::parse_quote_spanned!(ty.span()=> for<'__m> #ty: ::autograd::StaticModule));
    }
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let types: Vec<&Type> = cx.container.module_fields().map(|field| field.ty).collect();

    quote! {
        impl #impl_generics ::autograd::StaticModule for #ident #ty_generics #where_clause {
            const NUM_PARAMS: usize = 0 #(+ <#types as ::autograd::StaticModule>::NUM_PARAMS)*;
            const NUM_TENSORS: usize = 0 #(+ <#types as ::autograd::StaticModule>::NUM_TENSORS)*;
        }
    }
}

fn emit_display(cx: &Context<'_, '_>) -> TokenStream {
    let ident = cx.container.ident;
    let (impl_generics, ty_generics, where_clause) = cx.bounded.split_for_impl();

    quote! {
        impl #impl_generics ::core::fmt::Display for #ident #ty_generics #where_clause {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                ::autograd::Module::fmt_repr(self, f)
            }
        }
    }
}
