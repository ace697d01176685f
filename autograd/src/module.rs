//! `Param`, the trainable mark, and the `Module` trait that
//! `#[derive(Module)]` implements.

use core::fmt;
use core::ops::{Deref, DerefMut};

use crate::device::Storage;
use crate::grad::{Accumulate, Differentiable, GradParts, Leaves};
use crate::shape::Shape;
use crate::tensor::Tensor;
use crate::Float;

/// A trainable tensor: the field of a model that an optimizer updates and
/// that gets a gradient.
///
/// `Param<T>` dereferences to `T`, so ops take it wherever they take a
/// tensor. A model field holding a plain `Tensor` does not compile under
/// `#[derive(Module)]` unless it is marked `#[module(constant)]`, which is
/// how the forgotten `requires_grad=True` of PyTorch becomes a compile error.
#[derive(Clone, PartialEq)]
pub struct Param<T>(T);

impl<T> Param<T> {
    pub fn new(value: T) -> Self {
        Param(value)
    }

    pub fn value(&self) -> &T {
        &self.0
    }

    pub fn value_mut(&mut self) -> &mut T {
        &mut self.0
    }

    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> From<T> for Param<T> {
    fn from(value: T) -> Self {
        Param(value)
    }
}

impl<T> Deref for Param<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for Param<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T: fmt::Debug> fmt::Debug for Param<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Param({:?})", self.0)
    }
}

/// A parameter's state-dict name, built on the stack while a module is
/// walked: `encoder.layers.0.weight` is four segments linked to their
/// parents, so naming parameters needs no allocation.
#[derive(Clone, Copy)]
pub struct ParamName<'a> {
    parent: Option<&'a ParamName<'a>>,
    segment: Segment<'a>,
}

#[derive(Clone, Copy)]
enum Segment<'a> {
    Field(&'a str),
    Index(usize),
}

impl<'a> ParamName<'a> {
    /// The name of a top-level field.
    pub fn root(field: &'a str) -> Self {
        ParamName {
            parent: None,
            segment: Segment::Field(field),
        }
    }

    /// `parent.field`, or just `field` at the top level.
    pub fn field(parent: Option<&'a ParamName<'a>>, field: &'a str) -> Self {
        ParamName {
            parent,
            segment: Segment::Field(field),
        }
    }

    /// `parent.index`, or just `index` at the top level (a tuple or list item).
    pub fn index(parent: Option<&'a ParamName<'a>>, index: usize) -> Self {
        ParamName {
            parent,
            segment: Segment::Index(index),
        }
    }

    /// Compares with a dotted name without allocating.
    pub fn matches(&self, dotted: &str) -> bool {
        let mut rest = dotted;
        self.strip_from_end(&mut rest) && rest.is_empty()
    }

    fn strip_from_end(&self, rest: &mut &str) -> bool {
        use core::fmt::Write;
        struct Buf([u8; 24], usize);
        impl Write for Buf {
            fn write_str(&mut self, s: &str) -> fmt::Result {
                let end = self.1 + s.len();
                self.0.get_mut(self.1..end).ok_or(fmt::Error)?.copy_from_slice(s.as_bytes());
                self.1 = end;
                Ok(())
            }
        }
        let mut buf = Buf([0; 24], 0);
        let segment = match self.segment {
            Segment::Field(s) => s,
            Segment::Index(i) => {
                let _ = write!(buf, "{i}");
                core::str::from_utf8(&buf.0[..buf.1]).unwrap_or("")
            }
        };
        let Some(head) = rest.strip_suffix(segment) else {
            return false;
        };
        match self.parent {
            None => {
                *rest = head;
                true
            }
            Some(parent) => match head.strip_suffix('.') {
                Some(head) => {
                    *rest = head;
                    parent.strip_from_end(rest)
                }
                None => false,
            },
        }
    }
}

impl fmt::Display for ParamName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(parent) = self.parent {
            write!(f, "{parent}.")?;
        }
        match self.segment {
            Segment::Field(s) => f.write_str(s),
            Segment::Index(i) => write!(f, "{i}"),
        }
    }
}

impl fmt::Debug for ParamName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

