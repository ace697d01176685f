// A reshape between static shapes with different element counts.
// PyTorch: an error at run time, when the line executes.
use autograd::typenum::{U2, U3, U4};
use autograd::{Rank2, Tensor};

fn main() {
    let x: Tensor<Rank2<U2, U3>> = Tensor::zeros();
    let _y: Tensor<Rank2<U2, U4>> = x.reshape();
}
