use autograd::typenum::U3;
use autograd::{Module, Param, Rank1, Tensor};

#[derive(Module)]
struct Net {
    #[module(skip, constant)]
    mask: Tensor<Rank1<U3>>,
    b: Param<Tensor<Rank1<U3>>>,
}

fn main() {}
