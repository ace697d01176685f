//! Adagrad: gradients divided by the root of the sum of all squared
//! gradients so far.

use autograd::{Float, Leaves, Module};

use super::{check_has_params, CanHoldParams, check_hyperparameter, GradientsOf, Optimizer};

/// Hyperparameters of [`Adagrad`], with PyTorch's defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdagradConfig {
    /// Learning rate (default 1e-2).
    pub lr: f64,
    /// Learning-rate decay: step `t` uses `lr / (1 + (t - 1) · lr_decay)`
    /// (default 0).
    pub lr_decay: f64,
    /// L2 penalty added to the gradient (default 0).
    pub weight_decay: f64,
    /// Starting value of the sum of squared gradients (default 0).
    pub initial_accumulator_value: f64,
    /// Added to the denominator for numerical stability (default 1e-10).
    pub eps: f64,
}

impl Default for AdagradConfig {
    fn default() -> Self {
        AdagradConfig {
            lr: 1e-2,
            lr_decay: 0.0,
            weight_decay: 0.0,
            initial_accumulator_value: 0.0,
            eps: 1e-10,
        }
    }
}

/// Adagrad, as `torch.optim.Adagrad`.
///
/// Each step `t` (from 1), with gradient `g` and parameter `p`:
///
/// ```text
/// g = g + weight_decay · p
/// s = s + g²                       (s starts at initial_accumulator_value)
/// p = p - lr / (1 + (t - 1) · lr_decay) · g / (sqrt(s) + eps)
/// ```
pub struct Adagrad<M: Module> {
    config: AdagradConfig,
    sum: M::Grads,
    steps: u64,
}

impl<M: Module> Adagrad<M> {
    /// Builds the optimizer for `model`, allocating the sum of squared
    /// gradients.
    ///
    /// # Panics
    /// If the model has no parameters (PyTorch's "empty parameter list").
    /// If `lr`, `lr_decay`, `weight_decay`, `initial_accumulator_value` or
    /// `eps` is negative, as PyTorch raises.
    // Not inlined, so that a build error from `CanHoldParams` names the
    // caller's line in release builds too.
    #[track_caller]
    #[inline(never)]
    pub fn new(model: &M, config: AdagradConfig) -> Self {
        let c = config;
        let () = CanHoldParams::<M>::CHECK;
        check_has_params(model, "Adagrad");
        check_hyperparameter(c.lr >= 0.0, "Adagrad", "learning rate", c.lr);
        check_hyperparameter(c.lr_decay >= 0.0, "Adagrad", "lr_decay value", c.lr_decay);
        check_hyperparameter(c.weight_decay >= 0.0, "Adagrad", "weight_decay value", c.weight_decay);
        check_hyperparameter(
            c.initial_accumulator_value >= 0.0,
            "Adagrad",
            "initial_accumulator_value",
            c.initial_accumulator_value,
        );
        check_hyperparameter(c.eps >= 0.0, "Adagrad", "epsilon value", c.eps);

        let mut sum = model.zero_grad();
        let initial = <M::Elem as Float>::from_f64(c.initial_accumulator_value);
        sum.visit_leaves_mut(&mut |s| s.fill(initial));
        Adagrad {
            config,
            sum,
            steps: 0,
        }
    }

    /// The hyperparameters, with the learning rate a scheduler last set.
    pub fn config(&self) -> &AdagradConfig {
        &self.config
    }
}

impl<M: Module> Optimizer for Adagrad<M> {
    type Model = M;

    fn step<G: GradientsOf<M>>(&mut self, model: &mut M, grads: G) {
        let grads = grads.into_grads();
        self.steps += 1;
        let c = self.config;
        let e = <M::Elem as Float>::from_f64;
        let clr = e(c.lr / (1.0 + (self.steps - 1) as f64 * c.lr_decay));
        let (weight_decay, eps) = (e(c.weight_decay), e(c.eps));

        model.lockstep(&grads, [&mut self.sum], &mut move |p, g, [s]| {
            for ((p, &g), s) in p.iter_mut().zip(g).zip(s.iter_mut()) {
                let g = g + weight_decay * *p;
                *s += g * g;
                *p -= clr * g / (s.sqrt() + eps);
            }
        });
    }

    fn lr(&self) -> f64 {
        self.config.lr
    }

    fn set_lr(&mut self, lr: f64) {
        self.config.lr = lr;
    }
}
