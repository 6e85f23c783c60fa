//! Splitting received data into lines, by telnetlib3's `readline` rules.
//!
//! A line ends at the first of CR LF (both kept), CR NUL (the CR kept, the NUL dropped:
//! RFC 854's "CR NUL" is a bare carriage return), a lone CR, or LF (RFC 1123 section
//! 3.3.1 asks a receiver to accept all of them from hosts that get end-of-line wrong).
//! The data arrives in pieces, so a CR may be the last byte received so far: the line ends
//! there at once (a terminal in character mode sends a lone CR for Enter), and an LF or
//! NUL that comes next is dropped as the rest of that CR. Python telnetlib3 returns that
//! LF as an empty line of its own; a CR LF split between two TCP segments is one line
//! here.
//!
//! [`LineSplitter`] only finds where lines end: the caller owns the buffer, so the async
//! and blocking readers of `telnetlib3` (and any other driver) keep their data where it
//! is and take each line with one copy.
//!
//! ```
//! use telnetlib3_proto::line::{LineSplitter, Split};
//!
//! let mut lines = LineSplitter::new();
//! let mut buf = b"login: \r\0me\r".to_vec();
//! let mut got = Vec::new();
//! loop {
//!     match lines.split(&buf, true, 1024) {
//!         Split::Line { line, consumed } => {
//!             got.push(buf[line].to_vec());
//!             buf.drain(..consumed);
//!         }
//!         Split::Incomplete { consumed } => {
//!             buf.drain(..consumed);
//!             break;
//!         }
//!     }
//! }
//! assert_eq!(got, [b"login: \r".to_vec(), b"me\r".to_vec()]);
//! // The LF that completes the last CR arrives later: it is not a line.
//! buf.extend_from_slice(b"\nok\n");
//! assert!(matches!(lines.split(&buf, true, 1024), Split::Line { line, consumed: 4 } if &buf[line.clone()] == b"ok\n"));
//! ```

use std::ops::Range;

/// Where the next line ends in a buffer of received data ([`LineSplitter::split`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Split {
    /// A line: `buf[line]`, its end of line included (CR LF, CR, or LF; the NUL of CR
    /// NUL is not). The first `consumed` bytes of the buffer are used up: a dropped
    /// byte before the line (the LF or NUL completing the previous line's CR), the line,
    /// and a dropped NUL after it.
    Line {
        /// The line's bytes in the buffer.
        line: Range<usize>,
        /// How many bytes at the front of the buffer to discard.
        consumed: usize,
    },
    /// No whole line yet: wait for more data. The first `consumed` bytes (0 or 1: the
    /// LF or NUL completing the previous line's CR) are used up all the same.
    Incomplete {
        /// How many bytes at the front of the buffer to discard.
        consumed: usize,
    },
}

/// Finds line ends in received data, incrementally: state carried between calls is
/// whether the last line ended with a CR that was the last byte then, and how far the
/// buffer was already searched.
///
/// Between two calls the caller discards exactly the `consumed` bytes reported and may
/// append data; after any other change to the buffer (data read by other means), call
/// [`LineSplitter::reset`].
#[derive(Clone, Debug, Default)]
pub struct LineSplitter {
    /// The last line ended with a CR with nothing after it yet: an LF or NUL at the
    /// front of the buffer belongs to it.
    after_cr: bool,
    /// The buffer's first `scanned` bytes hold no CR or LF (no line ended there).
    scanned: usize,
}

