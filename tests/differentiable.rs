//! Every backward pass that `#[differentiable]` generates, checked against
//! finite differences in f64 with `autograd::gradcheck`.

use autograd::typenum::{U3, U5};
use autograd::{MatMul, Module};
use autograd::{
    differentiable, gradcheck, no_grad, Accumulate, AddGrad, ConstShape, Cpu, Differentiable, GradParts, GradcheckOptions, Leaves,
    NoGrad, Param, Rank0, Rank1, Rng, Storage, Tensor,
};

type Vector = Tensor<Rank1<U3>, f64>;
type Scalar = Tensor<Rank0, f64>;
type Features = Tensor<Rank1<U5>, f64>;

fn random<S: ConstShape>(seed: u64) -> Tensor<S, f64>
where
    Cpu: Storage<S, f64>,
{
    Tensor::randn(&mut Rng::seed_from_u64(seed))
}

fn pair(seed: u64) -> (Vector, Vector) {
    (random(seed), random(seed + 100))
}

/// Checks a function of two vectors whose VJP form returns both gradients.
macro_rules! check_pair {
    ($f:ident, $f_vjp:ident, $input:expr $(, $extra:expr)*) => {
        gradcheck(
            |(x, w): &(Vector, Vector)| $f(x, w $(, $extra)*),
            |(x, w)| {
                let (y, pullback) = $f_vjp(x, w $(, $extra)*);
                (y, move |g| {
                    let grads = pullback(g);
                    (grads.0, grads.1)
                })
            },
            &$input,
            GradcheckOptions::default(),
        )
        .unwrap()
    };
}

#[differentiable]
fn product_plus_input(x: &Vector, w: &Vector) -> Vector {
    x * w + x
}

#[test]
fn straight_line_passes_gradcheck() {
    check_pair!(product_plus_input, product_plus_input_vjp, pair(1));
}

#[differentiable]
fn nested_expression(x: &Vector, w: &Vector) -> Vector {
    -((x * w).exp() / (x * x + 1.0)) * 2.0 - w
}

#[test]
fn nested_expression_passes_gradcheck() {
    check_pair!(nested_expression, nested_expression_vjp, pair(2));
}

#[differentiable]
fn shadowing(x: &Vector, w: &Vector) -> Vector {
    let h = x * w;
    let h = &h * &h;
    let mut h = h.exp();
    h = h * x;
    h = h + w;
    h
}

#[test]
fn shadowing_and_reassignment_pass_gradcheck() {
    let mut input = pair(3);
    input.0.map_inplace(|v| v * 0.5);
    check_pair!(shadowing, shadowing_vjp, input);
}

#[differentiable]
fn used_three_times(x: &Vector, w: &Vector) -> Vector {
    let a = x * w;
    let b = &a * &a;
    &b + &a - x
}

#[test]
fn values_used_several_times_pass_gradcheck() {
    check_pair!(used_three_times, used_three_times_vjp, pair(4));
}

#[differentiable]
fn branch(x: &Vector, w: &Vector, flip: bool, arm: usize) -> Vector {
    let mut y = if flip { x * w } else { x - w };
    if !flip {
        y = y.exp();
    }
    let scale = 2.0;
    match arm {
        0 => &y * w,
        1 => {
            let z = &y + x;
            z * scale
        }
        _ => y,
    }
}

#[test]
fn if_and_match_pass_gradcheck_in_every_arm() {
    for flip in [true, false] {
        for arm in 0..3 {
            check_pair!(branch, branch_vjp, pair(5), flip, arm);
        }
    }
}

// The final `return` is deliberate: it is rewritten like the early one.
#[allow(clippy::needless_return)]
#[differentiable]
fn early_return(x: &Vector, w: &Vector, skip: bool) -> Vector {
    let y = x * w;
    if skip {
        return y;
    }
    let z = y.exp();
    return z * x;
}

#[test]
fn early_return_passes_gradcheck_on_both_paths() {
    for skip in [true, false] {
        check_pair!(early_return, early_return_vjp, pair(14), skip);
    }
}

