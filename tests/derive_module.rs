//! `#[derive(Module)]` on named, tuple, generic and nested structs, and the
//! container impls (tuples, arrays, `Vec`, `Option`) it builds on.

use autograd::typenum::{U2, U3, U4, U5};
use autograd::{
    Accumulate, Differentiable, Float, Inline, Leaves, Module, Param, ParamName, Rank0, Rank1,
    Rank2, StaticModule, Tensor,
};

type Vector<N, E = f32> = Param<Tensor<Rank1<N>, E>>;

#[derive(Module)]
struct Affine {
    weight: Param<Tensor<Rank2<U3, U5>>>,
    bias: Param<Tensor<Rank1<U3>>>,
}

impl Affine {
    /// Weight elements 0, 1, ..., 14 and bias elements 100, 101, 102, so a
    /// test can tell every element from every other.
    fn counting() -> Self {
        Affine {
            weight: Param::new(Tensor::from_fn(|i| i as f32)),
            bias: Param::new(Tensor::from_fn(|i| 100.0 + i as f32)),
        }
    }
}

#[derive(Module)]
struct Pair(Vector<U2>, #[module(skip)] usize, Vector<U4>);

#[derive(Module)]
struct Net {
    l1: Affine,
    blocks: [Vector<U2>; 2],
    extra: Vec<Vector<U3>>,
    head: Option<Vector<U4>>,
    seq: (Vector<U2>, Affine),
    #[module(skip)]
    rate: f32,
    #[module(constant)]
    mask: Tensor<Rank1<U3>>,
}

fn net(extra: usize, head: bool) -> Net {
    Net {
        l1: Affine::counting(),
        blocks: [Param::new(Tensor::ones()), Param::new(Tensor::full(2.0))],
        extra: (0..extra).map(|_| Param::new(Tensor::full(3.0))).collect(),
        head: head.then(|| Param::new(Tensor::full(4.0))),
        seq: (Param::new(Tensor::full(5.0)), Affine::counting()),
        rate: 0.5,
        mask: Tensor::ones(),
    }
}

#[derive(Module)]
struct Generic<E: Float> {
    w: Vector<U3, E>,
}

#[derive(Module)]
struct Wrapper<M> {
    inner: M,
    scale: Param<Tensor<Rank0>>,
}

/// `C` appears only in a skipped field, so the gradient struct needs a
/// marker to use it.
#[derive(Module)]
struct Configured<C> {
    #[module(skip)]
    config: C,
    w: Vector<U2>,
}

#[derive(Module)]
struct Stack<const N: usize> {
    layers: [Affine; N],
}

/// A model on the allocation-free device.
#[derive(Module)]
struct OnStack {
    w: Param<Tensor<Rank1<U3>, f32, Inline>>,
    b: Param<Tensor<Rank0, f32, Inline>>,
}

/// Field names that are also the names of the generated methods'
/// arguments and of Rust keywords.
#[derive(Module)]
struct Awkward {
    f: Vector<U2>,
    grads: Vector<U2>,
    other: Vector<U2>,
    state: Vector<U2>,
    parent: Vector<U2>,
    r#type: Vector<U2>,
}

fn names<M: Module>(model: &M) -> Vec<String> {
    let mut names = Vec::new();
    model.visit_params(None, &mut |name, _, _| names.push(name.to_string()));
    names
}

#[test]
fn named_struct_visits_fields_in_order() {
    assert_eq!(names(&Affine::counting()), ["weight", "bias"]);
}

#[test]
fn named_struct_visits_dims_and_elements() {
    let mut seen = Vec::new();
    Affine::counting().visit_params(None, &mut |_, dims, elems| {
        seen.push((dims.to_vec(), elems.first().copied(), elems.len()))
    });
    assert_eq!(seen[0], (vec![3, 5], Some(0.0), 15));
    assert_eq!(seen[1], (vec![3], Some(100.0), 3));
}

#[test]
fn tuple_struct_names_fields_by_position() {
    let pair = Pair(Param::new(Tensor::zeros()), 7, Param::new(Tensor::zeros()));
    assert_eq!(names(&pair), ["0", "2"]);
    assert_eq!(pair.1, 7);
}

#[test]
fn tuple_struct_grads_keep_positions() {
    let pair = Pair(Param::new(Tensor::zeros()), 7, Param::new(Tensor::zeros()));
    let grads = pair.zero_grad();
    assert_eq!(grads.0.dims(), [2]);
    assert_eq!(grads.1, ());
    assert_eq!(grads.2.dims(), [4]);
}

#[test]
fn nested_struct_uses_pytorch_state_dict_names() {
    let expected = [
        "l1.weight",
        "l1.bias",
        "blocks.0",
        "blocks.1",
        "extra.0",
        "extra.1",
        "head",
        "seq.0",
        "seq.1.weight",
        "seq.1.bias",
    ];
    assert_eq!(names(&net(2, true)), expected);
}

#[test]
fn none_and_empty_vec_have_no_params() {
    let expected = [
        "l1.weight",
        "l1.bias",
        "blocks.0",
        "blocks.1",
        "seq.0",
        "seq.1.weight",
        "seq.1.bias",
    ];
    assert_eq!(names(&net(0, false)), expected);
}

#[test]
fn visit_names_under_parent() {
    let root = ParamName::root("encoder");
    let mut names = Vec::new();
    Affine::counting().visit_params(Some(&root), &mut |name, _, _| names.push(name.to_string()));
    assert_eq!(names, ["encoder.weight", "encoder.bias"]);
}

#[test]
fn num_params_counts_every_scalar() {
    // l1: 15 + 3, blocks: 2 * 2, extra: 2 * 3, head: 4, seq: 2 + 18.
    assert_eq!(net(2, true).num_params(), 18 + 4 + 6 + 4 + 20);
    // Skipped and constant fields do not count.
    assert_eq!(net(0, false).num_params(), 18 + 4 + 20);
}

#[test]
fn static_module_constants_match_the_type() {
    assert_eq!(Affine::NUM_PARAMS, 18);
    assert_eq!(Affine::NUM_TENSORS, 2);
    assert_eq!(<Pair as StaticModule>::NUM_PARAMS, 6);
    assert_eq!(<Generic<f64> as StaticModule>::NUM_PARAMS, 3);
    assert_eq!(<Wrapper<Affine> as StaticModule>::NUM_PARAMS, 19);
    assert_eq!(<Wrapper<Affine> as StaticModule>::NUM_TENSORS, 3);
    assert_eq!(<[Affine; 3] as StaticModule>::NUM_PARAMS, 54);
    assert_eq!(<(Affine, Vector<U4>) as StaticModule>::NUM_TENSORS, 3);
}

/// `StaticModule` holds only when every field is static, so this compiles
/// only when it does not hold for `Net`, whose `Vec` field has a run-time
/// length.
#[test]
fn vec_field_makes_module_not_static() {
    trait MaybeStatic {
        const IS_STATIC: bool;
    }
    impl<T> MaybeStatic for T {
        const IS_STATIC: bool = false;
    }
    struct Probe<T>(T);
    impl<T: StaticModule> Probe<T> {
        #[allow(dead_code)]
        const IS_STATIC: bool = true;
    }
    const { assert!(!Probe::<Net>::IS_STATIC) };
    const { assert!(Probe::<Affine>::IS_STATIC) };
}

#[test]
fn generic_element_type_flows_through() {
    let model: Generic<f64> = Generic {
        w: Param::new(Tensor::from_array([1.0, 2.0, 3.0])),
    };
    let mut sum = 0.0_f64;
    model.visit_params(None, &mut |_, _, elems| sum += elems.iter().sum::<f64>());
    assert_eq!(sum, 6.0);
}

#[test]
fn generic_module_field_nests() {
    let model = Wrapper {
        inner: Affine::counting(),
        scale: Param::new(Tensor::scalar(1.0)),
    };
    assert_eq!(names(&model), ["inner.weight", "inner.bias", "scale"]);
    assert_eq!(model.num_params(), 19);
}

#[test]
fn skipped_generic_parameter_is_allowed() {
    let model = Configured {
        config: "not a module",
        w: Param::new(Tensor::ones()),
    };
    assert_eq!(names(&model), ["w"]);
    assert_eq!(model.config, "not a module");
}

#[test]
fn zero_grad_mirrors_the_model() {
    let model = net(2, true);
    let grads = model.zero_grad();
    assert_eq!(grads.l1.weight.dims(), [3, 5]);
    assert_eq!(grads.extra.len(), 2);
    assert!(grads.head.is_some());
    assert_eq!(grads.leaf_numel(), model.num_params());

    let mut all_zero = true;
    grads.visit_leaves(&mut |x| all_zero &= x.iter().all(|v| *v == 0.0));
    assert!(all_zero);
}

#[test]
fn grads_accumulate_adds_fieldwise() {
    let model = net(1, true);
    let mut a = model.zero_grad();
    a.visit_leaves_mut(&mut |x| x.fill(1.5));
    let mut b = model.zero_grad();
    b.visit_leaves_mut(&mut |x| x.fill(2.0));
    a.accumulate(b);

    let mut values = Vec::new();
    a.visit_leaves(&mut |x| values.extend_from_slice(x));
    assert_eq!(values.len(), model.num_params());
    assert!(values.iter().all(|v| *v == 3.5));
}

#[test]
fn grads_scale_and_fill_zero() {
    let model = Affine::counting();
    let mut grads = model.zero_grad();
    grads.visit_leaves_mut(&mut |x| x.fill(2.0));
    grads.scale(0.25);
    assert!(grads.weight.as_slice().iter().all(|v| *v == 0.5));
    assert!(grads.bias.as_slice().iter().all(|v| *v == 0.5));

    grads.fill_zero();
    assert!(grads.bias.as_slice().iter().all(|v| *v == 0.0));
}

#[test]
fn grads_clone_and_debug() {
    let grads = Pair(Param::new(Tensor::ones()), 7, Param::new(Tensor::ones())).zero_grad();
    let copy = grads.clone();
    assert_eq!(copy.0, grads.0);
    let debug = format!("{grads:?}");
    assert!(debug.starts_with("PairGrads(tensor([0., 0.])"), "{debug}");
}

#[test]
fn lockstep_visits_each_tensor_once_in_order() {
    let mut model = net(2, true);
    let expected: Vec<usize> = {
        let mut lengths = Vec::new();
        model.visit_params(None, &mut |_, _, elems| lengths.push(elems.len()));
        lengths
    };

    // Each gradient tensor is filled with its own index, each state with
    // 10 times that, so the callback can tell which tensors it was handed.
    let mut grads = model.zero_grad();
    let mut index = 0.0;
    grads.visit_leaves_mut(&mut |x| {
        x.fill(index);
        index += 1.0;
    });
    let mut state = grads.clone();
    state.scale(10.0);

    let mut calls = Vec::new();
    model.lockstep(&grads, [&mut state], &mut |param, grad, [state]| {
        assert_eq!(param.len(), grad.len());
        assert_eq!(param.len(), state.len());
        calls.push((param.len(), grad[0], state[0]));
        state.fill(-1.0);
    });

    let lengths: Vec<usize> = calls.iter().map(|call| call.0).collect();
    assert_eq!(lengths, expected);
    for (i, call) in calls.iter().enumerate() {
        assert_eq!(call.1, i as f32, "gradient of tensor {i}");
        assert_eq!(call.2, 10.0 * i as f32, "state of tensor {i}");
    }

    let mut state_values = Vec::new();
    state.visit_leaves(&mut |x| state_values.extend_from_slice(x));
    assert!(state_values.iter().all(|v| *v == -1.0));
}

#[test]
fn lockstep_sgd_step_updates_params() {
    let mut model = Affine::counting();
    let mut grads = model.zero_grad();
    grads.visit_leaves_mut(&mut |x| x.fill(1.0));
    model.lockstep(&grads, [], &mut |param, grad, []| {
        for (p, g) in param.iter_mut().zip(grad) {
            *p -= 0.5 * g;
        }
    });
    assert_eq!(model.weight.get([0, 0]), -0.5);
    assert_eq!(model.bias.get([2]), 101.5);
}

#[test]
fn lockstep_with_two_states() {
    let mut model = (Param::new(Tensor::<Rank1<U2>>::ones()),);
    let grads = model.zero_grad();
    let mut first = model.zero_grad();
    let mut second = model.zero_grad();
    model.lockstep(&grads, [&mut first, &mut second], &mut |_, _, [a, b]| {
        a.fill(1.0);
        b.fill(2.0);
    });
    assert_eq!(first.0.as_slice(), [1.0, 1.0]);
    assert_eq!(second.0.as_slice(), [2.0, 2.0]);
}

#[test]
#[should_panic(expected = "a Vec of 2 modules was given gradients for 1 modules")]
fn lockstep_rejects_grads_of_another_vec_length() {
    let mut model = net(2, true);
    let grads = net(1, true).zero_grad();
    model.lockstep(&grads, [], &mut |_, _, []| {});
}

#[test]
fn visit_params_mut_writes_through() {
    let mut model = net(1, false);
    model.visit_params_mut(None, &mut |name, _, elems| {
        if name.matches("seq.1.bias") {
            elems.fill(-7.0);
        }
    });
    assert!(model.seq.1.bias.as_slice().iter().all(|v| *v == -7.0));
    assert_eq!(model.l1.bias.get([0]), 100.0);
}

#[test]
fn display_matches_pytorch_layout() {
    let expected = "\
Net(
  (l1): Affine(
    (weight): Parameter(shape=[3, 5], dtype=float32)
    (bias): Parameter(shape=[3], dtype=float32)
  )
  (blocks): ModuleList(
    (0-1): 2 x Parameter(shape=[2], dtype=float32)
  )
  (extra): ModuleList(
    (0): Parameter(shape=[3], dtype=float32)
  )
  (head): None
  (seq): Sequential(
    (0): Parameter(shape=[2], dtype=float32)
    (1): Affine(
      (weight): Parameter(shape=[3, 5], dtype=float32)
      (bias): Parameter(shape=[3], dtype=float32)
    )
  )
)";
    assert_eq!(net(1, false).to_string(), expected);
}

