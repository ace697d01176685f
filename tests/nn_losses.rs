//! Loss values derived by hand and gradients checked against finite
//! differences in f64, for every loss and every reduction.

use autograd::typenum::{U1, U2, U3, U4};
use autograd::{gradcheck, Dyn, GradcheckOptions, Rank1, Rank2, Rng, Tensor};
use nn::loss::*;

type Vec4 = Tensor<Rank1<U4>, f64>;
type Batch = Tensor<Rank2<U3, U4>, f64>;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * b.abs().max(1.0)
}

fn random_pair(seed: u64) -> (Batch, Batch) {
    let mut rng = Rng::seed_from_u64(seed);
    (Tensor::randn(&mut rng), Tensor::randn(&mut rng))
}

/// Gradchecks a two-argument loss whose VJP form returns two pullbacks
/// (plus `NoGrad` slots that the closure drops), on the pair `(pred, target)`.
macro_rules! gradcheck_pair {
    ($input:expr, |$p:ident, $t:ident| $forward:expr, |$pv:ident, $tv:ident| $vjp:expr) => {{
        let input = $input;
        gradcheck(
            |x: &(_, _)| {
                let ($p, $t) = (&x.0, &x.1);
                $forward
            },
            |x: &(_, _)| {
                let ($pv, $tv) = (&x.0, &x.1);
                let (y, pullbacks) = $vjp;
                let (pullback_pred, pullback_target) = (pullbacks.0, pullbacks.1);
                (y, move |cotangent: _| {
                    let cloned = Clone::clone(&cotangent);
                    (pullback_pred(cloned), pullback_target(cotangent))
                })
            },
            &input,
            GradcheckOptions::default(),
        )
        .unwrap()
    }};
}

#[test]
fn mse_loss_value_per_reduction() {
    let pred: Tensor<Rank1<U2>, f64> = Tensor::from_array([1.0, 3.0]);
    let target = Tensor::from_array([0.0, 1.0]);
    assert_eq!(mse_loss(&pred, &target).item(), 2.5);
    assert_eq!(mse_loss_with(&pred, &target, Sum).item(), 5.0);
    assert_eq!(mse_loss_with(&pred, &target, NoReduction).as_slice(), &[1.0, 4.0]);
}

#[test]
fn mse_loss_gradcheck_every_reduction() {
    gradcheck_pair!(random_pair(1), |p, t| mse_loss(p, t), |p, t| mse_loss_vjp(p, t));
    gradcheck_pair!(random_pair(2), |p, t| mse_loss_with(p, t, Sum), |p, t| mse_loss_with_vjp(p, t, Sum));
    gradcheck_pair!(random_pair(3), |p, t| mse_loss_with(p, t, NoReduction), |p, t| {
        mse_loss_with_vjp(p, t, NoReduction)
    });
}

#[test]
fn l1_loss_value_and_zero_gradient_at_equality() {
    let pred: Vec4 = Tensor::from_array([1.0, -2.0, 0.5, 0.0]);
    let target = Tensor::from_array([0.0, 1.0, 0.5, 0.0]);
    assert_eq!(l1_loss(&pred, &target).item(), (1.0 + 3.0) / 4.0);

    let (_, (pullback_pred, pullback_target)) = l1_loss_vjp(&pred, &target);
    let grad = pullback_pred(Tensor::scalar(1.0));
    assert_eq!(grad.as_slice(), &[0.25, -0.25, 0.0, 0.0]);
    assert_eq!(pullback_target(Tensor::scalar(1.0)).as_slice(), &[-0.25, 0.25, 0.0, 0.0]);
}

#[test]
fn l1_loss_gradcheck() {
    gradcheck_pair!(random_pair(4), |p, t| l1_loss(p, t), |p, t| l1_loss_vjp(p, t));
    gradcheck_pair!(random_pair(5), |p, t| l1_loss_with(p, t, NoReduction), |p, t| {
        l1_loss_with_vjp(p, t, NoReduction)
    });
}

#[test]
fn smooth_l1_loss_quadratic_and_linear_zones() {
    // beta = 1: d = 0.5 gives 0.5 · 0.25 / 1 = 0.125; d = -2 gives 2 - 0.5 = 1.5.
    let pred: Tensor<Rank1<U2>, f64> = Tensor::from_array([0.5, -2.0]);
    let target = Tensor::zeros();
    assert_eq!(smooth_l1_loss_with(&pred, &target, 1.0, NoReduction).as_slice(), &[0.125, 1.5]);
    // beta = 0 is the L1 loss.
    assert_eq!(smooth_l1_loss(&pred, &target, 0.0).item(), l1_loss(&pred, &target).item());
}

