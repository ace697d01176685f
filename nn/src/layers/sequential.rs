//! `Forward` and `ForwardTrain` for tuples of layers: each item takes the
//! previous item's output, as PyTorch's `nn.Sequential`.

use autograd::{Module, NoGrad, Rng};

use super::{Forward, ForwardTrain};

/// Implements `Forward` and `ForwardTrain` for one tuple arity.
///
/// `first` is item 0 and `rest` lists the items after it in order.
/// `reversed` lists `rest` backwards, because the pullbacks run from the last
/// layer to the first. Each item names its type, the type whose output it
/// takes, its index, the names of its pullbacks and gradient, and (in
/// `reversed`) the name of the cotangent of its input.
macro_rules! impl_forward_tuple {
    (
        first: $T0:ident $p0:ident $q0:ident $g0:ident;
        rest: [$($T:ident($Prev:ident) $i:tt $p:ident $q:ident $g:ident),*];
        reversed: [$($Tr:ident $pr:ident $qr:ident $gr:ident $dr:ident),*];
        last: $Last:ident;
    ) => {
        impl<X, $T0, $($T),*> Forward<X> for ($T0, $($T,)*)
        where
            X: autograd::Differentiable,
            $T0: Forward<X>,
            $($T: Forward<$Prev::Output> + Module<Elem = $T0::Elem>,)*
            $Last::Output: PartialEq,
        {
            type Output = $Last::Output;

            fn forward(&self, x: &X) -> Self::Output {
                let h = self.0.forward(x);
                $(let h = self.$i.forward(&h);)*
                h
            }

            #[allow(clippy::type_complexity)]
            fn forward_vjp(
                &self,
                x: &X,
            ) -> (
                Self::Output,
                (
                    impl FnOnce(Self::Output) -> Self::Grads + Clone + use<X, $T0, $($T),*>,
                    impl FnOnce(Self::Output) -> X::Grad + Clone + use<X, $T0, $($T),*>,
                ),
            ) {
                let (h, ($p0, $q0)) = self.0.forward_vjp(x);
                $(let (h, ($p, $q)) = self.$i.forward_vjp(&h);)*
                let (pullback_params, pullback_input) = impl_forward_tuple!(
                    @pullbacks $p0 $q0 $g0; [$($g),*]; [$($pr $qr $gr $dr),*]
                );
                (h, (pullback_params, pullback_input))
            }
        }

        impl<X, $T0, $($T),*> ForwardTrain<X> for ($T0, $($T,)*)
        where
            X: autograd::Differentiable,
            $T0: ForwardTrain<X>,
            $($T: ForwardTrain<$Prev::Output> + Module<Elem = $T0::Elem>,)*
            $Last::Output: PartialEq,
        {
            fn forward_train(&self, x: &X, rng: &mut Rng) -> Self::Output {
                let h = self.0.forward_train(x, rng);
                $(let h = self.$i.forward_train(&h, rng);)*
                h
            }

            #[allow(clippy::type_complexity)]
            fn forward_train_vjp(
                &self,
                x: &X,
                rng: &mut Rng,
            ) -> (
                Self::Output,
                (
                    impl FnOnce(Self::Output) -> Self::Grads + Clone + use<X, $T0, $($T),*>,
                    impl FnOnce(Self::Output) -> X::Grad + Clone + use<X, $T0, $($T),*>,
                    NoGrad,
                ),
            ) {
                let (h, ($p0, $q0, NoGrad)) = self.0.forward_train_vjp(x, rng);
                $(let (h, ($p, $q, NoGrad)) = self.$i.forward_train_vjp(&h, rng);)*
                let (pullback_params, pullback_input) = impl_forward_tuple!(
                    @pullbacks $p0 $q0 $g0; [$($g),*]; [$($pr $qr $gr $dr),*]
                );
                (h, (pullback_params, pullback_input, NoGrad))
            }
        }
    };

    // The tuple's two pullbacks, from the items' pullbacks.
    (
        @pullbacks $p0:ident $q0:ident $g0:ident;
        [$($g:ident),*];
        [$($pr:ident $qr:ident $gr:ident $dr:ident),*]
    ) => {{
        // The input pullbacks of the items after the first, from the
        // tuple's output back to the first item's output. It returns the
        // cotangent of each of those items' inputs, last item first, and
        // the cotangent of the first item's output. Both of the tuple's
        // pullbacks need it, and `chain` runs it once for both.
        let run_chain = move |cotangent: Self::Output| {
            let d = cotangent;
            $(
                let $dr = $qr(d);
                let d = Clone::clone(&$dr);
            )*
            (($($dr,)*), d)
        };
        let chain = SharedChain::new();

        let pullback_input = {
            let (run_chain, chain) = (run_chain.clone(), chain.clone());
            move |cotangent: Self::Output| {
                let (_, d) = chain.run(run_chain, &cotangent);
                $q0(d)
            }
        };

        // Each item's parameters need the cotangent of its output, which is
        // the cotangent of the next item's input.
        let pullback_params = move |cotangent: Self::Output| {
            let (($($dr,)*), _) = chain.run(run_chain, &cotangent);
            let d = cotangent;
            $(
                let $gr = $pr(d);
                let d = $dr;
            )*
            let $g0 = $p0(d);
            ($g0, $($g,)*)
        };
        (pullback_params, pullback_input)
    }};
}

