//! Weight files in the safetensors format, with PyTorch's state-dict names
//! and layouts, so a model trained here loads in PyTorch and back.
//!
//! A safetensors file is an 8-byte little-endian header length `N`, then `N`
//! bytes of JSON such as
//! `{"l1.weight": {"dtype": "F32", "shape": [3, 5], "data_offsets": [0, 60]},
//! "__metadata__": {"format": "pt"}}`, then the tensors' bytes, row-major and
//! little-endian, with offsets relative to the end of the header. The data
//! must be covered exactly: no overlaps, no gaps, no trailing bytes.
//!
//! [`load_safetensors`] is all-or-nothing: it parses and checks the whole
//! file against the model, reports every problem it found in one
//! [`WeightsError`], and writes into the model only when there is none.
//! [`save_safetensors`] writes a temporary file in the target's directory
//! and renames it, so a failed save leaves no partial file behind.

use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use autograd::{Float, Module};

/// Writes every parameter of `model` to `path` in the safetensors format,
/// named as in PyTorch's `state_dict()`, with `{"format": "pt"}` metadata.
///
/// # Errors
///
/// When the file cannot be written. The file at `path` is then unchanged, or
/// absent if it did not exist.
pub fn save_safetensors<M: Module>(model: &M, path: impl AsRef<Path>) -> Result<(), WeightsError> {
    let path = path.as_ref();
    let bytes = to_safetensors_bytes(model);
    write_atomically(path, &bytes).map_err(|error| WeightsError {
        path: path.to_owned(),
        problems: vec![Problem::Io(error)],
    })
}

/// Reads the parameters of `model` from the safetensors file at `path`.
///
/// The file must hold exactly the model's parameters, under their
/// state-dict names, with the model's shapes and element type. Nothing is
/// converted: an `F64` file does not load into an `f32` model.
///
/// # Errors
///
/// When the file cannot be read, is not valid safetensors, or does not match
/// the model. The error lists every problem found, and the model is left
/// unchanged.
pub fn load_safetensors<M: Module>(
    model: &mut M,
    path: impl AsRef<Path>,
) -> Result<(), WeightsError> {
    let path = path.as_ref();
    let error = |problems| WeightsError {
        path: path.to_owned(),
        problems,
    };

    let bytes = fs::read(path).map_err(|io| error(vec![Problem::Io(io)]))?;
    load_safetensors_bytes(model, &bytes).map_err(error)
}

