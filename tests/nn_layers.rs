//! Layers: values derived by hand, gradients checked against finite
//! differences in f64, PyTorch reprs, and a training step on each device.

use autograd::typenum::{U1, U2, U3, U4, U5, U6, U8};
use autograd::{
    gradcheck, Cpu, Dyn, GradcheckOptions, Inline, Module, Rank1, Rank2, Rank3, Rank4, Rng,
    StaticModule, Tensor,
};
use nn::layers::*;
use nn::loss::{mse_loss, mse_loss_vjp};
use nn::optim::{Optimizer, Sgd, SgdConfig};

type Layer = Linear<U3, U2, f64>;

fn options() -> GradcheckOptions {
    GradcheckOptions::default()
}

fn fixed_linear() -> Layer {
    Linear::from_tensors(
        Tensor::from_array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]),
        Tensor::from_array([0.5, -1.0]),
    )
}

/// Gradchecks a layer's parameter pullback (slot 0) and input pullback
/// (slot 1) at input `x`.
fn gradcheck_layer<L, X>(layer: &L, x: &X)
where
    L: Forward<X> + Clone + autograd::Leaves<f64> + Module<Elem = f64>,
    L::Grads: autograd::Leaves<f64>,
    L::Output: autograd::Leaves<f64>,
    X: autograd::Differentiable + autograd::Leaves<f64> + Clone,
    X::Grad: autograd::Leaves<f64>,
{
    gradcheck(
        |l: &L| l.forward(x),
        |l: &L| {
            let (y, (pullback_params, _)) = l.forward_vjp(x);
            (y, pullback_params)
        },
        layer,
        options(),
    )
    .unwrap();
    gradcheck(
        |x: &X| layer.forward(x),
        |x: &X| {
            let (y, (_, pullback_input)) = layer.forward_vjp(x);
            (y, pullback_input)
        },
        x,
        options(),
    )
    .unwrap();
}

#[test]
fn linear_forward_single_sample() {
    // W x = [1 - 3, 4 - 6] = [-2, -2], plus b = [0.5, -1].
    let x: Tensor<Rank1<U3>, f64> = Tensor::from_array([1.0, 0.0, -1.0]);
    assert_eq!(fixed_linear().forward(&x).as_slice(), &[-1.5, -3.0]);
}

#[test]
fn linear_forward_batch_matches_rows() {
    let layer = fixed_linear();
    let mut rng = Rng::seed_from_u64(1);
    let batch: Tensor<Rank2<U4, U3>, f64> = Tensor::randn(&mut rng);
    let y = layer.forward(&batch);
    for row in 0..4 {
        let x: Tensor<Rank1<U3>, f64> = Tensor::from_fn(|i| batch.get([row, i]));
        let expected = layer.forward(&x);
        for o in 0..2 {
            assert!((y.get([row, o]) - expected.get([o])).abs() < 1e-12, "row {row}, output {o}");
        }
    }
}

#[test]
fn linear_forward_dyn_batch() {
    let layer = fixed_linear();
    let x: Tensor<Rank2<Dyn, U3>, f64> = Tensor::ones_like_rows(5);
    let y = layer.forward(&x);
    assert_eq!(y.dims(), [5, 2]);
    // Each row is W · 1 + b = [6.5, 14].
    assert!(y.as_slice().chunks(2).all(|row| row == [6.5, 14.0]));

    let empty: Tensor<Rank2<Dyn, U3>, f64> = Tensor::zeros_with_shape(Rank2(Dyn(0), U3::new()));
    let (y, (pullback_params, _)) = layer.forward_vjp(&empty);
    assert_eq!(y.dims(), [0, 2]);
    let grads = pullback_params(y);
    assert_eq!(grads.weight.as_slice(), &[0.0; 6]);
    assert_eq!(grads.bias.as_slice(), &[0.0; 2]);
}

/// `Tensor::ones` for a `Dyn` number of rows.
trait OnesLikeRows {
    fn ones_like_rows(rows: usize) -> Self;
}

impl OnesLikeRows for Tensor<Rank2<Dyn, U3>, f64> {
    fn ones_like_rows(rows: usize) -> Self {
        Tensor::full_with_shape(Rank2(Dyn(rows), U3::new()), 1.0)
    }
}

