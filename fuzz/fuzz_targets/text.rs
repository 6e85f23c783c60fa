//! Text decoding of what a peer sends, in every kind of encoding the library has: UTF-8
//! (its own validator), encoding_rs's multi-byte sets, the single-byte tables, the
//! 256-entry retro tables, and the stateful Big5-BBS decoder. Any bytes, cut anywhere,
//! decode without a panic in every error mode, a decoder's error leaves it usable, and
//! what was decoded encodes back (lossily) without a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use telnetlib3::text::{Encoding, ErrorMode};

const NAMES: [&str; 9] = [
    "utf8", "cp437", "atascii", "petscii", "atarist", "big5bbs", "big5", "latin1", "shift_jis",
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(encoding) = Encoding::from_name(NAMES[usize::from(selector) % NAMES.len()]) else {
        panic!("a known encoding is refused");
    };
    let mode = match selector / 16 % 3 {
        0 => ErrorMode::Strict,
        1 => ErrorMode::Replace,
        _ => ErrorMode::Ignore,
    };
    // The input arrives in reads cut where the fuzzer says (the first byte of each
    // piece is its length), as a socket cuts it.
    let mut decoder = encoding.decoder(mode);
    let mut text = String::new();
    let mut input = rest;
    while !input.is_empty() {
        let take = (usize::from(input[0]) % 16 + 1).min(input.len());
        let (piece, after) = input.split_at(take);
        input = after;
        let _ = decoder.decode(piece, input.is_empty(), &mut text);
    }
    if let Ok(mut encoder) = encoding.encoder(ErrorMode::Replace) {
        let mut bytes = Vec::new();
        let _ = encoder.encode(&text, &mut bytes);
    }
});
