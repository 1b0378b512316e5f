//! Owned header fields of a parsed head, and the HTTP version.

use alloc::vec::Vec;
use bytes::Bytes;

/// The HTTP version of a parsed head. Only HTTP/1.0 and HTTP/1.1 parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Version {
    /// `HTTP/1.0`: no chunked bodies, no persistent connections by default.
    Http10,
    /// `HTTP/1.1`.
    Http11,
}

/// One header field. Both parts share the buffer the head was parsed from.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Field {
    /// The name, lowercased ASCII (token characters only).
    name: Bytes,
    /// The value, leading and trailing whitespace removed, raw bytes.
    value: Bytes,
}

/// The header fields of a parsed head, in wire order.
///
/// Names are stored lowercased, and every lookup compares names ASCII
/// case-insensitively. Values are raw bytes (they may hold obs-text, which
/// is not UTF-8); the `*_str` helpers give `None` for those. Repeated fields
/// are kept as they came.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers {
    fields: Vec<Field>,
}

impl Headers {
    /// An empty header list.
    pub fn new() -> Self {
        Headers::default()
    }

    /// Appends a field, e.g. to build a head by hand. The name is stored
    /// lowercased; neither part is validated.
    pub fn push(&mut self, name: &str, value: impl Into<Bytes>) {
        let name = Bytes::from(name.to_ascii_lowercase().into_bytes());
        self.fields.push(Field {
            name,
            value: value.into(),
        });
    }

    pub(crate) fn with_capacity(n: usize) -> Self {
        Headers {
            fields: Vec::with_capacity(n),
        }
    }

    /// Appends a field; `name` must already be lowercased.
    pub(crate) fn push_lowercased(&mut self, name: Bytes, value: Bytes) {
        self.fields.push(Field { name, value });
    }

    /// The number of fields, repeated names counted each time.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The value of the first field called `name` (any case).
    pub fn get(&self, name: &str) -> Option<&Bytes> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name.as_bytes()))
            .map(|f| &f.value)
    }

    /// The value of the first field called `name`, if it is UTF-8.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|v| core::str::from_utf8(v).ok())
    }

    /// The values of every field called `name` (any case), in wire order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Bytes> + 'a {
        self.fields
            .iter()
            .filter(move |f| f.name.eq_ignore_ascii_case(name.as_bytes()))
            .map(|f| &f.value)
    }

    /// Whether a field called `name` (any case) is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Every field as `(lowercased name, value)`, in wire order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Bytes)> + '_ {
        self.fields
            .iter()
            .map(|f| (core::str::from_utf8(&f.name).unwrap_or(""), &f.value))
    }

    /// Whether the comma-separated list in the fields called `name` holds
    /// `token` (any case), e.g. `has_token("connection", "close")`.
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.get_all(name)
            .flat_map(|v| v.split(|&b| b == b','))
            .any(|item| trim(item).eq_ignore_ascii_case(token.as_bytes()))
    }
}

/// `bytes` without leading and trailing spaces and tabs.
pub(crate) fn trim(bytes: &[u8]) -> &[u8] {
    let is_ws = |b: &u8| *b == b' ' || *b == b'\t';
    let start = bytes.iter().position(|b| !is_ws(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_ws(b))
        .map_or(start, |i| i + 1);
    bytes.get(start..end).unwrap_or(&[])
}
