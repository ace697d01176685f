// A field that is neither a `Param` nor a layer, without `#[module(skip)]`.
use autograd::typenum::U3;
use autograd::{Module, Param, Rank1, Tensor};

#[derive(Module)]
struct Net {
    name: String,
    b: Param<Tensor<Rank1<U3>>>,
}

fn main() {}
