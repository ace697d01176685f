//! CSV loading, class mapping, standardization, splits and mini-batches of
//! `nn::data`, on small files written to a temporary folder and on the data
//! sets shipped in `examples/data`.

use std::collections::BTreeSet;
use std::error::Error;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use autograd::typenum::{U1, U10, U2, U4};
use autograd::{Dyn, Rank2, Rng, Tensor};
use nn::data::{DataError, Dataset, RegressionDataset, StandardScaler};

/// A folder under the system's temporary directory, unique to one test and
/// removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "nn-data-test-{}-{unique}-{test}",
            std::process::id()
        ));
        std::fs::create_dir_all(&path).expect("failed to create the temporary folder");
        TempDir(path)
    }

    /// Writes `text` to a file named `name` in the folder and returns its path.
    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).expect("failed to write the test file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn shipped(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/data")
        .join(name)
}

fn load_err<F>(test: &str, text: &str, label: &str) -> (PathBuf, DataError)
where
    F: autograd::Dim + autograd::typenum::Unsigned + Default,
{
    let dir = TempDir::new(test);
    let path = dir.write("data.csv", text);
    let err = Dataset::<F, f64>::from_csv(&path, label).expect_err("the file should be rejected");
    (path, err)
}

fn assert_close(actual: f64, expected: f64, tolerance: f64) {
    assert!(
        (actual - expected).abs() <= tolerance,
        "expected {expected}, found {actual} (tolerance {tolerance})"
    );
}

/// Column 0 of every row, used as a row id by the tests whose files put a
/// unique id in the first column.
fn ids<E: autograd::Float>(features: &Tensor<Rank2<Dyn, U2>, E>) -> Vec<usize> {
    let rows = features.dims()[0];
    (0..rows)
        .map(|row| features.get([row, 0]).to_f64() as usize)
        .collect()
}

/// A file of `counts.len()` classes named `c0`, `c1`, ..., with `counts[k]`
/// rows of class `k`. Column `id` numbers the rows from 0 in file order.
fn classes_csv(counts: &[usize]) -> String {
    let mut text = String::from("id,x,label\n");
    let mut id = 0;
    for (class, &count) in counts.iter().enumerate() {
        for _ in 0..count {
            text.push_str(&format!("{id},{},c{class}\n", id as f64 * 0.5));
            id += 1;
        }
    }
    text
}

// ---- errors ---------------------------------------------------------------

#[test]
fn missing_file_names_path() {
    let dir = TempDir::new("missing_file");
    let path = dir.0.join("absent.csv");

    let err = Dataset::<U4, f32>::from_csv(&path, "species").unwrap_err();

    let DataError::Io {
        path: reported,
        source,
    } = &err
    else {
        panic!("expected DataError::Io, found {err:?}");
    };
    assert_eq!(reported, &path);
    assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
    assert!(err.source().is_some());
    let message = err.to_string();
    assert!(
        message.starts_with(&format!("{}: failed to read the file", path.display())),
        "{message}"
    );
}

#[test]
fn missing_label_column_lists_columns() {
    let (path, err) = load_err::<U2>("missing_label", "a,b,kind\n1,2,x\n", "label");

    let DataError::MissingLabelColumn { label, columns, .. } = &err else {
        panic!("expected MissingLabelColumn, found {err:?}");
    };
    assert_eq!(label, "label");
    assert_eq!(columns, &["a", "b", "kind"]);
    assert_eq!(
        err.to_string(),
        format!(
            "{}:1: no column named `label` for the labels; the header row has the columns `a`, `b`, `kind`",
            path.display()
        )
    );
}

#[test]
fn semicolon_header_suggests_separator() {
    let (path, err) = load_err::<U2>("semicolons", "a;b;label\n1;2;x\n", "label");

    assert_eq!(
        err.to_string(),
        format!(
            "{}:1: no column named `label` for the labels; the header row has the columns `a;b;label` \
             (one column: only commas separate columns, and this header uses `;` or tabs)",
            path.display()
        )
    );
}

