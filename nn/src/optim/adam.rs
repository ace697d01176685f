//! Adam and AdamW: adaptive moment estimation with L2 or decoupled weight
//! decay, and the AMSGrad variant.

use autograd::{Float, Module};

use super::{check_has_params, CanHoldParams, check_hyperparameter, GradientsOf, Optimizer};

/// Hyperparameters of [`Adam`], with PyTorch's defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamConfig {
    /// Learning rate (default 1e-3).
    pub lr: f64,
    /// Decay rates of the first and second moment estimates (default
    /// `(0.9, 0.999)`).
    pub betas: (f64, f64),
    /// Added to the denominator for numerical stability (default 1e-8).
    pub eps: f64,
    /// L2 penalty added to the gradient (default 0).
    pub weight_decay: f64,
    /// Whether to use the maximum of all second moment estimates so far
    /// (AMSGrad, default false).
    pub amsgrad: bool,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            amsgrad: false,
        }
    }
}

/// Hyperparameters of [`AdamW`], with PyTorch's defaults: the same as
/// [`AdamConfig`] except `weight_decay`, which is decoupled and defaults to
/// 1e-2.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamWConfig {
    /// Learning rate (default 1e-3).
    pub lr: f64,
    /// Decay rates of the moment estimates (default `(0.9, 0.999)`).
    pub betas: (f64, f64),
    /// Added to the denominator for numerical stability (default 1e-8).
    pub eps: f64,
    /// Decoupled weight decay: each step multiplies the parameters by
    /// `1 - lr · weight_decay` (default 1e-2).
    pub weight_decay: f64,
    /// Whether to use AMSGrad (default false).
    pub amsgrad: bool,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        AdamWConfig {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 1e-2,
            amsgrad: false,
        }
    }
}

/// The form of weight decay: a gradient term or a parameter shrink.
#[derive(Clone, Copy, Debug, PartialEq)]
enum WeightDecay {
    /// Added to the gradient (Adam).
    L2,
    /// Applied to the parameter before the update (AdamW).
    Decoupled,
}

/// The state shared by Adam and AdamW.
struct Moments<M: Module> {
    config: AdamConfig,
    decay: WeightDecay,
    exp_avg: M::Grads,
    exp_avg_sq: M::Grads,
    max_exp_avg_sq: Option<M::Grads>,
    steps: u64,
}

impl<M: Module> Moments<M> {
    #[track_caller]
    fn new(name: &str, model: &M, config: AdamConfig, decay: WeightDecay) -> Self {
        let (beta1, beta2) = config.betas;
        check_has_params(model, name);
        check_hyperparameter(config.lr >= 0.0, name, "learning rate", config.lr);
        check_hyperparameter(config.eps >= 0.0, name, "epsilon value", config.eps);
        check_hyperparameter((0.0..1.0).contains(&beta1), name, "beta parameter at index 0", beta1);
        check_hyperparameter((0.0..1.0).contains(&beta2), name, "beta parameter at index 1", beta2);
        check_hyperparameter(config.weight_decay >= 0.0, name, "weight_decay value", config.weight_decay);
        Moments {
            config,
            decay,
            exp_avg: model.zero_grad(),
            exp_avg_sq: model.zero_grad(),
            max_exp_avg_sq: config.amsgrad.then(|| model.zero_grad()),
            steps: 0,
        }
    }

    // As PyTorch's single-tensor implementation:
    //   m = lerp(m, g, 1 - β1),  v = β2 v + (1 - β2) g²,  v_max = max(v_max, v)
    //   p = p - (lr / (1 - β1^t)) · m / (sqrt(v or v_max) / sqrt(1 - β2^t) + eps)
    fn step(&mut self, model: &mut M, grads: M::Grads) {
        self.steps += 1;
        let c = self.config;
        let (beta1, beta2) = c.betas;
        let t = self.steps as i32;
        let bias_correction1 = 1.0 - Float::powi(beta1, t);
        let bias_correction2_sqrt = libm::sqrt(1.0 - Float::powi(beta2, t));

        let e = <M::Elem as Float>::from_f64;
        let step_size = e(c.lr / bias_correction1);
        let bias_correction2_sqrt = e(bias_correction2_sqrt);
        let (one_minus_beta1, beta2, one_minus_beta2) = (e(1.0 - beta1), e(beta2), e(1.0 - c.betas.1));
        let eps = e(c.eps);
        let (l2, decoupled_factor) = match self.decay {
            WeightDecay::L2 => (e(c.weight_decay), e(1.0)),
            WeightDecay::Decoupled => (e(0.0), e(1.0 - c.lr * c.weight_decay)),
        };

        let update = move |p: &mut M::Elem, g: M::Elem, m: &mut M::Elem, v: &mut M::Elem| {
            *p *= decoupled_factor;
            let g = g + l2 * *p;
            *m += (g - *m) * one_minus_beta1;
            *v = beta2 * *v + one_minus_beta2 * g * g;
        };
        let apply = move |p: &mut M::Elem, m: M::Elem, second: M::Elem| {
            let denom = second.sqrt() / bias_correction2_sqrt + eps;
            *p -= step_size * m / denom;
        };

        // Zipped slices without branches in the loop body, so the compiler
        // vectorises each loop.
        let (exp_avg, exp_avg_sq) = (&mut self.exp_avg, &mut self.exp_avg_sq);
        match &mut self.max_exp_avg_sq {
            None => model.lockstep(&grads, [exp_avg, exp_avg_sq], &mut |p, g, [m, v]| {
                let lanes = p.iter_mut().zip(g).zip(m.iter_mut().zip(v.iter_mut()));
                for ((p, &g), (m, v)) in lanes {
                    update(p, g, m, v);
                    apply(p, *m, *v);
                }
            }),
            Some(max) => model.lockstep(&grads, [exp_avg, exp_avg_sq, max], &mut |p, g, [m, v, v_max]| {
                let lanes = p.iter_mut().zip(g).zip(m.iter_mut().zip(v.iter_mut()).zip(v_max.iter_mut()));
                for ((p, &g), ((m, v), v_max)) in lanes {
                    update(p, g, m, v);
                    *v_max = v_max.max(*v);
                    apply(p, *m, *v_max);
                }
            }),
        }
    }
}