#[test]
fn display_of_empty_vec_is_empty_module_list() {
    let model = Wrapper {
        inner: Vec::<Affine>::new(),
        scale: Param::new(Tensor::scalar(1.0)),
    };
    let expected = "\
Wrapper(
  (inner): ModuleList()
  (scale): Parameter(shape=[], dtype=float32)
)";
    assert_eq!(model.to_string(), expected);
}

#[test]
fn skipped_and_constant_fields_are_kept_as_values() {
    let model = net(0, false);
    assert_eq!(model.rate, 0.5);
    assert_eq!(model.mask.as_slice(), [1.0, 1.0, 1.0]);
}

#[test]
fn const_generic_struct_counts_its_layers() {
    let model = Stack {
        layers: [Affine::counting(), Affine::counting(), Affine::counting()],
    };
    assert_eq!(Stack::<3>::NUM_PARAMS, 54);
    assert_eq!(model.num_params(), 54);
    assert_eq!(names(&model)[5], "layers.2.bias");
}

#[test]
fn inline_device_model_walks_without_alloc() {
    let mut model = OnStack {
        w: Param::new(Tensor::from_array([1.0, 2.0, 3.0])),
        b: Param::new(Tensor::scalar(4.0)),
    };
    assert_eq!(OnStack::NUM_PARAMS, 4);
    let grads = model.zero_grad();
    model.lockstep(&grads, [], &mut |param, grad, []| {
        for (p, g) in param.iter_mut().zip(grad) {
            *p += g + 1.0;
        }
    });
    assert_eq!(model.w.as_slice(), [2.0, 3.0, 4.0]);
    assert_eq!(model.b.item(), 5.0);
}

