//! The zlib streams of MCCP2 and MCCP3, the driver's half: the session says where a
//! stream starts and ends (see `telnetlib3_proto::options::mccp`); this runs zlib.
//!
//! zlib is zlib-rs, used directly rather than through flate2: flate2 fixes zlib's
//! `memLevel` at 8 in every backend, and telnetlib3's compressor (wbits 12, memLevel 5)
//! is only that small with both set. Both are safe Rust (zlib-rs is a port of zlib-ng).
//!
//! Memory, per connection, only while a stream runs (measured with zlib-rs 0.6.9 and a
//! counting allocator):
//! - compressing (MCCP2 on a server, MCCP3 on a client): [`MCCP_COMPRESSOR_BYTES`], 161 KiB:
//!   the 4 KiB window (wbits 12) twice, its 8 KiB chain table, zlib-ng's fixed 128 KiB
//!   hash table, and memLevel 5's symbol buffers (zlib's defaults, wbits 15 and memLevel
//!   8, would take 371 KiB);
//! - decompressing: [`MCCP_DECOMPRESSOR_BYTES`], 47 KiB: the peer chooses its window, up to
//!   32 KiB (RFC 1950), so ours must hold that much, plus inflate's state and tables;
//! - decompressed input not yet taken: at most the reader's room (its `limit` less what
//!   it holds), so the unread input never exceeds `limit`, however much the peer's bytes
//!   inflate (a zip bomb is read at the pace the shell reads).

use telnetlib3_proto::options::mccp::CompressionSwitch;
use zlib_rs::{
    Deflate, DeflateConfig, DeflateFlush, Inflate, InflateFlush, Method, Status, Strategy,
};

/// telnetlib3's compressor: `zlib.compressobj(9, DEFLATED, 12, 5)`, best compression
/// with a 4 KiB window and memLevel 5.
const LEVEL: i32 = 9;
/// The compressor's window, 2^12 bytes (telnetlib3's wbits).
const WINDOW_BITS: i32 = 12;
/// zlib's memLevel (telnetlib3's).
const MEM_LEVEL: i32 = 5;
/// RFC 1950's largest window: the peer's stream may use it.
const MAX_WINDOW_BITS: u8 = 15;

/// What a connection's MCCP compressor holds while our output is compressed, in bytes:
/// zlib-rs with telnetlib3's settings (wbits 12, memLevel 5), measured with a counting
/// allocator.
pub const MCCP_COMPRESSOR_BYTES: usize = 165_120;
/// What a connection's MCCP decompressor holds while the peer's output is compressed,
/// in bytes (a 32 KiB window, the most RFC 1950 lets a peer use, and inflate's state).
pub const MCCP_DECOMPRESSOR_BYTES: usize = 47_680;

/// How long a server's compressed output stays idle before its zlib stream is finished
/// and the compressor freed ([`ServerConfig::compression_idle_release`](crate::ServerConfig::compression_idle_release)'s
/// default); the next output starts a new stream with a new `IAC SB MCCP2 IAC SE`.
///
/// Why 5 s: a restart costs some 15 bytes on the wire (the `SB`, a zlib header, the
/// end of the old stream) and the 4 KiB of history the next output would have been
/// matched against, so it should not happen between the bursts of an active player: a
/// DikuMUD combat round is 3 s, prompts and channel chatter come every few seconds. A
/// connection quiet for longer is most likely idle for minutes (an AFK player), and
/// most of a MUD's connections are; those then hold no compressor (161 KiB each).
pub const MCCP_IDLE_RELEASE: std::time::Duration = std::time::Duration::from_secs(5);

/// The most inflated in one step.
const INFLATE_CHUNK: usize = 16 * 1024;

/// A connection's zlib streams, both ways, and the decompressed input the session has
/// not taken yet.
#[derive(Default)]
pub(super) struct Streams {
    /// Our output's stream, while one runs.
    deflate: Option<Box<Deflate>>,
    /// At the start of the peer's stream, before its first compressed byte: Telnet
    /// commands that came plain after the peer's SB (see [`PlainLead`]).
    lead: Option<PlainLead>,
    /// The peer's stream, while one runs.
    inflate: Option<Box<Inflate>>,
    /// The last inflate filled the room it was given: zlib may hold more output with no
    /// more input (a long match), so it is asked again before more is read.
    pub(super) inflate_more: bool,
    /// Decompressed input the session has not taken (its output was full).
    pub(super) inflated: Vec<u8>,
    /// Compressed bytes in and decompressed bytes out, compressed bytes in and out the
    /// other way (for the connection's statistics).
    pub(super) counts: Counts,
}

