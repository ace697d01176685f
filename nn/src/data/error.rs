//! The error type of the CSV loaders.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// An error from reading a CSV file into a data set.
///
/// Every variant names the file. Variants about one cell or row also give
/// its line number, counted from 1 as a text editor shows it (blank lines
/// included), and its column by name and by 1-based position. `Display`
/// prints `path:line: message`, the form that editors and terminals link.
#[derive(Debug)]
#[non_exhaustive]
pub enum DataError {
    /// The file could not be opened or read (missing, unreadable, not UTF-8).
    Io { path: PathBuf, source: io::Error },

    /// The file has no line with text, so not even a header row.
    EmptyFile { path: PathBuf },

    /// The file has a header row but no data rows.
    NoRows { path: PathBuf },

    /// Every cell of the first row is a number, so the header row with the
    /// column names is probably missing.
    MissingHeader { path: PathBuf, line: usize },

    /// A header cell is empty.
    UnnamedColumn {
        path: PathBuf,
        line: usize,
        column: usize,
    },

    /// Two header cells have the same name.
    DuplicateColumn {
        path: PathBuf,
        line: usize,
        name: String,
    },

    /// No header cell has the requested label column's name.
    MissingLabelColumn {
        path: PathBuf,
        label: String,
        columns: Vec<String>,
    },

    /// The file has a different number of feature columns (every column but
    /// the label) than the model's input size `F`.
    FeatureCount {
        path: PathBuf,
        found: usize,
        expected: usize,
        feature_names: Vec<String>,
    },

    /// The label column has a different number of classes than the model
    /// has outputs, found by [`Dataset::check_num_classes`](super::Dataset::check_num_classes).
    ClassCount {
        path: PathBuf,
        found: usize,
        expected: usize,
        classes: Vec<String>,
    },

    /// A row has a different number of cells than the header.
    WrongCellCount {
        path: PathBuf,
        line: usize,
        found: usize,
        expected: usize,
    },

    /// A cell is quoted, which this loader does not support.
    QuotedField {
        path: PathBuf,
        line: usize,
        column: usize,
        name: String,
    },

    /// A cell is empty (or only whitespace).
    EmptyCell {
        path: PathBuf,
        line: usize,
        column: usize,
        name: String,
    },

    /// A feature cell (or a regression target) is not a finite number.
    NonNumeric {
        path: PathBuf,
        line: usize,
        column: usize,
        name: String,
        cell: String,
    },

    /// A feature cell (or a regression target) is a finite number that is
    /// infinite in the data set's element type, such as `1e40` for `f32`.
    OutOfRange {
        path: PathBuf,
        line: usize,
        column: usize,
        name: String,
        cell: String,
        /// The element type, as PyTorch names it (`float32`).
        dtype: &'static str,
    },
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataError::Io { path, source } => {
                write!(f, "{}: failed to read the file: {source}", path.display())
            }
            DataError::EmptyFile { path } => write!(
                f,
                "{}: the file is empty; expected a header row with column names, then one row per sample",
                path.display()
            ),
            DataError::NoRows { path } => write!(
                f,
                "{}: the file has a header row but no data rows",
                path.display()
            ),
            DataError::MissingHeader { path, line } => write!(
                f,
                "{}:{line}: the first row contains only numbers, so the header row is missing; \
                 add a first line with the column names",
                path.display()
            ),
            DataError::UnnamedColumn { path, line, column } => write!(
                f,
                "{}:{line}: column {column} has no name in the header row",
                path.display()
            ),
            DataError::DuplicateColumn { path, line, name } => write!(
                f,
                "{}:{line}: the header row names the column `{name}` more than once",
                path.display()
            ),
            DataError::MissingLabelColumn {
                path,
                label,
                columns,
            } => {
                write!(
                    f,
                    "{}:1: no column named `{label}` for the labels; the header row has the columns {}",
                    path.display(),
                    quoted_list(columns)
                )?;
                // One column whose name contains another separator is a file that
                // is not comma-separated.
                if let [only] = columns.as_slice() {
                    if only.contains([';', '\t']) {
                        write!(f, " (one column: only commas separate columns, and this header uses `;` or tabs)")?;
                    }
                }
                Ok(())
            }
            DataError::FeatureCount {
                path,
                found,
                expected,
                feature_names,
            } => write!(
                f,
                "{}: found {found} feature columns but the model expects {expected} \
                 (feature columns: {})",
                path.display(),
                quoted_list(feature_names)
            ),
            DataError::ClassCount {
                path,
                found,
                expected,
                classes,
            } => write!(
                f,
                "{}: found {found} classes but the model expects {expected} (classes: {})",
                path.display(),
                quoted_list(classes)
            ),
            DataError::WrongCellCount {
                path,
                line,
                found,
                expected,
            } => write!(
                f,
                "{}:{line}: the row has {found} cells but the header row has {expected} columns",
                path.display()
            ),
            DataError::QuotedField {
                path,
                line,
                column,
                name,
            } => write!(
                f,
                "{}:{line}: column {column} (`{name}`) is quoted, but quoted fields are not \
                 supported; write plain numbers and class names without quotes or commas",
                path.display()
            ),
            DataError::EmptyCell {
                path,
                line,
                column,
                name,
            } => write!(
                f,
                "{}:{line}: column {column} (`{name}`) is empty",
                path.display()
            ),
            DataError::NonNumeric {
                path,
                line,
                column,
                name,
                cell,
            } => write!(
                f,
                "{}:{line}: column {column} (`{name}`) contains `{cell}`, which is not a finite number",
                path.display()
            ),
            DataError::OutOfRange {
                path,
                line,
                column,
                name,
                cell,
                dtype,
            } => write!(
                f,
                "{}:{line}: column {column} (`{name}`) contains `{cell}`, which is out of range \
                 for the element type {dtype}; scale the column or load the data set as float64",
                path.display()
            ),
        }
    }
}

impl std::error::Error for DataError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DataError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Formats names as `` `a`, `b`, `c` ``.
fn quoted_list(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|name| format!("`{name}`")).collect();
    quoted.join(", ")
}
