use autograd::typenum::U3;
use autograd::{differentiable, Rank1, Tensor};

#[differentiable]
fn logged(x: &Tensor<Rank1<U3>>) -> Tensor<Rank1<U3>> {
    println!("{x}");
    x.exp()
}

fn main() {}
