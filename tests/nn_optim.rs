//! Optimizer updates and learning-rate schedules against values derived by
//! hand from PyTorch's documented formulas.

use autograd::typenum::U2;
use autograd::{Param, Rank1, Tensor};
use nn::optim::*;

type Model = Param<Tensor<Rank1<U2>, f64>>;

fn model() -> Model {
    Param::new(Tensor::from_array([1.0, -2.0]))
}

fn grad() -> Tensor<Rank1<U2>, f64> {
    Tensor::from_array([0.5, 1.0])
}

fn assert_params(model: &Model, expected: [f64; 2]) {
    for (i, (&found, &expected)) in model.as_slice().iter().zip(&expected).enumerate() {
        assert!(
            (found - expected).abs() <= 1e-12 * expected.abs().max(1.0),
            "parameter {i}: found {found}, expected {expected}"
        );
    }
}

/// Runs `steps` steps with the same gradient every time.
fn run<O: Optimizer<Model = Model>>(optimizer: &mut O, model: &mut Model, steps: usize) {
    for _ in 0..steps {
        optimizer.step(model, grad());
    }
}

#[test]
fn sgd_plain_step() {
    let mut m = model();
    let mut sgd = Sgd::new(&m, SgdConfig { lr: 0.1, ..SgdConfig::default() });
    run(&mut sgd, &mut m, 2);
    assert_params(&m, [0.9, -2.2]);
}

#[test]
fn sgd_momentum_with_weight_decay() {
    // g' = g + 0.1 p; step 1: b = g' = [0.6, 0.8], p = [0.94, -2.08].
    // step 2: g' = [0.594, 0.792], b = 0.9 b + g' = [1.134, 1.512], p = [0.8266, -2.2312].
    let mut m = model();
    let config = SgdConfig { lr: 0.1, momentum: 0.9, weight_decay: 0.1, ..SgdConfig::default() };
    let mut sgd = Sgd::new(&m, config);
    run(&mut sgd, &mut m, 1);
    assert_params(&m, [0.94, -2.08]);
    run(&mut sgd, &mut m, 1);
    assert_params(&m, [0.8266, -2.2312]);
}

#[test]
fn sgd_first_step_ignores_dampening() {
    // step 1: b = g, p = [0.95, -2.1]; step 2: b = 0.9 g + 0.5 g = [0.7, 1.4], p = [0.88, -2.24].
    let mut m = model();
    let config = SgdConfig { lr: 0.1, momentum: 0.9, dampening: 0.5, ..SgdConfig::default() };
    let mut sgd = Sgd::new(&m, config);
    run(&mut sgd, &mut m, 1);
    assert_params(&m, [0.95, -2.1]);
    run(&mut sgd, &mut m, 1);
    assert_params(&m, [0.88, -2.24]);
}

#[test]
fn sgd_nesterov_looks_ahead() {
    // step 1: g' = [0.6, 0.8], b = g', direction = g' + 0.9 b = [1.14, 1.52].
    let mut m = model();
    let config = SgdConfig { lr: 0.1, momentum: 0.9, nesterov: true, weight_decay: 0.1, ..SgdConfig::default() };
    let mut sgd = Sgd::new(&m, config);
    run(&mut sgd, &mut m, 1);
    assert_params(&m, [0.886, -2.152]);
}

#[test]
#[should_panic(expected = "Nesterov momentum needs momentum > 0 and dampening = 0")]
fn sgd_rejects_nesterov_without_momentum() {
    let _ = Sgd::new(&model(), SgdConfig { nesterov: true, ..SgdConfig::default() });
}

/// With a constant gradient, Adam's bias-corrected moments are exactly `g`
/// and `g²` at every step, so each step moves `p` by `lr · g / (|g| + eps)`.
fn adam_constant_gradient_expectation(steps: f64) -> [f64; 2] {
    let g = [0.5, 1.0];
    let p = [1.0, -2.0];
    let moved = |i: usize| p[i] - steps * 0.1 * g[i] / (g[i] + 1e-8);
    [moved(0), moved(1)]
}

#[test]
fn adam_constant_gradient_steps() {
    for amsgrad in [false, true] {
        let mut m = model();
        let mut adam = Adam::new(&m, AdamConfig { lr: 0.1, amsgrad, ..AdamConfig::default() });
        run(&mut adam, &mut m, 3);
        // The bias corrections are rounded, so the moments match `g` to a few ulps.
        for (i, &expected) in adam_constant_gradient_expectation(3.0).iter().enumerate() {
            assert!((m.get([i]) - expected).abs() < 1e-13, "amsgrad {amsgrad}, parameter {i}");
        }
    }
}

