// Arrays whose lengths differ from the shape. A turbofish shape gets the
// library's message. With a `let` type, rustc infers the shape from the
// array first, so it reports the two tensor types instead.
use autograd::typenum::{U2, U3};
use autograd::{Rank1, Rank2, Tensor};

fn main() {
    let _x: Tensor<Rank1<U3>> = Tensor::from_array([1.0, 2.0, 3.0, 4.0]);
    let _y = Tensor::<Rank2<U2, U3>>::from_array([[1.0, 2.0], [3.0, 4.0]]);
}
