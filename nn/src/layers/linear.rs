//! The fully connected layer `y = x Wᵀ + b`, with PyTorch's `[out, in]`
//! weight layout and default initialization.

use core::fmt;

use autograd::{
    Accumulate, AddGrad, ConstShape, Differentiable, Dim, Float, GradParts, GradSlot, Leaves, MatMulT,
    Module, Param, ParamName, Rank1, Rank2, Rng, Shape, StaticModule, Storage, Tensor,
};

use super::Forward;

/// A fully connected layer with bias, as PyTorch's `nn.Linear(I, O)`:
/// `y = x Wᵀ + b`.
///
/// The weight is stored `[out, in]` and row-major, as in PyTorch, so weight
/// files exchange with PyTorch unchanged. For the layer without bias
/// (`bias=False`) use [`LinearNoBias`]: the choice is part of the type, so a
/// bias gradient that cannot exist is never read.
///
/// ```
/// use autograd::{Rng, Tensor, Rank1, typenum::{U3, U2}};
/// use nn::layers::{Forward, Linear};
///
/// let layer: Linear<U3, U2> = Linear::new(&mut Rng::seed_from_u64(0));
/// let y = layer.forward(&Tensor::<Rank1<U3>>::ones());
/// assert_eq!(y.dims(), [2]);
/// assert_eq!(layer.to_string(), "Linear(in_features=3, out_features=2, bias=True)");
/// ```
#[cfg(feature = "alloc")]
pub struct Linear<I: Dim, O: Dim, E: Float = f32, D = autograd::Cpu>
where
    D: Storage<Rank2<O, I>, E> + Storage<Rank1<O>, E>,
{
    /// `[out_features, in_features]`.
    pub weight: Param<Tensor<Rank2<O, I>, E, D>>,
    /// `[out_features]`.
    pub bias: Param<Tensor<Rank1<O>, E, D>>,
}

/// A fully connected layer with bias, as PyTorch's `nn.Linear(I, O)`.
///
/// Without the `alloc` feature only the `Inline` device exists, so `E` and
/// `D` have no defaults.
#[cfg(not(feature = "alloc"))]
pub struct Linear<I: Dim, O: Dim, E: Float, D>
where
    D: Storage<Rank2<O, I>, E> + Storage<Rank1<O>, E>,
{
    /// `[out_features, in_features]`.
    pub weight: Param<Tensor<Rank2<O, I>, E, D>>,
    /// `[out_features]`.
    pub bias: Param<Tensor<Rank1<O>, E, D>>,
}

/// A fully connected layer without bias, as PyTorch's
/// `nn.Linear(I, O, bias=False)`: `y = x Wᵀ`.
#[cfg(feature = "alloc")]
pub struct LinearNoBias<I: Dim, O: Dim, E: Float = f32, D = autograd::Cpu>
where
    D: Storage<Rank2<O, I>, E>,
{
    /// `[out_features, in_features]`.
    pub weight: Param<Tensor<Rank2<O, I>, E, D>>,
}

/// A fully connected layer without bias, as PyTorch's
/// `nn.Linear(I, O, bias=False)`: `y = x Wᵀ`.
#[cfg(not(feature = "alloc"))]
pub struct LinearNoBias<I: Dim, O: Dim, E: Float, D>
where
    D: Storage<Rank2<O, I>, E>,
{
    /// `[out_features, in_features]`.
    pub weight: Param<Tensor<Rank2<O, I>, E, D>>,
}

/// The gradient of a [`Linear`] layer.
pub struct LinearGrads<I: Dim, O: Dim, E: Float, D>
where
    D: Storage<Rank2<O, I>, E> + Storage<Rank1<O>, E>,
{
    /// `[out_features, in_features]`, like the weight.
    pub weight: Tensor<Rank2<O, I>, E, D>,
    /// `[out_features]`.
    pub bias: Tensor<Rank1<O>, E, D>,
}

/// The gradient of a [`LinearNoBias`] layer.
pub struct LinearNoBiasGrads<I: Dim, O: Dim, E: Float, D>
where
    D: Storage<Rank2<O, I>, E>,
{
    /// `[out_features, in_features]`, like the weight.
    pub weight: Tensor<Rank2<O, I>, E, D>,
}

