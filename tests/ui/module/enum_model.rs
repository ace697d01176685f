use autograd::typenum::U3;
use autograd::{Module, Param, Rank1, Tensor};

#[derive(Module)]
enum Net {
    Small(Param<Tensor<Rank1<U3>>>),
    Large(Param<Tensor<Rank1<U3>>>),
}

fn main() {}
