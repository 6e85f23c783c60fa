//! The 8-bit home-computer encodings telnetlib3 adds for BBSes: ATASCII (Atari 8-bit),
//! PETSCII (Commodore 64/128, shifted set) and the Atari ST character set. Unlike the code
//! pages of [`super`], they redefine the control range too, so every byte has its own entry.

use super::retro_tables::{
    ATARIST_DECODE, ATARIST_ENCODE, ATASCII_DECODE, ATASCII_ENCODE, PETSCII_DECODE, PETSCII_ENCODE,
};

/// A single-byte encoding with a character for each of the 256 bytes.
#[derive(Debug)]
pub(super) struct FullTable {
    /// telnetlib3's name of the codec.
    pub(super) name: &'static str,
    decode: &'static [char; 256],
    /// Sorted by character. The inverse-video halves of ATASCII and PETSCII show the same
    /// characters as the normal halves, so encoding picks one byte, as telnetlib3 does.
    encode: &'static [(char, u8)],
    /// ATASCII has one end-of-line byte (0x9B, read as `\n`) and no CR: telnetlib3 writes
    /// CR, LF and CR LF all as 0x9B.
    folds_cr: bool,
}

pub(super) static ATASCII: FullTable = FullTable {
    name: "atascii",
    decode: &ATASCII_DECODE,
    encode: &ATASCII_ENCODE,
    folds_cr: true,
};

pub(super) static PETSCII: FullTable = FullTable {
    name: "petscii",
    decode: &PETSCII_DECODE,
    encode: &PETSCII_ENCODE,
    folds_cr: false,
};

pub(super) static ATARIST: FullTable = FullTable {
    name: "atarist",
    decode: &ATARIST_DECODE,
    encode: &ATARIST_ENCODE,
    folds_cr: false,
};

/// The codec for a name without `-`, `_` or spaces, with telnetlib3's aliases.
pub(super) fn lookup(compact: &str) -> Option<&'static FullTable> {
    match compact {
        "atascii" | "atari8bit" => Some(&ATASCII),
        "petscii" | "cbm" | "commodore" | "c64" | "c128" => Some(&PETSCII),
        "atarist" | "atari" => Some(&ATARIST),
        _ => None,
    }
}

impl FullTable {
    /// Every byte decodes: there are no errors to report.
    pub(super) fn decode(&self, input: &[u8], out: &mut String) {
        out.reserve(input.len());
        out.extend(input.iter().map(|&byte| self.decode[usize::from(byte)]));
    }

    fn byte_of(&self, c: char) -> Option<u8> {
        self.encode
            .binary_search_by_key(&c, |&(character, _)| character)
            .ok()
            .map(|i| self.encode[i].1)
    }
}

/// The encoder's state: whether the last character written was a CR that was folded into
/// an end of line, so that an LF right after it (maybe in the next call) is not a second one.
#[derive(Debug)]
pub(super) struct FullTableEncoder {
    pub(super) table: &'static FullTable,
    after_cr: bool,
}

impl FullTableEncoder {
    pub(super) fn new(table: &'static FullTable) -> Self {
        Self {
            table,
            after_cr: false,
        }
    }

    /// The byte for `c`: `Ok(None)` when nothing is written (the LF of a folded CR LF),
    /// `Err(())` when the encoding has no byte for it.
    pub(super) fn encode_char(&mut self, c: char) -> Result<Option<u8>, ()> {
        let mut c = c;
        if self.table.folds_cr {
            let after_cr = std::mem::replace(&mut self.after_cr, c == '\r');
            match c {
                '\n' if after_cr => return Ok(None),
                '\r' => c = '\n',
                _ => {}
            }
        }
        self.table.byte_of(c).map(Some).ok_or(())
    }
}
