use autograd::typenum::U3;
use autograd::{Module, Rank1, Tensor};

#[derive(Module)]
struct Net {
    #[module(skip)]
    rate: f32,
    #[module(constant)]
    mask: Tensor<Rank1<U3>>,
}

fn main() {}