#[test]
#[should_panic(expected = "select: row 150 is out of range for a data set of 150 rows")]
fn select_rejects_row_past_end() {
    let data = Dataset::<U4, f64>::from_csv(shipped("iris.csv"), "species").expect("the shipped file loads");
    let _ = data.select(&[0, 150]);
}

#[test]
fn non_numeric_cell_names_line_column_and_text() {
    // Line 3 is blank and still counted, as an editor counts it.
    let text = "a,b,label\n1,2,x\n\n3,abc,y\n";
    let (path, err) = load_err::<U2>("non_numeric", text, "label");

    let DataError::NonNumeric {
        line,
        column,
        name,
        cell,
        ..
    } = &err
    else {
        panic!("expected NonNumeric, found {err:?}");
    };
    assert_eq!(*line, 4);
    assert_eq!(*column, 2);
    assert_eq!(name, "b");
    assert_eq!(cell, "abc");
    assert_eq!(
        err.to_string(),
        format!(
            "{}:4: column 2 (`b`) contains `abc`, which is not a finite number",
            path.display()
        )
    );
}

#[test]
fn cell_out_of_f32_range_is_rejected() {
    // 1e40 is a finite f64 but above f32::MAX (about 3.4e38).
    for cell in ["1e40", "-1e40"] {
        let text = format!("a,b,label\n1,2,x\n3,{cell},y\n");
        let path = PathBuf::from("big.csv");

        let err = Dataset::<U2, f32>::from_csv_str(&path, &text, "label")
            .expect_err("the cell should be rejected for f32");

        let DataError::OutOfRange {
            line,
            column,
            name,
            cell: found,
            dtype,
            ..
        } = &err
        else {
            panic!("cell {cell}: expected OutOfRange, found {err:?}");
        };
        assert_eq!(*line, 3);
        assert_eq!(*column, 2);
        assert_eq!(name, "b");
        assert_eq!(found, cell);
        assert_eq!(*dtype, "float32");
        assert_eq!(
            err.to_string(),
            format!(
                "big.csv:3: column 2 (`b`) contains `{cell}`, which is out of range for the \
                 element type float32; scale the column or load the data set as float64"
            )
        );
    }
}

#[test]
fn cell_out_of_f32_range_loads_as_f64() {
    let text = "a,b,label\n1,1e40,x\n";

    let dataset = Dataset::<U2, f64>::from_csv_str("big.csv", text, "label").unwrap();

    assert_eq!(dataset.features().as_slice(), [1.0, 1e40]);
}

#[test]
fn regression_target_out_of_f32_range_is_rejected() {
    let text = "a,b,y\n1,2,0.5\n3,4,1e39\n";

    let err = RegressionDataset::<U2, f32>::from_csv_str("big.csv", text, "y")
        .expect_err("the target should be rejected for f32");

    assert!(
        matches!(&err, DataError::OutOfRange { line: 3, column: 3, dtype: "float32", .. }),
        "{err:?}"
    );
}

#[test]
fn cell_below_f32_range_rounds_to_zero() {
    // 1e-50 is below the smallest f32 subnormal (about 1.4e-45), so it
    // rounds to zero, as NumPy's float32 conversion does.
    let text = "a,b,label\n1,1e-50,x\n";

    let dataset = Dataset::<U2, f32>::from_csv_str("small.csv", text, "label").unwrap();

    assert_eq!(dataset.features().as_slice(), [1.0, 0.0]);
}

#[test]
fn nan_and_infinite_cells_are_rejected() {
    for cell in ["nan", "NaN", "inf", "-inf", "1e400"] {
        let text = format!("a,b,label\n1,{cell},x\n");
        let (_, err) = load_err::<U2>("nan_cell", &text, "label");
        assert!(
            matches!(&err, DataError::NonNumeric { line: 2, column: 2, cell: found, .. } if found == cell),
            "cell {cell}: {err:?}"
        );
    }
}

