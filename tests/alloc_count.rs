//! Heap allocations of a full training step (forward, backward, optimizer
//! step), counted by a global allocator.
//!
//! On the `Inline` device a step allocates nothing. On the `Cpu` device a
//! tensor is a heap buffer unless its type fixes a size of at most 32 bytes,
//! so the tutorial neuron's step allocates nothing there either. A larger
//! model's step allocates the same number each step, so nothing accumulates
//! across steps.
//!
//! The counter is per thread because the test harness runs tests on
//! parallel threads, and each test counts only its own allocations.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use autograd::typenum::{U3, U4, U5, U8, U9};
use autograd::{
    differentiable, Cpu, Dyn, Inline, Module, Param, Rank0, Rank1, Rank2, Rng, Storage, Tensor,
};
use nn::layers::{Forward, Linear, Relu};
use nn::loss::{cross_entropy_vjp, mse_loss_vjp, ClassIndices};
use nn::optim::{Adam, AdamConfig, Optimizer, Sgd, SgdConfig};

/// The system allocator, counting each `alloc`, `alloc_zeroed` and
/// `realloc` on the calling thread.
struct CountingAllocator;

thread_local! {
    // A const initializer and a type without `Drop`: accessing it never
    // allocates, so the allocator can use it.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count_allocation() {
    // `try_with` fails only while the thread is being torn down.
    let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
}

// SAFETY: every method forwards to `System` with the caller's arguments.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_allocation();
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_allocation();
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_allocation();
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Counts the heap allocations that `f` makes on this thread.
fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

/// Runs `step` once as a warm-up, then counts the allocations of each of
/// the next `steps` calls.
fn allocations_per_step(steps: usize, mut step: impl FnMut()) -> Vec<usize> {
    step();
    let mut counts = Vec::with_capacity(steps);
    for _ in 0..steps {
        counts.push(allocations_during(&mut step));
    }
    counts
}

// ---- the tutorial neuron, sigmoid(w · x + b), with a derived gradient ----

#[derive(Module, Clone)]
struct Neuron<D: Storage<Rank1<U5>, f32> + Storage<Rank0, f32>> {
    weight: Param<Tensor<Rank1<U5>, f32, D>>,
    bias: Param<Tensor<Rank0, f32, D>>,
}

impl<D: Storage<Rank1<U5>, f32> + Storage<Rank0, f32>> Neuron<D> {
    /// # Shapes
    /// `x`: `[5]`; output: a scalar.
    #[differentiable]
    fn forward(&self, x: &Tensor<Rank1<U5>, f32, D>) -> Tensor<Rank0, f32, D> {
        let z = (&*self.weight * x).sum() + &*self.bias;
        z.sigmoid()
    }

    fn new(rng: &mut Rng) -> Self {
        Neuron {
            weight: Param::new(Tensor::uniform(-0.5, 0.5, rng)),
            bias: Param::new(Tensor::zeros()),
        }
    }
}

/// Counts the allocations of each of 19 SGD steps of the neuron with the
/// squared error, after a warm-up step.
fn neuron_allocations<D: Storage<Rank1<U5>, f32> + Storage<Rank0, f32>>() -> Vec<usize> {
    let mut rng = Rng::seed_from_u64(1);
    let mut model = Neuron::<D>::new(&mut rng);
    let mut sgd = Sgd::new(
        &model,
        SgdConfig {
            lr: 0.5,
            ..SgdConfig::default()
        },
    );
    let x: Tensor<Rank1<U5>, f32, D> = Tensor::randn(&mut rng);
    let target: Tensor<Rank0, f32, D> = Tensor::scalar(1.0);

    allocations_per_step(19, || {
        let (y, pullback_model) = model.forward_vjp(&x);
        let (_, (pullback_y, _)) = mse_loss_vjp(&y, &target);
        let (grads, _) = pullback_model(pullback_y(Tensor::scalar(1.0)));
        sgd.step(&mut model, grads);
    })
}

// ---- the classifier Linear(4, 8), ReLU, Linear(8, 3) ----

type Mlp<D> = (Linear<U4, U8, f32, D>, Relu, Linear<U8, U3, f32, D>);