#[test]
fn smooth_l1_loss_gradcheck() {
    for beta in [0.0, 0.5, 1.0, 3.0] {
        gradcheck_pair!(random_pair(6), |p, t| smooth_l1_loss(p, t, beta), |p, t| {
            smooth_l1_loss_vjp(p, t, beta)
        });
    }
}

#[test]
#[should_panic(expected = "beta must be zero or positive")]
fn smooth_l1_loss_rejects_negative_beta() {
    let x: Vec4 = Tensor::zeros();
    let _ = smooth_l1_loss(&x, &x, -1.0);
}

#[test]
fn huber_loss_quadratic_and_linear_zones() {
    // delta = 2: d = 1 gives 0.5; d = 3 gives 2 · (3 - 1) = 4.
    let pred: Tensor<Rank1<U2>, f64> = Tensor::from_array([1.0, 3.0]);
    let target = Tensor::zeros();
    assert_eq!(huber_loss_with(&pred, &target, 2.0, NoReduction).as_slice(), &[0.5, 4.0]);
    // huber(delta) = delta · smooth_l1(beta = delta)
    let (p, t) = random_pair(7);
    assert!(close(huber_loss(&p, &t, 0.7).item(), 0.7 * smooth_l1_loss(&p, &t, 0.7).item()));
}

#[test]
fn huber_loss_gradcheck() {
    for delta in [0.3, 1.0, 5.0] {
        gradcheck_pair!(random_pair(8), |p, t| huber_loss_with(p, t, delta, Sum), |p, t| {
            huber_loss_with_vjp(p, t, delta, Sum)
        });
    }
}

#[test]
fn binary_cross_entropy_clamps_log_at_minus_100() {
    let pred: Tensor<Rank1<U3>, f64> = Tensor::from_array([0.0, 1.0, 0.5]);
    let target = Tensor::from_array([1.0, 0.0, 1.0]);
    let losses = binary_cross_entropy_with(&pred, &target, NoReduction);
    assert_eq!(losses.get([0]), 100.0);
    assert_eq!(losses.get([1]), 100.0);
    assert!(close(losses.get([2]), 2f64.ln()));

    let (_, (pullback_pred, pullback_target)) = binary_cross_entropy_vjp(&pred, &target);
    assert!(pullback_pred(Tensor::scalar(1.0)).all_finite());
    assert!(pullback_target(Tensor::scalar(1.0)).all_finite());
}

#[test]
fn binary_cross_entropy_gradcheck() {
    let mut rng = Rng::seed_from_u64(9);
    let pred: Batch = Tensor::uniform(0.05, 0.95, &mut rng);
    let target: Batch = Tensor::uniform(0.0, 1.0, &mut rng);
    gradcheck_pair!((pred.clone(), target.clone()), |p, t| binary_cross_entropy(p, t), |p, t| {
        binary_cross_entropy_vjp(p, t)
    });
    // Near the ends of [0, 1] the loss is steep but still differentiable.
    let pred: Tensor<Rank1<U2>, f64> = Tensor::from_array([1e-3, 1.0 - 1e-3]);
    let target = Tensor::from_array([0.3, 0.9]);
    gradcheck_pair!((pred, target), |p, t| binary_cross_entropy_with(p, t, Sum), |p, t| {
        binary_cross_entropy_with_vjp(p, t, Sum)
    });
}

#[test]
#[should_panic(expected = "must lie in [0, 1]")]
fn binary_cross_entropy_rejects_probability_above_one() {
    let pred: Tensor<Rank1<U1>, f64> = Tensor::from_array([1.5]);
    let _ = binary_cross_entropy(&pred, &Tensor::zeros());
}

#[test]
fn bce_with_logits_finite_and_exact_at_100() {
    let logits: Vec4 = Tensor::from_array([100.0, -100.0, 100.0, 0.0]);
    let target = Tensor::from_array([0.0, 1.0, 1.0, 0.0]);
    let losses = binary_cross_entropy_with_logits_with(&logits, &target, NoReduction);
    // -ln(1 - sigmoid(100)) = 100 + ln(1 + e^-100), which rounds to 100.
    assert_eq!(losses.get([0]), 100.0);
    assert_eq!(losses.get([1]), 100.0);
    // -ln(sigmoid(100)) = ln(1 + e^-100) = e^-100 to double precision.
    assert!(close(losses.get([2]), (-100f64).exp()));
    assert!(close(losses.get([3]), 2f64.ln()));

    let (_, (pullback_logits, ..)) = binary_cross_entropy_with_logits_with_vjp(&logits, &target, Sum);
    let grad = pullback_logits(Tensor::scalar(1.0));
    // sigmoid(x) - t
    assert_eq!(grad.as_slice(), &[1.0, -1.0, 0.0, 0.5]);
}

