//! Data sets read from CSV files, standardization, train/test splits and
//! shuffled mini-batches.
//!
//! A CSV file has a header row with the column names and one row per sample.
//! One column, chosen by name, contains the label (a class for
//! [`Dataset`], a number for [`RegressionDataset`]), and every other column is
//! a numeric feature. The feature count `F` is a typenum constant, the
//! model's input size, so the rows come out as `Tensor<Rank1<F>, E>` and the
//! whole set as a `Tensor<Rank2<Dyn, F>, E>` matrix that a model of input
//! size `F` accepts. A file with another number of feature columns is a
//! [`DataError::FeatureCount`] when it is read, not a shape panic later.
//!
//! ```no_run
//! use autograd::{typenum::U4, Rng};
//! use nn::data::{Dataset, StandardScaler};
//!
//! let iris = Dataset::<U4, f32>::from_csv("examples/data/iris.csv", "species")?;
//! println!("{iris}"); // the rows per class and the class-to-index mapping
//!
//! let mut rng = Rng::seed_from_u64(0);
//! let (train, test) = iris.stratified_split(0.2, &mut rng);
//! let scaler = StandardScaler::fit(train.features());
//! let (train, test) = (train.standardize(&scaler), test.standardize(&scaler));
//! for batch in train.batches(16, &mut rng) {
//!     // batch.features: Tensor<Rank2<Dyn, U4>>, batch.labels: Vec<usize>
//! }
//! # let _ = test;
//! # Ok::<(), nn::data::DataError>(())
//! ```

mod csv;
mod error;
mod standardize;

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use autograd::typenum::{Unsigned, U1};
use autograd::{Dim, Dyn, Float, Rank1, Rank2, Rng, Tensor};

pub use error::DataError;
pub use standardize::StandardScaler;

use csv::{CellPosition, Table};

/// A classification data set: a feature matrix and one class index per row.
///
/// The classes are the distinct label cells sorted: numerically when every
/// label is a number (so `10` comes after `9`), otherwise by their text.
/// Class `i` is `classes()[i]`, and `Display` prints the mapping.
#[derive(Clone, Debug)]
pub struct Dataset<F: Dim, E: Float = f32> {
    path: PathBuf,
    feature_names: Vec<String>,
    label_name: String,
    classes: Vec<String>,
    features: Tensor<Rank2<Dyn, F>, E>,
    labels: Vec<usize>,
}

/// A regression data set: a feature matrix and one target value per row.
#[derive(Clone, Debug)]
pub struct RegressionDataset<F: Dim, E: Float = f32> {
    path: PathBuf,
    feature_names: Vec<String>,
    target_name: String,
    features: Tensor<Rank2<Dyn, F>, E>,
    targets: Tensor<Rank2<Dyn, U1>, E>,
}

/// One mini-batch of a [`Dataset`].
#[derive(Clone, Debug)]
pub struct Batch<F: Dim, E: Float = f32> {
    /// `[batch, F]`, one row per sample.
    pub features: Tensor<Rank2<Dyn, F>, E>,
    /// The class index of each row.
    pub labels: Vec<usize>,
    /// The position of each row in the data set.
    pub indices: Vec<usize>,
}

/// One mini-batch of a [`RegressionDataset`].
#[derive(Clone, Debug)]
pub struct RegressionBatch<F: Dim, E: Float = f32> {
    /// `[batch, F]`, one row per sample.
    pub features: Tensor<Rank2<Dyn, F>, E>,
    /// `[batch, 1]`, the shape of a one-output model's prediction.
    pub targets: Tensor<Rank2<Dyn, U1>, E>,
    /// The position of each row in the data set.
    pub indices: Vec<usize>,
}

impl<F: Dim + Unsigned + Default, E: Float> Dataset<F, E> {
    /// Reads a CSV file whose column `label` contains the classes and whose
    /// other `F` columns contain numeric features.
    ///
    /// # Errors
    /// A [`DataError`] naming the file, and the line and column where one
    /// applies, when the file is missing or empty, has no header row, has no
    /// column `label`, has other than `F` feature columns, or has a row with
    /// the wrong number of cells, an empty, quoted or non-numeric cell
    /// (`nan` and `inf` included), or a number out of range for `E`
    /// ([`DataError::OutOfRange`], such as `1e40` for `f32`).
    pub fn from_csv(path: impl AsRef<Path>, label: &str) -> Result<Self, DataError> {
        let table = csv::read::<E>(path.as_ref(), label, F::USIZE)?;
        Ok(Self::from_table(table))
    }

