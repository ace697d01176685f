//! Stochastic gradient descent with momentum, dampening, Nesterov momentum
//! and L2 weight decay.

use autograd::{Float, Module};

use super::{check_has_params, CanHoldParams, check_hyperparameter, GradientsOf, Optimizer};

/// Hyperparameters of [`Sgd`], with PyTorch's defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdConfig {
    /// Learning rate (PyTorch's default 1e-3).
    pub lr: f64,
    /// Momentum factor (default 0, no momentum buffer).
    pub momentum: f64,
    /// Dampening of the gradient added to the momentum buffer (default 0).
    pub dampening: f64,
    /// Whether to use Nesterov momentum (needs `momentum > 0` and
    /// `dampening == 0`).
    pub nesterov: bool,
    /// L2 penalty added to the gradient (default 0).
    pub weight_decay: f64,
}

impl Default for SgdConfig {
    fn default() -> Self {
        SgdConfig {
            lr: 1e-3,
            momentum: 0.0,
            dampening: 0.0,
            nesterov: false,
            weight_decay: 0.0,
        }
    }
}

/// Stochastic gradient descent, as `torch.optim.SGD`.
///
/// Each step, with gradient `g` and parameter `p`:
///
/// ```text
/// g = g + weight_decay · p
/// b = g                                       on the first step
/// b = momentum · b + (1 - dampening) · g      later
/// g = g + momentum · b  if nesterov,  else  g = b      (when momentum ≠ 0)
/// p = p - lr · g
/// ```
///
/// The momentum buffer `b` is allocated when the optimizer is built, and only
/// when `momentum` is not 0.
pub struct Sgd<M: Module> {
    config: SgdConfig,
    momentum_buffer: Option<M::Grads>,
    steps: u64,
}

impl<M: Module> Sgd<M> {
    /// Builds the optimizer for `model`, allocating its momentum buffer.
    ///
    /// # Panics
    /// If the model has no parameters (PyTorch's "empty parameter list").
    /// If a hyperparameter is negative, or `nesterov` is set without
    /// `momentum > 0` and `dampening == 0`, as PyTorch raises.
    // Not inlined, so that a build error from `CanHoldParams` names the
    // caller's line in release builds too.
    #[track_caller]
    #[inline(never)]
    pub fn new(model: &M, config: SgdConfig) -> Self {
        let () = CanHoldParams::<M>::CHECK;
        check_has_params(model, "Sgd");
        check_hyperparameter(config.lr >= 0.0, "Sgd", "learning rate", config.lr);
        check_hyperparameter(config.momentum >= 0.0, "Sgd", "momentum", config.momentum);
        check_hyperparameter(config.weight_decay >= 0.0, "Sgd", "weight_decay", config.weight_decay);
        assert!(
            !config.nesterov || (config.momentum > 0.0 && config.dampening == 0.0),
            "Sgd: Nesterov momentum needs momentum > 0 and dampening = 0, found momentum \
             {} and dampening {}",
            config.momentum,
            config.dampening
        );
        Sgd {
            config,
            momentum_buffer: (config.momentum != 0.0).then(|| model.zero_grad()),
            steps: 0,
        }
    }

    /// The hyperparameters, with the learning rate a scheduler last set.
    pub fn config(&self) -> &SgdConfig {
        &self.config
    }
}

impl<M: Module> Optimizer for Sgd<M> {
    type Model = M;

    fn step<G: GradientsOf<M>>(&mut self, model: &mut M, grads: G) {
        let grads = grads.into_grads();
        let c = self.config;
        let e = <M::Elem as Float>::from_f64;
        let (lr, weight_decay) = (e(c.lr), e(c.weight_decay));
        let (momentum, keep) = (e(c.momentum), e(1.0 - c.dampening));
        let first = self.steps == 0;
        self.steps += 1;

        match &mut self.momentum_buffer {
            None => model.lockstep(&grads, [], &mut move |p, g, []| {
                for (p, &g) in p.iter_mut().zip(g) {
                    *p -= lr * (g + weight_decay * *p);
                }
            }),
            Some(buffer) => model.lockstep(&grads, [buffer], &mut move |p, g, [b]| {
                for ((p, &g), b) in p.iter_mut().zip(g).zip(b.iter_mut()) {
                    let g = g + weight_decay * *p;
                    *b = if first { g } else { momentum * *b + keep * g };
                    let direction = if c.nesterov { g + momentum * *b } else { *b };
                    *p -= lr * direction;
                }
            }),
        }
    }

    fn lr(&self) -> f64 {
        self.config.lr
    }

    fn set_lr(&mut self, lr: f64) {
        self.config.lr = lr;
    }
}
