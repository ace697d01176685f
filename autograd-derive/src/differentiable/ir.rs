//! The normalised body: A-normal form, one primitive per statement, every
//! value bound once under a unique name.

use proc_macro2::{Ident, Span, TokenStream};

/// An index into [`Body::vars`].
pub type VarId = usize;

/// Where a value comes from, which decides how its gradient leaves the
/// backward pass.
#[derive(Clone, Debug, PartialEq)]
pub enum Origin {
    /// Argument `index` of the function (the receiver is argument 0).
    Input { index: usize },
    /// A field path `root.a.b` of an input; its gradient goes to
    /// `grad_root.a.b`.
    Field { root: VarId, path: Vec<Ident> },
    /// A value computed in the body.
    Local,
}

/// One value of the normalised body.
#[derive(Clone, Debug)]
pub struct Var {
    /// The emitted binding; for a field, the name its gradient slot is built
    /// from.
    pub name: Ident,
    /// How the value is written in emitted code (`h`, `self.l1.weight`).
    pub tokens: TokenStream,
    /// The value is a reference (`&Tensor`), not an owned value or a place.
    pub is_ref: bool,
    /// The value depends on a differentiated input, so it has a cotangent.
    pub active: bool,
    pub origin: Origin,
}

/// A value as a statement uses it: which variable receives the gradient, and
/// the tokens that write the argument as the user wrote it (`&h`, `x`, `2.0`).
#[derive(Clone, Debug)]
pub struct Operand {
    pub var: Option<VarId>,
    pub tokens: TokenStream,
    pub is_ref: bool,
}

/// The primitive of a [`Stmt::Call`].
#[derive(Clone, Debug)]
pub enum CallKind {
    /// `a op b` through `::autograd::{Add,Sub,Mul,Div}Vjp`; the method name
    /// (`add_vjp`) and the trait name (`AddVjp`).
    Binary { method: Ident, trait_name: Ident },
    /// `-x` through `::autograd::NegVjp`.
    Neg,
    /// `receiver.name_vjp(args)`; the receiver is operand 0.
    Method { vjp_name: Ident, turbofish: TokenStream },
    /// `path::f_vjp(args)`, a primitive or another differentiable function.
    Path { vjp_path: TokenStream },
    /// `F::apply_vjp(arg)` of a user `Function`, whose pullback is a single
    /// closure rather than a tuple.
    Apply { vjp_path: TokenStream },
}

#[derive(Clone, Debug)]
pub struct Call {
    pub kind: CallKind,
    pub operands: Vec<Operand>,
    pub span: Span,
}

/// One arm of an `if`/`else` or `match`.
#[derive(Clone, Debug)]
pub struct Arm {
    /// `pat if guard` of a `match` arm; `None` for the branches of an `if`.
    pub head: Option<TokenStream>,
    pub block: Block,
    /// The arm's value of each output of the branch statement, in order.
    pub outputs: Vec<Operand>,
}

/// What selects the arm.
#[derive(Clone, Debug)]
pub enum Selector {
    If(TokenStream),
    Match(TokenStream),
}

/// A variable reassigned in a loop body.
#[derive(Clone, Debug)]
pub struct Carried {
    /// The value before the loop.
    pub before: Operand,
    /// The value at the start of an iteration, bound inside the body.
    pub start: VarId,
    /// The value at the end of an iteration.
    pub end: Operand,
    /// The value after the loop.
    pub after: VarId,
}

#[derive(Clone, Debug)]
pub enum Stmt {
    /// `let name = expr;` for a value that does not depend on a
    /// differentiated input.
    Const { mutable: bool, expr: TokenStream },
    /// An item or an expression statement without a gradient, emitted as is.
    Verbatim(TokenStream),
    /// `let (name, name_pullback) = call;`
    Call { var: VarId, call: Call },
    /// `let name = expr;` where `name` has the gradient of `source` (a
    /// clone).
    Alias { var: VarId, source: VarId, expr: TokenStream },
    /// `let name = (a, b, ...);`
    Tuple { var: VarId, elems: Vec<Operand> },
    /// `let (a, b, ...) = source;`
    Untuple { source: Operand, elems: Vec<VarId> },
    /// `if`/`else` or `match`: the arm that ran is recorded in a
    /// `::autograd::Branch` with its pullback.
    Branch {
        selector: Selector,
        arms: Vec<Arm>,
        /// Differentiated values from outside that some arm reads.
        inputs: Vec<VarId>,
        /// The branch's results: its value and the variables it reassigns.
        outputs: Vec<VarId>,
        pullback: Ident,
        span: Span,
    },
    /// `for pat in range { body }`, one pullback recorded per iteration.
    Loop {
        pat: TokenStream,
        range: TokenStream,
        body: Block,
        carried: Vec<Carried>,
        /// Differentiated values from outside that the body reads and does
        /// not reassign.
        inputs: Vec<VarId>,
        pullbacks: Ident,
        span: Span,
    },
}

#[derive(Clone, Debug, Default)]
pub struct Block {
    pub stmts: Vec<Stmt>,
    pub result: Option<Operand>,
}
