// Misuse row 1: a weight created without `requires_grad`, then its gradient
// is read. PyTorch: runs, and `weight.grad` is `None`. Here a trainable
// weight is a `Param`; a plain `Tensor` field of a model does not compile, so
// no gradient struct without the weight's gradient is ever generated.
use autograd::typenum::{U3, U5};
use autograd::{Module, Param, Rank1, Rank2, Tensor};

#[derive(Module)]
struct Neuron {
    weight: Tensor<Rank2<U3, U5>>,
    bias: Param<Tensor<Rank1<U3>>>,
}

fn main() {}
