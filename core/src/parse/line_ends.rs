//! Where the lines of the input end, found for a whole chunk in one pass.
//!
//! Finding each line end with its own `memchr2` call costs a call, a vector
//! set-up and a partial first block per line, which dominates short lines.
//! Instead, the tokenizer marks every CR and LF of its input in a bitmap once,
//! in a loop the compiler turns into 16-byte vector compares (SSE2 on any
//! x86-64, NEON on aarch64), and then finds a line end with a load, a shift
//! and a `trailing_zeros`.

use alloc::vec::Vec;

/// `1 << (j % 8)` for each byte `j` of a 64-byte block: byte `i` of an 8-byte
/// word gets bit `i`, so the eight bytes of a word can be summed into one
/// byte of the bitmap without carries.
const WEIGHTS: [u8; 64] = {
    let mut w = [0u8; 64];
    let mut j = 0;
    while j < 64 {
        w[j] = 1 << (j % 8);
        j += 1;
    }
    w
};

/// Input is marked in pieces of this many bytes (a multiple of 64), so the
/// masks of a piece fit on the stack.
const PIECE: usize = 4096;

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
    /// Marks the line ends of `input`, appended to the buffer at `at`.
    pub(super) fn push(&mut self, at: usize, input: &[u8]) {
        let start = self.origin + at;
        let needed = (start + input.len()).div_ceil(64) + 1;
        if self.words.len() < needed {
            self.words.resize(needed, 0);
        }
        let shift = start % 64;
        // A piece's masks on their own first, in the tight loop that
        // vectorises, then shifted into place.
        for (i, piece) in input.chunks(PIECE).enumerate() {
            let mut masks = [0u64; PIECE / 64];
            let blocks = piece.chunks_exact(64);
            let tail = blocks.remainder();
            let full = blocks.len();
            for (mask, block) in masks.iter_mut().zip(blocks) {
                *mask = block_mask(block);
            }
            if let Some(mask) = masks.get_mut(full) {
                *mask = tail
                    .iter()
                    .enumerate()
                    .fold(0, |m, (i, &b)| m | u64::from(is_line_end(b)) << i);
            }
            let masks = &masks[..piece.len().div_ceil(64)];
            let first = start / 64 + i * (PIECE / 64);
            let words = self.words.get_mut(first..).unwrap_or_default();
            if shift == 0 {
                for (w, &m) in words.iter_mut().zip(masks) {
                    *w |= m;
                }
            } else {
                let mut carry = 0;
                for (w, &m) in words.iter_mut().zip(masks) {
                    *w |= (m << shift) | carry;
                    carry = m >> (64 - shift);
                }
                if let Some(w) = words.get_mut(masks.len()) {
                    *w |= carry;
                }
            }
        }
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

fn is_line_end(b: u8) -> bool {
    (b == b'\n') | (b == b'\r')
}

/// The line-end bits of one 64-byte block. Written so that it vectorises:
/// compare all 64 bytes at once, keep each match's weight, then add up the
/// eight weights of each 8-byte word with one multiplication (the weights of
/// a word are distinct bits, so the sum never carries into the next byte).
fn block_mask(block: &[u8]) -> u64 {
    let mut weighted = [0u8; 64];
    for ((w, &b), &weight) in weighted.iter_mut().zip(block).zip(&WEIGHTS) {
        *w = if is_line_end(b) { weight } else { 0 };
    }
    let mut mask = 0;
    for (k, word) in weighted.chunks_exact(8).enumerate() {
        let word = u64::from_le_bytes(word.try_into().unwrap_or_default());
        mask |= (word.wrapping_mul(0x0101_0101_0101_0101) >> 56) << (8 * k);
    }
    mask
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
            let last = buffer.iter().rposition(|&b| b == b'\n' || b == b'\r');
            prop_assert_eq!(ends.last(0), last);
            let last_from = last.filter(|&l| l >= from);
            prop_assert_eq!(ends.last(from), last_from);
            // More input after the front was dropped.
            ends.push(buffer.len(), b"xy\rz");
            buffer.extend_from_slice(b"xy\rz");
            prop_assert_eq!(ends.next(from), first_end(&buffer, from));
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
