//! `big5bbs`: what Taiwanese BBSes (PttBBS, DreamBBS) send, as PCMan reads it and as
//! telnetlib3's codec decodes it: Big5 text mixed with lone high bytes drawn as CP437
//! half-width art (typically right before an escape sequence, or repeated as a fill).
//!
//! A lead byte 0xA1..=0xFE followed by a byte that makes a defined Big5 character is that
//! character; otherwise the lead byte alone is its CP437 character and the next byte is
//! read afresh. Other bytes are Latin-1 (ASCII below 0x80). A lead byte at the end of the
//! input waits for the next one.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::big5_table::BIG5;

const TRAILS_PER_LEAD: usize = 157;

/// The character of a Big5 pair as Python's `big5` codec has it, if defined.
fn big5_pair(lead: u8, trail: u8) -> Option<char> {
    let trail_index = match trail {
        0x40..=0x7E => usize::from(trail - 0x40),
        0xA1..=0xFE => usize::from(trail - 0xA1) + 63,
        _ => return None,
    };
    let index = usize::from(lead.checked_sub(0xA1)?) * TRAILS_PER_LEAD + trail_index;
    match BIG5.get(index) {
        Some(&code) if code != 0 => char::from_u32(u32::from(code)),
        _ => None,
    }
}

/// CP437's character for a high byte (the table of [`super`] for 0x80..=0xFF).
fn cp437(byte: u8) -> char {
    super::oem_table(437)
        .and_then(|table| table[usize::from(byte - 0x80)])
        .unwrap_or('\u{FFFD}')
}

/// The decoder's state: a lead byte held from the end of the previous input.
#[derive(Debug, Default)]
pub(super) struct Big5BbsDecoder {
    pending: Option<u8>,
}

impl Big5BbsDecoder {
    /// Every byte decodes to something: there are no errors to report.
    pub(super) fn decode(&mut self, input: &[u8], last: bool, out: &mut String) {
        out.reserve(input.len());
        let mut rest = input;
        if let Some(lead) = self.pending.take() {
            match rest.split_first() {
                None if !last => {
                    self.pending = Some(lead);
                    return;
                }
                Some((&trail, after)) => match big5_pair(lead, trail) {
                    Some(c) => {
                        out.push(c);
                        rest = after;
                    }
                    None => out.push(cp437(lead)),
                },
                None => out.push(cp437(lead)),
            }
        }
        let mut i = 0;
        while i < rest.len() {
            // ASCII runs, the bulk of BBS output, go through in one copy.
            let ascii = rest[i..]
                .iter()
                .position(|b| !b.is_ascii())
                .unwrap_or(rest.len() - i);
            if ascii > 0 {
                // ASCII is valid UTF-8.
                out.push_str(std::str::from_utf8(&rest[i..i + ascii]).unwrap_or_default());
                i += ascii;
                continue;
            }
            let byte = rest[i];
            match byte {
                0xA1..=0xFE => match rest.get(i + 1) {
                    Some(&trail) => match big5_pair(byte, trail) {
                        Some(c) => {
                            out.push(c);
                            i += 2;
                        }
                        None => {
                            out.push(cp437(byte));
                            i += 1;
                        }
                    },
                    None if last => {
                        out.push(cp437(byte));
                        i += 1;
                    }
                    None => {
                        self.pending = Some(byte);
                        i += 1;
                    }
                },
                _ => {
                    out.push(char::from(byte));
                    i += 1;
                }
            }
        }
    }
}

/// The bytes for `c`: Big5 first, CP437 for what Big5 lacks, as telnetlib3's encoder.
pub(super) fn encode_char(c: char, out: &mut Vec<u8>) -> bool {
    if c.is_ascii() {
        out.push(c as u8);
        return true;
    }
    if let Some(pair) = big5_reverse().get(&c) {
        out.extend_from_slice(pair);
        return true;
    }
    let cp437 = super::oem_table(437).and_then(|table| {
        table
            .iter()
            .position(|&t| t == Some(c))
            .map(|i| 0x80 + i as u8)
    });
    match cp437 {
        Some(byte) => {
            out.push(byte);
            true
        }
        None => false,
    }
}

/// Characters to Big5 pairs. Four characters have two pairs; Python's encoder writes the
/// later one, so later pairs win here too.
fn big5_reverse() -> &'static HashMap<char, [u8; 2]> {
    static REVERSE: OnceLock<HashMap<char, [u8; 2]>> = OnceLock::new();
    REVERSE.get_or_init(|| {
        let mut map = HashMap::with_capacity(BIG5.len());
        for lead in 0xA1..=0xFEu8 {
            for trail in (0x40..=0x7Eu8).chain(0xA1..=0xFE) {
                if let Some(c) = big5_pair(lead, trail) {
                    map.insert(c, [lead, trail]);
                }
            }
        }
        map
    })
}
