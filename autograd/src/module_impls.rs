//! `Module` for the containers a model is built from: tuples (PyTorch's
//! `Sequential`), arrays and `Vec` (PyTorch's `ModuleList`) and `Option` (a
//! layer that may be absent).
//!
//! Items are named by their position, `0`, `1`, ..., as PyTorch names the
//! children of `Sequential` and `ModuleList`, so `(Linear, ReLU, Linear)`
//! has the state-dict names `0.weight`, `0.bias`, `2.weight`, `2.bias`.

use core::fmt;

use crate::module::{Module, ModuleRepr, ParamName, StaticModule};

/// The items of a tuple share the first item's element type, because every
/// parameter of a module is visited with one element type.
macro_rules! impl_tuple_module {
    ($first:ident 0 $(, $t:ident $i:tt)*) => {
        impl<$first: Module, $($t: Module<Elem = $first::Elem>),*> Module for ($first, $($t,)*) {
            type Elem = $first::Elem;
            type Grads = ($first::Grads, $($t::Grads,)*);
            const CAN_HOLD_PARAMS: bool = $first::CAN_HOLD_PARAMS $(|| $t::CAN_HOLD_PARAMS)*;

            fn num_params(&self) -> usize {
                self.0.num_params() $(+ self.$i.num_params())*
            }

            fn visit_params(
                &self,
                parent: Option<&ParamName<'_>>,
                f: &mut dyn FnMut(&ParamName<'_>, &[usize], &[Self::Elem]),
            ) {
                self.0.visit_params(Some(&ParamName::index(parent, 0)), f);
                $(self.$i.visit_params(Some(&ParamName::index(parent, $i)), f);)*
            }

            fn visit_params_mut(
                &mut self,
                parent: Option<&ParamName<'_>>,
                f: &mut dyn FnMut(&ParamName<'_>, &[usize], &mut [Self::Elem]),
            ) {
                self.0.visit_params_mut(Some(&ParamName::index(parent, 0)), f);
                $(self.$i.visit_params_mut(Some(&ParamName::index(parent, $i)), f);)*
            }

            fn lockstep<const K: usize>(
                &mut self,
                grads: &Self::Grads,
                mut states: [&mut Self::Grads; K],
                f: &mut impl FnMut(&mut [Self::Elem], &[Self::Elem], [&mut [Self::Elem]; K]),
            ) {
                self.0.lockstep(&grads.0, states.each_mut().map(|s| &mut s.0), f);
                $(self.$i.lockstep(&grads.$i, states.each_mut().map(|s| &mut s.$i), f);)*
            }

            fn fmt_repr(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                ModuleRepr::new(f, "Sequential")
                    .child(&0, &self.0)
                    $(.child(&$i, &self.$i))*
                    .finish()
            }
        }

        impl<$first: StaticModule, $($t: StaticModule<Elem = $first::Elem>),*> StaticModule
            for ($first, $($t,)*)
        {
            const NUM_PARAMS: usize = $first::NUM_PARAMS $(+ $t::NUM_PARAMS)*;
            const NUM_TENSORS: usize = $first::NUM_TENSORS $(+ $t::NUM_TENSORS)*;
        }
    };
}

impl_tuple_module!(A 0);
impl_tuple_module!(A 0, B 1);
impl_tuple_module!(A 0, B 1, C 2);
impl_tuple_module!(A 0, B 1, C 2, D 3);
impl_tuple_module!(A 0, B 1, C 2, D 3, F 4);
impl_tuple_module!(A 0, B 1, C 2, D 3, F 4, G 5);
impl_tuple_module!(A 0, B 1, C 2, D 3, F 4, G 5, H 6);
impl_tuple_module!(A 0, B 1, C 2, D 3, F 4, G 5, H 6, I 7);

impl<M: Module, const N: usize> Module for [M; N] {
    const CAN_HOLD_PARAMS: bool = N > 0 && M::CAN_HOLD_PARAMS;
    type Elem = M::Elem;
    type Grads = [M::Grads; N];

    fn num_params(&self) -> usize {
        self.iter().map(Module::num_params).sum()
    }

    fn visit_params(
        &self,
        parent: Option<&ParamName<'_>>,
        f: &mut dyn FnMut(&ParamName<'_>, &[usize], &[Self::Elem]),
    ) {
        for (i, item) in self.iter().enumerate() {
            item.visit_params(Some(&ParamName::index(parent, i)), f);
        }
    }

    fn visit_params_mut(
        &mut self,
        parent: Option<&ParamName<'_>>,
        f: &mut dyn FnMut(&ParamName<'_>, &[usize], &mut [Self::Elem]),
    ) {
        for (i, item) in self.iter_mut().enumerate() {
            item.visit_params_mut(Some(&ParamName::index(parent, i)), f);
        }
    }

    fn lockstep<const K: usize>(
        &mut self,
        grads: &Self::Grads,
        mut states: [&mut Self::Grads; K],
        f: &mut impl FnMut(&mut [Self::Elem], &[Self::Elem], [&mut [Self::Elem]; K]),
    ) {
        for (i, (item, grad)) in self.iter_mut().zip(grads).enumerate() {
            item.lockstep(grad, states.each_mut().map(|s| &mut s[i]), f);
        }
    }

    fn fmt_repr(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_module_list(f, self)
    }
}

impl<M: StaticModule, const N: usize> StaticModule for [M; N] {
    const NUM_PARAMS: usize = N * M::NUM_PARAMS;
    const NUM_TENSORS: usize = N * M::NUM_TENSORS;
}

#[cfg(feature = "alloc")]
mod alloc_impls {
    use super::*;
    use alloc::vec::Vec;

    /// A `Vec` of layers is PyTorch's `ModuleList`. Its length is part of the
    /// value, not the type, so it is not a [`StaticModule`], and a gradient
    /// or optimizer state must come from the same model (same length).
    impl<M: Module> Module for Vec<M> {
        const CAN_HOLD_PARAMS: bool = M::CAN_HOLD_PARAMS;
        type Elem = M::Elem;
        type Grads = Vec<M::Grads>;

        fn num_params(&self) -> usize {
            self.iter().map(Module::num_params).sum()
        }

        fn visit_params(
            &self,
            parent: Option<&ParamName<'_>>,
            f: &mut dyn FnMut(&ParamName<'_>, &[usize], &[Self::Elem]),
        ) {
            for (i, item) in self.iter().enumerate() {
                item.visit_params(Some(&ParamName::index(parent, i)), f);
            }
        }

        fn visit_params_mut(
            &mut self,
            parent: Option<&ParamName<'_>>,
            f: &mut dyn FnMut(&ParamName<'_>, &[usize], &mut [Self::Elem]),
        ) {
            for (i, item) in self.iter_mut().enumerate() {
                item.visit_params_mut(Some(&ParamName::index(parent, i)), f);
            }
        }

        /// # Panics
        ///
        /// When the gradient or a state has another length than the model.
        fn lockstep<const K: usize>(
            &mut self,
            grads: &Self::Grads,
            mut states: [&mut Self::Grads; K],
            f: &mut impl FnMut(&mut [Self::Elem], &[Self::Elem], [&mut [Self::Elem]; K]),
        ) {
            check_len("gradients", self.len(), grads.len());
            for state in &states {
                check_len("optimizer state", self.len(), state.len());
            }
            for (i, (item, grad)) in self.iter_mut().zip(grads).enumerate() {
                item.lockstep(grad, states.each_mut().map(|s| &mut s[i]), f);
            }
        }

        fn fmt_repr(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            fmt_module_list(f, self)
        }
    }

    fn check_len(what: &str, model: usize, other: usize) {
        assert!(
            model == other,
            "Module::lockstep: a Vec of {model} modules was given {what} for {other} modules; \
             build the {what} from the same model"
        );
    }
}

/// Writes items as PyTorch's `ModuleList` does: a run of items with the
/// same repr is one line, `(0-2): 3 x Linear(...)`.
#[cfg(feature = "alloc")]
fn fmt_module_list<M: Module>(f: &mut fmt::Formatter<'_>, items: &[M]) -> fmt::Result {
    use alloc::string::{String, ToString};
    use alloc::vec::Vec;

    use crate::module::Repr;

    let reprs: Vec<String> = items.iter().map(|item| Repr(item).to_string()).collect();
    let mut repr = ModuleRepr::new(f, "ModuleList");
    let mut start = 0;
    while let Some(first) = reprs.get(start) {
        let run = reprs[start..]
            .iter()
            .take_while(|other| *other == first)
            .count();
        if run == 1 {
            repr.entry(&start, first);
        } else {
            let end = start + run - 1;
            repr.entry(
                &format_args!("{start}-{end}"),
                &format_args!("{run} x {first}"),
            );
        }
        start += run;
    }
    repr.finish()
}

/// Writes one line per item: without an allocator the reprs cannot be
/// compared, so runs of equal items are not merged as PyTorch merges them.
#[cfg(not(feature = "alloc"))]
fn fmt_module_list<M: Module>(f: &mut fmt::Formatter<'_>, items: &[M]) -> fmt::Result {
    let mut repr = ModuleRepr::new(f, "ModuleList");
    for (i, item) in items.iter().enumerate() {
        repr.child(&i, item);
    }
    repr.finish()
}

/// An optional layer (a bias-like block that a configuration turns off).
/// `None` has no parameters and prints as `None`, as PyTorch prints a child
/// module set to `None`.
impl<M: Module> Module for Option<M> {
    const CAN_HOLD_PARAMS: bool = M::CAN_HOLD_PARAMS;
    type Elem = M::Elem;
    type Grads = Option<M::Grads>;

    fn num_params(&self) -> usize {
        self.as_ref().map_or(0, Module::num_params)
    }

    fn visit_params(
        &self,
        parent: Option<&ParamName<'_>>,
        f: &mut dyn FnMut(&ParamName<'_>, &[usize], &[Self::Elem]),
    ) {
        if let Some(inner) = self {
            inner.visit_params(parent, f);
        }
    }

    fn visit_params_mut(
        &mut self,
        parent: Option<&ParamName<'_>>,
        f: &mut dyn FnMut(&ParamName<'_>, &[usize], &mut [Self::Elem]),
    ) {
        if let Some(inner) = self {
            inner.visit_params_mut(parent, f);
        }
    }

    /// # Panics
    ///
    /// When the model is `Some` and the gradient or a state is `None`, which
    /// happens only when they come from another model: gradients and states
    /// built with `zero_grad` are `Some` wherever the model is.
    fn lockstep<const K: usize>(
        &mut self,
        grads: &Self::Grads,
        states: [&mut Self::Grads; K],
        f: &mut impl FnMut(&mut [Self::Elem], &[Self::Elem], [&mut [Self::Elem]; K]),
    ) {
        let Some(inner) = self else {
            return;
        };
        let Some(grad) = grads else {
            panic!(
                "lockstep: an Option module is Some but its gradient is None; \
                 build the gradient with this model's zero_grad"
            );
        };
        let states = states.map(|state| match state {
            Some(state) => state,
            None => panic!(
                "lockstep: an Option module is Some but an optimizer state is None; \
                 build the state with this model's zero_grad"
            ),
        });
        inner.lockstep(grad, states, f);
    }

    fn fmt_repr(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Some(inner) => inner.fmt_repr(f),
            None => f.write_str("None"),
        }
    }
}
