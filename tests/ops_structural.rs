//! Structural primitives: reductions, softmax, matrix products and shape ops.
//!
//! Every rule is checked with `gradcheck` in f64 on random inputs and on its
//! edge inputs (ties, the zero vector, logits near ±1000). Expected forward
//! values are derived by hand in the comment next to each.

use autograd::typenum::{U0, U1, U12, U16, U2, U24, U3, U4, U5, U6, U8};
use autograd::{
    gradcheck, Dyn, GradcheckOptions, Inline, MatMul, MatMulT, Rank0, Rank1, Rank2, Rank3, Rank4, Rng, ShapeError, Tensor,
};

type T0 = Tensor<Rank0, f64>;
type T1<A> = Tensor<Rank1<A>, f64>;
type T2<A, B> = Tensor<Rank2<A, B>, f64>;
type T3<A, B, C> = Tensor<Rank3<A, B, C>, f64>;

fn rng(seed: u64) -> Rng {
    Rng::seed_from_u64(seed)
}

#[track_caller]
fn assert_close(actual: &[f64], expected: &[f64], tol: f64) {
    assert_eq!(actual.len(), expected.len(), "lengths differ");
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!((a - e).abs() <= tol * e.abs().max(1.0), "element {i}: {a} versus expected {e}");
    }
}

/// Runs gradcheck with PyTorch's default tolerances and panics with the
/// first mismatching Jacobian entry.
#[track_caller]
fn check<X, Y, P>(forward: impl Fn(&X) -> Y, vjp: impl Fn(&X) -> (Y, P), x: &X)
where
    X: autograd::Differentiable + autograd::Leaves<f64> + Clone,
    X::Grad: autograd::Leaves<f64>,
    Y: autograd::Leaves<f64> + Clone,
    P: FnOnce(Y) -> X::Grad,
{
    if let Err(e) = gradcheck(forward, vjp, x, GradcheckOptions::default()) {
        panic!("gradcheck failed: {e}");
    }
}

// ---------------------------------------------------------------- reductions

#[test]
fn mean_value_and_grad() {
    // (1 + 2 + 3 + 6) / 4 = 3
    let x: T1<U4> = Tensor::from_array([1.0, 2.0, 3.0, 6.0]);
    assert_eq!(x.mean().item(), 3.0);

    let x: T2<U3, U4> = Tensor::randn(&mut rng(1));
    check(|x: &T2<U3, U4>| x.mean(), |x| x.mean_vjp().map1(), &x);
}

#[test]
fn var_biased_and_unbiased_values() {
    // mean 3, squared deviations 4 + 1 + 0 + 9 = 14
    let x: T1<U4> = Tensor::from_array([1.0, 2.0, 3.0, 6.0]);
    assert_close(&[x.var(false).item()], &[14.0 / 4.0], 1e-15);
    assert_close(&[x.var(true).item()], &[14.0 / 3.0], 1e-15);
}

#[test]
fn var_grad_both_corrections() {
    let x: T2<U2, U3> = Tensor::randn(&mut rng(2));
    for unbiased in [false, true] {
        check(|x: &T2<U2, U3>| x.var(unbiased), |x| {
            let (y, (pullback, _)) = x.var_vjp(unbiased);
            (y, pullback)
        }, &x);
    }
}

#[test]
fn var_unbiased_of_one_element_is_nan() {
    let x: T1<U1> = Tensor::from_array([4.0]);
    assert!(x.var(true).item().is_nan());
    assert_eq!(x.var(false).item(), 0.0);
}

#[test]
fn max_min_values() {
    let x: T1<U5> = Tensor::from_array([1.0, -7.0, 3.5, 2.0, -1.0]);
    assert_eq!(x.max().item(), 3.5);
    assert_eq!(x.min().item(), -7.0);
}

#[test]
fn max_ties_split_gradient_evenly() {
    // Two elements share the maximum 3, so each gets dy / 2.
    let x: T1<U4> = Tensor::from_array([1.0, 3.0, 3.0, 2.0]);
    let (_, (pullback,)) = x.max_vjp();
    assert_eq!(pullback(Tensor::scalar(1.0)).as_slice(), &[0.0, 0.5, 0.5, 0.0]);
    // The central difference at a tie also gives 1/2 to each tied element.
    check(|x: &T1<U4>| x.max(), |x| x.max_vjp().map1(), &x);
}

#[test]
fn min_ties_split_gradient_evenly() {
    // Three elements share the minimum -2, so each gets dy / 3.
    let x: T1<U5> = Tensor::from_array([-2.0, 0.0, -2.0, -2.0, 5.0]);
    let (_, (pullback,)) = x.min_vjp();
    let third = 1.0 / 3.0;
    assert_close(pullback(Tensor::scalar(1.0)).as_slice(), &[third, 0.0, third, third, 0.0], 1e-15);

    // With two tied elements the central difference gives 1/2 to each, which
    // is the even split. With three it still gives 1/2, so only a pair is
    // checked numerically.
    let pair_tie: T1<U4> = Tensor::from_array([4.0, -1.0, 0.5, -1.0]);
    check(|x: &T1<U4>| x.min(), |x| x.min_vjp().map1(), &pair_tie);
}

#[test]
fn max_min_grad_random() {
    let x: T2<U3, U3> = Tensor::randn(&mut rng(3));
    check(|x: &T2<U3, U3>| x.max(), |x| x.max_vjp().map1(), &x);
    check(|x: &T2<U3, U3>| x.min(), |x| x.min_vjp().map1(), &x);
}

#[test]
fn logsumexp_value_from_logs() {
    // log(e^0 + e^ln2 + e^ln3) = log(1 + 2 + 3) = log 6
    let x: T1<U3> = Tensor::from_array([0.0, 2f64.ln(), 3f64.ln()]);
    assert_close(&[x.logsumexp().item()], &[6f64.ln()], 1e-15);
}