/// A model or layer: a value whose trainable tensors can be walked, with a
/// gradient struct that mirrors it.
///
/// Implemented by `#[derive(Module)]` for structs, and by this crate for
/// `Param<Tensor>`, tuples (PyTorch's `Sequential`), arrays and `Vec`
/// (`ModuleList`) and `Option` of modules. Items of tuples, arrays and `Vec`
/// are named `0`, `1`, ... in state-dict names.
///
/// # Deriving
///
/// `#[derive(Module)]` on a struct with named or positional fields, generic
/// or not, walks every field in declaration order. Each field must be a
/// `Param<Tensor<..>>` or a module, all with one element type, unless it is
/// marked:
///
/// - `#[module(skip)]`: a value that is not a module, such as a setting;
/// - `#[module(constant)]`: a tensor that is used but not trained.
///
/// Marked fields have no gradient and are not in the parameters, the weight
/// files or the repr. A constant is therefore not saved, unlike a PyTorch
/// buffer: the code that builds the model sets it. A plain `Tensor` field
/// without the mark, a `Param` with one, and a struct with no parameter
/// field are compile errors.
///
/// The derive generates `<Name>Grads`, a struct with the same visibility
/// and one field of `Module::Grads` per module field (a tuple struct keeps
/// `()` at marked positions, so `grads.2` is the gradient of `model.2`),
/// with `Clone`, `Debug`, `Accumulate` and `Leaves`. It also implements
/// `Differentiable`, `Module`, `StaticModule` when every field is static,
/// and `Display` in PyTorch's repr layout.
///
/// ```
/// use autograd::typenum::{U3, U5};
/// use autograd::{Differentiable, Module, Param, Rank1, Rank2, StaticModule, Tensor};
///
/// #[derive(Module)]
/// struct Affine {
///     weight: Param<Tensor<Rank2<U3, U5>>>,
///     bias: Param<Tensor<Rank1<U3>>>,
///     #[module(skip)]
///     name: &'static str,
/// }
///
/// let model = Affine {
///     weight: Param::new(Tensor::zeros()),
///     bias: Param::new(Tensor::ones()),
///     name: "affine",
/// };
/// assert_eq!(Affine::NUM_PARAMS, 18);
///
/// let mut names = Vec::new();
/// model.visit_params(None, &mut |name, _, _| names.push(name.to_string()));
/// assert_eq!(names, ["weight", "bias"]);
///
/// let grads: AffineGrads = model.zero_grad();
/// assert_eq!(grads.bias.as_slice(), [0.0; 3]);
///
/// assert_eq!(
///     model.to_string(),
///     "Affine(\n  (weight): Parameter(shape=[3, 5], dtype=float32)\n  \
///      (bias): Parameter(shape=[3], dtype=float32)\n)"
/// );
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a module",
    label = "this type has no parameters to walk",
    note = "add `#[derive(Module)]` to the struct, wrap a trainable tensor in `Param`, \
            or mark a field that is not a module with `#[module(skip)]`"
)]
// The visitor types spell out what a visit passes (name, dims, elements);
// an alias would hide it.
#[allow(clippy::type_complexity)]
pub trait Module: GradParts + Differentiable<Grad = Self::Grads> {
    /// Whether a value of this type can hold a parameter: false for a
    /// layer without parameters (ReLU, dropout) and for a derived struct
    /// made only of such layers, so that building an optimizer over one
    /// fails to compile. True by default. A `Vec` or `Option` of layers
    /// with parameters can still hold none at run time, which the
    /// optimizers check when they are built.
    const CAN_HOLD_PARAMS: bool = true;

    /// The element type of every parameter.
    type Elem: Float;

    /// The gradient struct: one tensor per parameter, in the same structure.
    type Grads: Accumulate + Clone + fmt::Debug + Leaves<Self::Elem>;

    /// The number of scalar parameters (PyTorch's
    /// `sum(p.numel() for p in model.parameters())`).
    fn num_params(&self) -> usize;

