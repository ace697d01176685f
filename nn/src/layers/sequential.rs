//! `Forward` and `ForwardTrain` for tuples of layers: each item takes the
//! previous item's output, as PyTorch's `nn.Sequential`.

use autograd::{Module, NoGrad, Rng};

use super::{Forward, ForwardTrain};

/// Implements `Forward` and `ForwardTrain` for one tuple arity.
///
/// `first` is item 0 and `rest` lists the items after it in order.
/// `reversed` lists `rest` backwards, because the pullbacks run from the last
/// layer to the first. Each item names its type, the type whose output it
/// takes, its index, and the names of its pullbacks and gradient.
macro_rules! impl_forward_tuple {
    (
        first: $T0:ident $p0:ident $q0:ident $g0:ident;
        rest: [$($T:ident($Prev:ident) $i:tt $p:ident $q:ident $g:ident),*];
        reversed: [$($Tr:ident $pr:ident $qr:ident $gr:ident),*];
        last: $Last:ident;
    ) => {
        impl<X, $T0, $($T),*> Forward<X> for ($T0, $($T,)*)
        where
            X: autograd::Differentiable,
            $T0: Forward<X>,
            $($T: Forward<$Prev::Output> + Module<Elem = $T0::Elem>,)*
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

                // The input's cotangent goes back through every layer's input pullback.
                let pullback_input = {
                    let $q0 = $q0.clone();
                    $(let $q = $q.clone();)*
                    move |cotangent: Self::Output| {
                        let d = cotangent;
                        $(let d = $qr(d);)*
                        $q0(d)
                    }
                };

                // Each layer's parameters need the cotangent of its output, which
                // the input pullbacks of the layers after it compute.
                let pullback_params = move |cotangent: Self::Output| {
                    let d = cotangent;
                    $(
                        let $gr = $pr(Clone::clone(&d));
                        let d = $qr(d);
                    )*
                    let $g0 = $p0(d);
                    ($g0, $($g,)*)
                };
                (h, (pullback_params, pullback_input))
            }
        }

        impl<X, $T0, $($T),*> ForwardTrain<X> for ($T0, $($T,)*)
        where
            X: autograd::Differentiable,
            $T0: ForwardTrain<X>,
            $($T: ForwardTrain<$Prev::Output> + Module<Elem = $T0::Elem>,)*
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

                let pullback_input = {
                    let $q0 = $q0.clone();
                    $(let $q = $q.clone();)*
                    move |cotangent: Self::Output| {
                        let d = cotangent;
                        $(let d = $qr(d);)*
                        $q0(d)
                    }
                };
                let pullback_params = move |cotangent: Self::Output| {
                    let d = cotangent;
                    $(
                        let $gr = $pr(Clone::clone(&d));
                        let d = $qr(d);
                    )*
                    let $g0 = $p0(d);
                    ($g0, $($g,)*)
                };
                (h, (pullback_params, pullback_input, NoGrad))
            }
        }
    };
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
    reversed: [B pb qb gb];
    last: B;
}

impl_forward_tuple! {
    first: A pa qa ga;
    rest: [B(A) 1 pb qb gb, C(B) 2 pc qc gc];
    reversed: [C pc qc gc, B pb qb gb];
    last: C;
}

impl_forward_tuple! {
    first: A pa qa ga;
    rest: [B(A) 1 pb qb gb, C(B) 2 pc qc gc, D(C) 3 pd qd gd];
    reversed: [D pd qd gd, C pc qc gc, B pb qb gb];
    last: D;
}

impl_forward_tuple! {
    first: A pa qa ga;
    rest: [B(A) 1 pb qb gb, C(B) 2 pc qc gc, D(C) 3 pd qd gd, F(D) 4 pf qf gf];
    reversed: [F pf qf gf, D pd qd gd, C pc qc gc, B pb qb gb];
    last: F;
}

impl_forward_tuple! {
    first: A pa qa ga;
    rest: [B(A) 1 pb qb gb, C(B) 2 pc qc gc, D(C) 3 pd qd gd, F(D) 4 pf qf gf, G(F) 5 pg qg gg];
    reversed: [G pg qg gg, F pf qf gf, D pd qd gd, C pc qc gc, B pb qb gb];
    last: G;
}