#[test]
fn bce_with_logits_matches_bce_of_sigmoid() {
    let (x, _) = random_pair(10);
    let mut rng = Rng::seed_from_u64(11);
    let t: Batch = Tensor::uniform(0.0, 1.0, &mut rng);
    let p = x.map(|v| 1.0 / (1.0 + (-v).exp()));
    assert!(close(binary_cross_entropy_with_logits(&x, &t).item(), binary_cross_entropy(&p, &t).item()));
}

#[test]
fn bce_with_logits_gradcheck() {
    let mut rng = Rng::seed_from_u64(12);
    let logits: Batch = Tensor::randn(&mut rng).map(|v| 4.0 * v);
    let target: Batch = Tensor::uniform(0.0, 1.0, &mut rng);
    gradcheck_pair!((logits, target), |x, t| binary_cross_entropy_with_logits(x, t), |x, t| {
        binary_cross_entropy_with_logits_vjp(x, t)
    });
    let logits: Vec4 = Tensor::from_array([100.0, -100.0, 30.0, -30.0]);
    let target = Tensor::from_array([0.0, 1.0, 0.25, 0.75]);
    gradcheck_pair!((logits, target), |x, t| binary_cross_entropy_with_logits_with(x, t, NoReduction), |x, t| {
        binary_cross_entropy_with_logits_with_vjp(x, t, NoReduction)
    });
}

#[test]
fn cross_entropy_of_uniform_logits_is_ln_classes() {
    let logits: Tensor<Rank2<U2, U3>, f64> = Tensor::zeros();
    let labels = ClassIndices::from_array(&[0, 2]).unwrap();
    assert!(close(cross_entropy(&logits, &labels).item(), 3f64.ln()));
    assert!(close(cross_entropy_with(&logits, &labels, 0.0, Sum).item(), 2.0 * 3f64.ln()));
}

#[test]
fn cross_entropy_survives_large_logits() {
    let logits: Tensor<Rank2<U1, U2>, f64> = Tensor::from_array([[1000.0, 0.0]]);
    let labels = ClassIndices::from_array(&[1]).unwrap();
    assert_eq!(cross_entropy(&logits, &labels).item(), 1000.0);
}

#[test]
fn cross_entropy_label_smoothing_value() {
    // softmax([0, ln 3]) = [1/4, 3/4]; with ε = 0.5 over 2 classes the target
    // [0, 1] becomes [0.25, 0.75], so the loss is -(0.25 ln 0.25 + 0.75 ln 0.75).
    let logits: Tensor<Rank2<U1, U2>, f64> = Tensor::from_array([[0.0, 3f64.ln()]]);
    let labels = ClassIndices::from_array(&[1]).unwrap();
    let expected = -(0.25 * 0.25f64.ln() + 0.75 * 0.75f64.ln());
    assert!(close(cross_entropy_with(&logits, &labels, 0.5, Mean).item(), expected));
}

#[test]
fn cross_entropy_probabilities_match_indices_when_one_hot() {
    let (logits, _) = random_pair(13);
    let labels = ClassIndices::from_array(&[3, 0, 1]).unwrap();
    let one_hot: Batch = Tensor::from_array([[0.0, 0.0, 0.0, 1.0], [1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]]);
    for smoothing in [0.0, 0.1] {
        let from_indices = cross_entropy_with(&logits, &labels, smoothing, NoReduction);
        let from_probs = cross_entropy_with(&logits, &one_hot, smoothing, NoReduction);
        for i in 0..3 {
            assert!(close(from_indices.get([i]), from_probs.get([i])));
        }
    }
}

#[test]
fn cross_entropy_with_indices_gradcheck() {
    let labels = ClassIndices::from_array(&[3, 0, 1]).unwrap();
    for smoothing in [0.0, 0.2] {
        let (logits, _) = random_pair(14);
        gradcheck(
            |x: &Batch| cross_entropy_with(x, &labels, smoothing, Mean),
            |x: &Batch| {
                let (y, (pullback, ..)) = cross_entropy_with_vjp(x, &labels, smoothing, Mean);
                (y, pullback)
            },
            &logits,
            GradcheckOptions::default(),
        )
        .unwrap();
    }
    let (logits, _) = random_pair(15);
    gradcheck(
        |x: &Batch| cross_entropy_with(x, &labels, 0.1, NoReduction),
        |x: &Batch| {
            let (y, (pullback, ..)) = cross_entropy_with_vjp(x, &labels, 0.1, NoReduction);
            (y, pullback)
        },
        &logits,
        GradcheckOptions::default(),
    )
    .unwrap();
}