    /// Visits every parameter with its state-dict name, its dims and its
    /// elements, in declaration order.
    fn visit_params(
        &self,
        parent: Option<&ParamName<'_>>,
        f: &mut dyn FnMut(&ParamName<'_>, &[usize], &[Self::Elem]),
    );

    /// Like [`visit_params`](Module::visit_params), with the elements
    /// writable.
    fn visit_params_mut(
        &mut self,
        parent: Option<&ParamName<'_>>,
        f: &mut dyn FnMut(&ParamName<'_>, &[usize], &mut [Self::Elem]),
    );

    /// Walks the parameters, their gradients and `K` optimizer-state mirrors
    /// in lockstep, calling `f(param, grad, states)` once per tensor.
    fn lockstep<const K: usize>(
        &mut self,
        grads: &Self::Grads,
        states: [&mut Self::Grads; K],
        f: &mut impl FnMut(&mut [Self::Elem], &[Self::Elem], [&mut [Self::Elem]; K]),
    );

    /// Writes the module as PyTorch's `repr` does: a layer on one line
    /// (`Linear(in_features=5, out_features=1, bias=True)`), a container as
    /// its name and one `(name): child` line per child, indented two spaces
    /// per level (see [`ModuleRepr`]).
    ///
    /// The default writes the type's name without its path and generic
    /// arguments, followed by `()`, which is PyTorch's form for a layer
    /// without settings (`ReLU()`). Layers with a `Display` override this
    /// with `fmt::Display::fmt(self, f)`.
    fn fmt_repr(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(short_type_name(core::any::type_name::<Self>()))?;
        f.write_str("()")
    }

    /// A `Display` of every parameter's state-dict name, element type and
    /// size, as PyTorch prints a `ParameterList` of
    /// `model.named_parameters()`.
    ///
    /// ```
    /// use autograd::{Module, Param, Rank1, Rank2, Tensor, typenum::{U2, U3}};
    ///
    /// #[derive(Module)]
    /// struct Layer {
    ///     weight: Param<Tensor<Rank2<U2, U3>>>,
    ///     bias: Param<Tensor<Rank1<U2>>>,
    /// }
    ///
    /// let layer = Layer { weight: Param::new(Tensor::zeros()), bias: Param::new(Tensor::zeros()) };
    /// assert_eq!(
    ///     layer.param_listing().to_string(),
    ///     "ParameterList(\n    (weight): Parameter containing: [float32 of size 2x3]\n    \
    ///      (bias): Parameter containing: [float32 of size 2]\n)"
    /// );
    /// ```
    fn param_listing(&self) -> ParamListing<'_, Self>
    where
        Self: Sized,
    {
        ParamListing(self)
    }
}

/// The parameter listing of a module; see [`Module::param_listing`].
pub struct ParamListing<'a, M>(&'a M);

impl<M: Module> fmt::Display for ParamListing<'_, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut result = f.write_str("ParameterList(\n");
        self.0.visit_params(None, &mut |name, dims, _| {
            if result.is_err() {
                return;
            }
            result = write!(
                f,
                "    ({name}): Parameter containing: [{} of size ",
                M::Elem::DTYPE
            );
            for (axis, size) in dims.iter().enumerate() {
                if result.is_ok() {
                    result = if axis == 0 { write!(f, "{size}") } else { write!(f, "x{size}") };
                }
            }
            if result.is_ok() {
                result = f.write_str("]\n");
            }
        });
        result?;
        f.write_str(")")
    }
}

/// Strips the module path and the generic arguments from a type name:
/// `nn::activation::ReLU<f32>` becomes `ReLU`.
fn short_type_name(full: &str) -> &str {
    let without_generics = full.split('<').next().unwrap_or(full);
    without_generics
        .rsplit("::")
        .next()
        .unwrap_or(without_generics)
}

/// Writes a container module's repr in PyTorch's layout, as
/// [`fmt::Formatter::debug_struct`] does for `Debug`:
///
/// ```text
/// Net(
///   (l1): Linear(in_features=5, out_features=3, bias=True)
///   (blocks): ModuleList(
///     (0): Linear(in_features=3, out_features=3, bias=True)
///   )
/// )
/// ```
///
/// A container without children prints as `Net()`. `#[derive(Module)]`
/// writes its `fmt_repr` with this builder.
pub struct ModuleRepr<'a, 'b> {
    f: &'a mut fmt::Formatter<'b>,
    has_children: bool,
    result: fmt::Result,
}

impl<'a, 'b> ModuleRepr<'a, 'b> {
    /// Starts the repr of a container named `name` (`Sequential`, `Net`).
    pub fn new(f: &'a mut fmt::Formatter<'b>, name: &str) -> Self {
        let result = f.write_str(name).and_then(|()| f.write_str("("));
        ModuleRepr {
            f,
            has_children: false,
            result,
        }
    }

    /// Writes one `(key): child` line, with the child's own lines indented
    /// two more spaces.
    pub fn child<M: Module + ?Sized>(&mut self, key: &dyn fmt::Display, child: &M) -> &mut Self {
        self.entry(key, &Repr(child))
    }

    /// Writes one `(key): value` line from a value formatted elsewhere, such
    /// as `(0-1): 2 x Linear(...)` for repeated items of a `ModuleList`.
    pub fn entry(&mut self, key: &dyn fmt::Display, value: &dyn fmt::Display) -> &mut Self {
        self.result = self.result.and_then(|()| {
            self.has_children = true;
            write!(self.f, "\n  ({key}): ")?;
            let mut indented = Indented { inner: self.f };
            fmt::Write::write_fmt(&mut indented, format_args!("{value}"))
        });
        self
    }

    /// Closes the parenthesis, on its own line when there were children.
    pub fn finish(&mut self) -> fmt::Result {
        self.result?;
        if self.has_children {
            self.f.write_str("\n")?;
        }
        self.f.write_str(")")
    }
}

