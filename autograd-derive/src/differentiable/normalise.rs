//! Lowers a function body to A-normal form ([`ir`](super::ir)): nested
//! expressions become one primitive per statement, reassignments get fresh
//! names, and each value is marked active when it depends on a
//! differentiated input. Values that are not active are emitted as written.

use std::collections::HashSet;

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::visit_mut::VisitMut;
use syn::{Expr, Pat};

use super::analysis;
use super::check::{is_compound_assign, is_local_name};
use super::ir::*;

/// Methods that read a shape or a size, never a value: their result is a
/// constant even on a differentiated tensor.
const SHAPE_QUERIES: &[&str] = &["dims", "shape", "numel", "len", "is_empty", "size"];

/// Replaces the receiver of every shape query and every `no_grad(..)` call
/// with `()`, so that a name search does not see the values whose sizes are
/// queried or whose gradient is stopped.
struct HideConstantReads;

impl VisitMut for HideConstantReads {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        match expr {
            Expr::MethodCall(call) if SHAPE_QUERIES.contains(&call.method.to_string().as_str()) => {
                *call.receiver = syn::parse_quote!(());
            }
            Expr::Call(call) if is_no_grad_path(&call.func) => {
                *expr = syn::parse_quote!(());
                return;
            }
            _ => {}
        }
        syn::visit_mut::visit_expr_mut(self, expr);
    }
}

/// Returns whether `func` names `no_grad` (`no_grad`, `autograd::no_grad`,
/// `::autograd::no_grad`).
fn is_no_grad_path(func: &Expr) -> bool {
    matches!(func, Expr::Path(path) if path.path.segments.last().is_some_and(|s| s.ident == "no_grad"))
}

const EARLY_RETURN: &str = "this `return` is not supported here: `#[differentiable]` rewrites an early \
     `return` only in the arms of an `if` or `match` (nested or not) at the top level of the function \
     body, and only when the arm binds no name (with `let` or in its pattern) that the code after it \
     reads; bind the value to a variable and return it at the end of the function";

pub struct Lowerer {
    pub vars: Vec<Var>,
    pub errors: Vec<syn::Error>,
    names: HashSet<String>,
    /// Visible names, innermost scope last; a name may repeat in a scope
    /// (shadowing), and lookups take the last entry.
    scopes: Vec<Vec<(String, VarId)>>,
}

impl Lowerer {
    pub fn new() -> Self {
        Lowerer {
            vars: Vec::new(),
            errors: Vec::new(),
            names: HashSet::new(),
            scopes: vec![Vec::new()],
        }
    }

    /// Reserves a name that the user's code binds, so that fresh names avoid it.
    pub fn reserve(&mut self, name: &str) {
        self.names.insert(name.to_string());
    }

    /// Returns `base`, or `base_2`, `base_3`, ... when `base` (or a name
    /// derived from it) is taken.
    fn fresh_name(&mut self, base: &str, span: Span) -> Ident {
        let base = base.trim_start_matches("r#").trim_start_matches('_');
        let base = if base.is_empty() { "value" } else { base };
        let mut counter = 1;
        loop {
            let candidate = if counter == 1 { base.to_string() } else { format!("{base}_{counter}") };
            let derived = [
                candidate.clone(),
                format!("{candidate}_pullback"),
                format!("{candidate}_saved"),
                format!("grad_{candidate}"),
                format!("d_{candidate}"),
            ];
            if derived.iter().all(|name| !self.names.contains(name)) {
                for name in derived {
                    self.names.insert(name);
                }
                return Ident::new(&candidate, span);
            }
            counter += 1;
        }
    }

    pub fn new_var(&mut self, base: &str, span: Span, is_ref: bool, active: bool, origin: Origin) -> VarId {
        let name = self.fresh_name(base, span);
        self.vars.push(Var {
            tokens: name.to_token_stream(),
            name,
            is_ref,
            active,
            origin,
        });
        self.vars.len() - 1
    }

    /// Binds an argument under its own name.
    pub fn bind_input(&mut self, name: &Ident, index: usize, is_ref: bool, active: bool) -> VarId {
        for derived in [format!("{name}_saved"), format!("grad_{name}"), format!("{name}_parts")] {
            self.names.insert(derived);
        }
        self.vars.push(Var {
            name: name.clone(),
            tokens: name.to_token_stream(),
            is_ref,
            active,
            origin: Origin::Input { index },
        });
        let id = self.vars.len() - 1;
        self.bind(&name.to_string(), id);
        id
    }

    fn bind(&mut self, name: &str, var: VarId) {
        self.scopes.last_mut().expect("a scope is always open").push((name.to_string(), var));
    }

    fn lookup(&self, name: &str) -> Option<VarId> {
        self.scopes
            .iter()
            .rev()
            .find_map(|scope| scope.iter().rev().find(|(n, _)| n == name).map(|(_, v)| *v))
    }

    /// Points the innermost binding of `name` at `var` (an assignment).
    fn rebind(&mut self, name: &str, var: VarId) -> bool {
        for scope in self.scopes.iter_mut().rev() {
            if let Some(entry) = scope.iter_mut().rev().find(|(n, _)| n == name) {
                entry.1 = var;
                return true;
            }
        }
        false
    }

    fn operand(&self, var: VarId) -> Operand {
        let v = &self.vars[var];
        Operand {
            var: Some(var),
            tokens: v.tokens.clone(),
            is_ref: v.is_ref,
        }
    }

    /// The operand of `var` as the user wrote it at `span`, so that a type
    /// error in generated code points at this use.
    fn operand_at(&self, var: VarId, span: Span) -> Operand {
        let mut operand = self.operand(var);
        operand.tokens = respan(operand.tokens, span);
        operand
    }

    fn is_active(&self, operand: &Operand) -> bool {
        operand.var.is_some_and(|v| self.vars[v].active)
    }

