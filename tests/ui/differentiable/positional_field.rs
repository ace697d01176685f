use autograd::typenum::U3;
use autograd::{differentiable, Module, Param, Rank0, Rank1, Tensor};

#[derive(Module)]
struct Pair(Param<Tensor<Rank1<U3>>>, Param<Tensor<Rank0>>);

impl Pair {
    // Positional fields do not route their gradients, so the error asks
    // for named fields.
    #[differentiable]
    fn forward(&self, x: &Tensor<Rank1<U3>>) -> Tensor<Rank0> {
        self.0.dot(x) + &*self.1
    }
}

fn main() {}