/// The part of a `[out, in]` weight gradient, which records the shape for
/// the zeros of a weight that nothing reached.
type WeightPart<I, O, E, D> = GradSlot<Tensor<Rank2<O, I>, E, D>, Rank2<O, I>>;

/// A [`LinearGrads`] while a generated backward pass collects it, field by
/// field (see [`GradParts`]).
pub struct LinearGradParts<I: Dim, O: Dim, E: Float, D>
where
    D: Storage<Rank2<O, I>, E> + Storage<Rank1<O>, E>,
{
    /// The weight's gradient so far.
    pub weight: WeightPart<I, O, E, D>,
    /// The bias's gradient so far.
    pub bias: GradSlot<Tensor<Rank1<O>, E, D>, Rank1<O>>,
}

/// A [`LinearNoBiasGrads`] while a generated backward pass collects it.
pub struct LinearNoBiasGradParts<I: Dim, O: Dim, E: Float, D>
where
    D: Storage<Rank2<O, I>, E>,
{
    /// The weight's gradient so far.
    pub weight: WeightPart<I, O, E, D>,
}

/// PyTorch's default bound for both the weight and the bias: kaiming-uniform
/// with `a = sqrt(5)` gives `gain · sqrt(3 / fan_in) = 1 / sqrt(fan_in)`,
/// and the bias uses the same bound. A layer with no inputs gets bound 0.
fn init_bound(fan_in: usize) -> f64 {
    if fan_in == 0 {
        0.0
    } else {
        1.0 / libm::sqrt(fan_in as f64)
    }
}

impl<I: Dim, O: Dim, E: Float, D> Linear<I, O, E, D>
where
    D: Storage<Rank2<O, I>, E> + Storage<Rank1<O>, E>,
{
    /// Builds the layer with PyTorch's default initialization: weight and
    /// bias uniform in `[-1/sqrt(in), 1/sqrt(in))`, the weight drawn first.
    pub fn new_with_dims(in_features: I, out_features: O, rng: &mut Rng) -> Self {
        let bound = E::from_f64(init_bound(in_features.size()));
        let weight = Tensor::uniform_with_shape(Rank2(out_features, in_features), -bound, bound, rng);
        let bias = Tensor::uniform_with_shape(Rank1(out_features), -bound, bound, rng);
        Linear {
            weight: Param::new(weight),
            bias: Param::new(bias),
        }
    }

    /// Builds the layer from a weight `[out, in]` and a bias `[out]`.
    pub fn from_tensors(weight: Tensor<Rank2<O, I>, E, D>, bias: Tensor<Rank1<O>, E, D>) -> Self {
        Linear {
            weight: Param::new(weight),
            bias: Param::new(bias),
        }
    }

    /// The size of each input sample.
    pub fn in_features(&self) -> usize {
        self.weight.dims()[1]
    }

    /// The size of each output sample.
    pub fn out_features(&self) -> usize {
        self.weight.dims()[0]
    }
}

impl<I: Dim + Default, O: Dim + Default, E: Float, D> Linear<I, O, E, D>
where
    D: Storage<Rank2<O, I>, E> + Storage<Rank1<O>, E>,
{
    /// Builds the layer with PyTorch's default initialization (see
    /// [`new_with_dims`](Self::new_with_dims)).
    pub fn new(rng: &mut Rng) -> Self {
        Self::new_with_dims(I::default(), O::default(), rng)
    }
}

impl<I: Dim, O: Dim, E: Float, D> LinearNoBias<I, O, E, D>
where
    D: Storage<Rank2<O, I>, E>,
{
    /// Builds the layer with PyTorch's default initialization: weight
    /// uniform in `[-1/sqrt(in), 1/sqrt(in))`.
    pub fn new_with_dims(in_features: I, out_features: O, rng: &mut Rng) -> Self {
        let bound = E::from_f64(init_bound(in_features.size()));
        let weight = Tensor::uniform_with_shape(Rank2(out_features, in_features), -bound, bound, rng);
        LinearNoBias {
            weight: Param::new(weight),
        }
    }

    /// Builds the layer from a weight `[out, in]`.
    pub fn from_tensor(weight: Tensor<Rank2<O, I>, E, D>) -> Self {
        LinearNoBias {
            weight: Param::new(weight),
        }
    }

    /// The size of each input sample.
    pub fn in_features(&self) -> usize {
        self.weight.dims()[1]
    }

    /// The size of each output sample.
    pub fn out_features(&self) -> usize {
        self.weight.dims()[0]
    }
}

