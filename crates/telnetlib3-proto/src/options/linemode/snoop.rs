//! Finding SLC characters in the data stream without a per-byte table lookup.
//!
//! Every default SLC character is a control character (below 0x20, or DEL). Plain text
//! is read eight bytes at a time: one word test (SWAR) tells whether any of the eight is
//! a control character, and only then are they looked up in a 256-bit set. A character a
//! user configures outside that range (printable or 8-bit) is found with `memchr` (up to
//! three such characters), or, past three, by a lookup of every byte.

use memchr::{Memchr, Memchr2, Memchr3};

use super::slc::SlcTable;

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Whether any byte of `word` is below 0x20 or is 0x7F. Exact as a whole-word test: the
/// borrow of the subtraction can only spoil bytes above one that already matched.
#[inline]
const fn has_control(word: u64) -> bool {
    let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGHS;
    let del = word ^ (ONES * 0x7F);
    let is_del = del.wrapping_sub(ONES) & !del & HIGHS;
    (below_space | is_del) != 0
}

const fn is_control(byte: u8) -> bool {
    byte < 0x20 || byte == 0x7F
}

/// A set of bytes, one bit each.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct ByteSet([u64; 4]);

impl ByteSet {
    fn insert(&mut self, byte: u8) {
        self.0[usize::from(byte >> 6)] |= 1 << (byte & 63);
    }

    #[inline]
    fn contains(&self, byte: u8) -> bool {
        self.0[usize::from(byte >> 6)] & (1 << (byte & 63)) != 0
    }
}

/// The active SLC characters of a table, arranged for scanning.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Scanner {
    /// Every active character.
    all: ByteSet,
    /// Whether any active character is a control character (the SWAR pass is needed).
    any_control: bool,
    /// Active characters that are not control characters, found with memchr.
    others: [u8; 3],
    n_others: u8,
    /// More than three such characters: look every byte up instead.
    many_others: bool,
}

impl Scanner {
    /// The scanner for `table`'s active characters.
    pub(crate) fn new(table: &SlcTable) -> Self {
        let mut scanner = Self::default();
        for (_, entry) in table.iter() {
            if !entry.is_active() || scanner.all.contains(entry.value) {
                continue;
            }
            scanner.all.insert(entry.value);
            if is_control(entry.value) {
                scanner.any_control = true;
            } else if let Some(slot) = scanner.others.get_mut(usize::from(scanner.n_others)) {
                *slot = entry.value;
                scanner.n_others += 1;
            } else {
                scanner.many_others = true;
            }
        }
        scanner
    }

    /// Whether there is nothing to find.
    pub(crate) const fn is_empty(&self) -> bool {
        !self.any_control && self.n_others == 0
    }

    /// Call `hit` with every active character of `data`, in stream order.
    pub(crate) fn scan(&self, data: &[u8], mut hit: impl FnMut(u8)) {
        if self.many_others {
            for &byte in data {
                if self.all.contains(byte) {
                    hit(byte);
                }
            }
            return;
        }
        // The memchr hits and the control hits are disjoint; merge them by position.
        let mut others = Others::new(&self.others[..usize::from(self.n_others)], data);
        let mut next_other = others.next();
        let mut emit_upto = |position: usize, hit: &mut dyn FnMut(u8)| {
            while let Some(at) = next_other.filter(|&at| at < position) {
                if let Some(&byte) = data.get(at) {
                    hit(byte);
                }
                next_other = others.next();
            }
        };
        if self.any_control {
            let words = data.chunks_exact(8);
            let tail = words.remainder();
            let tail_start = data.len() - tail.len();
            for (index, chunk) in words.enumerate() {
                let Ok(bytes) = <[u8; 8]>::try_from(chunk) else {
                    continue;
                };
                if !has_control(u64::from_le_bytes(bytes)) {
                    continue;
                }
                for (offset, &byte) in bytes.iter().enumerate() {
                    // Other active characters in this word come from memchr.
                    if is_control(byte) && self.all.contains(byte) {
                        emit_upto(index * 8 + offset, &mut hit);
                        hit(byte);
                    }
                }
            }
            for (offset, &byte) in tail.iter().enumerate() {
                if is_control(byte) && self.all.contains(byte) {
                    emit_upto(tail_start + offset, &mut hit);
                    hit(byte);
                }
            }
        }
        emit_upto(data.len(), &mut hit);
    }
}

/// Positions of up to three bytes, through the matching memchr iterator.
enum Others<'h> {
    None,
    One(Memchr<'h>),
    Two(Memchr2<'h>),
    Three(Memchr3<'h>),
}

impl<'h> Others<'h> {
    fn new(needles: &[u8], haystack: &'h [u8]) -> Self {
        match *needles {
            [a] => Self::One(memchr::memchr_iter(a, haystack)),
            [a, b] => Self::Two(memchr::memchr2_iter(a, b, haystack)),
            [a, b, c] => Self::Three(memchr::memchr3_iter(a, b, c, haystack)),
            _ => Self::None,
        }
    }
}

impl Iterator for Others<'_> {
    type Item = usize;
    fn next(&mut self) -> Option<usize> {
        match self {
            Self::None => None,
            Self::One(it) => it.next(),
            Self::Two(it) => it.next(),
            Self::Three(it) => it.next(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::slc::{SlcEntry, SlcFlags, SlcFunction, SlcLevel};
    use super::*;
    use proptest::prelude::*;

    fn hits(scanner: &Scanner, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        scanner.scan(data, |b| out.push(b));
        out
    }

    #[test]
    fn word_test_is_exact() {
        for byte in 0..=255u8 {
            for position in 0..8 {
                let mut bytes = [b'a'; 8];
                bytes[position] = byte;
                let word = u64::from_le_bytes(bytes);
                assert_eq!(
                    has_control(word),
                    is_control(byte),
                    "{byte:#x} at {position}"
                );
            }
        }
    }

    fn table_with(values: &[u8]) -> SlcTable {
        let mut table = SlcTable::empty();
        for (&value, function) in values.iter().zip(SlcFunction::ALL) {
            table.set(
                function,
                SlcEntry::new(SlcLevel::Value, SlcFlags::NONE, value),
            );
        }
        table
    }

    proptest! {
        #[test]
        fn scan_matches_naive(
            values in proptest::collection::vec(any::<u8>(), 0..8),
            data in proptest::collection::vec(
                prop_oneof![any::<u8>(), Just(b'x'), Just(3u8), Just(b'q')], 0..200),
        ) {
            let table = table_with(&values);
            let scanner = Scanner::new(&table);
            let naive: Vec<u8> = data
                .iter()
                .copied()
                .filter(|&b| table.function_for(b).is_some())
                .collect();
            prop_assert_eq!(hits(&scanner, &data), naive);
        }
    }

    #[test]
    fn printable_characters_are_found_in_order() {
        let scanner = Scanner::new(&table_with(&[b'q', 0x03, b'z']));
        assert_eq!(
            hits(&scanner, b"aaq\x03zzzzzzzzzq\x03"),
            b"q\x03zzzzzzzzzq\x03"
        );
    }
}
