//! Regression losses: mean squared error, L1, smooth L1 and Huber.

use autograd::{Float, NoGrad, Rank0, Shape, Storage, Tensor};

use super::{sign, LossTarget, Mean, Reduction};

elementwise_loss! {
    /// Mean squared error, `mean((pred - target)²)`, as PyTorch's `F.mse_loss`.
    ///
    /// # Shapes
    /// `pred` and `target` have the same shape type `S`; the output is a scalar.
    ///
    /// ```
    /// use autograd::{Tensor, Rank1, typenum::U2};
    /// use nn::loss::mse_loss;
    ///
    /// let pred: Tensor<Rank1<U2>> = Tensor::from_array([1.0, 3.0]);
    /// let target = Tensor::from_array([0.0, 1.0]);
    /// assert_eq!(mse_loss(&pred, &target).item(), 2.5);
    /// ```
    fn mse_loss, mse_loss_vjp, mse_loss_with, mse_loss_with_vjp;
    params();
    check = |_: &Tensor<S, E, D>| ();
    loss = |p: E, t: E| (p - t) * (p - t);
    grad = |p: E, t: E| {
        let two_d = (p - t) + (p - t);
        (two_d, -two_d)
    };
}

elementwise_loss! {
    /// Mean absolute error, `mean(|pred - target|)`, as PyTorch's `F.l1_loss`.
    ///
    /// The gradient at `pred == target` is 0, as in PyTorch.
    ///
    /// # Shapes
    /// `pred` and `target` have the same shape type `S`; the output is a scalar.
    fn l1_loss, l1_loss_vjp, l1_loss_with, l1_loss_with_vjp;
    params();
    check = |_: &Tensor<S, E, D>| ();
    loss = |p: E, t: E| (p - t).abs();
    grad = |p: E, t: E| (sign(p - t), -sign(p - t));
}

elementwise_loss! {
    /// Smooth L1 loss, as PyTorch's `F.smooth_l1_loss(pred, target, beta=beta)`:
    /// `0.5 d² / beta` where `|d| < beta` and `|d| - 0.5 beta` elsewhere, with
    /// `d = pred - target`. With `beta = 0` it is the L1 loss.
    ///
    /// # Panics
    /// If `beta` is negative, as PyTorch raises.
    ///
    /// # Shapes
    /// `pred` and `target` have the same shape type `S`; the output is a scalar.
    fn smooth_l1_loss, smooth_l1_loss_vjp, smooth_l1_loss_with, smooth_l1_loss_with_vjp;
    params(beta);
    check = |_: &Tensor<S, E, D>| {
        assert!(beta >= E::ZERO, "smooth_l1_loss: beta must be zero or positive, found {beta}")
    };
    loss = move |p: E, t: E| {
        let z = (p - t).abs();
        if z < beta {
            E::from_f64(0.5) * z * z / beta
        } else {
            z - E::from_f64(0.5) * beta
        }
    };
    grad = move |p: E, t: E| {
        let d = p - t;
        let g = if d.abs() < beta { d / beta } else { sign(d) };
        (g, -g)
    };
}

elementwise_loss! {
    /// Huber loss, as PyTorch's `F.huber_loss(pred, target, delta=delta)`:
    /// `0.5 d²` where `|d| < delta` and `delta (|d| - 0.5 delta)` elsewhere,
    /// with `d = pred - target`. It equals `delta` times the smooth L1 loss with
    /// `beta = delta`.
    ///
    /// # Panics
    /// If `delta` is not positive, as PyTorch raises.
    ///
    /// # Shapes
    /// `pred` and `target` have the same shape type `S`; the output is a scalar.
    fn huber_loss, huber_loss_vjp, huber_loss_with, huber_loss_with_vjp;
    params(delta);
    check = |_: &Tensor<S, E, D>| {
        assert!(delta > E::ZERO, "huber_loss: delta must be positive, found {delta}")
    };
    loss = move |p: E, t: E| {
        let z = (p - t).abs();
        if z < delta {
            E::from_f64(0.5) * z * z
        } else {
            delta * (z - E::from_f64(0.5) * delta)
        }
    };
    grad = move |p: E, t: E| {
        let d = p - t;
        let g = if d.abs() < delta { d } else { delta * sign(d) };
        (g, -g)
    };
}
