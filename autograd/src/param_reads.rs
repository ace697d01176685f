//! The check behind `#[differentiable]` on a method of a `#[derive(Module)]`
//! struct: the forward pass must read every module field (a parameter or a
//! layer). A parameter that the forward never reads always gets a zero
//! gradient, where PyTorch leaves its `.grad` at `None` and distributed
//! training raises an error.
//!
//! The derive emits an inherent constant `__AUTOGRAD_PARAM_FIELDS` that lists
//! each module field with the error message for it. The attribute emits an
//! inline `const` block in the method's `_vjp` form that calls
//! [`check_param_reads`] with the fields the body reads as `self.<field>`.
//! Inline constants are evaluated when the function is compiled to code, so
//! the error appears in `cargo build` and `cargo test`, not in `cargo check`.

/// Gives every type an empty module-field list, so that the check passes
/// for a `Self` without `#[derive(Module)]`. An inherent constant of the same
/// name, emitted by the derive, takes precedence over this one.
pub trait ParamFieldsFallback {
    /// `(field name, error message)` for each module field.
    const __AUTOGRAD_PARAM_FIELDS: &'static [(&'static str, &'static str)] = &[];
}

impl<T: ?Sized> ParamFieldsFallback for T {}

/// Panics, at compile time, with the message of the first field in `fields`
/// that is missing from `reads`.
pub const fn check_param_reads(fields: &[(&str, &str)], reads: &[&str]) {
    let mut i = 0;
    while i < fields.len() {
        let (name, message) = fields[i];
        if !contains(reads, name) {
            panic!("{}", message);
        }
        i += 1;
    }
}

const fn contains(names: &[&str], name: &str) -> bool {
    let mut i = 0;
    while i < names.len() {
        if str_eq(names[i], name) {
            return true;
        }
        i += 1;
    }
    false
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIELDS: &[(&str, &str)] = &[("l1", "l1 unread"), ("l2", "l2 unread")];

    #[test]
    fn check_passes_when_every_field_is_read() {
        check_param_reads(FIELDS, &["l2", "scale", "l1"]);
    }

    #[test]
    #[should_panic(expected = "l2 unread")]
    fn check_names_the_unread_field() {
        check_param_reads(FIELDS, &["l1", "l"]);
    }
}
