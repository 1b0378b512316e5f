//! [`Utf8Bytes`]: shared, immutable, always-valid UTF-8 text.
//!
//! The parser hands out event fields as slices of its input buffer
//! ([`bytes::Bytes`]) so that dispatching an event does not copy or allocate.
//! `Utf8Bytes` is that slice plus the promise that it is valid UTF-8 (invalid
//! input was replaced by U+FFFD before one was made).

use alloc::string::String;
use bytes::Bytes;
use core::fmt;

/// Immutable UTF-8 text backed by reference-counted [`Bytes`].
///
/// Cloning is cheap (a reference-count increment). The bytes are always valid
/// UTF-8: every constructor either checks or replaces invalid sequences with
/// U+FFFD, so [`Utf8Bytes::as_str`] never fails. Because the core forbids
/// `unsafe`, `as_str` re-checks the bytes on each call (a fast, linear scan).
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Utf8Bytes(Bytes);

impl Utf8Bytes {
    /// Wraps a `&'static str` without copying or allocating.
    pub const fn from_static(s: &'static str) -> Self {
        Utf8Bytes(Bytes::from_static(s.as_bytes()))
    }

    /// Wraps `bytes` if they are valid UTF-8, or hands them back unchanged.
    pub fn try_from_bytes(bytes: Bytes) -> Result<Self, Bytes> {
        match core::str::from_utf8(&bytes) {
            Ok(_) => Ok(Utf8Bytes(bytes)),
            Err(_) => Err(bytes),
        }
    }

    /// Wraps `bytes`, replacing each invalid UTF-8 sequence with U+FFFD as
    /// the WHATWG "UTF-8 decode" does. Valid input is not copied.
    pub fn from_bytes_lossy(bytes: Bytes) -> Self {
        match core::str::from_utf8(&bytes) {
            Ok(_) => Utf8Bytes(bytes),
            Err(_) => {
                let fixed = String::from_utf8_lossy(&bytes).into_owned();
                Utf8Bytes(Bytes::from(fixed))
            }
        }
    }

    /// The text as a string slice.
    pub fn as_str(&self) -> &str {
        // The invariant makes the fallback unreachable; it exists so that the
        // core needs neither `unsafe` nor a panic path.
        core::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The UTF-8 bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The underlying shared buffer.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<&'static str> for Utf8Bytes {
    fn from(s: &'static str) -> Self {
        Utf8Bytes::from_static(s)
    }
}

impl From<String> for Utf8Bytes {
    fn from(s: String) -> Self {
        Utf8Bytes(Bytes::from(s))
    }
}

impl From<Utf8Bytes> for Bytes {
    fn from(s: Utf8Bytes) -> Self {
        s.0
    }
}

impl AsRef<str> for Utf8Bytes {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<[u8]> for Utf8Bytes {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl PartialEq<str> for Utf8Bytes {
    fn eq(&self, other: &str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for Utf8Bytes {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl fmt::Debug for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lossy_replaces_invalid_sequences() {
        let t = Utf8Bytes::from_bytes_lossy(Bytes::from_static(b"a\xFFb\xE2\x80"));
        assert_eq!(t.as_str(), "a\u{FFFD}b\u{FFFD}");
    }

    #[test]
    fn valid_input_is_shared_not_copied() {
        let src = Bytes::from_static(b"hello");
        let t = Utf8Bytes::from_bytes_lossy(src.clone());
        assert_eq!(t.as_bytes().as_ptr(), src.as_ptr());
    }

    #[test]
    fn try_from_rejects_invalid() {
        assert!(Utf8Bytes::try_from_bytes(Bytes::from_static(b"\xC0")).is_err());
        assert_eq!(
            Utf8Bytes::try_from_bytes(Bytes::from_static(b"ok")).unwrap(),
            "ok"
        );
    }
}
