// Misuse row 2: a model field holds a plain tensor meant to be trained.
// PyTorch: runs; the tensor is never registered, so no optimizer updates it.
// Here the derive rejects the field and names both fixes.
use autograd::typenum::{U2, U4};
use autograd::{Module, Param, Rank2, Tensor};

#[derive(Module)]
struct Embedding {
    table: Param<Tensor<Rank2<U4, U2>>>,
    positions: Tensor<Rank2<U4, U2>>,
}

fn main() {}
