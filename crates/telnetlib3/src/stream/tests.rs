//! The reader's and writer's rules over an in-memory stream, byte for byte.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use telnetlib3_proto::{Policy, Role, Session, SessionConfig};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream, ReadBuf};
use tokio::time::timeout;

use super::*;
use crate::Error;

const PATIENCE: Duration = Duration::from_secs(10);

/// A session that passes data through untouched (no end-of-line translation, no
/// options), so that the reader's own rules are what is tested.
fn plain_session() -> Session {
    let mut config = SessionConfig::with_policy(Policy::new());
    config.translate_eol = false;
    Session::new(Role::Server, config)
}

fn settings(limit: usize) -> Settings {
    Settings {
        limit,
        hook: None,
        peer: "test 0".into(),
        defaults: TerminalDefaults::default(),
        close_timeout: Duration::from_millis(200),
        output_stall_timeout: Duration::from_secs(30),
        compression_idle_release: None,
        tls: None,
        refuse_tls_hello: false,
        metrics: None,
    }
}

/// A connection over an in-memory pipe: our reader and writer, and the peer's end.
fn pair(limit: usize) -> (TelnetReader, TelnetWriter, DuplexStream) {
    let (ours, theirs) = tokio::io::duplex(1 << 20);
    let inner = spawn_with(ours, plain_session(), settings(limit));
    (
        TelnetReader::new(Arc::clone(&inner)),
        TelnetWriter::new(inner),
        theirs,
    )
}

async fn line(reader: &mut TelnetReader) -> Vec<u8> {
    timeout(PATIENCE, reader.read_line())
        .await
        .expect("read_line waited")
        .unwrap()
}

/// Wait until the reader has `n` bytes buffered.
async fn buffered(reader: &TelnetReader, n: usize) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while reader.buffered() < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{}",
            reader.buffered()
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::test]
async fn read_line_ends_at_cr_lf_cr_nul_lone_cr_and_lf() {
    let (mut reader, _writer, mut peer) = pair(DEFAULT_LIMIT);
    peer.write_all(b"a\r\nb\r\0c\rd\ne\n\rf").await.unwrap();
    buffered(&reader, 14).await;
    assert_eq!(line(&mut reader).await, b"a\r\n");
    assert_eq!(line(&mut reader).await, b"b\r", "CR NUL: NUL dropped");
    assert_eq!(line(&mut reader).await, b"c\r", "lone CR");
    assert_eq!(line(&mut reader).await, b"d\n");
    assert_eq!(
        line(&mut reader).await,
        b"e\n",
        "LF first: LF CR is not a pair"
    );
    assert_eq!(line(&mut reader).await, b"\r");
    drop(peer);
    assert_eq!(line(&mut reader).await, b"f", "partial line at EOF");
    assert_eq!(line(&mut reader).await, b"");
    assert!(reader.at_eof());
    assert_eq!(
        reader.to_string(),
        "<TelnetReader limit=65536 buflen=0 eof=True>"
    );
}

#[tokio::test]
async fn a_line_ending_split_across_segments_makes_one_line() {
    let (mut reader, _writer, mut peer) = pair(DEFAULT_LIMIT);
    peer.write_all(b"one\r").await.unwrap();
    // The CR is the last byte so far: the line ends at once, not at the next byte.
    assert_eq!(line(&mut reader).await, b"one\r");
    peer.write_all(b"\ntwo\r").await.unwrap();
    assert_eq!(line(&mut reader).await, b"two\r", "the LF completed the CR");
    peer.write_all(b"\0three\n").await.unwrap();
    assert_eq!(line(&mut reader).await, b"three\n", "so did the NUL");
    // Only the byte right after: a second LF is a line of its own.
    peer.write_all(b"four\r").await.unwrap();
    assert_eq!(line(&mut reader).await, b"four\r");
    peer.write_all(b"\n\n").await.unwrap();
    assert_eq!(line(&mut reader).await, b"\n");
    // Another read in between forgets the pending CR.
    peer.write_all(b"five\r").await.unwrap();
    assert_eq!(line(&mut reader).await, b"five\r");
    peer.write_all(b"\nX").await.unwrap();
    buffered(&reader, 2).await;
    assert_eq!(reader.read(1).await.unwrap(), b"\n");
}

#[tokio::test]
async fn lines_longer_than_the_limit_come_in_pieces() {
    let (mut reader, _writer, mut peer) = pair(16);
    peer.write_all(&[b'x'; 40]).await.unwrap();
    assert_eq!(line(&mut reader).await, [b'x'; 16]);
    assert_eq!(line(&mut reader).await, [b'x'; 16]);
    // 8 left and no end of line: wait for more.
    assert!(timeout(Duration::from_millis(100), reader.read_line())
        .await
        .is_err());
    peer.write_all(b"\r\nabc").await.unwrap();
    assert_eq!(line(&mut reader).await, b"xxxxxxxx\r\n");
    // A CR at the limit is a piece's end, not a line's: nothing is dropped after it.
    peer.write_all(b"defghijklmnop\r\nq\n").await.unwrap();
    // The buffer fills to the limit and no further: the rest waits in the pipe.
    buffered(&reader, 16).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(reader.buffered(), 16);
    assert_eq!(line(&mut reader).await, b"abcdefghijklmnop");
    assert_eq!(line(&mut reader).await, b"\r\n");
    assert_eq!(line(&mut reader).await, b"q\n");
}