#[test]
fn logsumexp_finite_near_thousand() {
    // log(2 e^±1000) = ±1000 + log 2
    let high: T1<U2> = Tensor::from_array([1000.0, 1000.0]);
    let low: T1<U2> = Tensor::from_array([-1000.0, -1000.0]);
    assert_close(&[high.logsumexp().item()], &[1000.0 + 2f64.ln()], 1e-15);
    assert_close(&[low.logsumexp().item()], &[-1000.0 + 2f64.ln()], 1e-15);

    // exp(x - lse) rounds near 1000, so the match is to about 1e-13.
    let (_, (pullback,)) = high.logsumexp_vjp();
    assert_close(pullback(Tensor::scalar(1.0)).as_slice(), &[0.5, 0.5], 1e-12);

    let mixed: T1<U3> = Tensor::from_array([1000.0, -1000.0, 999.0]);
    check(|x: &T1<U3>| x.logsumexp(), |x| x.logsumexp_vjp().map1(), &mixed);
}

#[test]
fn logsumexp_grad_random() {
    let x: T2<U2, U3> = Tensor::randn(&mut rng(4));
    check(|x: &T2<U2, U3>| x.logsumexp(), |x| x.logsumexp_vjp().map1(), &x);
}

#[test]
fn norm_value_three_four_five() {
    let x: T1<U2> = Tensor::from_array([3.0, -4.0]);
    assert_eq!(x.norm().item(), 5.0);
    // d‖x‖/dx = x / ‖x‖
    let (_, (pullback,)) = x.norm_vjp();
    assert_close(pullback(Tensor::scalar(1.0)).as_slice(), &[0.6, -0.8], 1e-15);
}

#[test]
fn norm_of_zero_vector_has_zero_grad() {
    let x: T1<U3> = Tensor::zeros();
    let (y, (pullback,)) = x.norm_vjp();
    assert_eq!(y.item(), 0.0);
    let grad = pullback(Tensor::scalar(1.0));
    assert_eq!(grad.as_slice(), &[0.0, 0.0, 0.0]);
    assert!(grad.all_finite());
    // The central difference at 0 is (eps - eps) / 2eps = 0 as well.
    check(|x: &T1<U3>| x.norm(), |x| x.norm_vjp().map1(), &x);
}

#[test]
fn norm_does_not_overflow_or_underflow() {
    let huge: T1<U2> = Tensor::from_array([3e200, 4e200]);
    assert_close(&[huge.norm().item()], &[5e200], 1e-15);
    let tiny: T1<U2> = Tensor::from_array([3e-200, 4e-200]);
    assert_close(&[tiny.norm().item() / 1e-200], &[5.0], 1e-15);
}

#[test]
fn norm_grad_random() {
    let x: T2<U2, U3> = Tensor::randn(&mut rng(5));
    check(|x: &T2<U2, U3>| x.norm(), |x| x.norm_vjp().map1(), &x);
}

// ---------------------------------------------------------- axis reductions

fn one_to_six() -> T2<U2, U3> {
    Tensor::from_array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
}

#[test]
fn sum_axis_values() {
    let x = one_to_six();
    let cols: T1<U3> = x.sum_axis::<0>();
    let rows: T1<U2> = x.sum_axis::<1>();
    assert_eq!(cols.as_slice(), &[5.0, 7.0, 9.0]);
    assert_eq!(rows.as_slice(), &[6.0, 15.0]);

    let v: T1<U3> = Tensor::from_array([1.0, 2.0, 4.0]);
    let total: T0 = v.sum_axis::<0>();
    assert_eq!(total.item(), 7.0);
}

#[test]
fn sum_axis_grad_rank2_and_rank3() {
    let x: T2<U3, U4> = Tensor::randn(&mut rng(6));
    check(|x: &T2<U3, U4>| x.sum_axis::<0>(), |x| x.sum_axis_vjp::<0>().map1(), &x);
    check(|x: &T2<U3, U4>| x.sum_axis::<1>(), |x| x.sum_axis_vjp::<1>().map1(), &x);

    let x: T3<U2, U3, U2> = Tensor::randn(&mut rng(7));
    check(|x: &T3<U2, U3, U2>| x.sum_axis::<1>(), |x| x.sum_axis_vjp::<1>().map1(), &x);
    check(|x: &T3<U2, U3, U2>| x.sum_axis::<2>(), |x| x.sum_axis_vjp::<2>().map1(), &x);
}

#[test]
fn sum_axis_rank3_middle_values() {
    // x[a, b, c] = 100a + 10b + c; summing b over {0, 1, 2} gives
    // 300a + 30 + 3c.
    let x: T3<U2, U3, U2> = Tensor::from_fn(|i| {
        let (a, b, c) = (i / 6, (i / 2) % 3, i % 2);
        (100 * a + 10 * b + c) as f64
    });
    let y = x.sum_axis::<1>();
    assert_eq!(y.as_slice(), &[30.0, 33.0, 330.0, 333.0]);
}

#[test]
fn sum_axis_dyn_batch() {
    let x: Tensor<Rank2<Dyn, U3>, f64> = Tensor::randn_with_shape(Rank2(Dyn(4), U3::default()), &mut rng(8));
    let per_row = x.sum_axis::<1>();
    assert_eq!(per_row.dims(), [4]);
    check(|x: &Tensor<Rank2<Dyn, U3>, f64>| x.sum_axis::<1>(), |x| x.sum_axis_vjp::<1>().map1(), &x);
    check(|x: &Tensor<Rank2<Dyn, U3>, f64>| x.sum_axis::<0>(), |x| x.sum_axis_vjp::<0>().map1(), &x);
}

