// Misuse row 14: a parameter that forward never uses. PyTorch: runs, and
// its gradient is always missing (a hard error under distributed training).
// Here a `#[differentiable]` method of a derived model must read every module
// field, unless it is marked `#[differentiable(partial)]`. The check runs when
// the method is compiled to code (`cargo build`), not under `cargo check`.
use autograd::typenum::{U2, U4};
use autograd::{differentiable, Module, Rank0, Rank2, Tensor};
use nn::layers::{Forward, Linear};

#[derive(Module)]
struct TwoLayer {
    l1: Linear<U4, U4>,
    l2: Linear<U4, U2>,
}

impl TwoLayer {
    #[differentiable]
    fn loss(&self, x: &Tensor<Rank2<U2, U4>>) -> Tensor<Rank0> {
        let h = self.l1.forward(x);
        h.sum()
    }
}

fn main() {
    let mut rng = autograd::Rng::seed_from_u64(0);
    let model = TwoLayer { l1: Linear::new(&mut rng), l2: Linear::new(&mut rng) };
    let _ = model.loss_grad(&Tensor::ones());
}