/// Serializes the parameters of `model` as a safetensors file in memory.
pub fn to_safetensors_bytes<M: Module>(model: &M) -> Vec<u8> {
    let element_size = dtype_size(M::Elem::SAFETENSORS_DTYPE).unwrap_or(0);

    let mut header = String::from("{");
    let mut data = Vec::with_capacity(model.num_params() * element_size);
    model.visit_params(None, &mut |name, dims, elements| {
        let start = data.len();
        for &element in elements {
            push_element(&mut data, element);
        }
        // A string always serializes, so the default is never used.
        let name = serde_json::to_string(&name.to_string()).unwrap_or_default();
        let shape: Vec<String> = dims.iter().map(ToString::to_string).collect();
        header.push_str(&format!(
            "{name}:{{\"dtype\":\"{}\",\"shape\":[{}],\"data_offsets\":[{start},{}]}},",
            M::Elem::SAFETENSORS_DTYPE,
            shape.join(","),
            data.len()
        ));
    });
    header.push_str("\"__metadata__\":{\"format\":\"pt\"}}");

    // The reference writer pads the header with spaces to a multiple of 8,
    // so that the data that follows it is aligned.
    while header.len() % 8 != 0 {
        header.push(' ');
    }

    let mut bytes = Vec::with_capacity(8 + header.len() + data.len());
    bytes.extend_from_slice(&(header.len() as u64).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(&data);
    bytes
}

/// Reads the parameters of `model` from a safetensors file in memory, with
/// the checks of [`load_safetensors`]. On error the model is unchanged.
///
/// # Errors
///
/// Every problem found, in the order: file structure and data coverage,
/// then the match with the model, then malformed entries of tensors that are
/// not parameters, then tensors the model lacks. A tensor is reported once:
/// a malformed entry whose dtype is not the model's, as the wrong dtype, and
/// any other malformed entry of a parameter as malformed, not also missing.
pub fn load_safetensors_bytes<M: Module>(model: &mut M, bytes: &[u8]) -> Result<(), Vec<Problem>> {
    let file = parse(bytes)?;
    let mut problems = file.problems;

    let expected_dtype = M::Elem::SAFETENSORS_DTYPE;
    let mut found: HashMap<&str, &Entry> =
        file.entries.iter().map(|e| (e.name.as_str(), e)).collect();
    let mut rejected: Vec<Option<Rejected>> = file.rejected.into_iter().map(Some).collect();
    model.visit_params(None, &mut |name, dims, _| {
        let name = name.to_string();
        if let Some(slot) = rejected
            .iter_mut()
            .find(|slot| slot.as_ref().is_some_and(|r| r.name == name))
        {
            // The tensor is in the file, so it is not also missing.
            let entry = slot.take().expect("the slot was found non-empty");
            problems.push(entry.problem_for_parameter(expected_dtype));
            return;
        }
        let Some(entry) = found.remove(name.as_str()) else {
            problems.push(Problem::Missing {
                name,
                expected_shape: dims.to_vec(),
                expected_dtype,
            });
            return;
        };
        if entry.dtype != expected_dtype {
            problems.push(Problem::WrongDtype {
                name: name.clone(),
                expected: expected_dtype,
                found: entry.dtype.clone(),
            });
        }
        if entry.shape != dims {
            problems.push(Problem::WrongShape {
                name,
                expected: dims.to_vec(),
                found: entry.shape.clone(),
            });
        }
    });
    problems.extend(rejected.into_iter().flatten().map(|entry| entry.problem));
    let mut unexpected: Vec<&Entry> = found.into_values().collect();
    unexpected.sort_by_key(|entry| entry.data.start);
    for entry in unexpected {
        problems.push(Problem::Unexpected {
            name: entry.name.clone(),
            shape: entry.shape.clone(),
            dtype: entry.dtype.clone(),
        });
    }

    if !problems.is_empty() {
        return Err(problems);
    }

    // Every parameter now has an entry of its dtype and shape whose byte
    // range is inside the data and of the right length.
    let by_name: HashMap<&str, &Entry> =
        file.entries.iter().map(|e| (e.name.as_str(), e)).collect();
    model.visit_params_mut(None, &mut |name, _, elements| {
        let entry = by_name[name.to_string().as_str()];
        let data = &file.data[entry.data.clone()];
        read_elements(data, elements);
    });
    Ok(())
}

/// A weight file that could not be read, written or loaded, with every
/// problem found in it.
#[derive(Debug)]
pub struct WeightsError {
    /// The file read or written.
    pub path: PathBuf,
    /// The problems found: one per tensor entry, or one for the whole file
    /// when it cannot be parsed.
    pub problems: Vec<Problem>,
}

impl fmt::Display for WeightsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "weight file `{}`", self.path.display())?;
        match self.problems.as_slice() {
            [problem] => write!(f, ": {problem}"),
            problems => {
                write!(f, " has {} problems:", problems.len())?;
                for problem in problems {
                    write!(f, "\n  - {problem}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for WeightsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self.problems.as_slice() {
            [Problem::Io(error)] => Some(error),
            _ => None,
        }
    }
}

/// One thing wrong with a weight file.
#[derive(Debug)]
pub enum Problem {
    /// The file could not be read or written.
    Io(io::Error),
    /// The file ends before the header whose length its first 8 bytes give.
    Truncated {
        /// The bytes the header length and offsets require.
        needed: u64,
        /// The file's length.
        found: u64,
    },
    /// The header is not the JSON object safetensors prescribes.
    InvalidHeader(String),
    /// A tensor's entry in the header is malformed.
    InvalidEntry { name: String, reason: String },
    /// A tensor's byte range lies outside the data or ends before it starts.
    OffsetsOutOfRange {
        name: String,
        start: u64,
        end: u64,
        data_len: u64,
    },
    /// A tensor's byte range does not hold as many bytes as its shape and
    /// dtype require.
    WrongByteLength {
        name: String,
        shape: Vec<usize>,
        dtype: String,
        expected: u64,
        found: u64,
    },
    /// Two tensors share bytes.
    Overlap { first: String, second: String },
    /// Bytes of the data that belong to no tensor: a gap or trailing data.
    UncoveredBytes { start: u64, end: u64 },
    /// The model has a parameter the file lacks.
    Missing {
        name: String,
        expected_shape: Vec<usize>,
        expected_dtype: &'static str,
    },
    /// The file has a tensor the model lacks.
    Unexpected {
        name: String,
        shape: Vec<usize>,
        dtype: String,
    },
    /// A tensor's shape differs from the parameter's.
    WrongShape {
        name: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    /// A tensor's dtype differs from the model's element type.
    WrongDtype {
        name: String,
        expected: &'static str,
        found: String,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Io(error) => write!(f, "{error}"),
            Problem::Truncated { needed, found } => write!(
                f,
                "truncated or not a safetensors file: its first 8 bytes give a length that \
                 needs {needed} bytes, but the file has {found}"
            ),
            Problem::InvalidHeader(reason) => write!(f, "invalid header: {reason}"),
            Problem::InvalidEntry { name, reason } => {
                write!(f, "tensor `{name}`: invalid header entry: {reason}")
            }
            Problem::OffsetsOutOfRange {
                name,
                start,
                end,
                data_len,
            } => write!(
                f,
                "tensor `{name}`: data_offsets [{start}, {end}] are outside the {data_len} data \
                 bytes (a truncated file or a wrong offset)"
            ),
            Problem::WrongByteLength {
                name,
                shape,
                dtype,
                expected,
                found,
            } => write!(
                f,
                "tensor `{name}`: shape {shape:?} of {dtype} needs {expected} bytes, but \
                 data_offsets span {found}"
            ),
            Problem::Overlap { first, second } => {
                write!(f, "tensors `{first}` and `{second}` overlap in the data")
            }
            Problem::UncoveredBytes { start, end } => write!(
                f,
                "data bytes {start}..{end} belong to no tensor (a gap or trailing data)"
            ),
            Problem::Missing {
                name,
                expected_shape,
                expected_dtype,
            } => write!(
                f,
                "tensor `{name}` is missing: expected shape {expected_shape:?} of \
                 {expected_dtype}"
            ),
            Problem::Unexpected { name, shape, dtype } => write!(
                f,
                "tensor `{name}` (shape {shape:?} of {dtype}) is not a parameter of the model"
            ),
            Problem::WrongShape {
                name,
                expected,
                found,
            } => write!(
                f,
                "tensor `{name}`: expected shape {expected:?}, found {found:?}"
            ),
            Problem::WrongDtype {
                name,
                expected,
                found,
            } => write!(
                f,
                "tensor `{name}`: expected dtype {expected}, found {found}"
            ),
        }
    }
}

/// A tensor's header entry, checked on its own: known dtype, offsets inside
/// the data, byte length matching shape and dtype.
struct Entry {
    name: String,
    dtype: String,
    shape: Vec<usize>,
    data: Range<usize>,
}

/// A tensor's header entry that failed the checks of [`Entry`], with what
/// could be read of it.
struct Rejected {
    name: String,
    /// The declared dtype, when it is a string.
    dtype: Option<String>,
    problem: Problem,
}

impl Rejected {
    /// Returns the problem to report for a parameter of dtype `expected`:
    /// the wrong dtype when the entry declares another known dtype (its byte
    /// length may then fit the model's dtype instead), and otherwise the
    /// entry's own problem.
    fn problem_for_parameter(self, expected: &'static str) -> Problem {
        match self.dtype {
            Some(found) if found != expected && dtype_size(&found).is_some() => {
                Problem::WrongDtype {
                    name: self.name,
                    expected,
                    found,
                }
            }
            _ => self.problem,
        }
    }
}

/// A parsed file: the well-formed entries, the rejected ones, the data, and
/// the problems found in the file's structure and its coverage of the data.
struct File<'a> {
    entries: Vec<Entry>,
    rejected: Vec<Rejected>,
    data: &'a [u8],
    problems: Vec<Problem>,
}

