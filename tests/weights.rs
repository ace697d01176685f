//! Safetensors weight files: round trips, the file layout PyTorch reads,
//! every kind of malformed file, and models left unchanged by a failed load.

mod reference;

use std::fs;
use std::path::PathBuf;

use autograd::typenum::{U2, U3, U4, U5};
use autograd::{Module, Param, Rank1, Rank2, Rng, Tensor};
use nn::layers::{Forward, Linear, Relu};
use nn::weights::{
    load_safetensors, load_safetensors_bytes, save_safetensors, to_safetensors_bytes, Problem,
};

#[derive(Module)]
struct Affine<E: autograd::Float> {
    weight: Param<Tensor<Rank2<U3, U5>, E>>,
    bias: Param<Tensor<Rank1<U3>, E>>,
}

#[derive(Module)]
struct Net<E: autograd::Float> {
    l1: Affine<E>,
    scale: Param<Tensor<Rank1<U2>, E>>,
}

/// Elements `offset`, `offset + 1`, ..., in state-dict order, so every
/// element differs from every other.
fn counting<E: autograd::Float>(offset: f64) -> Net<E> {
    let value = |i: usize| E::from_f64(offset + i as f64);
    Net {
        l1: Affine {
            weight: Param::new(Tensor::from_fn(value)),
            bias: Param::new(Tensor::from_fn(|i| value(15 + i))),
        },
        scale: Param::new(Tensor::from_fn(|i| value(18 + i))),
    }
}

fn elements<M: Module>(model: &M) -> Vec<f64> {
    let mut all = Vec::new();
    model.visit_params(None, &mut |_, _, xs| {
        all.extend(xs.iter().map(|x| autograd::Float::to_f64(*x)))
    });
    all
}

