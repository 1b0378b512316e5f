//! Where the lines of the input end, found for a whole chunk in one pass.
//!
//! Finding each line end with its own `memchr2` call costs a call, a vector
//! set-up, a partial first block and a mispredicted loop exit per line,
//! which dominates short lines. Instead, the tokenizer marks every CR and LF
//! of its input in a bitmap once, 64 bytes at a time, and then finds a line
//! end with a load, a shift and a `trailing_zeros`.
//!
//! The 64-byte block masks come from [`block_masks`], which has two
//! implementations, and on x86-64 with `std` from [`marks`], which picks
//! AVX-512 (BW: one 64-byte load and two compares straight into a bit mask
//! per block) or AVX2 (two 32-byte halves, compares and `movemask`) at run
//! time, through `pulp`, when the CPU has them:
//!
//! - on x86 and x86-64 (SSE2, part of every x86-64 target): four 16-byte
//!   compares and `movemask`, through `safe_arch`'s safe wrappers (the core
//!   itself forbids `unsafe`);
//! - elsewhere, plain loops the compiler vectorises lane-wise (NEON on
//!   aarch64): each 64-byte block's eight 8-byte words are ORed together
//!   after giving the matches of word `j` the weight `1 << j`, which leaves
//!   the block's mask transposed (bit `8 * i + j` says whether byte `i` of
//!   word `j` is a line end), and an 8×8 bit-matrix transpose of three delta
//!   swaps puts the bits in order.
//!
//! The same pass tells whether the bytes were all ASCII, so that most input
//! needs no separate UTF-8 validation.

use alloc::vec::Vec;

/// The tokenizer marks its input and then copies it into its buffer in
/// pieces of this many bytes: one piece for a typical socket read, small
/// enough that the copy reads what the marking read from the L1 or L2 cache.
pub(super) const PIECE: usize = 16384;

/// A bitmap of the CR and LF bytes of a buffer: bit `origin + i` (bit
/// `n % 64` of word `n / 64`) is set when byte `i` of the buffer is CR or LF.
///
/// Bytes are marked as they are appended to the buffer, while they are read
/// from the caller's input anyway: the copy into the buffer then reads them
/// from cache. Dropping bytes from the front of the buffer moves `origin`.
#[derive(Debug, Default)]
pub(super) struct LineEnds {
    words: Vec<u64>,
    origin: usize,
}

impl LineEnds {
    /// Marks the line ends of `input`, appended to the buffer at `at`, and
    /// says what else the pass saw.
    ///
    /// The bytes that share a bitmap word with bytes already marked (or that
    /// do not fill a word at the end) are marked one partial block at a
    /// time; the words in between are computed in place, whole, so no mask
    /// has to be shifted into position.
    pub(super) fn push(&mut self, at: usize, input: &[u8]) -> Seen {
        let start = self.origin + at;
        let needed = (start + input.len()).div_ceil(64) + 1;
        if self.words.len() < needed {
            self.words.resize(needed, 0);
        }
        let offset = start % 64;
        let head_len = if offset == 0 {
            0
        } else {
            (64 - offset).min(input.len())
        };
        let (head, body) = input.split_at(head_len);
        let mut seen = Seen::NOTHING;
        if !head.is_empty() {
            let (mask, head_seen) = partial_mask(head);
            seen = seen.and(head_seen);
            if let Some(w) = self.words.get_mut(start / 64) {
                *w |= mask << offset;
            }
        }
        let first = (start + head_len) / 64;
        let blocks = body.chunks_exact(64);
        let tail = blocks.remainder();
        let full = blocks.len();
        let words = self.words.get_mut(first..).unwrap_or_default();
        // The words after the buffer's end are zero: they are set, not ORed.
        seen = seen.and(marks(body, words));
        if !tail.is_empty() {
            let (mask, tail_seen) = partial_mask(tail);
            seen = seen.and(tail_seen);
            if let Some(w) = words.get_mut(full) {
                *w |= mask;
            }
        }
        seen
    }