impl<I: Dim + Default, O: Dim + Default, E: Float, D> LinearNoBias<I, O, E, D>
where
    D: Storage<Rank2<O, I>, E>,
{
    /// Builds the layer with PyTorch's default initialization.
    pub fn new(rng: &mut Rng) -> Self {
        Self::new_with_dims(I::default(), O::default(), rng)
    }
}

/// `a · b` into a new tensor of shape `out`, `m × n` elements with rows `n`
/// apart.
#[allow(clippy::too_many_arguments)]
fn product<S: Shape, E: Float, D: Storage<S, E>>(
    out: S,
    m: usize,
    k: usize,
    n: usize,
    a: &[E],
    a_strides: [usize; 2],
    b: &[E],
    b_strides: [usize; 2],
) -> Tensor<S, E, D> {
    Tensor::from_product_with_shape(out, m, k, n, a, a_strides, b, b_strides)
}

/// Sums the columns of `grad` (`[rows, out]`) into the bias gradient.
///
/// For a width that is a multiple of 4, up to the unpacked kernel's size
/// limit, this is the product of a row of ones and `grad`. The kernel keeps
/// the sums in vector registers, where the loop below runs once per row.
fn bias_grad<O: Dim, E: Float, D: Storage<Rank1<O>, E>>(out: O, grad: &[E]) -> Tensor<Rank1<O>, E, D> {
    let width = out.size();
    if width > 0 && width.is_multiple_of(4) && grad.len() <= autograd::gemm::SMALL_MAX_FLOPS {
        let rows = grad.len() / width;
        return Tensor::from_product_with_shape(Rank1(out), 1, rows, width, &[E::ONE], [0, 0], grad, [width, 1]);
    }
    let mut sum = Tensor::zeros_with_shape(Rank1(out));
    let acc = sum.as_mut_slice();
    let mut rows = grad.chunks_exact(width.max(1));
    // A narrow width pays the loop's overhead in every row, so the sums run
    // over spans of `lcm(width, 8)` elements (whole vectors) instead.
    // Element `q` of a span belongs to column `q % width`.
    let span = lcm(width.max(1), 8);
    if span <= SPAN_MAX && grad.len() >= 2 * span {
        let mut partial = [E::ZERO; SPAN_MAX];
        let spans = grad.chunks_exact(span);
        rows = spans.remainder().chunks_exact(width);
        for chunk in spans {
            partial[..span].iter_mut().zip(chunk).for_each(|(p, &g)| *p += g);
        }
        for part in partial[..span].chunks_exact(width) {
            acc.iter_mut().zip(part).for_each(|(a, &p)| *a += p);
        }
    }
    for row in rows {
        acc.iter_mut().zip(row).for_each(|(a, &g)| *a += g);
    }
    sum
}

/// The maximum span of [`bias_grad`]'s partial sums, which live on the
/// stack.
const SPAN_MAX: usize = 64;

/// Returns the least common multiple of `a` and `b`, both positive.
fn lcm(a: usize, b: usize) -> usize {
    let (mut x, mut y) = (a, b);
    while y != 0 {
        (x, y) = (y, x % y);
    }
    a / x * b
}

/// Panics unless the last axis of an input with dimensions `x_dims` has
/// `in_features` elements (a `Dyn` axis can differ at run time).
#[track_caller]
fn check_in_features(x_dims: &[usize], in_features: usize) {
    let found = x_dims.last().copied().unwrap_or(0);
    assert!(
        found == in_features,
        "Linear: the input has {found} features on its last axis, but the layer has in_features={in_features}"
    );
}

