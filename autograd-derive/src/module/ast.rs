//! The macro's own view of the input struct: its fields in declaration
//! order, each with its state-dict name and its role.

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, Generics, Ident, Member, Type, Visibility};

use super::attr::{self, Role};
use super::Errors;

/// Whether the struct has named fields or positional ones.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Named,
    Tuple,
}

pub struct Container<'a> {
    pub ident: &'a Ident,
    pub vis: &'a Visibility,
    pub generics: &'a Generics,
    pub style: Style,
    pub fields: Vec<Field<'a>>,
}

pub struct Field<'a> {
    /// The member generated code accesses: `self.l1` or `self.0`.
    pub member: Member,
    /// The state-dict segment: the field's name without `r#`, or its index.
    pub name: String,
    pub vis: &'a Visibility,
    pub ty: &'a Type,
    pub role: Role,
    /// The span of the `#[module(...)]` mark that set the role, if any.
    pub role_span: Option<Span>,
}

impl<'a> Container<'a> {
    /// Reads the struct and its attributes, or records why it cannot be a
    /// module and returns `None`.
    pub fn from_ast(input: &'a DeriveInput, errors: &mut Errors) -> Option<Self> {
        attr::check_container_attrs(&input.attrs, errors);

        let data = match &input.data {
            Data::Struct(data) => data,
            Data::Enum(data) => {
                errors.push(syn::Error::new(
                    data.enum_token.span(),
                    format!(
                        "`#[derive(Module)]` supports structs only, and `{}` is an enum: put the \
                         layers in a struct, with an `Option<...>` field for a layer that may be \
                         absent",
                        input.ident
                    ),
                ));
                return None;
            }
            Data::Union(data) => {
                errors.push(syn::Error::new(
                    data.union_token.span(),
                    format!(
                        "`#[derive(Module)]` supports structs only, and `{}` is a union: put the \
                         layers in a struct",
                        input.ident
                    ),
                ));
                return None;
            }
        };

        let style = match data.fields {
            Fields::Unnamed(_) => Style::Tuple,
            Fields::Named(_) | Fields::Unit => Style::Named,
        };
        let fields = data
            .fields
            .iter()
            .enumerate()
            .map(|(index, field)| {
                let (member, name) = match &field.ident {
                    Some(ident) => (Member::Named(ident.clone()), ident.unraw().to_string()),
                    None => (Member::Unnamed(syn::Index::from(index)), index.to_string()),
                };
                let attrs = attr::field_attrs(field, &name, errors);
                Field {
                    member,
                    name,
                    vis: &field.vis,
                    ty: &field.ty,
                    role: attrs.role,
                    role_span: attrs.span,
                }
            })
            .collect();

        Some(Container {
            ident: &input.ident,
            vis: &input.vis,
            generics: &input.generics,
            style,
            fields,
        })
    }

    /// Iterates over the fields that are modules, the ones generated code
    /// walks.
    pub fn module_fields(&self) -> impl Iterator<Item = &Field<'a>> + Clone {
        self.fields
            .iter()
            .filter(|field| field.role == Role::Module)
    }
}
