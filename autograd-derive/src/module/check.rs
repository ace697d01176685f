//! The checks that the types alone cannot make, or would make with a
//! message that does not name the fix.

use syn::{GenericArgument, PathArguments, Type};

use super::ast::{Container, Style};
use super::attr::Role;
use super::Errors;

pub fn check(container: &Container<'_>, errors: &mut Errors) {
    check_has_parameters(container, errors);
    for field in &container.fields {
        match field.role {
            Role::Module => check_no_plain_tensor(&field.name, field.ty, errors),
            Role::Skip | Role::Constant => check_not_param(field, errors),
        }
    }
}

/// Rejects a module without parameter fields, because an optimizer over it would have
/// nothing to train (PyTorch raises "optimizer got an empty parameter list"
/// only when the optimizer is built).
fn check_has_parameters(container: &Container<'_>, errors: &mut Errors) {
    if container.module_fields().next().is_some() {
        return;
    }
    let counted = if container.fields.is_empty() {
        ""
    } else if container.style == Style::Tuple {
        " (positions marked `skip` or `constant` do not count)"
    } else {
        " (fields marked `skip` or `constant` do not count)"
    };
    errors.push(syn::Error::new(
        container.ident.span(),
        format!(
            "struct `{}` has no parameters, so an optimizer would have nothing to train: add a \
             `Param<Tensor<...>>` field or a layer field{counted}",
            container.ident
        ),
    ));
}

/// Finds a plain `Tensor` in a module field, at the top or inside a `Vec`,
/// `Option`, `Box`, array or tuple. A tensor is recognised by the last
/// segment of its path, so a type alias of a tensor is not caught here. The
/// `Module` bound then reports the alias as a type that is not a module.
fn check_no_plain_tensor(name: &str, ty: &Type, errors: &mut Errors) {
    let Some(tensor) = find_plain_tensor(ty) else {
        return;
    };
    let verb = if std::ptr::eq(tensor, ty) {
        "is"
    } else {
        "holds"
    };
    errors.push(syn::Error::new_spanned(
        tensor,
        format!(
            "field `{name}` {verb} a plain Tensor, so it would never be trained: wrap it in \
             `Param<...>` to train it, or mark the field `#[module(constant)]` to keep it constant"
        ),
    ));
}

fn find_plain_tensor(ty: &Type) -> Option<&Type> {
    match ty {
        Type::Path(path) if path.qself.is_none() => {
            let last = path.path.segments.last()?;
            if last.ident == "Tensor" {
                return Some(ty);
            }
            let is_container = ["Vec", "Option", "Box"]
                .iter()
                .any(|name| last.ident == name);
            let PathArguments::AngleBracketed(args) = &last.arguments else {
                return None;
            };
            if !is_container {
                return None;
            }
            args.args.iter().find_map(|arg| match arg {
                GenericArgument::Type(inner) => find_plain_tensor(inner),
                _ => None,
            })
        }
        Type::Array(array) => find_plain_tensor(&array.elem),
        Type::Tuple(tuple) => tuple.elems.iter().find_map(find_plain_tensor),
        Type::Paren(paren) => find_plain_tensor(&paren.elem),
        Type::Group(group) => find_plain_tensor(&group.elem),
        _ => None,
    }
}

pub fn is_param(ty: &Type) -> bool {
    match ty {
        Type::Path(path) => path
            .path
            .segments
            .last()
            .is_some_and(|last| last.ident == "Param"),
        Type::Paren(paren) => is_param(&paren.elem),
        Type::Group(group) => is_param(&group.elem),
        _ => false,
    }
}

/// Rejects a `Param` marked `skip` or `constant`, which would silently not
/// be trained: the mistake `Param` exists to prevent.
fn check_not_param(field: &super::ast::Field<'_>, errors: &mut Errors) {
    if !is_param(field.ty) {
        return;
    }
    let name = &field.name;
    let message = match field.role {
        Role::Skip => format!(
            "field `{name}` is a `Param`, so `#[module(skip)]` would leave it untrained: remove \
             the attribute to train it, or store a plain `Tensor` marked `#[module(constant)]` \
             to keep it constant"
        ),
        _ => format!(
            "field `{name}` is a `Param`, which is trained, yet it is marked \
             `#[module(constant)]`: remove the attribute to train it, or store a plain `Tensor` \
             to keep it constant"
        ),
    };
    let span = field
        .role_span
        .unwrap_or_else(|| syn::spanned::Spanned::span(field.ty));
    errors.push(syn::Error::new(span, message));
}
