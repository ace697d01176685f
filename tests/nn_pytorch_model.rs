//! A PyTorch `nn.Sequential(nn.Linear(5, 3), nn.ReLU(), nn.Linear(3, 2))`
//! rebuilt from this crate's layers: its weight file loads into the tuple
//! model, the forward pass matches PyTorch's output, and the repr matches
//! PyTorch's.

mod reference;

use autograd::typenum::{U2, U3, U4, U5};
use autograd::{Module, Rank2, Rng, Tensor};
use nn::layers::{Forward, Linear, Relu};
use nn::weights::load_safetensors_bytes;
use reference::{nn_entry, LINEAR_5_3_SAFETENSORS};

type Model = (Linear<U5, U3>, Relu, Linear<U3, U2>);

fn loaded_model() -> Model {
    let mut rng = Rng::seed_from_u64(0);
    let mut model: Model = (Linear::new(&mut rng), Relu::new(), Linear::new(&mut rng));
    load_safetensors_bytes(&mut model, LINEAR_5_3_SAFETENSORS).expect("the file matches the model");
    model
}

#[test]
fn pytorch_weights_load_into_tuple_model() {
    let model = loaded_model();
    let state_dict = nn_entry("models", "linear_5_3").field("state_dict");
    model.visit_params(None, &mut |name, dims, data| {
        let expected = state_dict.field(&name.to_string()).as_tensor();
        assert_eq!(dims, expected.shape.as_slice(), "{name}: shape");
        // The file contains float32 values, which the JSON widens exactly.
        let data: Vec<f64> = data.iter().map(|&v| v as f64).collect();
        assert_eq!(data, expected.data, "{name}: values");
    });
}

#[test]
fn tuple_model_forward_matches_pytorch() {
    let model = loaded_model();
    let entry = nn_entry("models", "linear_5_3");
    let input = entry.field("input").as_tensor();
    let x: Tensor<Rank2<U4, U5>> =
        Tensor::from_slice(&input.data.iter().map(|&v| v as f32).collect::<Vec<_>>()).unwrap();
    let y = model.forward(&x);
    let expected = entry.field("output_float32").as_tensor();
    assert_eq!(y.dims().as_slice(), expected.shape.as_slice());
    for (i, (&found, &expected)) in y.as_slice().iter().zip(&expected.data).enumerate() {
        // float32 products of five terms: a few ulps of the largest term.
        assert!((found as f64 - expected).abs() <= 1e-6 * expected.abs().max(1.0), "output {i}: {found} vs {expected}");
    }
}

#[test]
fn tuple_model_repr_matches_pytorch() {
    struct Repr<'a>(&'a Model);
    impl std::fmt::Display for Repr<'_> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            self.0.fmt_repr(f)
        }
    }
    // print(nn.Sequential(nn.Linear(5, 3), nn.ReLU(), nn.Linear(3, 2)))
    let expected = "Sequential(\n  (0): Linear(in_features=5, out_features=3, bias=True)\n  (1): ReLU()\n  \
                    (2): Linear(in_features=3, out_features=2, bias=True)\n)";
    assert_eq!(Repr(&loaded_model()).to_string(), expected);
}
