// A constructor that takes its shape from the type, called for a shape with
// a run-time (`Dyn`) axis: the error names the `*_with_shape` constructors.
use autograd::typenum::U3;
use autograd::{Dyn, Rank2, Tensor};

fn main() {
    let _batch = Tensor::<Rank2<Dyn, U3>>::zeros();
}