/// Returns from both arms of an `if`/`else`, from a nested `if`, and from
/// one arm of a `match`. The code after each branch runs on the other paths.
#[differentiable]
fn returns_in_arms(x: &Vector, w: &Vector, mode: usize, stop: bool) -> Vector {
    let mut h = x * w;
    if mode == 0 {
        return h.exp();
    } else if mode == 1 {
        let doubled = &h + &h;
        if stop {
            return doubled;
        }
        h = doubled * x;
    } else {
        h = h.tanh();
    }
    match mode {
        2 => return h * w,
        _ => {
            h = h.sigmoid();
        }
    }
    h + x
}

/// Computes the same paths without `return`, as the reference.
fn returns_in_arms_by_branches(x: &Vector, w: &Vector, mode: usize, stop: bool) -> Vector {
    let h = x * w;
    match mode {
        0 => h.exp(),
        1 if stop => &h + &h,
        1 => ((&h + &h) * x).sigmoid() + x,
        2 => h.tanh() * w,
        _ => h.tanh().sigmoid() + x,
    }
}

#[test]
fn early_returns_pass_gradcheck() {
    let (x, w) = pair(21);
    for mode in 0..4 {
        for stop in [true, false] {
            check_pair!(returns_in_arms, returns_in_arms_vjp, pair(21), mode, stop);
            let expected = returns_in_arms_by_branches(&x, &w, mode, stop);
            assert_eq!(returns_in_arms(&x, &w, mode, stop).as_slice(), expected.as_slice(), "mode {mode}");
            let (value, _) = returns_in_arms_vjp(&x, &w, mode, stop);
            assert_eq!(value.as_slice(), expected.as_slice(), "mode {mode}");
        }
    }
}

/// Branches and compares on differentiated values through `no_grad`, which
/// makes the condition a constant.
#[differentiable]
fn clipped_by_sign(x: &Vector, w: &Vector) -> Vector {
    let h = x * w;
    let positive = no_grad(h.sum().item()) > 0.0;
    if no_grad(h.get([0])) > 0.5 && positive {
        h.tanh()
    } else {
        h * x
    }
}

#[test]
fn no_grad_conditions_pass_gradcheck() {
    let mut branches_taken = [false, false];
    for seed in 3..30 {
        let (x, w) = pair(seed);
        let h = &x * &w;
        let then_branch = h.get([0]) > 0.5 && h.sum().item() > 0.0;
        branches_taken[usize::from(then_branch)] = true;
        let expected = if then_branch { h.tanh() } else { &h * &x };
        assert_eq!(clipped_by_sign(&x, &w).as_slice(), expected.as_slice());
        check_pair!(clipped_by_sign, clipped_by_sign_vjp, pair(seed));
    }
    assert_eq!(branches_taken, [true, true], "the seeds must reach both branches");
}

/// Binds a tuple whose elements read names the same `let` rebinds: every
/// element reads the values from before the `let`.
#[differentiable]
fn tuple_rebinding(x: &Vector, w: &Vector) -> Vector {
    let a = x.exp();
    let b = w.square();
    let (b, a) = (a, b);
    let (a, c) = (a.tanh(), &a * &b);
    a * c + b
}

#[test]
fn tuple_let_reads_earlier_bindings() {
    let (x, w) = pair(31);
    let (a, b) = (w.square(), x.exp());
    let expected = a.tanh() * (&a * &b) + b;
    assert_eq!(tuple_rebinding(&x, &w).as_slice(), expected.as_slice());
    let (value, _) = tuple_rebinding_vjp(&x, &w);
    assert_eq!(value.as_slice(), expected.as_slice());
    check_pair!(tuple_rebinding, tuple_rebinding_vjp, pair(31));
}

#[differentiable]
fn recurrence(x: &Vector, w: &Vector, steps: usize) -> Vector {
    let mut h = x.clone();
    for _ in 0..steps {
        h = &h * w + x;
    }
    h
}

#[test]
fn loop_with_run_time_count_passes_gradcheck() {
    let mut input = pair(6);
    input.1.map_inplace(|v| v * 0.5);
    for steps in [0, 1, 4] {
        check_pair!(recurrence, recurrence_vjp, input, steps);
    }
}

