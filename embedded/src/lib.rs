//! A `no_std` static library that trains small models with `autograd` and
//! `nn` on the `Inline` device, with no heap.
//!
//! It links neither `std` nor `alloc`: rustc rejects a static library that
//! needs an allocator but defines no `#[global_allocator]` ("no global memory
//! allocator found"), and one that links `std` next to the `#[panic_handler]`
//! below (duplicate `panic_impl`). A successful build therefore shows that a
//! full training step (forward, backward, optimizer step) runs without both.
//!
//! The C caller owns the parameters as flat `float` arrays in PyTorch's
//! state-dict order. Each call copies them into `Inline` tensors on the
//! stack, runs one step of SGD and writes them back.
#![no_std]

use autograd::typenum::{U3, U4, U5, U8};
use autograd::{differentiable, Inline, Module, Param, Rank0, Rank1, Rank2, StaticModule, Tensor};
use nn::layers::{Forward, Linear, Relu};
use nn::loss::{cross_entropy_vjp, mse_loss_vjp, ClassIndices};
use nn::optim::{Optimizer, Sgd, SgdConfig};

type Features = Tensor<Rank1<U5>, f32, Inline>;
type Scalar = Tensor<Rank0, f32, Inline>;

/// The tutorial neuron `sigmoid(w · x + b)` with five inputs.
#[derive(Module, Clone)]
struct Neuron {
    weight: Param<Features>,
    bias: Param<Scalar>,
}

impl Neuron {
    /// # Shapes
    /// `x`: `[5]`; output: a scalar in `(0, 1)`.
    #[differentiable]
    fn forward(&self, x: &Features) -> Scalar {
        let z = (&*self.weight * x).sum() + &*self.bias;
        z.sigmoid()
    }

    fn from_params(params: &[f32; NEURON_NUM_PARAMS]) -> Self {
        let mut model = Neuron {
            weight: Param::new(Tensor::zeros()),
            bias: Param::new(Tensor::zeros()),
        };
        load_params(&mut model, params);
        model
    }
}

/// The number of parameters of the neuron: 5 weights, then the bias.
pub const NEURON_NUM_PARAMS: usize = <Neuron as StaticModule>::NUM_PARAMS;

/// The batch size of [`embedded_mlp_train_step`].
pub const MLP_BATCH: usize = 4;

/// The classifier `Linear(4, 8)`, ReLU, `Linear(8, 3)`.
type Mlp = (
    Linear<U4, U8, f32, Inline>,
    Relu<f32>,
    Linear<U8, U3, f32, Inline>,
);

/// The number of parameters of the classifier: `0.weight` (8×4), `0.bias`
/// (8), `2.weight` (3×8), `2.bias` (3), in this order.
pub const MLP_NUM_PARAMS: usize = <Mlp as StaticModule>::NUM_PARAMS;

/// Returns the neuron's output for `x`; `params` contains the 5 weights, then
/// the bias.
#[no_mangle]
pub extern "C" fn embedded_neuron_predict(params: &[f32; NEURON_NUM_PARAMS], x: &[f32; 5]) -> f32 {
    Neuron::from_params(params)
        .forward(&Tensor::from_array(*x))
        .item()
}

/// Runs one SGD step of the neuron on one sample with the squared error,
/// and returns the loss before the step.
///
/// `params` contains the 5 weights, then the bias, and is updated in place.
#[no_mangle]
pub extern "C" fn embedded_neuron_train_step(
    params: &mut [f32; NEURON_NUM_PARAMS],
    x: &[f32; 5],
    target: f32,
    lr: f32,
) -> f32 {
    let mut model = Neuron::from_params(params);
    let x: Features = Tensor::from_array(*x);
    let target: Scalar = Tensor::scalar(target);

    let (y, pullback_model) = model.forward_vjp(&x);
    let (loss, (pullback_y, _)) = mse_loss_vjp(&y, &target);
    let (grads, _) = pullback_model(pullback_y(Tensor::scalar(1.0)));

    sgd(&model, lr).step(&mut model, grads);
    store_params(&mut model, params);
    loss.item()
}

/// Runs one SGD step of the 4-8-3 classifier on a batch of four samples
/// with cross entropy, and returns the loss before the step.
///
/// `params` contains the parameters in the order of [`MLP_NUM_PARAMS`] and is
/// updated in place. `labels` are class indices in `0..3`; for any other
/// index the function returns NaN and leaves `params` unchanged.
#[no_mangle]
pub extern "C" fn embedded_mlp_train_step(
    params: &mut [f32; MLP_NUM_PARAMS],
    x: &[[f32; 4]; MLP_BATCH],
    labels: &[usize; MLP_BATCH],
    lr: f32,
) -> f32 {
    let Ok(targets) = ClassIndices::<U4, U3>::from_array(labels) else {
        return f32::NAN;
    };
    let mut model: Mlp = (
        Linear {
            weight: Param::new(Tensor::zeros()),
            bias: Param::new(Tensor::zeros()),
        },
        Relu::new(),
        Linear {
            weight: Param::new(Tensor::zeros()),
            bias: Param::new(Tensor::zeros()),
        },
    );
    load_params(&mut model, params);

    let x: Tensor<Rank2<U4, U4>, f32, Inline> = Tensor::from_array(*x);
    let (logits, (pullback_model, _)) = model.forward_vjp(&x);
    let (loss, (pullback_logits, _)) = cross_entropy_vjp(&logits, &targets);
    let grads = pullback_model(pullback_logits(Tensor::scalar(1.0)));

    sgd(&model, lr).step(&mut model, grads);
    store_params(&mut model, params);
    loss.item()
}

fn sgd<M: Module>(model: &M, lr: f32) -> Sgd<M> {
    Sgd::new(
        model,
        SgdConfig {
            lr: f64::from(lr),
            ..SgdConfig::default()
        },
    )
}

/// Copies `params` into the model's parameters in state-dict order.
fn load_params<M: Module<Elem = f32>>(model: &mut M, params: &[f32]) {
    let mut offset = 0;
    model.visit_params_mut(None, &mut |_, _, param| {
        param.copy_from_slice(&params[offset..offset + param.len()]);
        offset += param.len();
    });
}

/// Copies the model's parameters into `params` in state-dict order.
fn store_params<M: Module<Elem = f32>>(model: &mut M, params: &mut [f32]) {
    let mut offset = 0;
    model.visit_params(None, &mut |_, _, param| {
        params[offset..offset + param.len()].copy_from_slice(param);
        offset += param.len();
    });
}

/// Stops on a panic: without `std` there is nothing to unwind to or print
/// with. Panics are limited to broken invariants (a slice length that does
/// not match), since the types fix every shape.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {
        core::hint::spin_loop();
    }
}