#[test]
fn adam_weight_decay_is_added_to_gradient() {
    // step 1 with g' = g + 0.1 p = [0.6, 0.8]: p -= 0.1 · g' / (|g'| + eps).
    let mut m = model();
    let mut adam = Adam::new(&m, AdamConfig { lr: 0.1, weight_decay: 0.1, ..AdamConfig::default() });
    run(&mut adam, &mut m, 1);
    assert_params(&m, [1.0 - 0.1 * 0.6 / (0.6 + 1e-8), -2.0 - 0.1 * 0.8 / (0.8 + 1e-8)]);
}

#[test]
fn adam_amsgrad_keeps_max_second_moment() {
    // Gradients 1 then 0.1: v1 = 0.001 and v2 = 0.999 · 0.001 + 0.001 · 0.01 < v1,
    // so step 2 with amsgrad divides by sqrt(v1) where plain Adam uses sqrt(v2).
    let v1: f64 = 0.001;
    let v2 = 0.999 * v1 + 0.001 * 0.01;
    let m2 = 0.9 * 0.1 + 0.1 * 0.1;
    let bc1 = 1.0 - 0.9f64 * 0.9;
    let bc2 = 1.0 - 0.999f64 * 0.999;
    for (amsgrad, v) in [(false, v2), (true, v1.max(v2))] {
        let mut m = model();
        let mut adam = Adam::new(&m, AdamConfig { lr: 0.1, amsgrad, ..AdamConfig::default() });
        adam.step(&mut m, Tensor::from_array([1.0, 1.0]));
        let after_first = m.get([0]);
        adam.step(&mut m, Tensor::from_array([0.1, 0.1]));
        let expected = after_first - 0.1 / bc1 * m2 / (v.sqrt() / bc2.sqrt() + 1e-8);
        assert!((m.get([0]) - expected).abs() < 1e-12, "amsgrad {amsgrad}: {} vs {expected}", m.get([0]));
    }
}

#[test]
fn adamw_decays_weights_before_the_adam_step() {
    // p · (1 - 0.1 · 0.1) = [0.99, -1.98], then the Adam step of lr · g / (|g| + eps).
    let mut m = model();
    let mut adamw = AdamW::new(&m, AdamWConfig { lr: 0.1, weight_decay: 0.1, ..AdamWConfig::default() });
    run(&mut adamw, &mut m, 1);
    assert_params(&m, [0.99 - 0.1 * 0.5 / (0.5 + 1e-8), -1.98 - 0.1 * 1.0 / (1.0 + 1e-8)]);
}

#[test]
fn adamw_default_weight_decay_is_pytorch_default() {
    assert_eq!(AdamWConfig::default().weight_decay, 1e-2);
    assert_eq!(AdamConfig::default().weight_decay, 0.0);
}

#[test]
fn rmsprop_plain_two_steps() {
    // v1 = 0.01 g², v2 = 0.0199 g²; each step p -= 0.01 · g / (sqrt(v) + eps).
    let mut m = model();
    let mut rmsprop = RmsProp::new(&m, RmsPropConfig::default());
    run(&mut rmsprop, &mut m, 2);
    let step = |g: f64, v: f64| 0.01 * g / (v.sqrt() + 1e-8);
    let expected = |i: usize, g: f64| [1.0, -2.0][i] - step(g, 0.01 * g * g) - step(g, 0.0199 * g * g);
    assert_params(&m, [expected(0, 0.5), expected(1, 1.0)]);
}

#[test]
fn rmsprop_centered_with_momentum() {
    // step 1: v = 0.01 g², ḡ = 0.01 g, v' = v - ḡ² = 0.0099 g², b = g / (sqrt(v') + eps).
    // step 2: v = 0.0199 g², ḡ = 0.0199 g, v' = 0.0199 g² - 0.0199² g², b = 0.9 b + g / (sqrt(v') + eps).
    let mut m = model();
    let config = RmsPropConfig { momentum: 0.9, centered: true, ..RmsPropConfig::default() };
    let mut rmsprop = RmsProp::new(&m, config);
    run(&mut rmsprop, &mut m, 2);
    let expected = |i: usize, g: f64| {
        let b1 = g / ((0.0099 * g * g).sqrt() + 1e-8);
        let b2 = 0.9 * b1 + g / ((0.0199 * g * g - 0.0199 * 0.0199 * g * g).sqrt() + 1e-8);
        [1.0, -2.0][i] - 0.01 * b1 - 0.01 * b2
    };
    assert_params(&m, [expected(0, 0.5), expected(1, 1.0)]);
}