#[differentiable]
fn loop_with_index(x: &Vector, w: &Vector) -> Vector {
    let mut acc = x * 0.0;
    for i in 0..3 {
        let factor = i as f64 + 1.0;
        acc = acc + &(x * w) * factor;
    }
    acc
}

#[test]
fn loop_over_constant_range_passes_gradcheck() {
    check_pair!(loop_with_index, loop_with_index_vjp, pair(7));
}

#[differentiable]
fn two_outputs(x: &Vector, w: &Vector) -> (Vector, Vector) {
    (x * w, x.exp())
}

#[test]
fn tuple_output_passes_gradcheck() {
    check_pair!(two_outputs, two_outputs_vjp, pair(8));
}

#[differentiable]
fn calls_other_functions(x: &Vector, w: &Vector) -> Vector {
    let (a, b) = two_outputs(x, w);
    let c = product_plus_input(&a, &b);
    c * w
}

#[test]
fn calls_between_differentiable_functions_pass_gradcheck() {
    check_pair!(calls_other_functions, calls_other_functions_vjp, pair(9));
}

#[differentiable]
fn one_output_of_two_used(x: &Vector, w: &Vector) -> Vector {
    let (_, b) = two_outputs(x, w);
    b * w
}

#[test]
fn unused_tuple_element_passes_gradcheck() {
    check_pair!(one_output_of_two_used, one_output_of_two_used_vjp, pair(10));
}

#[differentiable]
fn square<S: autograd::Shape>(x: &Tensor<S, f64>) -> Tensor<S, f64>
where
    Cpu: Storage<S, f64>,
{
    x * x
}

#[differentiable]
fn generic_caller(x: &Vector, w: &Vector) -> Vector {
    square(x) + square::<Rank1<U3>>(w)
}

#[test]
fn generic_function_passes_gradcheck() {
    check_pair!(generic_caller, generic_caller_vjp, pair(11));
}

#[differentiable]
fn stopped(x: &Vector, w: &Vector) -> Vector {
    let c = no_grad(x * w);
    &c * x
}

#[test]
fn no_grad_stops_the_gradient() {
    let (x, w) = pair(12);
    let (value, pullback) = stopped_vjp(&x, &w);
    assert_eq!(value.as_slice(), stopped(&x, &w).as_slice());
    let (grad_x, grad_w) = pullback(Tensor::ones());
    // d(c · x)/dx = c with c = x · w held constant; w gets nothing.
    for i in 0..3 {
        assert_eq!(grad_x.get([i]), x.get([i]) * w.get([i]));
        assert_eq!(grad_w.get([i]), 0.0);
    }
}

#[differentiable(wrt(x))]
fn only_x(x: &Vector, w: &Vector) -> Vector {
    x * w
}

#[differentiable]
fn constant_argument(x: &Vector, #[no_grad] w: &Vector) -> Vector {
    x * w
}

#[test]
fn excluded_arguments_get_no_grad() {
    let (x, w) = pair(13);
    let (value, pullback) = only_x_vjp(&x, &w);
    assert_eq!(value.as_slice(), only_x(&x, &w).as_slice());
    let (grad_x, NoGrad) = pullback(Tensor::ones());
    assert_eq!(grad_x.as_slice(), w.as_slice());
    let (value, pullback) = constant_argument_vjp(&x, &w);
    assert_eq!(value.as_slice(), constant_argument(&x, &w).as_slice());
    let (grad_x, NoGrad) = pullback(Tensor::ones());
    assert_eq!(grad_x.as_slice(), w.as_slice());
}

// ---- the tutorial neuron: loss = (sigmoid(w·x + b) - y)² ----

#[differentiable]
fn sigmoid(z: &Scalar) -> Scalar {
    1.0 / ((-z).exp() + 1.0)
}

#[derive(Clone, Debug)]
struct Neuron {
    weight: Param<Features>,
    bias: Param<Scalar>,
}

#[derive(Clone, Debug)]
struct NeuronGrads {
    weight: Features,
    bias: Scalar,
}

