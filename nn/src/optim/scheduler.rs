//! Learning-rate schedulers in closed form.
//!
//! A scheduler reads the optimizer's learning rate when it is built (the base
//! learning rate, at epoch 0). Each [`step`](LrScheduler::step) advances one
//! epoch and sets the optimizer's learning rate to that epoch's, so call
//! `scheduler.step(&mut optimizer)` once per epoch after the optimizer's
//! steps, as in PyTorch.

use core::f64::consts::PI;

use autograd::Float;

use super::Optimizer;

/// A learning rate that depends on the epoch.
pub trait LrScheduler {
    /// The learning rate at `epoch` (epoch 0 is the base learning rate).
    fn lr_at(&self, epoch: u64) -> f64;

    /// The number of completed epochs (PyTorch's `last_epoch`).
    fn epoch(&self) -> u64;

    /// Advances the epoch counter by one (used by [`step`](Self::step)).
    fn advance(&mut self);

    /// Advances one epoch and sets the optimizer's learning rate to that
    /// epoch's.
    fn step<O: Optimizer>(&mut self, optimizer: &mut O) {
        self.advance();
        optimizer.set_lr(self.lr_at(self.epoch()));
    }

    /// The learning rate of the current epoch (PyTorch's `get_last_lr()`).
    fn last_lr(&self) -> f64 {
        self.lr_at(self.epoch())
    }
}

/// Multiplies the learning rate by `gamma` every `step_size` epochs, as
/// `torch.optim.lr_scheduler.StepLR`: `lr = base_lr · gamma^⌊epoch / step_size⌋`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepLr {
    base_lr: f64,
    step_size: u64,
    gamma: f64,
    epoch: u64,
}

impl StepLr {
    /// Starts the schedule from the optimizer's current learning rate.
    ///
    /// # Panics
    /// If `step_size` is 0.
    #[track_caller]
    pub fn new<O: Optimizer>(optimizer: &O, step_size: u64, gamma: f64) -> Self {
        assert!(step_size > 0, "StepLr: step_size must be at least 1, found 0");
        StepLr {
            base_lr: optimizer.lr(),
            step_size,
            gamma,
            epoch: 0,
        }
    }
}

impl LrScheduler for StepLr {
    fn lr_at(&self, epoch: u64) -> f64 {
        self.base_lr * Float::powi(self.gamma, (epoch / self.step_size) as i32)
    }

    fn epoch(&self) -> u64 {
        self.epoch
    }

    fn advance(&mut self) {
        self.epoch += 1;
    }
}

/// Multiplies the learning rate by `gamma` every epoch, as
/// `torch.optim.lr_scheduler.ExponentialLR`: `lr = base_lr · gamma^epoch`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExponentialLr {
    base_lr: f64,
    gamma: f64,
    epoch: u64,
}

impl ExponentialLr {
    /// Starts the schedule from the optimizer's current learning rate.
    pub fn new<O: Optimizer>(optimizer: &O, gamma: f64) -> Self {
        ExponentialLr {
            base_lr: optimizer.lr(),
            gamma,
            epoch: 0,
        }
    }
}

impl LrScheduler for ExponentialLr {
    fn lr_at(&self, epoch: u64) -> f64 {
        self.base_lr * Float::powi(self.gamma, epoch as i32)
    }

    fn epoch(&self) -> u64 {
        self.epoch
    }

    fn advance(&mut self) {
        self.epoch += 1;
    }
}

/// Anneals the learning rate from its base value to `eta_min` along a cosine
/// over `t_max` epochs, as `torch.optim.lr_scheduler.CosineAnnealingLR`, in
/// the closed form that PyTorch documents:
///
/// ```text
/// lr = eta_min + (base_lr - eta_min) · (1 + cos(π · epoch / t_max)) / 2
/// ```
///
/// After `t_max` epochs the learning rate rises again along the same cosine,
/// which is also what PyTorch's recursive form computes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CosineAnnealingLr {
    base_lr: f64,
    t_max: u64,
    eta_min: f64,
    epoch: u64,
}

impl CosineAnnealingLr {
    /// Starts the schedule from the optimizer's current learning rate.
    ///
    /// # Panics
    /// If `t_max` is 0.
    #[track_caller]
    pub fn new<O: Optimizer>(optimizer: &O, t_max: u64, eta_min: f64) -> Self {
        assert!(t_max > 0, "CosineAnnealingLr: t_max must be at least 1, found 0");
        CosineAnnealingLr {
            base_lr: optimizer.lr(),
            t_max,
            eta_min,
            epoch: 0,
        }
    }
}

impl LrScheduler for CosineAnnealingLr {
    fn lr_at(&self, epoch: u64) -> f64 {
        let phase = PI * epoch as f64 / self.t_max as f64;
        self.eta_min + (self.base_lr - self.eta_min) * (1.0 + libm::cos(phase)) / 2.0
    }

    fn epoch(&self) -> u64 {
        self.epoch
    }

    fn advance(&mut self) {
        self.epoch += 1;
    }
}
