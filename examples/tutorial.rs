//! The steps of PyTorch's autograd introduction in this library's terms: a
//! custom `Function` with a hand-written backward pass, a neuron and its
//! gradients, an optimizer step, and the same neuron as a module.
//!
//! ```text
//! cargo run --release --example tutorial
//! ```
//!
//! Everything runs in `f64`, the precision `gradcheck` needs. Each step
//! checks its numbers against a derivation by hand and exits with status 1
//! when they disagree.

use std::marker::PhantomData;
use std::process;

use autograd::typenum::{U1, U5};
use autograd::{
    differentiable, gradcheck, gradcheck_function, AddVjp, Cpu, Function, GradcheckOptions, Module,
    NoGrad, Param, Rank0, Rank1, Rank2, Rng, Shape, Storage, Tensor,
};
use nn::layers::{Forward, Linear};
use nn::loss::{mse_loss, mse_loss_vjp};
use nn::optim::{Optimizer, Sgd, SgdConfig};

type Vector = Tensor<Rank1<U5>, f64>;
type Scalar = Tensor<Rank0, f64>;

fn main() {
    let mut rng = Rng::seed_from_u64(0);

    custom_function(&mut rng);
    let (params, grads, x, label) = neuron_gradients(&mut rng);

    // Steps 4 and 5 take the weights of step 2 from before the SGD step, so
    // their gradients must equal step 2's.
    let neuron = Neuron {
        weight: params.0.clone(),
        bias: params.1.clone(),
    };
    sgd_step(params, grads.clone());
    derived_neuron(&neuron, &grads, &x, &label);
    layer_neuron(&neuron, &x, &label);
}

/// The logistic sigmoid `1 / (1 + e^-x)` with a hand-written backward
/// pass, for tensors of any shape `S`.
///
/// In PyTorch:
///
/// ```python
/// class Sigmoid(torch.autograd.Function):
///     @staticmethod
///     def forward(ctx, x):
///         y = 1 / (1 + torch.exp(-x))
///         ctx.save_for_backward(y)
///         return y
///
///     @staticmethod
///     def backward(ctx, grad_output):
///         y, = ctx.saved_tensors
///         return grad_output * y * (1 - y)
/// ```
///
/// Here `ctx.save_for_backward` becomes the `Saved` type, which `forward`
/// returns and `backward` consumes, and the gradient types follow from
/// `Input` and `Output`. A `backward` that returns a gradient of the wrong
/// shape, or one gradient for a two-tensor input, does not compile, where
/// PyTorch raises an error only when `backward` runs (the compile-fail case
/// `tests/ui/misuse/row13_function_wrong_grads.rs`).
struct Sigmoid<S>(PhantomData<S>);

impl<S: Shape> Function for Sigmoid<S>
where
    Cpu: Storage<S, f64>,
{
    type Input = Tensor<S, f64>;
    type Output = Tensor<S, f64>;
    /// The output `y`, since `dy/dx = y (1 - y)` needs nothing else.
    type Saved = Tensor<S, f64>;

    fn forward(x: &Tensor<S, f64>) -> (Tensor<S, f64>, Tensor<S, f64>) {
        let y = x.map(|v| 1.0 / (1.0 + (-v).exp()));
        (y.clone(), y)
    }

    fn backward(y: Tensor<S, f64>, grad_output: Tensor<S, f64>) -> Tensor<S, f64> {
        grad_output.zip_map(&y, |g, y| g * y * (1.0 - y))
    }
}

/// Step 1: the custom `Function`, checked against the built-in sigmoid and
/// by finite differences.
fn custom_function(rng: &mut Rng) {
    println!("== 1. A custom Function: sigmoid with a hand-written backward\n");

    // `apply_vjp` runs `Sigmoid.apply(x)` and also returns the pullback: the
    // closure that `backward` becomes once the saved output is bound to it.
    let x: Vector = Tensor::randn(rng);
    let (y, pullback) = Sigmoid::apply_vjp(&x);
    let grad = pullback(Tensor::ones());
    println!("x                    = {x}");
    println!("Sigmoid(x)           = {y}");
    println!("d sum(Sigmoid(x))/dx = {grad}");

    // The built-in op `x.sigmoid()` and its VJP form `x.sigmoid_vjp()`
    // (`torch.sigmoid`) must give the same values and gradients.
    let (builtin_y, (builtin_pullback,)) = x.sigmoid_vjp();
    let builtin_grad = builtin_pullback(Tensor::ones());
    check_close("Sigmoid(x) against x.sigmoid()", &y, &builtin_y, 1e-15);
    check_close(
        "Sigmoid's gradient against sigmoid_vjp's",
        &grad,
        &builtin_grad,
        1e-15,
    );
    println!("matches x.sigmoid() and its gradient");

    // `torch.autograd.gradcheck(Sigmoid.apply, (x,))`: every entry of the
    // Jacobian from the pullback against central differences, with
    // PyTorch's default tolerances. The second input saturates the sigmoid,
    // where `y (1 - y)` must go to 0 rather than to NaN.
    let saturated: Vector = Tensor::from_array([-40.0, -5.0, 0.0, 5.0, 40.0]);
    for input in [&x, &saturated] {
        if let Err(error) =
            gradcheck_function::<Sigmoid<Rank1<U5>>>(input, GradcheckOptions::default())
        {
            fail(&format!("gradcheck of Sigmoid at {input}: {error}"));
        }
    }
    println!("gradcheck passes at x and at {saturated}\n");
}

