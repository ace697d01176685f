// Every parameter of a module has one element type (PyTorch fails at run
// time with "expected scalar type Float but found Double").
use autograd::typenum::U3;
use autograd::{Module, Param, Rank1, Tensor};

#[derive(Module)]
struct Net {
    w: Param<Tensor<Rank1<U3>, f32>>,
    b: Param<Tensor<Rank1<U3>, f64>>,
}

fn main() {}