#[test]
fn cross_entropy_with_probabilities_gradcheck() {
    let mut rng = Rng::seed_from_u64(16);
    let logits: Batch = Tensor::randn(&mut rng);
    // Targets need not sum to one for the gradient to be checked.
    let probs: Batch = Tensor::uniform(0.0, 1.0, &mut rng);
    for smoothing in [0.0, 0.3] {
        gradcheck_pair!((logits.clone(), probs.clone()), |x, t| cross_entropy_with(x, t, smoothing, Mean), |x, t| {
            cross_entropy_with_vjp(x, t, smoothing, Mean)
        });
    }
    gradcheck_pair!((logits, probs), |x, t| cross_entropy_with(x, t, 0.0, NoReduction), |x, t| {
        cross_entropy_with_vjp(x, t, 0.0, NoReduction)
    });
}

#[test]
fn cross_entropy_with_dyn_batch() {
    let logits: Tensor<Rank2<Dyn, U3>, f64> = Tensor::zeros_with_shape(Rank2(Dyn(5), U3::new()));
    let labels = [0, 1, 2, 1, 0];
    let targets = ClassIndices::new(&labels, U3::new()).unwrap();
    assert!(close(cross_entropy(&logits, &targets).item(), 3f64.ln()));
}

#[test]
fn class_indices_reject_out_of_range_and_wrong_length() {
    let err = ClassIndices::<U2, U3>::new(&[1, 3], U3::new()).unwrap_err();
    assert_eq!(err, ClassIndexError::OutOfRange { sample: 1, index: 3, num_classes: 3 });
    assert_eq!(err.to_string(), "the class index of sample 1 is 3, out of range for 3 classes");
    let err = ClassIndices::<U2, U3>::new(&[1], U3::new()).unwrap_err();
    assert_eq!(err, ClassIndexError::Length { expected: 2, found: 1 });
}

#[test]
#[should_panic(expected = "the logits have shape [4, 3] but the class indices are for 5 samples")]
fn cross_entropy_rejects_dyn_batch_mismatch() {
    let logits: Tensor<Rank2<Dyn, U3>, f64> = Tensor::zeros_with_shape(Rank2(Dyn(4), U3::new()));
    let labels = [0, 1, 2, 1, 0];
    let targets = ClassIndices::new(&labels, U3::new()).unwrap();
    let _ = cross_entropy(&logits, &targets);
}

#[test]
fn nll_loss_of_log_softmax_is_cross_entropy() {
    let (logits, _) = random_pair(17);
    let labels = ClassIndices::from_array(&[2, 2, 0]).unwrap();
    let mut log_probs = logits.clone();
    for row in log_probs.as_mut_slice().chunks_mut(4) {
        let lse = row.iter().map(|v| v.exp()).sum::<f64>().ln();
        row.iter_mut().for_each(|v| *v -= lse);
    }
    assert!(close(nll_loss(&log_probs, &labels).item(), cross_entropy(&logits, &labels).item()));
}

#[test]
fn nll_loss_value_and_gradcheck() {
    let log_probs: Tensor<Rank2<U2, U3>, f64> = Tensor::from_array([[-1.0, -2.0, -3.0], [-0.5, -0.25, -4.0]]);
    let labels = ClassIndices::from_array(&[2, 1]).unwrap();
    assert_eq!(nll_loss(&log_probs, &labels).item(), (3.0 + 0.25) / 2.0);
    assert_eq!(nll_loss_with(&log_probs, &labels, NoReduction).as_slice(), &[3.0, 0.25]);
    gradcheck(
        |x: &Tensor<Rank2<U2, U3>, f64>| nll_loss(x, &labels),
        |x: &Tensor<Rank2<U2, U3>, f64>| {
            let (y, (pullback, _)) = nll_loss_vjp(x, &labels);
            (y, pullback)
        },
        &log_probs,
        GradcheckOptions::default(),
    )
    .unwrap();
    gradcheck(
        |x: &Tensor<Rank2<U2, U3>, f64>| nll_loss_with(x, &labels, Sum),
        |x: &Tensor<Rank2<U2, U3>, f64>| {
            let (y, (pullback, ..)) = nll_loss_with_vjp(x, &labels, Sum);
            (y, pullback)
        },
        &log_probs,
        GradcheckOptions::default(),
    )
    .unwrap();
}

#[test]
fn piecewise_losses_gradcheck_at_zone_boundaries() {
    // |d| = beta = delta = 1 joins the quadratic and linear zones with a
    // continuous first derivative; d = 0 is where l1's gradient is 0.
    let pred: Vec4 = Tensor::from_array([1.0, -1.0, 0.0, 2.0]);
    let target: Vec4 = Tensor::zeros();
    gradcheck_pair!((pred.clone(), target.clone()), |p, t| smooth_l1_loss(p, t, 1.0), |p, t| {
        smooth_l1_loss_vjp(p, t, 1.0)
    });
    gradcheck_pair!((pred.clone(), target.clone()), |p, t| huber_loss(p, t, 1.0), |p, t| huber_loss_vjp(p, t, 1.0));
    gradcheck_pair!((pred, target), |p, t| l1_loss(p, t), |p, t| l1_loss_vjp(p, t));
}