#[test]
fn linear_gradcheck_single_and_batch() {
    let mut rng = Rng::seed_from_u64(2);
    let layer: Layer = Linear::new(&mut rng);
    let x: Tensor<Rank1<U3>, f64> = Tensor::randn(&mut rng);
    gradcheck_layer(&layer, &x);
    let batch: Tensor<Rank2<U4, U3>, f64> = Tensor::randn(&mut rng);
    gradcheck_layer(&layer, &batch);
    let dyn_batch: Tensor<Rank2<Dyn, U3>, f64> =
        Tensor::randn_with_shape(Rank2(Dyn(3), U3::new()), &mut rng);
    gradcheck_layer(&layer, &dyn_batch);
}

#[test]
fn linear_no_bias_gradcheck_and_value() {
    let mut rng = Rng::seed_from_u64(3);
    let layer: LinearNoBias<U3, U2, f64> = LinearNoBias::new(&mut rng);
    let x: Tensor<Rank2<U4, U3>, f64> = Tensor::randn(&mut rng);
    gradcheck_layer(&layer, &x);

    let fixed = LinearNoBias::from_tensor(fixed_linear().weight.value().clone());
    let x: Tensor<Rank1<U3>, f64> = Tensor::from_array([1.0, 0.0, -1.0]);
    assert_eq!(fixed.forward(&x).as_slice(), &[-2.0, -2.0]);
    assert_eq!(fixed.num_params(), 6);
}

#[test]
fn linear_init_is_uniform_within_pytorch_bound() {
    let layer: Linear<U5, U8, f64> = Linear::new(&mut Rng::seed_from_u64(4));
    let bound = 1.0 / 5f64.sqrt();
    assert!(layer.weight.as_slice().iter().all(|w| w.abs() <= bound));
    assert!(layer.bias.as_slice().iter().all(|b| b.abs() <= bound));
    // 40 weights spread over the interval, not collapsed to one point.
    let max = layer.weight.as_slice().iter().fold(f64::MIN, |m, &w| m.max(w));
    let min = layer.weight.as_slice().iter().fold(f64::MAX, |m, &w| m.min(w));
    assert!(max - min > bound);
}

#[test]
fn linear_init_is_reproducible_from_seed() {
    let a: Linear<U5, U8, f64> = Linear::new(&mut Rng::seed_from_u64(5));
    let b: Linear<U5, U8, f64> = Linear::new(&mut Rng::seed_from_u64(5));
    assert_eq!(a.weight.as_slice(), b.weight.as_slice());
    assert_eq!(a.bias.as_slice(), b.bias.as_slice());
}

#[test]
fn linear_module_names_and_counts() {
    let layer = fixed_linear();
    let mut names = Vec::new();
    layer.visit_params(None, &mut |name, dims, _| names.push(format!("{name} {dims:?}")));
    assert_eq!(names, ["weight [2, 3]", "bias [2]"]);
    assert_eq!(layer.num_params(), 8);
    assert_eq!(<Layer as StaticModule>::NUM_PARAMS, 8);
    assert_eq!(<Layer as StaticModule>::NUM_TENSORS, 2);
}

#[test]
fn layer_reprs_match_pytorch() {
    assert_eq!(fixed_linear().to_string(), "Linear(in_features=3, out_features=2, bias=True)");
    let no_bias: LinearNoBias<U5, U1> = LinearNoBias::new(&mut Rng::seed_from_u64(0));
    assert_eq!(no_bias.to_string(), "Linear(in_features=5, out_features=1, bias=False)");
    assert_eq!(Relu::<f32>::new().to_string(), "ReLU()");
    assert_eq!(LeakyRelu::<f32>::default().to_string(), "LeakyReLU(negative_slope=0.01)");
    assert_eq!(Sigmoid::<f32>::new().to_string(), "Sigmoid()");
    assert_eq!(Tanh::<f32>::new().to_string(), "Tanh()");
    assert_eq!(Gelu::<f32>::new().to_string(), "GELU(approximate='none')");
    assert_eq!(Gelu::<f32>::tanh().to_string(), "GELU(approximate='tanh')");
    assert_eq!(Silu::<f32>::new().to_string(), "SiLU()");
    assert_eq!(Softmax::<f32>::new().to_string(), "Softmax(dim=-1)");
    assert_eq!(LogSoftmax::<f32>::new().to_string(), "LogSoftmax(dim=-1)");
    assert_eq!(Flatten::<f32>::new().to_string(), "Flatten(start_dim=1, end_dim=-1)");
    assert_eq!(Dropout::<f32>::default().to_string(), "Dropout(p=0.5, inplace=False)");
    assert_eq!(Dropout::<f32>::new(1.0).to_string(), "Dropout(p=1.0, inplace=False)");
}

