//! `#[differentiable]` on a model built from `nn` layers, with the
//! gradient struct that `#[derive(Module)]` generates.

use autograd::typenum::{U1, U3, U4, U5};
use autograd::{differentiable, gradcheck, GradcheckOptions, Module, Rank0, Rank1, Rank2, Rng, Tensor};
use nn::layers::{Forward, Linear};
use nn::loss::{cross_entropy, cross_entropy_vjp, ClassIndices};

#[derive(Module, Clone)]
struct TwoLayer {
    l1: Linear<U5, U3, f64>,
    l2: Linear<U3, U1, f64>,
}

impl TwoLayer {
    #[differentiable]
    fn forward(&self, x: &Tensor<Rank1<U5>, f64>) -> Tensor<Rank0, f64> {
        let h = self.l1.forward(x).tanh();
        self.l2.forward(&h).sum()
    }
}

#[test]
fn nn_layers_route_gradients_into_derived_grads() {
    let mut rng = Rng::seed_from_u64(7);
    let model = TwoLayer { l1: Linear::new(&mut rng), l2: Linear::new(&mut rng) };
    let x: Tensor<Rank1<U5>, f64> = Tensor::randn(&mut rng);
    gradcheck(
        |x: &Tensor<Rank1<U5>, f64>| model.forward(x),
        |x| {
            let (y, pullback) = model.forward_vjp(x);
            (y, move |g| pullback(g).1)
        },
        &x,
        GradcheckOptions::default(),
    )
    .unwrap();
    let (_, (grads, _)) = model.forward_grad(&x);
    assert!(grads.l1.weight.as_slice().iter().any(|&g| g != 0.0));
    assert!(grads.l2.bias.as_slice().iter().all(|&g| g == 1.0));
}

/// A loss whose class indices borrow the caller's slice: the argument type
/// has a lifetime, which the generated pullback captures.
#[derive(Module, Clone)]
struct Classifier {
    layer: Linear<U4, U3, f64>,
}

impl Classifier {
    #[differentiable]
    fn loss(
        &self,
        #[no_grad] x: &Tensor<Rank2<U5, U4>, f64>,
        #[no_grad] labels: &ClassIndices<'_, U5, U3>,
    ) -> Tensor<Rank0, f64> {
        let logits = self.layer.forward(x);
        cross_entropy(&logits, labels)
    }
}

#[test]
fn argument_with_a_lifetime_gets_a_checked_gradient() {
    let mut rng = Rng::seed_from_u64(11);
    let model = Classifier { layer: Linear::new(&mut rng) };
    let x: Tensor<Rank2<U5, U4>, f64> = Tensor::randn(&mut rng);
    let classes = [0, 2, 1, 1, 0];
    let labels = ClassIndices::new(&classes, U3::new()).unwrap();
    gradcheck(
        |model: &Classifier| model.loss(&x, &labels),
        |model| {
            let (loss, pullback) = model.loss_vjp(&x, &labels);
            (loss, move |g| pullback(g).0)
        },
        &model,
        GradcheckOptions::default(),
    )
    .unwrap();
    let (loss, (grads, _, _)) = model.loss_grad(&x, &labels);
    assert_eq!(loss.item(), cross_entropy(&model.layer.forward(&x), &labels).item());
    assert!(grads.layer.weight.as_slice().iter().any(|&g| g != 0.0));
}

/// A model with a constant tensor and a plain setting beside its layer. The
/// method reads both; their gradients are dropped, the layer's is checked.
#[derive(Module, Clone)]
struct Masked {
    layer: Linear<U5, U3, f64>,
    #[module(constant)]
    mask: Tensor<Rank1<U5>, f64>,
    #[module(skip)]
    temperature: f64,
}

impl Masked {
    #[differentiable]
    fn forward(&self, x: &Tensor<Rank1<U5>, f64>) -> Tensor<Rank0, f64> {
        let kept = x * &self.mask;
        let y = self.layer.forward(&kept) / self.temperature;
        y.exp().sum()
    }
}

#[test]
fn constant_and_skipped_fields_can_be_read() {
    let mut rng = Rng::seed_from_u64(5);
    let model = Masked {
        layer: Linear::new(&mut rng),
        mask: Tensor::from_array([1.0, 0.0, 1.0, 1.0, 0.0]),
        temperature: 2.0,
    };
    let x: Tensor<Rank1<U5>, f64> = Tensor::randn(&mut rng);
    gradcheck(
        |model: &Masked| model.forward(&x),
        |model| {
            let (y, pullback) = model.forward_vjp(&x);
            (y, move |g| pullback(g).0)
        },
        &model,
        GradcheckOptions::default(),
    )
    .unwrap();
    // The masked inputs do not reach the layer, so their weight columns
    // get no gradient.
    let (_, (grads, _)) = model.forward_grad(&x);
    for row in grads.layer.weight.as_slice().chunks(5) {
        assert_eq!((row[1], row[4]), (0.0, 0.0));
        assert!(row[0] != 0.0);
    }
}