#[test]
fn adagrad_lr_decay_and_initial_accumulator() {
    // s1 = 0.1 + g², s2 = 0.1 + 2 g²; step 2 uses lr / (1 + 0.5).
    let mut m = model();
    let config = AdagradConfig { lr: 0.1, lr_decay: 0.5, initial_accumulator_value: 0.1, ..AdagradConfig::default() };
    let mut adagrad = Adagrad::new(&m, config);
    run(&mut adagrad, &mut m, 2);
    let expected = |i: usize, g: f64| {
        let first = 0.1 * g / ((0.1 + g * g).sqrt() + 1e-10);
        let second = 0.1 / 1.5 * g / ((0.1 + 2.0 * g * g).sqrt() + 1e-10);
        [1.0, -2.0][i] - first - second
    };
    assert_params(&m, [expected(0, 0.5), expected(1, 1.0)]);
}

#[test]
fn adagrad_weight_decay_is_added_to_gradient() {
    let mut m = model();
    let config = AdagradConfig { lr: 0.1, weight_decay: 0.1, ..AdagradConfig::default() };
    let mut adagrad = Adagrad::new(&m, config);
    run(&mut adagrad, &mut m, 1);
    // g' = [0.6, 0.8], s = g'², so each parameter moves by lr · g' / (|g'| + eps).
    assert_params(&m, [1.0 - 0.1 * 0.6 / (0.6 + 1e-10), -2.0 - 0.1 * 0.8 / (0.8 + 1e-10)]);
}

fn sgd_with_lr(lr: f64) -> (Model, Sgd<Model>) {
    let m = model();
    let sgd = Sgd::new(&m, SgdConfig { lr, ..SgdConfig::default() });
    (m, sgd)
}

#[test]
fn step_lr_halves_every_two_epochs() {
    let (_, mut sgd) = sgd_with_lr(0.1);
    let mut scheduler = StepLr::new(&sgd, 2, 0.5);
    let mut lrs = vec![sgd.lr()];
    for _ in 0..5 {
        scheduler.step(&mut sgd);
        lrs.push(sgd.lr());
    }
    assert_eq!(lrs, [0.1, 0.1, 0.05, 0.05, 0.025, 0.025]);
}

#[test]
fn exponential_lr_matches_repeated_multiplication() {
    let (_, mut sgd) = sgd_with_lr(0.1);
    let mut scheduler = ExponentialLr::new(&sgd, 0.9);
    // PyTorch's recursive form multiplies the previous rate by gamma.
    let mut recursive = 0.1;
    for epoch in 1..=10 {
        scheduler.step(&mut sgd);
        recursive *= 0.9;
        assert!((sgd.lr() - recursive).abs() < 1e-15, "epoch {epoch}");
    }
}

#[test]
fn cosine_annealing_matches_pytorch_recursion() {
    let (base, eta_min, t_max) = (0.1, 0.01, 4u64);
    let (_, mut sgd) = sgd_with_lr(base);
    let mut scheduler = CosineAnnealingLr::new(&sgd, t_max, eta_min);
    // PyTorch's `CosineAnnealingLR.get_lr`, the recursive form.
    let pi = std::f64::consts::PI;
    let t = t_max as f64;
    let mut recursive = base;
    for epoch in 1..=12u64 {
        let e = epoch as f64;
        recursive = if (epoch as i64 - 1 - t_max as i64).rem_euclid(2 * t_max as i64) == 0 {
            recursive + (base - eta_min) * (1.0 - (pi / t).cos()) / 2.0
        } else {
            (1.0 + (pi * e / t).cos()) / (1.0 + (pi * (e - 1.0) / t).cos()) * (recursive - eta_min) + eta_min
        };
        scheduler.step(&mut sgd);
        assert!((sgd.lr() - recursive).abs() < 1e-14, "epoch {epoch}: {} vs {recursive}", sgd.lr());
    }
}

