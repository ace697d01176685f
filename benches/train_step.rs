//! Training-step benchmarks: one step is a forward pass, the loss, the
//! backward pass and an optimizer update, on one thread.
//!
//! `benches/train_step_torch.py` times the same steps in PyTorch eager mode
//! with the same scheme, and `BENCHMARKS.md` compares the two.
//!
//! ```text
//! cargo bench --bench train_step              # every case
//! cargo bench --bench train_step -- mlp_784   # cases whose name contains "mlp_784"
//! ```
//!
//! Timing scheme, shared with the PyTorch script: the step runs for at least
//! `WARMUP` (and 10 times), which also estimates its duration; the steps are
//! then timed in `SAMPLES` samples of `k` consecutive steps, with `k` chosen
//! so that one sample lasts about `SAMPLE_TIME`. Each sample gives one time
//! per step (its duration divided by `k`), and the report lists the median,
//! the 10th and the 90th percentile of these times in microseconds. Batching
//! the steps keeps the clock's own cost (tens of nanoseconds) out of steps
//! that last a fraction of a microsecond.

use std::hint::black_box;
use std::time::{Duration, Instant};

use autograd::typenum::{U10, U128, U150, U16, U3, U32, U4, U5, U64, U784};
use autograd::typenum::Unsigned;
use autograd::{AddVjp, Dim, MatMulT, Rank0, Rank1, Rank2, Rng, Tensor};
use nn::loss::{cross_entropy_vjp, mse_loss_vjp, ClassIndices};

const WARMUP: Duration = Duration::from_millis(300);
const SAMPLE_TIME: Duration = Duration::from_millis(2);
const SAMPLES: usize = 200;

/// Median and spread of the time of one step, in microseconds.
struct Summary {
    median: f64,
    p10: f64,
    p90: f64,
    steps_per_sample: usize,
}

/// Times `step` with the scheme in the file's docs.
fn measure(mut step: impl FnMut() -> f32) -> Summary {
    let start = Instant::now();
    let mut warmup_steps = 0usize;
    while warmup_steps < 10 || start.elapsed() < WARMUP {
        black_box(step());
        warmup_steps += 1;
    }
    let estimate = start.elapsed().as_secs_f64() / warmup_steps as f64;
    let steps_per_sample = ((SAMPLE_TIME.as_secs_f64() / estimate).round() as usize).max(1);

    let mut per_step: Vec<f64> = (0..SAMPLES)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..steps_per_sample {
                black_box(step());
            }
            t.elapsed().as_secs_f64() * 1e6 / steps_per_sample as f64
        })
        .collect();
    per_step.sort_by(f64::total_cmp);
    let quantile = |q: f64| per_step[((per_step.len() - 1) as f64 * q).round() as usize];
    Summary {
        median: quantile(0.5),
        p10: quantile(0.1),
        p90: quantile(0.9),
        steps_per_sample,
    }
}

/// Command-line filters: a case runs when no filter is given or its name
/// contains one of them. Flags such as `--bench`, which cargo passes, are
/// ignored.
struct Filter(Vec<String>);

impl Filter {
    fn from_args() -> Self {
        Filter(std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect())
    }

    fn run(&self, name: &str, step: impl FnMut() -> f32) {
        if !self.0.is_empty() && !self.0.iter().any(|f| name.contains(f.as_str())) {
            return;
        }
        let s = measure(step);
        println!(
            "{name:<28} {:>10.3} {:>10.3} {:>10.3} {:>8}",
            s.median, s.p10, s.p90, s.steps_per_sample
        );
    }
}

/// Subtracts `lr · grad` from `param` in place.
///
/// `param` must not share its buffer with a live pullback, or `as_mut_slice`
/// copies it first.
fn sgd_update<S: autograd::Shape>(param: &mut Tensor<S>, grad: &Tensor<S>, lr: f32) {
    for (p, &g) in param.as_mut_slice().iter_mut().zip(grad.as_slice()) {
        *p -= lr * g;
    }
}

// ---- 1. the tutorial neuron: sigmoid(w·x + b), MSE against a label ----

struct Neuron {
    weight: Tensor<Rank1<U5>>,
    bias: Tensor<Rank0>,
}

fn neuron_step(model: &mut Neuron, x: &Tensor<Rank1<U5>>, y: &Tensor<Rank0>, lr: f32) -> f32 {
    let (dot, (pullback_weight, pullback_x)) = model.weight.dot_vjp(x);
    let (z, (pullback_dot, pullback_bias)) = dot.add_vjp(&model.bias);
    let (prediction, (pullback_sigmoid,)) = z.sigmoid_vjp();
    let (loss, (pullback_prediction, pullback_label)) = mse_loss_vjp(&prediction, y);
    drop((pullback_x, pullback_label));

    let d_prediction = pullback_prediction(Tensor::scalar(1.0));
    let d_z = pullback_sigmoid(d_prediction);
    let d_bias = pullback_bias(d_z.clone());
    let d_weight = pullback_weight(pullback_dot(d_z));

    sgd_update(&mut model.weight, &d_weight, lr);
    sgd_update(&mut model.bias, &d_bias, lr);
    loss.item()
}

