//! The `#[module(...)]` attributes.
//!
//! On a field, `#[module(skip)]` marks a value that is not a module (a
//! setting such as a dropout rate), and `#[module(constant)]` a tensor that
//! is used but never trained (a fixed mask, a normalisation constant). Both
//! leave the field out of the parameters, the gradient struct, the weight
//! files and the repr. The struct itself takes no attributes.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Attribute, Meta};

use super::Errors;

/// A field's role in the module.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A `Param` or a layer: walked, with a gradient.
    Module,
    /// `#[module(skip)]`: ignored.
    Skip,
    /// `#[module(constant)]`: a tensor that is not trained, ignored too.
    Constant,
}

pub struct FieldAttrs {
    pub role: Role,
    /// The span of the option that set `role`, for errors about it.
    pub span: Option<Span>,
}

const EXPECTED: &str = "expected `#[module(skip)]` for a field that is not a module, such as a \
                        setting, or `#[module(constant)]` for a tensor that is not trained";

/// Reads a field's `#[module(...)]` attributes, recording unknown, malformed
/// and conflicting options.
pub fn field_attrs(field: &syn::Field, name: &str, errors: &mut Errors) -> FieldAttrs {
    let mut attrs = FieldAttrs {
        role: Role::Module,
        span: None,
    };

    for attr in field
        .attrs
        .iter()
        .filter(|attr| attr.path().is_ident("module"))
    {
        if !matches!(attr.meta, Meta::List(_)) {
            errors.push(syn::Error::new_spanned(
                attr,
                format!("malformed module attribute on field `{name}`: {EXPECTED}"),
            ));
            continue;
        }

        let parsed = attr.parse_nested_meta(|meta| {
            let role = if meta.path.is_ident("skip") {
                Role::Skip
            } else if meta.path.is_ident("constant") {
                Role::Constant
            } else {
                let option = meta
                    .path
                    .get_ident()
                    .map_or_else(|| "?".to_owned(), ToString::to_string);
                return Err(meta.error(format!(
                    "unknown module attribute `{option}` on field `{name}`: {EXPECTED}"
                )));
            };

            if attrs.span.is_some() {
                return Err(meta.error(format!(
                    "field `{name}` has more than one module attribute: keep one, `skip` for a \
                     field that is not a module or `constant` for a tensor that is not trained"
                )));
            }
            attrs.role = role;
            attrs.span = Some(meta.path.span());
            Ok(())
        });
        if let Err(error) = parsed {
            errors.push(error);
        }
    }

    attrs
}

/// Rejects `#[module(...)]` on the struct: every option belongs on a field.
pub fn check_container_attrs(attrs: &[Attribute], errors: &mut Errors) {
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("module")) {
        errors.push(syn::Error::new_spanned(
            attr,
            "`#[module(...)]` goes on fields, not on the struct: write `#[module(skip)]` or \
             `#[module(constant)]` above the field it is about",
        ));
    }
}