#[test]
fn field_names_do_not_clash_with_generated_code() {
    let model = Awkward {
        f: Param::new(Tensor::zeros()),
        grads: Param::new(Tensor::zeros()),
        other: Param::new(Tensor::zeros()),
        state: Param::new(Tensor::zeros()),
        parent: Param::new(Tensor::zeros()),
        r#type: Param::new(Tensor::zeros()),
    };
    assert_eq!(
        names(&model),
        ["f", "grads", "other", "state", "parent", "type"]
    );
    let grads = model.zero_grad();
    assert_eq!(grads.r#type.dims(), [2]);
}

#[test]
#[should_panic(expected = "an Option module is Some but its gradient is None")]
fn lockstep_rejects_grads_without_the_option_layer() {
    let mut model = net(0, true);
    let grads = net(0, false).zero_grad();
    model.lockstep(&grads, [], &mut |_, _, []| {});
}

#[test]
fn model_leaves_follow_declaration_order() {
    let model = Affine::counting();
    let mut seen: Vec<f32> = Vec::new();
    model.visit_leaves(&mut |x| seen.extend_from_slice(x));

    let mut expected: Vec<f32> = (0..15).map(|i| i as f32).collect();
    expected.extend([100.0, 101.0, 102.0]);
    assert_eq!(seen, expected);
}

#[test]
fn model_leaves_skip_config_and_constants() {
    let model = net(1, true);
    let mut leaf_lengths = Vec::new();
    model.visit_leaves(&mut |x| leaf_lengths.push(x.len()));

    // l1 (15, 3), blocks (2, 2), extra (3), head (4), seq (2, 15, 3); not `mask`.
    assert_eq!(leaf_lengths, [15, 3, 2, 2, 3, 4, 2, 15, 3]);
}

#[test]
fn param_listing_names_tuple_fields() {
    let pair = Pair(Param::new(Tensor::ones()), 7, Param::new(Tensor::zeros()));
    let expected = "ParameterList(\n    \
                    (0): Parameter containing: [float32 of size 2]\n    \
                    (2): Parameter containing: [float32 of size 4]\n)";
    assert_eq!(pair.param_listing().to_string(), expected);
}

/// A model of library layers, printed as PyTorch 2.15 prints the same
/// module (with `head` registered as `None`).
#[derive(Module)]
struct LayerNet {
    l1: nn::layers::Linear<U5, U3>,
    blocks: Vec<nn::layers::Linear<U2, U2>>,
    head: Option<nn::layers::Linear<U2, U2>>,
    empty: [nn::layers::Linear<U2, U2>; 0],
    seq: (nn::layers::Linear<U3, U2>, nn::layers::Tanh),
}

#[test]
fn display_of_layers_matches_pytorch() {
    let mut rng = autograd::Rng::seed_from_u64(0);
    let mut linear = || nn::layers::Linear::new(&mut rng);
    let model = LayerNet {
        l1: nn::layers::Linear::new(&mut autograd::Rng::seed_from_u64(1)),
        blocks: vec![linear(), linear()],
        head: None,
        empty: [],
        seq: (
            nn::layers::Linear::new(&mut autograd::Rng::seed_from_u64(2)),
            nn::layers::Tanh::new(),
        ),
    };
    let expected = "\
LayerNet(
  (l1): Linear(in_features=5, out_features=3, bias=True)
  (blocks): ModuleList(
    (0-1): 2 x Linear(in_features=2, out_features=2, bias=True)
  )
  (head): None
  (empty): ModuleList()
  (seq): Sequential(
    (0): Linear(in_features=3, out_features=2, bias=True)
    (1): Tanh()
  )
)";
    assert_eq!(model.to_string(), expected);
}

#[test]
fn module_list_merges_only_equal_neighbours() {
    let model = Wrapper {
        inner: vec![
            Param::new(Tensor::<Rank1<U2>>::zeros()),
            Param::new(Tensor::zeros()),
            Param::new(Tensor::zeros()),
        ],
        scale: Param::new(Tensor::scalar(1.0)),
    };
    let expected = "\
Wrapper(
  (inner): ModuleList(
    (0-2): 3 x Parameter(shape=[2], dtype=float32)
  )
  (scale): Parameter(shape=[], dtype=float32)
)";
    assert_eq!(model.to_string(), expected);

    let mixed = Wrapper {
        inner: vec![
            Some(Param::new(Tensor::<Rank1<U2>>::zeros())),
            None,
            None,
            Some(Param::new(Tensor::zeros())),
        ],
        scale: Param::new(Tensor::scalar(1.0)),
    };
    let expected = "\
Wrapper(
  (inner): ModuleList(
    (0): Parameter(shape=[2], dtype=float32)
    (1-2): 2 x None
    (3): Parameter(shape=[2], dtype=float32)
  )
  (scale): Parameter(shape=[], dtype=float32)
)";
    assert_eq!(mixed.to_string(), expected);
}
