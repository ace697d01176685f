// Arrays whose lengths differ from the shape. With the shape given by a
// turbofish, the library names it; with the shape given by a `let` type,
// rustc infers the shape from the array and reports the two tensor types.
use autograd::typenum::{U2, U3};
use autograd::{Rank1, Rank2, Tensor};

fn main() {
    let _x: Tensor<Rank1<U3>> = Tensor::from_array([1.0, 2.0, 3.0, 4.0]);
    let _y = Tensor::<Rank2<U2, U3>>::from_array([[1.0, 2.0], [3.0, 4.0]]);
}
