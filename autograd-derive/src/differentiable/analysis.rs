//! Questions about the normalised body: which variables a block reads,
//! which names a loop reassigns, which values need a gradient slot.

use std::collections::HashSet;

use syn::visit::Visit;

use super::ir::*;

/// Collects the single-segment names an expression reads.
#[derive(Default)]
pub struct NameFinder {
    pub names: Vec<String>,
}

impl<'ast> Visit<'ast> for NameFinder {
    fn visit_expr_path(&mut self, path: &'ast syn::ExprPath) {
        if path.qself.is_none() {
            if let Some(ident) = path.path.get_ident() {
                self.names.push(ident.to_string());
            }
        }
    }

    fn visit_item(&mut self, _: &'ast syn::Item) {}
}

/// Names assigned (`x = ..`, `x += ..`) in a block that are not bound by a
/// `let` inside it: the variables a loop carries from one iteration to the
/// next.
pub fn assigned_names(block: &syn::Block) -> Vec<String> {
    #[derive(Default)]
    struct Finder {
        assigned: Vec<String>,
        bound: HashSet<String>,
    }
    impl<'ast> Visit<'ast> for Finder {
        fn visit_expr(&mut self, expr: &'ast syn::Expr) {
            let target = match expr {
                syn::Expr::Assign(a) => Some(&*a.left),
                syn::Expr::Binary(b) if super::check::is_compound_assign(&b.op) => Some(&*b.left),
                _ => None,
            };
            if let Some(syn::Expr::Path(p)) = target {
                if let Some(ident) = p.path.get_ident() {
                    let name = ident.to_string();
                    if !self.assigned.contains(&name) {
                        self.assigned.push(name);
                    }
                }
            }
            syn::visit::visit_expr(self, expr);
        }

        fn visit_pat_ident(&mut self, pat: &'ast syn::PatIdent) {
            self.bound.insert(pat.ident.to_string());
        }
    }
    let mut finder = Finder::default();
    finder.visit_block(block);
    finder.assigned.into_iter().filter(|n| !finder.bound.contains(n)).collect()
}

/// Every variable that the statements of `block` read, nested blocks
/// included (through their recorded inputs).
pub fn used_vars(block: &Block) -> Vec<VarId> {
    let mut used = Vec::new();
    let mut add = |v: Option<VarId>| {
        if let Some(v) = v {
            if !used.contains(&v) {
                used.push(v);
            }
        }
    };
    for stmt in &block.stmts {
        match stmt {
            Stmt::Const { .. } | Stmt::Verbatim(_) => {}
            Stmt::Call { call, .. } => call.operands.iter().for_each(|o| add(o.var)),
            Stmt::Alias { source, .. } => add(Some(*source)),
            Stmt::Tuple { elems, .. } => elems.iter().for_each(|o| add(o.var)),
            Stmt::Untuple { source, .. } => add(source.var),
            Stmt::Branch { inputs, .. } => inputs.iter().for_each(|v| add(Some(*v))),
            Stmt::Loop { carried, inputs, .. } => {
                carried.iter().for_each(|c| add(c.before.var));
                inputs.iter().for_each(|v| add(Some(*v)));
            }
        }
    }
    if let Some(result) = &block.result {
        add(result.var);
    }
    used
}

/// The active variables that receive a cotangent inside `block`: operands
/// of its statements and the variables the statements define that later
/// statements read.
pub fn gradient_targets(block: &Block, vars: &[Var]) -> Vec<VarId> {
    used_vars(block).into_iter().filter(|v| vars[*v].active).collect()
}