#[tokio::test]
async fn read_until_read_exact_and_read() {
    let (mut reader, _writer, mut peer) = pair(8);
    peer.write_all(b"ab?cdefghijklm?").await.unwrap();
    assert_eq!(reader.read_until(b"?").await.unwrap(), b"ab?");
    assert!(
        matches!(
            reader.read_until(b"?").await,
            Err(Error::LimitOverrun { limit: 8 })
        ),
        "a limit's worth without the separator"
    );
    // The data stayed unread.
    assert_eq!(reader.read(8).await.unwrap(), b"cdefghij");
    assert_eq!(reader.read_until(b"?").await.unwrap(), b"klm?");
    peer.write_all(b"0123456789").await.unwrap();
    assert_eq!(reader.read(0).await.unwrap(), b"");
    assert_eq!(reader.read_exact(3).await.unwrap(), b"012");
    assert_eq!(reader.read_exact(7).await.unwrap(), b"3456789");
    peer.write_all(b"tail").await.unwrap();
    drop(peer);
    assert!(matches!(reader.read_exact(5).await, Err(Error::Closed)));
    assert_eq!(reader.read_until(b"?").await.unwrap(), b"");
    assert_eq!(reader.read(10).await.unwrap(), b"");
}

#[tokio::test]
async fn the_reader_limit_stops_reading_the_socket() {
    let (mut reader, _writer, mut peer) = pair(1000);
    let sent = tokio::spawn(async move {
        let block = [7u8; 4096];
        let mut sent = 0;
        // The pipe holds 1 MiB; beyond that, only what we read lets the peer go on.
        while sent < 4 << 20 {
            peer.write_all(&block).await.unwrap();
            sent += block.len();
        }
        peer
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !sent.is_finished(),
        "4 MiB went into a reader that reads nothing"
    );
    assert!(
        reader.buffered() < 1000 + driver::READ_CHUNK_MAX,
        "{} buffered",
        reader.buffered()
    );
    let mut total = 0;
    while total < 4 << 20 {
        let chunk = timeout(PATIENCE, reader.read(1 << 20))
            .await
            .unwrap()
            .unwrap();
        assert!(chunk.len() <= 1000 + driver::READ_CHUNK_MAX);
        total += chunk.len();
    }
    assert_eq!(total, 4 << 20);
    let _peer = sent.await.unwrap();
}

#[tokio::test]
async fn the_writer_escapes_and_flushes() {
    let (_reader, mut writer, mut peer) = pair(DEFAULT_LIMIT);
    writer.write(b"a\xffb").await.unwrap();
    writer.write_line(b"c").await.unwrap();
    writer.flush().await.unwrap();
    assert_eq!(writer.pending_output(), 0);
    let mut got = [0u8; 7];
    peer.read_exact(&mut got).await.unwrap();
    assert_eq!(&got, b"a\xff\xffbc\r\n");
    writer.close().await;
    assert!(writer.is_closing());
    assert!(matches!(writer.write(b"late").await, Err(Error::Closed)));
    let mut rest = Vec::new();
    timeout(PATIENCE, peer.read_to_end(&mut rest))
        .await
        .unwrap()
        .unwrap();
    assert!(rest.is_empty());
}

#[tokio::test]
async fn the_writer_waits_at_the_high_water_mark() {
    // A pipe of 1 KiB that nobody reads.
    let (ours, _theirs) = tokio::io::duplex(1024);
    let inner = spawn_with(ours, plain_session(), settings(DEFAULT_LIMIT));
    let mut writer = TelnetWriter::new(inner);
    let block = vec![0xffu8; 1000];
    let mut written = 0;
    let outcome = timeout(Duration::from_millis(300), async {
        loop {
            writer.write(&block).await.unwrap();
            written += block.len();
        }
    })
    .await;
    assert!(outcome.is_err(), "the writer never waited");
    assert!(written < 2 * WRITE_HIGH_WATER, "{written} accepted");
    assert!(
        writer.pending_output() <= WRITE_HIGH_WATER,
        "{} pending",
        writer.pending_output()
    );
    // A peer that never reads cannot hold close() beyond the close timeout.
    timeout(PATIENCE, writer.close()).await.unwrap();
}

#[tokio::test]
async fn dropping_the_handles_closes_the_connection() {
    let (reader, writer, mut peer) = pair(DEFAULT_LIMIT);
    drop(reader);
    let mut rest = Vec::new();
    assert!(
        timeout(Duration::from_millis(100), peer.read_to_end(&mut rest))
            .await
            .is_err(),
        "closed while the writer lives"
    );
    drop(writer);
    timeout(PATIENCE, peer.read_to_end(&mut rest))
        .await
        .unwrap()
        .unwrap();
}

/// A stream whose reads fail after the data it was given, and whose writes succeed.
struct Failing(Vec<u8>);

impl driver::Transport for Failing {
    type Read = tokio::io::ReadHalf<Self>;
    type Write = tokio::io::WriteHalf<Self>;

    fn into_halves(self) -> (Self::Read, Self::Write) {
        tokio::io::split(self)
    }
}

impl AsyncRead for Failing {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.0.is_empty() {
            return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()));
        }
        let n = self.0.len().min(buf.remaining());
        buf.put_slice(&self.0[..n]);
        self.0.drain(..n);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Failing {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn a_failed_connection_says_so_after_the_data() {
    let inner = spawn_with(
        Failing(b"last words\n".to_vec()),
        plain_session(),
        settings(DEFAULT_LIMIT),
    );
    let mut reader = TelnetReader::new(Arc::clone(&inner));
    let mut writer = TelnetWriter::new(inner);
    assert_eq!(line(&mut reader).await, b"last words\n");
    let error = timeout(PATIENCE, reader.read(10))
        .await
        .unwrap()
        .unwrap_err();
    assert!(matches!(error, Error::ConnectionLost(_)), "{error:?}");
    assert_eq!(error.io_kind(), Some(io::ErrorKind::ConnectionReset));
    assert!(reader.at_eof());
    let error = writer.write(b"x").await.unwrap_err();
    assert!(matches!(error, Error::ConnectionLost(_)), "{error:?}");
    assert!(matches!(
        writer.timing_mark().await,
        Err(Error::ConnectionLost(_))
    ));
}

#[test]
fn the_trace_hexdump_is_telnetlib3s() {
    // What telnetlib3 5.0.1's accessories.hexdump gives for the same bytes.
    assert_eq!(
        driver::hexdump(b"\xff\xfb\x18Hello World\r\n\x00abcdefgh", "<<  "),
        "<<  00000000  ff fb 18 48 65 6c 6c 6f  20 57 6f 72 6c 64 0d 0a  |...Hello World..|\n\
         <<  00000010  00 61 62 63 64 65 66 67  68                       |.abcdefgh|"
    );
}

/// Poll `future` once, without waiting.
async fn poll_once<F: std::future::Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut *future).poll(cx))).await
}

