// An optimizer over a model with no parameters has nothing to train
// (PyTorch raises "optimizer got an empty parameter list" only then).
use autograd::Module;

#[derive(Module)]
struct Net;

fn main() {}