fn bench_neuron(filter: &Filter) {
    let mut model = Neuron {
        weight: Tensor::from_array([0.5, -0.3, 0.8, 0.1, -0.6]),
        bias: Tensor::scalar(0.2),
    };
    let x = Tensor::from_array([1.0, 2.0, -1.0, 0.5, 3.0]);
    let y = Tensor::scalar(1.0);
    filter.run("neuron_sgd", || neuron_step(&mut model, &x, &y, 0.1));
}

// ---- 2-4. MLPs: Linear, ReLU, Linear, cross entropy ----

/// A static dimension, such as `U784`.
trait Size: Dim + Unsigned + Default {}

impl<U: Dim + Unsigned + Default> Size for U {}

/// A `Linear` layer in PyTorch's layout: `y = x · Wᵀ + b`, `W` is `[out, in]`.
struct Dense<I: Dim, O: Dim> {
    weight: Tensor<Rank2<O, I>>,
    bias: Tensor<Rank1<O>>,
}

impl<I: Size, O: Size> Dense<I, O> {
    /// PyTorch's default initialisation: uniform in `±1/√in`.
    fn new(rng: &mut Rng) -> Self {
        let bound = 1.0 / (I::USIZE as f32).sqrt();
        Dense {
            weight: Tensor::uniform(-bound, bound, rng),
            bias: Tensor::uniform(-bound, bound, rng),
        }
    }
}

struct Mlp<I: Dim, H: Dim, O: Dim> {
    l1: Dense<I, H>,
    l2: Dense<H, O>,
}

#[allow(clippy::type_complexity)]
fn mlp_step<N, I, H, O>(
    model: &mut Mlp<I, H, O>,
    x: &Tensor<Rank2<N, I>>,
    labels: &ClassIndices<'_, N, O>,
    lr: f32,
) -> f32
where
    N: Size,
    I: Size,
    H: Size,
    O: Size,
{
    let (xw1, (_, pullback_w1)) = x.matmul_t_vjp(&model.l1.weight);
    let (b1, (pullback_b1,)) = model.l1.bias.broadcast_vjp::<0, Rank2<N, H>>();
    let (z1, (pullback_xw1, pullback_b1_rows)) = xw1.add_vjp(&b1);
    let (h, (pullback_relu,)) = z1.relu_vjp();
    let (hw2, (pullback_h, pullback_w2)) = h.matmul_t_vjp(&model.l2.weight);
    let (b2, (pullback_b2,)) = model.l2.bias.broadcast_vjp::<0, Rank2<N, O>>();
    let (logits, (pullback_hw2, pullback_b2_rows)) = hw2.add_vjp(&b2);
    let (loss, (pullback_logits, _)) = cross_entropy_vjp(&logits, labels);

    let d_logits = pullback_logits(Tensor::scalar(1.0));
    let d_b2 = pullback_b2(pullback_b2_rows(d_logits.clone()));
    let d_hw2 = pullback_hw2(d_logits);
    let d_w2 = pullback_w2(d_hw2.clone());
    let d_z1 = pullback_relu(pullback_h(d_hw2));
    let d_b1 = pullback_b1(pullback_b1_rows(d_z1.clone()));
    let d_w1 = pullback_w1(pullback_xw1(d_z1));

    sgd_update(&mut model.l1.weight, &d_w1, lr);
    sgd_update(&mut model.l1.bias, &d_b1, lr);
    sgd_update(&mut model.l2.weight, &d_w2, lr);
    sgd_update(&mut model.l2.bias, &d_b2, lr);
    loss.item()
}

fn bench_mlp<N, I, H, O>(filter: &Filter, name: &str, seed: u64)
where
    N: Size,
    I: Size,
    H: Size,
    O: Size,
{
    let mut rng = Rng::seed_from_u64(seed);
    let mut model = Mlp::<I, H, O> {
        l1: Dense::new(&mut rng),
        l2: Dense::new(&mut rng),
    };
    let x: Tensor<Rank2<N, I>> = Tensor::randn(&mut rng);
    let classes = O::USIZE;
    let indices: Vec<usize> = (0..N::USIZE).map(|_| rng.below(classes)).collect();
    let labels = ClassIndices::<N, O>::new(&indices, O::default()).expect("labels below O");
    filter.run(name, || mlp_step(&mut model, &x, &labels, 0.1));
}

fn main() {
    let filter = Filter::from_args();
    println!(
        "{:<28} {:>10} {:>10} {:>10} {:>8}",
        "case", "median_us", "p10_us", "p90_us", "k"
    );
    bench_neuron(&filter);
    bench_mlp::<U150, U4, U16, U3>(&filter, "mlp_4_16_3_b150_sgd", 1);
    bench_mlp::<U64, U64, U32, U10>(&filter, "mlp_64_32_10_b64_sgd", 2);
    bench_mlp::<U64, U784, U128, U10>(&filter, "mlp_784_128_10_b64_sgd", 3);
}