/// Bytes through the zlib streams.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Counts {
    /// Bytes of our output before compression.
    pub(super) plain_out: u64,
    /// The same after compression.
    pub(super) compressed_out: u64,
    /// Compressed bytes the peer sent.
    pub(super) compressed_in: u64,
    /// The same after decompression.
    pub(super) plain_in: u64,
}

/// telnetlib3 5.0.1's client starts compressing only after the read that held the
/// server's `WILL MCCP3`, but sends its `IAC SB MCCP3 IAC SE` while handling that WILL:
/// its answers to the rest of that read follow the SB plain, and only then its zlib
/// stream. MCCP3 says everything after the SE is compressed, so those answers would be
/// a corrupt stream and the session would end. A zlib stream cannot begin with IAC (its
/// first byte is 0x?8, RFC 1950 CM = 8), so whole Telnet commands (IAC ...) right after
/// the SB are taken as plain, until the first byte that is not part of one: the stream.
/// A conforming peer is never affected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum PlainLead {
    /// Between commands: an IAC starts one, anything else starts the stream.
    #[default]
    Between,
    /// After IAC.
    Iac,
    /// After IAC WILL/WONT/DO/DONT: the option byte ends the command.
    Verb,
    /// Inside IAC SB ...
    Sub,
    /// Inside a subnegotiation, after IAC.
    SubIac,
}

impl PlainLead {
    /// [`PlainLead::scan`] without moving on.
    fn clone_scan(self, input: &[u8]) -> usize {
        let mut copy = self;
        copy.scan(input)
    }

    /// How many bytes of `input` belong to plain commands, continuing one the last
    /// input ended inside.
    fn scan(&mut self, input: &[u8]) -> usize {
        const IAC: u8 = 0xff;
        for (at, &byte) in input.iter().enumerate() {
            *self = match (*self, byte) {
                (Self::Between, IAC) => Self::Iac,
                (Self::Between, _) => return at,
                // WILL, WONT, DO, DONT
                (Self::Iac, 0xfb..=0xfe) => Self::Verb,
                (Self::Iac, 0xfa) => Self::Sub,
                (Self::Iac | Self::Verb, _) => Self::Between,
                (Self::Sub, IAC) => Self::SubIac,
                (Self::Sub, _) | (Self::SubIac, IAC) => Self::Sub,
                (Self::SubIac, _) => Self::Between,
            };
        }
        input.len()
    }
}

/// How one inflate step went.
pub(super) enum Inflated {
    /// `consumed` bytes of input were taken; the output is in [`Streams::inflated`].
    Some { consumed: usize },
    /// The stream ended after `consumed` bytes: what follows is plain Telnet.
    End { consumed: usize },
    /// The stream is corrupt (zlib's reason).
    Corrupt(&'static str),
}

impl Streams {
    /// Whether the peer's stream runs.
    pub(super) fn inflating(&self) -> bool {
        self.inflate.is_some()
    }

    /// Whether our stream runs.
    pub(super) fn deflating(&self) -> bool {
        self.deflate.is_some()
    }

    /// The peer's stream starts; `plain_lead`: Telnet commands sent plain before its
    /// first compressed byte are taken as plain ([`PlainLead`]).
    pub(super) fn start_inflate(&mut self, plain_lead: bool) {
        self.inflate = Some(Box::new(Inflate::new(true, MAX_WINDOW_BITS)));
        self.inflate_more = false;
        self.lead = plain_lead.then(PlainLead::default);
    }

    /// How many bytes at the start of `input` are Telnet commands sent plain before the
    /// peer's stream really starts. 0 when none: with `input` not empty, its first byte
    /// is the stream's, and no more are looked for in this stream.
    pub(super) fn plain_lead(&mut self, input: &[u8]) -> usize {
        let Some(lead) = self.lead else {
            return 0;
        };
        let plain = lead.clone_scan(input);
        if plain == 0 && !input.is_empty() {
            self.lead = None;
        }
        plain
    }

    /// The session took `taken`, a prefix of what [`Streams::plain_lead`] found.
    pub(super) fn took_plain(&mut self, taken: &[u8]) {
        if let Some(lead) = &mut self.lead {
            lead.scan(taken);
        }
    }

