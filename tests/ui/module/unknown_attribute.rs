use autograd::typenum::U3;
use autograd::{Module, Param, Rank1, Tensor};

#[derive(Module)]
struct Net {
    #[module(frozen)]
    w: Param<Tensor<Rank1<U3>>>,
}

fn main() {}