    /// The buffer dropped `n` bytes from its front.
    pub(super) fn advance(&mut self, n: usize) {
        self.origin += n;
    }

    /// Forgets everything: the buffer is empty. The memory is kept.
    pub(super) fn clear(&mut self) {
        self.words.clear();
        self.origin = 0;
    }

    /// The position of the first CR or LF at or after `from`, if any.
    #[inline]
    pub(super) fn next(&self, from: usize) -> Option<usize> {
        let from = from + self.origin;
        let mut word = from / 64;
        // Whether a line ends in this word or the next depends on where the
        // line starts, which a branch predictor cannot guess: look at both
        // words and pick without a branch, and loop only for longer lines.
        let bits = *self.words.get(word)? & (u64::MAX << (from % 64));
        let following = self.words.get(word + 1).copied().unwrap_or(0);
        let offset = bits.trailing_zeros() as usize;
        let offset = if offset < 64 {
            offset
        } else {
            64 + following.trailing_zeros() as usize
        };
        if offset < 128 {
            return Some(word * 64 + offset - self.origin);
        }
        word += 2;
        loop {
            let bits = *self.words.get(word)?;
            if bits != 0 {
                return Some(word * 64 + bits.trailing_zeros() as usize - self.origin);
            }
            word += 1;
        }
    }

    /// The CR and LF bytes at or after `from`, in order: the bitmap's bits
    /// walked one at a time, each a `trailing_zeros` and a clear of the
    /// lowest bit (for loops that take every line end in turn, where
    /// [`LineEnds::next`] would mask and look ahead for each).
    #[inline]
    pub(super) fn iter_from(&self, from: usize) -> Ends<'_> {
        let from = from + self.origin;
        let word = from / 64;
        let bits = self
            .words
            .get(word)
            .map_or(0, |w| w & (u64::MAX << (from % 64)));
        Ends {
            words: &self.words,
            word,
            bits,
            origin: self.origin,
        }
    }

    /// The position of the last CR or LF at or after `from`, if any.
    pub(super) fn last(&self, from: usize) -> Option<usize> {
        let from = from + self.origin;
        let first_word = from / 64;
        let words = self.words.get(first_word..)?;
        let (i, bits) = words.iter().enumerate().rev().find_map(|(i, &w)| {
            let w = if i == 0 {
                w & (u64::MAX << (from % 64))
            } else {
                w
            };
            (w != 0).then_some((i, w))
        })?;
        Some((first_word + i) * 64 + 63 - bits.leading_zeros() as usize - self.origin)
    }
}

/// The line ends from a position on, in order (see [`LineEnds::iter_from`]).
pub(super) struct Ends<'a> {
    words: &'a [u64],
    /// The word `bits` came from.
    word: usize,
    /// The bits of `words[word]` not returned yet.
    bits: u64,
    origin: usize,
}

impl Iterator for Ends<'_> {
    type Item = usize;

    #[inline(always)]
    fn next(&mut self) -> Option<usize> {
        if self.bits == 0 {
            // Whether the next end is in the next word or the one after
            // depends on the line's length and where it starts, which a
            // branch predictor cannot guess: pick between both words
            // without a branch, and loop only past longer lines.
            let next = self.words.get(self.word + 1).copied().unwrap_or(0);
            let after = self.words.get(self.word + 2).copied().unwrap_or(0);
            let skip = next == 0;
            self.word += 1 + usize::from(skip);
            self.bits = core::hint::select_unpredictable(skip, after, next);
            while self.bits == 0 {
                self.word += 1;
                self.bits = *self.words.get(self.word)?;
            }
        }
        let at = self.word * 64 + self.bits.trailing_zeros() as usize - self.origin;
        self.bits &= self.bits - 1;
        Some(at)
    }
}

/// What a marking pass saw besides the line ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Seen {
    /// Every byte was ASCII (so the bytes are valid UTF-8).
    pub(super) ascii: bool,
    /// No byte was CR: every line end is an LF.
    pub(super) no_cr: bool,
}