#[test]
fn empty_cell_names_line_and_column() {
    let (path, err) = load_err::<U2>("empty_cell", "a,b,label\n1,2,x\n1, ,y\n", "label");

    assert!(
        matches!(&err, DataError::EmptyCell { line: 3, column: 2, name, .. } if name == "b"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!("{}:3: column 2 (`b`) is empty", path.display())
    );
}

#[test]
fn empty_label_cell_is_rejected() {
    let (_, err) = load_err::<U2>("empty_label", "a,b,label\n1,2,\n", "label");

    assert!(
        matches!(&err, DataError::EmptyCell { line: 2, column: 3, name, .. } if name == "label"),
        "{err:?}"
    );
}

#[test]
fn empty_file_is_rejected() {
    for text in ["", "\n\n  \n"] {
        let (path, err) = load_err::<U2>("empty_file", text, "label");

        assert!(
            matches!(&err, DataError::EmptyFile { .. }),
            "{text:?}: {err:?}"
        );
        assert!(err
            .to_string()
            .starts_with(&format!("{}: the file is empty", path.display())));
    }
}

#[test]
fn header_without_rows_is_rejected() {
    let (path, err) = load_err::<U2>("no_rows", "a,b,label\n\n", "label");

    assert!(matches!(&err, DataError::NoRows { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "{}: the file has a header row but no data rows",
            path.display()
        )
    );
}

#[test]
fn numeric_first_row_is_missing_header() {
    let (_, err) = load_err::<U2>("no_header", "1,2,0\n3,4,1\n", "label");

    assert!(
        matches!(&err, DataError::MissingHeader { line: 1, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("header row is missing"));
}

#[test]
fn row_with_wrong_cell_count_is_rejected() {
    for (row, found) in [("1,2,x,9", 4), ("1,x", 2)] {
        let text = format!("a,b,label\n1,2,x\n{row}\n");
        let (path, err) = load_err::<U2>("cell_count", &text, "label");

        assert!(
            matches!(&err, DataError::WrongCellCount { line: 3, found: f, expected: 3, .. } if *f == found),
            "{row}: {err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "{}:3: the row has {found} cells but the header row has 3 columns",
                path.display()
            )
        );
    }
}

#[test]
fn feature_count_mismatch_gives_both_numbers() {
    let text = "a,b,c,d,e,label\n1,2,3,4,5,x\n";
    let (path, err) = load_err::<U4>("too_many_features", text, "label");

    assert!(
        matches!(
            &err,
            DataError::FeatureCount {
                found: 5,
                expected: 4,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "{}: found 5 feature columns but the model expects 4 \
             (feature columns: `a`, `b`, `c`, `d`, `e`)",
            path.display()
        )
    );
}

#[test]
fn too_few_features_is_rejected() {
    let (_, err) = load_err::<U4>("too_few_features", "label,a,b,c\nx,1,2,3\n", "label");

    assert!(
        matches!(
            &err,
            DataError::FeatureCount {
                found: 3,
                expected: 4,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn quoted_cell_is_rejected() {
    let (path, err) = load_err::<U2>("quoted_cell", "a,b,label\n1,\"2\",x\n", "label");

    assert!(
        matches!(&err, DataError::QuotedField { line: 2, column: 2, name, .. } if name == "b"),
        "{err:?}"
    );
    assert!(err
        .to_string()
        .starts_with(&format!("{}:2: column 2 (`b`) is quoted", path.display())));
}

#[test]
fn quoted_label_with_comma_is_rejected() {
    let (_, err) = load_err::<U2>("quoted_label", "a,b,label\n1,2,\"x, y\"\n", "label");

    assert!(
        matches!(
            &err,
            DataError::QuotedField {
                line: 2,
                column: 3,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn quoted_header_is_rejected() {
    let (_, err) = load_err::<U2>("quoted_header", "\"a\",b,label\n1,2,x\n", "label");

    assert!(
        matches!(
            &err,
            DataError::QuotedField {
                line: 1,
                column: 1,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn duplicate_and_unnamed_columns_are_rejected() {
    let (_, duplicate) = load_err::<U2>("duplicate_column", "a,a,label\n1,2,x\n", "label");
    let (_, unnamed) = load_err::<U2>("unnamed_column", "a,,label\n1,2,x\n", "label");

    assert!(
        matches!(&duplicate, DataError::DuplicateColumn { line: 1, name, .. } if name == "a"),
        "{duplicate:?}"
    );
    assert!(
        matches!(
            &unnamed,
            DataError::UnnamedColumn {
                line: 1,
                column: 2,
                ..
            }
        ),
        "{unnamed:?}"
    );
}

#[test]
fn class_count_mismatch_gives_both_numbers() {
    let dataset =
        Dataset::<U1, f32>::from_csv_str("mem.csv", "x,label\n1,b\n2,a\n", "label").unwrap();

    assert!(dataset.check_num_classes(2).is_ok());
    let err = dataset.check_num_classes(3).unwrap_err();

    assert!(
        matches!(
            &err,
            DataError::ClassCount {
                found: 2,
                expected: 3,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "mem.csv: found 2 classes but the model expects 3 (classes: `a`, `b`)"
    );
}

#[test]
fn regression_target_must_be_numeric() {
    let dir = TempDir::new("regression_target");
    let path = dir.write("data.csv", "a,target,b\n1,2.5,3\n4,high,6\n");

    let err = RegressionDataset::<U2, f64>::from_csv(&path, "target").unwrap_err();

    assert!(
        matches!(&err, DataError::NonNumeric { line: 3, column: 2, name, cell, .. }
            if name == "target" && cell == "high"),
        "{err:?}"
    );
}

// ---- parsing and class labels ---------------------------------------------

#[test]
fn string_classes_are_sorted() {
    let dataset = Dataset::<U1, f64>::from_csv_str(
        "mem.csv",
        "x,label\n1,pear\n2,apple\n3,fig\n4,apple\n",
        "label",
    )
    .unwrap();

    assert_eq!(dataset.classes(), ["apple", "fig", "pear"]);
    assert_eq!(dataset.labels(), [2, 0, 1, 0]);
    assert_eq!(dataset.class_counts(), [2, 1, 1]);
    assert_eq!(dataset.class_index("fig"), Some(1));
    assert_eq!(dataset.class_index("plum"), None);
}

#[test]
fn numeric_classes_sort_by_value() {
    let text = "label,x\n10,0\n9,0\n2,0\n1.0,0\n1,0\n";
    let dataset = Dataset::<U1, f64>::from_csv_str("mem.csv", text, "label").unwrap();

    // `1.0` and `1` are one class; `10` sorts after `9`.
    assert_eq!(dataset.classes(), ["1", "2", "9", "10"]);
    assert_eq!(dataset.labels(), [3, 2, 1, 0, 0]);
}

#[test]
fn display_reports_class_mapping() {
    let text = "x,label\n1,b\n2,a\n3,b\n";
    let dataset = Dataset::<U1, f32>::from_csv_str("mem.csv", text, "label").unwrap();

    assert_eq!(
        dataset.to_string(),
        "mem.csv: 3 rows, 1 feature (`x`), label column `label`\n  \
         class 0 = a (1 row)\n  class 1 = b (2 rows)"
    );
}

#[test]
fn label_column_may_be_anywhere() {
    let text = "a,label,b\n1,x,2\n3,y,4\n";
    let dataset = Dataset::<U2, f64>::from_csv_str("mem.csv", text, "label").unwrap();

    assert_eq!(dataset.feature_names(), ["a", "b"]);
    assert_eq!(dataset.label_name(), "label");
    assert_eq!(dataset.features().as_slice(), [1.0, 2.0, 3.0, 4.0]);
    assert_eq!(dataset.labels(), [0, 1]);
}

#[test]
fn crlf_bom_and_spaces_are_accepted() {
    let text = "\u{feff}a , b,label\r\n 1.5, -2 ,x\r\n\r\n3e1,4,y\r\n";
    let dataset = Dataset::<U2, f64>::from_csv_str("mem.csv", text, "label").unwrap();

    assert_eq!(dataset.feature_names(), ["a", "b"]);
    assert_eq!(dataset.features().as_slice(), [1.5, -2.0, 30.0, 4.0]);
    assert_eq!(dataset.classes(), ["x", "y"]);
}

#[test]
fn row_returns_vector_and_label() {
    let dataset =
        Dataset::<U2, f32>::from_csv_str("mem.csv", "a,b,label\n1,2,x\n3,4,y\n", "label").unwrap();

    let (features, label) = dataset.row(1);

    assert_eq!(features.as_slice(), [3.0, 4.0]);
    assert_eq!(label, 1);
}

// ---- shipped data sets ----------------------------------------------------

#[test]
fn iris_loads_with_three_balanced_classes() {
    let iris = Dataset::<U4, f32>::from_csv(shipped("iris.csv"), "species").unwrap();

    assert_eq!(iris.len(), 150);
    assert_eq!(iris.features().dims(), [150, 4]);
    assert_eq!(
        iris.feature_names(),
        ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    );
    assert_eq!(iris.classes(), ["setosa", "versicolor", "virginica"]);
    assert_eq!(iris.class_counts(), [50, 50, 50]);
}

#[test]
fn iris_rows_match_published_values() {
    let iris = Dataset::<U4, f64>::from_csv(shipped("iris.csv"), "species").unwrap();

    // First and last flowers of the UCI file, and sample 51, the first
    // versicolor.
    let (first, first_class) = iris.row(0);
    assert_eq!(first.as_slice(), [5.1, 3.5, 1.4, 0.2]);
    assert_eq!(iris.classes()[first_class], "setosa");

    let (versicolor, versicolor_class) = iris.row(50);
    assert_eq!(versicolor.as_slice(), [7.0, 3.2, 4.7, 1.4]);
    assert_eq!(iris.classes()[versicolor_class], "versicolor");

    let (last, last_class) = iris.row(149);
    assert_eq!(last.as_slice(), [5.9, 3.0, 5.1, 1.8]);
    assert_eq!(iris.classes()[last_class], "virginica");
}

#[test]
fn diabetes_loads_442_patients() {
    let diabetes =
        RegressionDataset::<U10, f64>::from_csv(shipped("diabetes.csv"), "target").unwrap();

    assert_eq!(diabetes.len(), 442);
    assert_eq!(diabetes.features().dims(), [442, 10]);
    assert_eq!(diabetes.targets().dims(), [442, 1]);
    assert_eq!(
        diabetes.feature_names(),
        ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]
    );
    // The first and last targets of scikit-learn's diabetes_target.csv.gz.
    assert_eq!(diabetes.row(0).1, 151.0);
    assert_eq!(diabetes.row(441).1, 57.0);
    assert_close(diabetes.row(0).0.as_slice()[0], 0.0380759064334241, 1e-15);
}

#[test]
fn diabetes_features_are_centred_unit_norm() {
    let diabetes =
        RegressionDataset::<U10, f64>::from_csv(shipped("diabetes.csv"), "target").unwrap();
    let data = diabetes.features().as_slice();

    // Each column is centred and scaled so that its squares sum to 1.
    for column in 0..10 {
        let values = || data.iter().skip(column).step_by(10);
        let sum: f64 = values().sum();
        let sum_of_squares: f64 = values().map(|x| x * x).sum();
        assert_close(sum, 0.0, 1e-10);
        assert_close(sum_of_squares, 1.0, 1e-10);
    }
}

// ---- standardization ------------------------------------------------------

#[test]
fn scaler_uses_biased_std() {
    // Column a: 1, 2, 3, 4 has mean 2.5 and biased variance
    // (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25. Column b is constant.
    let text = "a,b,label\n1,7,x\n2,7,x\n3,7,y\n4,7,y\n";
    let dataset = Dataset::<U2, f64>::from_csv_str("mem.csv", text, "label").unwrap();

    let scaler = StandardScaler::fit(dataset.features());

    assert_eq!(scaler.mean().as_slice(), [2.5, 7.0]);
    assert_close(scaler.std().as_slice()[0], 1.25f64.sqrt(), 1e-15);
    assert_eq!(
        scaler.std().as_slice()[1],
        1.0,
        "a constant column gets scale 1"
    );
}

#[test]
fn scaler_keeps_precision_with_large_offset() {
    // 10000 + 0.5 k for k = 0..4, exact in f32: mean 10000.75 and biased
    // variance 0.25 × 1.25 = 0.3125. In f32, E[x²] - E[x]² would cancel
    // almost every digit of the variance.
    let text = "a,label\n10000,x\n10000.5,x\n10001,x\n10001.5,x\n";
    let dataset = Dataset::<U1, f32>::from_csv_str("mem.csv", text, "label").unwrap();

    let scaler = StandardScaler::fit(dataset.features());

    assert_eq!(scaler.mean().as_slice()[0], 10000.75);
    assert_close(scaler.std().as_slice()[0] as f64, 0.3125f64.sqrt(), 1e-7);
}

#[test]
fn scaler_applies_training_statistics() {
    let train = Dataset::<U2, f64>::from_csv_str(
        "train.csv",
        "a,b,label\n1,7,x\n2,7,x\n3,7,y\n4,7,y\n",
        "label",
    )
    .unwrap();
    let test = Dataset::<U2, f64>::from_csv_str("test.csv", "a,b,label\n5,8,x\n", "label").unwrap();
    let scaler = StandardScaler::fit(train.features());

    let test = test.standardize(&scaler);

    let (row, _) = test.row(0);
    assert_close(row.as_slice()[0], (5.0 - 2.5) / 1.25f64.sqrt(), 1e-15);
    assert_eq!(row.as_slice()[1], 1.0, "(8 - 7) / 1");
}

#[test]
fn scaler_inverse_restores_features() {
    let iris = Dataset::<U4, f64>::from_csv(shipped("iris.csv"), "species").unwrap();
    let scaler = StandardScaler::fit(iris.features());

    let restored = scaler.inverse_transform(&scaler.transform(iris.features()));

    for (a, b) in restored.as_slice().iter().zip(iris.features().as_slice()) {
        assert_close(*a, *b, 1e-12);
    }
}

#[test]
fn standardized_train_has_zero_mean_unit_std() {
    let iris = Dataset::<U4, f32>::from_csv(shipped("iris.csv"), "species").unwrap();
    let (train, _) = iris.stratified_split(0.2, &mut Rng::seed_from_u64(5));

    let train = train.standardize(&StandardScaler::fit(train.features()));

    let refit = StandardScaler::fit(train.features());
    for column in 0..4 {
        assert_close(refit.mean().as_slice()[column] as f64, 0.0, 1e-5);
        assert_close(refit.std().as_slice()[column] as f64, 1.0, 1e-5);
    }
}

#[test]
#[should_panic(expected = "no rows")]
fn scaler_fit_on_empty_matrix_panics() {
    let empty: Tensor<Rank2<Dyn, U2>, f64> = Tensor::zeros_with_shape(Rank2(Dyn(0), U2::default()));
    let _ = StandardScaler::fit(&empty);
}

// ---- splits ---------------------------------------------------------------

#[test]
fn iris_split_is_stratified() {
    let iris = Dataset::<U4, f32>::from_csv(shipped("iris.csv"), "species").unwrap();

    let (train, test) = iris.stratified_split(0.2, &mut Rng::seed_from_u64(0));

    assert_eq!(train.class_counts(), [40, 40, 40]);
    assert_eq!(test.class_counts(), [10, 10, 10]);
    assert_eq!(test.classes(), iris.classes());
}

#[test]
fn split_partitions_rows() {
    let dataset =
        Dataset::<U2, f64>::from_csv_str("mem.csv", &classes_csv(&[7, 12, 3]), "label").unwrap();

    let (train, test) = dataset.stratified_split(0.25, &mut Rng::seed_from_u64(1));

    // round(0.25 × 7) = 2, round(0.25 × 12) = 3, round(0.25 × 3) = 1.
    assert_eq!(test.class_counts(), [2, 3, 1]);
    assert_eq!(train.class_counts(), [5, 9, 2]);

    let train_ids = ids(train.features());
    let test_ids = ids(test.features());
    let all: BTreeSet<usize> = train_ids.iter().chain(&test_ids).copied().collect();
    assert_eq!(all.len(), 22, "no row is in both sets or in neither");
    assert_eq!(train_ids.len() + test_ids.len(), 22);
    assert!(
        train_ids.windows(2).all(|pair| pair[0] < pair[1]),
        "file order is kept"
    );

    // Labels travel with their rows: ids 0..7 are c0, 7..19 c1, 19..22 c2.
    for (id, label) in test_ids.iter().zip(test.labels()) {
        let expected = if *id < 7 {
            0
        } else if *id < 19 {
            1
        } else {
            2
        };
        assert_eq!(*label, expected, "row id {id}");
    }
}

#[test]
fn split_is_deterministic_per_seed() {
    let dataset =
        Dataset::<U2, f64>::from_csv_str("mem.csv", &classes_csv(&[50, 50, 50]), "label").unwrap();

    let (_, first) = dataset.stratified_split(0.2, &mut Rng::seed_from_u64(42));
    let (_, again) = dataset.stratified_split(0.2, &mut Rng::seed_from_u64(42));
    let (_, other) = dataset.stratified_split(0.2, &mut Rng::seed_from_u64(43));

    assert_eq!(ids(first.features()), ids(again.features()));
    assert_ne!(ids(first.features()), ids(other.features()));
}

#[test]
fn split_edge_fractions() {
    let dataset =
        Dataset::<U2, f64>::from_csv_str("mem.csv", &classes_csv(&[4, 6]), "label").unwrap();
    let mut rng = Rng::seed_from_u64(0);

    let (train, test) = dataset.stratified_split(0.0, &mut rng);
    assert_eq!((train.len(), test.len()), (10, 0));
    assert!(test.is_empty());

    let (train, test) = dataset.stratified_split(1.0, &mut rng);
    assert_eq!((train.len(), test.len()), (0, 10));
}

#[test]
#[should_panic(expected = "test_fraction must be within 0.0..=1.0, found 1.5")]
fn split_rejects_fraction_above_one() {
    let dataset = Dataset::<U2, f64>::from_csv_str("mem.csv", &classes_csv(&[4]), "label").unwrap();
    let _ = dataset.stratified_split(1.5, &mut Rng::seed_from_u64(0));
}

#[test]
fn regression_split_partitions_rows() {
    let mut text = String::from("id,x,target\n");
    for id in 0..442 {
        text.push_str(&format!("{id},0,{}\n", id * 2));
    }
    let dataset = RegressionDataset::<U2, f64>::from_csv_str("mem.csv", &text, "target").unwrap();

    let (train, test) = dataset.train_test_split(0.2, &mut Rng::seed_from_u64(3));

    // round(0.2 × 442) = round(88.4) = 88.
    assert_eq!(test.len(), 88);
    assert_eq!(train.len(), 354);
    let all: BTreeSet<usize> = ids(train.features())
        .into_iter()
        .chain(ids(test.features()))
        .collect();
    assert_eq!(all.len(), 442);
    for row in 0..test.len() {
        let (features, target) = test.row(row);
        assert_eq!(
            target,
            features.as_slice()[0] * 2.0,
            "the target moves with its row"
        );
    }
}

// ---- mini-batches ---------------------------------------------------------

#[test]
fn batches_cover_every_row_once() {
    let iris = Dataset::<U4, f32>::from_csv(shipped("iris.csv"), "species").unwrap();
    let mut rng = Rng::seed_from_u64(9);

    let batches: Vec<_> = iris.batches(32, &mut rng).collect();

    // 150 = 4 × 32 + 22: the last partial batch is kept.
    let sizes: Vec<usize> = batches
        .iter()
        .map(|batch| batch.features.dims()[0])
        .collect();
    assert_eq!(sizes, [32, 32, 32, 32, 22]);

    let mut seen = vec![0; 150];
    for batch in &batches {
        assert_eq!(batch.labels.len(), batch.indices.len());
        for (position, &row) in batch.indices.iter().enumerate() {
            seen[row] += 1;
            let (features, label) = iris.row(row);
            assert_eq!(batch.labels[position], label, "row {row}");
            assert_eq!(
                &batch.features.as_slice()[position * 4..position * 4 + 4],
                features.as_slice(),
                "row {row}"
            );
        }
    }
    assert!(
        seen.iter().all(|&count| count == 1),
        "rows seen other than once: {seen:?}"
    );
}

#[test]
fn batches_are_shuffled_and_seeded() {
    let iris = Dataset::<U4, f32>::from_csv(shipped("iris.csv"), "species").unwrap();
    let order = |rng: &mut Rng| -> Vec<usize> {
        iris.batches(50, rng)
            .flat_map(|batch| batch.indices)
            .collect()
    };

    let mut rng = Rng::seed_from_u64(4);
    let epoch_one = order(&mut rng);
    let epoch_two = order(&mut rng);
    let replay = order(&mut Rng::seed_from_u64(4));

    assert_eq!(epoch_one, replay);
    assert_ne!(epoch_one, epoch_two, "each epoch draws a new order");
    assert_ne!(
        epoch_one,
        (0..150).collect::<Vec<_>>(),
        "the order is shuffled"
    );
}

#[test]
fn batch_count_is_known_up_front() {
    let iris = Dataset::<U4, f32>::from_csv(shipped("iris.csv"), "species").unwrap();
    let mut rng = Rng::seed_from_u64(0);

    assert_eq!(iris.batches(32, &mut rng).len(), 5);
    assert_eq!(iris.batches(50, &mut rng).len(), 3);
    assert_eq!(iris.batches(1000, &mut rng).len(), 1);

    let mut batches = iris.batches(32, &mut rng);
    batches.next();
    assert_eq!(batches.len(), 4);
}

#[test]
#[should_panic(expected = "batch_size must be at least 1")]
fn zero_batch_size_panics() {
    let iris = Dataset::<U4, f32>::from_csv(shipped("iris.csv"), "species").unwrap();
    let _ = iris.batches(0, &mut Rng::seed_from_u64(0));
}

#[test]
fn regression_batches_keep_targets_with_rows() {
    let diabetes =
        RegressionDataset::<U10, f32>::from_csv(shipped("diabetes.csv"), "target").unwrap();

    let batches: Vec<_> = diabetes.batches(100, &mut Rng::seed_from_u64(2)).collect();

    let sizes: Vec<usize> = batches
        .iter()
        .map(|batch| batch.targets.dims()[0])
        .collect();
    assert_eq!(sizes, [100, 100, 100, 100, 42]);
    let mut seen = BTreeSet::new();
    for batch in &batches {
        assert_eq!(batch.features.dims()[0], batch.targets.dims()[0]);
        for (position, &row) in batch.indices.iter().enumerate() {
            assert!(seen.insert(row), "row {row} appears twice");
            assert_eq!(batch.targets.get([position, 0]), diabetes.row(row).1);
        }
    }
    assert_eq!(seen.len(), 442);
}

#[test]
fn target_scaler_works_on_target_matrix() {
    let diabetes =
        RegressionDataset::<U10, f64>::from_csv(shipped("diabetes.csv"), "target").unwrap();

    let scaler = StandardScaler::<U1, f64>::fit(diabetes.targets());
    let scaled = scaler.transform(diabetes.targets());

    let refit = StandardScaler::fit(&scaled);
    assert_close(refit.mean().as_slice()[0], 0.0, 1e-12);
    assert_close(refit.std().as_slice()[0], 1.0, 1e-12);
}
