//! Runtime support for code that `#[differentiable]` generates.
//!
//! A VJP form returns its pullbacks in one of two shapes. A primitive returns
//! a tuple with one pullback per argument, and [`NoGrad`] in the slots of
//! arguments without a gradient. A `#[differentiable]` function returns one
//! closure that computes the gradients of all its arguments at once.
//! [`Pullbacks`] runs either shape, so generated code can call a
//! primitive and another differentiable function the same way. The mask
//! ([`Need`] or [`Skip`] per argument) says which gradients the caller uses:
//! a tuple of pullbacks runs only the [`Need`] slots.

use crate::grad::NoGrad;

/// The mask entry of an argument whose gradient the caller needs.
#[derive(Clone, Copy, Debug, Default)]
pub struct Need;

/// The mask entry of an argument whose gradient the caller drops (a constant
/// or a value that does not depend on a differentiated input). Its pullback
/// is never called.
#[derive(Clone, Copy, Debug, Default)]
pub struct Skip;

/// The pullbacks of one VJP call, run on the output's cotangent `C` with a
/// mask `M` (a tuple of [`Need`] and [`Skip`], one per argument).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not the pullback part of a VJP form",
    label = "expected a tuple of pullbacks, one per argument, or one closure returning all gradients",
    note = "an `op_vjp` method returns `(value, (pullback_0, pullback_1, ...))`; \
            a `#[differentiable]` function's `f_vjp` returns `(value, pullback)`"
)]
pub trait Pullbacks<C, M> {
    /// The gradients, one per argument (`NoGrad` for skipped tuple slots).
    type Grads;

    fn pull(self, cotangent: C, mask: M) -> Self::Grads;

    /// The pullbacks that [`pull`](Pullbacks::pull) with this mask will run:
    /// a tuple drops its [`Skip`] slots (and the values they saved) here, in
    /// the forward pass, instead of carrying them to the backward pass. A
    /// joint pullback is kept whole.
    type Kept;

    fn keep(self, mask: M) -> Self::Kept;
}

/// A joint pullback, as `#[differentiable]` functions return it: it computes
/// every gradient its function was declared to compute, whatever the mask.
impl<C, G, F: FnOnce(C) -> G, M> Pullbacks<C, M> for F {
    type Grads = G;

    #[inline]
    fn pull(self, cotangent: C, _mask: M) -> G {
        self(cotangent)
    }

    type Kept = F;

    #[inline]
    fn keep(self, _mask: M) -> F {
        self
    }
}

/// One slot of a tuple of pullbacks, run or dropped according to its mask
/// entry. `cotangent` is called only when the slot runs, so a skipped slot
/// costs no clone.
pub trait Slot<P, C> {
    type Grad;

    /// Whether this slot's pullback runs.
    const RUNS: bool;

    fn pull_slot(pullback: P, cotangent: impl FnOnce() -> C) -> Self::Grad;

    /// The pullback itself for a slot that runs, [`NoGrad`] for one that
    /// does not.
    type Kept;

    fn keep_slot(pullback: P) -> Self::Kept;
}

impl<P: FnOnce(C) -> G, C, G> Slot<P, C> for Need {
    type Grad = G;
    const RUNS: bool = true;

    #[inline]
    fn pull_slot(pullback: P, cotangent: impl FnOnce() -> C) -> G {
        pullback(cotangent())
    }

    type Kept = P;

    #[inline]
    fn keep_slot(pullback: P) -> P {
        pullback
    }
}

impl<P, C> Slot<P, C> for Skip {
    type Grad = NoGrad;
    const RUNS: bool = false;

    #[inline]
    fn pull_slot(_pullback: P, _cotangent: impl FnOnce() -> C) -> NoGrad {
        NoGrad
    }

    type Kept = NoGrad;

    #[inline]
    fn keep_slot(_pullback: P) -> NoGrad {
        NoGrad
    }
}

/// Hands the cotangent to the slots that run: a clone to each but the last,
/// the cotangent itself to the last, so that its pullback can reuse the
/// buffer. `remaining` counts the slots still to run; it is a constant
/// after inlining, so the choice costs nothing.
#[inline]
fn hand_out<C: Clone>(cotangent: &mut Option<C>, remaining: &mut usize) -> C {
    const RAN_TWICE: &str = "a pullback slot ran more often than its mask says";
    *remaining -= 1;
    if *remaining == 0 {
        cotangent.take().expect(RAN_TWICE)
    } else {
        cotangent.as_ref().expect(RAN_TWICE).clone()
    }
}

/// Tuples of per-argument pullbacks: each slot that runs gets the cotangent
/// from [`hand_out`].
macro_rules! impl_pullback_tuple {
    ($($p:ident $m:ident $i:tt),* ; $lp:ident $lm:ident $li:tt) => {
        impl<C: Clone, $($p, $m: Slot<$p, C>,)* $lp, $lm: Slot<$lp, C>> Pullbacks<C, ($($m,)* $lm,)>
            for ($($p,)* $lp,)
        {
            type Grads = ($($m::Grad,)* $lm::Grad,);

            #[inline]
            fn pull(self, cotangent: C, _mask: ($($m,)* $lm,)) -> Self::Grads {
                let mut remaining = 0 $(+ usize::from($m::RUNS))* + usize::from($lm::RUNS);
                let mut cotangent = Some(cotangent);
                (
                    $($m::pull_slot(self.$i, || hand_out(&mut cotangent, &mut remaining)),)*
                    $lm::pull_slot(self.$li, || hand_out(&mut cotangent, &mut remaining)),
                )
            }

            type Kept = ($($m::Kept,)* $lm::Kept,);

            #[inline]
            fn keep(self, _mask: ($($m,)* $lm,)) -> Self::Kept {
                ($($m::keep_slot(self.$i),)* $lm::keep_slot(self.$li),)
            }
        }
    };
}

