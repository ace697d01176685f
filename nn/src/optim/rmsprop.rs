//! RMSprop: gradients divided by a running root mean square, with optional
//! centering and momentum.

use autograd::{Float, Module};

use super::{check_has_params, CanHoldParams, check_hyperparameter, GradientsOf, Optimizer};

/// Hyperparameters of [`RmsProp`], with PyTorch's defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RmsPropConfig {
    /// Learning rate (default 1e-2).
    pub lr: f64,
    /// Smoothing constant of the running mean of squared gradients (default
    /// 0.99).
    pub alpha: f64,
    /// Added to the denominator for numerical stability (default 1e-8).
    pub eps: f64,
    /// L2 penalty added to the gradient (default 0).
    pub weight_decay: f64,
    /// Momentum factor (default 0, no momentum buffer).
    pub momentum: f64,
    /// Whether to divide by the running variance instead of the running mean
    /// square, subtracting the square of the running mean gradient (default
    /// false).
    pub centered: bool,
}

impl Default for RmsPropConfig {
    fn default() -> Self {
        RmsPropConfig {
            lr: 1e-2,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
        }
    }
}

/// RMSprop, as `torch.optim.RMSprop`.
///
/// Each step, with gradient `g` and parameter `p`:
///
/// ```text
/// g = g + weight_decay · p
/// v = α · v + (1 - α) · g²
/// ḡ = α · ḡ + (1 - α) · g,  v' = v - ḡ²     (centered; else v' = v)
/// b = momentum · b + g / (sqrt(v') + eps),  p = p - lr · b     (momentum > 0)
/// p = p - lr · g / (sqrt(v') + eps)                            (otherwise)
/// ```
pub struct RmsProp<M: Module> {
    config: RmsPropConfig,
    square_avg: M::Grads,
    grad_avg: Option<M::Grads>,
    momentum_buffer: Option<M::Grads>,
}

impl<M: Module> RmsProp<M> {
    /// Builds the optimizer for `model`, allocating the running averages it
    /// needs (the mean gradient only when centered, the momentum buffer only
    /// when `momentum > 0`).
    ///
    /// # Panics
    /// If the model has no parameters (PyTorch's "empty parameter list").
    /// If `lr`, `eps`, `momentum`, `weight_decay` or `alpha` is negative, as
    /// PyTorch raises.
    // Not inlined, so that a build error from `CanHoldParams` names the
    // caller's line in release builds too.
    #[track_caller]
    #[inline(never)]
    pub fn new(model: &M, config: RmsPropConfig) -> Self {
        let () = CanHoldParams::<M>::CHECK;
        check_has_params(model, "RmsProp");
        check_hyperparameter(config.lr >= 0.0, "RmsProp", "learning rate", config.lr);
        check_hyperparameter(config.eps >= 0.0, "RmsProp", "epsilon value", config.eps);
        check_hyperparameter(config.momentum >= 0.0, "RmsProp", "momentum value", config.momentum);
        check_hyperparameter(config.weight_decay >= 0.0, "RmsProp", "weight_decay value", config.weight_decay);
        check_hyperparameter(config.alpha >= 0.0, "RmsProp", "alpha value", config.alpha);
        RmsProp {
            config,
            square_avg: model.zero_grad(),
            grad_avg: config.centered.then(|| model.zero_grad()),
            momentum_buffer: (config.momentum > 0.0).then(|| model.zero_grad()),
        }
    }

    /// The hyperparameters, with the learning rate a scheduler last set.
    pub fn config(&self) -> &RmsPropConfig {
        &self.config
    }
}

impl<M: Module> Optimizer for RmsProp<M> {
    type Model = M;

    fn step<G: GradientsOf<M>>(&mut self, model: &mut M, grads: G) {
        let grads = grads.into_grads();
        let c = self.config;
        let e = <M::Elem as Float>::from_f64;
        let (lr, alpha, one_minus_alpha) = (e(c.lr), e(c.alpha), e(1.0 - c.alpha));
        let (eps, weight_decay, momentum) = (e(c.eps), e(c.weight_decay), e(c.momentum));

        // One element's update; `grad_avg` and `buffer` are present exactly
        // when the optimizer is centered and has momentum.
        let update = move |p: &mut M::Elem,
                      g: M::Elem,
                      v: &mut M::Elem,
                      grad_avg: Option<&mut M::Elem>,
                      buffer: Option<&mut M::Elem>| {
            let g = g + weight_decay * *p;
            *v = alpha * *v + one_minus_alpha * g * g;
            let variance = match grad_avg {
                Some(mean) => {
                    *mean += (g - *mean) * one_minus_alpha;
                    *v - *mean * *mean
                }
                None => *v,
            };
            let denom = variance.sqrt() + eps;
            match buffer {
                Some(b) => {
                    *b = momentum * *b + g / denom;
                    *p -= lr * *b;
                }
                None => *p -= lr * g / denom,
            }
        };

        let square_avg = &mut self.square_avg;
        match (&mut self.grad_avg, &mut self.momentum_buffer) {
            (None, None) => model.lockstep(&grads, [square_avg], &mut |p, g, [v]| {
                for ((p, &g), v) in p.iter_mut().zip(g).zip(v.iter_mut()) {
                    update(p, g, v, None, None);
                }
            }),
            (Some(mean), None) => model.lockstep(&grads, [square_avg, mean], &mut |p, g, [v, mean]| {
                for ((p, &g), (v, mean)) in p.iter_mut().zip(g).zip(v.iter_mut().zip(mean.iter_mut())) {
                    update(p, g, v, Some(mean), None);
                }
            }),
            (None, Some(buffer)) => model.lockstep(&grads, [square_avg, buffer], &mut |p, g, [v, b]| {
                for ((p, &g), (v, b)) in p.iter_mut().zip(g).zip(v.iter_mut().zip(b.iter_mut())) {
                    update(p, g, v, None, Some(b));
                }
            }),
            (Some(mean), Some(buffer)) => {
                model.lockstep(&grads, [square_avg, mean, buffer], &mut |p, g, [v, mean, b]| {
                    let lanes = p.iter_mut().zip(g).zip(v.iter_mut().zip(mean.iter_mut()).zip(b.iter_mut()));
                    for ((p, &g), ((v, mean), b)) in lanes {
                        update(p, g, v, Some(mean), Some(b));
                    }
                })
            }
        }
    }

    fn lr(&self) -> f64 {
        self.config.lr
    }

    fn set_lr(&mut self, lr: f64) {
        self.config.lr = lr;
    }
}
