//! Training-step benchmarks: one step is a forward pass, the loss, the
//! backward pass and an optimizer update, on one thread.
//!
//! `benches/train_step_torch.py` times the same steps in PyTorch eager mode
//! with the same scheme, and `BENCHMARKS.md` compares the two.
//!
//! ```text
//! cargo bench --bench train_step              # every case
//! cargo bench --bench train_step -- mlp_784   # cases whose name contains "mlp_784"
//! TRAIN_STEP_FIXED_STEPS=1000 valgrind --tool=callgrind \
//!     target/release/deps/train_step-HASH neuron   # count instructions
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
use autograd::{differentiable, Cpu, Dim, Inline, Module, NoGrad, Param, Rank0, Rank1, Rank2, Rng, Storage, Tensor};
use nn::layers::{Forward, Linear};
use nn::loss::{cross_entropy, cross_entropy_vjp, mse_loss, mse_loss_vjp, ClassIndices};
use nn::optim::{Adam, AdamConfig, Optimizer, Sgd, SgdConfig};

const WARMUP: Duration = Duration::from_millis(300);
const SAMPLE_TIME: Duration = Duration::from_micros(200);
const SAMPLES: usize = 1000;

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

    fn selects(&self, name: &str) -> bool {
        self.0.is_empty() || self.0.iter().any(|f| name.contains(f.as_str()))
    }
}

/// Times `step` and prints one row of the report.
///
/// With `TRAIN_STEP_FIXED_STEPS=n` in the environment, runs exactly `n`
/// steps untimed instead, so that an instruction-counting profiler
/// (`valgrind --tool=callgrind`) sees the same work on every run.
fn report(name: &str, mut step: impl FnMut() -> f32) {
    if let Ok(steps) = std::env::var("TRAIN_STEP_FIXED_STEPS") {
        let steps: usize = steps.parse().expect("TRAIN_STEP_FIXED_STEPS is a step count");
        for _ in 0..steps {
            black_box(step());
        }
        println!("{name:<28} {steps} steps, untimed");
        return;
    }
    let s = measure(step);
    println!(
        "{name:<28} {:>10.3} {:>10.3} {:>10.3} {:>8}",
        s.median, s.p10, s.p90, s.steps_per_sample
    );
}

// ---- 1. the tutorial neuron: sigmoid(w·x + b), MSE against a label ----

/// The neuron on any device. `Inline` keeps every tensor in an array on the
/// stack, and so does `Cpu` here, because all of them hold 5 elements or 1.
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
}

fn bench_neuron<D: Storage<Rank1<U5>, f32> + Storage<Rank0, f32>>(filter: &Filter, name: &str) {
    if !filter.selects(name) {
        return;
    }
    let mut model = Neuron::<D> {
        weight: Param::new(Tensor::from_array([0.5, -0.3, 0.8, 0.1, -0.6])),
        bias: Param::new(Tensor::scalar(0.2)),
    };
    let x = Tensor::from_array([1.0, 2.0, -1.0, 0.5, 3.0]);
    let label = Tensor::scalar(1.0);
    // z = w·x + b = -2.45, so the loss is (sigmoid(-2.45) - 1)².
    let expected = (1.0 / (1.0 + 2.45f32.exp()) - 1.0).powi(2);
    assert!((model.loss(&x, &label).item() - expected).abs() < 1e-6);

    let mut sgd = Sgd::new(&model, SgdConfig { lr: 0.1, ..SgdConfig::default() });
    report(name, || {
        let (loss, (grads, NoGrad, NoGrad)) = model.loss_grad(&x, &label);
        sgd.step(&mut model, grads);
        loss.item()
    });
}

// ---- 2-4. MLPs: Linear, ReLU, Linear, cross entropy ----

/// A static dimension, such as `U784`.
trait Size: Dim + Unsigned + Default {}

impl<U: Dim + Unsigned + Default> Size for U {}

