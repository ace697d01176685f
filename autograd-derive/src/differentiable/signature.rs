//! The attribute's options and the function's arguments: which are
//! differentiated, which are constants.

use proc_macro2::{Ident, TokenStream};
use quote::{quote, ToTokens};
use syn::spanned::Spanned;
use syn::{FnArg, Pat, Type};

/// `#[differentiable(wrt(a, b))]`: differentiate only these arguments.
/// `#[differentiable(partial)]`: a method that reads only some of the
/// model's parameter fields, on purpose.
#[derive(Default)]
pub struct Options {
    pub wrt: Option<Vec<Ident>>,
    pub partial: bool,
}

impl Options {
    pub fn parse(attr: TokenStream) -> syn::Result<Self> {
        let mut options = Options::default();
        if attr.is_empty() {
            return Ok(options);
        }
        let parser = syn::meta::parser(|meta| {
            if meta.path.is_ident("wrt") {
                let content;
                syn::parenthesized!(content in meta.input);
                let names = content.parse_terminated(Ident::parse_any_ident, syn::Token![,])?;
                options.wrt = Some(names.into_iter().collect());
                Ok(())
            } else if meta.path.is_ident("partial") {
                options.partial = true;
                Ok(())
            } else {
                Err(meta.error(
                    "unknown option of `#[differentiable]`: the options are `wrt(arg, ...)`, \
                     which names the arguments to differentiate, and `partial`, which allows \
                     a method that reads only some of the model's parameter fields",
                ))
            }
        });
        syn::parse::Parser::parse2(parser, attr)?;
        Ok(options)
    }
}

trait ParseAnyIdent {
    fn parse_any_ident(input: syn::parse::ParseStream) -> syn::Result<Ident>;
}

impl ParseAnyIdent for Ident {
    fn parse_any_ident(input: syn::parse::ParseStream) -> syn::Result<Ident> {
        syn::ext::IdentExt::parse_any(input)
    }
}

/// One argument of the function, the receiver included.
pub struct Arg {
    pub name: Ident,
    /// The type with one leading `&` removed (`Self` for the receiver).
    pub value_type: TokenStream,
    pub is_ref: bool,
    pub differentiated: bool,
}

/// Reads the arguments, strips `#[no_grad]` from them, and decides which are
/// differentiated. Returns the arguments with the errors found.
pub fn read_args(sig: &mut syn::Signature, options: &Options, errors: &mut Vec<syn::Error>) -> Vec<Arg> {
    let mut args = Vec::new();
    for input in sig.inputs.iter_mut() {
        match input {
            FnArg::Receiver(receiver) => {
                let no_grad = take_no_grad(&mut receiver.attrs);
                if receiver.mutability.is_some() && receiver.reference.is_some() {
                    errors.push(syn::Error::new(
                        receiver.span(),
                        "`&mut self` cannot be differentiated: a differentiable method reads \
                         the model and returns its gradient; take `&self` and apply the \
                         gradient with an optimizer",
                    ));
                }
                let name = Ident::new("self", receiver.self_token.span);
                let differentiated = !no_grad && selected(&name, options);
                args.push(Arg {
                    name,
                    value_type: quote!(Self),
                    is_ref: receiver.reference.is_some(),
                    differentiated,
                });
            }
            FnArg::Typed(typed) => {
                let no_grad = take_no_grad(&mut typed.attrs);
                let name = match &*typed.pat {
                    Pat::Ident(pat) if pat.by_ref.is_none() && pat.subpat.is_none() => pat.ident.clone(),
                    other => {
                        errors.push(syn::Error::new(
                            other.span(),
                            "a differentiable function takes each argument by a plain name; \
                             bind the argument to a name and destructure it in the body",
                        ));
                        Ident::new("_", other.span())
                    }
                };
                let (value_type, is_ref) = match &*typed.ty {
                    Type::Reference(reference) => {
                        // A `#[no_grad]` argument gets no gradient, so the forward
                        // pass may change it: a random number generator for dropout.
                        if reference.mutability.is_some() && !no_grad {
                            errors.push(syn::Error::new(
                                reference.span(),
                                "a differentiable function cannot differentiate a `&mut` \
                                 argument: the backward pass needs the values as the forward \
                                 pass read them; take `&T` or `T` and return the new value, or \
                                 mark state that gets no gradient, such as a random number \
                                 generator, `#[no_grad]`",
                            ));
                        }
                        (reference.elem.to_token_stream(), true)
                    }
                    other => (other.to_token_stream(), false),
                };
                let differentiated = !no_grad && !is_constant_type(&typed.ty) && selected(&name, options);
                args.push(Arg {
                    name,
                    value_type,
                    is_ref,
                    differentiated,
                });
            }
        }
    }

    if let Some(wrt) = &options.wrt {
        for name in wrt {
            if !args.iter().any(|arg| arg.name == *name) {
                errors.push(syn::Error::new(
                    name.span(),
                    format!("`wrt({name})` names no argument of this function"),
                ));
            }
        }
    }
    args
}

fn selected(name: &Ident, options: &Options) -> bool {
    match &options.wrt {
        Some(names) => names.iter().any(|n| n == name),
        None => true,
    }
}

/// Removes `#[no_grad]` from an argument's attributes; returns whether it was
/// there.
fn take_no_grad(attrs: &mut Vec<syn::Attribute>) -> bool {
    let before = attrs.len();
    attrs.retain(|attr| !attr.path().is_ident("no_grad"));
    attrs.len() != before
}

/// Primitive numbers, booleans, characters and strings (and references and
/// slices of them) are configuration, never differentiated. Floats are
/// included: a float argument is a hyperparameter such as a slope or an
/// epsilon.
fn is_constant_type(ty: &Type) -> bool {
    const PRIMITIVES: &[&str] = &[
        "bool", "char", "str", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64",
        "i128", "isize", "f32", "f64",
    ];
    match ty {
        Type::Path(path) => path.qself.is_none() && PRIMITIVES.iter().any(|p| path.path.is_ident(p)),
        Type::Reference(reference) => is_constant_type(&reference.elem),
        Type::Slice(slice) => is_constant_type(&slice.elem),
        Type::Array(array) => is_constant_type(&array.elem),
        Type::Paren(paren) => is_constant_type(&paren.elem),
        Type::Group(group) => is_constant_type(&group.elem),
        _ => false,
    }
}

/// `true` when the type is a scalar tensor (`Tensor<Rank0, ..>`), the output
/// for which a `_grad` function is generated.
pub fn is_scalar_tensor(ty: &syn::ReturnType) -> bool {
    let syn::ReturnType::Type(_, ty) = ty else {
        return false;
    };
    let Type::Path(path) = &**ty else {
        return false;
    };
    let Some(last) = path.path.segments.last() else {
        return false;
    };
    if last.ident != "Tensor" {
        return false;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return false;
    };
    matches!(args.args.first(), Some(syn::GenericArgument::Type(Type::Path(shape)))
        if shape.path.segments.last().is_some_and(|s| s.ident == "Rank0"))
}
