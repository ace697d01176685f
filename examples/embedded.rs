//! XOR learned by a fixed-size network on the `Inline` device: every tensor,
//! gradient and optimizer state lives in a value whose size is known at
//! compile time, and no step touches the heap.
//!
//! ```text
//! cargo run --release --example embedded
//! ```
//!
//! The same code builds without `std` and without an allocator; the static
//! library in `embedded/` shows it. Exits with status 1 when one of the four
//! predictions lies on the wrong side of 0.5.

use std::mem::size_of;
use std::process;

use autograd::typenum::{U1, U2, U4, U8};
use autograd::{Inline, Module, Rank2, Rng, StaticModule, Tensor};
use nn::layers::{Forward, Linear, Tanh};
use nn::loss::binary_cross_entropy_with_logits_vjp;
use nn::optim::{Adam, AdamConfig, Optimizer};

/// `Linear(2, 8)`, tanh, `Linear(8, 1)`, returning logits.
type Model = (
    Linear<U2, U8, f32, Inline>,
    Tanh,
    Linear<U8, U1, f32, Inline>,
);
type Grads = <Model as Module>::Grads;
type Batch = Tensor<Rank2<U4, U2>, f32, Inline>;
type Labels = Tensor<Rank2<U4, U1>, f32, Inline>;

const STEPS: usize = 500;

fn main() {
    println!(
        "model:           {:>4} bytes, {} parameters",
        size_of::<Model>(),
        Model::NUM_PARAMS
    );
    println!("gradients:       {:>4} bytes", size_of::<Grads>());
    println!("Adam state:      {:>4} bytes", size_of::<Adam<Model>>());
    println!("batch of inputs: {:>4} bytes", size_of::<Batch>());

    let mut rng = Rng::seed_from_u64(0);
    let mut model: Model = (Linear::new(&mut rng), Tanh::new(), Linear::new(&mut rng));
    let mut adam = Adam::new(
        &model,
        AdamConfig {
            lr: 0.05,
            ..AdamConfig::default()
        },
    );
    let x: Batch = Tensor::from_array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]);
    let labels: Labels = Tensor::from_array([[0.0], [1.0], [1.0], [0.0]]);

    for step in 1..=STEPS {
        let (logits, (pullback_model, _)) = model.forward_vjp(&x);
        let (loss, (pullback_logits, _)) = binary_cross_entropy_with_logits_vjp(&logits, &labels);
        let grads = pullback_model(pullback_logits(Tensor::scalar(1.0)));
        adam.step(&mut model, grads);
        if step == 1 || step % 100 == 0 {
            println!("step {step:>3}: binary cross entropy {:.5}", loss.item());
        }
    }

    let probabilities = model.forward(&x).sigmoid();
    let mut learned = true;
    for (i, (&p, &label)) in probabilities
        .as_slice()
        .iter()
        .zip(labels.as_slice())
        .enumerate()
    {
        let [a, b] = [x.get([i, 0]), x.get([i, 1])];
        let correct = (p > 0.5) == (label > 0.5);
        learned &= correct;
        println!(
            "{a} xor {b}: {p:.4} (label {label}){}",
            if correct { "" } else { "  WRONG" }
        );
    }
    if !learned {
        eprintln!("error: the network did not learn XOR in {STEPS} steps");
        process::exit(1);
    }
}
