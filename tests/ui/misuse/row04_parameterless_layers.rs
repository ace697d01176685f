// Misuse row 4, second form: a derived model whose fields are all layers
// without parameters. The struct is a module, but building an optimizer over
// it fails when the program is built (`cargo build`, not `cargo check`,
// because the check runs when `Sgd::new` is compiled for this model).
use autograd::Module;
use nn::layers::Relu;
use nn::optim::{Sgd, SgdConfig};

#[derive(Module)]
struct Activations {
    act: Relu,
}

fn main() {
    let model = Activations { act: Relu::new() };
    let _sgd = Sgd::new(&model, SgdConfig::default());
}