#[test]
fn mean_axis_values_and_grad() {
    let x = one_to_six();
    assert_eq!(x.mean_axis::<0>().as_slice(), &[2.5, 3.5, 4.5]);
    assert_eq!(x.mean_axis::<1>().as_slice(), &[2.0, 5.0]);

    let x: T2<U3, U4> = Tensor::randn(&mut rng(9));
    check(|x: &T2<U3, U4>| x.mean_axis::<0>(), |x| x.mean_axis_vjp::<0>().map1(), &x);
    check(|x: &T2<U3, U4>| x.mean_axis::<1>(), |x| x.mean_axis_vjp::<1>().map1(), &x);
}

#[test]
fn max_axis_values_and_grad() {
    let x = one_to_six();
    assert_eq!(x.max_axis::<0>().as_slice(), &[4.0, 5.0, 6.0]);
    assert_eq!(x.max_axis::<1>().as_slice(), &[3.0, 6.0]);

    let x: T2<U3, U4> = Tensor::randn(&mut rng(10));
    check(|x: &T2<U3, U4>| x.max_axis::<0>(), |x| x.max_axis_vjp::<0>().map1(), &x);
    check(|x: &T2<U3, U4>| x.max_axis::<1>(), |x| x.max_axis_vjp::<1>().map1(), &x);
}

#[test]
fn max_axis_ties_go_to_first_index() {
    // Row 0 ties at columns 1 and 2, row 1 at columns 0 and 2; torch.max(dim)
    // returns the first index, and the gradient follows it.
    let x: T2<U2, U3> = Tensor::from_array([[1.0, 5.0, 5.0], [7.0, 2.0, 7.0]]);
    let (y, (pullback,)) = x.max_axis_vjp::<1>();
    assert_eq!(y.as_slice(), &[5.0, 7.0]);
    let grad = pullback(Tensor::from_array([1.0, 10.0]));
    assert_eq!(grad.as_slice(), &[0.0, 1.0, 0.0, 10.0, 0.0, 0.0]);
}

#[test]
fn max_axis_nan_propagates() {
    let x: T2<U2, U2> = Tensor::from_array([[1.0, f64::NAN], [3.0, 2.0]]);
    let y = x.max_axis::<1>();
    assert!(y.as_slice()[0].is_nan());
    assert_eq!(y.as_slice()[1], 3.0);
}

#[test]
fn min_axis_values_and_grad() {
    let x = one_to_six();
    assert_eq!(x.min_axis::<0>().as_slice(), &[1.0, 2.0, 3.0]);
    assert_eq!(x.min_axis::<1>().as_slice(), &[1.0, 4.0]);

    let x: T2<U3, U4> = Tensor::randn(&mut rng(48));
    check(|x: &T2<U3, U4>| x.min_axis::<0>(), |x| x.min_axis_vjp::<0>().map1(), &x);
    check(|x: &T2<U3, U4>| x.min_axis::<1>(), |x| x.min_axis_vjp::<1>().map1(), &x);
}

#[test]
fn min_axis_ties_go_to_first_index() {
    let x: T2<U2, U3> = Tensor::from_array([[4.0, 1.0, 1.0], [0.0, 2.0, 0.0]]);
    let (y, (pullback,)) = x.min_axis_vjp::<1>();
    assert_eq!(y.as_slice(), &[1.0, 0.0]);
    let grad = pullback(Tensor::from_array([1.0, 10.0]));
    assert_eq!(grad.as_slice(), &[0.0, 1.0, 0.0, 10.0, 0.0, 0.0]);
}

#[test]
fn var_axis_values() {
    // Rows [1, 2, 3] and [4, 5, 6]: squared deviations 1 + 0 + 1 = 2 each.
    // Columns [1, 4], [2, 5], [3, 6]: 2.25 + 2.25 = 4.5 each.
    let x = one_to_six();
    assert_close(x.var_axis::<1>(false).as_slice(), &[2.0 / 3.0, 2.0 / 3.0], 1e-15);
    assert_close(x.var_axis::<1>(true).as_slice(), &[1.0, 1.0], 1e-15);
    assert_close(x.var_axis::<0>(false).as_slice(), &[2.25, 2.25, 2.25], 1e-15);
    assert_close(x.var_axis::<0>(true).as_slice(), &[4.5, 4.5, 4.5], 1e-15);
}

#[test]
fn var_axis_grad_both_corrections() {
    let x: T3<U2, U3, U2> = Tensor::randn(&mut rng(49));
    for unbiased in [false, true] {
        check(|x: &T3<U2, U3, U2>| x.var_axis::<1>(unbiased), |x| {
            let (y, (pullback, _)) = x.var_axis_vjp::<1>(unbiased);
            (y, pullback)
        }, &x);
        check(|x: &T3<U2, U3, U2>| x.var_axis::<2>(unbiased), |x| {
            let (y, (pullback, _)) = x.var_axis_vjp::<2>(unbiased);
            (y, pullback)
        }, &x);
    }
}

#[test]
fn logsumexp_axis_values_and_extremes() {
    // Row 0: log(1 + 2 + 3) = log 6. Row 1: 1000 + log(1 + 1 + e^-2000).
    let x: T2<U2, U3> = Tensor::from_array([[0.0, 2f64.ln(), 3f64.ln()], [1000.0, 1000.0, -1000.0]]);
    let y = x.logsumexp_axis::<1>();
    assert!(y.all_finite());
    assert_close(y.as_slice(), &[6f64.ln(), 1000.0 + 2f64.ln()], 1e-15);
    check(|x: &T2<U2, U3>| x.logsumexp_axis::<1>(), |x| x.logsumexp_axis_vjp::<1>().map1(), &x);
    check(|x: &T2<U2, U3>| x.logsumexp_axis::<0>(), |x| x.logsumexp_axis_vjp::<0>().map1(), &x);
}