#[test]
fn sequential_repr_lists_children() {
    let mut rng = Rng::seed_from_u64(0);
    let model: (Linear<U4, U3>, Relu, Linear<U3, U1>) = (Linear::new(&mut rng), Relu::new(), Linear::new(&mut rng));
    let expected = "Sequential(\n  (0): Linear(in_features=4, out_features=3, bias=True)\n  (1): ReLU()\n  \
                    (2): Linear(in_features=3, out_features=1, bias=True)\n)";
    assert_eq!(model.to_string_repr(), expected);
}

/// The repr of a tuple, through `Module::fmt_repr`.
trait ReprString {
    fn to_string_repr(&self) -> String;
}

impl<M: Module> ReprString for M {
    fn to_string_repr(&self) -> String {
        struct Repr<'a, M>(&'a M);
        impl<M: Module> std::fmt::Display for Repr<'_, M> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt_repr(f)
            }
        }
        Repr(self).to_string()
    }
}

fn activation_input() -> Tensor<Rank2<U2, U4>, f64> {
    Tensor::from_array([[-2.5, -0.3, 0.7, 1.9], [-30.0, -1e-3, 2e-3, 30.0]])
}

#[test]
fn activations_gradcheck() {
    let x = activation_input();
    gradcheck_layer(&Relu::<f64>::new(), &x);
    gradcheck_layer(&LeakyRelu::<f64>::new(0.2), &x);
    gradcheck_layer(&Sigmoid::<f64>::new(), &x);
    gradcheck_layer(&Tanh::<f64>::new(), &x);
    gradcheck_layer(&Gelu::<f64>::new(), &x);
    gradcheck_layer(&Gelu::<f64>::tanh(), &x);
    gradcheck_layer(&Silu::<f64>::new(), &x);
    let logits: Tensor<Rank2<U2, U4>, f64> = Tensor::randn(&mut Rng::seed_from_u64(6));
    gradcheck_layer(&Softmax::<f64>::new(), &logits);
    gradcheck_layer(&LogSoftmax::<f64>::new(), &logits);
    let vector: Tensor<Rank1<U4>, f64> = Tensor::from_array([0.1, -2.0, 3.0, 0.0]);
    gradcheck_layer(&Softmax::<f64>::new(), &vector);
}

#[test]
fn relu_and_leaky_relu_gradient_at_zero() {
    let x: Tensor<Rank1<U2>, f64> = Tensor::from_array([0.0, -1.0]);
    let (_, (_, pullback)) = Relu::<f64>::new().forward_vjp(&x);
    assert_eq!(pullback(Tensor::ones()).as_slice(), &[0.0, 0.0]);
    let (y, (_, pullback)) = LeakyRelu::<f64>::new(0.1).forward_vjp(&x);
    assert_eq!(y.as_slice(), &[0.0, -0.1]);
    assert_eq!(pullback(Tensor::ones()).as_slice(), &[0.1, 0.1]);
}

#[test]
fn activation_values_at_known_points() {
    let x: Tensor<Rank1<U3>, f64> = Tensor::from_array([0.0, 1.0, -1.0]);
    let close = |a: f64, b: f64| (a - b).abs() < 1e-15;
    let sigmoid = Sigmoid::<f64>::new().forward(&x);
    assert!(close(sigmoid.get([0]), 0.5));
    assert!(close(sigmoid.get([1]) + sigmoid.get([2]), 1.0));
    // GELU(1) = Φ(1) = (1 + erf(1/√2)) / 2 = 0.8413447460685429.
    let gelu = Gelu::<f64>::new().forward(&x);
    assert!(close(gelu.get([0]), 0.0));
    assert!(close(gelu.get([1]), 0.8413447460685429));
    // The tanh form at 1: 0.5 (1 + tanh(sqrt(2/π) · 1.044715)) = 0.8411919906082768.
    assert!(close(Gelu::<f64>::tanh().forward(&x).get([1]), 0.8411919906082768));
    // SiLU(1) = σ(1) = 0.7310585786300049.
    assert!(close(Silu::<f64>::new().forward(&x).get([1]), 0.7310585786300049));
}

