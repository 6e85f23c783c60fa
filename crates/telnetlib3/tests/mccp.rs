//! MCCP2 and MCCP3 over TCP on 127.0.0.1: our server and our client, and hostile or
//! scripted peers on raw sockets speaking zlib themselves. Every wait is bounded.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use support::{local, next_line, port, PATIENCE};
use telnetlib3::proto::{Event, TelnetOption};
use telnetlib3::{create_server, open_connection, ClientConfig, TelnetWriter, DEFAULT_LIMIT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;
use zlib_rs::{Deflate, DeflateConfig, DeflateFlush, Status};

const IAC: u8 = 0xff;
const WILL: u8 = 0xfb;
const WONT: u8 = 0xfc;
const DO: u8 = 0xfd;
const DONT: u8 = 0xfe;
const SB: u8 = 0xfa;
const SE: u8 = 0xf0;
const MCCP2: u8 = 86;
const MCCP3: u8 = 87;

/// A zlib stream (RFC 1950) that the tests write as the peer would.
struct Zlib(Deflate);

impl Zlib {
    fn new() -> Self {
        Self(Deflate::new_with_config(DeflateConfig::new(6)))
    }

    /// `input` compressed, flushed with `flush` (sync: decodable so far; finish: the end).
    fn compress(&mut self, input: &[u8], flush: DeflateFlush) -> Vec<u8> {
        let mut out = Vec::new();
        let mut rest = input;
        loop {
            let mut buf = vec![0; 64 * 1024];
            let (before_in, before_out) = (self.0.total_in(), self.0.total_out());
            let status = self.0.compress(rest, &mut buf, flush).unwrap();
            let consumed = (self.0.total_in() - before_in) as usize;
            let produced = (self.0.total_out() - before_out) as usize;
            out.extend_from_slice(&buf[..produced]);
            rest = &rest[consumed..];
            let done = match flush {
                DeflateFlush::Finish => status == Status::StreamEnd,
                _ => rest.is_empty() && produced < buf.len(),
            };
            if done {
                return out;
            }
        }
    }
}

/// Lines of text that compress well, `total` bytes of them.
fn text(total: usize) -> Vec<u8> {
    let mut text = Vec::with_capacity(total + 64);
    let mut n = 0u64;
    while text.len() < total {
        text.extend_from_slice(format!("line {n:08}: the quick brown fox jumps\r\n").as_bytes());
        n += 1;
    }
    text.truncate(total);
    text
}

/// Wait until `done` holds for the connection behind `writer`.
async fn wait_until(writer: &TelnetWriter, what: &str, done: impl Fn(&TelnetWriter) -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !done(writer) {
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Read from `stream` until `pattern` has arrived; returns everything read.
async fn read_until(stream: &mut TcpStream, pattern: &[u8]) -> Vec<u8> {
    let mut seen = Vec::new();
    let mut buf = [0; 4096];
    while !seen.windows(pattern.len()).any(|w| w == pattern) {
        let n = timeout(PATIENCE, stream.read(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("{pattern:?} never came; got {seen:?}"))
            .unwrap();
        assert!(n > 0, "EOF before {pattern:?}; got {seen:?}");
        seen.extend_from_slice(&buf[..n]);
    }
    seen
}

const BULK: usize = 512 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_text_crosses_compressed_both_ways() {
    let mut config = local();
    config.compression = Some(true);
    config.connect_maxwait = Duration::from_millis(500);
    let server = create_server(config, |mut reader, mut writer| async move {
        // Both of our streams run before the bulk goes (MCCP2 ours, MCCP3 the client's).
        wait_until(&writer, "MCCP both ways", |w| {
            w.with_session(|s| s.compressing() && s.input_compressed())
        })
        .await;
        writer.write(&text(BULK)).await.unwrap();
        let received = reader.read_exact(BULK).await.unwrap();
        let verdict = if received == text(BULK) {
            "intact"
        } else {
            "corrupt"
        };
        let stats = writer.stats();
        writer
            .write(format!("{verdict} {}\r\n", stats.decompressed_in).as_bytes())
            .await
            .unwrap();
        writer.drain().await.unwrap();
    })
    .await
    .unwrap();
    let (mut reader, mut writer) =
        open_connection("127.0.0.1", port(&server), ClientConfig::default())
            .await
            .unwrap();
    wait_until(&writer, "MCCP3 from the client", |w| {
        w.with_session(|s| s.compressing())
    })
    .await;
    // Reading and writing at once: each side writes a bulk before it reads.
    let receive = tokio::spawn(async move {
        let received = timeout(PATIENCE, reader.read_exact(BULK))
            .await
            .unwrap()
            .unwrap();
        assert!(received == text(BULK), "the server's text arrived changed");
        String::from_utf8(next_line(&mut reader).await).unwrap()
    });
    timeout(PATIENCE, writer.write(&text(BULK)))
        .await
        .unwrap()
        .unwrap();
    let verdict = receive.await.unwrap();
    assert!(verdict.starts_with("intact "), "{verdict}");
    let stats = writer.stats();
    // Both ways compressed, and well: the text is repetitive.
    assert!(
        stats.compressed_in > 0 && stats.decompressed_in >= BULK as u64,
        "{stats:?}"
    );
    assert!(stats.bytes_in < BULK as u64 / 4, "{stats:?}");
    assert!(stats.uncompressed_out >= BULK as u64, "{stats:?}");
    assert!(stats.bytes_out < BULK as u64 / 4, "{stats:?}");
    writer.close().await;
}

/// A scripted server on a raw socket: offers MCCP2 and waits for the client's DO.
async fn scripted_server() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, port)
}

async fn offer_mccp2(listener: &TcpListener) -> TcpStream {
    let (mut stream, _) = listener.accept().await.unwrap();
    stream.write_all(&[IAC, WILL, MCCP2]).await.unwrap();
    read_until(&mut stream, &[IAC, DO, MCCP2]).await;
    stream
}

/// A raw client of our `server` that agrees to TTYPE (so the opening goes on) and has
/// read the server's `IAC WILL <option>`.
async fn offered(server: &telnetlib3::Server, option: u8) -> TcpStream {
    let mut stream = TcpStream::connect(("127.0.0.1", port(server)))
        .await
        .unwrap();
    stream.write_all(&[IAC, WILL, 24]).await.unwrap();
    read_until(&mut stream, &[IAC, WILL, option]).await;
    stream
}

fn quick_client() -> ClientConfig {
    let mut config = ClientConfig::default();
    config.connect_maxwait = Duration::from_millis(100);
    config
}

#[tokio::test]
async fn a_stream_end_mid_read_switches_back_to_plain() {
    let (listener, port) = scripted_server().await;
    let script = tokio::spawn(async move {
        let mut stream = offer_mccp2(&listener).await;
        // One write: the start, a whole stream, plain text after its end, a second start
        // and a stream that runs on (flushed, not finished).
        let mut wire = vec![IAC, SB, MCCP2, IAC, SE];
        wire.extend(Zlib::new().compress(b"one\r\n", DeflateFlush::Finish));
        wire.extend_from_slice(b"two\r\n");
        wire.extend([IAC, SB, MCCP2, IAC, SE]);
        wire.extend(Zlib::new().compress(b"three\r\n", DeflateFlush::SyncFlush));
        stream.write_all(&wire).await.unwrap();
        stream
    });
    let (mut reader, writer) = open_connection("127.0.0.1", port, quick_client())
        .await
        .unwrap();
    let _stream = script.await.unwrap();
    assert_eq!(next_line(&mut reader).await, b"one\r\n");
    assert_eq!(next_line(&mut reader).await, b"two\r\n");
    assert_eq!(next_line(&mut reader).await, b"three\r\n");
    assert!(writer.with_session(|s| s.input_compressed()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zip_bomb_never_holds_more_than_the_limit() {
    const TOTAL: usize = 100 << 20;
    const PIECE: usize = 1 << 20;
    let (listener, port) = scripted_server().await;
    let script = tokio::spawn(async move {
        let mut stream = offer_mccp2(&listener).await;
        stream.write_all(&[IAC, SB, MCCP2, IAC, SE]).await.unwrap();
        // 100 MB of one letter, about 100 KB on the wire.
        let mut zlib = Zlib::new();
        let piece = vec![b'x'; PIECE];
        let mut sent = 0;
        for n in 0..TOTAL / PIECE {
            let flush = if n + 1 == TOTAL / PIECE {
                DeflateFlush::Finish
            } else {
                DeflateFlush::NoFlush
            };
            let bytes = zlib.compress(&piece, flush);
            sent += bytes.len();
            stream.write_all(&bytes).await.unwrap();
        }
        stream
            .write_all(b"\r\nplain after the bomb\r\n")
            .await
            .unwrap();
        sent
    });
    let mut config = quick_client();
    config.limit = DEFAULT_LIMIT;
    let (mut reader, writer) = open_connection("127.0.0.1", port, config).await.unwrap();
    let sent = timeout(PATIENCE, script).await.unwrap().unwrap();
    assert!(sent < TOTAL / 500, "the bomb is small on the wire: {sent}");
    // The shell does not read: the client takes all of the bomb's bytes (they are few),
    // but holds no more than its limit.
    wait_until(&writer, "the bomb read", |w| w.stats().compressed_in > 0).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stats = writer.stats();
    assert!(stats.buffered_input <= DEFAULT_LIMIT, "{stats:?}");
    assert!(
        stats.decompressed_in <= 2 * DEFAULT_LIMIT as u64,
        "inflated ahead of the reader: {stats:?}"
    );
    // Now read it all, checking the bound as we go.
    let mut total = 0;
    let mut after = Vec::new();
    while total < TOTAL {
        let data = timeout(PATIENCE, reader.read(TOTAL - total))
            .await
            .unwrap()
            .unwrap();
        assert!(!data.is_empty(), "EOF after {total}");
        assert!(data.iter().all(|&b| b == b'x'), "after {total}");
        total += data.len();
        let stats = writer.stats();
        assert!(stats.buffered_input <= DEFAULT_LIMIT, "{stats:?}");
    }
    // The stream's end, then plain Telnet in the same connection.
    while after.len() < 24 {
        let data = timeout(PATIENCE, reader.read(64)).await.unwrap().unwrap();
        assert!(!data.is_empty(), "EOF after the bomb");
        after.extend(data);
    }
    assert_eq!(after, b"\r\nplain after the bomb\r\n");
    let stats = writer.stats();
    assert_eq!(stats.decompressed_in, TOTAL as u64);
    assert_eq!(stats.compressed_in, sent as u64);
}

#[tokio::test]
async fn a_corrupt_stream_makes_the_client_send_dont_mccp2_and_go_on_plain() {
    let (listener, port) = scripted_server().await;
    let script = tokio::spawn(async move {
        let mut stream = offer_mccp2(&listener).await;
        let mut wire = vec![IAC, SB, MCCP2, IAC, SE];
        // A zlib header, then a block of the reserved type 3: a data error.
        wire.extend([0x78, 0x9c, 0xff, 0xff, 0xff, 0xff]);
        stream.write_all(&wire).await.unwrap();
        // MCCP2: "the client can stop decompressing and send IAC DONT MCCP2".
        read_until(&mut stream, &[IAC, DONT, MCCP2]).await;
        // The server disables compression: plain from here.
        stream.write_all(&[IAC, WONT, MCCP2]).await.unwrap();
        stream.write_all(b"plain again\r\n").await.unwrap();
        stream
    });
    let (mut reader, writer) = open_connection("127.0.0.1", port, quick_client())
        .await
        .unwrap();
    let _stream = timeout(PATIENCE, script).await.unwrap().unwrap();
    assert_eq!(next_line(&mut reader).await, b"plain again\r\n");
    assert!(!writer.with_session(|s| s.input_compressed() || s.remote_enabled(TelnetOption::Mccp2)));
}

#[tokio::test]
async fn a_corrupt_mccp3_stream_makes_the_server_close() {
    let mut config = local();
    config.compression = Some(true);
    let server = create_server(config, |mut reader, _writer| async move {
        let _ = reader.read(100).await;
    })
    .await
    .unwrap();
    let mut stream = offered(&server, MCCP3).await;
    let mut wire = vec![IAC, DO, MCCP3, IAC, SB, MCCP3, IAC, SE];
    wire.extend([0x78, 0x9c, 0xff, 0xff, 0xff, 0xff]);
    stream.write_all(&wire).await.unwrap();
    // The server asks us to stop (WONT MCCP3), and closes.
    let mut seen = Vec::new();
    loop {
        let mut buf = [0; 1024];
        let n = timeout(PATIENCE, stream.read(&mut buf))
            .await
            .unwrap()
            .unwrap_or(0);
        if n == 0 {
            break;
        }
        seen.extend_from_slice(&buf[..n]);
    }
    assert!(seen.windows(3).any(|w| w == [IAC, WONT, MCCP3]), "{seen:?}");
}

#[tokio::test]
async fn without_compression_nothing_is_offered_and_offers_are_refused() {
    let mut config = local();
    config.compression = Some(false);
    let server = create_server(config, |mut reader, _writer| async move {
        let _ = reader.read(100).await;
    })
    .await
    .unwrap();
    let mut stream = TcpStream::connect(("127.0.0.1", port(&server)))
        .await
        .unwrap();
    stream
        .write_all(&[IAC, WILL, 24, IAC, DO, MCCP2, IAC, DO, MCCP3])
        .await
        .unwrap();
    let seen = read_until(&mut stream, &[IAC, WONT, MCCP3]).await;
    assert!(seen.windows(3).any(|w| w == [IAC, WONT, MCCP2]), "{seen:?}");
    assert!(
        !seen.windows(3).any(|w| w == [IAC, WILL, MCCP2]),
        "{seen:?}"
    );
}

/// A server that compresses (MCCP2 offered) and ends its stream after `release` of idle
/// output; its shell writes `first`, waits for the release, then writes `second`.
async fn releasing_server(release: Duration) -> telnetlib3::Server {
    let mut config = local();
    config.compression = Some(true);
    config.connect_maxwait = Duration::from_millis(100);
    config.compression_idle_release = Some(release);
    create_server(config, |_reader, mut writer| async move {
        wait_until(&writer, "MCCP2 on", |w| w.with_session(|s| s.compressing())).await;
        writer.write(b"first\r\n").await.unwrap();
        writer.drain().await.unwrap();
        wait_until(&writer, "the stream released", |w| {
            w.with_session(|s| s.output_compression_suspended())
        })
        .await;
        // The release is on the wire (a finished stream) before the next output.
        tokio::time::sleep(Duration::from_millis(50)).await;
        writer.write(b"second\r\n").await.unwrap();
        writer.drain().await.unwrap();
        // Held open until the client goes.
        std::future::pending::<()>().await;
    })
    .await
    .unwrap()
}

/// Inflate one zlib stream from the start of `wire`: what it holds, and how many bytes
/// of `wire` it took; `finished`: whether it ended (Z_STREAM_END).
fn inflate(wire: &[u8]) -> (Vec<u8>, usize, bool) {
    let mut zlib = zlib_rs::Inflate::new(true, 15);
    let mut out = vec![0; 1 << 16];
    let status = zlib
        .decompress(wire, &mut out, zlib_rs::InflateFlush::NoFlush)
        .expect("a valid zlib stream");
    out.truncate(zlib.total_out() as usize);
    (out, zlib.total_in() as usize, status == Status::StreamEnd)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_server_ends_its_stream_and_starts_a_new_one_on_the_next_output() {
    const START: [u8; 5] = [IAC, SB, MCCP2, IAC, SE];
    let server = releasing_server(Duration::from_millis(200)).await;
    let mut stream = TcpStream::connect(("127.0.0.1", port(&server)))
        .await
        .unwrap();
    stream.write_all(&[IAC, DO, MCCP2]).await.unwrap();
    // Read until the second stream holds `second`, then take the wire apart.
    let mut wire = Vec::new();
    let mut buf = [0; 4096];
    let parse = |wire: &[u8]| -> Option<(Vec<u8>, Vec<u8>, Vec<u8>)> {
        let at = wire.windows(5).position(|w| w == START)? + 5;
        let (one, used, finished) = inflate(&wire[at..]);
        if !finished {
            return None;
        }
        let rest = &wire[at + used..];
        let again = rest.windows(5).position(|w| w == START)?;
        let between = rest[..again].to_vec();
        let (two, _, _) = inflate(&rest[again + 5..]);
        two.ends_with(b"second\r\n").then_some((one, between, two))
    };
    let (one, between, two) = loop {
        if let Some(parts) = parse(&wire) {
            break parts;
        }
        let n = timeout(PATIENCE, stream.read(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("no second stream; got {wire:?}"))
            .unwrap();
        assert!(n > 0, "EOF; got {wire:?}");
        wire.extend_from_slice(&buf[..n]);
    };
    // The first stream held `first` and ended (Z_FINISH); nothing plain came between
    // the streams; the second holds only `second`.
    assert!(one.ends_with(b"first\r\n"), "{one:?}");
    assert!(!one.windows(6).any(|w| w == b"second"), "{one:?}");
    assert_eq!(between, b"", "plain bytes between the streams");
    assert_eq!(two, b"second\r\n");
    server.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_reads_across_a_restarted_stream() {
    let server = releasing_server(Duration::from_millis(200)).await;
    let (mut reader, mut writer) = open_connection("127.0.0.1", port(&server), quick_client())
        .await
        .unwrap();
    assert_eq!(next_line(&mut reader).await, b"first\r\n");
    // The first stream ends: plain input for a moment, then the second stream.
    wait_until(&writer, "the first stream's end", |w| {
        w.with_session(|s| !s.input_compressed())
    })
    .await;
    assert_eq!(next_line(&mut reader).await, b"second\r\n");
    assert!(writer.with_session(|s| s.input_compressed()));
    writer.close().await;
    server.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_idle_release_one_stream_runs_on() {
    let mut config = local();
    config.compression = Some(true);
    config.connect_maxwait = Duration::from_millis(100);
    config.compression_idle_release = None;
    let server = create_server(config, |_reader, mut writer| async move {
        wait_until(&writer, "MCCP2 on", |w| w.with_session(|s| s.compressing())).await;
        writer.write(b"first\r\n").await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let verdict: &[u8] = if writer.with_session(|s| s.compressing()) {
            b"still\r\n"
        } else {
            b"ended\r\n"
        };
        writer.write(verdict).await.unwrap();
        writer.drain().await.unwrap();
        std::future::pending::<()>().await;
    })
    .await
    .unwrap();
    let (mut reader, mut writer) = open_connection("127.0.0.1", port(&server), quick_client())
        .await
        .unwrap();
    assert_eq!(next_line(&mut reader).await, b"first\r\n");
    assert_eq!(next_line(&mut reader).await, b"still\r\n");
    assert!(writer.with_session(|s| s.input_compressed()));
    writer.close().await;
    server.close();
}

#[tokio::test]
async fn a_stream_end_inside_a_command_completes_it_from_the_plain_bytes_after() {
    let (listener, port) = scripted_server().await;
    let script = tokio::spawn(async move {
        let mut stream = offer_mccp2(&listener).await;
        // The stream ends after `IAC WILL` of `IAC WILL ECHO`; the option's byte and
        // the rest come plain.
        let mut wire = vec![IAC, SB, MCCP2, IAC, SE];
        wire.extend(Zlib::new().compress(&[b'x', IAC, WILL], DeflateFlush::Finish));
        wire.extend([1]);
        wire.extend_from_slice(b"y\r\n");
        stream.write_all(&wire).await.unwrap();
        // Our DO ECHO answers the command that straddled the stream's end.
        read_until(&mut stream, &[IAC, DO, 1]).await;
        stream
    });
    let (mut reader, writer) = open_connection("127.0.0.1", port, quick_client())
        .await
        .unwrap();
    assert_eq!(next_line(&mut reader).await, b"xy\r\n");
    let _stream = timeout(PATIENCE, script).await.unwrap().unwrap();
    assert!(writer.with_session(|s| !s.input_compressed() && s.remote_enabled(TelnetOption::Echo)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mebibyte_of_gmcp_json_in_the_stream_is_discarded_at_the_cap() {
    const GMCP: u8 = 201;
    const JSON: usize = 1 << 20;
    let (listener, port) = scripted_server().await;
    let script = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        stream
            .write_all(&[IAC, WILL, MCCP2, IAC, WILL, GMCP])
            .await
            .unwrap();
        read_until(&mut stream, &[IAC, DO, MCCP2]).await;
        // One GMCP message of 1 MiB of JSON (an array of numbers), then a line, all
        // compressed.
        let mut payload = b"Char.Huge [".to_vec();
        while payload.len() < JSON {
            payload.extend_from_slice(b"12345678,");
        }
        payload.extend_from_slice(b"0]");
        let mut plain = vec![IAC, SB, GMCP];
        plain.extend_from_slice(&payload);
        plain.extend([IAC, SE]);
        plain.extend_from_slice(b"after\r\n");
        let mut wire = vec![IAC, SB, MCCP2, IAC, SE];
        wire.extend(Zlib::new().compress(&plain, DeflateFlush::SyncFlush));
        stream.write_all(&wire).await.unwrap();
        stream
    });
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&events);
    let mut config = quick_client();
    config.on_event = Some(Arc::new(move |event: &Event<'_>| {
        if matches!(event, Event::ProtocolError(_) | Event::Gmcp(_)) {
            seen.lock().unwrap().push(format!("{event:?}"));
        }
    }));
    let (mut reader, writer) = open_connection("127.0.0.1", port, config).await.unwrap();
    let _stream = timeout(PATIENCE, script).await.unwrap().unwrap();
    // The text after the message arrives; the message was cut at the cap (8 KiB) and
    // reported once, never stored or handed on.
    assert_eq!(next_line(&mut reader).await, b"after\r\n");
    // The hook is called after the reader is woken.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while events.lock().unwrap().is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let events = events.lock().unwrap().clone();
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(
        events[0].contains("SubnegotiationTooLong") && events[0].contains("Gmcp"),
        "{events:?}"
    );
    let stats = writer.stats();
    assert!(stats.decompressed_in > JSON as u64, "{stats:?}");
    assert!(stats.buffered_input < 64 * 1024, "{stats:?}");
    assert!(writer.with_session(|s| s.gmcp_data().get("Char.Huge").is_none()));
}

/// Our client's MCCP3 with an idle release, through a proxy that records what the
/// client sends to our server: the client's stream ends after `release` without output
/// and its next output goes in a new stream behind a new `IAC SB MCCP3 IAC SE`, which
/// the server reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_client_ends_its_mccp3_stream_and_the_server_reads_the_new_one() {
    const START: [u8; 5] = [IAC, SB, MCCP3, IAC, SE];
    let mut config = local();
    config.compression = Some(true);
    config.connect_maxwait = Duration::from_millis(100);
    config.compression_idle_release = None;
    let server = create_server(config, |mut reader, mut writer| async move {
        for _ in 0..2 {
            let line = next_line(&mut reader).await;
            let answer = [b"got ", line.as_slice()].concat();
            writer.write(&answer).await.unwrap();
        }
        writer.drain().await.unwrap();
        std::future::pending::<()>().await;
    })
    .await
    .unwrap();
    // The proxy: one connection, both ways, the client's bytes recorded.
    let proxy = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_port = proxy.local_addr().unwrap().port();
    let sent = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&sent);
    let server_port = port(&server);
    tokio::spawn(async move {
        let (client, _) = proxy.accept().await.unwrap();
        let upstream = TcpStream::connect(("127.0.0.1", server_port))
            .await
            .unwrap();
        let (mut client_rd, mut client_wr) = client.into_split();
        let (mut server_rd, mut server_wr) = upstream.into_split();
        tokio::spawn(async move {
            let _ = tokio::io::copy(&mut server_rd, &mut client_wr).await;
        });
        let mut buf = [0; 4096];
        while let Ok(n @ 1..) = client_rd.read(&mut buf).await {
            record.lock().unwrap().extend_from_slice(&buf[..n]);
            if server_wr.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    });
    let mut client = quick_client();
    client.compression_idle_release = Some(Duration::from_millis(200));
    let (mut reader, mut writer) = open_connection("127.0.0.1", proxy_port, client)
        .await
        .unwrap();
    wait_until(&writer, "MCCP3 on", |w| w.with_session(|s| s.compressing())).await;
    writer.write(b"first\r\n").await.unwrap();
    assert_eq!(next_line(&mut reader).await, b"got first\r\n");
    wait_until(&writer, "the MCCP3 stream released", |w| {
        w.with_session(|s| s.output_compression_suspended())
    })
    .await;
    // The release's end of stream is on the wire before the next output.
    tokio::time::sleep(Duration::from_millis(50)).await;
    writer.write(b"second\r\n").await.unwrap();
    assert_eq!(next_line(&mut reader).await, b"got second\r\n");
    assert!(writer.with_session(|s| s.compressing()));

    // The client's wire: a first stream that ended (Z_FINISH) after `first`, nothing
    // plain, then a new start and a fresh zlib stream (its own header) with `second`.
    let wire = sent.lock().unwrap().clone();
    let at = wire
        .windows(5)
        .position(|w| w == START)
        .expect("no SB MCCP3")
        + 5;
    let (one, used, finished) = inflate(&wire[at..]);
    assert!(finished, "the first stream did not end: {wire:?}");
    // (The negotiation's late answers may follow `first` in it.)
    assert!(one.windows(7).any(|w| w == b"first\r\n"), "{one:?}");
    assert!(!one.windows(6).any(|w| w == b"second"), "{one:?}");
    let rest = &wire[at + used..];
    assert_eq!(
        rest[..5],
        START,
        "no new start right after the end: {rest:?}"
    );
    // RFC 1950's header: deflate (CM 8) with our 4 KiB window (CINFO 4), its check bits
    // making the first two bytes a multiple of 31.
    let header = u16::from_be_bytes([rest[5], rest[6]]);
    assert_eq!(
        (rest[5], header % 31),
        (0x48, 0),
        "not a zlib header: {rest:?}"
    );
    let (two, _, _) = inflate(&rest[5..]);
    assert_eq!(two, b"second\r\n");
    writer.close().await;
    server.close();
}

/// telnetlib3 5.0.1's server offers WILL MCCP3 and refuses our DO with WONT MCCP3 at
/// once (and mishandles a stream sent meanwhile): our stream waits a moment after the
/// agreement, so it never starts, and everything goes plain.
#[tokio::test]
async fn a_refusal_right_after_the_offer_means_no_mccp3_stream_at_all() {
    let (listener, port) = scripted_server().await;
    let (refused_tx, refused) = tokio::sync::oneshot::channel();
    let script = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        stream
            .write_all(&[IAC, WILL, MCCP3, IAC, DO, 24])
            .await
            .unwrap();
        let answers = read_until(&mut stream, &[IAC, WILL, 24]).await;
        stream.write_all(&[IAC, WONT, MCCP3]).await.unwrap();
        refused_tx.send(()).unwrap();
        let rest = read_until(&mut stream, b"hello\r\n").await;
        (answers, rest)
    });
    let (_reader, mut writer) = open_connection("127.0.0.1", port, quick_client())
        .await
        .unwrap();
    timeout(PATIENCE, refused).await.unwrap().unwrap();
    wait_until(&writer, "the refusal taken", |w| {
        w.with_session(|s| !s.remote_enabled(TelnetOption::Mccp3))
    })
    .await;
    writer.write(b"hello\r\n").await.unwrap();
    let (answers, rest) = timeout(PATIENCE, script).await.unwrap().unwrap();
    assert_eq!(answers, [IAC, DO, MCCP3, IAC, WILL, 24]);
    assert_eq!(rest, [&[IAC, DONT, MCCP3][..], b"hello\r\n"].concat());
}

/// A server that keeps MCCP3 gets our stream a moment after the agreement: what we sent
/// before it went plain, what we send after it compressed.
#[tokio::test]
async fn a_kept_mccp3_stream_starts_a_moment_after_the_agreement() {
    const START: [u8; 5] = [IAC, SB, MCCP3, IAC, SE];
    let (listener, port) = scripted_server().await;
    let script = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        stream.write_all(&[IAC, WILL, MCCP3]).await.unwrap();
        let mut wire = read_until(&mut stream, &START).await;
        let mut buf = [0; 4096];
        loop {
            let at = wire.windows(5).position(|w| w == START).unwrap() + 5;
            let (content, _, _) = inflate(&wire[at..]);
            if content.ends_with(b"two\r\n") {
                return (wire, at, content);
            }
            let n = timeout(PATIENCE, stream.read(&mut buf))
                .await
                .unwrap()
                .unwrap();
            assert!(n > 0, "EOF: {wire:?}");
            wire.extend_from_slice(&buf[..n]);
        }
    });
    let (_reader, mut writer) = open_connection("127.0.0.1", port, quick_client())
        .await
        .unwrap();
    wait_until(&writer, "MCCP3 agreed", |w| {
        w.with_session(|s| s.output_compression_deferred())
    })
    .await;
    writer.write(b"one\r\n").await.unwrap();
    wait_until(&writer, "our MCCP3 stream", |w| {
        w.with_session(|s| s.compressing())
    })
    .await;
    writer.write(b"two\r\n").await.unwrap();
    let (wire, at, content) = timeout(PATIENCE, script).await.unwrap().unwrap();
    assert_eq!(
        &wire[..at],
        [&[IAC, DO, MCCP3][..], b"one\r\n", &START].concat()
    );
    assert_eq!(content, b"two\r\n");
    assert!(writer.with_session(|s| s.compressing()));
}

/// write_eof while our MCCP2 stream runs: the stream is finished (Z_FINISH) before the
/// FIN, so the peer reads a whole stream, then end of file.
#[tokio::test]
async fn a_half_close_finishes_the_compressed_stream_before_the_fin() {
    let mut config = local();
    config.compression = Some(true);
    config.connect_maxwait = Duration::from_millis(100);
    let server = create_server(config, |_reader, mut writer| async move {
        wait_until(&writer, "MCCP2 on", |w| w.with_session(|s| s.compressing())).await;
        writer.write(b"bye\r\n").await.unwrap();
        writer.write_eof().await.unwrap();
        std::future::pending::<()>().await;
    })
    .await
    .unwrap();
    let mut stream = offered(&server, MCCP2).await;
    stream.write_all(&[IAC, DO, MCCP2]).await.unwrap();
    let mut wire = Vec::new();
    timeout(PATIENCE, stream.read_to_end(&mut wire))
        .await
        .unwrap()
        .unwrap();
    let at = wire
        .windows(5)
        .position(|w| w == [IAC, SB, MCCP2, IAC, SE])
        .expect("no SB MCCP2")
        + 5;
    let (content, used, finished) = inflate(&wire[at..]);
    assert!(finished, "the stream was not finished: {wire:?}");
    assert_eq!(at + used, wire.len(), "bytes after the stream's end");
    assert!(content.ends_with(b"bye\r\n"), "{content:?}");
}

/// telnetlib3 5.0.1's client sends its answers to the rest of the read that held our
/// WILL MCCP3 plain, after its `IAC SB MCCP3 IAC SE` and before its zlib stream: whole
/// commands there are taken as plain (a zlib stream cannot begin with IAC), here split
/// across two writes inside a subnegotiation, and the stream after them is read.
#[tokio::test]
async fn plain_commands_between_the_mccp3_start_and_the_stream_are_taken() {
    let mut config = local();
    config.compression = Some(true);
    config.connect_maxwait = Duration::from_millis(100);
    let (report, reported) = tokio::sync::oneshot::channel();
    let report = Mutex::new(Some(report));
    let server = create_server(config, move |mut reader, writer| {
        let report = report.lock().unwrap().take();
        async move {
            let line = timeout(PATIENCE, reader.read_line()).await;
            let size = writer.window_size();
            if let Some(report) = report {
                let _ = report.send((line, size, writer.with_session(|s| s.input_compressed())));
            }
        }
    })
    .await
    .unwrap();
    let mut stream = offered(&server, MCCP3).await;
    let mut first = vec![IAC, DO, MCCP3, IAC, SB, MCCP3, IAC, SE];
    // WILL NAWS and its report, plain, cut inside the subnegotiation.
    first.extend([IAC, WILL, 31, IAC, SB, 31, 0, 132]);
    stream.write_all(&first).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut second = vec![0, 43, IAC, SE];
    second.extend(Zlib::new().compress(b"hello\r\n", DeflateFlush::SyncFlush));
    stream.write_all(&second).await.unwrap();
    let (line, size, compressed) = timeout(PATIENCE, reported).await.unwrap().unwrap();
    assert_eq!(line.unwrap().unwrap(), b"hello\r\n");
    assert_eq!(size, (132, 43));
    assert!(compressed);
}
