// A `Dyn` axis on the allocation-free `Inline` device, whose buffer is an
// array sized by the shape type.
use autograd::typenum::U3;
use autograd::{Dyn, Inline, Rank2, Tensor};

fn main() {
    let _x: Tensor<Rank2<Dyn, U3>, f32, Inline> = Tensor::zeros_with_shape(Rank2(Dyn(4), U3::new()));
}
