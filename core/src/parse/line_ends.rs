//! Where the lines of a region end, found for the whole region in one pass.
//!
//! Finding each line end with its own `memchr2` call costs a call, a vector
//! set-up and a partial first block per line, which dominates short lines.
//! Instead, the tokenizer marks every CR and LF of a region in a bitmap once,
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

/// A bitmap of the CR and LF bytes of a region: bit `i % 64` of word `i / 64`
/// is set when byte `i` is CR or LF.
#[derive(Debug, Default)]
pub(super) struct LineEnds {
    words: Vec<u64>,
}

impl LineEnds {
    /// Marks the line ends of `region`, replacing the previous bitmap. The
    /// memory is kept for the next region.
    pub(super) fn build(&mut self, region: &[u8]) {
        self.words.clear();
        let blocks = region.chunks_exact(64);
        let tail = blocks.remainder();
        self.words.extend(blocks.map(block_mask));
        if !tail.is_empty() {
            let mask = tail
                .iter()
                .enumerate()
                .fold(0, |m, (i, &b)| m | u64::from(is_line_end(b)) << i);
            self.words.push(mask);
        }
    }

    /// Forgets the region.
    pub(super) fn clear(&mut self) {
        self.words.clear();
    }

    /// The position of the first CR or LF at or after `from`, if any.
    #[inline]
    pub(super) fn next(&self, from: usize) -> Option<usize> {
        let mut word = from / 64;
        let mut bits = *self.words.get(word)? & (u64::MAX << (from % 64));
        while bits == 0 {
            word += 1;
            bits = *self.words.get(word)?;
        }
        Some(word * 64 + bits.trailing_zeros() as usize)
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

    proptest! {
        #[test]
        fn finds_every_line_end_and_nothing_else(
            region in prop::collection::vec(
                prop_oneof![Just(b'\n'), Just(b'\r'), any::<u8>(), Just(b'a')], 0..300),
            from in 0usize..320,
        ) {
            let mut ends = LineEnds::default();
            ends.build(&[0xFF; 100]);
            ends.build(&region);
            let expected = region.iter().skip(from).position(|&b| b == b'\n' || b == b'\r').map(|i| i + from);
            prop_assert_eq!(ends.next(from), expected);
        }
    }

    #[test]
    fn every_bit_of_a_block() {
        for i in 0..130 {
            let mut region = vec![b'x'; 130];
            region[i] = if i % 2 == 0 { b'\n' } else { b'\r' };
            let mut ends = LineEnds::default();
            ends.build(&region);
            assert_eq!(ends.next(0), Some(i));
            assert_eq!(ends.next(i), Some(i));
            assert_eq!(ends.next(i + 1), None);
        }
    }
}