#[tokio::test]
async fn drain_is_flow_control_and_flush_waits_for_the_socket() {
    // A pipe that holds 16 bytes: the peer reads nothing yet.
    let (ours, mut theirs) = tokio::io::duplex(16);
    let inner = spawn_with(ours, plain_session(), settings(DEFAULT_LIMIT));
    let mut writer = TelnetWriter::new(inner);
    let data: Vec<u8> = (0..1000u32).map(|i| b'a' + (i % 26) as u8).collect();
    writer.write(&data).await.unwrap();
    // asyncio's drain: below the high-water mark it returns at once.
    timeout(PATIENCE, writer.drain()).await.unwrap().unwrap();
    // flush: not until the socket has taken everything.
    let mut flush = Box::pin(writer.flush());
    for _ in 0..10 {
        tokio::task::yield_now().await;
        assert!(poll_once(&mut flush).await.is_pending());
    }
    let mut got = vec![0; data.len()];
    timeout(PATIENCE, theirs.read_exact(&mut got))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, data);
    timeout(PATIENCE, flush).await.unwrap().unwrap();
    assert_eq!(writer.pending_output(), 0);
}

#[tokio::test]
async fn the_writer_is_tokio_async_write() {
    let (_reader, mut writer, mut peer) = pair(DEFAULT_LIMIT);
    let mut source: &[u8] = b"one\xfftwo";
    let copied = tokio::io::copy(&mut source, &mut writer).await.unwrap();
    assert_eq!(copied, 7);
    AsyncWriteExt::flush(&mut writer).await.unwrap();
    writer.shutdown().await.unwrap();
    let mut got = Vec::new();
    timeout(PATIENCE, peer.read_to_end(&mut got))
        .await
        .unwrap()
        .unwrap();
    // IAC doubled, then EOF: poll_shutdown closed our side after the data.
    assert_eq!(got, b"one\xff\xfftwo");
    let refused = AsyncWriteExt::write(&mut writer, b"late")
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), io::ErrorKind::BrokenPipe);
}

#[tokio::test]
async fn many_small_writes_arrive_whole_and_in_order() {
    let (_reader, mut writer, mut peer) = pair(DEFAULT_LIMIT);
    let reading = tokio::spawn(async move {
        let mut got = vec![0; 84 * 5000];
        peer.read_exact(&mut got).await.unwrap();
        got
    });
    let mut sent = Vec::new();
    for i in 0..5000u32 {
        let line = [b'/' + (i % 2) as u8 * 45; 84];
        writer.write(&line).await.unwrap();
        writer.drain().await.unwrap();
        sent.extend_from_slice(&line);
    }
    let got = timeout(PATIENCE, reading).await.unwrap().unwrap();
    assert!(got == sent, "the bytes differ");
}

#[tokio::test]
async fn the_event_hook_runs_without_the_lock() {
    // The hook reads the connection's state: under the lock this would deadlock.
    let cell: Arc<std::sync::OnceLock<Arc<Inner>>> = Arc::default();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut config = settings(DEFAULT_LIMIT);
    let (hook_cell, hook_seen) = (Arc::clone(&cell), Arc::clone(&seen));
    config.hook = Some(Arc::new(move |event: &Event<'_>| {
        let inner = hook_cell.get().expect("the connection");
        let pending = stats(inner).pending_output;
        hook_seen
            .lock()
            .unwrap()
            .push(format!("{event:?} pending={pending}"));
    }));
    let (ours, mut theirs) = tokio::io::duplex(1 << 16);
    let inner = spawn_with(ours, plain_session(), config);
    cell.set(Arc::clone(&inner)).ok().unwrap();
    let mut reader = TelnetReader::new(Arc::clone(&inner));
    let _writer = TelnetWriter::new(inner);
    // NOP, then a subnegotiation the session does not interpret (MXP, 91), then data.
    theirs
        .write_all(b"\xff\xf1\xff\xfa\x5b\x01x\xff\xf0hi")
        .await
        .unwrap();
    let data = timeout(PATIENCE, reader.read(2)).await.unwrap().unwrap();
    assert_eq!(data, b"hi");
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "Command(Nop) pending=0",
            "Subnegotiation { option: Mxp, payload: [1, 120] } pending=0"
        ]
    );
}

