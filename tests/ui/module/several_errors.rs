// Every error of one struct is reported in one build.
use autograd::typenum::U3;
use autograd::{Module, Param, Rank1, Tensor};

#[derive(Module)]
struct Net {
    w: Tensor<Rank1<U3>>,
    #[module(frozen)]
    b: Param<Tensor<Rank1<U3>>>,
    #[module(skip)]
    c: Param<Tensor<Rank1<U3>>>,
}

fn main() {}
