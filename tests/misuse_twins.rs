//! The correct twin of each case in `tests/ui/misuse/`: the code a user
//! should write instead of the PyTorch mistake of the same row, compiling
//! and computing what it should. Rows 7 and 18 have no compile-fail case,
//! because the mistake cannot happen here; their tests show why.

// The tests call the `_grad` and `_vjp` forms that `#[differentiable]`
// generates, so some plain forward functions are never called.
#![allow(dead_code)]

use autograd::typenum::{U1, U2, U3, U4, U5, U6, U8};
use autograd::{
    differentiable, Differentiable, Function, Inline, MatMul, Module, Param, Rank0, Rank1, Rank2,
    Tensor,
};
use nn::layers::{Forward, Linear};
use nn::loss::mse_loss;
use nn::optim::{Optimizer, Sgd, SgdConfig};

fn names<M: Module>(model: &M) -> Vec<String> {
    let mut names = Vec::new();
    model.visit_params(None, &mut |name, _, _| names.push(name.to_string()));
    names
}

/// A model with a trainable weight and a constant mask.
#[derive(Module)]
struct Masked {
    weight: Param<Tensor<Rank1<U3>>>,
    #[module(constant)]
    mask: Tensor<Rank1<U3>>,
}

impl Masked {
    /// NOTE: the mask is passed in because `#[differentiable]` routes a read
    /// of `self.mask` into `grads.mask`, which a constant field does not have.
    #[differentiable]
    fn loss(&self, #[no_grad] mask: &Tensor<Rank1<U3>>) -> Tensor<Rank0> {
        (&*self.weight * mask).sum()
    }
}

fn masked() -> Masked {
    Masked {
        weight: Param::new(Tensor::from_array([1.0, 2.0, 3.0])),
        mask: Tensor::from_array([1.0, 0.0, 1.0]),
    }
}

#[test]
fn row01_param_weight_gets_gradient() {
    let model = masked();
    let (_, (grads, _)) = model.loss_grad(&model.mask);

    // d/dw sum(w * mask) = mask.
    assert_eq!(grads.weight.as_slice(), [1.0, 0.0, 1.0]);
}

#[test]
fn row02_constant_field_is_not_a_parameter() {
    let model = masked();

    assert_eq!(names(&model), ["weight"]);
    assert_eq!(model.num_params(), 3);
}

#[derive(Module)]
struct Stack {
    layers: Vec<Linear<U4, U4>>,
}

#[test]
fn row03_vec_of_layers_is_registered() {
    let mut rng = autograd::Rng::seed_from_u64(3);
    let model = Stack { layers: vec![Linear::new(&mut rng), Linear::new(&mut rng)] };

    assert_eq!(names(&model), ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]);
    // Two layers of a 4x4 weight and a bias of 4.
    assert_eq!(model.num_params(), 2 * (4 * 4 + 4));
}

#[test]
fn row04_model_with_parameters_builds_optimizer() {
    let model = masked();
    let optimizer = Sgd::new(&model, SgdConfig::default());

    assert_eq!(optimizer.lr(), SgdConfig::default().lr);
}

#[derive(Module)]
struct ActivatedLinear {
    act: nn::layers::Relu,
    linear: Linear<U2, U2>,
}

#[test]
fn row04_parameterless_types_are_known() {
    use nn::layers::Relu;

    let without = [
        ("Relu", <Relu as Module>::CAN_HOLD_PARAMS),
        ("(Relu, Relu)", <(Relu, Relu) as Module>::CAN_HOLD_PARAMS),
        ("Vec<Relu>", <Vec<Relu> as Module>::CAN_HOLD_PARAMS),
        ("[Linear; 0]", <[Linear<U2, U2>; 0] as Module>::CAN_HOLD_PARAMS),
    ];
    let with = [
        ("ActivatedLinear", <ActivatedLinear as Module>::CAN_HOLD_PARAMS),
        ("(Relu, Linear)", <(Relu, Linear<U2, U2>) as Module>::CAN_HOLD_PARAMS),
        ("Option<Linear>", <Option<Linear<U2, U2>> as Module>::CAN_HOLD_PARAMS),
        ("Vec<Linear>", <Vec<Linear<U2, U2>> as Module>::CAN_HOLD_PARAMS),
    ];

    for (name, can_hold) in without {
        assert!(!can_hold, "{name} cannot hold a parameter");
    }
    for (name, can_hold) in with {
        assert!(can_hold, "{name} can hold a parameter");
    }
}

