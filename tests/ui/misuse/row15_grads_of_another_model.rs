// Misuse row 15: an optimizer handed the gradients of a different model.
// PyTorch: runs or fails late, depending on parameter names. Here `step`
// takes the model's own gradient struct, `<M as Module>::Grads`.
use autograd::typenum::{U2, U3, U4};
use autograd::{Differentiable, Module, Param, Rank1, Tensor};
use nn::layers::Linear;
use nn::optim::{Optimizer, Sgd, SgdConfig};

#[derive(Module)]
struct Encoder {
    layer: Linear<U4, U3>,
}

#[derive(Module)]
struct Head {
    bias: Param<Tensor<Rank1<U2>>>,
}

fn main() {
    let mut rng = autograd::Rng::seed_from_u64(0);
    let mut encoder = Encoder { layer: Linear::new(&mut rng) };
    let head = Head { bias: Param::new(Tensor::zeros()) };
    let mut optimizer = Sgd::new(&encoder, SgdConfig::default());
    let head_grads = head.zero_grad();
    optimizer.step(&mut encoder, head_grads);
}