#[test]
fn saturated_activations_have_finite_gradients() {
    let x: Tensor<Rank1<U4>, f64> = Tensor::from_array([-800.0, 800.0, -40.0, 40.0]);
    for (name, grad) in [
        ("sigmoid", Sigmoid::<f64>::new().forward_vjp(&x).1 .1(Tensor::ones())),
        ("tanh", Tanh::<f64>::new().forward_vjp(&x).1 .1(Tensor::ones())),
        ("gelu", Gelu::<f64>::new().forward_vjp(&x).1 .1(Tensor::ones())),
        ("gelu tanh", Gelu::<f64>::tanh().forward_vjp(&x).1 .1(Tensor::ones())),
        ("silu", Silu::<f64>::new().forward_vjp(&x).1 .1(Tensor::ones())),
    ] {
        assert!(grad.all_finite(), "{name}: {grad}");
    }
}

#[test]
fn softmax_rows_sum_to_one_for_large_logits() {
    let x: Tensor<Rank2<U2, U3>, f64> = Tensor::from_array([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]]);
    let y = Softmax::<f64>::new().forward(&x);
    for row in y.as_slice().chunks(3) {
        assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-15);
    }
    let log = LogSoftmax::<f64>::new().forward(&x);
    assert_eq!(log.get([0, 0]), 0.0);
    assert_eq!(log.get([0, 1]), -1000.0);
}

#[test]
fn flatten_shapes_and_gradcheck() {
    let mut rng = Rng::seed_from_u64(7);
    let images: Tensor<Rank4<U2, U2, U3, U2>, f64> = Tensor::randn(&mut rng);
    let flat: Tensor<Rank2<U2, autograd::typenum::U12>, f64> = Flatten::new().forward(&images);
    assert_eq!(flat.as_slice(), images.as_slice());
    gradcheck_layer(&Flatten::<f64>::new(), &images);

    let maps: Tensor<Rank3<Dyn, U2, U3>, f64> = Tensor::randn_with_shape(Rank3(Dyn(2), U2::new(), U3::new()), &mut rng);
    let flat: Tensor<Rank2<Dyn, U6>, f64> = Flatten::new().forward(&maps);
    assert_eq!(flat.dims(), [2, 6]);
    gradcheck_layer(&Flatten::<f64>::new(), &maps);
}

#[test]
fn dropout_inference_is_identity() {
    let x: Tensor<Rank1<U4>, f64> = Tensor::from_array([1.0, 2.0, 3.0, 4.0]);
    let dropout = Dropout::<f64>::new(0.5);
    assert_eq!(dropout.forward(&x), x);
}

#[test]
fn dropout_training_zeroes_and_rescales() {
    let x: Tensor<Rank1<U8>, f64> = Tensor::ones();
    let dropout = Dropout::<f64>::new(0.5);
    let (y, (_, pullback, _)) = dropout.forward_train_vjp(&x, &mut Rng::seed_from_u64(8));
    assert!(y.as_slice().iter().all(|&v| v == 0.0 || v == 2.0));
    assert!(y.as_slice().contains(&0.0));
    assert!(y.as_slice().contains(&2.0));
    // y = x ⊙ mask with x = 1, so the pullback of ones is the mask itself.
    assert_eq!(pullback(Tensor::ones()), y);
    // The same seed draws the same mask.
    assert_eq!(dropout.forward_train(&x, &mut Rng::seed_from_u64(8)), y);
}

#[test]
fn dropout_extreme_probabilities() {
    let x: Tensor<Rank1<U4>, f64> = Tensor::from_array([1.0, 2.0, 3.0, 4.0]);
    let mut rng = Rng::seed_from_u64(9);
    assert_eq!(Dropout::<f64>::new(0.0).forward_train(&x, &mut rng), x);
    assert_eq!(Dropout::<f64>::new(1.0).forward_train(&x, &mut rng), Tensor::zeros());
}

#[test]
#[should_panic(expected = "the probability p must lie in [0, 1], found 1.5")]
fn dropout_rejects_probability_above_one() {
    let _ = Dropout::<f32>::new(1.5);
}

type Mlp = (Linear<U4, U3, f64>, Tanh<f64>, Linear<U3, U2, f64>, Relu<f64>, Linear<U2, U1, f64>);

fn mlp(seed: u64) -> Mlp {
    let mut rng = Rng::seed_from_u64(seed);
    (Linear::new(&mut rng), Tanh::new(), Linear::new(&mut rng), Relu::new(), Linear::new(&mut rng))
}

#[test]
fn sequential_forward_chains_layers() {
    let model = mlp(10);
    let x: Tensor<Rank2<U2, U4>, f64> = Tensor::randn(&mut Rng::seed_from_u64(11));
    let manual = model.4.forward(&model.3.forward(&model.2.forward(&model.1.forward(&model.0.forward(&x)))));
    assert_eq!(model.forward(&x), manual);
    let (y, _) = model.forward_vjp(&x);
    assert_eq!(y, manual);
}

