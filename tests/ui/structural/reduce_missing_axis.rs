// A reduction over axis 2 of a matrix, which has axes 0 and 1.
// PyTorch: an error at run time, when the line executes.
use autograd::typenum::{U2, U3};
use autograd::{Rank2, Tensor};

fn main() {
    let x: Tensor<Rank2<U2, U3>> = Tensor::zeros();
    let _y = x.sum_axis::<2>();
}