#[test]
fn logsumexp_axis_grad_random() {
    let x: T3<U2, U3, U2> = Tensor::randn(&mut rng(11));
    check(|x: &T3<U2, U3, U2>| x.logsumexp_axis::<1>(), |x| x.logsumexp_axis_vjp::<1>().map1(), &x);
}

// ------------------------------------------------------------------ softmax

#[test]
fn softmax_values_from_logs() {
    // softmax([0, ln 2, ln 3]) = [1, 2, 3] / 6
    let x: T1<U3> = Tensor::from_array([0.0, 2f64.ln(), 3f64.ln()]);
    assert_close(x.softmax().as_slice(), &[1.0 / 6.0, 2.0 / 6.0, 3.0 / 6.0], 1e-15);
    assert_close(
        x.log_softmax().as_slice(),
        &[(1.0f64 / 6.0).ln(), (2.0f64 / 6.0).ln(), (3.0f64 / 6.0).ln()],
        1e-15,
    );
}

#[test]
fn softmax_axis_rows_sum_to_one() {
    let x: T2<U3, U4> = Tensor::randn(&mut rng(12));
    let p = x.softmax_axis::<1>();
    for row in p.sum_axis::<1>().as_slice() {
        assert_close(&[*row], &[1.0], 1e-14);
    }
    let p = x.softmax_axis::<0>();
    for col in p.sum_axis::<0>().as_slice() {
        assert_close(&[*col], &[1.0], 1e-14);
    }
}

#[test]
fn softmax_grad_whole_and_axes() {
    let x: T2<U2, U3> = Tensor::randn(&mut rng(13));
    check(|x: &T2<U2, U3>| x.softmax(), |x| x.softmax_vjp().map1(), &x);
    check(|x: &T2<U2, U3>| x.softmax_axis::<0>(), |x| x.softmax_axis_vjp::<0>().map1(), &x);
    check(|x: &T2<U2, U3>| x.softmax_axis::<1>(), |x| x.softmax_axis_vjp::<1>().map1(), &x);
}

#[test]
fn log_softmax_grad_whole_and_axes() {
    let x: T2<U2, U3> = Tensor::randn(&mut rng(14));
    check(|x: &T2<U2, U3>| x.log_softmax(), |x| x.log_softmax_vjp().map1(), &x);
    check(|x: &T2<U2, U3>| x.log_softmax_axis::<0>(), |x| x.log_softmax_axis_vjp::<0>().map1(), &x);
    check(|x: &T2<U2, U3>| x.log_softmax_axis::<1>(), |x| x.log_softmax_axis_vjp::<1>().map1(), &x);
}

#[test]
fn log_softmax_finite_near_thousand() {
    // Row 0: lse = 1000 + log(1 + e^-1000 + e^-2000) = 1000 in f64, so the
    // outputs are x - 1000. Row 1: lse = -1000 + log 2.
    let x: T2<U2, U3> = Tensor::from_array([[1000.0, 0.0, -1000.0], [-1000.0, -1000.0, -2000.0]]);
    let y = x.log_softmax_axis::<1>();
    assert!(y.all_finite());
    // x - lse loses the digits below 1000 · 2^-52 ≈ 2e-13.
    let l2 = 2f64.ln();
    assert_close(y.as_slice(), &[0.0, -1000.0, -2000.0, -l2, -l2, -1000.0 - l2], 1e-12);

    let p = x.softmax_axis::<1>();
    assert!(p.all_finite());
    check(|x: &T2<U2, U3>| x.log_softmax_axis::<1>(), |x| x.log_softmax_axis_vjp::<1>().map1(), &x);
    check(|x: &T2<U2, U3>| x.softmax_axis::<1>(), |x| x.softmax_axis_vjp::<1>().map1(), &x);

    let whole: T1<U3> = Tensor::from_array([1000.0, -1000.0, 999.0]);
    assert!(whole.log_softmax().all_finite());
    check(|x: &T1<U3>| x.log_softmax(), |x| x.log_softmax_vjp().map1(), &whole);
}

#[test]
fn log_softmax_dyn_batch() {
    let x: Tensor<Rank2<Dyn, U4>, f64> = Tensor::randn_with_shape(Rank2(Dyn(3), U4::default()), &mut rng(15));
    let y = x.log_softmax_axis::<1>();
    assert_eq!(y.dims(), [3, 4]);
    for row in y.map(f64::exp).sum_axis::<1>().as_slice() {
        assert_close(&[*row], &[1.0], 1e-14);
    }
    check(
        |x: &Tensor<Rank2<Dyn, U4>, f64>| x.log_softmax_axis::<1>(),
        |x| x.log_softmax_axis_vjp::<1>().map1(),
        &x,
    );
}

// ---------------------------------------------------------- matrix products

#[test]
fn dot_value_and_grad() {
    // 1·4 + 2·5 + 3·6 = 32
    let a: T1<U3> = Tensor::from_array([1.0, 2.0, 3.0]);
    let b: T1<U3> = Tensor::from_array([4.0, 5.0, 6.0]);
    assert_eq!(a.dot(&b).item(), 32.0);
    assert_eq!(a.matmul(&b).item(), 32.0);

    let pair: (T1<U4>, T1<U4>) = (Tensor::randn(&mut rng(16)), Tensor::randn(&mut rng(17)));
    check(|(a, b): &(T1<U4>, T1<U4>)| a.dot(b), |(a, b)| a.dot_vjp(b).map2(), &pair);
    check(|(a, b): &(T1<U4>, T1<U4>)| a.matmul(b), |(a, b)| a.matmul_vjp(b).map2(), &pair);
}