#[test]
fn sequential_gradcheck_params_and_input() {
    let x: Tensor<Rank2<U2, U4>, f64> = Tensor::randn(&mut Rng::seed_from_u64(12));
    gradcheck(
        |m: &Mlp| m.forward(&x),
        |m: &Mlp| {
            let (y, (pullback_params, _)) = m.forward_vjp(&x);
            (y, pullback_params)
        },
        &mlp(13),
        options(),
    )
    .unwrap();
    let model = mlp(13);
    gradcheck(
        |x: &Tensor<Rank2<U2, U4>, f64>| model.forward(x),
        |x: &Tensor<Rank2<U2, U4>, f64>| {
            let (y, (_, pullback_input)) = model.forward_vjp(x);
            (y, pullback_input)
        },
        &x,
        options(),
    )
    .unwrap();
}

#[test]
fn sequential_state_dict_names() {
    let model = mlp(0);
    let mut names = Vec::new();
    model.visit_params(None, &mut |name, _, _| names.push(name.to_string()));
    assert_eq!(names, ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]);
    assert_eq!(<Mlp as StaticModule>::NUM_PARAMS, 4 * 3 + 3 + 3 * 2 + 2 + 2 + 1);
}

#[test]
fn sgd_steps_reduce_loss_on_cpu() {
    let mut model = mlp(14);
    let mut sgd = Sgd::new(&model, SgdConfig { lr: 0.05, momentum: 0.9, ..SgdConfig::default() });
    let mut rng = Rng::seed_from_u64(15);
    let x: Tensor<Rank2<U8, U4>, f64> = Tensor::randn(&mut rng);
    let target: Tensor<Rank2<U8, U1>, f64> = Tensor::from_fn(|i| x.get([i, 0]) - 0.5 * x.get([i, 1]));

    let first = mse_loss(&model.forward(&x), &target).item();
    for _ in 0..50 {
        let (y, (pullback_params, _)) = model.forward_vjp(&x);
        let (_, (pullback_y, _)) = mse_loss_vjp(&y, &target);
        let grads = pullback_params(pullback_y(Tensor::scalar(1.0)));
        sgd.step(&mut model, grads);
    }
    let last = mse_loss(&model.forward(&x), &target).item();
    assert!(last < 0.5 * first, "loss went from {first} to {last}");
}

#[test]
fn sgd_step_on_inline_device_matches_cpu() {
    let cpu: Linear<U3, U2, f64, Cpu> = Linear::new(&mut Rng::seed_from_u64(16));
    let mut inline: Linear<U3, U2, f64, Inline> =
        Linear::from_tensors(cpu.weight.to_device(), cpu.bias.to_device());
    let mut cpu = cpu;
    let x_cpu: Tensor<Rank2<U4, U3>, f64> = Tensor::randn(&mut Rng::seed_from_u64(17));
    let t_cpu: Tensor<Rank2<U4, U2>, f64> = Tensor::randn(&mut Rng::seed_from_u64(18));
    let (x_inline, t_inline) = (x_cpu.to_device::<Inline>(), t_cpu.to_device::<Inline>());

    let config = SgdConfig { lr: 0.1, ..SgdConfig::default() };
    let mut sgd_cpu = Sgd::new(&cpu, config);
    let mut sgd_inline = Sgd::new(&inline, config);

    let (y, (pullback, _)) = cpu.forward_vjp(&x_cpu);
    let grads = pullback(mse_loss_vjp(&y, &t_cpu).1 .0(Tensor::scalar(1.0)));
    sgd_cpu.step(&mut cpu, grads);
    let (y, (pullback, _)) = inline.forward_vjp(&x_inline);
    let grads = pullback(mse_loss_vjp(&y, &t_inline).1 .0(Tensor::scalar(1.0)));
    sgd_inline.step(&mut inline, grads);

    assert_eq!(cpu.weight.as_slice(), inline.weight.as_slice());
    assert_eq!(cpu.bias.as_slice(), inline.bias.as_slice());
}

#[derive(autograd::Module)]
struct Net {
    l1: Linear<U4, U3>,
    act: Relu,
    l2: Linear<U3, U1>,
}

