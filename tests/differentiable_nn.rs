//! `#[differentiable]` on a model built from `nn` layers, with the
//! gradient struct that `#[derive(Module)]` generates.

use autograd::typenum::{U1, U3, U5};
use autograd::{differentiable, gradcheck, GradcheckOptions, Module, Rank0, Rank1, Rng, Tensor};
use nn::layers::{Forward, Linear};

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