impl Seen {
    /// What an empty pass sees.
    pub(super) const NOTHING: Seen = Seen {
        ascii: true,
        no_cr: true,
    };

    /// What two passes saw together.
    pub(super) fn and(self, other: Seen) -> Seen {
        Seen {
            ascii: self.ascii & other.ascii,
            no_cr: self.no_cr & other.no_cr,
        }
    }
}

/// [`block_masks`] with the widest vectors the CPU has: AVX-512 (BW) or
/// AVX2 on x86-64 when it is there (checked at run time, with `std`), else
/// the baseline.
#[inline]
fn marks(bytes: &[u8], words: &mut [u64]) -> Seen {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if let Some(seen) = avx512::block_masks(bytes, words) {
        return seen;
    }
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if let Some(seen) = avx2::block_masks(bytes, words) {
        return seen;
    }
    block_masks(bytes, words)
}

/// Work to run compiled for the widest vectors the CPU has (see
/// [`widest`]). Implementations mark `call` `#[inline(always)]`, so that it
/// is compiled inside the function that enables the vector features.
pub(super) trait Vectorized {
    /// What the work returns.
    type Output;
    /// Does the work.
    fn call(self) -> Self::Output;
}

/// Runs `work` compiled for the widest vectors the CPU has (AVX-512 or
/// AVX2 on x86-64 when it is there, checked at run time with `std`), so
/// that the copies and compares the compiler makes of it use them.
#[inline(always)]
pub(super) fn widest<W: Vectorized>(work: W) -> W::Output {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if let Some(simd) = pulp::x86::V4::try_new() {
        return simd.vectorize(Wide(work));
    }
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if let Some(simd) = pulp::x86::V3::try_new() {
        return simd.vectorize(Wide(work));
    }
    work.call()
}

/// The line-end bits of fewer than 64 bytes, bit `i` for byte `i`, and
/// what else they hold.
fn partial_mask(bytes: &[u8]) -> (u64, Seen) {
    let mut block = [0u8; 64];
    let n = bytes.len().min(64);
    block[..n].copy_from_slice(&bytes[..n]);
    let mut word = [0u64];
    let seen = block_masks(&block, &mut word);
    (word[0], seen)
}

#[cfg(all(
    any(target_arch = "x86", target_arch = "x86_64"),
    target_feature = "sse2"
))]
use sse2::block_masks;

#[cfg(not(all(
    any(target_arch = "x86", target_arch = "x86_64"),
    target_feature = "sse2"
)))]
use portable::block_masks;

/// `movemask` on x86 and x86-64.
#[cfg(all(
    any(target_arch = "x86", target_arch = "x86_64"),
    target_feature = "sse2"
))]
mod sse2 {
    use super::Seen;
    use safe_arch::{
        bitor_m128i, cmp_eq_mask_i8_m128i, load_unaligned_m128i, m128i, move_mask_i8_m128i,
        set_splat_i8_m128i,
    };

    /// Writes the line-end mask of each whole 64-byte block of `bytes` to
    /// the matching word of `words` (bit `i` for byte `i`; as many blocks
    /// as there are words); says what else those blocks hold.
    #[inline]
    pub(super) fn block_masks(bytes: &[u8], words: &mut [u64]) -> Seen {
        let (lf, cr) = (
            set_splat_i8_m128i(b'\n' as i8),
            set_splat_i8_m128i(b'\r' as i8),
        );
        let (mut high, mut crs) = (m128i::default(), m128i::default());
        for (w, block) in words.iter_mut().zip(bytes.chunks_exact(64)) {
            let mut mask = 0u64;
            for (k, lane) in block.chunks_exact(16).enumerate() {
                let Ok(lane) = <&[u8; 16]>::try_from(lane) else {
                    continue;
                };
                let v = load_unaligned_m128i(lane);
                high = bitor_m128i(high, v);
                let is_cr = cmp_eq_mask_i8_m128i(v, cr);
                crs = bitor_m128i(crs, is_cr);
                let ends = bitor_m128i(cmp_eq_mask_i8_m128i(v, lf), is_cr);
                mask |= u64::from(move_mask_i8_m128i(ends) as u16) << (16 * k);
            }
            *w = mask;
        }
        Seen {
            ascii: move_mask_i8_m128i(high) == 0,
            no_cr: move_mask_i8_m128i(crs) == 0,
        }
    }
}