#[test]
fn outer_value_and_grad() {
    let a: T1<U2> = Tensor::from_array([1.0, 2.0]);
    let b: T1<U3> = Tensor::from_array([3.0, 4.0, 5.0]);
    assert_eq!(a.outer(&b).as_slice(), &[3.0, 4.0, 5.0, 6.0, 8.0, 10.0]);

    let pair: (T1<U3>, T1<U2>) = (Tensor::randn(&mut rng(18)), Tensor::randn(&mut rng(19)));
    check(|(a, b): &(T1<U3>, T1<U2>)| a.outer(b), |(a, b)| a.outer_vjp(b).map2(), &pair);
}

#[test]
fn matmul_t_value() {
    // [[1, 2], [3, 4]] · [[5, 6], [7, 8]]ᵀ = [[1·5 + 2·6, 1·7 + 2·8], [3·5 + 4·6, 3·7 + 4·8]]
    let a: T2<U2, U2> = Tensor::from_array([[1.0, 2.0], [3.0, 4.0]]);
    let b: T2<U2, U2> = Tensor::from_array([[5.0, 6.0], [7.0, 8.0]]);
    assert_eq!(a.matmul_t(&b).as_slice(), &[17.0, 23.0, 39.0, 53.0]);

    // [1, 2] · [[5, 6], [7, 8]]ᵀ = [17, 23]
    let x: T1<U2> = Tensor::from_array([1.0, 2.0]);
    assert_eq!(x.matmul_t(&b).as_slice(), &[17.0, 23.0]);
}

#[test]
fn matmul_t_grad_static() {
    let pair: (T2<U2, U3>, T2<U4, U3>) = (Tensor::randn(&mut rng(20)), Tensor::randn(&mut rng(21)));
    check(|(a, b): &(T2<U2, U3>, T2<U4, U3>)| a.matmul_t(b), |(a, b)| a.matmul_t_vjp(b).map2(), &pair);

    let pair: (T1<U3>, T2<U4, U3>) = (Tensor::randn(&mut rng(22)), Tensor::randn(&mut rng(23)));
    check(|(x, b): &(T1<U3>, T2<U4, U3>)| x.matmul_t(b), |(x, b)| x.matmul_t_vjp(b).map2(), &pair);
}

#[test]
fn matmul_t_blocked_kernel_matches_matmul_of_transpose() {
    // 16 · 16 · 24 multiply-adds reach the blocked kernel, whose strided
    // read of bᵀ must agree with an explicitly transposed copy.
    let a: T2<U16, U16> = Tensor::randn(&mut rng(24));
    let b: T2<U24, U16> = Tensor::randn(&mut rng(25));
    let expected = a.matmul(&b.t());
    assert_close(a.matmul_t(&b).as_slice(), expected.as_slice(), 1e-12);

    let pair = (a, b);
    check(|(a, b): &(T2<U16, U16>, T2<U24, U16>)| a.matmul_t(b), |(a, b)| a.matmul_t_vjp(b).map2(), &pair);
}

#[test]
fn matmul_t_dyn_batch() {
    type Batch = Tensor<Rank2<Dyn, U3>, f64>;
    let x: Batch = Tensor::randn_with_shape(Rank2(Dyn(5), U3::default()), &mut rng(26));
    let w: T2<U2, U3> = Tensor::randn(&mut rng(27));
    let y = x.matmul_t(&w);
    assert_eq!(y.dims(), [5, 2]);
    assert_close(y.as_slice(), x.matmul(&w.t()).as_slice(), 1e-14);
    check(|(x, w): &(Batch, T2<U2, U3>)| x.matmul_t(w), |(x, w)| x.matmul_t_vjp(w).map2(), &(x, w));
}

#[test]
#[should_panic(expected = "matmul_t shared last dimension: sizes do not match: 3 versus 4")]
fn matmul_t_rejects_mismatched_dyn_axis() {
    let a: Tensor<Rank2<U2, Dyn>, f64> = Tensor::zeros_with_shape(Rank2(U2::default(), Dyn(3)));
    let b: Tensor<Rank2<U2, Dyn>, f64> = Tensor::zeros_with_shape(Rank2(U2::default(), Dyn(4)));
    let _ = a.matmul_t(&b);
}

// ---------------------------------------------------------------- shape ops

#[test]
fn transpose_value_and_grad() {
    let y: T2<U3, U2> = one_to_six().t();
    assert_eq!(y.as_slice(), &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);

    let x: T2<U3, U4> = Tensor::randn(&mut rng(28));
    check(|x: &T2<U3, U4>| x.t(), |x| x.t_vjp().map1(), &x);
}

#[test]
fn batch_transpose_value_and_grad() {
    // Each [2, 3] matrix of the batch is transposed on its own.
    let x: T3<U2, U2, U3> = Tensor::from_fn(|i| i as f64);
    let y: T3<U2, U3, U2> = x.mt();
    assert_eq!(y.as_slice(), &[0.0, 3.0, 1.0, 4.0, 2.0, 5.0, 6.0, 9.0, 7.0, 10.0, 8.0, 11.0]);

    let x: T3<U2, U3, U2> = Tensor::randn(&mut rng(29));
    check(|x: &T3<U2, U3, U2>| x.mt(), |x| x.mt_vjp().map1(), &x);
}

