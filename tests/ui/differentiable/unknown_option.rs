use autograd::typenum::U3;
use autograd::{differentiable, Rank1, Tensor};

#[differentiable(wrt(w), order = 2)]
fn product(x: &Tensor<Rank1<U3>>, y: &Tensor<Rank1<U3>>) -> Tensor<Rank1<U3>> {
    x * y
}

fn main() {}