#[test]
#[should_panic(expected = "the model has no parameters to optimize")]
fn row04_empty_layer_list_panics_at_new() {
    let model = Stack { layers: Vec::new() };
    let _ = Sgd::new(&model, SgdConfig::default());
}

#[test]
fn row05_each_step_takes_fresh_gradients() {
    let mut model = Param::new(Tensor::<Rank1<U3>>::ones());
    let mut optimizer = Sgd::new(&model, SgdConfig { lr: 0.25, ..SgdConfig::default() });

    optimizer.step(&mut model, Tensor::ones());
    optimizer.step(&mut model, Tensor::ones());

    // Two plain SGD steps of 0.25 with a gradient of one: 1 - 2 * 0.25. Had
    // the gradients accumulated, the second step would subtract 0.5.
    assert_eq!(model.as_slice(), [0.5, 0.5, 0.5]);
}

#[test]
fn row06_second_backward_runs_forward_again() {
    let x: Tensor<Rank1<U3>> = Tensor::zeros();

    let (_, (first,)) = x.exp_vjp();
    let (_, (second,)) = x.exp_vjp();

    // exp'(0) = 1, from each of two independent forward passes.
    assert_eq!(first(Tensor::ones()).as_slice(), [1.0; 3]);
    assert_eq!(second(Tensor::ones()).as_slice(), [1.0; 3]);
}

#[test]
fn row07_in_place_write_leaves_pullback_unaffected() {
    let mut x: Tensor<Rank1<U3>, f64> = Tensor::zeros();
    let (_, (pullback,)) = x.exp_vjp();

    // The pullback saved exp(x); writing into x copies its storage first.
    x.as_mut_slice()[0] = 5.0;
    x.map_inplace(|v| v + 1.0);

    // exp'(0) = 1: the gradient is the one of the x the forward pass read.
    assert_eq!(pullback(Tensor::ones()).as_slice(), [1.0; 3]);
    assert_eq!(x.as_slice(), [6.0, 1.0, 1.0]);
}

#[test]
fn row08_intermediate_gradient_comes_from_its_pullback() {
    let x: Tensor<Rank1<U3>, f64> = Tensor::zeros();
    let (hidden, (exp_pullback,)) = x.exp_vjp();
    let (_, (sum_pullback,)) = hidden.sum_vjp();

    // d sum(h) / dh = 1: the gradient of the intermediate h.
    let grad_hidden = sum_pullback(Tensor::scalar(1.0));
    assert_eq!(grad_hidden.as_slice(), [1.0; 3]);

    // And dx = exp(0) * dh = 1.
    assert_eq!(exp_pullback(grad_hidden).as_slice(), [1.0; 3]);
}

#[test]
fn row09_matmul_of_matching_shapes() {
    let a: Tensor<Rank2<U3, U4>> = Tensor::ones();
    let b: Tensor<Rank2<U4, U5>> = Tensor::ones();

    let product: Tensor<Rank2<U3, U5>> = a.matmul(&b);

    // Each entry is a sum of four products 1 * 1.
    assert_eq!(product.as_slice(), [4.0; 15]);
}

#[test]
fn row10_target_reshaped_before_loss() {
    let prediction: Tensor<Rank1<U8>> = Tensor::ones();
    let target: Tensor<Rank2<U8, U1>> = Tensor::zeros();

    let target = target.reshape::<Rank1<U8>>();
    let error = &prediction - &target;
    let loss = mse_loss(&prediction, &target);

    // Eight errors, not the 64 of a broadcast [8, 8].
    assert_eq!(error.as_slice(), [1.0; 8]);
    // The mean of eight squared errors of 1.
    assert_eq!(loss.item(), 1.0);
}

#[test]
fn row11_data_cast_to_weight_precision() {
    let weight: Tensor<Rank2<U2, U3>, f32> = Tensor::ones();
    let input: Tensor<Rank1<U3>, f64> = Tensor::from_array([0.5, 1.0, 1.5]);

    let output = weight.matmul(&input.cast::<f32>());

    assert_eq!(output.as_slice(), [3.0, 3.0]);
}