/// A fresh directory for one test, removed by the test when it passes.
fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("autograd-weights-{}-{test}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Builds a safetensors file from a header written by hand.
fn file(header: &str, data: &[u8]) -> Vec<u8> {
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    bytes
}

/// A header for `Net`'s three tensors, with the given dtype and byte ranges.
fn net_header(dtype: &str, size: usize) -> String {
    let (w, b, s) = (15 * size, 3 * size, 2 * size);
    format!(
        r#"{{"l1.weight":{{"dtype":"{dtype}","shape":[3,5],"data_offsets":[0,{w}]}},"l1.bias":{{"dtype":"{dtype}","shape":[3],"data_offsets":[{w},{wb}]}},"scale":{{"dtype":"{dtype}","shape":[2],"data_offsets":[{wb},{wbs}]}}}}"#,
        wb = w + b,
        wbs = w + b + s
    )
}

/// Loads `bytes` into a `Net` expecting failure, and checks that the model
/// is unchanged.
fn load_problems(bytes: &[u8]) -> Vec<Problem> {
    load_problems_into(&mut counting::<f32>(1000.0), bytes)
}

/// Loads `bytes` into `model` expecting failure, and checks that the model
/// is unchanged.
fn load_problems_into<M: Module>(model: &mut M, bytes: &[u8]) -> Vec<Problem> {
    let before = elements(model);
    let problems = load_safetensors_bytes(model, bytes).unwrap_err();
    assert_eq!(elements(model), before, "a failed load changed the model");
    problems
}

#[test]
fn round_trip_f32() {
    let dir = temp_dir("round_trip_f32");
    let path = dir.join("net.safetensors");
    let saved = counting::<f32>(0.5);
    save_safetensors(&saved, &path).unwrap();

    let mut loaded = counting::<f32>(1000.0);
    load_safetensors(&mut loaded, &path).unwrap();
    assert_eq!(elements(&loaded), elements(&saved));
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn round_trip_f64_keeps_every_bit() {
    let dir = temp_dir("round_trip_f64");
    let path = dir.join("net.safetensors");
    let mut saved = counting::<f64>(0.0);
    saved.scale.as_mut_slice()[0] = 0.1 + 0.2;
    saved.scale.as_mut_slice()[1] = f64::MIN_POSITIVE / 3.0;
    save_safetensors(&saved, &path).unwrap();

    let mut loaded = counting::<f64>(1000.0);
    load_safetensors(&mut loaded, &path).unwrap();
    let bits = |model: &Net<f64>| {
        elements(model)
            .iter()
            .map(|x| x.to_bits())
            .collect::<Vec<_>>()
    };
    assert_eq!(bits(&loaded), bits(&saved));
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn saved_layout_matches_safetensors() {
    let model = Affine::<f32> {
        weight: Param::new(Tensor::from_fn(|i| i as f32)),
        bias: Param::new(Tensor::from_array([-1.0, 0.5, 2.0])),
    };
    let bytes = to_safetensors_bytes(&model);

    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    assert_eq!(header_len % 8, 0, "header is padded to 8 bytes");
    let header = std::str::from_utf8(&bytes[8..8 + header_len])
        .unwrap()
        .trim_end();
    let expected = r#"{"weight":{"dtype":"F32","shape":[3,5],"data_offsets":[0,60]},"bias":{"dtype":"F32","shape":[3],"data_offsets":[60,72]},"__metadata__":{"format":"pt"}}"#;
    assert_eq!(header, expected);

    let data = &bytes[8 + header_len..];
    assert_eq!(data.len(), 72);
    assert_eq!(data[4..8], 1.0f32.to_le_bytes());
    assert_eq!(data[60..64], (-1.0f32).to_le_bytes());
    assert_eq!(data[68..72], 2.0f32.to_le_bytes());
}

#[test]
fn hand_written_file_loads() {
    let mut data = Vec::new();
    for i in 0..20 {
        data.extend_from_slice(&(i as f32 * 0.25).to_le_bytes());
    }
    // Tensors may come in any order in the header, with metadata anywhere.
    let header = r#"{"__metadata__":{"format":"pt"},"scale":{"dtype":"F32","shape":[2],"data_offsets":[72,80]},"l1.weight":{"dtype":"F32","shape":[3,5],"data_offsets":[0,60]},"l1.bias":{"dtype":"F32","shape":[3],"data_offsets":[60,72]}}"#;
    let mut model = counting::<f32>(1000.0);
    load_safetensors_bytes(&mut model, &file(header, &data)).unwrap();
    assert_eq!(model.l1.weight.get([0, 1]), 0.25);
    assert_eq!(model.l1.bias.get([0]), 3.75);
    assert_eq!(model.scale.get([1]), 4.75);
}

#[test]
fn missing_tensor_is_reported() {
    let header = r#"{"l1.weight":{"dtype":"F32","shape":[3,5],"data_offsets":[0,60]},"l1.bias":{"dtype":"F32","shape":[3],"data_offsets":[60,72]}}"#;
    let problems = load_problems(&file(header, &[0; 72]));
    assert_eq!(problems.len(), 1);
    assert!(
        matches!(&problems[0], Problem::Missing { name, expected_shape, expected_dtype: "F32" }
            if name == "scale" && *expected_shape == [2]),
        "{problems:?}"
    );
}

#[test]
fn unexpected_tensor_is_reported() {
    let header = net_header("F32", 4).replace(
        r#""scale":"#,
        r#""extra":{"dtype":"F32","shape":[1],"data_offsets":[80,84]},"scale":"#,
    );
    let problems = load_problems(&file(&header, &[0; 84]));
    assert_eq!(problems.len(), 1);
    assert!(
        matches!(&problems[0], Problem::Unexpected { name, shape, .. } if name == "extra" && *shape == [1]),
        "{problems:?}"
    );
}

#[test]
fn wrong_shape_is_reported() {
    // PyTorch's `Linear(5, 3).weight` is [3, 5]; a transposed [5, 3] has the
    // same byte count and must still be rejected.
    let header = net_header("F32", 4).replace("[3,5]", "[5,3]");
    let problems = load_problems(&file(&header, &[0; 80]));
    assert_eq!(problems.len(), 1);
    assert!(
        matches!(&problems[0], Problem::WrongShape { name, expected, found }
            if name == "l1.weight" && *expected == [3, 5] && *found == [5, 3]),
        "{problems:?}"
    );
}

#[test]
fn wrong_dtype_is_reported_per_tensor() {
    let problems = load_problems(&file(&net_header("F64", 8), &[0; 160]));
    assert_eq!(problems.len(), 3);
    for problem in &problems {
        assert!(
            matches!(problem, Problem::WrongDtype { expected: "F32", found, .. } if found == "F64"),
            "{problem:?}"
        );
    }
}

#[test]
fn wrong_dtype_with_model_sized_data_is_reported_once() {
    // `l1.bias` is declared F64 but spans 12 bytes, the size of three F32
    // elements: its entry is malformed as well as of the wrong dtype, and
    // only the dtype is reported, not also a missing tensor or loose bytes.
    let header =
        net_header("F32", 4).replacen(r#""l1.bias":{"dtype":"F32""#, r#""l1.bias":{"dtype":"F64""#, 1);
    let problems = load_problems(&file(&header, &[0; 80]));

    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        matches!(&problems[0], Problem::WrongDtype { name, expected: "F32", found }
            if name == "l1.bias" && found == "F64"),
        "{problems:?}"
    );
}

#[test]
fn unknown_dtype_is_reported_once() {
    let header =
        net_header("F32", 4).replacen(r#""l1.bias":{"dtype":"F32""#, r#""l1.bias":{"dtype":"Q7""#, 1);
    let problems = load_problems(&file(&header, &[0; 80]));

    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        matches!(&problems[0], Problem::InvalidEntry { name, reason }
            if name == "l1.bias" && reason == "unknown dtype `Q7`"),
        "{problems:?}"
    );
}

#[test]
fn offsets_out_of_range_are_reported() {
    let header = net_header("F32", 4).replace("[72,80]", "[72,96]");
    let problems = load_problems(&file(&header, &[0; 80]));
    assert!(
        problems.iter().any(|p| matches!(p, Problem::OffsetsOutOfRange { name, start: 72, end: 96, data_len: 80 } if name == "scale")),
        "{problems:?}"
    );
}

#[test]
fn reversed_offsets_are_out_of_range() {
    let header = net_header("F32", 4).replace("[72,80]", "[80,72]");
    let problems = load_problems(&file(&header, &[0; 80]));
    assert!(
        problems
            .iter()
            .any(|p| matches!(p, Problem::OffsetsOutOfRange { name, .. } if name == "scale")),
        "{problems:?}"
    );
}

#[test]
fn overlapping_tensors_are_reported() {
    let header = net_header("F32", 4).replace("[60,72]", "[52,64]");
    let problems = load_problems(&file(&header, &[0; 80]));
    assert!(
        problems.iter().any(|p| matches!(p, Problem::Overlap { first, second } if first == "l1.weight" && second == "l1.bias")),
        "{problems:?}"
    );
}

#[test]
fn trailing_data_is_reported() {
    let problems = load_problems(&file(&net_header("F32", 4), &[0; 84]));
    assert_eq!(problems.len(), 1);
    assert!(
        matches!(problems[0], Problem::UncoveredBytes { start: 80, end: 84 }),
        "{problems:?}"
    );
}

#[test]
fn gap_in_data_is_reported() {
    let header = net_header("F32", 4).replace("[72,80]", "[76,84]");
    let problems = load_problems(&file(&header, &[0; 84]));
    assert_eq!(problems.len(), 1);
    assert!(
        matches!(problems[0], Problem::UncoveredBytes { start: 72, end: 76 }),
        "{problems:?}"
    );
}

#[test]
fn wrong_element_count_is_reported() {
    // `scale` claims 2 elements but spans 3 elements' bytes.
    let header = net_header("F32", 4).replace("[72,80]", "[72,84]");
    let problems = load_problems(&file(&header, &[0; 84]));
    assert!(
        problems.iter().any(|p| matches!(p, Problem::WrongByteLength { name, expected: 8, found: 12, .. } if name == "scale")),
        "{problems:?}"
    );
}

#[test]
fn truncated_files_are_reported() {
    let bytes = to_safetensors_bytes(&counting::<f32>(0.0));

    let problems = load_problems(&bytes[..5]);
    assert!(
        matches!(
            problems[..],
            [Problem::Truncated {
                needed: 8,
                found: 5
            }]
        ),
        "{problems:?}"
    );

    let problems = load_problems(&bytes[..20]);
    assert!(
        matches!(problems[..], [Problem::Truncated { found: 20, .. }]),
        "{problems:?}"
    );

    // Cut inside the data: the last tensor's offsets run past the end.
    let problems = load_problems(&bytes[..bytes.len() - 4]);
    assert!(
        problems
            .iter()
            .any(|p| matches!(p, Problem::OffsetsOutOfRange { name, .. } if name == "scale")),
        "{problems:?}"
    );
}

#[test]
fn corrupt_header_json_is_reported() {
    let header = net_header("F32", 4);
    let corrupt = &header[..header.len() - 1];
    let problems = load_problems(&file(corrupt, &[0; 80]));
    assert!(
        matches!(problems[..], [Problem::InvalidHeader(_)]),
        "{problems:?}"
    );

    let problems = load_problems(&file("[1, 2]", &[]));
    assert!(
        matches!(problems[..], [Problem::InvalidHeader(_)]),
        "{problems:?}"
    );
}

#[test]
fn duplicate_tensor_name_is_reported() {
    let header = net_header("F32", 4).replace(
        r#""scale":"#,
        r#""l1.bias":{"dtype":"F32","shape":[3],"data_offsets":[60,72]},"scale":"#,
    );
    let problems = load_problems(&file(&header, &[0; 80]));
    let [Problem::InvalidHeader(reason)] = &problems[..] else {
        panic!("expected one header problem, found {problems:?}");
    };
    assert!(reason.contains("`l1.bias` appears twice"), "{reason}");
}

#[test]
fn malformed_entries_are_reported() {
    let cases = [
        (r#""dtype":"F32""#, r#""dtype":"Q7""#, "unknown dtype `Q7`"),
        ("[3,5]", "[3,-5]", "`shape` must be"),
        ("[0,60]", "[0]", "`data_offsets` must be"),
        (
            r#""dtype":"F32""#,
            r#""dtype":"F32","stride":[5,1]"#,
            "unknown key `stride`",
        ),
    ];
    for (from, to, expected) in cases {
        let header = net_header("F32", 4).replacen(from, to, 1);
        let problems = load_problems(&file(&header, &[0; 80]));
        assert!(
            problems.iter().any(
                |p| matches!(p, Problem::InvalidEntry { reason, .. } if reason.contains(expected))
            ),
            "{to}: {problems:?}"
        );
    }
}

#[test]
fn every_problem_is_collected_in_one_error() {
    let dir = temp_dir("every_problem");
    let path = dir.join("bad.safetensors");
    // Transposed weight, F64 bias, no `scale`, an extra tensor.
    let header = r#"{"l1.weight":{"dtype":"F32","shape":[5,3],"data_offsets":[0,60]},"l1.bias":{"dtype":"F64","shape":[3],"data_offsets":[60,84]},"head":{"dtype":"F32","shape":[1],"data_offsets":[84,88]}}"#;
    fs::write(&path, file(header, &[0; 88])).unwrap();

    let mut model = counting::<f32>(0.0);
    let before = elements(&model);
    let error = load_safetensors(&mut model, &path).unwrap_err();
    assert_eq!(elements(&model), before);
    assert_eq!(error.problems.len(), 4, "{error}");

    let message = error.to_string();
    let expected_lines = [
        format!("weight file `{}` has 4 problems:", path.display()),
        "  - tensor `l1.weight`: expected shape [3, 5], found [5, 3]".to_owned(),
        "  - tensor `l1.bias`: expected dtype F32, found F64".to_owned(),
        "  - tensor `scale` is missing: expected shape [2] of F32".to_owned(),
        "  - tensor `head` (shape [1] of F32) is not a parameter of the model".to_owned(),
    ];
    assert_eq!(message.lines().collect::<Vec<_>>(), expected_lines);
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn missing_file_names_the_path() {
    let dir = temp_dir("missing_file");
    let path = dir.join("absent.safetensors");
    let error = load_safetensors(&mut counting::<f32>(0.0), &path).unwrap_err();
    assert!(matches!(error.problems[..], [Problem::Io(_)]));
    assert!(error.to_string().contains("absent.safetensors"), "{error}");
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn failed_save_leaves_no_file() {
    let dir = temp_dir("failed_save");
    // The target is an existing directory, so the final rename fails after
    // the temporary file was written.
    let target = dir.join("taken");
    fs::create_dir(&target).unwrap();

    let error = save_safetensors(&counting::<f32>(0.0), &target).unwrap_err();
    assert!(matches!(error.problems[..], [Problem::Io(_)]));
    let mut names: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(names, ["taken"]);
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn save_replaces_an_existing_file() {
    let dir = temp_dir("save_replaces");
    let path = dir.join("net.safetensors");
    fs::write(&path, b"old contents").unwrap();
    save_safetensors(&counting::<f32>(0.0), &path).unwrap();

    let mut loaded = counting::<f32>(1000.0);
    load_safetensors(&mut loaded, &path).unwrap();
    assert_eq!(elements(&loaded), elements(&counting::<f32>(0.0)));
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn concurrent_saves_to_one_path_stay_whole() {
    let dir = temp_dir("concurrent_saves");
    let path = dir.join("net.safetensors");
    std::thread::scope(|scope| {
        for offset in [0.0, 100.0, 200.0, 300.0] {
            let path = &path;
            scope.spawn(move || save_safetensors(&counting::<f32>(offset), path).unwrap());
        }
    });

    // Whichever save renamed last, the file is one whole model.
    let mut loaded = counting::<f32>(1000.0);
    load_safetensors(&mut loaded, &path).unwrap();
    let first = elements(&loaded)[0];
    let expected: Vec<f64> = (0..20).map(|i| first + i as f64).collect();
    assert_eq!(elements(&loaded), expected);
    assert_eq!(
        fs::read_dir(&dir).unwrap().count(),
        1,
        "temporary files left"
    );
    fs::remove_dir_all(dir).unwrap();
}

/// PyTorch's `nn.Sequential(nn.Linear(5, 3), nn.ReLU(), nn.Linear(3, 2))`.
type Mlp = (Linear<U5, U3>, Relu, Linear<U3, U2>);

fn mlp() -> Mlp {
    let mut rng = Rng::seed_from_u64(7);
    (Linear::new(&mut rng), Relu::new(), Linear::new(&mut rng))
}

const LINEAR_5_3: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/reference/linear_5_3.safetensors"
);

/// `tests/reference/generate_nn.py` saved this file with PyTorch's own
/// safetensors writer, and stored the same state dict in `nn.json`.
#[test]
fn pytorch_file_loads_into_tuple_model() {
    let mut model = mlp();
    load_safetensors(&mut model, LINEAR_5_3).unwrap();

    let reference = reference::nn_entry("models", "linear_5_3").field("state_dict");
    let mut names = Vec::new();
    model.visit_params(None, &mut |name, dims, elements| {
        let name = name.to_string();
        let expected = reference.field(&name).as_tensor();
        assert_eq!(dims, expected.shape, "{name}: shape");
        // The JSON holds each f32 widened to f64, so equality is exact.
        let widened: Vec<f64> = elements.iter().map(|x| f64::from(*x)).collect();
        assert_eq!(widened, expected.data, "{name}: values");
        names.push(name);
    });
    assert_eq!(names, ["0.weight", "0.bias", "2.weight", "2.bias"]);
}

#[test]
fn pytorch_file_reproduces_torch_output() {
    let mut model = mlp();
    load_safetensors(&mut model, LINEAR_5_3).unwrap();

    let entry = reference::nn_entry("models", "linear_5_3");
    let input = entry.field("input").as_tensor();
    let input: Vec<f32> = input.data.iter().map(|x| *x as f32).collect();
    let input: Tensor<Rank2<U4, U5>> = Tensor::from_slice(&input).unwrap();
    let output = model.forward(&input);

    let expected = entry.field("output_float32").as_tensor();
    assert_eq!(output.dims().as_slice(), expected.shape);
    for (i, (&actual, &expected)) in output.as_slice().iter().zip(&expected.data).enumerate() {
        // Float32 sums of 5 products may round differently from torch's.
        let tolerance = 1e-6 * (1.0 + expected.abs());
        assert!(
            (f64::from(actual) - expected).abs() <= tolerance,
            "element {i}: {actual} versus torch's {expected}"
        );
    }
}

#[test]
fn tuple_model_prints_like_pytorch_sequential() {
    // `print(model)` in PyTorch 2 for the same Sequential.
    let expected = "\
Sequential(
  (0): Linear(in_features=5, out_features=3, bias=True)
  (1): ReLU()
  (2): Linear(in_features=3, out_features=2, bias=True)
)";
    struct Repr<'a>(&'a Mlp);
    impl std::fmt::Display for Repr<'_> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            self.0.fmt_repr(f)
        }
    }
    assert_eq!(Repr(&mlp()).to_string(), expected);
}

#[test]
fn pytorch_file_rejects_a_mismatched_model() {
    // Hidden size 4 instead of 3: both layers and both biases disagree.
    let mut rng = Rng::seed_from_u64(7);
    let mut model: (Linear<U5, U4>, Relu, Linear<U4, U2>) =
        (Linear::new(&mut rng), Relu::new(), Linear::new(&mut rng));
    let error = load_safetensors(&mut model, LINEAR_5_3).unwrap_err();
    assert_eq!(error.problems.len(), 3, "{error}");
    let message = error.to_string();
    assert!(
        message.contains("tensor `0.weight`: expected shape [4, 5], found [3, 5]"),
        "{message}"
    );
    assert!(
        message.contains("tensor `0.bias`: expected shape [4], found [3]"),
        "{message}"
    );
    assert!(
        message.contains("tensor `2.weight`: expected shape [2, 4], found [2, 3]"),
        "{message}"
    );
}

#[derive(Module)]
struct Runtime {
    w: Param<Tensor<Rank1<autograd::Dyn>>>,
}

#[test]
fn dyn_shapes_are_checked_at_load() {
    let model = |n: usize| Runtime {
        w: Param::new(Tensor::from_fn_with_shape(Rank1(autograd::Dyn(n)), |i| {
            i as f32
        })),
    };
    let bytes = to_safetensors_bytes(&model(4));

    let mut same = model(4);
    same.w.as_mut_slice().fill(0.0);
    load_safetensors_bytes(&mut same, &bytes).unwrap();
    assert_eq!(same.w.as_slice(), [0.0, 1.0, 2.0, 3.0]);

    let problems = load_problems_into(&mut model(3), &bytes);
    assert!(
        matches!(&problems[..], [Problem::WrongShape { name, expected, found }]
            if name == "w" && *expected == [3] && *found == [4]),
        "{problems:?}"
    );
}