impl Differentiable for Neuron {
    type Grad = NeuronGrads;

    fn zero_grad(&self) -> NeuronGrads {
        NeuronGrads {
            weight: self.weight.zero_grad(),
            bias: self.bias.zero_grad(),
        }
    }
}

impl Accumulate for NeuronGrads {
    fn accumulate(&mut self, other: Self) {
        self.weight.accumulate(other.weight);
        self.bias.accumulate(other.bias);
    }
}

/// The parts a generated backward pass moves each field's gradient into;
/// `#[derive(Module)]` writes the same for a derived model.
struct NeuronGradParts {
    weight: <Features as GradParts>::Parts,
    bias: <Scalar as GradParts>::Parts,
}

impl GradParts for Neuron {
    type Parts = NeuronGradParts;

    fn grad_parts(&self) -> NeuronGradParts {
        NeuronGradParts {
            weight: self.weight.grad_parts(),
            bias: self.bias.grad_parts(),
        }
    }

    fn assemble(parts: NeuronGradParts) -> NeuronGrads {
        NeuronGrads {
            weight: Features::assemble(parts.weight),
            bias: Scalar::assemble(parts.bias),
        }
    }
}

impl AddGrad<NeuronGrads> for NeuronGradParts {
    fn add_grad(&mut self, grad: NeuronGrads) {
        self.weight.add_grad(grad.weight);
        self.bias.add_grad(grad.bias);
    }
}

impl Leaves<f64> for Neuron {
    fn visit_leaves(&self, f: &mut dyn FnMut(&[f64])) {
        self.weight.visit_leaves(f);
        self.bias.visit_leaves(f);
    }

    fn visit_leaves_mut(&mut self, f: &mut dyn FnMut(&mut [f64])) {
        self.weight.visit_leaves_mut(f);
        self.bias.visit_leaves_mut(f);
    }
}

impl Leaves<f64> for NeuronGrads {
    fn visit_leaves(&self, f: &mut dyn FnMut(&[f64])) {
        self.weight.visit_leaves(f);
        self.bias.visit_leaves(f);
    }

    fn visit_leaves_mut(&mut self, f: &mut dyn FnMut(&mut [f64])) {
        self.weight.visit_leaves_mut(f);
        self.bias.visit_leaves_mut(f);
    }
}

impl Neuron {
    #[differentiable]
    fn forward(&self, x: &Features) -> Scalar {
        let z = (&*self.weight * x).sum() + &*self.bias;
        sigmoid(&z)
    }

    /// `loss_grad` needs a scalar output; `Tensor<Rank0, f64>` is one.
    #[differentiable]
    fn loss(&self, #[no_grad] x: &Features, #[no_grad] y: &Scalar) -> Tensor<Rank0, f64> {
        let error = self.forward(x) - y;
        &error * &error
    }
}

fn neuron() -> Neuron {
    Neuron {
        weight: Param::new(Tensor::from_array([0.5, -0.3, 0.8, 0.1, -0.6])),
        bias: Param::new(Tensor::scalar(0.2)),
    }
}

fn features() -> Features {
    Tensor::from_array([1.0, 2.0, -1.0, 0.5, 3.0])
}

#[test]
fn neuron_loss_passes_gradcheck() {
    let (x, y) = (features(), Tensor::scalar(1.0));
    gradcheck(
        |model: &Neuron| model.loss(&x, &y),
        |model| {
            let (loss, pullback) = model.loss_vjp(&x, &y);
            (loss, move |g| pullback(g).0)
        },
        &neuron(),
        GradcheckOptions::default(),
    )
    .unwrap();
}