/// The neuron's trainable parameters: a tuple of `Param`s is a module, so
/// an optimizer can update it (PyTorch's `[w, b]` parameter list).
type NeuronParams = (Param<Vector>, Param<Scalar>);

/// Step 2: a neuron `sigmoid(w·x + b)`, its MSE loss against a label, and
/// the gradients of its weights and bias, pulled back op by op.
fn neuron_gradients(rng: &mut Rng) -> (NeuronParams, (Vector, Scalar), Vector, Scalar) {
    println!("== 2. A neuron, its loss and the gradients of its weights\n");

    // In PyTorch:
    //
    //     x = torch.tensor([1.0, 2.0, -1.0, 0.5, 3.0])
    //     label = torch.tensor(1.0)
    //     w = torch.randn(5, requires_grad=True)
    //     b = torch.randn((), requires_grad=True)
    //
    // `Param` is the `requires_grad=True` mark: it marks a tensor that the
    // optimizer updates. Ops take a `Param` wherever they take a tensor.
    let x: Vector = Tensor::from_array([1.0, 2.0, -1.0, 0.5, 3.0]);
    let label: Scalar = Tensor::scalar(1.0);
    let neuron: NeuronParams = (
        Param::new(Tensor::randn(rng)),
        Param::new(Tensor::randn(rng)),
    );
    let (w, b) = (&neuron.0, &neuron.1);

    // The forward pass, `loss = F.mse_loss(Sigmoid.apply(w @ x + b), label)`.
    // PyTorch records each op in a graph as it runs. Here each op's VJP form
    // returns its output with one pullback per argument, and the program
    // keeps the pullbacks it needs. `_` drops the pullbacks for `x` and the
    // label, so their gradients are never computed.
    let (wx, (pullback_w, _)) = w.dot_vjp(&x);
    let (z, (pullback_wx, pullback_b)) = wx.add_vjp(b.value());
    let (prediction, pullback_sigmoid) = Sigmoid::apply_vjp(&z);
    let (loss, (pullback_prediction, _)) = mse_loss_vjp(&prediction, &label);

    // The backward pass, `loss.backward()`: seed the loss with 1 and run the
    // pullbacks in reverse order. `z` feeds two pullbacks, so its cotangent
    // is cloned for the first.
    let grad_prediction = pullback_prediction(Tensor::scalar(1.0));
    let grad_z = pullback_sigmoid(grad_prediction);
    let grad_b = pullback_b(grad_z.clone());
    let grad_w = pullback_w(pullback_wx(grad_z));

    println!("x = {x}, label = {label}");
    println!("w = {}, b = {}", w.value(), b.value());
    println!("prediction = {prediction}, loss = {loss}");
    println!("w.grad = {grad_w}");
    println!("b.grad = {grad_b}");

    // By the chain rule, with p the prediction:
    //   dloss/dz = 2 (p - label) · p (1 - p),  dloss/dw = dloss/dz · x,
    //   dloss/db = dloss/dz.
    let p = prediction.item();
    let dz = 2.0 * (p - label.item()) * p * (1.0 - p);
    check_close(
        "b.grad against the chain rule",
        &grad_b,
        &Tensor::scalar(dz),
        1e-12,
    );
    check_close(
        "w.grad against the chain rule",
        &grad_w,
        &x.map(|xi| dz * xi),
        1e-12,
    );
    println!("both match the chain rule, dloss/dz · x and dloss/dz\n");

    // Step 4 writes only the forward pass and lets `#[differentiable]`
    // generate this backward pass.
    (neuron, (grad_w, grad_b), x, label)
}

