//! The server's idle timeout fires on a deadline: `timeout` after the client's last byte
//! (after the connection's start while it has sent none), not a moment before, and a
//! byte from the client moves the deadline.
//!
//! The clock is tokio's paused clock: it moves only when every task waits, straight to
//! the next timer, so the instants asserted here are exact and the tests take no real
//! time. The client is a raw byte stream that never answers the negotiation, so all the
//! server sends before the timeout is its opening `DO TTYPE`.

use std::time::Duration;

use telnetlib3::{serve_stream, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::time::{timeout_at, Instant};

const IDLE: Duration = Duration::from_secs(10);
const MS: Duration = Duration::from_millis(1);
const DO_TTYPE: &[u8] = b"\xff\xfd\x18";
const TIMEOUT: &[u8] = b"\r\nTimeout.\r\n";

/// A server over one end of a duplex with the idle timeout [`IDLE`] and a shell that
/// never ends; returns the client's end.
fn serve() -> DuplexStream {
    let (client, server_end) = tokio::io::duplex(64 * 1024);
    let mut config = ServerConfig::default();
    config.connect_maxwait = Duration::from_secs(1);
    config.timeout = Some(IDLE);
    tokio::spawn(async move {
        serve_stream(server_end, "idle", &config, |_reader, _writer| {
            std::future::pending::<()>()
        })
        .await;
    });
    client
}

/// What `client` receives before `until` (or before the server closes).
async fn read_until(client: &mut DuplexStream, until: Instant) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0; 256];
    while let Ok(read) = timeout_at(until, client.read(&mut buf)).await {
        match read.unwrap() {
            0 => break,
            n => got.extend_from_slice(&buf[..n]),
        }
    }
    got
}

/// Read the rest up to the server's close; returns it and when the timeout notice came.
async fn read_notice(client: &mut DuplexStream) -> (Vec<u8>, Instant) {
    let mut got = Vec::new();
    let mut buf = [0; 256];
    let mut when = None;
    loop {
        let n = client.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
        if when.is_none() && got.ends_with(TIMEOUT) {
            when = Some(Instant::now());
        }
    }
    (got, when.expect("no timeout notice before the close"))
}

#[tokio::test(start_paused = true)]
async fn a_silent_client_times_out_at_start_plus_the_timeout() {
    let start = Instant::now();
    let mut client = serve();
    assert_eq!(read_until(&mut client, start + IDLE - MS).await, DO_TTYPE);
    let (rest, when) = read_notice(&mut client).await;
    assert_eq!(rest, TIMEOUT);
    assert_eq!(when - start, IDLE);
}

#[tokio::test(start_paused = true)]
async fn a_byte_from_the_client_moves_the_deadline() {
    let start = Instant::now();
    let mut client = serve();
    let typed_at = Duration::from_secs(6);
    assert_eq!(read_until(&mut client, start + typed_at).await, DO_TTYPE);
    client.write_all(b"x").await.unwrap();
    // Past the first deadline (10 s) and up to just before the new one (16 s): nothing.
    assert_eq!(
        read_until(&mut client, start + typed_at + IDLE - MS).await,
        b""
    );
    let (rest, when) = read_notice(&mut client).await;
    assert_eq!(rest, TIMEOUT);
    assert_eq!(when - start, typed_at + IDLE);
}

#[tokio::test(start_paused = true)]
async fn a_steady_trickle_of_input_never_times_out() {
    let start = Instant::now();
    let mut client = serve();
    // A byte every 9 s for a minute: each arrives before the deadline the last one set.
    let mut got = Vec::new();
    for tick in 1..=7 {
        got.extend(read_until(&mut client, start + Duration::from_secs(9 * tick)).await);
        client.write_all(b"x").await.unwrap();
    }
    assert_eq!(got, DO_TTYPE);
    let (rest, when) = read_notice(&mut client).await;
    assert_eq!(rest, TIMEOUT);
    assert_eq!(when - start, Duration::from_secs(63) + IDLE);
}

/// A server with the idle timeout [`IDLE`] whose shell runs `shell` with its writer,
/// then never ends; returns the client's end.
fn serve_with<F, Fut>(shell: F) -> DuplexStream
where
    F: FnOnce(telnetlib3::TelnetWriter) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (client, server_end) = tokio::io::duplex(64 * 1024);
    let mut config = ServerConfig::default();
    config.connect_maxwait = Duration::from_secs(1);
    config.timeout = Some(IDLE);
    tokio::spawn(async move {
        serve_stream(server_end, "idle", &config, |_reader, writer| async move {
            shell(writer).await;
            std::future::pending::<()>().await;
        })
        .await;
    });
    client
}

#[tokio::test(start_paused = true)]
async fn a_shorter_timeout_set_on_an_idle_connection_ends_it_at_the_new_deadline() {
    let start = Instant::now();
    let (seen, seen_rx) = tokio::sync::oneshot::channel();
    // The shell starts at 1 s (connect_maxwait: the client never answers), idle since
    // the start; at 3 s it sets 2 s: the clock restarts then, the deadline is 5 s.
    let mut client = serve_with(|writer| async move {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let before = writer.idle_timeout();
        writer.set_idle_timeout(Some(Duration::from_secs(2)));
        let _ = seen.send((before, writer.idle_timeout()));
    });
    let (rest, when) = read_notice(&mut client).await;
    assert_eq!(rest, [DO_TTYPE, TIMEOUT].concat());
    assert_eq!(when - start, Duration::from_secs(5));
    assert_eq!(
        seen_rx.await.unwrap(),
        (Some(IDLE), Some(Duration::from_secs(2)))
    );
}

#[tokio::test(start_paused = true)]
async fn a_removed_timeout_never_fires_until_one_is_set_again() {
    let start = Instant::now();
    let mut client = serve_with(|writer| async move {
        tokio::time::sleep(Duration::from_secs(2)).await;
        writer.set_idle_timeout(None);
        // Far past the configured deadline (10 s) with no input.
        tokio::time::sleep(Duration::from_secs(57)).await;
        assert_eq!(writer.idle_timeout(), None);
        writer.set_idle_timeout(Some(Duration::from_secs(1)));
    });
    let (rest, when) = read_notice(&mut client).await;
    assert_eq!(rest, [DO_TTYPE, TIMEOUT].concat());
    assert_eq!(when - start, Duration::from_secs(61));
}

#[tokio::test(start_paused = true)]
async fn a_longer_timeout_moves_the_deadline_later() {
    let start = Instant::now();
    let mut client = serve_with(|writer| async move {
        tokio::time::sleep(Duration::from_secs(8)).await;
        writer.set_idle_timeout(Some(Duration::from_secs(30)));
    });
    // The configured deadline (10 s) passes: nothing.
    assert_eq!(
        read_until(&mut client, start + Duration::from_secs(38) - MS).await,
        DO_TTYPE
    );
    client.write_all(b"x").await.unwrap();
    // Input moves it on as before: 38 s + 30 s.
    let (rest, when) = read_notice(&mut client).await;
    assert_eq!(rest, TIMEOUT);
    assert_eq!(when - start, Duration::from_secs(68) - MS);
}