/// [`Vectorized`] work as pulp runs it, for each SIMD level.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
struct Wide<W>(W);

#[cfg(all(feature = "std", target_arch = "x86_64"))]
impl<W: Vectorized> pulp::NullaryFnOnce for Wide<W> {
    type Output = W::Output;

    #[inline(always)]
    fn call(self) -> W::Output {
        self.0.call()
    }
}

/// The marking pass over `bytes` into `words` with the SIMD level whose
/// pulp token is `S`: the [`avx2`] and [`avx512`] modules each implement
/// it, and it runs compiled for that level inside the token's `vectorize`.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
struct Mark<'a, S> {
    simd: S,
    bytes: &'a [u8],
    words: &'a mut [u64],
}

/// 32-byte compares and `movemask` on x86-64 CPUs with AVX2, chosen at run
/// time through `pulp`, whose token proves the CPU has the feature and
/// whose `vectorize` compiles the closure for it (the core itself forbids
/// `unsafe`).
#[cfg(all(feature = "std", target_arch = "x86_64"))]
mod avx2 {
    use super::{Mark, Seen};
    use core::arch::x86_64::__m256i;
    use pulp::x86::V3;

    /// [`block_masks`](super::block_masks) with AVX2, or `None` (nothing
    /// written) when the CPU does not have it.
    #[inline]
    pub(super) fn block_masks(bytes: &[u8], words: &mut [u64]) -> Option<Seen> {
        let simd = V3::try_new()?;
        Some(simd.vectorize(Mark { simd, bytes, words }))
    }

    /// The marking pass, compiled for AVX2 inside [`V3::vectorize`].
    impl pulp::NullaryFnOnce for Mark<'_, V3> {
        type Output = Seen;

        #[inline(always)]
        fn call(self) -> Seen {
            let (avx, avx2) = (self.simd.avx, self.simd.avx2);
            let (lf, cr) = (
                avx._mm256_set1_epi8(b'\n' as i8),
                avx._mm256_set1_epi8(b'\r' as i8),
            );
            let (mut high, mut crs) = (avx._mm256_setzero_si256(), avx._mm256_setzero_si256());
            for (w, block) in self.words.iter_mut().zip(self.bytes.chunks_exact(64)) {
                let (a, b) = block.split_at(32);
                let load = |half: &[u8]| -> __m256i {
                    pulp::bytemuck::cast(<[u8; 32]>::try_from(half).unwrap_or_default())
                };
                let (a, b) = (load(a), load(b));
                high = avx2._mm256_or_si256(high, avx2._mm256_or_si256(a, b));
                let (cr_a, cr_b) = (avx2._mm256_cmpeq_epi8(a, cr), avx2._mm256_cmpeq_epi8(b, cr));
                crs = avx2._mm256_or_si256(crs, avx2._mm256_or_si256(cr_a, cr_b));
                let ends_a = avx2._mm256_or_si256(avx2._mm256_cmpeq_epi8(a, lf), cr_a);
                let ends_b = avx2._mm256_or_si256(avx2._mm256_cmpeq_epi8(b, lf), cr_b);
                *w = u64::from(avx2._mm256_movemask_epi8(ends_a) as u32)
                    | u64::from(avx2._mm256_movemask_epi8(ends_b) as u32) << 32;
            }
            Seen {
                ascii: avx2._mm256_movemask_epi8(high) == 0,
                no_cr: avx2._mm256_movemask_epi8(crs) == 0,
            }
        }
    }
}