#[test]
fn broadcast_leading_and_trailing_axis() {
    let v: T1<U3> = Tensor::from_array([1.0, 2.0, 3.0]);
    let rows: T2<U2, U3> = v.broadcast::<0, _>();
    assert_eq!(rows.as_slice(), &[1.0, 2.0, 3.0, 1.0, 2.0, 3.0]);
    let cols: T2<U3, U2> = v.broadcast::<1, _>();
    assert_eq!(cols.as_slice(), &[1.0, 1.0, 2.0, 2.0, 3.0, 3.0]);

    let x: T1<U3> = Tensor::randn(&mut rng(30));
    check(|x: &T1<U3>| x.broadcast::<0, Rank2<U4, U3>>(), |x| x.broadcast_vjp::<0, Rank2<U4, U3>>().map1(), &x);
    check(|x: &T1<U3>| x.broadcast::<1, Rank2<U3, U2>>(), |x| x.broadcast_vjp::<1, Rank2<U3, U2>>().map1(), &x);
}

#[test]
fn broadcast_rank2_to_rank3_middle_axis() {
    let x: T2<U2, U3> = Tensor::randn(&mut rng(31));
    let y: T3<U2, U4, U3> = x.broadcast::<1, _>();
    for b in 0..4 {
        assert_eq!(y.get([1, b, 2]), x.get([1, 2]));
    }
    check(|x: &T2<U2, U3>| x.broadcast::<1, Rank3<U2, U4, U3>>(), |x| x.broadcast_vjp::<1, Rank3<U2, U4, U3>>().map1(), &x);
}

#[test]
fn broadcast_bias_over_dyn_batch() {
    let bias: T1<U3> = Tensor::from_array([1.0, 2.0, 3.0]);
    let shape = Rank2(Dyn(2), U3::default());
    let y = bias.broadcast_with_shape::<0, _>(shape);
    assert_eq!(y.as_slice(), &[1.0, 2.0, 3.0, 1.0, 2.0, 3.0]);
    check(
        |x: &T1<U3>| x.broadcast_with_shape::<0, _>(shape),
        |x| {
            let (y, (pullback, _)) = x.broadcast_with_shape_vjp::<0, _>(shape);
            (y, pullback)
        },
        &bias,
    );
}

#[test]
#[should_panic(expected = "broadcast: cannot repeat a tensor of shape [3] into [2, 4] along axis 0")]
fn broadcast_rejects_mismatched_dyn_shape() {
    let v: Tensor<Rank1<Dyn>, f64> = Tensor::zeros_with_shape(Rank1(Dyn(3)));
    let _ = v.broadcast_with_shape::<0, _>(Rank2(U2::default(), Dyn(4)));
}

#[test]
fn expand_scalar_and_grad() {
    let s: T0 = Tensor::scalar(2.5);
    let y: T2<U2, U3> = s.expand();
    assert_eq!(y.as_slice(), &[2.5; 6]);
    check(|s: &T0| s.expand::<Rank3<U2, U2, U2>>(), |s| s.expand_vjp::<Rank3<U2, U2, U2>>().map1(), &s);

    let dyn_shape = Rank2(Dyn(3), U2::default());
    assert_eq!(s.expand_with_shape(dyn_shape).dims(), [3, 2]);
}

#[test]
fn reshape_value_and_grad() {
    let y: T2<U3, U2> = one_to_six().reshape();
    assert_eq!(y.get([2, 0]), 5.0);
    let z: T3<U1, U2, U3> = one_to_six().reshape();
    assert_eq!(z.as_slice(), one_to_six().as_slice());

    let x: T2<U2, U6> = Tensor::randn(&mut rng(32));
    check(|x: &T2<U2, U6>| x.reshape::<Rank3<U3, U2, U2>>(), |x| x.reshape_vjp::<Rank3<U3, U2, U2>>().map1(), &x);
}

#[test]
fn try_reshape_checks_element_count() {
    let x = one_to_six();
    let err = x.try_reshape_with_shape(Rank2(Dyn(4), U2::default())).unwrap_err();
    assert_eq!(err, ShapeError { expected: 8, found: 6 });

    let y = x.try_reshape_with_shape(Rank2(Dyn(3), U2::default())).unwrap();
    assert_eq!(y.dims(), [3, 2]);
    check(
        |x: &T2<U2, U3>| x.try_reshape_with_shape(Rank1(Dyn(6))).unwrap(),
        |x| {
            let (y, (pullback, _)) = x.try_reshape_with_shape_vjp(Rank1(Dyn(6))).unwrap();
            (y, pullback)
        },
        &x,
    );
}

#[test]
fn flatten_length_is_typenum_product() {
    let y: T1<U6> = one_to_six().flatten();
    assert_eq!(y.as_slice(), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);

    let x: T3<U2, U2, U2> = Tensor::randn(&mut rng(33));
    let flat: T1<U8> = x.flatten();
    assert_eq!(flat.as_slice(), x.as_slice());
    check(|x: &T3<U2, U2, U2>| x.flatten(), |x| x.flatten_vjp().map1(), &x);
}

#[test]
fn flatten_keep_batch_rank3_and_rank4() {
    type Images = Tensor<Rank4<Dyn, U2, U2, U3>, f64>;
    let x: Images = Tensor::randn_with_shape(Rank4(Dyn(2), U2::default(), U2::default(), U3::default()), &mut rng(34));
    let y: Tensor<Rank2<Dyn, U12>, f64> = x.flatten_keep_batch();
    assert_eq!(y.dims(), [2, 12]);
    assert_eq!(y.as_slice(), x.as_slice());
    check(|x: &Images| x.flatten_keep_batch(), |x| x.flatten_keep_batch_vjp().map1(), &x);

    let x: T3<U2, U3, U2> = Tensor::randn(&mut rng(35));
    let y: T2<U2, U6> = x.flatten_keep_batch();
    assert_eq!(y.as_slice(), x.as_slice());
    check(|x: &T3<U2, U3, U2>| x.flatten_keep_batch(), |x| x.flatten_keep_batch_vjp().map1(), &x);
}

