//! Arrays and `Vec`s of layers run in order (PyTorch's
//! `nn.Sequential(*blocks)` over a `ModuleList`), alone and inside
//! `#[differentiable]` methods, checked against finite differences.

use autograd::typenum::{U2, U4};
use autograd::{differentiable, gradcheck, GradcheckOptions, Module, Rank0, Rank2, Rng, Tensor};
use nn::layers::{Dropout, Forward, ForwardTrain, Linear, Tanh};
use nn::loss::mse_loss;

type Input = Tensor<Rank2<U2, U4>, f64>;
type Block = (Linear<U4, U4, f64>, Tanh<f64>);

fn block(rng: &mut Rng) -> Block {
    (Linear::new(rng), Tanh::new())
}

#[derive(Module, Clone)]
struct VecStack {
    blocks: Vec<Block>,
}

impl VecStack {
    #[differentiable]
    fn forward(&self, x: &Input, #[no_grad] target: &Input) -> Tensor<Rank0, f64> {
        let h = self.blocks.forward(x);
        nn::loss::mse_loss(&h, target)
    }
}

#[derive(Module, Clone)]
struct ArrayStack {
    blocks: [Block; 3],
}

impl ArrayStack {
    #[differentiable]
    fn forward(&self, x: &Input, #[no_grad] target: &Input) -> Tensor<Rank0, f64> {
        let h = self.blocks.forward(x);
        nn::loss::mse_loss(&h, target)
    }
}

/// A stack between two other layers, so that its input and its output
/// cotangent both depend on parameters.
#[derive(Module, Clone)]
struct Sandwich {
    input: Linear<U4, U4, f64>,
    blocks: Vec<Block>,
    head: Linear<U4, U2, f64>,
}

impl Sandwich {
    #[differentiable]
    fn forward(&self, #[no_grad] x: &Input) -> Tensor<Rank0, f64> {
        let h = self.input.forward(x);
        let h = self.blocks.forward(&h);
        let y = self.head.forward(&h);
        (&y * &y).sum()
    }
}

fn array_stack(seed: u64) -> ArrayStack {
    let mut rng = Rng::seed_from_u64(seed);
    ArrayStack {
        blocks: [block(&mut rng), block(&mut rng), block(&mut rng)],
    }
}

fn vec_stack(len: usize, seed: u64) -> VecStack {
    let mut rng = Rng::seed_from_u64(seed);
    VecStack {
        blocks: (0..len).map(|_| block(&mut rng)).collect(),
    }
}

fn inputs(seed: u64) -> (Input, Input) {
    let mut rng = Rng::seed_from_u64(seed);
    (Tensor::randn(&mut rng), Tensor::randn(&mut rng))
}

/// Runs the blocks one by one, as the stack should.
fn chain_by_hand(blocks: &[Block], x: &Input) -> Input {
    let mut h = x.clone();
    for block in blocks {
        h = block.1.forward(&block.0.forward(&h));
    }
    h
}

#[test]
fn vec_stack_model_passes_gradcheck() {
    let (x, target) = inputs(1);
    gradcheck(
        |model: &VecStack| model.forward(&x, &target),
        |model: &VecStack| {
            let (loss, pullback) = model.forward_vjp(&x, &target);
            (loss, move |g| pullback(g).0)
        },
        &vec_stack(3, 2),
        GradcheckOptions::default(),
    )
    .unwrap();
}

#[test]
fn vec_stack_input_passes_gradcheck() {
    let (x, target) = inputs(3);
    let model = vec_stack(3, 4);
    gradcheck(
        |x: &Input| model.forward(x, &target),
        |x: &Input| {
            let (loss, pullback) = model.forward_vjp(x, &target);
            (loss, move |g| pullback(g).1)
        },
        &x,
        GradcheckOptions::default(),
    )
    .unwrap();
}

#[test]
fn array_stack_model_passes_gradcheck() {
    let (x, target) = inputs(5);
    gradcheck(
        |model: &ArrayStack| model.forward(&x, &target),
        |model: &ArrayStack| {
            let (loss, pullback) = model.forward_vjp(&x, &target);
            (loss, move |g| pullback(g).0)
        },
        &array_stack(6),
        GradcheckOptions::default(),
    )
    .unwrap();
}

#[test]
fn array_stack_input_passes_gradcheck() {
    let (x, target) = inputs(7);
    let model = array_stack(8);
    gradcheck(
        |x: &Input| model.forward(x, &target),
        |x: &Input| {
            let (loss, pullback) = model.forward_vjp(x, &target);
            (loss, move |g| pullback(g).1)
        },
        &x,
        GradcheckOptions::default(),
    )
    .unwrap();
}

#[test]
fn stack_between_layers_passes_gradcheck() {
    let mut rng = Rng::seed_from_u64(9);
    let model = Sandwich {
        input: Linear::new(&mut rng),
        blocks: vec![block(&mut rng), block(&mut rng)],
        head: Linear::new(&mut rng),
    };
    let x: Input = Tensor::randn(&mut rng);
    gradcheck(
        |model: &Sandwich| model.forward(&x),
        |model: &Sandwich| {
            let (loss, pullback) = model.forward_vjp(&x);
            (loss, move |g| pullback(g).0)
        },
        &model,
        GradcheckOptions::default(),
    )
    .unwrap();
}