#[test]
fn neuron_gradient_matches_the_chain_rule() {
    let (model, x, y) = (neuron(), features(), Tensor::scalar(1.0));
    let (loss, (grads, NoGrad, NoGrad)) = model.loss_grad(&x, &y);

    // z = w·x + b = 0.5 - 0.6 - 0.8 + 0.05 - 1.8 + 0.2 = -2.45
    let z: f64 = -2.45;
    let s = 1.0 / (1.0 + (-z).exp());
    // dL/dz = 2 (s - y) · s (1 - s); dL/dw = dL/dz · x; dL/db = dL/dz
    let dz = 2.0 * (s - 1.0) * s * (1.0 - s);
    assert!((loss.item() - (s - 1.0).powi(2)).abs() < 1e-12);
    assert!((grads.bias.item() - dz).abs() < 1e-12);
    for (i, &xi) in features().as_slice().iter().enumerate() {
        assert!((grads.weight.get([i]) - dz * xi).abs() < 1e-12);
    }
}

#[test]
fn neuron_input_gradient_passes_gradcheck() {
    let model = neuron();
    gradcheck(
        |x: &Features| model.forward(x),
        |x| {
            let (y, pullback) = model.forward_vjp(x);
            (y, move |g| pullback(g).1)
        },
        &features(),
        GradcheckOptions::default(),
    )
    .unwrap();
}

// ---- a model made with #[derive(Module)]: matmul, nested layers ----

#[derive(Module, Clone)]
struct Layer {
    weight: Param<Tensor<autograd::Rank2<U3, U5>, f64>>,
    bias: Param<Vector>,
}

impl Layer {
    #[differentiable]
    fn forward(&self, x: &Features) -> Vector {
        self.weight.matmul(x) + &*self.bias
    }
}

#[derive(Module, Clone)]
struct Mlp {
    hidden: Layer,
    out: Param<Vector>,
}

impl Mlp {
    #[differentiable]
    fn forward(&self, x: &Features) -> Tensor<Rank0, f64> {
        let h = self.hidden.forward(x).tanh();
        (h * &*self.out).sum()
    }
}

fn mlp() -> Mlp {
    Mlp {
        hidden: Layer {
            weight: Param::new(random(20)),
            bias: Param::new(random(21)),
        },
        out: Param::new(random(22)),
    }
}

#[test]
fn derived_module_parameters_pass_gradcheck() {
    let x = features();
    gradcheck(
        |model: &Mlp| model.forward(&x),
        |model| {
            let (y, pullback) = model.forward_vjp(&x);
            (y, move |g| pullback(g).0)
        },
        &mlp(),
        GradcheckOptions::default(),
    )
    .unwrap();
}

#[test]
fn derived_module_input_passes_gradcheck() {
    let model = mlp();
    gradcheck(
        |x: &Features| model.forward(x),
        |x| {
            let (y, pullback) = model.forward_vjp(x);
            (y, move |g| pullback(g).1)
        },
        &features(),
        GradcheckOptions::default(),
    )
    .unwrap();
}

#[test]
fn derived_module_grad_fills_every_field() {
    let model = mlp();
    let (_, (grads, _)) = model.forward_grad(&features());
    assert_eq!(grads.hidden.weight.numel(), 15);
    assert!(grads.out.as_slice().iter().any(|&g| g != 0.0));
}

// ---- the inline device and user Functions ----

type InlineVector = Tensor<Rank1<U3>, f64, autograd::Inline>;

const STEPS: usize = 3;

#[differentiable]
fn inline_recurrence(x: &InlineVector, w: &InlineVector) -> InlineVector {
    let mut h = x * w;
    for _ in 0..STEPS {
        h = &h * w + x;
    }
    h
}

#[test]
fn constant_count_loop_on_inline_device_passes_gradcheck() {
    let input: (InlineVector, InlineVector) = (
        Tensor::from_array([0.3, -0.7, 1.1]),
        Tensor::from_array([0.5, 0.9, -0.4]),
    );
    gradcheck(
        |(x, w): &(InlineVector, InlineVector)| inline_recurrence(x, w),
        |(x, w)| {
            let (y, pullback) = inline_recurrence_vjp(x, w);
            (y, move |g| pullback(g))
        },
        &input,
        GradcheckOptions::default(),
    )
    .unwrap();
}

/// `x³` with a hand-written backward, called from a differentiable function.
struct Cube;

impl autograd::Function for Cube {
    type Input = Vector;
    type Output = Vector;
    type Saved = Vector;