/// Counts the allocations of each of 19 Adam steps of the classifier with
/// cross entropy on a batch of four, after a warm-up step.
fn mlp_allocations<D>() -> Vec<usize>
where
    D: Storage<Rank2<U8, U4>, f32>
        + Storage<Rank1<U8>, f32>
        + Storage<Rank2<U3, U8>, f32>
        + Storage<Rank1<U3>, f32>
        + Storage<Rank2<U4, U4>, f32>
        + Storage<Rank2<U4, U8>, f32>
        + Storage<Rank2<U4, U3>, f32>
        + Storage<Rank1<U4>, f32>
        + Storage<Rank0, f32>,
{
    let mut rng = Rng::seed_from_u64(2);
    let mut model: Mlp<D> = (Linear::new(&mut rng), Relu::new(), Linear::new(&mut rng));
    let mut adam = Adam::new(
        &model,
        AdamConfig {
            lr: 0.01,
            ..AdamConfig::default()
        },
    );
    let x: Tensor<Rank2<U4, U4>, f32, D> = Tensor::randn(&mut rng);
    let labels = [0, 2, 1, 2];
    let targets = ClassIndices::<U4, U3>::from_array(&labels).unwrap();

    allocations_per_step(19, || {
        let (logits, (pullback_model, _)) = model.forward_vjp(&x);
        let (_, (pullback_logits, _)) = cross_entropy_vjp(&logits, &targets);
        let grads = pullback_model(pullback_logits(Tensor::scalar(1.0)));
        adam.step(&mut model, grads);
    })
}

// ---- three blocks Linear(4, 4), ReLU run as one stack ----

type StackBlock<D> = (Linear<U4, U4, f32, D>, Relu);

#[derive(Module, Clone)]
struct ArrayStack<D: Storage<Rank2<U4, U4>, f32> + Storage<Rank1<U4>, f32> + Storage<Rank0, f32>> {
    blocks: [StackBlock<D>; 3],
}

impl<D: Storage<Rank2<U4, U4>, f32> + Storage<Rank1<U4>, f32> + Storage<Rank0, f32>> ArrayStack<D> {
    /// # Shapes
    /// `x`: `[4, 4]`; output: a scalar.
    #[differentiable]
    fn forward(&self, x: &Tensor<Rank2<U4, U4>, f32, D>) -> Tensor<Rank0, f32, D> {
        let h = self.blocks.forward(x);
        h.sum()
    }
}

/// Counts the allocations of each of 19 SGD steps of the array stack,
/// through its `#[differentiable]` method, after a warm-up step.
fn array_stack_allocations<D>() -> Vec<usize>
where
    D: Storage<Rank2<U4, U4>, f32> + Storage<Rank1<U4>, f32> + Storage<Rank0, f32>,
{
    let mut rng = Rng::seed_from_u64(3);
    let mut model = ArrayStack::<D> {
        blocks: core::array::from_fn(|_| (Linear::new(&mut rng), Relu::new())),
    };
    let mut sgd = Sgd::new(&model, SgdConfig { lr: 0.01, ..SgdConfig::default() });
    let x: Tensor<Rank2<U4, U4>, f32, D> = Tensor::randn(&mut rng);

    allocations_per_step(19, || {
        let (_, pullback) = model.forward_vjp(&x);
        let (grads, _) = pullback(Tensor::scalar(1.0));
        sgd.step(&mut model, grads);
    })
}

/// Counts the allocations of each of 19 SGD steps of a `Vec` of three
/// blocks on the `Cpu` device, after a warm-up step.
fn vec_stack_allocations() -> Vec<usize> {
    let mut rng = Rng::seed_from_u64(4);
    let mut model: Vec<StackBlock<Cpu>> =
        (0..3).map(|_| (Linear::new(&mut rng), Relu::new())).collect();
    let mut sgd = Sgd::new(&model, SgdConfig { lr: 0.01, ..SgdConfig::default() });
    let x: Tensor<Rank2<U4, U4>, f32> = Tensor::randn(&mut rng);
    let target: Tensor<Rank2<U4, U4>, f32> = Tensor::zeros();

    allocations_per_step(19, || {
        let (y, (pullback_model, _)) = model.forward_vjp(&x);
        let (_, (pullback_y, _)) = mse_loss_vjp(&y, &target);
        let grads = pullback_model(pullback_y(Tensor::scalar(1.0)));
        sgd.step(&mut model, grads);
    })
}

#[test]
fn counter_sees_heap_allocations() {
    let count = allocations_during(|| drop(std::hint::black_box(Vec::<u8>::with_capacity(16))));
    assert_eq!(count, 1);
}

#[test]
fn inline_neuron_step_allocates_nothing() {
    let counts = neuron_allocations::<Inline>();
    assert_eq!(counts, vec![0; counts.len()]);
}