/// Step 3: one step of SGD with learning rate 0.1.
fn sgd_step(mut neuron: NeuronParams, grads: (Vector, Scalar)) {
    println!("== 3. One SGD step, lr = 0.1\n");

    // `optimizer = torch.optim.SGD([w, b], lr=0.1)`, then
    // `optimizer.step()`. The step consumes the gradients, so the next step
    // needs new ones, and there is no `optimizer.zero_grad()` to forget.
    let mut sgd = Sgd::new(
        &neuron,
        SgdConfig {
            lr: 0.1,
            ..SgdConfig::default()
        },
    );
    let before = neuron.clone();
    sgd.step(&mut neuron, grads.clone());

    println!("w before = {}", before.0.value());
    println!("w after  = {}", neuron.0.value());
    println!(
        "b before = {}, after = {}",
        before.1.value(),
        neuron.1.value()
    );

    // Plain SGD is `p ← p - lr · grad`.
    let expected_w = before.0.zip_map(&grads.0, |w, g| w - 0.1 * g);
    let expected_b = before.1.zip_map(&grads.1, |b, g| b - 0.1 * g);
    check_close("w after the step", &neuron.0, &expected_w, 1e-15);
    check_close("b after the step", &neuron.1, &expected_b, 1e-15);
    println!("both moved by -0.1 · grad\n");
}

/// The neuron of step 2 as a model, PyTorch's
///
/// ```python
/// class Neuron(nn.Module):
///     def __init__(self):
///         super().__init__()
///         self.weight = nn.Parameter(torch.randn(5))
///         self.bias = nn.Parameter(torch.randn(()))
///
///     def forward(self, x):
///         return Sigmoid.apply(self.weight @ x + self.bias)
/// ```
///
/// `#[derive(Module)]` finds the `Param` fields, names them `weight` and
/// `bias` as `named_parameters()` does, and generates the gradient struct
/// `NeuronGrads { weight, bias }` that mirrors the model.
///
/// Forgetting the trainable mark does not compile. In PyTorch,
/// `self.weight = torch.randn(5)` without `nn.Parameter` runs, and the
/// weight is silently left out of `parameters()` and never trained. Here a
/// plain `weight: Tensor<Rank1<U5>, f64>` field is rejected with "field
/// `weight` is a plain Tensor, so it would never be trained: wrap it in
/// `Param<...>` to train it, or mark the field `#[module(constant)]` to keep
/// it constant". The compile-fail case `tests/ui/module/plain_tensor_field.rs`
/// pins that message.
#[derive(Module, Clone)]
struct Neuron {
    weight: Param<Vector>,
    bias: Param<Scalar>,
}

impl Neuron {
    /// Computes `sigmoid(weight · x + bias)`.
    ///
    /// `#[differentiable]` reads this body and generates `forward_vjp`, whose
    /// pullback returns `(NeuronGrads, x's gradient)`: the gradient of
    /// `self.weight` lands in `grads.weight`. The backward pass is generated at
    /// compile time, so no graph is recorded when this runs.
    #[differentiable]
    fn forward(&self, x: &Vector) -> Scalar {
        let z = self.weight.dot(x) + &*self.bias;
        Sigmoid::<Rank0>::apply(&z)
    }

    /// Computes `F.mse_loss(self(x), label)`. A scalar result also gets
    /// `loss_grad`, the value with every gradient: PyTorch's `loss.backward()`
    /// followed by reading `.grad`. `#[no_grad]` arguments get no gradient,
    /// as tensors without `requires_grad` in PyTorch.
    #[differentiable]
    fn loss(&self, #[no_grad] x: &Vector, #[no_grad] label: &Scalar) -> Tensor<Rank0, f64> {
        mse_loss(&self.forward(x), label)
    }
}

/// Step 4: the neuron as a derived model, whose backward pass
/// `#[differentiable]` generates. Its gradients must equal step 2's.
fn derived_neuron(neuron: &Neuron, expected: &(Vector, Scalar), x: &Vector, label: &Scalar) {
    println!("== 4. The neuron as a module, with a generated backward pass\n");

    // The method itself runs the forward pass only, as under
    // `torch.no_grad()`.
    println!("loss = {}", neuron.loss(x, label));

    // `loss.backward()`, then `neuron.weight.grad` and `neuron.bias.grad`.
    // The inputs' slots hold `NoGrad`, because of `#[no_grad]`.
    let (_, (grads, NoGrad, NoGrad)) = neuron.loss_grad(x, label);
    println!("grads.weight = {}", grads.weight);
    println!("grads.bias   = {}", grads.bias);
    check_close(
        "the generated weight gradient",
        &grads.weight,
        &expected.0,
        1e-15,
    );
    check_close(
        "the generated bias gradient",
        &grads.bias,
        &expected.1,
        1e-15,
    );
    println!("equal to step 2's hand-written pullbacks");

    // The generated pullback for the input, checked by finite differences:
    // `gradcheck` perturbs `x` and compares with `forward_vjp`'s slot 1.
    let result = gradcheck(
        |x: &Vector| neuron.forward(x),
        |x| {
            let (prediction, pullback) = neuron.forward_vjp(x);
            (prediction, move |cotangent| pullback(cotangent).1)
        },
        x,
        GradcheckOptions::default(),
    );
    if let Err(error) = result {
        fail(&format!("gradcheck of Neuron::forward: {error}"));
    }
    println!("gradcheck passes for the gradient of the input\n");

    // `for name, p in neuron.named_parameters(): print(name, p.shape, p)`, and
    // `print(neuron)`.
    println!("parameters ({} in all):", neuron.num_params());
    neuron.visit_params(None, &mut |name, dims, values| {
        println!("  {name}: shape {dims:?}, values {values:.4?}");
    });
    println!("{neuron}\n");
}

