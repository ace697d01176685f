// Misuse row 3: sub-layers kept in a plain map instead of `ModuleDict`.
// PyTorch: runs; their parameters are missing from `parameters()`. Here a
// `Vec`, an array or a tuple of layers is a module (see the twin test), and a
// container that is not one is rejected where the field is declared.
use std::collections::HashMap;

use autograd::typenum::U4;
use autograd::Module;
use nn::layers::Linear;

#[derive(Module)]
struct Heads {
    trunk: Linear<U4, U4>,
    heads: HashMap<String, Linear<U4, U4>>,
}

fn main() {}
