//! [`Utf8Bytes`]: shared, immutable, always-valid UTF-8 text, and
//! [`Utf8Ref`], the same text borrowed.
//!
//! The parser hands out event fields as slices of its input buffer
//! ([`bytes::Bytes`]) so that dispatching an event does not copy or allocate.
//! `Utf8Bytes` is that slice plus the promise that it is valid UTF-8 (invalid
//! input was replaced by U+FFFD before one was made). An
//! [`Event`](crate::parse::Event) keeps one such buffer for all its fields
//! and lends each out as a `Utf8Ref`: the buffer and where the field lies in
//! it, from which an owned `Utf8Bytes` is made without a copy when needed.
//!
//! Because the core forbids `unsafe`, turning either into a `&str` checks
//! the bytes again ([`Utf8Bytes::as_str`], [`Utf8Ref::as_str`]: a vectorised
//! scan, a few nanoseconds for short text); lengths, bytes, comparisons and
//! hashing do not.

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

    /// Wraps bytes the caller has already checked to be valid UTF-8.
    pub(crate) fn from_checked(bytes: Bytes) -> Self {
        debug_assert!(core::str::from_utf8(&bytes).is_ok());
        Utf8Bytes(bytes)
    }

    /// Wraps `bytes`, checked by the caller when `valid`, else made valid.
    pub(crate) fn from_parts(bytes: Bytes, valid: bool) -> Self {
        if valid {
            Utf8Bytes::from_checked(bytes)
        } else {
            Utf8Bytes::from_bytes_lossy(bytes)
        }
    }

    /// The text as a string slice (after a fast re-check of the bytes: see
    /// the [module docs](self)).
    pub fn as_str(&self) -> &str {
        str_of(&self.0)
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

/// `bytes` as a string slice; the caller knows they are valid UTF-8.
fn str_of(bytes: &[u8]) -> &str {
    // The invariant makes the fallback unreachable; it exists so that the
    // core needs neither `unsafe` nor a panic path.
    simdutf8::basic::from_utf8(bytes).unwrap_or_default()
}

/// UTF-8 text borrowed from a shared buffer: what [`Event`]'s accessors
/// return.
///
/// Its length, bytes, comparisons and hash cost nothing beyond the borrow;
/// [`Utf8Ref::as_str`] re-checks the bytes (see the [module docs](self));
/// [`Utf8Ref::to_utf8_bytes`] makes an owned [`Utf8Bytes`] that shares the
/// buffer (a reference count increment, no copy).
///
/// [`Event`]: crate::parse::Event
#[derive(Clone, Copy)]
pub struct Utf8Ref<'a> {
    /// The buffer the text is part of.
    owner: &'a Bytes,
    /// `owner[start..end]` is the text: valid UTF-8, in bounds.
    start: usize,
    end: usize,
}

impl<'a> Utf8Ref<'a> {
    /// `owner[start..end]`, which the caller has checked to be in bounds
    /// and valid UTF-8.
    #[inline]
    pub(crate) fn new(owner: &'a Bytes, start: usize, end: usize) -> Self {
        debug_assert!(start <= end && end <= owner.len());
        debug_assert!(core::str::from_utf8(&owner[start..end]).is_ok());
        Utf8Ref { owner, start, end }
    }

    /// All of `text`.
    #[inline]
    pub(crate) fn whole(text: &'a Utf8Bytes) -> Self {
        Utf8Ref {
            owner: &text.0,
            start: 0,
            end: text.0.len(),
        }
    }

    /// The text as a string slice (after a fast re-check of the bytes).
    pub fn as_str(&self) -> &'a str {
        str_of(self.as_bytes())
    }

    /// The UTF-8 bytes.
    #[inline]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.owner.get(self.start..self.end).unwrap_or_default()
    }

    /// Length in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// Whether the text is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// An owned handle to the same text, sharing the buffer (no copy).
    pub fn to_utf8_bytes(&self) -> Utf8Bytes {
        if self.start == 0 && self.end == self.owner.len() {
            return Utf8Bytes(self.owner.clone());
        }
        Utf8Bytes(self.owner.slice(self.start..self.end))
    }
}

impl From<Utf8Ref<'_>> for Utf8Bytes {
    fn from(text: Utf8Ref<'_>) -> Self {
        text.to_utf8_bytes()
    }
}

impl AsRef<[u8]> for Utf8Ref<'_> {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl PartialEq for Utf8Ref<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Utf8Ref<'_> {}

impl PartialOrd for Utf8Ref<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Utf8Ref<'_> {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl core::hash::Hash for Utf8Ref<'_> {
    /// Hashes like the [`Utf8Bytes`] of the same text.
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl PartialEq<str> for Utf8Ref<'_> {
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<&str> for Utf8Ref<'_> {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<Utf8Bytes> for Utf8Ref<'_> {
    fn eq(&self, other: &Utf8Bytes) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<Utf8Ref<'_>> for str {
    fn eq(&self, other: &Utf8Ref<'_>) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<Utf8Ref<'_>> for &str {
    fn eq(&self, other: &Utf8Ref<'_>) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<Utf8Ref<'_>> for Utf8Bytes {
    fn eq(&self, other: &Utf8Ref<'_>) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl fmt::Debug for Utf8Ref<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Utf8Ref<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use core::hash::{Hash, Hasher};

    /// A deterministic hash of `value` (FNV-1a), for checking that equal
    /// values hash alike.
    pub(crate) fn hash_of(value: &impl Hash) -> u64 {
        struct Fnv(u64);
        impl Hasher for Fnv {
            fn finish(&self) -> u64 {
                self.0
            }
            fn write(&mut self, bytes: &[u8]) {
                for &b in bytes {
                    self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
                }
            }
        }
        let mut h = Fnv(0xcbf2_9ce4_8422_2325);
        value.hash(&mut h);
        h.finish()
    }

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
    fn a_borrowed_part_compares_hashes_and_shares_like_the_owned_text() {
        let owner = Bytes::from_static("id: é1\n".as_bytes());
        let part = Utf8Ref::new(&owner, 4, 7);
        assert_eq!(part, "é1");
        assert_eq!("é1", part);
        assert_eq!(part.as_str(), "é1");
        assert_eq!((part.len(), part.is_empty()), (3, false));
        let owned = part.to_utf8_bytes();
        assert_eq!(owned, part);
        assert_eq!(owned.as_bytes().as_ptr(), owner[4..].as_ptr());
        assert_eq!(Utf8Ref::whole(&owned), part);
        assert_eq!(alloc::format!("{part} {part:?}"), "é1 \"é1\"");
        assert_eq!(hash_of(&part), hash_of(&owned));
        let empty = Utf8Ref::new(&owner, 2, 2);
        assert!(empty.is_empty());
        assert_eq!(empty.to_utf8_bytes(), "");
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
