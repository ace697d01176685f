use autograd::typenum::U3;
use autograd::{Module, Param, Rank1, Tensor};

#[derive(Module)]
#[module(skip)]
struct Net {
    w: Param<Tensor<Rank1<U3>>>,
}

fn main() {}
