//! The generated backward pass of the tutorial neuron against a backward
//! written by hand from the same primitives, on both devices.
//!
//! ```text
//! cargo bench --bench neuron_backward
//! ```
//!
//! Both versions compute `loss = mse(sigmoid(w·x + b), label)` and the
//! gradients of `w` and `b`. The hand-written one calls each primitive's VJP
//! form and chains the pullbacks itself, which is what `#[differentiable]`
//! generates, so the ratio is the cost of the macro's bookkeeping. Each row
//! is the median over 41 samples of the mean time of 20,000 calls.

use std::hint::black_box;
use std::time::Instant;

use autograd::typenum::U5;
use autograd::{differentiable, AddVjp, Cpu, Inline, Module, Param, Rank0, Rank1, Storage, Tensor};
use nn::loss::{mse_loss, mse_loss_vjp};

const CALLS_PER_SAMPLE: usize = 20_000;
const SAMPLES: usize = 41;

#[derive(Module)]
struct Neuron<D: Storage<Rank1<U5>, f32> + Storage<Rank0, f32>> {
    weight: Param<Tensor<Rank1<U5>, f32, D>>,
    bias: Param<Tensor<Rank0, f32, D>>,
}

impl<D: Storage<Rank1<U5>, f32> + Storage<Rank0, f32>> Neuron<D> {
    #[differentiable]
    fn loss(
        &self,
        #[no_grad] x: &Tensor<Rank1<U5>, f32, D>,
        #[no_grad] label: &Tensor<Rank0, f32, D>,
    ) -> Tensor<Rank0, f32, D> {
        let z = self.weight.dot(x) + &*self.bias;
        let prediction = z.sigmoid();
        mse_loss(&prediction, label)
    }

    /// The same loss and gradients, with the pullbacks chained by hand.
    fn loss_grad_by_hand(
        &self,
        x: &Tensor<Rank1<U5>, f32, D>,
        label: &Tensor<Rank0, f32, D>,
    ) -> (Tensor<Rank0, f32, D>, NeuronGrads<D>) {
        let (dot, (pullback_weight, _)) = self.weight.dot_vjp(x);
        let (z, (pullback_dot, pullback_bias)) = dot.add_vjp(&*self.bias);
        let (prediction, (pullback_z,)) = z.sigmoid_vjp();
        let (loss, (pullback_prediction, _)) = mse_loss_vjp(&prediction, label);

        let grad_z = pullback_z(pullback_prediction(Tensor::scalar(1.0)));
        let grads = NeuronGrads {
            weight: pullback_weight(pullback_dot(grad_z.clone())),
            bias: pullback_bias(grad_z),
        };
        (loss, grads)
    }
}

/// Median over the samples of the mean time of one call, in nanoseconds.
fn median_ns(mut call: impl FnMut() -> f32) -> f64 {
    for _ in 0..CALLS_PER_SAMPLE {
        black_box(call());
    }
    let mut samples: Vec<f64> = (0..SAMPLES)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..CALLS_PER_SAMPLE {
                black_box(call());
            }
            start.elapsed().as_secs_f64() * 1e9 / CALLS_PER_SAMPLE as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[SAMPLES / 2]
}

fn compare<D: Storage<Rank1<U5>, f32> + Storage<Rank0, f32>>(device: &str) {
    let model = Neuron::<D> {
        weight: Param::new(Tensor::from_array([0.5, -0.3, 0.8, 0.1, -0.6])),
        bias: Param::new(Tensor::scalar(0.2)),
    };
    let x = Tensor::from_array([1.0, 2.0, -1.0, 0.5, 3.0]);
    let label = Tensor::scalar(1.0);

    // Both versions must agree before either is timed.
    let (generated_loss, (generated, _, _)) = model.loss_grad(&x, &label);
    let (hand_loss, by_hand) = model.loss_grad_by_hand(&x, &label);
    assert_eq!(generated_loss.item(), hand_loss.item());
    assert_eq!(generated_loss.item(), model.loss(&x, &label).item());
    assert_eq!(generated.weight.as_slice(), by_hand.weight.as_slice());
    assert_eq!(generated.bias.as_slice(), by_hand.bias.as_slice());

    let generated_ns = median_ns(|| {
        let (loss, (grads, _, _)) = model.loss_grad(black_box(&x), &label);
        loss.item() + grads.bias.item()
    });
    let hand_ns = median_ns(|| {
        let (loss, grads) = model.loss_grad_by_hand(black_box(&x), &label);
        loss.item() + grads.bias.item()
    });
    println!(
        "| {device:<6} | {generated_ns:>9.1} | {hand_ns:>12.1} | {:>5.2} |",
        generated_ns / hand_ns
    );
}

fn main() {
    println!("| device | generated (ns) | hand-written (ns) | ratio |");
    println!("|---|---|---|---|");
    compare::<Cpu>("Cpu");
    compare::<Inline>("Inline");
}
