//! Loader for the PyTorch reference values in this folder.
//!
//! `generate.py` writes `ops.json` and `generate_nn.py` writes `nn.json`
//! (their headers give the command). Both files are committed, so the
//! tests read them without torch. The files are embedded at compile time
//! with `include_str!`, so a test binary that includes this module by
//! `#[path]` from another crate finds them too.
//!
//! The JSON reader below covers what the two generators write (objects,
//! arrays, strings without unusual escapes, numbers, booleans, null) and
//! nothing more, which keeps the test suite free of a serde dependency.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::sync::OnceLock;

/// The text of `ops.json`.
pub const OPS_JSON: &str = include_str!("ops.json");

/// The text of `nn.json`.
pub const NN_JSON: &str = include_str!("nn.json");

/// The bytes of `linear_5_3.safetensors`, saved by PyTorch.
pub const LINEAR_5_3_SAFETENSORS: &[u8] = include_bytes!("linear_5_3.safetensors");

/// Relative tolerance for f64 comparisons with PyTorch.
pub const RTOL: f64 = 1e-10;

/// Absolute tolerance, for elements where PyTorch rounds a tiny true value
/// to exactly 0 (the gradient of a saturated sigmoid, say).
pub const ATOL: f64 = 1e-14;

/// A parsed JSON value.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Json>),
    /// Members in file order.
    Object(Vec<(String, Json)>),
}

impl Json {
    /// Parses a complete JSON document.
    pub fn parse(text: &str) -> Result<Json, String> {
        let mut parser = Parser { bytes: text.as_bytes(), pos: 0 };
        let value = parser.value()?;
        parser.skip_whitespace();
        if parser.pos != parser.bytes.len() {
            return Err(parser.error("trailing characters after the document"));
        }
        Ok(value)
    }

    /// Returns the member `key` of an object, or `None` when it is absent or
    /// `self` is not an object.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Returns the member `key`, panicking with the key's name when it is
    /// absent.
    #[track_caller]
    pub fn field(&self, key: &str) -> &Json {
        self.get(key).unwrap_or_else(|| panic!("reference entry has no field `{key}`"))
    }

    #[track_caller]
    pub fn as_f64(&self) -> f64 {
        match self {
            Json::Number(x) => *x,
            other => panic!("expected a number, found {other:?}"),
        }
    }

    /// Converts the value to a non-negative integer (a dim, an index).
    #[track_caller]
    pub fn as_usize(&self) -> usize {
        let x = self.as_f64();
        assert!(x >= 0.0, "expected a non-negative integer, found {x}");
        assert!(x.fract() == 0.0, "expected an integer, found {x}");
        x as usize
    }

    #[track_caller]
    pub fn as_i64(&self) -> i64 {
        let x = self.as_f64();
        assert!(x.fract() == 0.0, "expected an integer, found {x}");
        x as i64
    }

    #[track_caller]
    pub fn as_i32(&self) -> i32 {
        let x = self.as_i64();
        i32::try_from(x).unwrap_or_else(|_| panic!("expected an i32, found {x}"))
    }

    #[track_caller]
    pub fn as_bool(&self) -> bool {
        match self {
            Json::Bool(b) => *b,
            other => panic!("expected a boolean, found {other:?}"),
        }
    }

    #[track_caller]
    pub fn as_str(&self) -> &str {
        match self {
            Json::String(s) => s,
            other => panic!("expected a string, found {other:?}"),
        }
    }

    #[track_caller]
    pub fn as_array(&self) -> &[Json] {
        match self {
            Json::Array(items) => items,
            other => panic!("expected an array, found {other:?}"),
        }
    }

    /// Converts an array of numbers to a `Vec<f64>`.
    #[track_caller]
    pub fn as_f64_vec(&self) -> Vec<f64> {
        self.as_array().iter().map(Json::as_f64).collect()
    }

