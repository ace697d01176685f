use autograd::typenum::U4;
use autograd::{differentiable, Module, Rank1, Tensor};
use nn::layers::{Forward, Linear};

#[derive(Module)]
struct Tower {
    blocks: Vec<Linear<U4, U4>>,
}

impl Tower {
    // Indexing is not differentiated: the error points at
    // `self.blocks.forward(&h)`, which runs every block in order.
    #[differentiable]
    fn forward(&self, x: &Tensor<Rank1<U4>>) -> Tensor<Rank1<U4>> {
        let h = self.blocks[0].forward(x);
        self.blocks[1].forward(&h)
    }
}

fn main() {}
