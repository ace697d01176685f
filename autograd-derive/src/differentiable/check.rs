//! Rejects the syntax that the transformation does not differentiate, each
//! with an error at the construct that says what to write instead.

use quote::ToTokens;
use syn::visit::Visit;

/// Collects an error for every unsupported construct in `block`.
pub fn reject_unsupported(block: &syn::Block, errors: &mut Vec<syn::Error>) {
    let mut visitor = Rejecter { errors };
    visitor.visit_block(block);
}

struct Rejecter<'a> {
    errors: &'a mut Vec<syn::Error>,
}

impl Rejecter<'_> {
    fn reject(&mut self, node: &impl ToTokens, message: &str) {
        self.errors.push(syn::Error::new_spanned(node, message));
    }
}

impl<'ast> Visit<'ast> for Rejecter<'_> {
    fn visit_expr(&mut self, expr: &'ast syn::Expr) {
        use syn::Expr;
        match expr {
            Expr::While(e) => self.reject(
                &e.while_token,
                "`while` loops are not supported in a `#[differentiable]` function, because the \
                 backward pass needs the iterations as a range; write `for i in 0..n`",
            ),
            Expr::Loop(e) => self.reject(
                &e.loop_token,
                "`loop` is not supported in a `#[differentiable]` function, because the backward \
                 pass needs the iterations as a range; write `for i in 0..n`",
            ),
            Expr::Closure(e) => self.reject(
                &e.or1_token,
                "closures are not supported in a `#[differentiable]` function; write the closure's \
                 body inline, or make it a separate `#[differentiable]` function",
            ),
            Expr::Unsafe(e) => self.reject(
                &e.unsafe_token,
                "`unsafe` blocks are not supported in a `#[differentiable]` function; move the \
                 unsafe code into a primitive with its own `_vjp` rule",
            ),
            Expr::Macro(e) => self.reject(
                &e.mac.path,
                "macros are not supported in a `#[differentiable]` function, because their \
                 expansion cannot be read; compute the value outside, or write the expression \
                 without the macro",
            ),
            Expr::Async(e) => self.reject(&e.async_token, "`async` blocks are not supported in a `#[differentiable]` function"),
            Expr::Await(e) => self.reject(&e.await_token, "`.await` is not supported in a `#[differentiable]` function"),
            Expr::Try(e) => self.reject(
                &e.question_token,
                "`?` is not supported in a `#[differentiable]` function; check fallible inputs \
                 before calling it",
            ),
            Expr::Break(e) => self.reject(
                &e.break_token,
                "`break` is not supported in a `#[differentiable]` function, because the backward \
                 pass needs the iteration count of the range; shorten the range instead",
            ),
            Expr::Continue(e) => self.reject(
                &e.continue_token,
                "`continue` is not supported in a `#[differentiable]` function; put the rest of \
                 the loop body in an `if`",
            ),
            Expr::Reference(e) if e.mutability.is_some() => self.reject(
                e,
                "`&mut` is not supported in a `#[differentiable]` function, because the backward \
                 pass needs every value as the forward pass computed it; bind the new value with \
                 `let` instead of changing it in place",
            ),
            Expr::Assign(e) if !is_local_name(&e.left) => self.reject(
                &e.left,
                "only a local variable can be assigned in a `#[differentiable]` function; \
                 assignment through a reference, a field or an index changes a value the \
                 backward pass needs, so bind the new value with `let`",
            ),
            Expr::Binary(e) if is_compound_assign(&e.op) && !is_local_name(&e.left) => self.reject(
                &e.left,
                "only a local variable can be assigned in a `#[differentiable]` function; \
                 bind the new value with `let`",
            ),
            _ => {}
        }
        syn::visit::visit_expr(self, expr);
    }

    fn visit_stmt_macro(&mut self, stmt: &'ast syn::StmtMacro) {
        self.reject(
            &stmt.mac.path,
            "macros are not supported in a `#[differentiable]` function, because their expansion \
             cannot be read; compute the value outside, or write the statement without the macro",
        );
    }

    fn visit_local(&mut self, local: &'ast syn::Local) {
        if let Some(init) = &local.init {
            if let Some((else_token, _)) = &init.diverge {
                self.reject(
                    else_token,
                    "`let ... else` is not supported in a `#[differentiable]` function; match on \
                     the value with `match` instead",
                );
            }
        }
        syn::visit::visit_local(self, local);
    }

    fn visit_item(&mut self, _item: &'ast syn::Item) {
        // Nested items are emitted as they are and not differentiated.
    }
}

pub fn is_local_name(expr: &syn::Expr) -> bool {
    matches!(expr, syn::Expr::Path(p) if p.qself.is_none() && p.path.get_ident().is_some())
}

pub fn is_compound_assign(op: &syn::BinOp) -> bool {
    use syn::BinOp::*;
    matches!(
        op,
        AddAssign(_) | SubAssign(_) | MulAssign(_) | DivAssign(_) | RemAssign(_) | BitXorAssign(_)
            | BitAndAssign(_) | BitOrAssign(_) | ShlAssign(_) | ShrAssign(_)
    )
}
