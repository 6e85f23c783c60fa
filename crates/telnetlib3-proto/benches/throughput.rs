//! Parse and escape throughput on three payloads, fed in 64 KiB chunks.
//!
//! `cargo bench -p telnetlib3-proto --bench throughput` prints bytes/s for each case.
//! "binary" cases treat data as in BINARY mode (only IAC is special, like libtelnet);
//! "nvt" cases apply the NVT end-of-line rules as well (CR NUL on input, LF -> CR LF on
//! output), which is what a session does before BINARY is negotiated.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use telnetlib3_proto::{Encoder, Handler, Parser};

const PAYLOAD_LEN: usize = 4 << 20;
const CHUNK: usize = 64 << 10;

/// A small deterministic generator (xorshift64*), so every run measures the same bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// 80-column lines of printable ASCII, each ended by `eol`.
fn ascii_lines(eol: &[u8]) -> Vec<u8> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut out = Vec::with_capacity(PAYLOAD_LEN);
    while out.len() < PAYLOAD_LEN {
        for _ in 0..80 {
            out.push(b' ' + (rng.next() % 95) as u8);
        }
        out.extend_from_slice(eol);
    }
    out.truncate(PAYLOAD_LEN);
    out
}

/// Uniform random bytes with every 10th byte 0xFF.
fn tenth_iac() -> Vec<u8> {
    let mut out = random();
    for byte in out.iter_mut().step_by(10) {
        *byte = 0xFF;
    }
    out
}

fn random() -> Vec<u8> {
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    (0..PAYLOAD_LEN).map(|_| (rng.next() >> 32) as u8).collect()
}

struct Consume {
    bytes: usize,
    nvt: bool,
}

impl Handler for Consume {
    fn data(&mut self, data: &[u8]) {
        self.bytes += black_box(data).len();
    }
    fn nvt_input(&self) -> bool {
        self.nvt
    }
}

/// What goes on the wire for `data`: IAC doubled, so the parser sees real Telnet.
fn wire(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    Encoder::new().encode(data, false, &mut out);
    out
}

fn payloads() -> [(&'static str, Vec<u8>); 3] {
    [
        ("ascii-80col", ascii_lines(b"\r\n")),
        ("random-10pct-ff", tenth_iac()),
        ("random", random()),
    ]
}

fn parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    for (name, data) in payloads() {
        let input = wire(&data);
        group.throughput(Throughput::Bytes(input.len() as u64));
        for nvt in [false, true] {
            let mode = if nvt { "nvt" } else { "binary" };
            group.bench_with_input(BenchmarkId::new(mode, name), &input, |b, input| {
                let mut parser = Parser::new();
                b.iter(|| {
                    let mut sink = Consume { bytes: 0, nvt };
                    for chunk in input.chunks(CHUNK) {
                        parser.advance(&mut sink, chunk);
                    }
                    sink.bytes
                });
            });
        }
    }
    group.finish();
}

fn escape(c: &mut Criterion) {
    let mut group = c.benchmark_group("escape");
    let mut payloads = payloads().to_vec();
    // Output end-of-line translation is measured on lines ended by a bare LF.
    payloads[0].1 = ascii_lines(b"\n");
    for (name, data) in payloads {
        group.throughput(Throughput::Bytes(data.len() as u64));
        for nvt in [false, true] {
            let mode = if nvt { "nvt" } else { "binary" };
            group.bench_with_input(BenchmarkId::new(mode, name), &data, |b, data| {
                let mut encoder = Encoder::new();
                let mut out = Vec::with_capacity(2 * CHUNK);
                b.iter(|| {
                    let mut total = 0;
                    for chunk in data.chunks(CHUNK) {
                        out.clear();
                        encoder.encode(chunk, nvt, &mut out);
                        total += black_box(&out).len();
                    }
                    total
                });
            });
        }
    }
    group.finish();
}

/// Anchors measured in the same run: a bare memchr count of 0xFF, and a plain copy.
fn anchor(c: &mut Criterion) {
    let mut group = c.benchmark_group("anchor");
    for (name, data) in payloads() {
        group.throughput(Throughput::Bytes(data.len() as u64));
        group.bench_with_input(BenchmarkId::new("memchr-count", name), &data, |b, data| {
            b.iter(|| {
                data.chunks(CHUNK)
                    .map(|chunk| memchr::memchr_iter(0xFF, chunk).count())
                    .sum::<usize>()
            });
        });
        group.bench_with_input(BenchmarkId::new("copy", name), &data, |b, data| {
            let mut out = Vec::with_capacity(CHUNK);
            b.iter(|| {
                let mut total = 0;
                for chunk in data.chunks(CHUNK) {
                    out.clear();
                    out.extend_from_slice(chunk);
                    total += black_box(&out).len();
                }
                total
            });
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = anchor, parse, escape
}
criterion_main!(benches);
