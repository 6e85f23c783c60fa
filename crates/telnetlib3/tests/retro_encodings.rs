//! telnetlib3's BBS encodings (`atascii`, `petscii`, `atarist`, `big5bbs`) against its own
//! codecs: every byte value decodes to what Python telnetlib3 5.0.1 gives, and text encodes
//! back to the bytes it writes. The reference is `retro_codecs.py`, run through
//! `$TELNETLIB3_PYTHON` (see `support::python`); without it these tests fail.

mod support;

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::process::{Command, Stdio};

use support::python::{python, script, Reaped};
use telnetlib3::text::{Encoding, ErrorMode};

/// One question for the reference codecs.
enum Ask<'a> {
    Decode(&'a [u8]),
    /// Decoded incrementally, in two pieces cut at the index.
    DecodeSplit(&'a [u8], usize),
    Encode(&'a str),
}

fn hex(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len() * 2 + 2);
    for byte in bytes {
        write!(text, "{byte:02x}").unwrap();
    }
    if text.is_empty() {
        // The script splits on whitespace: an empty field would be missing.
        text.push('-');
    }
    text
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// The reference's answers, in order: decoded text (as UTF-8) or encoded bytes.
fn ask_python(codec: &str, questions: &[Ask<'_>]) -> Vec<Vec<u8>> {
    let mut input = String::new();
    for question in questions {
        match question {
            Ask::Decode(bytes) => writeln!(input, "{codec} decode {}", hex(bytes)),
            Ask::DecodeSplit(bytes, cut) => {
                writeln!(input, "{codec} decode-split {} {cut}", hex(bytes))
            }
            Ask::Encode(text) => writeln!(input, "{codec} encode {}", hex(text.as_bytes())),
        }
        .unwrap();
    }
    let mut child = Reaped(
        Command::new(python())
            .arg(script("retro_codecs.py"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let mut stdin = child.0.stdin.take().unwrap();
    // Written from a thread: the answers fill the other pipe meanwhile.
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()).unwrap());
    let mut output = String::new();
    child
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut output)
        .unwrap();
    writer.join().unwrap();
    let answers: Vec<Vec<u8>> = output.lines().map(unhex).collect();
    assert_eq!(answers.len(), questions.len(), "the reference failed");
    answers
}

fn decode(codec: &str, bytes: &[u8]) -> String {
    let mut out = String::new();
    Encoding::from_name(codec)
        .unwrap()
        .decoder(ErrorMode::Replace)
        .decode(bytes, true, &mut out)
        .unwrap();
    out
}

fn encode(codec: &str, text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    Encoding::from_name(codec)
        .unwrap()
        .encoder(ErrorMode::Replace)
        .unwrap()
        .encode(text, &mut out)
        .unwrap();
    out
}

/// Each of the 256 bytes alone, all 256 in a row, and each decoded character encoded
/// back (lossy where two bytes show one character: telnetlib3 picks the normal byte).
#[test]
fn single_byte_retro_codecs_decode_and_encode_every_byte_as_telnetlib3() {
    let every: Vec<u8> = (0..=255).collect();
    for codec in ["atascii", "petscii", "atarist"] {
        let singles: Vec<[u8; 1]> = every.iter().map(|&b| [b]).collect();
        let ours: Vec<String> = singles.iter().map(|b| decode(codec, b)).collect();
        let mut questions: Vec<Ask<'_>> = singles.iter().map(|b| Ask::Decode(b)).collect();
        questions.push(Ask::Decode(&every));
        questions.extend(ours.iter().map(|text| Ask::Encode(text)));
        // Line ends: ATASCII writes CR, LF and CR LF as its one EOL byte, 0x9B.
        let line_ends = "a\rb\r\nc\nd\n\re\u{2665}\u{1F600}";
        questions.push(Ask::Encode(line_ends));
        let answers = ask_python(codec, &questions);
        let (decoded, rest) = answers.split_at(256);
        for (byte, (text, want)) in ours.iter().zip(decoded).enumerate() {
            assert_eq!(text.chars().count(), 1, "{codec} {byte:#04x}");
            assert_eq!(text.as_bytes(), want, "{codec} decodes {byte:#04x}");
        }
        assert_eq!(
            decode(codec, &every).as_bytes(),
            rest[0],
            "{codec}: all 256"
        );
        for (text, want) in ours.iter().zip(&rest[1..257]) {
            assert_eq!(&encode(codec, text), want, "{codec} encodes {text:?}");
        }
        assert_eq!(encode(codec, line_ends), rest[257], "{codec} line ends");
    }
    // Facts worth seeing in the test itself.
    assert_eq!(decode("atascii", b"\x9b\x0a"), "\n\u{25e3}");
    assert_eq!(encode("atascii", "\r\n"), b"\x9b");
    assert_eq!(
        encode("atascii", "\u{2665}"),
        b"\x00",
        "normal, not inverse (0x80)"
    );
    assert_eq!(decode("petscii", b"\x41\xc1"), "aA", "the shifted set");
}

/// An ATASCII CR LF cut between two `encode` calls is still one EOL byte.
#[test]
fn atascii_cr_lf_split_between_writes_is_one_end_of_line() {
    let atascii = Encoding::from_name("atascii").unwrap();
    let mut encoder = atascii.encoder(ErrorMode::Strict).unwrap();
    let mut out = Vec::new();
    encoder.encode("a\r", &mut out).unwrap();
    encoder.encode("\nb\r", &mut out).unwrap();
    encoder.encode("c", &mut out).unwrap();
    assert_eq!(out, b"a\x9bb\x9bc");
}

#[test]
fn telnetlib3_names_and_aliases() {
    for (name, canonical) in [
        ("atascii", "atascii"),
        ("ATASCII", "atascii"),
        ("atari8bit", "atascii"),
        ("atari_8bit", "atascii"),
        ("atari-8bit", "atascii"),
        ("petscii", "petscii"),
        ("cbm", "petscii"),
        ("commodore", "petscii"),
        ("c64", "petscii"),
        ("C128", "petscii"),
        ("atarist", "atarist"),
        ("atari", "atarist"),
        ("big5bbs", "big5bbs"),
        ("big5_bbs", "big5bbs"),
        ("big5-pcman", "big5bbs"),
        ("big5_pcmanx", "big5bbs"),
        ("big5_ptt", "big5bbs"),
    ] {
        assert_eq!(
            Encoding::from_name(name).unwrap().canonical_name(),
            canonical,
            "{name}"
        );
    }
}

/// Every two-byte sequence with a Big5 lead byte (0xA1..=0xFE) and any second byte, and
/// every lead byte alone: defined Big5 pairs are Big5 (as Python's `big5`, not WHATWG's
/// extended Big5), the rest a CP437 half-width byte then the second byte read afresh.
#[test]
fn big5bbs_decodes_every_lead_and_pair_and_encodes_as_telnetlib3() {
    let mut inputs: Vec<Vec<u8>> = Vec::new();
    for lead in 0xA1..=0xFEu8 {
        inputs.push(vec![lead]);
        for second in 0..=0xFFu8 {
            inputs.push(vec![lead, second]);
        }
    }
    // The bytes below the lead range, and a BBS line: Big5 text, half-width art before
    // escape sequences, 0xF9 fills that are not Big5.
    inputs.push((0..=0xA0).chain([0xFF]).collect());
    inputs.push(b"\xa4\xa4\xa4\xe5 \xa1\x1b[1;33m\xf9\xf9\xf9\xf9\xa1\xb4\xff\x1b[m\r\n".to_vec());
    let ours: Vec<String> = inputs.iter().map(|b| decode("big5bbs", b)).collect();
    let mut questions: Vec<Ask<'_>> = inputs.iter().map(|b| Ask::Decode(b)).collect();
    // Encoding back: Big5 first, CP437 for the rest, `?` for what neither has.
    questions.extend(ours.iter().map(|text| Ask::Encode(text)));
    let answers = ask_python("big5bbs", &questions);
    let (decoded, encoded) = answers.split_at(inputs.len());
    for ((input, text), want) in inputs.iter().zip(&ours).zip(decoded) {
        assert_eq!(text.as_bytes(), want, "big5bbs decodes {input:02x?}");
    }
    for (text, want) in ours.iter().zip(encoded) {
        assert_eq!(&encode("big5bbs", text), want, "big5bbs encodes {text:?}");
    }
    assert_eq!(decode("big5bbs", b"\xa4\xa4\xf9\xf9\x1b"), "中∙∙\u{1b}");
}

/// A Big5-BBS stream cut at every point decodes as telnetlib3's incremental decoder does
/// (a lead byte at the end of one read waits for the next).
#[test]
fn big5bbs_sequences_split_at_every_chunk_boundary() {
    let stream: &[u8] =
        b"\xa4\xa4\xa4\xe5\xf9\xf9\xf9\x1b[0m\xa1\xa1\xa1 \xc6\xa1\xfe\xa4\xfe\xfe\xfe";
    let questions: Vec<Ask<'_>> = (0..=stream.len())
        .map(|cut| Ask::DecodeSplit(stream, cut))
        .collect();
    let answers = ask_python("big5bbs", &questions);
    let big5bbs = Encoding::from_name("big5bbs").unwrap();
    for (cut, want) in answers.iter().enumerate() {
        let mut decoder = big5bbs.decoder(ErrorMode::Strict);
        let mut out = String::new();
        decoder.decode(&stream[..cut], false, &mut out).unwrap();
        decoder.decode(&stream[cut..], true, &mut out).unwrap();
        assert_eq!(out.as_bytes(), want, "cut at {cut}");
        // And one byte at a time.
        let mut decoder = big5bbs.decoder(ErrorMode::Strict);
        let mut bytewise = String::new();
        for byte in stream {
            decoder
                .decode(std::slice::from_ref(byte), false, &mut bytewise)
                .unwrap();
        }
        decoder.decode(b"", true, &mut bytewise).unwrap();
        assert_eq!(bytewise.as_bytes(), want, "byte by byte");
    }
}