    /// `true` when the expression reads an active variable. The receiver of
    /// a shape query (`x.dims()`, `self.layers.len()`) does not count,
    /// because the query's result is a constant.
    fn mentions_active(&self, expr: &Expr) -> bool {
        let mut expr = expr.clone();
        HideConstantReads.visit_expr_mut(&mut expr);
        let mut finder = analysis::NameFinder::default();
        finder.visit_expr(&expr);
        finder.names.iter().any(|name| self.lookup(name).is_some_and(|v| self.vars[v].active))
    }

    /// Returns the expression with every local name replaced by its current
    /// emitted name.
    fn renamed(&self, expr: &Expr) -> TokenStream {
        let mut expr = expr.clone();
        let mut renamer = Renamer { lowerer: self };
        renamer.visit_expr_mut(&mut expr);
        expr.to_token_stream()
    }

    fn error(&mut self, node: &impl ToTokens, message: impl std::fmt::Display) -> Operand {
        self.errors.push(syn::Error::new_spanned(node, message));
        Operand {
            var: None,
            tokens: quote!(()),
            is_ref: false,
        }
    }

    // ---- blocks and statements ----

    /// Lowers a block in a new scope.
    pub fn lower_block(&mut self, block: &syn::Block) -> Block {
        let restructured;
        let block = if self.scopes.len() == 1 {
            restructured = syn::Block {
                brace_token: block.brace_token,
                stmts: restructure_returns(&block.stmts),
            };
            &restructured
        } else {
            block
        };
        self.scopes.push(Vec::new());
        let mut out = Block::default();
        let count = block.stmts.len();
        for (i, stmt) in block.stmts.iter().enumerate() {
            let last = i + 1 == count;
            match stmt {
                syn::Stmt::Local(local) => self.lower_local(local, &mut out.stmts),
                syn::Stmt::Item(item) => out.stmts.push(Stmt::Verbatim(item.to_token_stream())),
                syn::Stmt::Expr(expr, semi) => {
                    if let Expr::Return(ret) = expr {
                        if last && self.scopes.len() == 2 {
                            out.result = ret.expr.as_ref().map(|e| self.lower_expr(e, &mut out.stmts, None));
                        } else {
                            self.error(&ret.return_token, EARLY_RETURN);
                        }
                        continue;
                    }
                    let is_result = last && semi.is_none();
                    // The function's value is named `output` unless it has a name.
                    let output = Ident::new("output", expr.span());
                    let hint = (is_result && self.scopes.len() == 2).then_some(&output);
                    let operand = self.lower_expr(expr, &mut out.stmts, hint);
                    if is_result {
                        out.result = Some(operand);
                    }
                }
                syn::Stmt::Macro(_) => {} // rejected by `check`
            }
        }
        self.scopes.pop();
        out
    }