/// Parses the file's structure. Problems that stop parsing (truncation,
/// invalid JSON) are returned as the error; problems of single entries are
/// collected in `File::problems`.
fn parse(bytes: &[u8]) -> Result<File<'_>, Vec<Problem>> {
    let file_len = bytes.len() as u64;
    let Some(length_bytes) = bytes.first_chunk::<8>() else {
        return Err(vec![Problem::Truncated {
            needed: 8,
            found: file_len,
        }]);
    };
    let header_len = u64::from_le_bytes(*length_bytes);
    let header_end = header_len.saturating_add(8);
    if header_end > file_len {
        return Err(vec![Problem::Truncated {
            needed: header_end,
            found: file_len,
        }]);
    }
    // `header_end <= file_len`, so it fits in usize.
    let header_end = header_end as usize;
    let data = &bytes[header_end..];

    let header: Header = serde_json::from_slice(&bytes[8..header_end])
        .map_err(|error| vec![Problem::InvalidHeader(error.to_string())])?;

    let mut problems = Vec::new();
    let mut entries = Vec::new();
    let mut rejected = Vec::new();
    // The byte ranges of all entries with valid offsets, rejected ones
    // included, so that a rejected tensor's bytes are not also reported as
    // belonging to no tensor.
    let mut ranges = Vec::new();
    for (name, value) in header.0 {
        if name == "__metadata__" {
            if let Err(reason) = check_metadata(&value) {
                problems.push(Problem::InvalidHeader(reason));
            }
            continue;
        }
        if let Some(range) = entry_range(&value, data.len()) {
            ranges.push((name.clone(), range));
        }
        match parse_entry(&name, &value, data.len()) {
            Ok(entry) => entries.push(entry),
            Err(problem) => rejected.push(Rejected {
                dtype: value.get("dtype").and_then(serde_json::Value::as_str).map(str::to_owned),
                name,
                problem,
            }),
        }
    }
    check_coverage(&ranges, data.len(), &mut problems);

    Ok(File {
        entries,
        rejected,
        data,
        problems,
    })
}