#[differentiable]
fn squared_errors(prediction: &Tensor<Rank1<U3>>, target: &Tensor<Rank1<U3>>) -> Tensor<Rank1<U3>> {
    let error = prediction - target;
    &error * &error
}

#[differentiable]
fn sum_squared_error(prediction: &Tensor<Rank1<U3>>, target: &Tensor<Rank1<U3>>) -> Tensor<Rank0> {
    squared_errors(prediction, target).sum()
}

#[test]
fn row12_scalar_loss_has_grad() {
    let prediction = Tensor::from_array([1.0, 2.0, 3.0]);
    let target = Tensor::zeros();

    let (loss, (grad, _)) = sum_squared_error_grad(&prediction, &target);

    // sum(p^2) = 14, and its gradient is 2p.
    assert_eq!(loss.item(), 14.0);
    assert_eq!(grad.as_slice(), [2.0, 4.0, 6.0]);
}

#[test]
fn row12_vector_output_takes_explicit_cotangent() {
    let prediction = Tensor::from_array([1.0, 2.0, 3.0]);
    let target = Tensor::zeros();

    let (_, pullback) = squared_errors_vjp(&prediction, &target);
    let (grad, _) = pullback(Tensor::from_array([1.0, 0.0, 0.5]));

    // 2p scaled by the cotangent.
    assert_eq!(grad.as_slice(), [2.0, 0.0, 3.0]);
}

type Vector = Tensor<Rank1<U3>, f64>;

struct Product;

impl Function for Product {
    type Input = (Vector, Vector);
    type Output = Vector;
    type Saved = (Vector, Vector);

    fn forward((a, b): &(Vector, Vector)) -> (Vector, (Vector, Vector)) {
        (a * b, (a.clone(), b.clone()))
    }

    fn backward((a, b): (Vector, Vector), grad_output: Vector) -> (Vector, Vector) {
        (&grad_output * &b, grad_output * a)
    }
}

#[test]
fn row13_function_returns_one_gradient_per_input() {
    let input = (Tensor::from_array([1.0, 2.0, 3.0]), Tensor::from_array([4.0, 5.0, 6.0]));

    let result = autograd::gradcheck_function::<Product>(&input, autograd::GradcheckOptions::default());

    assert!(result.is_ok(), "{result:?}");
}

#[derive(Module)]
struct TwoLayer {
    l1: Linear<U4, U4, f64>,
    l2: Linear<U4, U2, f64>,
}

impl TwoLayer {
    #[differentiable]
    fn loss(&self, x: &Tensor<Rank2<U2, U4>, f64>) -> Tensor<Rank0, f64> {
        let h = self.l1.forward(x).tanh();
        self.l2.forward(&h).sum()
    }

    /// Pre-training of the first layer alone, on purpose.
    #[differentiable(partial)]
    fn first_layer_loss(&self, x: &Tensor<Rank2<U2, U4>, f64>) -> Tensor<Rank0, f64> {
        self.l1.forward(x).sum()
    }
}

fn two_layer() -> TwoLayer {
    let mut rng = autograd::Rng::seed_from_u64(14);
    TwoLayer { l1: Linear::new(&mut rng), l2: Linear::new(&mut rng) }
}

#[test]
fn row14_every_layer_gets_a_gradient() {
    let (_, (grads, _)) = two_layer().loss_grad(&Tensor::ones());

    // d sum(y) / d bias2 = the batch size, 2, for each output.
    assert_eq!(grads.l2.bias.as_slice(), [2.0, 2.0]);
    assert!(grads.l1.weight.as_slice().iter().any(|&g| g != 0.0));
}

#[test]
fn row14_partial_method_leaves_other_layer_zero() {
    let (_, (grads, _)) = two_layer().first_layer_loss_grad(&Tensor::ones());

    assert_eq!(grads.l2.bias.as_slice(), [0.0, 0.0]);
    assert_eq!(grads.l1.bias.as_slice(), [2.0; 4]);
}