    /// Converts a `{"shape": [..], "data": [..]}` object to a tensor.
    #[track_caller]
    pub fn as_tensor(&self) -> RefTensor {
        let shape: Vec<usize> = self.field("shape").as_array().iter().map(Json::as_usize).collect();
        let data = self.field("data").as_f64_vec();
        assert_eq!(
            shape.iter().product::<usize>(),
            data.len(),
            "reference tensor of shape {shape:?} has {} elements",
            data.len()
        );
        RefTensor { shape, data }
    }
}

struct Parser<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn error(&self, message: &str) -> String {
        format!("invalid JSON at byte {}: {message}", self.pos)
    }

    fn skip_whitespace(&mut self) {
        while self.pos < self.bytes.len() && self.bytes[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_whitespace();
        self.bytes.get(self.pos).copied()
    }

    fn expect(&mut self, byte: u8) -> Result<(), String> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(&format!("expected `{}`", byte as char)))
        }
    }

    fn literal(&mut self, word: &str, value: Json) -> Result<Json, String> {
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(value)
        } else {
            Err(self.error("unknown literal"))
        }
    }

    fn value(&mut self) -> Result<Json, String> {
        match self.peek() {
            Some(b'{') => self.object(),
            Some(b'[') => self.array(),
            Some(b'"') => self.string().map(Json::String),
            Some(b't') => self.literal("true", Json::Bool(true)),
            Some(b'f') => self.literal("false", Json::Bool(false)),
            Some(b'n') => self.literal("null", Json::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.error("unexpected character")),
            None => Err(self.error("unexpected end of input")),
        }
    }

    fn object(&mut self) -> Result<Json, String> {
        self.expect(b'{')?;
        let mut members = Vec::new();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Json::Object(members));
        }
        loop {
            let key = self.string()?;
            self.expect(b':')?;
            members.push((key, self.value()?));
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Json::Object(members));
                }
                _ => return Err(self.error("expected `,` or `}` in an object")),
            }
        }
    }

    fn array(&mut self) -> Result<Json, String> {
        self.expect(b'[')?;
        let mut items = Vec::new();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Json::Array(items));
        }
        loop {
            items.push(self.value()?);
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Json::Array(items));
                }
                _ => return Err(self.error("expected `,` or `]` in an array")),
            }
        }
    }

    /// Reads a string. Escapes other than `\"`, `\\`, `\/` and `\n` are
    /// rejected, since the generators never write them.
    fn string(&mut self) -> Result<String, String> {
        self.expect(b'"')?;
        let mut out = Vec::new();
        loop {
            match self.bytes.get(self.pos) {
                None => return Err(self.error("unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    return String::from_utf8(out).map_err(|_| self.error("string is not UTF-8"));
                }
                Some(b'\\') => {
                    let escaped = match self.bytes.get(self.pos + 1) {
                        Some(b'"') => b'"',
                        Some(b'\\') => b'\\',
                        Some(b'/') => b'/',
                        Some(b'n') => b'\n',
                        _ => return Err(self.error("unsupported escape in a string")),
                    };
                    out.push(escaped);
                    self.pos += 2;
                }
                Some(&byte) => {
                    out.push(byte);
                    self.pos += 1;
                }
            }
        }
    }

    /// Reads a number with Rust's `f64` parser, which rounds correctly, so
    /// the shortest round-trip text Python writes gives back the same f64.
    fn number(&mut self) -> Result<Json, String> {
        let start = self.pos;
        while let Some(&byte) = self.bytes.get(self.pos) {
            if byte.is_ascii_digit() || matches!(byte, b'-' | b'+' | b'.' | b'e' | b'E') {
                self.pos += 1;
            } else {
                break;
            }
        }
        let text = std::str::from_utf8(&self.bytes[start..self.pos]).expect("digits are ASCII");
        text.parse::<f64>()
            .map(Json::Number)
            .map_err(|_| self.error(&format!("invalid number `{text}`")))
    }
}