/// The header's top-level members in file order. Unlike a map, this keeps
/// a duplicated name, which is an error.
struct Header(Vec<(String, serde_json::Value)>);

impl<'de> serde::Deserialize<'de> for Header {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Header;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object of tensor entries")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Header, A::Error> {
                let mut members: Vec<(String, serde_json::Value)> = Vec::new();
                while let Some((name, value)) = map.next_entry::<String, serde_json::Value>()? {
                    if members.iter().any(|(seen, _)| *seen == name) {
                        return Err(serde::de::Error::custom(format_args!(
                            "the name `{name}` appears twice"
                        )));
                    }
                    members.push((name, value));
                }
                Ok(Header(members))
            }
        }

        deserializer.deserialize_map(Visitor)
    }
}

fn check_metadata(value: &serde_json::Value) -> Result<(), String> {
    let reason = "`__metadata__` must be an object of strings";
    let object = value.as_object().ok_or(reason)?;
    if object.values().all(serde_json::Value::is_string) {
        Ok(())
    } else {
        Err(reason.to_owned())
    }
}

fn parse_entry(name: &str, value: &serde_json::Value, data_len: usize) -> Result<Entry, Problem> {
    let invalid = |reason: String| Problem::InvalidEntry {
        name: name.to_owned(),
        reason,
    };
    let object = value
        .as_object()
        .ok_or_else(|| invalid(format!("expected an object, found {value}")))?;
    if let Some(key) = object
        .keys()
        .find(|key| !["dtype", "shape", "data_offsets"].contains(&key.as_str()))
    {
        return Err(invalid(format!("unknown key `{key}`")));
    }

    let dtype = object
        .get("dtype")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| invalid("`dtype` must be a string".to_owned()))?;
    let shape = unsigned_array(object.get("shape"))
        .ok_or_else(|| invalid("`shape` must be an array of non-negative integers".to_owned()))?;
    let offsets = unsigned_array(object.get("data_offsets"))
        .filter(|offsets| offsets.len() == 2)
        .ok_or_else(|| invalid("`data_offsets` must be two non-negative integers".to_owned()))?;
    let element_size =
        dtype_size(dtype).ok_or_else(|| invalid(format!("unknown dtype `{dtype}`")))?;

    let (start, end) = (offsets[0], offsets[1]);
    if start > end || end > data_len as u64 {
        return Err(Problem::OffsetsOutOfRange {
            name: name.to_owned(),
            start,
            end,
            data_len: data_len as u64,
        });
    }
    let expected = shape
        .iter()
        .try_fold(element_size as u64, |bytes, &dim| bytes.checked_mul(dim));
    if expected != Some(end - start) {
        return Err(Problem::WrongByteLength {
            name: name.to_owned(),
            shape: shape.iter().map(|&dim| dim as usize).collect(),
            dtype: dtype.to_owned(),
            expected: expected.unwrap_or(u64::MAX),
            found: end - start,
        });
    }

    // `end <= data_len`, so both offsets and every dim (a factor of a
    // non-zero byte length, or of an empty tensor) fit in usize.
    Ok(Entry {
        name: name.to_owned(),
        dtype: dtype.to_owned(),
        shape: shape.iter().map(|&dim| dim as usize).collect(),
        data: start as usize..end as usize,
    })
}