/// Edge cases: a zero input, and a single block, where the first block is
/// also the last.
#[test]
fn single_block_vec_on_zero_input_passes_gradcheck() {
    let x: Input = Tensor::zeros();
    let (_, target) = inputs(10);
    gradcheck(
        |model: &VecStack| model.forward(&x, &target),
        |model: &VecStack| {
            let (loss, pullback) = model.forward_vjp(&x, &target);
            (loss, move |g| pullback(g).0)
        },
        &vec_stack(1, 11),
        GradcheckOptions::default(),
    )
    .unwrap();
}

#[test]
fn single_block_array_passes_gradcheck() {
    let (x, _) = inputs(12);
    let mut rng = Rng::seed_from_u64(13);
    let blocks: [Block; 1] = [block(&mut rng)];
    gradcheck(
        |blocks: &[Block; 1]| blocks.forward(&x),
        |blocks: &[Block; 1]| {
            let (y, (pullback_params, _)) = blocks.forward_vjp(&x);
            (y, pullback_params)
        },
        &blocks,
        GradcheckOptions::default(),
    )
    .unwrap();
}

#[test]
fn stack_forward_matches_blocks_chained_by_hand() {
    let (x, _) = inputs(14);
    let model = array_stack(15);
    let expected = chain_by_hand(&model.blocks, &x);
    assert_eq!(model.blocks.forward(&x), expected);
    assert_eq!(model.blocks.to_vec().forward(&x), expected);
}

#[test]
fn vec_and_array_stacks_give_same_gradients() {
    let (x, target) = inputs(16);
    let array = array_stack(17);
    let vec = VecStack {
        blocks: array.blocks.to_vec(),
    };

    let (array_loss, (array_grads, array_dx, _)) = array.forward_grad(&x, &target);
    let (vec_loss, (vec_grads, vec_dx, _)) = vec.forward_grad(&x, &target);

    assert_eq!(array_loss, vec_loss);
    assert_eq!(array_dx, vec_dx);
    assert_eq!(vec_grads.blocks.len(), 3);
    for (array_block, vec_block) in array_grads.blocks.iter().zip(&vec_grads.blocks) {
        assert_eq!(array_block.0.weight, vec_block.0.weight);
        assert_eq!(array_block.0.bias, vec_block.0.bias);
    }
}

/// Each block's gradient sits at its own index: the pullbacks run last to
/// first, and the gradients come back in block order.
#[test]
fn stack_gradients_are_in_block_order() {
    let (x, _) = inputs(18);
    let blocks = array_stack(19).blocks;
    let dy: Input = Tensor::ones();

    let (_, (pullback_params, _)) = blocks.forward_vjp(&x);
    let grads = pullback_params(dy.clone());

    // Hand-chained pullbacks: block i needs the cotangent of its output.
    let (h0, (pullback_0, _)) = blocks[0].forward_vjp(&x);
    let (h1, (pullback_1, pullback_h1)) = blocks[1].forward_vjp(&h0);
    let (_, (pullback_2, pullback_h2)) = blocks[2].forward_vjp(&h1);
    let grad_2 = pullback_2(dy.clone());
    let dh1 = pullback_h2(dy);
    let grad_1 = pullback_1(dh1.clone());
    let grad_0 = pullback_0(pullback_h1(dh1));

    assert_eq!(grads[0].0.weight, grad_0.0.weight);
    assert_eq!(grads[1].0.weight, grad_1.0.weight);
    assert_eq!(grads[2].0.weight, grad_2.0.weight);
    assert_ne!(grads[0].0.weight, grads[2].0.weight);
}

#[test]
fn empty_vec_passes_input_through() {
    let (x, _) = inputs(20);
    let blocks: Vec<Block> = Vec::new();
    let dy: Input = Tensor::randn(&mut Rng::seed_from_u64(21));

    let (y, (pullback_params, pullback_input)) = blocks.forward_vjp(&x);

    assert_eq!(blocks.forward(&x), x);
    assert_eq!(y, x);
    assert!(pullback_params(dy.clone()).is_empty());
    assert_eq!(pullback_input(dy.clone()), dy);
}

#[test]
fn empty_array_passes_input_through() {
    let (x, _) = inputs(22);
    let blocks: [Block; 0] = [];
    let dy: Input = Tensor::randn(&mut Rng::seed_from_u64(23));

    let (y, (pullback_params, pullback_input)) = blocks.forward_vjp(&x);

    assert_eq!(y, x);
    assert!(pullback_params(dy.clone()).is_empty());
    assert_eq!(pullback_input(dy.clone()), dy);
}