    /// Parses CSV text as [`from_csv`](Self::from_csv) reads a file; `path`
    /// only names the source in error messages.
    ///
    /// # Errors
    /// As [`from_csv`](Self::from_csv), except for reading the file.
    pub fn from_csv_str(
        path: impl AsRef<Path>,
        text: &str,
        label: &str,
    ) -> Result<Self, DataError> {
        let table = csv::parse::<E>(path.as_ref(), text, label, F::USIZE)?;
        Ok(Self::from_table(table))
    }

    fn from_table(table: Table) -> Self {
        let classes = sorted_classes(&table);
        let labels = table
            .labels
            .iter()
            .map(|cell| {
                let name = class_name(&cell.text);
                classes
                    .iter()
                    .position(|class| *class == name)
                    .expect("every label cell is one of the classes collected from the same cells")
            })
            .collect();

        Dataset {
            features: matrix_from(&table),
            path: table.path,
            feature_names: table.feature_names,
            label_name: table.label_name,
            classes,
            labels,
        }
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// `true` for a data set with no rows, which only a split can produce.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The file the rows were read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `[rows, F]`, in file order (or the order a split chose).
    pub fn features(&self) -> &Tensor<Rank2<Dyn, F>, E> {
        &self.features
    }

    /// The class index of each row.
    pub fn labels(&self) -> &[usize] {
        &self.labels
    }

    /// The class names; class index `i` stands for `classes()[i]`.
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// The index of a class name, as it is spelled in `classes()`.
    pub fn class_index(&self, name: &str) -> Option<usize> {
        self.classes.iter().position(|class| class == name)
    }

    /// The number of rows of each class, indexed like `classes()`.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.classes.len()];
        for &label in &self.labels {
            counts[label] += 1;
        }
        counts
    }

    /// Checks that the data set has as many classes as a model has outputs,
    /// so that a model of 3 outputs is not trained on 2 classes by mistake.
    ///
    /// # Errors
    /// [`DataError::ClassCount`] with both numbers and the class names.
    pub fn check_num_classes(&self, expected: usize) -> Result<(), DataError> {
        if self.classes.len() == expected {
            return Ok(());
        }
        Err(DataError::ClassCount {
            path: self.path.clone(),
            found: self.classes.len(),
            expected,
            classes: self.classes.clone(),
        })
    }

    /// The names of the feature columns, in the order of the matrix columns.
    pub fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    /// The name of the label column.
    pub fn label_name(&self) -> &str {
        &self.label_name
    }

    /// Row `index` as a vector, with its class index.
    ///
    /// # Panics
    /// If `index` is not below `len()`.
    pub fn row(&self, index: usize) -> (Tensor<Rank1<F>, E>, usize) {
        (row_of(&self.features, index), self.labels[index])
    }

    /// Splits the rows into a training and a test set, class by class, so
    /// that both keep the class proportions.
    ///
    /// Each class's rows are shuffled with `rng`, and the first
    /// `round(test_fraction × class size)` of them go to the test set, so
    /// 0.2 takes 10 of 50. Both sets keep the file order of their rows and
    /// every class in `classes()`, even one with no rows in that set. The
    /// same seed gives the same split.
    ///
    /// # Panics
    /// If `test_fraction` is not within `0.0..=1.0`.
    pub fn stratified_split(&self, test_fraction: f64, rng: &mut Rng) -> (Self, Self) {
        check_fraction(test_fraction);

        let mut train_rows = Vec::new();
        let mut test_rows = Vec::new();
        for class in 0..self.classes.len() {
            let mut rows: Vec<usize> = (0..self.len())
                .filter(|&row| self.labels[row] == class)
                .collect();
            rng.shuffle(&mut rows);
            let test_count = test_size(rows.len(), test_fraction);
            test_rows.extend_from_slice(&rows[..test_count]);
            train_rows.extend_from_slice(&rows[test_count..]);
        }
        train_rows.sort_unstable();
        test_rows.sort_unstable();

        (self.select(&train_rows), self.select(&test_rows))
    }

    /// Returns the data set with every feature row standardized by `scaler`.
    pub fn standardize(&self, scaler: &StandardScaler<F, E>) -> Self {
        Dataset {
            features: scaler.transform(&self.features),
            ..self.clone()
        }
    }

