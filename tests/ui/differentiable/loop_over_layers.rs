use autograd::typenum::U4;
use autograd::{differentiable, Module, Rank1, Tensor};
use nn::layers::{Forward, Linear};

#[derive(Module)]
struct Tower {
    blocks: Vec<Linear<U4, U4>>,
}

impl Tower {
    // A loop over the layers themselves is rejected; the error names
    // `self.blocks.forward(&h)`.
    #[differentiable]
    fn forward(&self, x: &Tensor<Rank1<U4>>) -> Tensor<Rank1<U4>> {
        let mut h = x.clone();
        for block in self.blocks.iter() {
            h = block.forward(&h);
        }
        h
    }
}

fn main() {}