#[test]
fn row15_optimizer_steps_with_its_model_gradients() {
    let mut model = two_layer();
    let before = model.l2.bias.as_slice().to_vec();
    let mut optimizer = Sgd::new(&model, SgdConfig { lr: 0.5, ..SgdConfig::default() });

    let (_, (grads, _)) = model.loss_grad(&Tensor::ones());
    optimizer.step(&mut model, grads);

    // bias2 - 0.5 * 2.
    let expected: Vec<f64> = before.iter().map(|b| b - 1.0).collect();
    assert_eq!(model.l2.bias.as_slice(), expected);
}

#[test]
fn row16_reshape_keeps_element_count() {
    let pairs: Tensor<Rank2<U3, U2>> = Tensor::from_array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]);

    let flat: Tensor<Rank1<U6>> = pairs.reshape();

    assert_eq!(flat.as_slice(), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
}

/// x / (1 + |x|), written with ops that have derivative rules, so
/// `#[differentiable]` generates its VJP form for the caller below.
#[differentiable]
fn soft_clip(x: &Tensor<Rank1<U3>, f64>) -> Tensor<Rank1<U3>, f64> {
    x / (x.abs() + 1.0)
}

#[differentiable]
fn clipped_loss(x: &Tensor<Rank1<U3>, f64>) -> Tensor<Rank0, f64> {
    soft_clip(x).sum()
}

#[test]
fn row17_helper_with_rule_is_differentiated() {
    let x = Tensor::from_array([-1.0, 0.0, 3.0]);

    let (_, (grad,)) = clipped_loss_grad(&x);

    // d/dx x / (1 + |x|) = 1 / (1 + |x|)^2.
    assert_eq!(grad.as_slice(), [0.25, 1.0, 0.0625]);
}

#[test]
fn row17_helper_gradient_passes_gradcheck() {
    let x = Tensor::from_array([-1.5, 0.25, 3.0]);

    let vjp = |x: &Tensor<Rank1<U3>, f64>| {
        let (loss, pullback) = clipped_loss_vjp(x);
        (loss, move |cotangent| pullback(cotangent).0)
    };
    let result = autograd::gradcheck(clipped_loss, vjp, &x, autograd::GradcheckOptions::default());

    assert!(result.is_ok(), "{result:?}");
}

#[test]
fn row18_kept_losses_hold_only_their_values() {
    let model = two_layer();
    let mut losses: Vec<Tensor<Rank0, f64>> = Vec::new();

    for _ in 0..1000 {
        let (loss, _grads) = model.loss_grad(&Tensor::ones());
        losses.push(loss);
    }

    // A loss is a plain scalar tensor: no pullback, no reference to the
    // model or the step that produced it, so the 1000 kept losses hold 1000
    // scalars. On the inline device a scalar tensor is exactly its element.
    assert!(losses.iter().all(|loss| loss.as_slice().len() == 1));
    assert_eq!(
        core::mem::size_of::<Tensor<Rank0, f64, Inline>>(),
        core::mem::size_of::<f64>()
    );
    assert_loss_is_plain_value::<Tensor<Rank0, f64>>();
}

/// Compiles only for a loss type that borrows nothing (`'static`) and whose
/// gradient is the same plain tensor type, so no graph can hide inside it.
fn assert_loss_is_plain_value<L: Differentiable<Grad = L> + 'static>() {}

/// A generic model: the row 14 check runs for each element type it is
/// compiled with.
#[derive(Module)]
struct Affine<E: autograd::Float> {
    weight: Param<Tensor<Rank1<U3>, E>>,
    bias: Param<Tensor<Rank0, E>>,
}

impl<E: autograd::Float> Affine<E> {
    #[differentiable]
    fn loss(&self, x: &Tensor<Rank1<U3>, E>) -> Tensor<Rank0, E> {
        (&*self.weight * x).sum() + &*self.bias
    }
}

#[test]
fn row14_generic_model_reads_every_field() {
    let model: Affine<f64> = Affine {
        weight: Param::new(Tensor::from_array([1.0, 2.0, 3.0])),
        bias: Param::new(Tensor::scalar(0.5)),
    };

    let (loss, (grads, _)) = model.loss_grad(&Tensor::from_array([1.0, 1.0, 2.0]));

    // 1 + 2 + 6 + 0.5, with d/dw = x and d/db = 1.
    assert_eq!(loss.item(), 9.5);
    assert_eq!(grads.weight.as_slice(), [1.0, 1.0, 2.0]);
    assert_eq!(grads.bias.item(), 1.0);
}