    /// Shuffles the rows with `rng` and yields them in batches of
    /// `batch_size`, the last one smaller when `batch_size` does not divide
    /// `len()`. Every row appears exactly once per call.
    ///
    /// # Panics
    /// If `batch_size` is 0.
    pub fn batches(&self, batch_size: usize, rng: &mut Rng) -> Batches<'_, F, E> {
        Batches {
            dataset: self,
            order: BatchOrder::shuffled(self.len(), batch_size, rng),
        }
    }

    /// Returns the data set made of the given rows, in that order.
    ///
    /// # Panics
    /// If a row is not below [`len`](Self::len).
    pub fn select(&self, rows: &[usize]) -> Self {
        Dataset {
            features: gather_rows(&self.features, rows),
            labels: rows.iter().map(|&row| self.labels[row]).collect(),
            ..self.clone()
        }
    }
}

/// Prints the size of the data set and the class-to-index mapping with the
/// rows per class, for example:
///
/// ```text
/// examples/data/iris.csv: 150 rows, 4 features (`sepal_length`, ...), label column `species`
///   class 0 = setosa (50 rows)
/// ```
impl<F: Dim + Unsigned + Default, E: Float> fmt::Display for Dataset<F, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_summary(f, &self.path, self.len(), &self.feature_names)?;
        write!(f, ", label column `{}`", self.label_name)?;
        for (index, (class, count)) in self.classes.iter().zip(self.class_counts()).enumerate() {
            write!(f, "\n  class {index} = {class} ({})", plural(count, "row"))?;
        }
        Ok(())
    }
}

/// The iterator returned by [`Dataset::batches`].
pub struct Batches<'a, F: Dim, E: Float> {
    dataset: &'a Dataset<F, E>,
    order: BatchOrder,
}

