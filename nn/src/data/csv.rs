//! A reader for numeric CSV files: one header row, comma-separated cells,
//! no quoting.
//!
//! The `csv` crate is not used because these files need none of its quoting
//! rules, and reading them here lets every error carry the line and column
//! in the words of this module's [`DataError`].

use std::path::{Path, PathBuf};

use autograd::Float;

use super::DataError;

/// A parsed CSV file: the feature cells as numbers, row-major, and the label
/// cells as text with their line numbers.
#[derive(Debug)]
pub(crate) struct Table {
    pub path: PathBuf,
    pub feature_names: Vec<String>,
    pub label_name: String,
    /// The label column's 1-based position in the header.
    pub label_column: usize,
    /// `rows × feature_names.len()` values, row-major.
    pub features: Vec<f64>,
    pub labels: Vec<LabelCell>,
}

/// The text of one label cell and the line it came from.
#[derive(Debug)]
pub(crate) struct LabelCell {
    pub text: String,
    pub line: usize,
}

impl Table {
    pub fn rows(&self) -> usize {
        self.labels.len()
    }
}

/// Reads the file at `path` with [`parse`].
pub(crate) fn read<E: Float>(
    path: &Path,
    label: &str,
    expected_features: usize,
) -> Result<Table, DataError> {
    let text = std::fs::read_to_string(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse::<E>(path, &text, label, expected_features)
}

/// Parses CSV text whose header row names the columns.
///
/// `path` is used only in error messages. Blank lines are skipped but still
/// counted, cells are trimmed of surrounding whitespace, `\r\n` line ends and
/// a leading UTF-8 byte order mark are accepted. Every feature cell must be
/// a finite number of the element type `E`, checked by [`parse_element`].
pub(crate) fn parse<E: Float>(
    path: &Path,
    text: &str,
    label: &str,
    expected_features: usize,
) -> Result<Table, DataError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line))
        .filter(|(_, line)| !line.trim().is_empty());

    let Some((header_line, header)) = lines.next() else {
        return Err(DataError::EmptyFile {
            path: path.to_path_buf(),
        });
    };
    let columns = parse_header(path, header_line, header)?;

    let Some(label_index) = columns.iter().position(|name| name == label) else {
        return Err(DataError::MissingLabelColumn {
            path: path.to_path_buf(),
            label: label.to_string(),
            columns,
        });
    };
    let feature_names: Vec<String> = columns
        .iter()
        .enumerate()
        .filter(|&(index, _)| index != label_index)
        .map(|(_, name)| name.clone())
        .collect();
    if feature_names.len() != expected_features {
        return Err(DataError::FeatureCount {
            path: path.to_path_buf(),
            found: feature_names.len(),
            expected: expected_features,
            feature_names,
        });
    }

    let mut features = Vec::new();
    let mut labels = Vec::new();
    for (line_number, line) in lines {
        let cells = split_cells(line);
        let cell_error = |index: usize| CellPosition {
            path,
            line: line_number,
            column: index + 1,
            name: &columns[index],
        };

        if let Some(index) = cells.iter().position(|cell| cell.contains('"')) {
            // A quoted cell may contain commas, so the cells after it are not
            // to be trusted; report the first quote only.
            let name = columns.get(index).map_or("", String::as_str);
            return Err(DataError::QuotedField {
                path: path.to_path_buf(),
                line: line_number,
                column: index + 1,
                name: name.to_string(),
            });
        }
        if cells.len() != columns.len() {
            return Err(DataError::WrongCellCount {
                path: path.to_path_buf(),
                line: line_number,
                found: cells.len(),
                expected: columns.len(),
            });
        }

        for (index, cell) in cells.iter().enumerate() {
            if cell.is_empty() {
                return Err(cell_error(index).empty());
            }
            if index == label_index {
                labels.push(LabelCell {
                    text: cell.to_string(),
                    line: line_number,
                });
            } else {
                features.push(parse_element::<E>(cell, &cell_error(index))?);
            }
        }
    }

    if labels.is_empty() {
        return Err(DataError::NoRows {
            path: path.to_path_buf(),
        });
    }
    Ok(Table {
        path: path.to_path_buf(),
        feature_names,
        label_name: label.to_string(),
        label_column: label_index + 1,
        features,
        labels,
    })
}

/// Splits the header row into column names and checks them.
fn parse_header(path: &Path, line: usize, header: &str) -> Result<Vec<String>, DataError> {
    let cells = split_cells(header);

    if let Some(index) = cells.iter().position(|cell| cell.contains('"')) {
        return Err(DataError::QuotedField {
            path: path.to_path_buf(),
            line,
            column: index + 1,
            name: cells[index].to_string(),
        });
    }
    if let Some(index) = cells.iter().position(|cell| cell.is_empty()) {
        return Err(DataError::UnnamedColumn {
            path: path.to_path_buf(),
            line,
            column: index + 1,
        });
    }
    if cells.iter().all(|cell| parse_number(cell).is_some()) {
        return Err(DataError::MissingHeader {
            path: path.to_path_buf(),
            line,
        });
    }
    for (index, cell) in cells.iter().enumerate() {
        if cells[..index].contains(cell) {
            return Err(DataError::DuplicateColumn {
                path: path.to_path_buf(),
                line,
                name: cell.to_string(),
            });
        }
    }

    Ok(cells.into_iter().map(str::to_string).collect())
}

fn split_cells(line: &str) -> Vec<&str> {
    line.split(',').map(str::trim).collect()
}

/// Parses a cell as a finite number; `nan` and `inf` are rejected because a
/// single one poisons every statistic and gradient computed from the column.
pub(crate) fn parse_number(cell: &str) -> Option<f64> {
    cell.parse::<f64>().ok().filter(|value| value.is_finite())
}

/// Parses a numeric cell that becomes an element of type `E`.
///
/// The value must be finite in `E` too: `1e40` is a finite `f64` but
/// rounds to infinity as an `f32`, so it is rejected for an `f32` data set.
/// A value too small for `E` rounds to zero or to a subnormal number, as
/// NumPy's and PyTorch's conversions do, and is accepted.
pub(crate) fn parse_element<E: Float>(
    cell: &str,
    position: &CellPosition<'_>,
) -> Result<f64, DataError> {
    let value = parse_number(cell).ok_or_else(|| position.non_numeric(cell))?;
    if !E::from_f64(value).is_finite() {
        return Err(position.out_of_range(cell, E::DTYPE));
    }
    Ok(value)
}

/// The position of one cell, for building the errors about it.
pub(crate) struct CellPosition<'a> {
    pub path: &'a Path,
    pub line: usize,
    pub column: usize,
    pub name: &'a str,
}

impl CellPosition<'_> {
    fn empty(&self) -> DataError {
        DataError::EmptyCell {
            path: self.path.to_path_buf(),
            line: self.line,
            column: self.column,
            name: self.name.to_string(),
        }
    }

    pub fn non_numeric(&self, cell: &str) -> DataError {
        DataError::NonNumeric {
            path: self.path.to_path_buf(),
            line: self.line,
            column: self.column,
            name: self.name.to_string(),
            cell: cell.to_string(),
        }
    }

    fn out_of_range(&self, cell: &str, dtype: &'static str) -> DataError {
        DataError::OutOfRange {
            path: self.path.to_path_buf(),
            line: self.line,
            column: self.column,
            name: self.name.to_string(),
            cell: cell.to_string(),
            dtype,
        }
    }
}