/// The loss of an empty stack is `mse_loss(x, target)`, whose gradient in
/// `x` is `2 (x - target) / numel`.
#[test]
fn empty_vec_model_gradient_is_loss_gradient() {
    let (x, target) = inputs(24);
    let model = vec_stack(0, 25);

    let (loss, (grads, dx, _)) = model.forward_grad(&x, &target);

    assert_eq!(loss, mse_loss(&x, &target));
    assert!(grads.blocks.is_empty());
    let expected = x.zip_map(&target, |x, t| 2.0 * (x - t) / 8.0);
    for (&got, &want) in dx.as_slice().iter().zip(expected.as_slice()) {
        assert!((got - want).abs() <= 1e-12, "dx = {got}, expected {want}");
    }
}

// ---- training mode: `rng` goes to each item in order ----

type DropBlock = (Linear<U4, U4, f64>, Dropout<f64>);

fn drop_blocks(seed: u64) -> Vec<DropBlock> {
    let mut rng = Rng::seed_from_u64(seed);
    (0..3)
        .map(|_| (Linear::new(&mut rng), Dropout::new(0.5)))
        .collect()
}

#[test]
fn train_stack_passes_rng_to_blocks_in_order() {
    let (x, _) = inputs(26);
    let blocks = drop_blocks(27);
    let array: [DropBlock; 3] = core::array::from_fn(|i| blocks[i].clone());

    let mut by_hand = x.clone();
    let mut rng = Rng::seed_from_u64(28);
    for block in &blocks {
        by_hand = block.forward_train(&by_hand, &mut rng);
    }

    let from_vec = blocks.forward_train(&x, &mut Rng::seed_from_u64(28));
    let from_array = array.forward_train(&x, &mut Rng::seed_from_u64(28));
    let (from_vec_vjp, _) = blocks.forward_train_vjp(&x, &mut Rng::seed_from_u64(28));
    let (from_array_vjp, _) = array.forward_train_vjp(&x, &mut Rng::seed_from_u64(28));

    assert_eq!(from_vec, by_hand);
    assert_eq!(from_array, by_hand);
    assert_eq!(from_vec_vjp, by_hand);
    assert_eq!(from_array_vjp, by_hand);
    assert_ne!(from_vec, blocks.forward(&x), "dropout drew no mask");
}

/// With the generator reseeded on each call, every call draws the same
/// masks, so the training pass is a fixed function of the weights.
#[test]
fn train_vec_stack_passes_gradcheck() {
    let (x, _) = inputs(29);
    gradcheck(
        |blocks: &Vec<DropBlock>| blocks.forward_train(&x, &mut Rng::seed_from_u64(30)),
        |blocks: &Vec<DropBlock>| {
            let (y, (pullback_params, _, _)) =
                blocks.forward_train_vjp(&x, &mut Rng::seed_from_u64(30));
            (y, pullback_params)
        },
        &drop_blocks(31),
        GradcheckOptions::default(),
    )
    .unwrap();
}

#[test]
fn train_array_stack_input_passes_gradcheck() {
    let (x, _) = inputs(32);
    let blocks = drop_blocks(33);
    let array: [DropBlock; 3] = core::array::from_fn(|i| blocks[i].clone());
    gradcheck(
        |x: &Input| array.forward_train(x, &mut Rng::seed_from_u64(34)),
        |x: &Input| {
            let (y, (_, pullback_input, _)) =
                array.forward_train_vjp(x, &mut Rng::seed_from_u64(34));
            (y, pullback_input)
        },
        &x,
        GradcheckOptions::default(),
    )
    .unwrap();
}

/// A model whose middle block may be absent, as PyTorch code writes
/// `if self.extra is not None: h = self.extra(h)`.
#[derive(Module, Clone)]
struct MaybeExtra {
    first: Block,
    extra: Option<Block>,
}

impl MaybeExtra {
    #[differentiable]
    fn forward(&self, x: &Input, #[no_grad] target: &Input) -> Tensor<Rank0, f64> {
        let h = self.first.forward(x);
        let h = self.extra.forward(&h);
        nn::loss::mse_loss(&h, target)
    }
}

#[test]
fn optional_block_runs_or_passes_through() {
    let mut rng = Rng::seed_from_u64(41);
    let first = block(&mut rng);
    let extra = block(&mut rng);
    let x: Input = Tensor::randn(&mut rng);
    let target: Input = Tensor::randn(&mut rng);

    for present in [true, false] {
        let model = MaybeExtra { first: first.clone(), extra: present.then(|| extra.clone()) };
        let by_hand = {
            let h = first.forward(&x);
            let h = if present { extra.forward(&h) } else { h };
            mse_loss(&h, &target)
        };
        assert_eq!(model.forward(&x, &target).item(), by_hand.item(), "present: {present}");
        gradcheck(
            |model: &MaybeExtra| model.forward(&x, &target),
            |model: &MaybeExtra| {
                let (loss, pullback) = model.forward_vjp(&x, &target);
                (loss, move |g| pullback(g).0)
            },
            &model,
            GradcheckOptions::default(),
        )
        .unwrap();
        let (_, (grads, _, _)) = model.forward_grad(&x, &target);
        assert_eq!(grads.extra.is_some(), present, "an absent block has no gradient");
    }
}