#[test]
fn concat_vectors_and_matrices() {
    let a: T1<U2> = Tensor::from_array([1.0, 2.0]);
    let b: T1<U3> = Tensor::from_array([3.0, 4.0, 5.0]);
    let c: T1<U5> = a.concat::<0, _>(&b);
    assert_eq!(c.as_slice(), &[1.0, 2.0, 3.0, 4.0, 5.0]);

    let top: T2<U1, U3> = Tensor::from_array([[7.0, 8.0, 9.0]]);
    let stacked: T2<U3, U3> = one_to_six().concat::<0, _>(&top);
    assert_eq!(stacked.as_slice(), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);

    let right: T2<U2, U1> = Tensor::from_array([[10.0], [20.0]]);
    let wide: T2<U2, U4> = one_to_six().concat::<1, _>(&right);
    assert_eq!(wide.as_slice(), &[1.0, 2.0, 3.0, 10.0, 4.0, 5.0, 6.0, 20.0]);
}

#[test]
fn concat_grad_each_axis() {
    let pair: (T1<U2>, T1<U3>) = (Tensor::randn(&mut rng(36)), Tensor::randn(&mut rng(37)));
    check(|(a, b): &(T1<U2>, T1<U3>)| a.concat::<0, _>(b), |(a, b)| a.concat_vjp::<0, _>(b).map2(), &pair);

    let pair: (T2<U2, U3>, T2<U1, U3>) = (Tensor::randn(&mut rng(38)), Tensor::randn(&mut rng(39)));
    check(|(a, b): &(T2<U2, U3>, T2<U1, U3>)| a.concat::<0, _>(b), |(a, b)| a.concat_vjp::<0, _>(b).map2(), &pair);

    let pair: (T2<U2, U3>, T2<U2, U2>) = (Tensor::randn(&mut rng(40)), Tensor::randn(&mut rng(41)));
    check(|(a, b): &(T2<U2, U3>, T2<U2, U2>)| a.concat::<1, _>(b), |(a, b)| a.concat_vjp::<1, _>(b).map2(), &pair);
}

#[test]
fn concat_columns_of_dyn_batch() {
    type Left = Tensor<Rank2<Dyn, U2>, f64>;
    type Right = Tensor<Rank2<Dyn, U1>, f64>;
    let a: Left = Tensor::randn_with_shape(Rank2(Dyn(3), U2::default()), &mut rng(42));
    let b: Right = Tensor::randn_with_shape(Rank2(Dyn(3), U1::default()), &mut rng(43));
    let c: Tensor<Rank2<Dyn, U3>, f64> = a.concat::<1, _>(&b);
    assert_eq!(c.get([2, 2]), b.get([2, 0]));
    check(|(a, b): &(Left, Right)| a.concat::<1, _>(b), |(a, b)| a.concat_vjp::<1, _>(b).map2(), &(a, b));
}

#[test]
#[should_panic(expected = "concat: shapes [3, 2] and [4, 1] differ outside axis 1")]
fn concat_rejects_mismatched_dyn_rows() {
    let a: Tensor<Rank2<Dyn, U2>, f64> = Tensor::zeros_with_shape(Rank2(Dyn(3), U2::default()));
    let b: Tensor<Rank2<Dyn, U1>, f64> = Tensor::zeros_with_shape(Rank2(Dyn(4), U1::default()));
    let _ = a.concat::<1, _>(&b);
}

#[test]
fn narrow_values_and_grad() {
    let x = one_to_six();
    let middle: T2<U2, U2> = x.narrow::<1, U1, U2>();
    assert_eq!(middle.as_slice(), &[2.0, 3.0, 5.0, 6.0]);
    let bottom: T2<U1, U3> = x.narrow::<0, U1, U1>();
    assert_eq!(bottom.as_slice(), &[4.0, 5.0, 6.0]);
    let empty: T2<U2, U0> = x.narrow::<1, U3, U0>();
    assert_eq!(empty.numel(), 0);

    let x: T2<U3, U4> = Tensor::randn(&mut rng(44));
    check(|x: &T2<U3, U4>| x.narrow::<1, U1, U2>(), |x| x.narrow_vjp::<1, U1, U2>().map1(), &x);
    check(|x: &T2<U3, U4>| x.narrow::<0, U2, U1>(), |x| x.narrow_vjp::<0, U2, U1>().map1(), &x);
}

#[test]
fn select_row_and_column() {
    let x = one_to_six();
    let row: T1<U3> = x.select::<0>(1);
    assert_eq!(row.as_slice(), &[4.0, 5.0, 6.0]);
    let col: T1<U2> = x.select::<1>(2);
    assert_eq!(col.as_slice(), &[3.0, 6.0]);

    let x: T2<U3, U4> = Tensor::randn(&mut rng(45));
    for axis_index in 0..3 {
        check(|x: &T2<U3, U4>| x.select::<0>(axis_index), |x| {
            let (y, (pullback, _)) = x.select_vjp::<0>(axis_index);
            (y, pullback)
        }, &x);
    }
    check(|x: &T2<U3, U4>| x.select::<1>(3), |x| {
        let (y, (pullback, _)) = x.select_vjp::<1>(3);
        (y, pullback)
    }, &x);
}

#[test]
#[should_panic(expected = "select: index 2 is out of range for axis 0 of size 2")]
fn select_rejects_out_of_range_index() {
    let _ = one_to_six().select::<0>(2);
}

#[test]
fn select_per_row_picks_class_scores() {
    let x = one_to_six();
    let picked: T1<U2> = x.select_per_row(&[2, 0]);
    assert_eq!(picked.as_slice(), &[3.0, 4.0]);

    let classes = [1, 3, 0];
    let x: T2<U3, U4> = Tensor::randn(&mut rng(46));
    check(|x: &T2<U3, U4>| x.select_per_row(&classes), |x| {
        let (y, (pullback, _)) = x.select_per_row_vjp(&classes);
        (y, pullback)
    }, &x);
}

