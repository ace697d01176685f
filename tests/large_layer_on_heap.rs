//! A 784 × 128 layer, its gradient and a batch of 64 rows live on the heap
//! of the `Cpu` device. So a training step fits a 2 MiB thread stack even in
//! a debug build, although the weight alone is 401,408 bytes.

use std::thread;

use autograd::typenum::{U128, U784};
use autograd::{Dyn, Rank2, Rng, Tensor};
use nn::layers::{Forward, Linear};
use nn::optim::{Optimizer, Sgd, SgdConfig};

const STACK_SIZE: usize = 2 << 20;

#[test]
fn mnist_layer_step_fits_two_mib_stack() {
    let worker = thread::Builder::new().stack_size(STACK_SIZE).spawn(|| {
        let mut rng = Rng::seed_from_u64(0);
        let mut layer: Linear<U784, U128> = Linear::new(&mut rng);
        let batch: Tensor<Rank2<Dyn, U784>> =
            Tensor::randn_with_shape(Rank2(Dyn(64), U784::default()), &mut rng);
        let mut sgd = Sgd::new(&layer, SgdConfig { lr: 0.01, ..SgdConfig::default() });

        let (output, (pullback_params, _)) = layer.forward_vjp(&batch);
        let grads = pullback_params(output.clone());
        sgd.step(&mut layer, grads);

        output.dims()
    });

    let dims = worker.expect("spawn a 2 MiB thread").join().expect("step on a 2 MiB stack");
    assert_eq!(dims, [64, 128]);
}