    /// Inflate from `input` into [`Streams::inflated`] (which must be empty), at most
    /// `room` bytes.
    pub(super) fn inflate(&mut self, input: &[u8], room: usize) -> Inflated {
        let Some(inflate) = self.inflate.as_deref_mut() else {
            return Inflated::End { consumed: 0 };
        };
        let room = room.min(INFLATE_CHUNK);
        self.inflated.resize(room, 0);
        let (in_before, out_before) = (inflate.total_in(), inflate.total_out());
        let status = inflate.decompress(input, &mut self.inflated, InflateFlush::NoFlush);
        let consumed = usize::try_from(inflate.total_in() - in_before).unwrap_or(input.len());
        let produced = usize::try_from(inflate.total_out() - out_before).unwrap_or(0);
        self.inflated.truncate(produced);
        self.counts.compressed_in += consumed as u64;
        self.counts.plain_in += produced as u64;
        self.inflate_more = produced == room;
        match status {
            Ok(Status::StreamEnd) => {
                self.inflate = None;
                self.inflate_more = false;
                Inflated::End { consumed }
            }
            Ok(Status::Ok | Status::BufError) => Inflated::Some { consumed },
            Err(error) => {
                self.inflate = None;
                self.inflate_more = false;
                self.inflated.clear();
                Inflated::Corrupt(error.as_str())
            }
        }
    }

    /// Append `plain`, the bytes a `poll_transmit` handed over, to `out` as they go on
    /// the wire: compressed from each start to the next end (`compressed`: the batch
    /// begins inside a running stream), each run flushed with `Z_SYNC_FLUSH` so that the
    /// peer can decode everything sent so far (telnetlib3 flushes each write the same
    /// way), and each end finished with `Z_FINISH`.
    pub(super) fn compress_batch(
        &mut self,
        plain: &[u8],
        compressed: bool,
        switches: &[CompressionSwitch],
        out: &mut Vec<u8>,
    ) {
        let mut on = compressed;
        let mut from = 0;
        for switch in switches {
            let to = switch.offset.clamp(from, plain.len());
            let run = &plain[from..to];
            match (on, switch.compress) {
                (true, false) => self.deflate(run, DeflateFlush::Finish, out),
                (false, _) => out.extend_from_slice(run),
                // A start inside a running stream does not happen; keep compressing.
                (true, true) => self.deflate(run, DeflateFlush::SyncFlush, out),
            }
            if !switch.compress {
                self.deflate = None;
            }
            on = switch.compress;
            from = to;
        }
        let run = &plain[from..];
        if on {
            if !run.is_empty() {
                self.deflate(run, DeflateFlush::SyncFlush, out);
            }
        } else {
            out.extend_from_slice(run);
        }
    }

    /// Compress `input` with `flush` onto `out`, starting a stream if none runs.
    fn deflate(&mut self, input: &[u8], flush: DeflateFlush, out: &mut Vec<u8>) {
        let deflate = self.deflate.get_or_insert_with(|| {
            Box::new(Deflate::new_with_config(DeflateConfig {
                level: LEVEL,
                method: Method::Deflated,
                window_bits: WINDOW_BITS,
                mem_level: MEM_LEVEL,
                strategy: Strategy::Default,
            }))
        });
        let mut rest = input;
        loop {
            // The bound zlib gives for this input, and some slack for the flush markers.
            let spare = rest.len() + rest.len() / 1000 + 64;
            let at = out.len();
            out.resize(at + spare, 0);
            let (in_before, out_before) = (deflate.total_in(), deflate.total_out());
            let status = deflate.compress(rest, &mut out[at..], flush);
            let consumed = usize::try_from(deflate.total_in() - in_before).unwrap_or(rest.len());
            let produced = usize::try_from(deflate.total_out() - out_before).unwrap_or(0);
            out.truncate(at + produced);
            rest = &rest[consumed..];
            self.counts.plain_out += consumed as u64;
            self.counts.compressed_out += produced as u64;
            let done = match status {
                Ok(Status::StreamEnd) => true,
                // Not finished: done once the input is in and the output had room left
                // (zlib stops a flush only for want of room).
                Ok(_) => flush != DeflateFlush::Finish && rest.is_empty() && produced < spare,
                // Only a misuse of the stream fails; the output so far is what it is.
                Err(_) => true,
            };
            if done {
                return;
            }
        }
    }
}