/// The same neuron built from a layer, PyTorch's
///
/// ```python
/// class LinearNeuron(nn.Module):
///     def __init__(self):
///         super().__init__()
///         self.linear = nn.Linear(5, 1)
///
///     def forward(self, x):
///         return Sigmoid.apply(self.linear(x))
/// ```
///
/// Nested modules need nothing more than a field: the parameters are named
/// `linear.weight` and `linear.bias`.
#[derive(Module)]
struct LinearNeuron {
    linear: Linear<U5, U1, f64>,
}

impl LinearNeuron {
    /// Computes `sigmoid(linear(x))`. `self.linear.forward(x)` becomes a call
    /// of the layer's `forward_vjp`, and its parameter gradients land in
    /// `grads.linear`.
    #[differentiable]
    fn forward(&self, x: &Vector) -> Tensor<Rank1<U1>, f64> {
        let z = self.linear.forward(x);
        Sigmoid::<Rank1<U1>>::apply(&z)
    }

    /// Computes `F.mse_loss(self(x), label)` for a one-element label.
    #[differentiable]
    fn loss(
        &self,
        #[no_grad] x: &Vector,
        #[no_grad] label: &Tensor<Rank1<U1>, f64>,
    ) -> Tensor<Rank0, f64> {
        mse_loss(&self.forward(x), label)
    }
}

/// Step 5: the neuron with a `Linear<U5, U1>` field, given step 2's weights,
/// so that it computes the same loss and gradients.
fn layer_neuron(neuron: &Neuron, x: &Vector, label: &Scalar) {
    println!("== 5. The neuron built from a Linear layer\n");

    // `nn.Linear(5, 1)` stores its weight as `[out, in] = [1, 5]` and its
    // bias as `[1]`, so step 2's `[5]` and `[]` tensors are reshaped. A
    // reshape to a shape with another number of elements does not compile.
    let weight: Tensor<Rank2<U1, U5>, f64> = neuron.weight.reshape();
    let bias: Tensor<Rank1<U1>, f64> = neuron.bias.reshape();
    let model = LinearNeuron {
        linear: Linear::from_tensors(weight, bias),
    };

    println!("parameters ({} in all):", model.num_params());
    model.visit_params(None, &mut |name, dims, values| {
        println!("  {name}: shape {dims:?}, values {values:.4?}");
    });
    println!("{model}");

    let prediction = model.forward(x);
    let label: Tensor<Rank1<U1>, f64> = label.reshape();
    println!(
        "prediction = {prediction}, loss = {}",
        model.loss(x, &label)
    );
    check_close(
        "the layer neuron's prediction",
        &prediction,
        &neuron.forward(x).reshape(),
        1e-15,
    );

    let (loss, (grads, NoGrad, NoGrad)) = model.loss_grad(x, &label);
    let (expected_loss, (expected, NoGrad, NoGrad)) = neuron.loss_grad(x, &label.reshape());
    println!("grads.linear.weight = {}", grads.linear.weight);
    println!("grads.linear.bias   = {}", grads.linear.bias);
    check_close("the layer neuron's loss", &loss, &expected_loss, 1e-15);
    check_close(
        "the layer's weight gradient",
        &grads.linear.weight,
        &expected.weight.reshape(),
        1e-15,
    );
    check_close(
        "the layer's bias gradient",
        &grads.linear.bias,
        &expected.bias.reshape(),
        1e-15,
    );
    println!("the same prediction, loss and gradients as the neuron of step 4");
}

/// Exits with status 1 unless every element of `found` is within
/// `tolerance` of `expected`.
fn check_close<S: Shape>(
    what: &str,
    found: &Tensor<S, f64>,
    expected: &Tensor<S, f64>,
    tolerance: f64,
) where
    Cpu: Storage<S, f64>,
{
    let max_error = found
        .as_slice()
        .iter()
        .zip(expected.as_slice())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    if max_error > tolerance {
        fail(&format!("{what}: found {found}, expected {expected}"));
    }
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    process::exit(1);
}