/// `dW = dyᵀ · x` for `rows` rows: `[out, rows] · [rows, in]`.
fn weight_grad<I: Dim, O: Dim, E: Float, D: Storage<Rank2<O, I>, E>>(
    shape: Rank2<O, I>,
    rows: usize,
    grad: &[E],
    x: &[E],
) -> Tensor<Rank2<O, I>, E, D> {
    let [o, i] = shape.dims();
    product(shape, o, rows, i, grad, [1, o], x, [i, 1])
}

/// `dx = dy · W` for `rows` rows: `[rows, out] · [out, in]`.
fn input_grad<S: Shape, E: Float, D: Storage<S, E>>(
    x_shape: S,
    rows: usize,
    weight: &[E],
    weight_dims: [usize; 2],
    grad: &[E],
) -> Tensor<S, E, D> {
    let [o, i] = weight_dims;
    product(x_shape, rows, o, i, grad, [o, 1], weight, [i, 1])
}

/// Implements `Forward` for one input rank of `Linear` and `LinearNoBias`.
/// `$X`/`$Y` are the input and output shapes; `$rows` computes the number of
/// rows from the input shape.
macro_rules! impl_linear_forward {
    ([$($B:ident)?], $X:ty, $Y:ty, |$shape:ident| $rows:expr, |$o_dim:ident| $out:expr) => {
        impl<I: Dim, O: Dim, E: Float, D, $($B: Dim)?> Forward<Tensor<$X, E, D>> for Linear<I, O, E, D>
        where
            D: Storage<Rank2<O, I>, E> + Storage<Rank1<O>, E> + Storage<$X, E> + Storage<$Y, E>,
            Tensor<$X, E, D>: MatMulT<Tensor<Rank2<O, I>, E, D>, Output = Tensor<$Y, E, D>>,
        {
            type Output = Tensor<$Y, E, D>;

            /// # Shapes
            /// `[I] -> [O]` for one sample, `[B, I] -> [B, O]` for a batch
            /// (`B` may be `Dyn`).
            #[track_caller]
            fn forward(&self, x: &Tensor<$X, E, D>) -> Self::Output {
                // The rank-1 form reads no axis of the input shape.
                #[allow(unused_variables)]
                let $shape = x.shape();
                let rows = $rows;
                let [o, i] = self.weight.dims();
                let $o_dim = self.bias.shape().0;
                check_in_features(x.dims().as_ref(), i);
                // y starts as the bias on every row, and the product adds
                // x Wᵀ to it (`beta = 1`) in the same pass.
                let mut y = Tensor::tiled_with_shape($out, self.bias.as_slice());
                E::gemm(rows, i, o, E::ONE, x.as_slice(), [i, 1], self.weight.as_slice(), [1, i], E::ONE, y.as_mut_slice(), o);
                y
            }

            #[allow(clippy::type_complexity)]
            #[track_caller]
            fn forward_vjp(
                &self,
                x: &Tensor<$X, E, D>,
            ) -> (
                Self::Output,
                (
                    impl FnOnce(Self::Output) -> LinearGrads<I, O, E, D> + Clone + use<I, O, E, D, $($B)?>,
                    impl FnOnce(Self::Output) -> Tensor<$X, E, D> + Clone + use<I, O, E, D, $($B)?>,
                ),
            ) {
                let y = self.forward(x);
                let $shape = x.shape();
                let rows = $rows;
                let (w_shape, out) = (self.weight.shape(), self.bias.shape().0);
                let (saved_x, saved_w) = (x.clone(), self.weight.value().clone());
                let pullback_params = move |grad: Self::Output| LinearGrads {
                    weight: weight_grad(w_shape, rows, grad.as_slice(), saved_x.as_slice()),
                    bias: bias_grad(out, grad.as_slice()),
                };
                let pullback_input = move |grad: Self::Output| {
                    input_grad($shape, rows, saved_w.as_slice(), w_shape.dims(), grad.as_slice())
                };
                (y, (pullback_params, pullback_input))
            }
        }

        impl<I: Dim, O: Dim, E: Float, D, $($B: Dim)?> Forward<Tensor<$X, E, D>> for LinearNoBias<I, O, E, D>
        where
            D: Storage<Rank2<O, I>, E> + Storage<$X, E> + Storage<$Y, E>,
            Tensor<$X, E, D>: MatMulT<Tensor<Rank2<O, I>, E, D>, Output = Tensor<$Y, E, D>>,
        {
            type Output = Tensor<$Y, E, D>;

            /// # Shapes
            /// `[I] -> [O]` for one sample, `[B, I] -> [B, O]` for a batch
            /// (`B` may be `Dyn`).
            #[track_caller]
            fn forward(&self, x: &Tensor<$X, E, D>) -> Self::Output {
                x.matmul_t(&*self.weight)
            }

            #[allow(clippy::type_complexity)]
            #[track_caller]
            fn forward_vjp(
                &self,
                x: &Tensor<$X, E, D>,
            ) -> (
                Self::Output,
                (
                    impl FnOnce(Self::Output) -> LinearNoBiasGrads<I, O, E, D> + Clone + use<I, O, E, D, $($B)?>,
                    impl FnOnce(Self::Output) -> Tensor<$X, E, D> + Clone + use<I, O, E, D, $($B)?>,
                ),
            ) {
                let y = self.forward(x);
                let $shape = x.shape();
                let rows = $rows;
                let w_shape = self.weight.shape();
                let (saved_x, saved_w) = (x.clone(), self.weight.value().clone());
                let pullback_params = move |grad: Self::Output| LinearNoBiasGrads {
                    weight: weight_grad(w_shape, rows, grad.as_slice(), saved_x.as_slice()),
                };
                let pullback_input = move |grad: Self::Output| {
                    input_grad($shape, rows, saved_w.as_slice(), w_shape.dims(), grad.as_slice())
                };
                (y, (pullback_params, pullback_input))
            }
        }
    };
}