    fn forward(x: &Vector) -> (Vector, Vector) {
        (x.map(|v| v * v * v), x.clone())
    }

    fn backward(x: Vector, grad_output: Vector) -> Vector {
        // d x³ / dx = 3x²
        grad_output.zip_map(&x, |g, x| 3.0 * x * x * g)
    }
}

#[differentiable]
fn cube_times(x: &Vector, w: &Vector) -> Vector {
    use autograd::Function;
    Cube::apply(x) * w
}

#[test]
fn user_function_passes_gradcheck() {
    check_pair!(cube_times, cube_times_vjp, pair(15));
}

// ---- struct results ----

/// A pair of vectors whose gradient is a pair with the same field names.
#[derive(Clone, Debug)]
struct Outputs {
    product: Vector,
    exp: Vector,
}

impl Differentiable for Outputs {
    type Grad = Outputs;

    fn zero_grad(&self) -> Outputs {
        Outputs {
            product: self.product.zero_grad(),
            exp: self.exp.zero_grad(),
        }
    }
}

impl Accumulate for Outputs {
    fn accumulate(&mut self, other: Self) {
        self.product.accumulate(other.product);
        self.exp.accumulate(other.exp);
    }
}

impl Leaves<f64> for Outputs {
    fn visit_leaves(&self, f: &mut dyn FnMut(&[f64])) {
        self.product.visit_leaves(f);
        self.exp.visit_leaves(f);
    }

    fn visit_leaves_mut(&mut self, f: &mut dyn FnMut(&mut [f64])) {
        self.product.visit_leaves_mut(f);
        self.exp.visit_leaves_mut(f);
    }
}

#[differentiable]
fn struct_output(x: &Vector, w: &Vector) -> Outputs {
    let product = x * w;
    Outputs {
        exp: (&product + x).exp(),
        product,
    }
}

#[test]
fn struct_output_passes_gradcheck() {
    check_pair!(struct_output, struct_output_vjp, pair(16));
}

#[differentiable]
fn loop_with_branch(x: &Vector, w: &Vector, steps: usize) -> Vector {
    let mut h = x.clone();
    let mut total = x * 0.0;
    for i in 0..steps {
        if i % 2 == 0 {
            h = &h * w;
        } else {
            h = h + x;
            total = total + &h;
        }
    }
    h * total
}

#[test]
fn branch_inside_loop_passes_gradcheck() {
    for steps in [0, 1, 2, 5] {
        check_pair!(loop_with_branch, loop_with_branch_vjp, pair(17), steps);
    }
}

#[test]
fn generated_backward_passes_gradcheck_at_zero() {
    let zeros = (Vector::zeros(), Vector::zeros());
    check_pair!(used_three_times, used_three_times_vjp, zeros);
    check_pair!(shadowing, shadowing_vjp, zeros);
    check_pair!(recurrence, recurrence_vjp, zeros, 3);
    check_pair!(branch, branch_vjp, zeros, false, 1);
}

#[differentiable]
fn constant_becomes_active_in_loop(x: &Vector, w: &Vector, #[no_grad] offset: &Vector) -> Vector {
    let mut acc = offset * 2.0;
    for _ in 0..2 {
        acc = acc * x + w;
    }
    acc
}

#[test]
fn loop_carrying_a_constant_passes_gradcheck() {
    let offset: Vector = random(30);
    check_pair!(constant_becomes_active_in_loop, constant_becomes_active_in_loop_vjp, pair(18), &offset);
}

/// Sizes read through `dims()` are constants, even when indexed.
#[differentiable]
fn scaled_by_length(x: &Vector) -> Vector {
    let n = x.dims()[0];
    x * (n as f64)
}

#[test]
fn indexed_shape_query_is_a_constant() {
    let x: Vector = random(40);
    let (y, pullback) = scaled_by_length_vjp(&x);
    let (grad,) = pullback(Vector::ones());
    assert_eq!(y.as_slice(), (&x * 3.0).as_slice());
    assert_eq!(y.as_slice(), scaled_by_length(&x).as_slice());
    assert_eq!(grad.as_slice(), &[3.0, 3.0, 3.0]);
}