    fn lower_local(&mut self, local: &syn::Local, out: &mut Vec<Stmt>) {
        let Some(init) = &local.init else {
            self.error(
                local,
                "a `let` without a value is not supported in a `#[differentiable]` function; \
                 bind the value where it is computed",
            );
            return;
        };
        let (pat, ty) = match &local.pat {
            Pat::Type(typed) => (&*typed.pat, Some(&typed.ty)),
            other => (other, None),
        };
        match pat {
            Pat::Ident(ident) if ident.by_ref.is_none() && ident.subpat.is_none() => {
                let name = ident.ident.to_string();
                if !self.mentions_active(&init.expr) {
                    let var = self.new_var(&name, ident.ident.span(), false, false, Origin::Local);
                    let expr = self.renamed(&init.expr);
                    self.vars[var].is_ref = matches!(&*init.expr, Expr::Reference(_));
                    let name_tokens = &self.vars[var].name;
                    let expr = match ty {
                        Some(ty) => quote!(#name_tokens: #ty = #expr),
                        None => quote!(#name_tokens = #expr),
                    };
                    out.push(Stmt::Const { mutable: ident.mutability.is_some(), expr });
                    self.bind(&name, var);
                    return;
                }
                let operand = self.lower_expr(&init.expr, out, Some(&ident.ident));
                let var = self.bind_operand(&ident.ident, operand, out);
                self.bind(&name, var);
            }
            Pat::Wild(_) => {
                self.lower_expr(&init.expr, out, None);
            }
            Pat::Tuple(tuple) => self.lower_tuple_let(tuple, &init.expr, out),
            other => {
                self.error(
                    other,
                    "this pattern is not supported in a `#[differentiable]` function; bind a name \
                     or a tuple of names",
                );
            }
        }
    }

    /// Gives an operand a variable of its own when its tokens are more than
    /// a name (`&*self.w`), so that later statements can name it.
    fn bind_operand(&mut self, name: &Ident, operand: Operand, out: &mut Vec<Stmt>) -> VarId {
        if let Some(var) = operand.var {
            if self.vars[var].tokens.to_string() == operand.tokens.to_string() {
                return var;
            }
        }
        let active = self.is_active(&operand);
        let var = self.new_var(&name.to_string(), name.span(), operand.is_ref, active, Origin::Local);
        let tokens = operand.tokens;
        let binding = &self.vars[var].name;
        match operand.var.filter(|_| active) {
            Some(source) => out.push(Stmt::Alias { var, source, expr: tokens }),
            None => out.push(Stmt::Const { mutable: false, expr: quote!(#binding = #tokens) }),
        }
        var
    }

    fn lower_tuple_let(&mut self, tuple: &syn::PatTuple, init: &Expr, out: &mut Vec<Stmt>) {
        let mut names = Vec::new();
        for elem in &tuple.elems {
            match elem {
                Pat::Ident(ident) if ident.by_ref.is_none() && ident.subpat.is_none() => names.push(Some(ident.ident.clone())),
                Pat::Wild(_) => names.push(None),
                other => {
                    self.error(
                        other,
                        "nested patterns are not supported in a `#[differentiable]` function; \
                         destructure one level per `let`",
                    );
                    return;
                }
            }
        }

        // `let (a, b) = (x, y);` binds each element directly. Every value is
        // lowered before any name is bound, as Rust evaluates the whole tuple
        // first: in `let (h, g) = (h.exp(), h.tanh());` both read the old `h`.
        if let Expr::Tuple(values) = strip_parens(init) {
            if values.elems.len() == names.len() {
                let mut bindings = Vec::new();
                for (name, value) in names.iter().zip(&values.elems) {
                    let operand = self.lower_expr(value, out, name.as_ref());
                    if let Some(name) = name {
                        bindings.push((name.to_string(), self.bind_operand(name, operand, out)));
                    }
                }
                for (name, var) in bindings {
                    self.bind(&name, var);
                }
                return;
            }
        }

        let source = self.lower_expr(init, out, None);
        let active = self.is_active(&source);
        // An ignored element still gets a name: the backward pass needs its
        // value for the zeros of its gradient.
        let elems: Vec<VarId> = names
            .iter()
            .map(|name| match name {
                Some(name) => {
                    let var = self.new_var(&name.to_string(), name.span(), false, active, Origin::Local);
                    self.bind(&name.to_string(), var);
                    var
                }
                None => self.new_var("ignored", tuple.span(), false, active, Origin::Local),
            })
            .collect();
        if active {
            out.push(Stmt::Untuple { source, elems });
        } else {
            let pattern = elems.iter().map(|v| self.vars[*v].name.to_token_stream());
            let tokens = source.tokens;
            out.push(Stmt::Verbatim(quote!(let (#(#pattern),*) = #tokens;)));
        }
    }

    // ---- expressions ----

    /// Lowers an expression to statements and returns the operand that
    /// contains its value. `hint` names the value (the `let` it is bound to).
    pub fn lower_expr(&mut self, expr: &Expr, out: &mut Vec<Stmt>, hint: Option<&Ident>) -> Operand {
        // Assignments and control flow change variables even when the value
        // they produce is a constant.
        match expr {
            Expr::Assign(assign) => return self.lower_assign(&assign.left, &assign.right, None, out),
            Expr::Binary(binary) if is_compound_assign(&binary.op) => {
                return self.lower_assign(&binary.left, &binary.right, Some(&binary.op), out)
            }
            Expr::If(_) | Expr::Match(_) => return self.lower_branch(expr, out, hint),
            Expr::ForLoop(for_loop) => return self.lower_loop(for_loop, out),
            Expr::Block(block) if block.label.is_none() => {
                let lowered = self.lower_block(&block.block);
                out.extend(lowered.stmts);
                return lowered.result.unwrap_or(Operand { var: None, tokens: quote!(()), is_ref: false });
            }
            Expr::Paren(paren) => return self.lower_expr(&paren.expr, out, hint),
            Expr::Group(group) => return self.lower_expr(&group.expr, out, hint),
            _ => {}
        }

        if !self.mentions_active(expr) {
            return self.constant(expr, out, hint);
        }

        match expr {
            Expr::Path(path) => match path.path.get_ident().and_then(|i| self.lookup(&i.to_string())) {
                Some(var) => self.operand_at(var, path.span()),
                None => self.constant(expr, out, hint),
            },
            Expr::Field(field) => self.lower_field(field, out),
            Expr::Reference(reference) => {
                let inner = self.lower_expr(&reference.expr, out, hint);
                let tokens = inner.tokens;
                Operand { var: inner.var, tokens: quote!(&#tokens), is_ref: true }
            }
            Expr::Unary(unary) => match unary.op {
                syn::UnOp::Deref(_) => {
                    let inner = self.lower_expr(&unary.expr, out, hint);
                    let tokens = inner.tokens;
                    Operand { var: inner.var, tokens: quote!((*#tokens)), is_ref: false }
                }
                syn::UnOp::Neg(_) => {
                    let operand = self.lower_expr(&unary.expr, out, None);
                    let call = Call { kind: CallKind::Neg, operands: vec![operand], span: unary.span() };
                    self.emit_call("neg", call, out, hint)
                }
                _ => self.error(
                    unary,
                    "this operator has no gradient; wrap the operand in `::autograd::no_grad(..)` \
                     to use its value as a constant",
                ),
            },
            Expr::Binary(binary) => self.lower_binary(binary, out, hint),
            Expr::MethodCall(call) => self.lower_method_call(call, out, hint),
            Expr::Call(call) => self.lower_call(call, out, hint),
            Expr::Tuple(tuple) => {
                let elems: Vec<Operand> = tuple.elems.iter().map(|e| self.lower_expr(e, out, None)).collect();
                let var = self.new_var(&hint.map_or("tuple".to_string(), |h| h.to_string()), tuple.span(), false, true, Origin::Local);
                out.push(Stmt::Tuple { var, elems });
                self.operand(var)
            }
            Expr::Index(index) => self.error(
                index,
                "indexing a differentiated value is not supported in a `#[differentiable]` \
                 function: run a whole `Vec` or array of blocks in order with \
                 `self.blocks.forward(&h)`, hold differing layers in named fields or a tuple, \
                 and take an element of a tensor with `.select::<AXIS>(i)`. Wrapping the value \
                 in `::autograd::no_grad(..)` would make it a constant that gets no gradient",
            ),
            Expr::Cast(cast) => self.error(
                cast,
                "`as` casts have no gradient; call `.cast()` on a tensor, or wrap the value in \
                 `::autograd::no_grad(..)` to read it as a constant",
            ),
            Expr::Struct(structure) => self.lower_struct(structure, out, hint),
            Expr::Return(ret) => self.error(&ret.return_token, EARLY_RETURN),
            other => self.error(other, "this expression is not supported in a `#[differentiable]` function"),
        }
    }

    /// Emits a value that does not depend on a differentiated input:
    /// literals and constant paths stay inline, anything else is bound once.
    fn constant(&mut self, expr: &Expr, out: &mut Vec<Stmt>, hint: Option<&Ident>) -> Operand {
        let tokens = self.renamed(expr);
        if let Expr::Path(path) = expr {
            if let Some(var) = path.path.get_ident().and_then(|i| self.lookup(&i.to_string())) {
                return self.operand_at(var, path.span());
            }
        }
        let inline = match expr {
            Expr::Lit(_) | Expr::Path(_) => true,
            Expr::Unary(u) => matches!(&*u.expr, Expr::Lit(_)),
            _ => false,
        };
        let is_ref = matches!(expr, Expr::Reference(_));
        if inline {
            return Operand { var: None, tokens, is_ref };
        }
        let base = hint.map_or_else(|| "constant".to_string(), |h| h.to_string());
        let var = self.new_var(&base, expr.span(), is_ref, false, Origin::Local);
        let name = &self.vars[var].name;
        out.push(Stmt::Const { mutable: false, expr: quote!(#name = #tokens) });
        self.operand(var)
    }

    fn lower_struct(&mut self, structure: &syn::ExprStruct, out: &mut Vec<Stmt>, hint: Option<&Ident>) -> Operand {
        if let Some(rest) = &structure.rest {
            return self.error(
                rest,
                "`..base` in a struct built from differentiated values is not supported in a \
                 `#[differentiable]` function; write every field",
            );
        }
        let mut fields = Vec::new();
        for field in &structure.fields {
            let syn::Member::Named(name) = &field.member else {
                return self.error(field, "a tuple struct built from differentiated values is not supported; name its fields");
            };
            let operand = self.lower_expr(&field.expr, out, Some(name));
            fields.push((name.clone(), operand));
        }
        let base = hint.map_or_else(|| "output".to_string(), |h| h.to_string());
        let var = self.new_var(&base, structure.span(), false, true, Origin::Local);
        let path = structure.path.to_token_stream();
        out.push(Stmt::Struct { var, path, fields });
        self.operand(var)
    }

    fn lower_assign(&mut self, left: &Expr, right: &Expr, op: Option<&syn::BinOp>, out: &mut Vec<Stmt>) -> Operand {
        let unit = Operand { var: None, tokens: quote!(()), is_ref: false };
        if !is_local_name(left) {
            return unit; // rejected by `check`
        }
        let Expr::Path(path) = left else { return unit };
        let name = path.path.get_ident().expect("checked by is_local_name").clone();
        if self.lookup(&name.to_string()).is_none() {
            self.error(left, format!("cannot find the variable `{name}` to assign to"));
            return unit;
        }
        let value: Expr = match op {
            None => right.clone(),
            Some(op) => {
                let binary_op = compound_to_binary(op);
                syn::parse_quote_spanned!(op.span()=> #left #binary_op (#right))
            }
        };
        let operand = if self.mentions_active(&value) {
            self.lower_expr(&value, out, Some(&name))
        } else {
            let var = self.new_var(&name.to_string(), name.span(), false, false, Origin::Local);
            let tokens = self.renamed(&value);
            let binding = &self.vars[var].name;
            out.push(Stmt::Const { mutable: false, expr: quote!(#binding = #tokens) });
            self.operand(var)
        };
        let var = self.bind_operand(&name, operand, out);
        self.rebind(&name.to_string(), var);
        unit
    }

    fn lower_field(&mut self, field: &syn::ExprField, out: &mut Vec<Stmt>) -> Operand {
        // Collect `root.a.b` down to a local name.
        let mut path = Vec::new();
        let mut base: &Expr = &Expr::Field(field.clone());
        loop {
            match base {
                Expr::Field(f) => {
                    let syn::Member::Named(name) = &f.member else {
                        return self.error(
                            f,
                            "reading a positional field (`.0`) of a differentiated value is not \
                             supported in a `#[differentiable]` function; give a model struct \
                             named fields (`self.encoder`), and destructure a tuple value with \
                             `let (a, b) = value;`",
                        );
                    };
                    path.push(name.clone());
                    base = &f.base;
                }
                Expr::Paren(p) => base = &p.expr,
                _ => break,
            }
        }
        path.reverse();
        let root = match base {
            Expr::Path(p) => p.path.get_ident().and_then(|i| self.lookup(&i.to_string())),
            _ => None,
        };
        let Some(root) = root.filter(|r| matches!(self.vars[*r].origin, Origin::Input { .. })) else {
            let _ = out;
            return self.error(
                field,
                "reading a field of a computed value is not supported in a `#[differentiable]` \
                 function; only fields of the arguments (such as `self.weight`) route their \
                 gradients",
            );
        };
        if let Some(existing) = self.vars.iter().position(|v| matches!(&v.origin, Origin::Field { root: r, path: p } if *r == root && *p == path)) {
            return self.operand(existing);
        }
        let root_tokens = self.vars[root].tokens.clone();
        let name: String = std::iter::once(self.vars[root].name.to_string())
            .chain(path.iter().map(|p| p.to_string()))
            .collect::<Vec<_>>()
            .join("_");
        let name = name.trim_start_matches("r#").to_string();
        let var = self.new_var(&name, field.span(), false, true, Origin::Field { root, path: path.clone() });
        self.vars[var].tokens = quote!(#root_tokens #(.#path)*);
        self.operand(var)
    }

    fn lower_binary(&mut self, binary: &syn::ExprBinary, out: &mut Vec<Stmt>, hint: Option<&Ident>) -> Operand {
        let (trait_name, method) = match binary.op {
            syn::BinOp::Add(_) => ("AddVjp", "add"),
            syn::BinOp::Sub(_) => ("SubVjp", "sub"),
            syn::BinOp::Mul(_) => ("MulVjp", "mul"),
            syn::BinOp::Div(_) => ("DivVjp", "div"),
            _ => {
                return self.error(
                    &binary.op,
                    "this operator has no gradient; compare or combine constants only, or wrap \
                     the differentiated operand in `::autograd::no_grad(..)`",
                )
            }
        };
        let lhs = self.lower_expr(&binary.left, out, None);
        let rhs = self.lower_expr(&binary.right, out, None);
        let span = binary.op.span();
        let call = Call {
            kind: CallKind::Binary {
                method: Ident::new(&format!("{method}_vjp"), span),
                trait_name: Ident::new(trait_name, span),
            },
            operands: vec![lhs, rhs],
            span,
        };
        self.emit_call(method, call, out, hint)
    }

    fn lower_method_call(&mut self, call: &syn::ExprMethodCall, out: &mut Vec<Stmt>, hint: Option<&Ident>) -> Operand {
        let method = call.method.to_string();
        if SHAPE_QUERIES.contains(&method.as_str()) || method == "no_grad" {
            return self.constant(&Expr::MethodCall(call.clone()), out, hint);
        }
        let receiver = self.lower_expr(&call.receiver, out, None);
        if method == "clone" && call.args.is_empty() {
            let Some(source) = receiver.var.filter(|_| self.is_active(&receiver)) else {
                return self.constant(&Expr::MethodCall(call.clone()), out, hint);
            };
            let var = self.new_var(&hint.map_or_else(|| "clone".to_string(), |h| h.to_string()), call.span(), false, true, Origin::Local);
            let tokens = receiver.tokens;
            out.push(Stmt::Alias { var, source, expr: quote!(#tokens.clone()) });
            return self.operand(var);
        }
        let mut operands = vec![receiver];
        for arg in &call.args {
            operands.push(self.lower_expr(arg, out, None));
        }
        let vjp_name = format_ident!("{}_vjp", call.method, span = call.method.span());
        let turbofish = call.turbofish.to_token_stream();
        let call = Call { kind: CallKind::Method { vjp_name, turbofish }, operands, span: call.method.span() };
        self.emit_call(&method, call, out, hint)
    }

    fn lower_call(&mut self, call: &syn::ExprCall, out: &mut Vec<Stmt>, hint: Option<&Ident>) -> Operand {
        let Expr::Path(func) = &*call.func else {
            return self.error(
                &call.func,
                "only calls of a named function are supported in a `#[differentiable]` function; \
                 the transformation looks up the `_vjp` form by name",
            );
        };
        let Some(last) = func.path.segments.last() else {
            return self.error(&call.func, "empty path");
        };
        let name = last.ident.to_string();
        if name == "no_grad" {
            return self.constant(&Expr::Call(call.clone()), out, hint);
        }
        let mut vjp_path = func.clone();
        let last = vjp_path.path.segments.last_mut().expect("checked above");
        last.ident = format_ident!("{}_vjp", last.ident, span = last.ident.span());
        let operands: Vec<Operand> = call.args.iter().map(|a| self.lower_expr(a, out, None)).collect();
        let is_apply = name == "apply" && func.path.segments.len() >= 2;
        if is_apply && operands.len() != 1 {
            return self.error(call, "`Function::apply` takes one argument (a tuple for several inputs)");
        }
        let kind = if is_apply {
            CallKind::Apply { vjp_path: vjp_path.to_token_stream() }
        } else {
            CallKind::Path { vjp_path: vjp_path.to_token_stream() }
        };
        let call = Call { kind, operands, span: func.span() };
        self.emit_call(&name, call, out, hint)
    }

    fn emit_call(&mut self, op_name: &str, call: Call, out: &mut Vec<Stmt>, hint: Option<&Ident>) -> Operand {
        let active = call.operands.iter().any(|o| self.is_active(o));
        let base = hint.map_or_else(|| op_name.to_string(), |h| h.to_string());
        let var = self.new_var(&base, call.span, false, active, Origin::Local);
        out.push(Stmt::Call { var, call });
        self.operand(var)
    }

    // ---- control flow ----

    fn lower_branch(&mut self, expr: &Expr, out: &mut Vec<Stmt>, hint: Option<&Ident>) -> Operand {
        let span = expr.span();
        // (head, block) per arm; `if` without `else` gets an empty `else`.
        let empty: syn::Block = syn::parse_quote!({});
        let (selector, arms): (Selector, Vec<(Option<TokenStream>, syn::Block)>) = match expr {
            Expr::If(if_expr) => {
                if let Expr::Let(_) = &*if_expr.cond {
                    return self.error(&if_expr.cond, "`if let` is not supported in a `#[differentiable]` function; use `match`");
                }
                if self.mentions_active(&if_expr.cond) {
                    return self.error(
                        &if_expr.cond,
                        "the condition of this `if` depends on a differentiated value, and a \
                         branch has no gradient; wrap the value in `::autograd::no_grad(..)` to \
                         branch on it as a constant",
                    );
                }
                let else_block = match &if_expr.else_branch {
                    None => empty.clone(),
                    Some((_, else_expr)) => match &**else_expr {
                        Expr::Block(b) => b.block.clone(),
                        other => syn::parse_quote!({ #other }),
                    },
                };
                let cond = self.renamed(&if_expr.cond);
                (Selector::If(cond), vec![(None, if_expr.then_branch.clone()), (None, else_block)])
            }
            Expr::Match(match_expr) => {
                if self.mentions_active(&match_expr.expr) {
                    return self.error(
                        &match_expr.expr,
                        "this `match` inspects a differentiated value, and a branch has no \
                         gradient; wrap the value in `::autograd::no_grad(..)` to match on it as a \
                         constant",
                    );
                }
                let scrutinee = self.renamed(&match_expr.expr);
                let arms = match_expr
                    .arms
                    .iter()
                    .map(|arm| {
                        let pat = &arm.pat;
                        let guard = arm.guard.as_ref().map(|(if_token, g)| {
                            let g = self.renamed(g);
                            quote!(#if_token #g)
                        });
                        let block: syn::Block = match &*arm.body {
                            Expr::Block(b) if b.label.is_none() => b.block.clone(),
                            other => syn::parse_quote!({ #other }),
                        };
                        (Some(quote!(#pat #guard)), block)
                    })
                    .collect();
                (Selector::Match(scrutinee), arms)
            }
            _ => unreachable!("called for `if` and `match` only"),
        };

        let first_new = self.vars.len();
        let before = self.scopes.clone();
        let mut lowered = Vec::new();
        let mut reassigned: Vec<String> = Vec::new();
        for (head, block) in arms {
            self.scopes = before.clone();
            let lowered_block = self.lower_block(&block);
            for name in changed_names(&before, &self.scopes) {
                if !reassigned.contains(&name) {
                    reassigned.push(name);
                }
            }
            let end_scopes = self.scopes.clone();
            lowered.push((head, lowered_block, end_scopes));
        }
        self.scopes = before;

        let has_result = lowered.iter().any(|(_, b, _)| b.result.is_some());
        let mut arms = Vec::new();
        for (head, block, end_scopes) in lowered {
            let mut outputs = Vec::new();
            if has_result {
                outputs.push(block.result.clone().unwrap_or(Operand { var: None, tokens: quote!(()), is_ref: false }));
            }
            for name in &reassigned {
                let var = lookup_in(&end_scopes, name).expect("reassigned names are visible");
                outputs.push(self.operand(var));
            }
            arms.push(Arm { head, block, outputs });
        }

        let mut output_vars = Vec::new();
        let mut names: Vec<(Option<String>, String)> = Vec::new();
        if has_result {
            names.push((None, hint.map_or_else(|| "branch".to_string(), |h| h.to_string())));
        }
        for name in &reassigned {
            names.push((Some(name.clone()), name.clone()));
        }
        for (k, (rebinds, base)) in names.iter().enumerate() {
            let active = arms.iter().any(|arm| self.is_active(&arm.outputs[k]));
            let is_ref = arms.iter().all(|arm| arm.outputs[k].is_ref);
            let var = self.new_var(base, span, is_ref, active, Origin::Local);
            if let Some(name) = rebinds {
                self.rebind(name, var);
            }
            output_vars.push(var);
        }

        let mut inputs = Vec::new();
        for arm in &arms {
            let mut used = analysis::used_vars(&arm.block);
            used.extend(arm.outputs.iter().filter_map(|o| o.var));
            for var in used {
                let outside = var < first_new || !matches!(self.vars[var].origin, Origin::Local);
                if outside && self.vars[var].active && !inputs.contains(&var) {
                    inputs.push(var);
                }
            }
        }
        inputs.sort_unstable();

        let pullback = self.fresh_name(if matches!(selector, Selector::If(_)) { "if_pullback" } else { "match_pullback" }, span);
        out.push(Stmt::Branch { selector, arms, inputs, outputs: output_vars.clone(), pullback, span });
        if has_result {
            self.operand(output_vars[0])
        } else {
            Operand { var: None, tokens: quote!(()), is_ref: false }
        }
    }

    fn lower_loop(&mut self, for_loop: &syn::ExprForLoop, out: &mut Vec<Stmt>) -> Operand {
        let unit = Operand { var: None, tokens: quote!(()), is_ref: false };
        let span = for_loop.for_token.span;
        if for_loop.label.is_some() {
            return self.error(&for_loop.label, "loop labels are not supported in a `#[differentiable]` function");
        }
        if self.mentions_active(&for_loop.expr) {
            return self.error(
                &for_loop.expr,
                "the range of this `for` loop depends on a differentiated value; iterate over a \
                 range of integers such as `0..n`, and run a `Vec` or array of blocks in order \
                 with `self.blocks.forward(&h)` instead of a loop over its items",
            );
        }
        let range = self.renamed(&for_loop.expr);
        let loop_name = match &*for_loop.pat {
            Pat::Ident(ident) if ident.subpat.is_none() && ident.by_ref.is_none() => Some(ident.ident.clone()),
            Pat::Wild(_) => None,
            other => return self.error(other, "a `for` loop in a `#[differentiable]` function binds a name or `_`"),
        };

        let carried_names: Vec<String> = analysis::assigned_names(&for_loop.body)
            .into_iter()
            .filter(|name| self.lookup(name).is_some())
            .collect();

        // The activity of a carried value can grow during the body
        // (`acc = acc + x` with a constant `acc`), so lower until it is stable.
        let mut start_active: Vec<bool> =
            carried_names.iter().map(|n| self.vars[self.lookup(n).expect("filtered")].active).collect();
        let (vars_before, errors_before) = (self.vars.len(), self.errors.len());
        let scopes_before = self.scopes.clone();
        loop {
            self.vars.truncate(vars_before);
            self.errors.truncate(errors_before);
            self.scopes = scopes_before.clone();
            let first_new = self.vars.len();

            self.scopes.push(Vec::new());
            let mut starts = Vec::new();
            for (name, &active) in carried_names.iter().zip(&start_active) {
                let outer = self.vars[self.lookup(name).expect("filtered")].clone();
                let var = self.new_var(name, span, outer.is_ref, active, Origin::Local);
                self.bind(name, var);
                starts.push(var);
            }
            let loop_var = loop_name.as_ref().map(|name| {
                self.reserve(&name.to_string());
                self.vars.push(Var {
                    name: name.clone(),
                    tokens: name.to_token_stream(),
                    is_ref: false,
                    active: false,
                    origin: Origin::Local,
                });
                let id = self.vars.len() - 1;
                self.bind(&name.to_string(), id);
                id
            });
            let _ = loop_var;
            let body = self.lower_block(&for_loop.body);
            let ends: Vec<Operand> =
                carried_names.iter().map(|n| self.operand(self.lookup(n).expect("bound in the loop scope"))).collect();
            self.scopes.pop();

            let grown: Vec<bool> = ends.iter().zip(&start_active).map(|(e, &a)| a || self.is_active(e)).collect();
            if grown != start_active {
                start_active = grown;
                continue;
            }

            let mut inputs = Vec::new();
            let mut used = analysis::used_vars(&body);
            used.extend(ends.iter().filter_map(|o| o.var));
            for var in used {
                let outside = var < first_new || !matches!(self.vars[var].origin, Origin::Local);
                if outside && self.vars[var].active && !inputs.contains(&var) {
                    inputs.push(var);
                }
            }
            inputs.sort_unstable();

            let mut carried = Vec::new();
            for ((name, start), end) in carried_names.iter().zip(starts).zip(ends) {
                let before = self.operand(self.lookup(name).expect("filtered"));
                let active = self.vars[start].active;
                let after = self.new_var(name, span, before.is_ref, active, Origin::Local);
                self.rebind(name, after);
                carried.push(Carried { before, start, end, after });
            }
            let pullbacks = self.fresh_name("for_pullbacks", span);
            let pat = for_loop.pat.to_token_stream();
            let count = constant_count(&for_loop.expr);
            out.push(Stmt::Loop { pat, range, body, carried, inputs, pullbacks, count, span });
            return unit;
        }
    }
}

/// Rewrites the early returns of the function body into branches, so that
/// the body ends with one value and every path through it is an arm.
///
/// An `if` or `match` with a `return` somewhere in its arms takes the rest
/// of the body into each arm that does not return: `if c { a; return x; }
/// rest` becomes `if c { a; x } else { rest }`, and `if c { return x; } else
/// { b } rest` becomes `if c { x } else { { b }; rest }`. Nested branches
/// are rewritten the same way, and a final `return x;` becomes `x`. A
/// `return` inside a loop or a nested block stays, and lowering rejects it.
fn restructure_returns(stmts: &[syn::Stmt]) -> Vec<syn::Stmt> {
    let mut out = Vec::new();
    for (i, stmt) in stmts.iter().enumerate() {
        let rest = &stmts[i + 1..];
        match stmt {
            syn::Stmt::Expr(Expr::Return(ret), _) => {
                // Whatever follows a `return` is unreachable.
                out.push(syn::Stmt::Expr(return_value(ret), None));
                return out;
            }
            syn::Stmt::Expr(Expr::If(if_expr), _) if returns_in_arms(stmt) => {
                if let Some(rewritten) = rewrite_if(if_expr, rest) {
                    out.push(syn::Stmt::Expr(Expr::If(rewritten), None));
                    return out;
                }
            }
            syn::Stmt::Expr(Expr::Match(match_expr), _) if returns_in_arms(stmt) => {
                if let Some(rewritten) = rewrite_match(match_expr, rest) {
                    out.push(syn::Stmt::Expr(Expr::Match(rewritten), None));
                    return out;
                }
            }
            _ => {}
        }
        out.push(stmt.clone());
    }
    out
}

fn return_value(ret: &syn::ExprReturn) -> Expr {
    match &ret.expr {
        Some(e) => (**e).clone(),
        None => syn::parse_quote!(()),
    }
}

/// Returns whether an `if` or `match` statement has a `return` in one of its
/// arms, directly or in a nested `if` or `match` (not in a loop or closure).
fn returns_in_arms(stmt: &syn::Stmt) -> bool {
    fn in_stmts(stmts: &[syn::Stmt]) -> bool {
        stmts.iter().any(|stmt| match stmt {
            syn::Stmt::Expr(expr, _) => in_expr(expr),
            _ => false,
        })
    }
    fn in_expr(expr: &Expr) -> bool {
        match expr {
            Expr::Return(_) => true,
            Expr::If(if_expr) => {
                in_stmts(&if_expr.then_branch.stmts) || if_expr.else_branch.as_ref().is_some_and(|(_, e)| in_expr(e))
            }
            Expr::Match(m) => m.arms.iter().any(|arm| in_expr(&arm.body)),
            Expr::Block(block) => in_stmts(&block.block.stmts),
            _ => false,
        }
    }
    matches!(stmt, syn::Stmt::Expr(expr, _) if in_expr(expr))
}

/// The statements of one arm followed by the rest of the body, with their
/// own returns rewritten. `pattern_names` are the names the arm's pattern
/// binds. Returns `None` when the arm binds a name (in its pattern, or with a
/// `let` when the arm is joined to the rest directly) that the rest reads,
/// because joining them would change what that name means there.
fn continue_arm(arm: &[syn::Stmt], pattern_names: &[String], rest: &[syn::Stmt]) -> Option<Vec<syn::Stmt>> {
    if rest.is_empty() {
        return Some(restructure_returns(arm));
    }
    let mut reads = super::analysis::NameFinder::default();
    for stmt in rest {
        syn::visit::Visit::visit_stmt(&mut reads, stmt);
    }
    if reads.names.iter().any(|name| pattern_names.contains(name)) {
        return None;
    }
    let returns = arm.iter().any(returns_in_arms) || arm.iter().any(|s| matches!(s, syn::Stmt::Expr(Expr::Return(_), _)));
    if !returns {
        // The arm runs for its effects (reassignments), in a block of its own
        // so that its `let`s stay inside it, and then the rest runs.
        let block = syn::Block { brace_token: Default::default(), stmts: arm.to_vec() };
        let mut joined = vec![syn::Stmt::Expr(
            Expr::Block(syn::ExprBlock { attrs: Vec::new(), label: None, block }),
            Some(Default::default()),
        )];
        joined.extend_from_slice(rest);
        return Some(restructure_returns(&joined));
    }
    let bound = let_bound_names(arm);
    if reads.names.iter().any(|name| bound.contains(name)) {
        return None;
    }
    let mut joined = arm.to_vec();
    joined.extend_from_slice(rest);
    Some(restructure_returns(&joined))
}

/// Collects the names that the top-level `let` statements of a block bind.
fn let_bound_names(stmts: &[syn::Stmt]) -> Vec<String> {
    let mut names = Vec::new();
    for stmt in stmts {
        if let syn::Stmt::Local(local) = stmt {
            names.extend(pattern_names(&local.pat));
        }
    }
    names
}

/// Collects the names that a pattern binds. A unit variant such as `None`
/// counts too, which can only make a join be refused, never allowed wrongly.
fn pattern_names(pat: &syn::Pat) -> Vec<String> {
    #[derive(Default)]
    struct Bound(Vec<String>);
    impl<'ast> syn::visit::Visit<'ast> for Bound {
        fn visit_pat_ident(&mut self, pat: &'ast syn::PatIdent) {
            self.0.push(pat.ident.to_string());
            syn::visit::visit_pat_ident(self, pat);
        }
    }
    let mut bound = Bound::default();
    syn::visit::Visit::visit_pat(&mut bound, pat);
    bound.0
}

fn rewrite_if(if_expr: &syn::ExprIf, rest: &[syn::Stmt]) -> Option<syn::ExprIf> {
    let mut rewritten = if_expr.clone();
    rewritten.then_branch.stmts = continue_arm(&if_expr.then_branch.stmts, &[], rest)?;
    let else_stmts = match &if_expr.else_branch {
        None => continue_arm(&[], &[], rest)?,
        Some((_, else_expr)) => match &**else_expr {
            Expr::Block(block) => continue_arm(&block.block.stmts, &[], rest)?,
            Expr::If(nested) => {
                let nested = rewrite_if(nested, rest)?;
                vec![syn::Stmt::Expr(Expr::If(nested), None)]
            }
            other => continue_arm(&[syn::Stmt::Expr(other.clone(), None)], &[], rest)?,
        },
    };
    let else_block = syn::Block { brace_token: Default::default(), stmts: else_stmts };
    rewritten.else_branch = Some((Default::default(), Box::new(syn::parse_quote!(#else_block))));
    Some(rewritten)
}

fn rewrite_match(match_expr: &syn::ExprMatch, rest: &[syn::Stmt]) -> Option<syn::ExprMatch> {
    let mut rewritten = match_expr.clone();
    for arm in &mut rewritten.arms {
        let stmts = match &*arm.body {
            Expr::Block(block) if block.label.is_none() => block.block.stmts.clone(),
            body => vec![syn::Stmt::Expr(body.clone(), None)],
        };
        let names = pattern_names(&arm.pat);
        let block = syn::Block { brace_token: Default::default(), stmts: continue_arm(&stmts, &names, rest)? };
        *arm.body = syn::parse_quote!(#block);
        arm.comma = Some(Default::default());
    }
    Some(rewritten)
}

/// The iteration count of `a..b` or `a..=b` as a constant expression, when
/// both ends are integer literals or constants named in upper case.
fn constant_count(range: &Expr) -> Option<TokenStream> {
    let Expr::Range(range) = strip_parens(range) else { return None };
    let is_constant = |e: &Expr| match strip_parens(e) {
        Expr::Lit(lit) => matches!(lit.lit, syn::Lit::Int(_)),
        Expr::Path(path) => path.path.segments.last().is_some_and(|s| {
            let name = s.ident.to_string();
            name.chars().any(|c| c.is_ascii_uppercase()) && !name.chars().any(|c| c.is_ascii_lowercase())
        }),
        _ => false,
    };
    let (start, end) = (range.start.as_deref()?, range.end.as_deref()?);
    if !is_constant(start) || !is_constant(end) {
        return None;
    }
    Some(match range.limits {
        syn::RangeLimits::HalfOpen(_) => quote!((#end - #start) as usize),
        syn::RangeLimits::Closed(_) => quote!((#end - #start + 1) as usize),
    })
}

fn strip_parens(expr: &Expr) -> &Expr {
    match expr {
        Expr::Paren(p) => strip_parens(&p.expr),
        Expr::Group(g) => strip_parens(&g.expr),
        other => other,
    }
}

fn compound_to_binary(op: &syn::BinOp) -> TokenStream {
    use syn::BinOp::*;
    let span = op.span();
    match op {
        AddAssign(_) => quote_spanned!(span=> +),
        SubAssign(_) => quote_spanned!(span=> -),
        MulAssign(_) => quote_spanned!(span=> *),
        DivAssign(_) => quote_spanned!(span=> /),
        RemAssign(_) => quote_spanned!(span=> %),
        BitXorAssign(_) => quote_spanned!(span=> ^),
        BitAndAssign(_) => quote_spanned!(span=> &),
        BitOrAssign(_) => quote_spanned!(span=> |),
        ShlAssign(_) => quote_spanned!(span=> <<),
        _ => quote_spanned!(span=> >>),
    }
}

/// Names whose binding differs between two snapshots of the same scopes.
fn changed_names(before: &[Vec<(String, VarId)>], after: &[Vec<(String, VarId)>]) -> Vec<String> {
    let mut changed = Vec::new();
    for (scope_before, scope_after) in before.iter().zip(after) {
        for ((name, a), (_, b)) in scope_before.iter().zip(scope_after) {
            if a != b && !changed.contains(name) {
                changed.push(name.clone());
            }
        }
    }
    changed
}

fn lookup_in(scopes: &[Vec<(String, VarId)>], name: &str) -> Option<VarId> {
    scopes.iter().rev().find_map(|scope| scope.iter().rev().find(|(n, _)| n == name).map(|(_, v)| *v))
}

/// Rewrites local names to their current emitted names.
struct Renamer<'a> {
    lowerer: &'a Lowerer,
}

impl VisitMut for Renamer<'_> {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        if let Expr::Path(path) = expr {
            if path.qself.is_none() {
                if let Some(ident) = path.path.get_ident() {
                    if let Some(var) = self.lowerer.lookup(&ident.to_string()) {
                        let tokens = &self.lowerer.vars[var].tokens;
                        if *ident != tokens.to_string() {
                            let span = ident.span();
                            let tokens = respan(tokens.clone(), span);
                            *expr = syn::parse_quote!((#tokens));
                        }
                    }
                }
            }
            return;
        }
        syn::visit_mut::visit_expr_mut(self, expr);
    }
}

fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut t| {
            t.set_span(span);
            t
        })
        .collect()
}
