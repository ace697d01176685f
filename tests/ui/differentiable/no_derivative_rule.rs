use autograd::typenum::U3;
use autograd::{differentiable, Rank1, Tensor};

fn cube(x: &Tensor<Rank1<U3>>) -> Tensor<Rank1<U3>> {
    x.map(|v| v * v * v)
}

#[differentiable]
fn uses_cube(x: &Tensor<Rank1<U3>>) -> Tensor<Rank1<U3>> {
    cube(x) * 2.0
}

fn main() {}