#[test]
fn derived_model_of_layers_names_and_repr() {
    let mut rng = Rng::seed_from_u64(19);
    let net = Net { l1: Linear::new(&mut rng), act: Relu::new(), l2: Linear::new(&mut rng) };
    let mut names = Vec::new();
    net.visit_params(None, &mut |name, _, _| names.push(name.to_string()));
    assert_eq!(names, ["l1.weight", "l1.bias", "l2.weight", "l2.bias"]);
    assert_eq!(net.num_params(), 4 * 3 + 3 + 3 + 1);
    let expected = "Net(\n  (l1): Linear(in_features=4, out_features=3, bias=True)\n  (act): ReLU()\n  \
                    (l2): Linear(in_features=3, out_features=1, bias=True)\n)";
    assert_eq!(net.to_string(), expected);
}

#[test]
fn derived_model_trains_with_sgd() {
    let mut rng = Rng::seed_from_u64(20);
    let mut net = Net { l1: Linear::new(&mut rng), act: Relu::new(), l2: Linear::new(&mut rng) };
    let mut sgd = Sgd::new(&net, SgdConfig { lr: 0.05, ..SgdConfig::default() });
    let x: Tensor<Rank2<U8, U4>> = Tensor::randn(&mut rng);
    let target: Tensor<Rank2<U8, U1>> = Tensor::from_fn(|i| x.get([i, 0]).abs());

    let loss_of = |net: &Net| mse_loss(&net.l2.forward(&net.act.forward(&net.l1.forward(&x))), &target).item();
    let first = loss_of(&net);
    for _ in 0..100 {
        // The model's forward written out by hand, as #[differentiable] would generate it.
        let (h, (pullback_l1, _)) = net.l1.forward_vjp(&x);
        let (a, (_, pullback_act)) = net.act.forward_vjp(&h);
        let (y, (pullback_l2, pullback_a)) = net.l2.forward_vjp(&a);
        let (_, (pullback_y, _)) = mse_loss_vjp(&y, &target);
        let dy = pullback_y(Tensor::scalar(1.0));
        let l2 = pullback_l2(dy.clone());
        let l1 = pullback_l1(pullback_act(pullback_a(dy)));
        sgd.step(&mut net, NetGrads { l1, act: (), l2 });
    }
    let last = loss_of(&net);
    assert!(last < 0.5 * first, "loss went from {first} to {last}");
}

type DropoutMlp = (Linear<U4, U3, f64>, Relu<f64>, Dropout<f64>, Linear<U3, U2, f64>);

fn dropout_mlp(p: f64) -> DropoutMlp {
    let mut rng = Rng::seed_from_u64(21);
    (Linear::new(&mut rng), Relu::new(), Dropout::new(p), Linear::new(&mut rng))
}

#[test]
fn tuple_forward_train_applies_dropout_only_in_training() {
    let x: Tensor<Rank2<U2, U4>, f64> = Tensor::randn(&mut Rng::seed_from_u64(22));
    let model = dropout_mlp(0.5);
    let eval = model.forward(&x);
    let without_dropout = model.3.forward(&model.1.forward(&model.0.forward(&x)));
    assert_eq!(eval, without_dropout);

    let train = model.forward_train(&x, &mut Rng::seed_from_u64(23));
    let mut rng = Rng::seed_from_u64(23);
    let hidden = model.1.forward(&model.0.forward(&x));
    let manual = model.3.forward(&model.2.forward_train(&hidden, &mut rng));
    assert_eq!(train, manual);
    assert_ne!(train, eval);

    let (y, _) = model.forward_train_vjp(&x, &mut Rng::seed_from_u64(23));
    assert_eq!(y, manual);
}

#[test]
fn tuple_forward_train_gradcheck() {
    let x: Tensor<Rank2<U2, U4>, f64> = Tensor::randn(&mut Rng::seed_from_u64(24));
    // Each call draws the same mask from a fresh generator with the same seed.
    gradcheck(
        |m: &DropoutMlp| m.forward_train(&x, &mut Rng::seed_from_u64(25)),
        |m: &DropoutMlp| {
            let (y, (pullback_params, ..)) = m.forward_train_vjp(&x, &mut Rng::seed_from_u64(25));
            (y, pullback_params)
        },
        &dropout_mlp(0.3),
        options(),
    )
    .unwrap();
    let model = dropout_mlp(0.3);
    gradcheck(
        |x: &Tensor<Rank2<U2, U4>, f64>| model.forward_train(x, &mut Rng::seed_from_u64(25)),
        |x: &Tensor<Rank2<U2, U4>, f64>| {
            let (y, (_, pullback_input, _)) = model.forward_train_vjp(x, &mut Rng::seed_from_u64(25));
            (y, pullback_input)
        },
        &x,
        options(),
    )
    .unwrap();
}