impl LineSplitter {
    /// A splitter at the start of a stream.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            after_cr: false,
            scanned: 0,
        }
    }

    /// Forget the pending CR and how far the buffer was searched: data was taken from
    /// the buffer other than by lines.
    pub fn reset(&mut self) {
        *self = Self::new();
    }

    /// Whether the last line ended with a CR whose LF or NUL may still come.
    #[must_use]
    pub const fn after_cr(&self) -> bool {
        self.after_cr
    }

    /// The next line in `buf`, the data received and not yet consumed. `more` says
    /// whether more data can come (false at end of file: what is left is a last,
    /// unterminated line). A line longer than `limit` (at least 1) comes in pieces of
    /// `limit` bytes, so that a reader never holds more than `limit` for a line.
    ///
    /// The search is `memchr`'s, and resumes where the last call stopped: a line that
    /// arrives in many pieces is searched once.
    pub fn split(&mut self, buf: &[u8], more: bool, limit: usize) -> Split {
        let limit = limit.max(1);
        let mut skip = 0;
        if self.after_cr {
            match buf.first() {
                None => return Split::Incomplete { consumed: 0 },
                Some(0 | b'\n') => skip = 1,
                Some(_) => {}
            }
            self.after_cr = false;
            self.scanned = 0;
        }
        let rest = &buf[skip..];
        if rest.is_empty() {
            return Split::Incomplete { consumed: skip };
        }
        let from = self.scanned.min(rest.len());
        // (line length, a NUL follows to drop, the line ends with a CR that may still
        // get its LF or NUL)
        let (mut len, mut nul, mut ends_cr) = match memchr::memchr2(b'\n', b'\r', &rest[from..]) {
            Some(at) => {
                let at = from + at;
                match (rest[at], rest.get(at + 1)) {
                    (b'\n', _) => (at + 1, false, false),
                    (_, Some(b'\n')) => (at + 2, false, false),
                    (_, Some(0)) => (at + 1, true, false),
                    (_, Some(_)) => (at + 1, false, false),
                    (_, None) => (at + 1, false, more),
                }
            }
            None if !more || rest.len() >= limit => (rest.len().min(limit), false, false),
            None => {
                self.scanned = rest.len();
                return Split::Incomplete { consumed: skip };
            }
        };
        if len > limit {
            // A piece of a long line. If it ends with a CR (a CR LF across the limit),
            // the byte after belongs to that CR as it would across two reads.
            len = limit;
            nul = false;
            ends_cr = rest[limit - 1] == b'\r';
        }
        self.after_cr = ends_cr;
        self.scanned = 0;
        Split::Line {
            line: skip..skip + len,
            consumed: skip + len + usize::from(nul),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Feed `chunks` one after another (each appended to what is left), `more` until the
    /// last, and collect the lines.
    fn lines(chunks: &[&[u8]], limit: usize) -> Vec<Vec<u8>> {
        let mut splitter = LineSplitter::new();
        let mut buf = Vec::new();
        let mut out = Vec::new();
        for (i, chunk) in chunks.iter().enumerate() {
            let more = i + 1 < chunks.len();
            buf.extend_from_slice(chunk);
            loop {
                match splitter.split(&buf, more, limit) {
                    Split::Line { line, consumed } => {
                        out.push(buf[line].to_vec());
                        buf.drain(..consumed);
                    }
                    Split::Incomplete { consumed } => {
                        buf.drain(..consumed);
                        break;
                    }
                }
            }
        }
        assert!(buf.is_empty(), "left over at end of file: {buf:?}");
        out
    }

    fn v(lines: &[&[u8]]) -> Vec<Vec<u8>> {
        lines.iter().map(|l| l.to_vec()).collect()
    }

    #[test]
    fn every_end_of_line() {
        assert_eq!(
            lines(&[b"a\r\nb\r\0c\rd\ne\n\rf", b""], 64),
            v(&[b"a\r\n", b"b\r", b"c\r", b"d\n", b"e\n", b"\r", b"f"]),
            "CR LF, CR NUL (NUL dropped), lone CR, LF, LF CR is no pair, the rest at EOF"
        );
    }

    #[test]
    fn a_cr_at_the_end_so_far_ends_the_line_and_takes_the_next_lf_or_nul() {
        assert_eq!(
            lines(&[b"one\r", b"\ntwo\r", b"\0three\n", b""], 64),
            v(&[b"one\r", b"two\r", b"three\n"])
        );
        // Only the one byte right after: a second LF is a line.
        assert_eq!(
            lines(&[b"four\r", b"\n\n", b""], 64),
            v(&[b"four\r", b"\n"])
        );
        // Any other byte is kept.
        assert_eq!(lines(&[b"x\r", b"y\n", b""], 64), v(&[b"x\r", b"y\n"]));
        // The pending CR waits through empty reads.
        assert_eq!(
            lines(&[b"x\r", b"", b"", b"\ny\n", b""], 64),
            v(&[b"x\r", b"y\n"])
        );
    }

    #[test]
    fn at_end_of_file_a_last_cr_is_complete() {
        assert_eq!(lines(&[b"x\r"], 64), v(&[b"x\r"]));
        assert_eq!(lines(&[b"x"], 64), v(&[b"x"]));
        assert_eq!(lines(&[b""], 64), Vec::<Vec<u8>>::new());
    }

    #[test]
    fn the_pending_skip_is_reported_even_without_a_line() {
        let mut splitter = LineSplitter::new();
        assert_eq!(
            splitter.split(b"a\r", true, 64),
            Split::Line {
                line: 0..2,
                consumed: 2
            }
        );
        assert!(splitter.after_cr());
        assert_eq!(
            splitter.split(b"\nxy", true, 64),
            Split::Incomplete { consumed: 1 }
        );
        // The search goes on from where it stopped, in the buffer without the LF.
        assert_eq!(
            splitter.split(b"xyz\n", true, 64),
            Split::Line {
                line: 0..4,
                consumed: 4
            }
        );
        splitter.split(b"a\r", true, 64);
        splitter.reset();
        assert_eq!(
            splitter.split(b"\n", true, 64),
            Split::Line {
                line: 0..1,
                consumed: 1
            },
            "reset forgets the CR"
        );
    }

    #[test]
    fn long_lines_come_in_pieces_of_the_limit() {
        assert_eq!(
            lines(&[&[b'x'; 10], b"\r\nab\n", b""], 4),
            v(&[b"xxxx", b"xxxx", b"xx\r\n", b"ab\n"])
        );
        // A CR at the limit's edge: the piece ends there, nothing is dropped after.
        assert_eq!(
            lines(&[b"abcd\r\nq\n", b""], 4),
            v(&[b"abcd", b"\r\n", b"q\n"])
        );
        // A CR LF across the edge: the piece ends with the CR, which takes its LF.
        assert_eq!(lines(&[b"abc\r\nq\n", b""], 4), v(&[b"abc\r", b"q\n"]));
        // So does a CR NUL, whose NUL is dropped.
        assert_eq!(lines(&[b"abc\r\0q\n", b""], 4), v(&[b"abc\r", b"q\n"]));
        // No end of line and more to come: wait below the limit, not at it.
        let mut splitter = LineSplitter::new();
        assert_eq!(
            splitter.split(b"abc", true, 4),
            Split::Incomplete { consumed: 0 }
        );
        assert_eq!(
            splitter.split(b"abcd", true, 4),
            Split::Line {
                line: 0..4,
                consumed: 4
            }
        );
        // A limit of 0 is taken as 1.
        assert_eq!(lines(&[b"ab", b""], 0), v(&[b"a", b"b"]));
    }

    /// The rules of the module docs, byte by byte, on the whole input: the reference
    /// the incremental splitter must agree with however the input is cut.
    fn reference(data: &[u8], limit: usize) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut line = Vec::new();
        let mut i = 0;
        while i < data.len() {
            let byte = data[i];
            i += 1;
            line.push(byte);
            let mut ended = byte == b'\n';
            if byte == b'\r' {
                ended = true;
                match data.get(i) {
                    Some(b'\n') if line.len() < limit => {
                        line.push(b'\n');
                        i += 1;
                    }
                    Some(b'\n' | 0) => i += 1,
                    _ => {}
                }
            }
            if ended || line.len() == limit {
                out.push(std::mem::take(&mut line));
            }
        }
        if !line.is_empty() {
            out.push(line);
        }
        out
    }

    proptest! {
        /// However the data is cut into reads, the lines are those of the whole data,
        /// but for the LF of a CR LF cut between two reads, which is dropped rather than
        /// kept (the line had to end at the CR); with no cut, exactly those.
        #[test]
        fn cuts_do_not_change_the_lines(
            data in proptest::collection::vec(
                prop_oneof![Just(b'\r'), Just(b'\n'), Just(0u8), Just(b'a')], 0..200),
            cuts in proptest::collection::vec(0usize..200, 0..8),
            limit in 1usize..12,
        ) {
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
            cuts.sort_unstable();
            let mut chunks: Vec<&[u8]> = Vec::new();
            let mut at = 0;
            for cut in cuts {
                chunks.push(&data[at..cut]);
                at = cut;
            }
            chunks.push(&data[at..]);
            chunks.push(b"");
            let expected = reference(&data, limit);
            prop_assert_eq!(&lines(&[&data, b""], limit), &expected);
            let cr_lf_as_cr = |lines: Vec<Vec<u8>>| -> Vec<Vec<u8>> {
                lines
                    .into_iter()
                    .map(|mut line| {
                        if line.ends_with(b"\r\n") {
                            line.pop();
                        }
                        line
                    })
                    .collect()
            };
            prop_assert_eq!(cr_lf_as_cr(lines(&chunks, limit)), cr_lf_as_cr(expected));
        }
    }
}