impl_linear_forward!([], Rank1<I>, Rank1<O>, |x_shape| 1, |o_dim| Rank1(o_dim));
impl_linear_forward!([B], Rank2<B, I>, Rank2<B, O>, |x_shape| x_shape.0.size(), |o_dim| Rank2(x_shape.0, o_dim));

/// Implements the gradient-struct traits for `$Grads` with the listed
/// fields.
macro_rules! impl_grads {
    ($Grads:ident, [$($bound:ty),*], $($field:ident),+) => {
        impl<I: Dim, O: Dim, E: Float, D> Clone for $Grads<I, O, E, D>
        where
            D: $(Storage<$bound, E> +)* Storage<Rank2<O, I>, E>,
        {
            fn clone(&self) -> Self {
                $Grads { $($field: self.$field.clone()),+ }
            }
        }

        impl<I: Dim, O: Dim, E: Float, D> fmt::Debug for $Grads<I, O, E, D>
        where
            D: $(Storage<$bound, E> +)* Storage<Rank2<O, I>, E>,
        {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($Grads))
                    $(.field(stringify!($field), &self.$field))+
                    .finish()
            }
        }

        impl<I: Dim, O: Dim, E: Float, D> Accumulate for $Grads<I, O, E, D>
        where
            D: $(Storage<$bound, E> +)* Storage<Rank2<O, I>, E>,
        {
            #[track_caller]
            fn accumulate(&mut self, other: Self) {
                $(self.$field.accumulate(other.$field);)+
            }
        }

        impl<I: Dim, O: Dim, E: Float, D> Leaves<E> for $Grads<I, O, E, D>
        where
            D: $(Storage<$bound, E> +)* Storage<Rank2<O, I>, E>,
        {
            fn visit_leaves(&self, f: &mut dyn FnMut(&[E])) {
                $(self.$field.visit_leaves(f);)+
            }

            fn visit_leaves_mut(&mut self, f: &mut dyn FnMut(&mut [E])) {
                $(self.$field.visit_leaves_mut(f);)+
            }
        }
    };
}

impl_grads!(LinearGrads, [Rank1<O>], weight, bias);
impl_grads!(LinearNoBiasGrads, [], weight);