/// Adapts [`Module::fmt_repr`] to `Display`, so a repr can go through
/// `write!` and the indenting writer.
pub(crate) struct Repr<'a, M: ?Sized>(pub(crate) &'a M);

impl<M: Module + ?Sized> fmt::Display for Repr<'_, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt_repr(f)
    }
}

/// A writer that indents every line after the first by two spaces, as
/// PyTorch's `_addindent` does for a child's repr.
struct Indented<'a, 'b> {
    inner: &'a mut fmt::Formatter<'b>,
}

impl fmt::Write for Indented<'_, '_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut lines = s.split('\n');
        if let Some(first) = lines.next() {
            self.inner.write_str(first)?;
        }
        for line in lines {
            self.inner.write_str("\n  ")?;
            self.inner.write_str(line)?;
        }
        Ok(())
    }
}

/// A module whose parameter count is fixed by its type (no `Vec` inside),
/// so the memory it needs is a compile-time constant.
pub trait StaticModule: Module {
    /// The number of scalar parameters.
    const NUM_PARAMS: usize;
    /// The number of parameter tensors.
    const NUM_TENSORS: usize;
}

impl<T: Differentiable> Differentiable for Param<T> {
    type Grad = T::Grad;

    fn zero_grad(&self) -> T::Grad {
        self.0.zero_grad()
    }
}

impl<T: GradParts> GradParts for Param<T> {
    type Parts = T::Parts;

    fn grad_parts(&self) -> T::Parts {
        self.0.grad_parts()
    }

    fn assemble(parts: T::Parts) -> T::Grad {
        T::assemble(parts)
    }
}

impl<E: Float, T: Leaves<E>> Leaves<E> for Param<T> {
    fn visit_leaves(&self, f: &mut dyn FnMut(&[E])) {
        self.0.visit_leaves(f)
    }

    fn visit_leaves_mut(&mut self, f: &mut dyn FnMut(&mut [E])) {
        self.0.visit_leaves_mut(f)
    }
}

impl<S: Shape, E: Float, D: Storage<S, E>> Module for Param<Tensor<S, E, D>> {
    type Elem = E;
    type Grads = Tensor<S, E, D>;

    fn num_params(&self) -> usize {
        self.0.numel()
    }

    fn visit_params(
        &self,
        parent: Option<&ParamName<'_>>,
        f: &mut dyn FnMut(&ParamName<'_>, &[usize], &[E]),
    ) {
        let name = parent.copied().unwrap_or(ParamName::root(""));
        f(&name, self.0.dims().as_ref(), self.0.as_slice())
    }

    fn visit_params_mut(
        &mut self,
        parent: Option<&ParamName<'_>>,
        f: &mut dyn FnMut(&ParamName<'_>, &[usize], &mut [E]),
    ) {
        let name = parent.copied().unwrap_or(ParamName::root(""));
        let dims = self.0.dims();
        f(&name, dims.as_ref(), self.0.as_mut_slice())
    }

    fn lockstep<const K: usize>(
        &mut self,
        grads: &Self::Grads,
        states: [&mut Self::Grads; K],
        f: &mut impl FnMut(&mut [E], &[E], [&mut [E]; K]),
    ) {
        f(
            self.0.as_mut_slice(),
            grads.as_slice(),
            states.map(|s| s.as_mut_slice()),
        )
    }

    fn fmt_repr(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Prints the parameter's shape and element type, not its elements, which
/// is what a module's repr shows: `Parameter(shape=[3, 5], dtype=float32)`.
/// Print `param.value()` to see the elements.
impl<S: Shape, E: Float, D: Storage<S, E>> fmt::Display for Param<Tensor<S, E, D>> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Parameter(shape={:?}, dtype={})",
            self.0.dims().as_ref(),
            E::DTYPE
        )
    }
}

impl<S: crate::shape::ConstShape, E: Float, D: Storage<S, E>> StaticModule
    for Param<Tensor<S, E, D>>
{
    const NUM_PARAMS: usize = S::NUMEL;
    const NUM_TENSORS: usize = 1;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn param_name_displays_dotted_path() {
        let root = ParamName::root("encoder");
        let layers = ParamName::field(Some(&root), "layers");
        let item = ParamName::index(Some(&layers), 10);
        let weight = ParamName::field(Some(&item), "weight");
        assert_eq!(format!("{weight}"), "encoder.layers.10.weight");
    }

    #[test]
    fn param_name_matches_without_allocating() {
        let root = ParamName::root("l1");
        let weight = ParamName::field(Some(&root), "weight");
        assert!(weight.matches("l1.weight"));
        assert!(!weight.matches("l1.bias"));
        assert!(!weight.matches("x.l1.weight"));
        assert!(!weight.matches("weight"));
    }
}