impl<F: Dim + Unsigned + Default, E: Float> Iterator for Batches<'_, F, E> {
    type Item = Batch<F, E>;

    fn next(&mut self) -> Option<Batch<F, E>> {
        let rows = self.order.next_rows()?.to_vec();
        Some(Batch {
            features: gather_rows(&self.dataset.features, &rows),
            labels: rows.iter().map(|&row| self.dataset.labels[row]).collect(),
            indices: rows,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let remaining = self.order.remaining_batches();
        (remaining, Some(remaining))
    }
}

impl<F: Dim + Unsigned + Default, E: Float> ExactSizeIterator for Batches<'_, F, E> {}

impl<F: Dim + Unsigned + Default, E: Float> RegressionDataset<F, E> {
    /// Reads a CSV file whose column `target` contains the numeric target
    /// and whose other `F` columns contain numeric features.
    ///
    /// # Errors
    /// As [`Dataset::from_csv`], and a [`DataError::NonNumeric`] or
    /// [`DataError::OutOfRange`] for a target cell that is not a finite
    /// number of type `E`.
    pub fn from_csv(path: impl AsRef<Path>, target: &str) -> Result<Self, DataError> {
        let table = csv::read::<E>(path.as_ref(), target, F::USIZE)?;
        Self::from_table(table)
    }

    /// Parses CSV text as [`from_csv`](Self::from_csv) reads a file; `path`
    /// only names the source in error messages.
    ///
    /// # Errors
    /// As [`from_csv`](Self::from_csv), except for reading the file.
    pub fn from_csv_str(
        path: impl AsRef<Path>,
        text: &str,
        target: &str,
    ) -> Result<Self, DataError> {
        let table = csv::parse::<E>(path.as_ref(), text, target, F::USIZE)?;
        Self::from_table(table)
    }

    fn from_table(table: Table) -> Result<Self, DataError> {
        let mut targets = Vec::with_capacity(table.rows());
        for cell in &table.labels {
            let position = CellPosition {
                path: &table.path,
                line: cell.line,
                column: table.label_column,
                name: &table.label_name,
            };
            let value = csv::parse_element::<E>(&cell.text, &position)?;
            targets.push(E::from_f64(value));
        }

        Ok(RegressionDataset {
            features: matrix_from(&table),
            targets: Tensor::from_fn_with_shape(Rank2(Dyn(targets.len()), U1::default()), |i| {
                targets[i]
            }),
            path: table.path,
            feature_names: table.feature_names,
            target_name: table.label_name,
        })
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.targets.dims()[0]
    }

    /// `true` for a data set with no rows, which only a split can produce.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The file the rows were read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `[rows, F]`, in file order (or the order a split chose).
    pub fn features(&self) -> &Tensor<Rank2<Dyn, F>, E> {
        &self.features
    }

    /// `[rows, 1]`, the shape of a one-output model's prediction, so that a
    /// loss compares like with like.
    pub fn targets(&self) -> &Tensor<Rank2<Dyn, U1>, E> {
        &self.targets
    }

    /// The names of the feature columns, in the order of the matrix columns.
    pub fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    /// The name of the target column.
    pub fn target_name(&self) -> &str {
        &self.target_name
    }

    /// Row `index` as a vector, with its target.
    ///
    /// # Panics
    /// If `index` is not below `len()`.
    pub fn row(&self, index: usize) -> (Tensor<Rank1<F>, E>, E) {
        (row_of(&self.features, index), self.targets.get([index, 0]))
    }

    /// Splits the rows at random into a training and a test set, with
    /// `round(test_fraction × len())` rows in the test set. Both sets keep
    /// the file order of their rows; the same seed gives the same split.
    ///
    /// # Panics
    /// If `test_fraction` is not within `0.0..=1.0`.
    pub fn train_test_split(&self, test_fraction: f64, rng: &mut Rng) -> (Self, Self) {
        check_fraction(test_fraction);

        let mut rows: Vec<usize> = (0..self.len()).collect();
        rng.shuffle(&mut rows);
        let (test_rows, train_rows) = rows.split_at_mut(test_size(self.len(), test_fraction));
        train_rows.sort_unstable();
        test_rows.sort_unstable();

        (self.select(train_rows), self.select(test_rows))
    }

    /// Returns the data set with every feature row standardized by `scaler`. The
    /// targets are left as they are; fit a `StandardScaler<U1, E>` on
    /// `targets()` to scale them too.
    pub fn standardize(&self, scaler: &StandardScaler<F, E>) -> Self {
        RegressionDataset {
            features: scaler.transform(&self.features),
            ..self.clone()
        }
    }

    /// Shuffles the rows with `rng` and yields them in batches of
    /// `batch_size`, the last one smaller when `batch_size` does not divide
    /// `len()`. Every row appears exactly once per call.
    ///
    /// # Panics
    /// If `batch_size` is 0.
    pub fn batches(&self, batch_size: usize, rng: &mut Rng) -> RegressionBatches<'_, F, E> {
        RegressionBatches {
            dataset: self,
            order: BatchOrder::shuffled(self.len(), batch_size, rng),
        }
    }

    /// Returns the data set made of the given rows, in that order.
    ///
    /// # Panics
    /// If a row is not below [`len`](Self::len).
    pub fn select(&self, rows: &[usize]) -> Self {
        RegressionDataset {
            features: gather_rows(&self.features, rows),
            targets: gather_rows(&self.targets, rows),
            ..self.clone()
        }
    }
}

/// Prints the size of the data set and the range of the target.
impl<F: Dim + Unsigned + Default, E: Float> fmt::Display for RegressionDataset<F, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_summary(f, &self.path, self.len(), &self.feature_names)?;
        write!(f, ", target column `{}`", self.target_name)?;
        let targets = self.targets.as_slice();
        if let Some(&first) = targets.first() {
            let (min, max) = targets
                .iter()
                .fold((first, first), |(min, max), &t| (min.min(t), max.max(t)));
            write!(f, " from {min} to {max}")?;
        }
        Ok(())
    }
}

/// The iterator returned by [`RegressionDataset::batches`].
pub struct RegressionBatches<'a, F: Dim, E: Float> {
    dataset: &'a RegressionDataset<F, E>,
    order: BatchOrder,
}

