// A weight stored as a plain `Tensor` would never be trained (PyTorch runs
// and never updates it).
use autograd::typenum::{U3, U5};
use autograd::{Module, Param, Rank1, Rank2, Tensor};

#[derive(Module)]
struct Net {
    w: Tensor<Rank2<U3, U5>>,
    b: Param<Tensor<Rank1<U3>>>,
}

fn main() {}
