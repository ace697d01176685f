// Every block of an array or `Vec` run with `.forward` takes the previous
// block's output, so a block must return the type it takes (PyTorch's
// `nn.Sequential(*[nn.Linear(4, 8) for _ in range(3)])` fails at run time
// with "mat1 and mat2 shapes cannot be multiplied"). Use a tuple for layers
// of different widths.
use autograd::typenum::{U2, U4, U8};
use autograd::{Rank2, Tensor};
use nn::layers::{Forward, Linear};

fn run(blocks: &Vec<Linear<U4, U8>>, x: &Tensor<Rank2<U2, U4>>) {
    let _ = blocks.forward(x);
}

fn main() {}