fn unsigned_array(value: Option<&serde_json::Value>) -> Option<Vec<u64>> {
    value?
        .as_array()?
        .iter()
        .map(serde_json::Value::as_u64)
        .collect()
}

/// Returns the byte range of an entry whose `data_offsets` are two integers
/// with `start <= end <= data_len`, whatever else is wrong with the entry.
fn entry_range(value: &serde_json::Value, data_len: usize) -> Option<Range<usize>> {
    let offsets = unsigned_array(value.get("data_offsets"))?;
    let [start, end] = offsets[..] else {
        return None;
    };
    // `end <= data_len`, so both offsets fit in usize.
    (start <= end && end <= data_len as u64).then_some(start as usize..end as usize)
}

/// Checks that the tensors' byte ranges cover the data exactly once: no two
/// tensors share a byte and no byte belongs to no tensor.
fn check_coverage(ranges: &[(String, Range<usize>)], data_len: usize, problems: &mut Vec<Problem>) {
    let mut ranges: Vec<&(String, Range<usize>)> =
        ranges.iter().filter(|(_, range)| !range.is_empty()).collect();
    ranges.sort_by_key(|(_, range)| (range.start, range.end));

    let mut covered_to = 0;
    let mut last: Option<&str> = None;
    for (name, range) in ranges {
        if range.start < covered_to {
            problems.push(Problem::Overlap {
                first: last.unwrap_or_default().to_owned(),
                second: name.clone(),
            });
        } else if range.start > covered_to {
            problems.push(Problem::UncoveredBytes {
                start: covered_to as u64,
                end: range.start as u64,
            });
        }
        if range.end > covered_to {
            covered_to = range.end;
            last = Some(name);
        }
    }
    if covered_to < data_len {
        problems.push(Problem::UncoveredBytes {
            start: covered_to as u64,
            end: data_len as u64,
        });
    }
}

/// The size in bytes of one element of a safetensors dtype.
fn dtype_size(dtype: &str) -> Option<usize> {
    match dtype {
        "BOOL" | "U8" | "I8" | "F8_E5M2" | "F8_E4M3" => Some(1),
        "I16" | "U16" | "F16" | "BF16" => Some(2),
        "I32" | "U32" | "F32" => Some(4),
        "I64" | "U64" | "F64" => Some(8),
        _ => None,
    }
}

/// Appends an element in the little-endian bytes of its own dtype.
fn push_element<E: Float>(data: &mut Vec<u8>, element: E) {
    // `to_f64` is exact for both element types, and so is the conversion
    // back to `f32` of a value that came from an `f32`.
    match E::SAFETENSORS_DTYPE {
        "F32" => data.extend_from_slice(&(element.to_f64() as f32).to_le_bytes()),
        _ => data.extend_from_slice(&element.to_f64().to_le_bytes()),
    }
}

/// Decodes little-endian elements of `E`'s own dtype into `elements`.
fn read_elements<E: Float>(data: &[u8], elements: &mut [E]) {
    match E::SAFETENSORS_DTYPE {
        "F32" => {
            for (element, bytes) in elements.iter_mut().zip(data.chunks_exact(4)) {
                let value = f32::from_le_bytes(bytes.try_into().unwrap_or_default());
                *element = E::from_f64(f64::from(value));
            }
        }
        _ => {
            for (element, bytes) in elements.iter_mut().zip(data.chunks_exact(8)) {
                *element = E::from_f64(f64::from_le_bytes(bytes.try_into().unwrap_or_default()));
            }
        }
    }
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over
/// `path`, so readers see the old file or the new one, never a part.
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let file_name = path.file_name().ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, "the path does not name a file")
    })?;
    // The process id and a counter keep concurrent saves to one path, from
    // several processes or threads, off each other's temporary files.
    static SAVES: AtomicUsize = AtomicUsize::new(0);
    let save = SAVES.fetch_add(1, Ordering::Relaxed);
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(file_name);
    temp_name.push(format!(".{}-{save}.tmp", std::process::id()));
    let temp_path = path.with_file_name(temp_name);

    let written = (|| {
        let mut file = fs::File::create(&temp_path)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temp_path, path)
    })();
    if written.is_err() {
        // The write already failed; a temporary file that cannot be removed
        // either is left for the user, and the first error is the one
        // reported.
        let _ = fs::remove_file(&temp_path);
    }
    written
}