#[test]
fn select_per_row_dyn_batch() {
    let x: Tensor<Rank2<Dyn, U3>, f64> = Tensor::randn_with_shape(Rank2(Dyn(4), U3::default()), &mut rng(47));
    let classes = [2, 2, 0, 1];
    let y = x.select_per_row(&classes);
    for (row, &class) in classes.iter().enumerate() {
        assert_eq!(y.get([row]), x.get([row, class]));
    }
}

#[test]
#[should_panic(expected = "select_per_row: class index 5 in row 1 is out of range for 3 classes")]
fn select_per_row_rejects_out_of_range_class() {
    let _ = one_to_six().select_per_row(&[0, 5]);
}

#[test]
#[should_panic(expected = "select_per_row: expected one class index per row, 2 rows, found 3 indices")]
fn select_per_row_rejects_wrong_index_count() {
    let _ = one_to_six().select_per_row(&[0, 1, 2]);
}

// ----------------------------------------------------------- compile errors

/// Shape mistakes that PyTorch reports at run time fail to compile here, with
/// the message committed beside each case in `tests/ui/structural`.
#[test]
fn structural_misuse_does_not_compile() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/structural/*.rs");
}

// ------------------------------------------------------------ inline device

#[test]
fn ops_run_on_inline_device() {
    type Matrix = Tensor<Rank2<U2, U3>, f64, Inline>;
    let x: Matrix = Tensor::from_array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    assert_eq!(x.sum_axis::<1>().as_slice(), &[6.0, 15.0]);
    assert_eq!(x.max().item(), 6.0);
    assert_eq!(x.select_per_row(&[2, 0]).as_slice(), &[3.0, 4.0]);

    // Row i of x dotted with row j of x: 1+4+9 = 14, 4+10+18 = 32, 16+25+36 = 77.
    assert_eq!(x.matmul_t(&x).as_slice(), &[14.0, 32.0, 32.0, 77.0]);

    let flat: Tensor<Rank1<U6>, f64, Inline> = x.flatten();
    assert_eq!(flat.as_slice(), x.as_slice());
    let wide: Tensor<Rank2<U2, U6>, f64, Inline> = x.concat::<1, _>(&x);
    assert_eq!(wide.get([1, 3]), 4.0);

    check(|x: &Matrix| x.log_softmax_axis::<1>(), |x| x.log_softmax_axis_vjp::<1>().map1(), &x);
    check(|x: &Matrix| x.t(), |x| x.t_vjp().map1(), &x);
}

// ------------------------------------------------------------------ helpers

/// Turns a VJP result into the `(output, pullback)` pair that gradcheck
/// takes: one argument passes its pullback through, two arguments combine
/// theirs into one that returns both gradients.
trait IntoCheck<Y, P> {
    fn map1(self) -> (Y, P);
}

impl<Y, P> IntoCheck<Y, P> for (Y, (P,)) {
    fn map1(self) -> (Y, P) {
        (self.0, self.1 .0)
    }
}

trait IntoCheck2<Y, Ga, Gb> {
    #[allow(clippy::type_complexity)]
    fn map2(self) -> (Y, Box<dyn FnOnce(Y) -> (Ga, Gb)>);
}

impl<Y, Ga, Gb, Pa, Pb> IntoCheck2<Y, Ga, Gb> for (Y, (Pa, Pb))
where
    Y: Clone + 'static,
    Pa: FnOnce(Y) -> Ga + 'static,
    Pb: FnOnce(Y) -> Gb + 'static,
{
    fn map2(self) -> (Y, Box<dyn FnOnce(Y) -> (Ga, Gb)>) {
        let (y, (pa, pb)) = self;
        (y, Box::new(move |grad: Y| (pa(grad.clone()), pb(grad))))
    }
}

#[test]
fn sum_of_empty_batch_is_positive_zero() {
    let empty: Tensor<Rank2<Dyn, U3>, f64> = Tensor::zeros_with_shape(Rank2(Dyn(0), U3::default()));
    let total = empty.sum().item();
    assert_eq!(total, 0.0);
    assert!(total.is_sign_positive());
}

/// Sums a tensor on another thread. Generic code needs no `Send` bound of
/// its own, because every shape and element type is `Send`.
fn sum_on_thread<S: autograd::Shape, E: autograd::Float>(t: Tensor<S, E>) -> E {
    std::thread::spawn(move || t.as_slice().iter().fold(E::ZERO, |acc, &x| acc + x))
        .join()
        .expect("the thread does not panic")
}

#[test]
fn generic_tensor_moves_to_thread() {
    let small: Tensor<Rank1<U3>> = Tensor::from_array([1.0, 2.0, 3.0]);
    let large: Tensor<Rank2<Dyn, U3>, f64> = Tensor::from_fn_with_shape(Rank2(Dyn(4), U3::new()), |i| i as f64);

    assert_eq!(sum_on_thread(small), 6.0);
    assert_eq!(sum_on_thread(large), 66.0);
}

#[test]
#[should_panic(expected = "has more elements than usize can count")]
fn overflowing_dyn_shape_is_rejected() {
    // 2^63 + 1 rows of 2 wraps to 2 elements in a release build, which
    // matched the 2-element slice before `numel` checked its product.
    let rows = (1usize << 63) + 1;
    let _ = Tensor::<Rank2<Dyn, Dyn>>::from_slice_with_shape(Rank2(Dyn(rows), Dyn(2)), &[1.0, 2.0]);
}