/// 64-byte compares straight into bit masks on x86-64 CPUs with AVX-512
/// (BW), chosen at run time through `pulp` as [`avx2`] is: one load and two
/// compares per block, where AVX2 takes two loads, four compares, two ORs
/// and two `movemask`s.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
mod avx512 {
    use super::{Mark, Seen};
    use core::arch::x86_64::__m512i;
    use pulp::x86::V4;

    /// [`block_masks`](super::block_masks) with AVX-512, or `None` (nothing
    /// written) when the CPU does not have it.
    #[inline]
    pub(super) fn block_masks(bytes: &[u8], words: &mut [u64]) -> Option<Seen> {
        let simd = V4::try_new()?;
        Some(simd.vectorize(Mark { simd, bytes, words }))
    }

    /// The marking pass, compiled for AVX-512 inside [`V4::vectorize`].
    impl pulp::NullaryFnOnce for Mark<'_, V4> {
        type Output = Seen;

        #[inline(always)]
        fn call(self) -> Seen {
            let (f, bw) = (self.simd.avx512f, self.simd.avx512bw);
            let (lf, cr) = (
                f._mm512_set1_epi8(b'\n' as i8),
                f._mm512_set1_epi8(b'\r' as i8),
            );
            let (mut high, mut crs) = (f._mm512_setzero_si512(), 0u64);
            for (w, block) in self.words.iter_mut().zip(self.bytes.chunks_exact(64)) {
                let v: __m512i =
                    pulp::bytemuck::cast(<[u8; 64]>::try_from(block).unwrap_or([0; 64]));
                high = f._mm512_or_si512(high, v);
                let is_cr = bw._mm512_cmpeq_epi8_mask(v, cr);
                crs |= is_cr;
                *w = bw._mm512_cmpeq_epi8_mask(v, lf) | is_cr;
            }
            Seen {
                ascii: bw._mm512_movepi8_mask(high) == 0,
                no_cr: crs == 0,
            }
        }
    }
}

/// Lane-wise loops the compiler vectorises, for other targets (and tested
/// against the x86 version everywhere).
#[cfg(any(
    test,
    not(all(
        any(target_arch = "x86", target_arch = "x86_64"),
        target_feature = "sse2"
    ))
))]
mod portable {
    use super::Seen;

    /// `1 << (j / 8)` for each byte `j` of a 64-byte block: the bytes of
    /// word `j / 8` of the block get bit `j / 8`, so ORing the block's eight
    /// words keeps every match (see [`transposed_mask`]).
    const WORD_BITS: [u8; 64] = {
        let mut w = [0u8; 64];
        let mut j = 0;
        while j < 64 {
            w[j] = 1 << (j / 8);
            j += 1;
        }
        w
    };

    /// Writes the line-end mask of each whole 64-byte block of `bytes` to
    /// the matching word of `words` (bit `i` for byte `i`; as many blocks
    /// as there are words); says what else those blocks hold.
    #[inline]
    pub(super) fn block_masks(bytes: &[u8], words: &mut [u64]) -> Seen {
        let (mut high, mut crs) = (0u8, false);
        let mut n = 0;
        for (w, block) in words.iter_mut().zip(bytes.chunks_exact(64)) {
            high |= block.iter().fold(0, |h, &b| h | b);
            crs |= block.iter().fold(false, |c, &b| c | (b == b'\r'));
            *w = transposed_mask(block);
            n += 1;
        }
        // A loop of its own, so that it runs on two words at a time.
        for w in words.iter_mut().take(n) {
            *w = transpose(*w);
        }
        Seen {
            ascii: high < 0x80,
            no_cr: !crs,
        }
    }

    fn is_line_end(b: u8) -> bool {
        (b == b'\n') | (b == b'\r')
    }

