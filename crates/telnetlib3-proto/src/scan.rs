//! Finding IAC bytes and moving the runs between them: the scanning helpers the parser
//! and the encoder share (kept apart so that neither imports the other).

use memchr::memchr_iter;

use crate::command::IAC;

/// Whether IAC is common enough in `data` (one byte in 32 or more) that finding each with
/// a word-at-a-time scan beats a memchr call per IAC (whose set-up then dominates).
/// Judged on a prefix: counting a whole 64 KiB chunk is a second pass over it, which
/// costs plain text two thirds of its parsing speed. Either answer is correct; only the
/// speed depends on it.
pub(crate) fn iac_dense(data: &[u8]) -> bool {
    const SAMPLE: usize = 1024;
    let sample = &data[..data.len().min(SAMPLE)];
    sample.len() >= 64 && memchr_iter(IAC, sample).count() >= sample.len() / 32
}

/// The positions of the IAC (0xFF) bytes of a slice, in order, found eight bytes at a
/// time: an exact test of a word for 0xFF bytes, then one step per IAC found.
pub(crate) struct IacPositions<'a> {
    data: &'a [u8],
    /// Where the next word starts.
    next: usize,
    /// Where the current word started, and its IAC bytes as set high bits.
    base: usize,
    found: u64,
}

impl<'a> IacPositions<'a> {
    pub(crate) const fn new(data: &'a [u8]) -> Self {
        Self {
            data,
            next: 0,
            base: 0,
            found: 0,
        }
    }
}

impl Iterator for IacPositions<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
        while self.found == 0 {
            let rest = self.data.get(self.next..).filter(|r| !r.is_empty())?;
            let bytes = match rest.get(..8) {
                // A whole word: one load (a fixed-size copy, not a memcpy call).
                Some(word) => <[u8; 8]>::try_from(word).unwrap_or_default(),
                None => {
                    let mut bytes = [0u8; 8];
                    bytes[..rest.len()].copy_from_slice(rest);
                    bytes
                }
            };
            // A byte is 0xFF exactly when its complement is zero: the classic exact
            // zero-byte test (no false hits from borrows) on the complement.
            let zeroes = !u64::from_le_bytes(bytes);
            self.found = !(((zeroes & LOW7) + LOW7) | zeroes | LOW7);
            self.base = self.next;
            self.next += 8;
        }
        let at = self.base + (self.found.trailing_zeros() / 8) as usize;
        self.found &= self.found - 1;
        Some(at)
    }
}

/// Append `data[start..end]` to `out`. A short run (dense escapes make runs of a few
/// bytes) is copied as a fixed 16 bytes and the excess dropped: two vector moves instead
/// of a call to `memcpy`, whose set-up would cost more than the copy.
#[inline]
pub(crate) fn extend_short(out: &mut Vec<u8>, data: &[u8], start: usize, end: usize) {
    const SHORT: usize = 16;
    match data.get(start..start + SHORT) {
        Some(window) if end - start <= SHORT => {
            let keep = out.len() + (end - start);
            let mut fixed = [0u8; SHORT];
            fixed.copy_from_slice(window);
            out.extend_from_slice(&fixed);
            out.truncate(keep);
        }
        _ => out.extend_from_slice(&data[start..end]),
    }
}
