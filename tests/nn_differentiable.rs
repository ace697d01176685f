//! Layers and losses inside `#[differentiable]` functions: the generated
//! backward pass routes each layer's gradient into the model's gradient
//! struct, and is checked against finite differences.

use autograd::typenum::{U2, U3, U4};
use autograd::{differentiable, gradcheck, GradcheckOptions, Module, NoGrad, Rank0, Rank2, Rng, Tensor};
use nn::layers::{Dropout, Forward, ForwardTrain, Linear, Tanh};

type Input = Tensor<Rank2<U2, U4>, f64>;
type Target = Tensor<Rank2<U2, U2>, f64>;

#[derive(Module, Clone)]
struct Net {
    l1: Linear<U4, U3, f64>,
    act: Tanh<f64>,
    l2: Linear<U3, U2, f64>,
}

impl Net {
    #[differentiable]
    fn loss(&self, x: &Input, target: &Target) -> Tensor<Rank0, f64> {
        let h = self.l1.forward(x);
        let a = self.act.forward(&h);
        let y = self.l2.forward(&a);
        nn::loss::mse_loss(&y, target)
    }
}

fn net() -> Net {
    let mut rng = Rng::seed_from_u64(30);
    Net { l1: Linear::new(&mut rng), act: Tanh::new(), l2: Linear::new(&mut rng) }
}

#[test]
fn differentiable_model_of_layers_passes_gradcheck() {
    let mut rng = Rng::seed_from_u64(31);
    let x: Input = Tensor::randn(&mut rng);
    let target: Target = Tensor::randn(&mut rng);
    gradcheck(
        |model: &Net| model.loss(&x, &target),
        |model: &Net| {
            let (loss, pullback) = model.loss_vjp(&x, &target);
            (loss, move |g| pullback(g).0)
        },
        &net(),
        GradcheckOptions::default(),
    )
    .unwrap();
}

#[test]
fn differentiable_model_matches_hand_chained_pullbacks() {
    let mut rng = Rng::seed_from_u64(32);
    let x: Input = Tensor::randn(&mut rng);
    let target: Target = Tensor::randn(&mut rng);
    let model = net();

    let (_, pullback) = model.loss_vjp(&x, &target);
    let generated = pullback(Tensor::scalar(1.0)).0;

    let (h, (pullback_l1, _)) = model.l1.forward_vjp(&x);
    let (a, (_, pullback_act)) = model.act.forward_vjp(&h);
    let (y, (pullback_l2, pullback_a)) = model.l2.forward_vjp(&a);
    let (_, (pullback_y, _)) = nn::loss::mse_loss_vjp(&y, &target);
    let dy = pullback_y(Tensor::scalar(1.0));
    let l2 = pullback_l2(dy.clone());
    let l1 = pullback_l1(pullback_act(pullback_a(dy)));

    assert_eq!(generated.l1.weight, l1.weight);
    assert_eq!(generated.l1.bias, l1.bias);
    assert_eq!(generated.l2.weight, l2.weight);
    assert_eq!(generated.l2.bias, l2.bias);
}

#[derive(Module, Clone)]
struct DropoutNet {
    l1: Linear<U4, U3, f64>,
    drop: Dropout<f64>,
    l2: Linear<U3, U2, f64>,
}

type Hidden = Tensor<Rank2<U2, U3>, f64>;

impl DropoutNet {
    /// The caller draws the dropout mask and passes it in.
    #[differentiable]
    fn loss(&self, x: &Input, target: &Target, mask: &Hidden) -> Tensor<Rank0, f64> {
        let h = self.l1.forward(x);
        let d = self.drop.forward_masked(&h, mask);
        let y = self.l2.forward(&d);
        nn::loss::mse_loss(&y, target)
    }
}

impl DropoutNet {
    /// Training mode as PyTorch's `model.train()` runs it: dropout draws its
    /// mask from the generator, a `#[no_grad]` argument that the forward
    /// pass advances.
    #[differentiable]
    fn train_loss(&self, x: &Input, target: &Target, #[no_grad] rng: &mut Rng) -> Tensor<Rank0, f64> {
        let h = self.l1.forward(x);
        let d = self.drop.forward_train(&h, rng);
        let y = self.l2.forward(&d);
        nn::loss::mse_loss(&y, target)
    }
}

#[test]
fn dropout_draws_from_generator_argument() {
    let mut rng = Rng::seed_from_u64(34);
    let model = DropoutNet { l1: Linear::new(&mut rng), drop: Dropout::new(0.5), l2: Linear::new(&mut rng) };
    let x: Input = Tensor::randn(&mut rng);
    let target: Target = Tensor::randn(&mut rng);

    // The same seed draws the same mask, so the generator version equals
    // the explicit-mask version, value and gradients.
    let mask: Hidden = model.drop.draw_mask(Rank2::default(), &mut Rng::seed_from_u64(9));
    let (loss, (grads, _, _, NoGrad)) = model.train_loss_grad(&x, &target, &mut Rng::seed_from_u64(9));
    let (masked_loss, (masked_grads, _, _, _)) = model.loss_grad(&x, &target, &mask);
    assert_eq!(loss.item(), masked_loss.item());
    assert_eq!(grads.l1.weight, masked_grads.l1.weight);
    assert_eq!(grads.l2.weight, masked_grads.l2.weight);

    gradcheck(
        |model: &DropoutNet| model.train_loss(&x, &target, &mut Rng::seed_from_u64(9)),
        |model: &DropoutNet| {
            let (loss, pullback) = model.train_loss_vjp(&x, &target, &mut Rng::seed_from_u64(9));
            (loss, move |g| pullback(g).0)
        },
        &model,
        GradcheckOptions::default(),
    )
    .unwrap();

    // The forward pass advances the generator: two steps draw two masks.
    let mut shared = Rng::seed_from_u64(10);
    let first = model.train_loss(&x, &target, &mut shared);
    let second = model.train_loss(&x, &target, &mut shared);
    assert_ne!(first.item(), second.item());
}

#[test]
fn differentiable_model_with_dropout_mask_passes_gradcheck() {
    let mut rng = Rng::seed_from_u64(33);
    let model = DropoutNet { l1: Linear::new(&mut rng), drop: Dropout::new(0.5), l2: Linear::new(&mut rng) };
    let x: Input = Tensor::randn(&mut rng);
    let target: Target = Tensor::randn(&mut rng);
    let mask: Hidden = model.drop.draw_mask(Rank2::default(), &mut rng);
    assert!(mask.as_slice().iter().all(|&m| m == 0.0 || m == 2.0));
    gradcheck(
        |model: &DropoutNet| model.loss(&x, &target, &mask),
        |model: &DropoutNet| {
            let (loss, pullback) = model.loss_vjp(&x, &target, &mask);
            (loss, move |g| pullback(g).0)
        },
        &model,
        GradcheckOptions::default(),
    )
    .unwrap();
}
