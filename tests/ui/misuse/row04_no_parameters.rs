// Misuse row 4: an optimizer built over a model that has no parameters.
// PyTorch: `ValueError: optimizer got an empty parameter list` when the
// optimizer is built. Here a derived model without parameters does not
// compile; a model whose parameter count is zero only at run time (an empty
// `Vec` of layers) makes `Sgd::new` panic (see the twin test). `main` builds
// no optimizer, because the rejected struct is not a module at all.
use autograd::typenum::U3;
use autograd::{Module, Rank1, Tensor};

#[derive(Module)]
struct Scaler {
    #[module(constant)]
    scale: Tensor<Rank1<U3>>,
}

fn main() {}