/// Implements `Clone`, `Leaves`, `Differentiable`, `Module` and
/// `StaticModule` for a layer whose parameters are the listed fields, each
/// a `Param<Tensor>`; `tensors` is their count.
macro_rules! impl_layer_module {
    ($Layer:ident, $Grads:ident, $Parts:ident, [$($bound:ty),*], $($field:ident),+; tensors = $tensors:literal) => {
        impl<I: Dim, O: Dim, E: Float, D> Clone for $Layer<I, O, E, D>
        where
            D: $(Storage<$bound, E> +)* Storage<Rank2<O, I>, E>,
        {
            fn clone(&self) -> Self {
                $Layer { $($field: self.$field.clone()),+ }
            }
        }

        /// Visits the parameters, so gradcheck can perturb a layer.
        impl<I: Dim, O: Dim, E: Float, D> Leaves<E> for $Layer<I, O, E, D>
        where
            D: $(Storage<$bound, E> +)* Storage<Rank2<O, I>, E>,
        {
            fn visit_leaves(&self, f: &mut dyn FnMut(&[E])) {
                $(self.$field.visit_leaves(f);)+
            }

            fn visit_leaves_mut(&mut self, f: &mut dyn FnMut(&mut [E])) {
                $(self.$field.visit_leaves_mut(f);)+
            }
        }

        impl<I: Dim, O: Dim, E: Float, D> Differentiable for $Layer<I, O, E, D>
        where
            D: $(Storage<$bound, E> +)* Storage<Rank2<O, I>, E>,
        {
            type Grad = $Grads<I, O, E, D>;

            fn zero_grad(&self) -> Self::Grad {
                $Grads { $($field: self.$field.zeros_like()),+ }
            }
        }

        impl<I: Dim, O: Dim, E: Float, D> GradParts for $Layer<I, O, E, D>
        where
            D: $(Storage<$bound, E> +)* Storage<Rank2<O, I>, E>,
        {
            type Parts = $Parts<I, O, E, D>;

            fn grad_parts(&self) -> Self::Parts {
                $Parts { $($field: self.$field.grad_parts()),+ }
            }

            fn assemble(parts: Self::Parts) -> Self::Grad {
                $Grads { $($field: parts.$field.into_grad(Tensor::zeros_with_shape)),+ }
            }
        }

        impl<I: Dim, O: Dim, E: Float, D> AddGrad<$Grads<I, O, E, D>> for $Parts<I, O, E, D>
        where
            D: $(Storage<$bound, E> +)* Storage<Rank2<O, I>, E>,
        {
            fn add_grad(&mut self, grad: $Grads<I, O, E, D>) {
                $(self.$field.add_grad(grad.$field);)+
            }
        }

        impl<I: Dim, O: Dim, E: Float, D> Module for $Layer<I, O, E, D>
        where
            D: $(Storage<$bound, E> +)* Storage<Rank2<O, I>, E>,
        {
            type Elem = E;
            type Grads = $Grads<I, O, E, D>;

            fn num_params(&self) -> usize {
                0 $(+ self.$field.numel())+
            }

            fn visit_params(
                &self,
                parent: Option<&ParamName<'_>>,
                f: &mut dyn FnMut(&ParamName<'_>, &[usize], &[E]),
            ) {
                $(self.$field.visit_params(Some(&ParamName::field(parent, stringify!($field))), f);)+
            }

            fn visit_params_mut(
                &mut self,
                parent: Option<&ParamName<'_>>,
                f: &mut dyn FnMut(&ParamName<'_>, &[usize], &mut [E]),
            ) {
                $(self.$field.visit_params_mut(Some(&ParamName::field(parent, stringify!($field))), f);)+
            }

            fn lockstep<const K: usize>(
                &mut self,
                grads: &Self::Grads,
                mut states: [&mut Self::Grads; K],
                f: &mut impl FnMut(&mut [E], &[E], [&mut [E]; K]),
            ) {
                $(self.$field.lockstep(&grads.$field, states.each_mut().map(|s| &mut s.$field), f);)+
            }

            fn fmt_repr(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self, f)
            }
        }

        impl<I, O, E: Float, D> StaticModule for $Layer<I, O, E, D>
        where
            I: Dim,
            O: Dim,
            D: $(Storage<$bound, E> +)* Storage<Rank2<O, I>, E>,
            Rank2<O, I>: ConstShape,
            $($bound: ConstShape,)*
        {
            const NUM_PARAMS: usize = <Rank2<O, I> as ConstShape>::NUMEL $(+ <$bound as ConstShape>::NUMEL)*;
            const NUM_TENSORS: usize = $tensors;
        }
    };
}

impl_layer_module!(Linear, LinearGrads, LinearGradParts, [Rank1<O>], weight, bias; tensors = 2);
impl_layer_module!(LinearNoBias, LinearNoBiasGrads, LinearNoBiasGradParts, [], weight; tensors = 1);

/// PyTorch's repr: `Linear(in_features=5, out_features=1, bias=True)`.
impl<I: Dim, O: Dim, E: Float, D> fmt::Display for Linear<I, O, E, D>
where
    D: Storage<Rank2<O, I>, E> + Storage<Rank1<O>, E>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Linear(in_features={}, out_features={}, bias=True)",
            self.in_features(),
            self.out_features()
        )
    }
}