    /// The line-end bits of one 64-byte block, transposed: bit `8 * i + j`
    /// is set when byte `i` of the block's word `j` (byte `8 * j + i` of the
    /// block) is CR or LF. Written so that it vectorises: compare all 64
    /// bytes at once, keep each match's word bit, and OR the eight words
    /// together; no step moves data across vector lanes but the last one.
    pub(super) fn transposed_mask(block: &[u8]) -> u64 {
        let mut weighted = [0u8; 64];
        for ((w, &b), &bit) in weighted.iter_mut().zip(block).zip(&WORD_BITS) {
            *w = if is_line_end(b) { bit } else { 0 };
        }
        weighted.chunks_exact(8).fold(0, |mask, word| {
            mask | u64::from_le_bytes(word.try_into().unwrap_or_default())
        })
    }

    /// Transposes the 8×8 bit matrix held in `x` (bit `8 * row + column`),
    /// with three delta swaps: it turns a [`transposed_mask`] into the
    /// block's mask, bit `i` for byte `i`.
    pub(super) fn transpose(mut x: u64) -> u64 {
        let t = (x ^ (x >> 7)) & 0x00AA_00AA_00AA_00AA;
        x ^= t ^ (t << 7);
        let t = (x ^ (x >> 14)) & 0x0000_CCCC_0000_CCCC;
        x ^= t ^ (t << 14);
        let t = (x ^ (x >> 28)) & 0x0000_0000_F0F0_F0F0;
        x ^ t ^ (t << 28)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use proptest::prelude::*;

    fn first_end(bytes: &[u8], from: usize) -> Option<usize> {
        let at = bytes
            .get(from..)?
            .iter()
            .position(|&b| b == b'\n' || b == b'\r')?;
        Some(from + at)
    }

    proptest! {
        #[test]
        fn finds_every_line_end_and_nothing_else(
            pieces in prop::collection::vec(prop::collection::vec(
                prop_oneof![Just(b'\n'), Just(b'\r'), any::<u8>(), Just(b'a')], 0..150), 1..5),
            dropped in 0usize..100,
            from in 0usize..400,
        ) {
            let mut ends = LineEnds::default();
            ends.push(0, &[b'\n'; 70]);
            ends.clear();
            let mut buffer = Vec::new();
            for piece in &pieces {
                ends.push(buffer.len(), piece);
                buffer.extend_from_slice(piece);
            }
            let dropped = dropped.min(buffer.len());
            buffer.drain(..dropped);
            ends.advance(dropped);
            prop_assert_eq!(ends.next(from), first_end(&buffer, from));
            let every: Vec<usize> = (from..buffer.len())
                .filter(|&i| buffer[i] == b'\n' || buffer[i] == b'\r')
                .collect();
            prop_assert_eq!(ends.iter_from(from).collect::<Vec<_>>(), every);
            let last = buffer.iter().rposition(|&b| b == b'\n' || b == b'\r');
            prop_assert_eq!(ends.last(0), last);
            let last_from = last.filter(|&l| l >= from);
            prop_assert_eq!(ends.last(from), last_from);
            // More input after the front was dropped.
            ends.push(buffer.len(), b"xy\rz");
            buffer.extend_from_slice(b"xy\rz");
            prop_assert_eq!(ends.next(from), first_end(&buffer, from));
            let every: Vec<usize> = (from..buffer.len())
                .filter(|&i| buffer[i] == b'\n' || buffer[i] == b'\r')
                .collect();
            prop_assert_eq!(ends.iter_from(from).collect::<Vec<_>>(), every);
            prop_assert_eq!(ends.last(0), Some(buffer.len() - 2));
        }
    }

    #[test]
    fn long_input_in_pieces_at_every_alignment() {
        let mut input = [b'x'; 3 * PIECE + 100];
        let marks = [
            0,
            1,
            63,
            64,
            65,
            PIECE - 1,
            PIECE,
            PIECE + 1,
            2 * PIECE + 7,
            3 * PIECE + 99,
        ];
        for (k, &m) in marks.iter().enumerate() {
            input[m] = if k % 2 == 0 { b'\n' } else { b'\r' };
        }
        for at in [0, 1, 31, 63, 64, 100] {
            let mut ends = LineEnds::default();
            let mut buffer = vec![b'y'; at];
            ends.push(0, &buffer);
            ends.push(at, &input);
            buffer.extend_from_slice(&input);
            for from in 0..buffer.len() + 2 {
                assert_eq!(
                    ends.next(from),
                    first_end(&buffer, from),
                    "at {at} from {from}"
                );
            }
            assert_eq!(ends.last(0), Some(at + 3 * PIECE + 99));
        }
    }

    #[test]
    fn transposed_masks_transpose_back_to_byte_order() {
        use portable::{transpose, transposed_mask};
        for i in 0..64 {
            let mut block = [b'x'; 64];
            block[i] = b'\n';
            let t = transposed_mask(&block);
            assert_eq!(t, 1 << (8 * (i % 8) + i / 8), "byte {i}");
            assert_eq!(transpose(t), 1 << i, "byte {i}");
            assert_eq!(transpose(transpose(t)), t);
        }
        let seen = |ascii, no_cr| Seen { ascii, no_cr };
        assert_eq!(partial_mask(b"a\rb\n"), (0b1010, seen(true, false)));
        assert_eq!(partial_mask(b"\xC3\xA9\n"), (0b100, seen(false, true)));
    }

    proptest! {
        #[test]
        fn block_masks_are_the_line_ends_and_what_else_was_seen(
            bytes in prop::collection::vec(
                prop_oneof![Just(b'\n'), Just(b'\r'), any::<u8>(), 0u8..0x80], 0..300),
        ) {
            let blocks = bytes.len() / 64;
            let mut want = vec![0u64; blocks];
            for (i, &b) in bytes[..blocks * 64].iter().enumerate() {
                if b == b'\n' || b == b'\r' {
                    want[i / 64] |= 1 << (i % 64);
                }
            }
            let seen = Seen {
                ascii: bytes[..blocks * 64].is_ascii(),
                no_cr: !bytes[..blocks * 64].contains(&b'\r'),
            };
            let mut got = vec![0u64; blocks];
            prop_assert_eq!(block_masks(&bytes, &mut got), seen);
            prop_assert_eq!(&got, &want);
            let mut portable = vec![0u64; blocks];
            prop_assert_eq!(portable::block_masks(&bytes, &mut portable), seen);
            prop_assert_eq!(&portable, &want);
            let mut widest = vec![0u64; blocks];
            prop_assert_eq!(marks(&bytes, &mut widest), seen);
            prop_assert_eq!(&widest, &want);
            #[cfg(all(feature = "std", target_arch = "x86_64"))]
            if std::is_x86_feature_detected!("avx2") {
                let mut avx2 = vec![0u64; blocks];
                prop_assert_eq!(avx2::block_masks(&bytes, &mut avx2), Some(seen));
                prop_assert_eq!(&avx2, &want);
            }
            #[cfg(all(feature = "std", target_arch = "x86_64"))]
            if std::is_x86_feature_detected!("avx512bw") && std::is_x86_feature_detected!("avx512vl") {
                let mut avx512 = vec![0u64; blocks];
                prop_assert_eq!(avx512::block_masks(&bytes, &mut avx512), Some(seen));
                prop_assert_eq!(&avx512, &want);
            }
        }
    }

    #[test]
    fn every_bit_of_a_block() {
        for i in 0..130 {
            let mut region = [b'x'; 130];
            region[i] = if i % 2 == 0 { b'\n' } else { b'\r' };
            for at in [0, 1, 63] {
                let mut ends = LineEnds::default();
                ends.push(0, &region[..at.min(i)]);
                ends.push(at.min(i), &region[at.min(i)..]);
                assert_eq!(ends.next(0), Some(i));
                assert_eq!(ends.next(i), Some(i));
                assert_eq!(ends.next(i + 1), None);
                assert_eq!(ends.last(0), Some(i));
                assert_eq!(ends.last(i), Some(i));
                assert_eq!(ends.last(i + 1), None);
            }
        }
    }
}