#[tokio::test]
async fn timing_mark_waiters_never_outnumber_the_marks_the_session_counts() {
    const MAX: usize = telnetlib3_proto::options::timing_mark::MAX_OUTSTANDING as usize;
    let (ours, mut theirs) = tokio::io::duplex(1 << 20);
    let inner = spawn_with(ours, plain_session(), settings(DEFAULT_LIMIT));
    let _keep = TelnetWriter::new(Arc::clone(&inner));
    let mut pings = Vec::new();
    for _ in 0..=MAX {
        let mut writer = TelnetWriter::new(Arc::clone(&inner));
        pings.push(tokio::spawn(async move { writer.timing_mark().await }));
    }
    // Every DO TM the session counts goes out; the one past the cap waits to be sent.
    let mut wire = vec![0; 3 * MAX];
    timeout(PATIENCE, theirs.read_exact(&mut wire))
        .await
        .unwrap()
        .unwrap();
    assert!(wire.chunks(3).all(|c| c == b"\xff\xfd\x06"));
    assert_eq!(inner.lock().pings.len(), MAX);
    // Answers free slots: the last mark goes out, and every waiter gets its answer.
    theirs
        .write_all(&b"\xff\xfb\x06".repeat(MAX))
        .await
        .unwrap();
    let mut last = [0; 3];
    timeout(PATIENCE, theirs.read_exact(&mut last))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&last, b"\xff\xfd\x06");
    theirs.write_all(b"\xff\xfc\x06").await.unwrap();
    let mut answers = Vec::new();
    for ping in pings {
        answers.push(timeout(PATIENCE, ping).await.unwrap().unwrap().unwrap());
    }
    assert_eq!(answers.iter().filter(|&&will| will).count(), MAX);
    assert_eq!(inner.lock().pings.len(), 0);
}

/// An empty write (a blank line's `write(b"")`, an empty `poll_write`) to an idle driver
/// must not leave the next write's output waiting: the peer gets the prompt.
/// After a stream of output the driver lingers (yields once, not idle) before it goes
/// idle: output written while it lingers, and a prompt written once it is idle, still go
/// out. Bursts of 100-byte writes, each larger than the linger threshold, then a prompt,
/// with the driver and the writer on two worker threads so that writes also fall in the
/// linger.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_after_a_stream_of_small_writes_is_not_left_behind() {
    let (_reader, mut writer, mut peer) = pair(DEFAULT_LIMIT);
    let line = [b'x'; 100];
    for round in 0..20 {
        let mut sent = Vec::new();
        for _ in 0..(2 * driver::LINGER_AFTER / line.len() + round) {
            writer.write(&line).await.unwrap();
            sent.extend_from_slice(&line);
        }
        if round % 2 == 1 {
            // The driver has caught up and gone idle (or lingers): the prompt wakes it.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        writer.write(b"prompt> ").await.unwrap();
        sent.extend_from_slice(b"prompt> ");
        let mut got = vec![0; sent.len()];
        timeout(PATIENCE, peer.read_exact(&mut got))
            .await
            .expect("output was left behind")
            .unwrap();
        assert!(got == sent, "round {round}: the bytes differ");
    }
}

#[tokio::test]
async fn a_blank_line_then_a_prompt_both_arrive() {
    let (_reader, mut writer, mut peer) = pair(DEFAULT_LIMIT);
    tokio::time::sleep(Duration::from_millis(50)).await; // the driver is idle
    writer.write_line(b"").await.unwrap();
    AsyncWriteExt::write(&mut writer, b"").await.unwrap();
    writer.write(b"prompt> ").await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    while got.len() < 10 {
        let n = timeout(PATIENCE, peer.read(&mut buf))
            .await
            .expect("the prompt never arrived")
            .unwrap();
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got, b"\r\nprompt> ");
    timeout(PATIENCE, writer.flush()).await.unwrap().unwrap();
}