/// PyTorch's repr: `Linear(in_features=5, out_features=1, bias=False)`.
impl<I: Dim, O: Dim, E: Float, D> fmt::Display for LinearNoBias<I, O, E, D>
where
    D: Storage<Rank2<O, I>, E>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Linear(in_features={}, out_features={}, bias=False)",
            self.in_features(),
            self.out_features()
        )
    }
}

impl<I: Dim, O: Dim, E: Float, D> fmt::Debug for Linear<I, O, E, D>
where
    D: Storage<Rank2<O, I>, E> + Storage<Rank1<O>, E>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Linear")
            .field("weight", &self.weight)
            .field("bias", &self.bias)
            .finish()
    }
}

impl<I: Dim, O: Dim, E: Float, D> fmt::Debug for LinearNoBias<I, O, E, D>
where
    D: Storage<Rank2<O, I>, E>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinearNoBias").field("weight", &self.weight).finish()
    }
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use autograd::typenum::U3;
    use autograd::{Dyn, Rank2, Tensor};

    use super::bias_grad;
    use crate::layers::{Forward, Linear};

    #[test]
    fn forward_and_bias_grad_match_row_loops() {
        // With 5 rows `bias_grad` keeps its row loop. With 37 rows it runs
        // spans (24 or 40 elements for widths 3 and 10), then the leftover rows.
        for (width, rows) in [(3usize, 5), (8, 5), (3, 37), (10, 37), (9, 37)] {
            let inputs = 4;
            let x: Vec<f64> = (0..rows * width).map(|i| (i as f64 * 0.7).sin()).collect();
            let bias: Vec<f64> = (0..width).map(|j| j as f64 - 1.5).collect();
            let weight: Vec<f64> = (0..width * inputs).map(|i| (i as f64 * 0.3).cos()).collect();
            let input: Vec<f64> = (0..rows * inputs).map(|i| i as f64 * 0.25 - 1.0).collect();
            let layer = Linear::<Dyn, Dyn, f64>::from_tensors(
                Tensor::from_slice_with_shape(Rank2(Dyn(width), Dyn(inputs)), &weight).unwrap(),
                Tensor::from_slice_with_shape(autograd::Rank1(Dyn(width)), &bias).unwrap(),
            );
            let y = layer.forward(&Tensor::from_slice_with_shape(Rank2(Dyn(rows), Dyn(inputs)), &input).unwrap());
            for (index, &v) in y.as_slice().iter().enumerate() {
                let (r, j) = (index / width, index % width);
                let dot: f64 = (0..inputs).map(|p| input[r * inputs + p] * weight[j * inputs + p]).sum();
                assert!((v - (dot + bias[j])).abs() < 1e-12, "width {width}, element {index}: {v}");
            }
            let expected: Vec<f64> = (0..width).map(|j| (0..rows).map(|r| x[r * width + j]).sum()).collect();
            let got: Vec<f64> = bias_grad::<Dyn, f64, autograd::Cpu>(Dyn(width), &x).as_slice().to_vec();
            assert_eq!(got.len(), width);
            for (g, e) in got.iter().zip(&expected) {
                assert!((g - e).abs() < 1e-12, "width {width}, rows {rows}: {g} vs {e}");
            }
            if width == 3 {
                let fixed = bias_grad::<U3, f64, autograd::Cpu>(U3::new(), &x);
                assert_eq!(fixed.as_slice(), &got[..]);
            }
        }
    }
}