impl<F: Dim + Unsigned + Default, E: Float> Iterator for RegressionBatches<'_, F, E> {
    type Item = RegressionBatch<F, E>;

    fn next(&mut self) -> Option<RegressionBatch<F, E>> {
        let rows = self.order.next_rows()?.to_vec();
        Some(RegressionBatch {
            features: gather_rows(&self.dataset.features, &rows),
            targets: gather_rows(&self.dataset.targets, &rows),
            indices: rows,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let remaining = self.order.remaining_batches();
        (remaining, Some(remaining))
    }
}

impl<F: Dim + Unsigned + Default, E: Float> ExactSizeIterator for RegressionBatches<'_, F, E> {}

/// A shuffled permutation of the rows, handed out `batch_size` at a time.
struct BatchOrder {
    rows: Vec<usize>,
    batch_size: usize,
    next: usize,
}

impl BatchOrder {
    fn shuffled(len: usize, batch_size: usize, rng: &mut Rng) -> Self {
        assert!(
            batch_size > 0,
            "batches: batch_size must be at least 1, found 0"
        );
        let mut rows: Vec<usize> = (0..len).collect();
        rng.shuffle(&mut rows);
        BatchOrder {
            rows,
            batch_size,
            next: 0,
        }
    }

    fn next_rows(&mut self) -> Option<&[usize]> {
        if self.next >= self.rows.len() {
            return None;
        }
        let end = (self.next + self.batch_size).min(self.rows.len());
        let rows = &self.rows[self.next..end];
        self.next = end;
        Some(rows)
    }

    fn remaining_batches(&self) -> usize {
        (self.rows.len() - self.next).div_ceil(self.batch_size)
    }
}

/// The distinct label texts, sorted numerically when all are numbers and
/// by text otherwise.
fn sorted_classes(table: &Table) -> Vec<String> {
    let all_numeric = table
        .labels
        .iter()
        .all(|cell| csv::parse_number(&cell.text).is_some());

    // A BTreeSet removes duplicates and sorts by text.
    let unique: BTreeSet<String> = table
        .labels
        .iter()
        .map(|cell| class_name(&cell.text))
        .collect();
    let mut classes: Vec<String> = unique.into_iter().collect();
    if all_numeric {
        classes.sort_by(|a, b| compare_numbers(a, b));
    }
    classes
}

/// The class name of a label cell: a number is written in its shortest
/// form, so `1`, `1.0` and `1e0` are one class, named `1`.
fn class_name(text: &str) -> String {
    match csv::parse_number(text) {
        Some(value) => value.to_string(),
        None => text.to_string(),
    }
}

fn compare_numbers(a: &str, b: &str) -> Ordering {
    let (a, b) = (csv::parse_number(a), csv::parse_number(b));
    a.partial_cmp(&b).unwrap_or(Ordering::Equal)
}

fn matrix_from<F: Dim + Unsigned + Default, E: Float>(table: &Table) -> Tensor<Rank2<Dyn, F>, E> {
    let shape = Rank2(Dyn(table.rows()), F::default());
    Tensor::from_fn_with_shape(shape, |i| E::from_f64(table.features[i]))
}

/// The rows of `matrix` at the given positions, in that order.
fn gather_rows<C: Dim + Unsigned + Default, E: Float>(
    matrix: &Tensor<Rank2<Dyn, C>, E>,
    rows: &[usize],
) -> Tensor<Rank2<Dyn, C>, E> {
    let width = C::USIZE;
    let available = matrix.dims()[0];
    if let Some(&row) = rows.iter().find(|&&row| row >= available) {
        panic!("select: row {row} is out of range for a data set of {available} rows");
    }
    let data = matrix.as_slice();
    let shape = Rank2(Dyn(rows.len()), C::default());
    Tensor::from_fn_with_shape(shape, |i| data[rows[i / width] * width + i % width])
}

fn row_of<F: Dim + Unsigned + Default, E: Float>(
    matrix: &Tensor<Rank2<Dyn, F>, E>,
    index: usize,
) -> Tensor<Rank1<F>, E> {
    let rows = matrix.dims()[0];
    assert!(
        index < rows,
        "row {index} is out of range for a data set of {rows} rows"
    );
    let width = F::USIZE;
    let row = &matrix.as_slice()[index * width..(index + 1) * width];
    Tensor::from_fn(|j| row[j])
}

#[track_caller]
fn check_fraction(test_fraction: f64) {
    assert!(
        (0.0..=1.0).contains(&test_fraction),
        "test_fraction must be within 0.0..=1.0, found {test_fraction}"
    );
}

fn test_size(rows: usize, test_fraction: f64) -> usize {
    ((rows as f64 * test_fraction).round() as usize).min(rows)
}

fn write_summary(
    f: &mut fmt::Formatter<'_>,
    path: &Path,
    rows: usize,
    feature_names: &[String],
) -> fmt::Result {
    let names: Vec<String> = feature_names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect();
    write!(
        f,
        "{}: {}, {} ({})",
        path.display(),
        plural(rows, "row"),
        plural(feature_names.len(), "feature"),
        names.join(", ")
    )
}

/// Formats a count with its noun, `1 row` or `2 rows`.
fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("{count} {noun}")
    } else {
        format!("{count} {noun}s")
    }
}