#[derive(Module)]
struct Mlp<I: Size, H: Size, O: Size> {
    l1: Linear<I, H>,
    l2: Linear<H, O>,
}

impl<I: Size, H: Size, O: Size> Mlp<I, H, O> {
    #[differentiable]
    fn forward<N: Size>(&self, #[no_grad] x: &Tensor<Rank2<N, I>>) -> Tensor<Rank2<N, O>> {
        let hidden = self.l1.forward(x).relu();
        self.l2.forward(&hidden)
    }

    /// Computes the mean cross entropy of the logits against class labels; its
    /// generated `loss_grad` is one step's forward and backward pass.
    #[differentiable]
    fn loss<N: Size>(
        &self,
        #[no_grad] x: &Tensor<Rank2<N, I>>,
        #[no_grad] labels: &ClassIndices<'_, N, O>,
    ) -> Tensor<Rank0> {
        cross_entropy(&self.forward(x), labels)
    }
}

/// Which optimizer an MLP case steps with.
#[derive(Clone, Copy)]
enum OptimizerKind {
    /// `torch.optim.SGD(lr=0.1)`.
    Sgd,
    /// `torch.optim.Adam(lr=1e-3)`.
    Adam,
}

fn bench_mlp<N: Size, I: Size, H: Size, O: Size>(
    filter: &Filter,
    name: &str,
    optimizer: OptimizerKind,
    seed: u64,
) {
    if !filter.selects(name) {
        return;
    }
    let mut rng = Rng::seed_from_u64(seed);
    let mut model = Mlp::<I, H, O> {
        l1: Linear::new(&mut rng),
        l2: Linear::new(&mut rng),
    };
    let x: Tensor<Rank2<N, I>> = Tensor::randn(&mut rng);
    let indices: Vec<usize> = (0..N::USIZE).map(|_| rng.below(O::USIZE)).collect();
    let labels = ClassIndices::<N, O>::new(&indices, O::default()).expect("labels below O");
    let initial_loss = model.loss(&x, &labels).item();

    match optimizer {
        OptimizerKind::Sgd => {
            let mut sgd = Sgd::new(&model, SgdConfig { lr: 0.1, ..SgdConfig::default() });
            report(name, || {
                let (loss, (grads, _, _)) = model.loss_grad(&x, &labels);
                sgd.step(&mut model, grads);
                loss.item()
            });
        }
        OptimizerKind::Adam => {
            let mut adam = Adam::new(&model, AdamConfig { lr: 1e-3, ..AdamConfig::default() });
            report(name, || {
                let (loss, (grads, _, _)) = model.loss_grad(&x, &labels);
                adam.step(&mut model, grads);
                loss.item()
            });
        }
    }

    // Thousands of steps on one batch must have lowered its loss.
    let final_loss = model.loss(&x, &labels).item();
    assert!(final_loss < initial_loss, "{name}: loss rose from {initial_loss} to {final_loss}");
}

fn main() {
    let filter = Filter::from_args();
    println!(
        "{:<28} {:>10} {:>10} {:>10} {:>8}",
        "case", "median_us", "p10_us", "p90_us", "k"
    );
    bench_neuron::<Cpu>(&filter, "neuron_sgd");
    bench_neuron::<Inline>(&filter, "neuron_inline_sgd");
    bench_mlp::<U150, U4, U16, U3>(&filter, "mlp_4_16_3_b150_sgd", OptimizerKind::Sgd, 1);
    bench_mlp::<U64, U64, U32, U10>(&filter, "mlp_64_32_10_b64_sgd", OptimizerKind::Sgd, 2);
    bench_mlp::<U64, U784, U128, U10>(&filter, "mlp_784_128_10_b64_sgd", OptimizerKind::Sgd, 3);
    bench_mlp::<U64, U784, U128, U10>(&filter, "mlp_784_128_10_b64_adam", OptimizerKind::Adam, 3);
}