/// Two tasks waiting on one connection (a shell's flush, the server's closing handle)
/// are each woken when they may go on, and do not wake each other in a loop.
#[tokio::test]
async fn two_waiting_writers_do_not_wake_each_other() {
    let (ours, _theirs) = tokio::io::duplex(64);
    let inner = spawn_with(ours, plain_session(), settings(DEFAULT_LIMIT));
    let mut writer = TelnetWriter::new(Arc::clone(&inner));
    let mut closer = TelnetWriter::new(Arc::clone(&inner));
    writer.write(&[b'x'; 4000]).await.unwrap(); // the peer never reads
    tokio::time::sleep(Duration::from_millis(20)).await;
    let polls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = Arc::clone(&polls);
    let flusher = tokio::spawn(async move {
        let mut flush = Box::pin(writer.flush());
        std::future::poll_fn(|cx| {
            counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            std::future::Future::poll(flush.as_mut(), cx)
        })
        .await
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    closer.close().await;
    let _ = timeout(PATIENCE, flusher).await.unwrap();
    // Polled when it parked, once per real wake-up (the close), and at the end.
    let polls = polls.load(std::sync::atomic::Ordering::Relaxed);
    assert!(polls < 10, "the flush was polled {polls} times");
}

/// `AsyncWrite::poll_shutdown` reports output the close could not write (the peer never
/// read it within the close timeout) instead of a clean shutdown.
#[tokio::test]
async fn a_shutdown_that_loses_output_is_an_error() {
    let (ours, _theirs) = tokio::io::duplex(64);
    let inner = spawn_with(ours, plain_session(), settings(DEFAULT_LIMIT));
    let mut writer = TelnetWriter::new(Arc::clone(&inner));
    writer.write(&[b'x'; 4000]).await.unwrap(); // the peer never reads
    let error = timeout(PATIENCE, AsyncWriteExt::shutdown(&mut writer))
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::TimedOut, "{error}");
    // A peer that reads everything gets a clean shutdown.
    let (_reader, mut writer, mut peer) = pair(DEFAULT_LIMIT);
    writer.write(b"bye").await.unwrap();
    let drained = tokio::spawn(async move {
        let mut all = Vec::new();
        peer.read_to_end(&mut all).await.unwrap();
        all
    });
    timeout(PATIENCE, AsyncWriteExt::shutdown(&mut writer))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(timeout(PATIENCE, drained).await.unwrap().unwrap(), b"bye");
}

/// A timing mark whose peer closes its side (and keeps ours open) gets no answer: the
/// wait ends with an error instead of lasting as long as the connection.
#[tokio::test]
async fn a_timing_mark_ends_when_the_peer_closes_its_side() {
    let (_reader, mut writer, mut peer) = pair(DEFAULT_LIMIT);
    let mark = tokio::spawn(async move { writer.timing_mark().await });
    let mut buf = [0u8; 3];
    timeout(PATIENCE, peer.read_exact(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(buf, [255, 253, 6]); // DO TM
    peer.shutdown().await.unwrap();
    let answer = timeout(PATIENCE, mark).await.unwrap().unwrap();
    assert!(answer.is_err(), "{answer:?}");
}

/// A flood of editing commands the shell does not take cannot push an interrupt out of
/// the bounded queue: they go first.
#[tokio::test]
async fn an_interrupt_outlives_a_flood_of_editing_commands() {
    let (reader, _writer, mut peer) = pair(DEFAULT_LIMIT);
    let mut commands = reader.commands();
    let mut flood = vec![255, 244]; // IAC IP
    for _ in 0..40 {
        flood.extend_from_slice(&[255, 247]); // IAC EC
    }
    flood.extend_from_slice(b"\xff\xf3x"); // IAC BRK, then data to know it all arrived
    peer.write_all(&flood).await.unwrap();
    let mut reader = reader;
    assert_eq!(
        timeout(PATIENCE, reader.read(1)).await.unwrap().unwrap(),
        b"x"
    );
    let mut got = Vec::new();
    while let Some(command) = commands.try_recv() {
        got.push(command);
    }
    assert_eq!(got.len(), COMMAND_QUEUE);
    assert_eq!(got.first(), Some(&Command::Ip));
    assert_eq!(got.last(), Some(&Command::Brk));
    assert!(
        got[1..got.len() - 1].iter().all(|&c| c == Command::Ec),
        "{got:?}"
    );
}

/// A waker that counts its wake-ups.
#[derive(Default)]
struct CountingWaker(std::sync::atomic::AtomicUsize);

impl std::task::Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

impl CountingWaker {
    fn count(&self) -> usize {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Wait (boundedly) until woken more than `seen` times.
    async fn woken_after(&self, seen: usize) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while self.count() <= seen {
            assert!(tokio::time::Instant::now() < deadline, "never woken");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}

#[tokio::test]
async fn poll_read_registers_its_waker_and_is_woken_by_data_and_eof() {
    let (mut reader, _writer, mut peer) = pair(DEFAULT_LIMIT);
    let counter = Arc::new(CountingWaker::default());
    let waker = std::task::Waker::from(Arc::clone(&counter));
    let mut cx = Context::from_waker(&waker);
    let mut space = [0u8; 16];
    let mut poll = |reader: &mut TelnetReader| {
        let mut buf = ReadBuf::new(&mut space);
        match Pin::new(reader).poll_read(&mut cx, &mut buf) {
            Poll::Ready(result) => Poll::Ready(result.map(|()| buf.filled().to_vec())),
            Poll::Pending => Poll::Pending,
        }
    };
    // Nothing yet: pending, however often polled.
    assert!(poll(&mut reader).is_pending());
    assert!(poll(&mut reader).is_pending());
    peer.write_all(b"abc").await.unwrap();
    counter.woken_after(0).await;
    assert_eq!(
        poll(&mut reader).map(Result::unwrap),
        Poll::Ready(b"abc".to_vec())
    );
    // Waiting again, then the peer closes: woken, and end of file.
    assert!(poll(&mut reader).is_pending());
    let seen = counter.count();
    drop(peer);
    counter.woken_after(seen).await;
    assert_eq!(
        poll(&mut reader).map(Result::unwrap),
        Poll::Ready(Vec::new())
    );
}

#[tokio::test(start_paused = true)]
async fn after_close_flush_and_write_return_at_once() {
    let (_reader, mut writer, mut peer) = pair(DEFAULT_LIMIT);
    writer.write(b"bye").await.unwrap();
    writer.close().await;
    let mut got = [0u8; 3];
    peer.read_exact(&mut got).await.unwrap();
    assert_eq!(&got, b"bye");
    // Nothing queued: flush is done.
    writer.flush().await.unwrap();
    // Output queued after our side was shut down can never go out: flush says so at
    // once, not after the driver's linger for the peer's close (the peer stays open,
    // so the linger is the close timeout, 200 ms; in paused time the 1 ms bound below
    // comes first unless flush returns without waiting on any timer).
    writer.send_command(telnetlib3_proto::Command::Nop);
    let flushed = timeout(Duration::from_millis(1), writer.flush()).await;
    assert!(matches!(flushed, Ok(Err(Error::Closed))), "{flushed:?}");
    let drained = timeout(Duration::from_millis(1), writer.drain()).await;
    assert!(matches!(drained, Ok(Ok(()))), "{drained:?}");
    let written = timeout(Duration::from_millis(1), writer.write(b"more")).await;
    assert!(matches!(written, Ok(Err(Error::Closed))), "{written:?}");
    let flushed = timeout(Duration::from_millis(1), AsyncWriteExt::flush(&mut writer)).await;
    assert!(matches!(flushed, Ok(Err(_))), "{flushed:?}");
}

#[tokio::test]
async fn read_line_takes_buffered_lines_then_waits_for_the_rest() {
    let (mut reader, _writer, mut peer) = pair(DEFAULT_LIMIT);
    // Many short lines in one segment, and the start of one more.
    let mut sent = Vec::new();
    for i in 0..500 {
        sent.extend_from_slice(format!("line {i}\r\n").as_bytes());
    }
    sent.extend_from_slice(b"last");
    peer.write_all(&sent).await.unwrap();
    buffered(&reader, sent.len()).await;
    for i in 0..500 {
        assert_eq!(line(&mut reader).await, format!("line {i}\r\n").as_bytes());
    }
    // Nothing whole is left: read_line waits, and the end of the line completes it.
    let mut pending = Box::pin(reader.read_line());
    assert!(poll_once(&mut pending).await.is_pending());
    peer.write_all(b" one\n").await.unwrap();
    let last = timeout(PATIENCE, pending).await.unwrap().unwrap();
    assert_eq!(last, b"last one\n");
    assert_eq!(reader.buffered(), 0);
}

#[tokio::test]
async fn read_until_a_separator_split_across_every_boundary() {
    let data = b"banner\r\nlogin: rest";
    for split in 1..data.len() {
        let (mut reader, _writer, mut peer) = pair(1 << 16);
        peer.write_all(&data[..split]).await.unwrap();
        // Let the first piece arrive on its own, then the rest.
        buffered(&reader, split).await;
        let read = tokio::spawn(async move {
            let got = reader.read_until(b"login: ").await.unwrap();
            (got, reader)
        });
        tokio::task::yield_now().await;
        peer.write_all(&data[split..]).await.unwrap();
        let (got, mut reader) = timeout(PATIENCE, read).await.unwrap().unwrap();
        assert_eq!(got, b"banner\r\nlogin: ", "split at {split}");
        assert_eq!(reader.read_exact(4).await.unwrap(), b"rest");
    }
}

#[tokio::test]
async fn expect_a_pattern_split_across_every_boundary() {
    let data = b"output\r\nrouter# ";
    let patterns = [
        regex::bytes::Regex::new(r">\s*$").unwrap(),
        regex::bytes::Regex::new(r"\w+# $").unwrap(),
    ];
    for split in 1..data.len() {
        let (mut reader, _writer, mut peer) = pair(1 << 16);
        peer.write_all(&data[..split]).await.unwrap();
        buffered(&reader, split).await;
        let patterns = patterns.clone();
        let read = tokio::spawn(async move { reader.expect(&patterns).await.unwrap() });
        tokio::task::yield_now().await;
        peer.write_all(&data[split..]).await.unwrap();
        let found = timeout(PATIENCE, read).await.unwrap().unwrap();
        assert_eq!(found.index, 1, "split at {split}");
        assert_eq!(found.matched, b"router# ", "split at {split}");
        assert_eq!(found.before, b"output\r\n", "split at {split}");
    }
}

#[tokio::test]
async fn expect_takes_the_first_pattern_in_order_and_read_until_pattern_the_match() {
    let (mut reader, _writer, mut peer) = pair(1 << 16);
    peer.write_all(b"a> b# c").await.unwrap();
    buffered(&reader, 7).await;
    let patterns = [
        regex::bytes::Regex::new("#").unwrap(),
        regex::bytes::Regex::new(">").unwrap(),
    ];
    let found = reader.expect(&patterns).await.unwrap();
    assert_eq!((found.index, &found.matched[..]), (0, &b"#"[..]));
    assert_eq!(found.before, b"a> b");
    let pattern = regex::bytes::Regex::new("c").unwrap();
    assert_eq!(reader.read_until_pattern(&pattern).await.unwrap(), b" c");
}

#[tokio::test]
async fn ten_megabytes_before_the_match_in_small_pieces() {
    const SIZE: usize = 10_000_000;
    let (mut reader, _writer, mut peer) = pair(SIZE + 4096);
    let sender = tokio::spawn(async move {
        let block = [b'.'; 100];
        let mut sent = 0;
        while sent < SIZE {
            peer.write_all(&block).await.unwrap();
            sent += block.len();
        }
        peer.write_all(b"\r\nrouter# ").await.unwrap();
        peer
    });
    let patterns = [regex::bytes::Regex::new(r"\S+# $").unwrap()];
    // Linear work: the scan counts are checked in `expect::tests`; here, that the whole
    // thing ends well within the patience (a quadratic search of 10 MB would not).
    let found = timeout(PATIENCE, reader.expect(&patterns))
        .await
        .expect("expect took too long")
        .unwrap();
    assert_eq!(found.before.len(), SIZE + 2);
    assert_eq!(found.matched, b"router# ");
    let mut peer = sender.await.unwrap();
    peer.write_all(b"xx login: ").await.unwrap();
    assert_eq!(
        timeout(PATIENCE, reader.read_until(b"login: "))
            .await
            .unwrap()
            .unwrap(),
        b"xx login: "
    );
}

#[tokio::test]
async fn expect_at_end_of_input_and_at_the_limit() {
    let pattern = regex::bytes::Regex::new("#").unwrap();
    let (mut reader, _writer, mut peer) = pair(1 << 16);
    peer.write_all(b"no prompt").await.unwrap();
    drop(peer);
    match timeout(PATIENCE, reader.read_until_pattern(&pattern))
        .await
        .unwrap()
    {
        Err(Error::Incomplete { partial }) => assert_eq!(partial, b"no prompt"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        reader.expect(std::slice::from_ref(&pattern)).await,
        Err(Error::Incomplete { partial }) if partial.is_empty()
    ));

    let (mut reader, _writer, mut peer) = pair(16);
    peer.write_all(b"0123456789abcdefghij#").await.unwrap();
    assert!(matches!(
        timeout(PATIENCE, reader.read_until_pattern(&pattern))
            .await
            .unwrap(),
        Err(Error::LimitOverrun { limit: 16 })
    ));
    assert_eq!(reader.read(10).await.unwrap(), b"0123456789");
    assert_eq!(
        reader.read_until_pattern(&pattern).await.unwrap(),
        b"abcdefghij#"
    );
}

#[tokio::test]
async fn a_timed_out_expect_loses_nothing() {
    let pattern = regex::bytes::Regex::new("# $").unwrap();
    let (mut reader, _writer, mut peer) = pair(1 << 16);
    peer.write_all(b"partial #").await.unwrap();
    buffered(&reader, 9).await;
    assert!(timeout(
        Duration::from_millis(50),
        reader.read_until_pattern(&pattern)
    )
    .await
    .is_err());
    assert!(timeout(Duration::from_millis(50), reader.read_until(b"# "))
        .await
        .is_err());
    peer.write_all(b" ").await.unwrap();
    assert_eq!(
        timeout(PATIENCE, reader.read_until_pattern(&pattern))
            .await
            .unwrap()
            .unwrap(),
        b"partial # "
    );
}

#[tokio::test]
async fn text_expect_splits_characters_and_patterns_across_arrivals() {
    use crate::text::{Encoding, ErrorMode};
    let data = "Grüße\r\nrouter‹1›# rest".as_bytes();
    let patterns = [
        regex::Regex::new(r">\s*$").unwrap(),
        regex::Regex::new(r"\w+‹\d›# ").unwrap(),
    ];
    let never = regex::Regex::new("never").unwrap();
    for split in 1..data.len() {
        let (reader, _writer, mut peer) = pair(1 << 16);
        let mut text = TextReader::new(
            reader,
            Encoding::from_name("utf8").unwrap(),
            ErrorMode::Strict,
        );
        peer.write_all(&data[..split]).await.unwrap();
        let patterns = patterns.clone();
        let read = tokio::spawn(async move {
            let found = text.expect(&patterns).await.unwrap();
            (found, text)
        });
        tokio::task::yield_now().await;
        peer.write_all(&data[split..]).await.unwrap();
        drop(peer);
        let (found, mut text) = timeout(PATIENCE, read).await.unwrap().unwrap();
        assert_eq!(found.index, 1, "split at {split}");
        assert_eq!(found.before, "Grüße\r\n", "split at {split}");
        assert_eq!(found.matched, "router‹1›# ", "split at {split}");
        match text.read_until_pattern(&never).await {
            Err(Error::Incomplete { partial }) => assert_eq!(partial, b"rest"),
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn text_expect_at_the_limit() {
    use crate::text::{Encoding, ErrorMode};
    let (reader, _writer, mut peer) = pair(16);
    let mut text = TextReader::new(
        reader,
        Encoding::from_name("utf8").unwrap(),
        ErrorMode::Strict,
    );
    peer.write_all(b"0123456789abcdefghij#").await.unwrap();
    let pattern = regex::Regex::new("#").unwrap();
    assert!(matches!(
        timeout(PATIENCE, text.read_until_pattern(&pattern))
            .await
            .unwrap(),
        Err(Error::LimitOverrun { limit: 16 })
    ));
}

mod waiting {
    //! `wait_for`, `wait_for_condition`, `echo` and `write_eof` against a scripted peer.

    use telnetlib3_proto::TelnetOption;

    use super::*;
    use crate::OptionWait;

    const IAC: u8 = 255;
    const WILL: u8 = 251;
    const DO: u8 = 253;
    const NAWS: u8 = 31;
    const ECHO: u8 = 1;

    /// Read exactly `n` bytes from the peer's end.
    async fn peer_reads(peer: &mut DuplexStream, n: usize) -> Vec<u8> {
        let mut buf = vec![0; n];
        timeout(PATIENCE, peer.read_exact(&mut buf))
            .await
            .expect("peer read waited")
            .unwrap();
        buf
    }

    #[tokio::test]
    async fn wait_for_returns_once_the_peer_agrees() {
        let (_reader, writer, mut peer) = pair(DEFAULT_LIMIT);
        writer
            .with_session(|s| s.request_remote(TelnetOption::Naws, true))
            .unwrap();
        assert_eq!(peer_reads(&mut peer, 3).await, [IAC, DO, NAWS]);
        // Asked and not answered: pending, not enabled.
        let asked = OptionWait::new()
            .pending(TelnetOption::Naws, true)
            .remote(TelnetOption::Naws, false);
        writer.wait_for(&asked, Some(PATIENCE)).await.unwrap();
        let agreed = OptionWait::new()
            .remote(TelnetOption::Naws, true)
            .pending(TelnetOption::Naws, false);
        let waiting = tokio::spawn(async move {
            let result = writer.wait_for(&agreed, None).await;
            (result, writer)
        });
        tokio::task::yield_now().await;
        peer.write_all(&[IAC, WILL, NAWS]).await.unwrap();
        let (result, writer) = timeout(PATIENCE, waiting).await.unwrap().unwrap();
        result.unwrap();
        assert!(writer.remote_enabled(TelnetOption::Naws));
    }

    #[tokio::test]
    async fn wait_for_times_out() {
        let (_reader, writer, _peer) = pair(DEFAULT_LIMIT);
        let wait = OptionWait::new().remote(TelnetOption::Naws, true);
        let result = writer
            .wait_for(&wait, Some(Duration::from_millis(20)))
            .await;
        assert!(matches!(result, Err(Error::TimedOut)), "{result:?}");
    }

    #[tokio::test]
    async fn wait_for_fails_when_the_connection_ends_first() {
        let (_reader, writer, peer) = pair(DEFAULT_LIMIT);
        let wait = OptionWait::new().remote(TelnetOption::Naws, true);
        let waiting = tokio::spawn(async move { writer.wait_for(&wait, None).await });
        tokio::task::yield_now().await;
        drop(peer);
        let result = timeout(PATIENCE, waiting).await.unwrap().unwrap();
        assert!(matches!(result, Err(Error::Closed)), "{result:?}");
    }

    #[tokio::test]
    async fn wait_for_condition_sees_the_sessions_changes() {
        let (_reader, writer, mut peer) = pair(DEFAULT_LIMIT);
        writer
            .with_session(|s| s.request_remote(TelnetOption::Naws, true))
            .unwrap();
        assert_eq!(peer_reads(&mut peer, 3).await, [IAC, DO, NAWS]);
        let waiting = tokio::spawn(async move {
            let mut calls = 0;
            let result = writer
                .wait_for_condition(
                    |session| {
                        calls += 1;
                        session.remote_enabled(TelnetOption::Naws)
                    },
                    Some(PATIENCE),
                )
                .await;
            (result, calls)
        });
        tokio::task::yield_now().await;
        peer.write_all(&[IAC, WILL, NAWS]).await.unwrap();
        let (result, calls) = timeout(PATIENCE, waiting).await.unwrap().unwrap();
        result.unwrap();
        assert!(calls >= 1);
        // Already true: at once; never true: the timeout.
        let (_reader, writer, _peer) = pair(DEFAULT_LIMIT);
        writer.wait_for_condition(|_| true, None).await.unwrap();
        let result = writer
            .wait_for_condition(|_| false, Some(Duration::from_millis(20)))
            .await;
        assert!(matches!(result, Err(Error::TimedOut)), "{result:?}");
    }

    #[tokio::test]
    async fn echo_writes_only_once_we_will_echo() {
        let (_reader, mut writer, mut peer) = pair(DEFAULT_LIMIT);
        assert!(!writer.will_echo());
        assert!(!writer.echo(b"unseen").await.unwrap());
        writer.write(b"|").await.unwrap();
        writer.flush().await.unwrap();
        assert_eq!(peer_reads(&mut peer, 1).await, b"|", "nothing echoed");

        writer
            .with_session(|s| s.request_local(TelnetOption::Echo, true))
            .unwrap();
        assert_eq!(peer_reads(&mut peer, 3).await, [IAC, WILL, ECHO]);
        peer.write_all(&[IAC, DO, ECHO]).await.unwrap();
        let wait = OptionWait::new().local(TelnetOption::Echo, true);
        writer.wait_for(&wait, Some(PATIENCE)).await.unwrap();
        assert!(writer.will_echo());
        assert!(writer.echo(b"seen").await.unwrap());
        writer.flush().await.unwrap();
        assert_eq!(peer_reads(&mut peer, 4).await, b"seen");
    }

    #[tokio::test]
    async fn write_eof_ends_our_side_after_the_data() {
        let (_reader, mut writer, mut peer) = pair(DEFAULT_LIMIT);
        writer.write(b"last words").await.unwrap();
        writer.write_eof().await.unwrap();
        let mut all = Vec::new();
        timeout(PATIENCE, peer.read_to_end(&mut all))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(all, b"last words");
        assert!(matches!(writer.write(b"more").await, Err(Error::Closed)));
    }
}