/// The result of a tuple's chain of input pullbacks, shared by the tuple's
/// two pullbacks so that the chain runs once when both are called with
/// equal cotangents, as `#[differentiable]` code calls them.
///
/// The result is shared only with `std` (through `Arc<Mutex<..>>`) and only
/// for a cotangent type with drop glue, such as a `Cpu` tensor, which owns
/// heap memory anyway. An `Inline` tensor has none, so an `Inline` step
/// still allocates nothing.
///
/// NOTE: without sharing (no `std`, or `Inline` tensors), calling both
/// pullbacks runs the chain twice.
struct SharedChain<C, R> {
    /// The cotangent and the chain's result for it, stored by the pullback
    /// that ran first; `None` when the result is not shared.
    #[cfg(feature = "std")]
    slot: Option<std::sync::Arc<std::sync::Mutex<Stored<C, R>>>>,
    #[cfg(not(feature = "std"))]
    types: core::marker::PhantomData<fn() -> (C, R)>,
}

#[cfg(feature = "std")]
type Stored<C, R> = Option<(C, R)>;

impl<C, R> Clone for SharedChain<C, R> {
    fn clone(&self) -> Self {
        SharedChain {
            #[cfg(feature = "std")]
            slot: self.slot.clone(),
            #[cfg(not(feature = "std"))]
            types: core::marker::PhantomData,
        }
    }
}

impl<C: PartialEq + Clone, R: Clone> SharedChain<C, R> {
    fn new() -> Self {
        SharedChain {
            #[cfg(feature = "std")]
            slot: core::mem::needs_drop::<C>().then(Default::default),
            #[cfg(not(feature = "std"))]
            types: core::marker::PhantomData,
        }
    }

    /// Returns `run_chain(cotangent)`, or the result the other pullback
    /// stored for an equal cotangent. A cotangent that differs (or is NaN)
    /// runs the chain again, so each pullback's result depends only on its
    /// own cotangent.
    fn run(&self, run_chain: impl FnOnce(C) -> R, cotangent: &C) -> R {
        #[cfg(feature = "std")]
        if let Some(slot) = &self.slot {
            let lock = || slot.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some((stored, result)) = lock().take() {
                if stored == *cotangent {
                    return result;
                }
            }
            let result = run_chain(cotangent.clone());
            *lock() = Some((cotangent.clone(), result.clone()));
            return result;
        }
        run_chain(cotangent.clone())
    }
}

impl_forward_tuple! {
    first: A pa qa ga;
    rest: [];
    reversed: [];
    last: A;
}

impl_forward_tuple! {
    first: A pa qa ga;
    rest: [B(A) 1 pb qb gb];
    reversed: [B pb qb gb db];
    last: B;
}

impl_forward_tuple! {
    first: A pa qa ga;
    rest: [B(A) 1 pb qb gb, C(B) 2 pc qc gc];
    reversed: [C pc qc gc dc, B pb qb gb db];
    last: C;
}

impl_forward_tuple! {
    first: A pa qa ga;
    rest: [B(A) 1 pb qb gb, C(B) 2 pc qc gc, D(C) 3 pd qd gd];
    reversed: [D pd qd gd dd, C pc qc gc dc, B pb qb gb db];
    last: D;
}

impl_forward_tuple! {
    first: A pa qa ga;
    rest: [B(A) 1 pb qb gb, C(B) 2 pc qc gc, D(C) 3 pd qd gd, F(D) 4 pf qf gf];
    reversed: [F pf qf gf df, D pd qd gd dd, C pc qc gc dc, B pb qb gb db];
    last: F;
}

impl_forward_tuple! {
    first: A pa qa ga;
    rest: [B(A) 1 pb qb gb, C(B) 2 pc qc gc, D(C) 3 pd qd gd, F(D) 4 pf qf gf, G(F) 5 pg qg gg];
    reversed: [G pg qg gg dg, F pf qf gf df, D pd qd gd dd, C pc qc gc dc, B pb qb gb db];
    last: G;
}
