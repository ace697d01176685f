// Misuse row 14, the accepted form: a method that uses only part of the
// model on purpose is marked `#[differentiable(partial)]`.
//
// This pass case also makes trybuild compile the whole suite with `cargo
// build` instead of `cargo check`, which the row 14 check needs: it is an
// inline `const` block, evaluated only when the method is compiled to code.
use autograd::typenum::{U2, U4};
use autograd::{differentiable, Module, Rank0, Rank2, Tensor};
use nn::layers::{Forward, Linear};

#[derive(Module)]
struct TwoLayer {
    l1: Linear<U4, U4>,
    l2: Linear<U4, U2>,
}

impl TwoLayer {
    #[differentiable(partial)]
    fn first_layer_loss(&self, x: &Tensor<Rank2<U2, U4>>) -> Tensor<Rank0> {
        self.l1.forward(x).sum()
    }
}

fn main() {
    let mut rng = autograd::Rng::seed_from_u64(0);
    let model = TwoLayer { l1: Linear::new(&mut rng), l2: Linear::new(&mut rng) };
    let (_, (grads, _)) = model.first_layer_loss_grad(&Tensor::ones());
    assert_eq!(grads.l2.bias.as_slice(), [0.0, 0.0]);
}