#[test]
fn inline_mlp_step_allocates_nothing() {
    let counts = mlp_allocations::<Inline>();
    assert_eq!(counts, vec![0; counts.len()]);
}

#[test]
fn cpu_neuron_step_allocates_nothing() {
    // Every tensor of the step has 5 elements or 1, which `Cpu` keeps
    // inside the tensor value.
    let counts = neuron_allocations::<Cpu>();
    assert_eq!(counts, vec![0; counts.len()]);
}

#[test]
fn cpu_small_tensors_skip_heap() {
    // 8 f32 or 4 f64 fit inline. One more element, or a `Dyn` axis of any
    // size, goes to the heap.
    let counts = [
        allocations_during(|| drop(std::hint::black_box(Tensor::<Rank1<U8>, f32, Cpu>::zeros()))),
        allocations_during(|| drop(std::hint::black_box(Tensor::<Rank1<U4>, f64, Cpu>::zeros()))),
        allocations_during(|| drop(std::hint::black_box(Tensor::<Rank1<U9>, f32, Cpu>::zeros()))),
        allocations_during(|| drop(std::hint::black_box(Tensor::<Rank1<U5>, f64, Cpu>::zeros()))),
        allocations_during(|| {
            drop(std::hint::black_box(Tensor::<Rank1<Dyn>, f32, Cpu>::zeros_with_shape(Rank1(Dyn(2)))))
        }),
    ];
    assert_eq!(counts, [0, 0, 1, 1, 1]);
}

#[test]
fn cpu_huge_static_shape_compiles() {
    // 2^62 f32 elements cannot be allocated, but the type must still
    // compile: the size check of the inline buffer must not overflow.
    type Huge = Rank2<autograd::typenum::U<{ 1 << 31 }>, autograd::typenum::U<{ 1 << 31 }>>;
    let zeros: fn() -> Tensor<Huge, f32, Cpu> = Tensor::zeros;
    assert!(!std::hint::black_box(zeros as *const ()).is_null());
}

#[test]
fn cpu_clone_writes_stay_apart() {
    // An inline clone is a copy. A heap clone shares the buffer until one
    // side writes, which copies it. Either way the other side is unchanged.
    let small: Tensor<Rank1<U3>, f32, Cpu> = Tensor::from_array([1.0, 2.0, 3.0]);
    let mut small_clone = small.clone();
    small_clone.as_mut_slice()[0] = 10.0;
    assert_eq!(small.as_slice(), [1.0, 2.0, 3.0]);
    assert_eq!(small_clone.as_slice(), [10.0, 2.0, 3.0]);

    let large: Tensor<Rank1<U9>, f32, Cpu> = Tensor::from_fn(|i| i as f32);
    let mut large_clone = large.clone();
    assert_eq!(large_clone.as_slice().as_ptr(), large.as_slice().as_ptr(), "a heap clone shares");
    let copies = allocations_during(|| large_clone.as_mut_slice()[0] = 10.0);
    assert_eq!(copies, 1, "writing to a shared heap buffer copies it once");
    assert_eq!(large.as_slice()[0], 0.0);
    assert_eq!(large_clone.as_slice()[..2], [10.0, 1.0]);
    let again = allocations_during(|| large_clone.as_mut_slice()[1] = 11.0);
    assert_eq!(again, 0, "a buffer with one owner is written in place");
}

#[test]
fn cpu_mlp_step_allocations_stay_constant() {
    let counts = mlp_allocations::<Cpu>();
    println!("Cpu MLP step: {} heap allocations", counts[0]);
    assert!(counts[0] > 0, "a Cpu step allocates its tensors");
    assert_eq!(counts, vec![counts[0]; counts.len()]);
}

#[test]
fn inline_array_stack_step_allocates_nothing() {
    let counts = array_stack_allocations::<Inline>();
    assert_eq!(counts, vec![0; counts.len()]);
}

#[test]
fn cpu_array_stack_step_allocations_stay_constant() {
    let counts = array_stack_allocations::<Cpu>();
    assert!(counts[0] > 0, "a Cpu step allocates its tensors");
    assert_eq!(counts, vec![counts[0]; counts.len()]);
}

#[test]
fn cpu_vec_stack_step_allocations_stay_constant() {
    let counts = vec_stack_allocations();
    println!("Cpu Vec stack step: {} heap allocations", counts[0]);
    assert!(counts[0] > 0, "a Cpu step allocates its tensors");
    assert_eq!(counts, vec![counts[0]; counts.len()]);
}
