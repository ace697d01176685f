use autograd::typenum::{U2, U3};
use autograd::{differentiable, Rank1, Tensor};

#[differentiable]
fn add_mismatched(x: &Tensor<Rank1<U3>>, y: &Tensor<Rank1<U2>>) -> Tensor<Rank1<U3>> {
    x + y
}

fn main() {}