/// Adam, as `torch.optim.Adam`, with `weight_decay` as an L2 penalty added
/// to the gradient and optional AMSGrad.
///
/// Each step `t` (from 1), with gradient `g` and parameter `p`:
///
/// ```text
/// g = g + weight_decay · p
/// m = β1 · m + (1 - β1) · g
/// v = β2 · v + (1 - β2) · g²
/// v_max = max(v_max, v)                           (amsgrad; then v_max replaces v below)
/// p = p - lr / (1 - β1^t) · m / (sqrt(v) / sqrt(1 - β2^t) + eps)
/// ```
pub struct Adam<M: Module> {
    moments: Moments<M>,
}

impl<M: Module> Adam<M> {
    /// Builds the optimizer for `model`, allocating its moment estimates.
    ///
    /// # Panics
    /// If the model has no parameters (PyTorch's "empty parameter list").
    /// If a hyperparameter is out of range (a beta outside `[0, 1)`, a
    /// negative `lr`, `eps` or `weight_decay`), as PyTorch raises.
    // Not inlined, so that a build error from `CanHoldParams` names the
    // caller's line in release builds too.
    #[track_caller]
    #[inline(never)]
    pub fn new(model: &M, config: AdamConfig) -> Self {
        let () = CanHoldParams::<M>::CHECK;
        Adam {
            moments: Moments::new("Adam", model, config, WeightDecay::L2),
        }
    }

    /// The hyperparameters, with the learning rate a scheduler last set.
    pub fn config(&self) -> &AdamConfig {
        &self.moments.config
    }
}

impl<M: Module> Optimizer for Adam<M> {
    type Model = M;

    fn step<G: GradientsOf<M>>(&mut self, model: &mut M, grads: G) {
        self.moments.step(model, grads.into_grads())
    }

    fn lr(&self) -> f64 {
        self.moments.config.lr
    }

    fn set_lr(&mut self, lr: f64) {
        self.moments.config.lr = lr;
    }
}

/// AdamW, as `torch.optim.AdamW`: Adam with decoupled weight decay.
///
/// Each step first shrinks the parameters, `p = p · (1 - lr · weight_decay)`,
/// then applies the [`Adam`] update with no L2 term.
pub struct AdamW<M: Module> {
    moments: Moments<M>,
}

impl<M: Module> AdamW<M> {
    /// Builds the optimizer for `model`, allocating its moment estimates.
    ///
    /// # Panics
    /// As [`Adam::new`].
    // Not inlined, so that a build error from `CanHoldParams` names the
    // caller's line in release builds too.
    #[track_caller]
    #[inline(never)]
    pub fn new(model: &M, config: AdamWConfig) -> Self {
        let AdamWConfig {
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
        } = config;
        let config = AdamConfig {
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
        };
        let () = CanHoldParams::<M>::CHECK;
        AdamW {
            moments: Moments::new("AdamW", model, config, WeightDecay::Decoupled),
        }
    }
}

impl<M: Module> Optimizer for AdamW<M> {
    type Model = M;

    fn step<G: GradientsOf<M>>(&mut self, model: &mut M, grads: G) {
        self.moments.step(model, grads.into_grads())
    }

    fn lr(&self) -> f64 {
        self.moments.config.lr
    }

    fn set_lr(&mut self, lr: f64) {
        self.moments.config.lr = lr;
    }
}