#[test]
fn cosine_annealing_reaches_eta_min_at_t_max() {
    let (_, sgd) = sgd_with_lr(0.1);
    let scheduler = CosineAnnealingLr::new(&sgd, 10, 0.001);
    assert_eq!(scheduler.lr_at(0), 0.1);
    assert!((scheduler.lr_at(10) - 0.001).abs() < 1e-17);
    assert!((scheduler.lr_at(5) - 0.0505).abs() < 1e-15);
}

#[test]
#[should_panic(expected = "Adam: the model has no parameters to optimize")]
fn optimizer_rejects_model_without_parameters() {
    // A model made only of parameterless layers does not compile (see the
    // misuse case `row04_parameterless_layers`). An empty list of layers
    // has no parameters only at run time.
    let layers: Vec<nn::layers::Linear<U2, U2, f64>> = Vec::new();
    let _ = Adam::new(&layers, AdamConfig::default());
}

// ---- try_step: no step on a NaN or infinite gradient ----

#[derive(autograd::Module, Clone)]
struct TwoLayers {
    l1: nn::layers::Linear<U2, U2, f64>,
    l2: nn::layers::Linear<U2, U2, f64>,
}

fn two_layers() -> TwoLayers {
    let mut rng = autograd::Rng::seed_from_u64(5);
    TwoLayers { l1: nn::layers::Linear::new(&mut rng), l2: nn::layers::Linear::new(&mut rng) }
}

/// Gradients of 0.25 everywhere, with `bad` at element 1 of `l2.bias`.
fn two_layer_grads(model: &TwoLayers, bad: f64) -> <TwoLayers as autograd::Module>::Grads {
    let mut grads = autograd::Differentiable::zero_grad(model);
    autograd::Leaves::visit_leaves_mut(&mut grads, &mut |leaf| leaf.fill(0.25));
    grads.l2.bias.as_mut_slice()[1] = bad;
    grads
}

fn all_params(model: &TwoLayers) -> Vec<f64> {
    let mut values = Vec::new();
    autograd::Module::visit_params(model, None, &mut |_, _, leaf| values.extend_from_slice(leaf));
    values
}

#[test]
fn try_step_names_nan_gradient() {
    let mut model = two_layers();
    let before = all_params(&model);
    let mut adam = Adam::new(&model, AdamConfig::default());

    let grads = two_layer_grads(&model, f64::NAN);
    let error = adam.try_step(&mut model, grads).unwrap_err();

    assert_eq!(error.param, "l2.bias");
    assert_eq!(error.index, 1);
    assert!(error.value.is_nan());
    assert!(error.to_string().starts_with("the gradient of `l2.bias` is NaN at element 1"));
    assert_eq!(all_params(&model), before, "the model is unchanged");
}

#[test]
fn try_step_reports_infinity() {
    let mut model = two_layers();
    let mut sgd = Sgd::new(&model, SgdConfig::default());

    let grads = two_layer_grads(&model, f64::NEG_INFINITY);
    let error = sgd.try_step(&mut model, grads).unwrap_err();

    assert_eq!(error.value, f64::NEG_INFINITY);
    assert!(error.to_string().contains("is -inf at element 1"));
}

#[test]
fn try_step_keeps_optimizer_state_on_error() {
    // Adam after a rejected step and one good step must equal Adam after
    // the good step alone: the rejected step moved neither the moments nor
    // the step count.
    let mut rejected = two_layers();
    let mut clean = rejected.clone();
    let mut adam_rejected = Adam::new(&rejected, AdamConfig::default());
    let mut adam_clean = Adam::new(&clean, AdamConfig::default());

    let (bad, good, same) = (two_layer_grads(&rejected, f64::NAN), two_layer_grads(&rejected, 0.25), two_layer_grads(&clean, 0.25));
    assert!(adam_rejected.try_step(&mut rejected, bad).is_err());
    adam_rejected.try_step(&mut rejected, good).unwrap();
    adam_clean.step(&mut clean, same);

    assert_eq!(all_params(&rejected), all_params(&clean));
    assert_ne!(all_params(&rejected), all_params(&two_layers()), "the good step moved the model");
}

#[test]
fn try_step_names_bare_param() {
    let mut m = model();
    let mut sgd = Sgd::new(&m, SgdConfig::default());

    let error = sgd.try_step(&mut m, Tensor::from_array([0.5, f64::INFINITY])).unwrap_err();

    assert_eq!(error.param, "");
    assert!(error.to_string().starts_with("the gradient of the model's parameter is inf at element 1"));
    assert_params(&m, [1.0, -2.0]);
}
