// Misuse row 16: reshape to a shape with a different number of elements.
// PyTorch: run-time error "shape '[4]' is invalid for input of size 6".
use autograd::typenum::{U2, U3, U4};
use autograd::{Rank1, Rank2, Tensor};

fn main() {
    let pairs: Tensor<Rank2<U3, U2>> = Tensor::zeros();
    let _flat: Tensor<Rank1<U4>> = pairs.reshape();
}