/// A tensor from a reference file: its shape and its elements in row-major
/// order.
#[derive(Clone, Debug, PartialEq)]
pub struct RefTensor {
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
}

impl RefTensor {
    /// Returns the only element of a scalar.
    #[track_caller]
    pub fn item(&self) -> f64 {
        assert_eq!(self.data.len(), 1, "expected a scalar, found shape {:?}", self.shape);
        self.data[0]
    }
}

/// One op case of `ops.json`.
#[derive(Clone, Debug)]
pub struct OpCase {
    pub name: String,
    pub op: String,
    pub params: Json,
    pub inputs: Vec<RefTensor>,
    pub output: RefTensor,
    pub cotangent: RefTensor,
    pub grads: Vec<RefTensor>,
}

/// Returns the parsed `ops.json`, parsing it on first use.
pub fn ops_document() -> &'static Json {
    static DOCUMENT: OnceLock<Json> = OnceLock::new();
    DOCUMENT.get_or_init(|| Json::parse(OPS_JSON).expect("ops.json is valid JSON"))
}

/// Returns the parsed `nn.json`, parsing it on first use.
pub fn nn_document() -> &'static Json {
    static DOCUMENT: OnceLock<Json> = OnceLock::new();
    DOCUMENT.get_or_init(|| Json::parse(NN_JSON).expect("nn.json is valid JSON"))
}

/// Returns every case of `ops.json`, in file order.
pub fn op_cases() -> &'static [OpCase] {
    static CASES: OnceLock<Vec<OpCase>> = OnceLock::new();
    CASES.get_or_init(|| {
        ops_document()
            .field("cases")
            .as_array()
            .iter()
            .map(|case| OpCase {
                name: case.field("name").as_str().to_owned(),
                op: case.field("op").as_str().to_owned(),
                params: case.field("params").clone(),
                inputs: case.field("inputs").as_array().iter().map(Json::as_tensor).collect(),
                output: case.field("output").as_tensor(),
                cotangent: case.field("cotangent").as_tensor(),
                grads: case.field("grads").as_array().iter().map(Json::as_tensor).collect(),
            })
            .collect()
    })
}

/// Finds the case of `ops.json` called `name`.
#[track_caller]
pub fn op_case(name: &str) -> &'static OpCase {
    op_cases()
        .iter()
        .find(|case| case.name == name)
        .unwrap_or_else(|| panic!("ops.json has no case `{name}`; rerun tests/reference/generate.py"))
}

/// Finds the entry called `name` in a section (`losses`, `optimizers`,
/// `schedules`, `models`) of `nn.json`.
#[track_caller]
pub fn nn_entry(section: &str, name: &str) -> &'static Json {
    nn_document()
        .field(section)
        .as_array()
        .iter()
        .find(|entry| entry.field("name").as_str() == name)
        .unwrap_or_else(|| panic!("nn.json has no {section} entry `{name}`; rerun tests/reference/generate_nn.py"))
}

/// Tests whether `actual` is within the reference tolerance of `expected`.
pub fn is_close(actual: f64, expected: f64) -> bool {
    let scale = actual.abs().max(expected.abs());
    (actual - expected).abs() <= RTOL * scale + ATOL
}

/// Asserts that `actual` matches the reference element by element, naming
/// the case, the quantity and the first element that differs.
#[track_caller]
pub fn assert_close(label: &str, actual: &[f64], expected: &RefTensor) {
    assert_eq!(
        actual.len(),
        expected.data.len(),
        "{label}: {} elements, but the reference of shape {:?} has {}",
        actual.len(),
        expected.shape,
        expected.data.len()
    );
    for (i, (&a, &e)) in actual.iter().zip(&expected.data).enumerate() {
        assert!(
            is_close(a, e),
            "{label}: element {i} is {a:e}, PyTorch gives {e:e} (difference {:e})",
            (a - e).abs()
        );
    }
}