impl_pullback_tuple!(; P0 M0 0);
impl_pullback_tuple!(P0 M0 0; P1 M1 1);
impl_pullback_tuple!(P0 M0 0, P1 M1 1; P2 M2 2);
impl_pullback_tuple!(P0 M0 0, P1 M1 1, P2 M2 2; P3 M3 3);
impl_pullback_tuple!(P0 M0 0, P1 M1 1, P2 M2 2, P3 M3 3; P4 M4 4);
impl_pullback_tuple!(P0 M0 0, P1 M1 1, P2 M2 2, P3 M3 3, P4 M4 4; P5 M5 5);
impl_pullback_tuple!(P0 M0 0, P1 M1 1, P2 M2 2, P3 M3 3, P4 M4 4, P5 M5 5; P6 M6 6);
impl_pullback_tuple!(P0 M0 0, P1 M1 1, P2 M2 2, P3 M3 3, P4 M4 4, P5 M5 5, P6 M6 6; P7 M7 7);

/// The record of which branch of an `if` or `match` ran, with that
/// branch's pullback. A `match` with more arms nests `Else`.
#[derive(Clone, Copy, Debug)]
pub enum Branch<A, B> {
    Then(A),
    Else(B),
}

/// Stops the gradient: returns `value` unchanged, and `#[differentiable]`
/// treats the result as a constant, so nothing flows back into `value`
/// (PyTorch's `detach`).
#[inline]
pub fn no_grad<T>(value: T) -> T {
    value
}

/// Items that generated code names through `::autograd::__private`.
#[doc(hidden)]
pub mod __private {
    #[cfg(feature = "alloc")]
    pub use alloc::vec::Vec;

    pub use crate::param_reads::{check_param_reads, ParamFieldsFallback};
    pub use crate::scalar_loss::ScalarLoss;

    /// Names lifetimes in an `impl Trait` bound, which makes the opaque type
    /// capture them. Every type implements it.
    pub trait Captures<T: ?Sized> {}

    impl<T: ?Sized, U: ?Sized> Captures<T> for U {}

    /// The part of a constant or skipped model field: a `#[differentiable]`
    /// method that reads the field computes a gradient for it, and this
    /// part drops it.
    #[derive(Clone, Copy, Debug, Default)]
    pub struct Discard;

    impl<G> crate::AddGrad<G> for Discard {
        #[inline]
        fn add_grad(&mut self, _grad: G) {}
    }

    /// The traits whose `_vjp` methods generated code calls with method
    /// syntax; a generated body imports them all with `use traits::*`.
    pub mod traits {
        pub use crate::{MatMul as _, MatMulT as _};
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_runs_only_needed_slots() {
        let pullbacks = (|g: f64| g * 2.0, |_: f64| -> f64 { panic!("a skipped slot ran") });
        let (first, NoGrad) = Pullbacks::pull(pullbacks, 3.0, (Need, Skip));
        assert_eq!(first, 6.0);
    }

    #[test]
    fn pull_gives_every_needed_slot_the_cotangent() {
        let pullbacks = (|g: f64| g + 1.0, NoGrad, |g: f64| g * 10.0);
        let (first, NoGrad, third) = Pullbacks::pull(pullbacks, 2.0, (Need, Skip, Need));
        assert_eq!(first, 3.0);
        assert_eq!(third, 20.0);
    }

    /// A cotangent that counts its clones.
    #[derive(Debug)]
    struct Counted<'a>(&'a core::cell::Cell<usize>);

    impl Clone for Counted<'_> {
        fn clone(&self) -> Self {
            self.0.set(self.0.get() + 1);
            Counted(self.0)
        }
    }

    #[test]
    fn pull_clones_only_before_last_running_slot() {
        let clones = core::cell::Cell::new(0);
        let run = |_: Counted<'_>| ();
        let (_, NoGrad) = Pullbacks::pull((run, run), Counted(&clones), (Need, Skip));
        assert_eq!(clones.get(), 0, "one slot runs, so it gets the cotangent itself");
        let (NoGrad, _, NoGrad) = Pullbacks::pull((run, run, run), Counted(&clones), (Skip, Need, Skip));
        assert_eq!(clones.get(), 0);
        let ((), (), NoGrad) = Pullbacks::pull((run, run, run), Counted(&clones), (Need, Need, Skip));
        assert_eq!(clones.get(), 1, "two slots run, so one gets a clone");
    }

    #[test]
    fn keep_drops_skipped_slots() {
        let kept = Pullbacks::<f64, _>::keep((|g: f64| g, |g: f64| g * 2.0), (Skip, Need));
        let (NoGrad, second) = kept;
        assert_eq!(second(1.5), 3.0);
    }

    #[test]
    fn pull_calls_a_joint_pullback_once() {
        let joint = |g: f64| (g, 2.0 * g);
        let (a, b) = Pullbacks::pull(joint, 1.5, (Need, Skip));
        assert_eq!(a, 1.5);
        assert_eq!(b, 3.0);
    }
}
