//! Hostile peers: a client (or a server) that floods requests which each get a reply, and
//! never reads the replies. The connection's unwritten output must stay under its bound
//! (measured through the API, [`ConnectionStats::peak_output`]), reading must pause, no
//! reply may be lost once the peer does read, and a peer that never reads is dropped
//! after the output stall timeout.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use support::PATIENCE;
use telnetlib3::proto::options::linemode::{SlcLevel, LM_SLC};
use telnetlib3::proto::{
    write_command, write_negotiation, write_subnegotiation, Command, TelnetOption, Verb,
    DEFAULT_MAX_SUBNEGOTIATION, IAC,
};
use telnetlib3::{
    create_server, open_connection, ClientConfig, ConnectionStats, Server, ServerConfig,
    OUTPUT_PAUSE,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::time::{sleep, timeout, Instant};

/// The most output a connection may hold: the pause point plus the replies to the one
/// command that crossed it (see the crate's memory budget).
const BOUND: usize = OUTPUT_PAUSE + 2 * DEFAULT_MAX_SUBNEGOTIATION + 1024;

/// The peer's receive buffer: small, as an attacker would set it.
const RECV_BUFFER: u32 = 4096;

/// The wire bytes of `commands` and `negotiations`, in that order, through the
/// protocol crate's encoder.
fn wire(commands: &[Command], negotiations: &[(Verb, TelnetOption)]) -> Vec<u8> {
    let mut out = Vec::new();
    for &command in commands {
        write_command(&mut out, command);
    }
    for &(verb, option) in negotiations {
        write_negotiation(&mut out, verb, option);
    }
    out
}

/// `IAC SB LINEMODE <payload> IAC SE`.
fn linemode_sb(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    write_subnegotiation(&mut out, TelnetOption::Linemode, payload);
    out
}

/// Option 199: no one's, refused by every policy (200 is ATCP, which a server agrees to).
const UNKNOWN: TelnetOption = TelnetOption::Unknown(199);

/// A server whose shell writes nothing and waits for the end of the input (the floods
/// carry no data).
async fn idle_server(output_stall_timeout: Duration) -> Server {
    let mut config: ServerConfig = support::local();
    config.connect_maxwait = Duration::from_millis(200);
    config.output_stall_timeout = output_stall_timeout;
    create_server(config, |mut reader, _writer| async move {
        let _ = reader.read(1).await;
    })
    .await
    .unwrap()
}

/// A connection to `addr` with a small receive buffer.
async fn small_window_connect(addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(RECV_BUFFER).unwrap();
    socket.connect(addr).await.unwrap()
}

/// Write `request` over and over without reading, until the victim's output has been
/// full (`full()`) for another megabyte of requests, or the victim stops taking them (its
/// reading paused and the kernels' buffers are full), or five seconds pass. Returns how
/// many requests were started and the rest of the one cut by the stop (to be written
/// once the victim reads again).
async fn flood(
    stream: &mut TcpStream,
    request: &[u8],
    full: impl Fn() -> bool,
) -> (usize, Vec<u8>) {
    let block = request.repeat(64 * 1024 / request.len());
    let start = Instant::now();
    let mut written = 0usize;
    let mut stop_at = usize::MAX;
    while start.elapsed() < PATIENCE && written < stop_at {
        let at = written % block.len();
        match timeout(Duration::from_millis(300), stream.write(&block[at..])).await {
            Ok(Ok(n)) => written += n,
            Ok(Err(error)) => panic!("flood write failed: {error}"),
            // The victim takes no more: done once it is full (else it is slow: go on).
            Err(_) if full() => break,
            Err(_) => {}
        }
        if stop_at == usize::MAX && full() {
            stop_at = written + (1 << 20);
        }
        if written >= stop_at {
            break;
        }
    }
    assert!(
        stop_at != usize::MAX || full(),
        "the victim's output never filled in {written} bytes: nothing was tested"
    );
    let cut = written % request.len();
    let tail = if cut == 0 {
        Vec::new()
    } else {
        request[cut..].to_vec()
    };
    (written.div_ceil(request.len()), tail)
}

/// Read from `stream` (finishing the cut request `tail` first, concurrently) until
/// `reply` has been seen `expected` times; returns how many times it was seen.
async fn count_replies(stream: TcpStream, tail: Vec<u8>, reply: &[u8], expected: usize) -> usize {
    // An honest reader now: a window of 4 KiB would make this part crawl (delayed ACKs).
    socket2::SockRef::from(&stream)
        .set_recv_buffer_size(1 << 20)
        .unwrap();
    let (mut rd, mut wr) = stream.into_split();
    let writer = tokio::spawn(async move {
        wr.write_all(&tail).await.unwrap();
        wr
    });
    // Counted as it comes: a reply cut between two reads is found in `carry`, the end
    // of the previous read (shorter than a reply, so nothing is counted twice).
    let mut carry = Vec::new();
    let mut buf = vec![0; 64 * 1024];
    let deadline = Instant::now() + PATIENCE;
    let mut count = 0;
    while count < expected && Instant::now() < deadline {
        match timeout(Duration::from_millis(500), rd.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => break,
            Ok(Ok(n)) => {
                carry.extend_from_slice(&buf[..n]);
                count += memchr::memmem::find_iter(&carry, reply).count();
                let keep = (reply.len() - 1).min(carry.len());
                carry.drain(..carry.len() - keep);
            }
            Err(_) => {}
        }
    }
    let _ = writer.await;
    count
}

/// The most output the server's one connection has held (0 once it is gone).
fn peak(server: &Server) -> usize {
    server
        .connection_stats()
        .first()
        .map_or(0, |(_, stats)| stats.peak_output)
}

/// The one connection's stats, once its input has stopped growing: reading has paused.
async fn paused_stats(server: &Server) -> ConnectionStats {
    let deadline = Instant::now() + PATIENCE;
    let mut last = None;
    loop {
        sleep(Duration::from_millis(150)).await;
        let stats = server.connection_stats()[0].1;
        if last.is_some_and(|last: ConnectionStats| last.bytes_in == stats.bytes_in) {
            return stats;
        }
        assert!(
            Instant::now() < deadline,
            "the server never stopped reading"
        );
        last = Some(stats);
    }
}

/// The connection's output never went past the documented bound.
fn assert_within_bound(stats: &ConnectionStats) {
    assert!(
        stats.peak_output <= BOUND,
        "peak output {} > bound {BOUND} ({stats:?})",
        stats.peak_output
    );
}

/// `IAC NOP IAC DO TM` and its answer `IAC WILL TM`: with a command between them, each
/// DO TM is a fresh request (the loop guard does not apply) and is answered.
fn tm_ping() -> (Vec<u8>, Vec<u8>) {
    (
        wire(&[Command::Nop], &[(Verb::Do, TelnetOption::Tm)]),
        wire(&[], &[(Verb::Will, TelnetOption::Tm)]),
    )
}

/// Requests for an option nobody performs, each refused: DO -> WONT, WILL -> DONT.
fn unknown_option_requests() -> [(Vec<u8>, Vec<u8>); 2] {
    [(Verb::Do, Verb::Wont), (Verb::Will, Verb::Dont)].map(|(request, reply)| {
        (
            wire(&[], &[(request, UNKNOWN)]),
            wire(&[], &[(reply, UNKNOWN)]),
        )
    })
}

/// Flood the server with `request` (after `prelude`) without reading: its output stays
/// under the bound and its reading pauses; then read, and every request is answered.
async fn server_survives(prelude: &[u8], request: &[u8], reply: &[u8]) {
    let server = idle_server(PATIENCE * 3).await;
    let addr = server.local_addrs()[0];
    let mut stream = small_window_connect(addr).await;
    stream.write_all(prelude).await.unwrap();
    let (sent, tail) = flood(&mut stream, request, || peak(&server) >= OUTPUT_PAUSE).await;
    let stats = paused_stats(&server).await;
    assert_within_bound(&stats);
    // The bound was reached, so the pause was tested (the kernel's send buffer, which
    // grows to megabytes, may have taken the output since).
    assert!(stats.peak_output >= OUTPUT_PAUSE, "{stats:?}");
    assert!(
        sent * reply.len() > 2 * BOUND,
        "the flood was too small to test anything: {sent} requests"
    );
    assert_eq!(
        server.connection_count(),
        1,
        "a slow reader keeps its session"
    );
    let answered = count_replies(stream, tail, reply, sent).await;
    assert_eq!(answered, sent, "every request answered once the peer reads");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_do_tm_flood() {
    let (request, reply) = tm_ping();
    server_survives(&[], &request, &reply).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_unknown_option_floods() {
    for (request, reply) in unknown_option_requests() {
        server_survives(&[], &request, &reply).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_toggle_floods() {
    let echo = TelnetOption::Echo;
    server_survives(
        &[],
        &wire(&[], &[(Verb::Do, echo), (Verb::Dont, echo)]),
        &wire(&[], &[(Verb::Wont, echo)]),
    )
    .await;
    let naws = TelnetOption::Naws;
    server_survives(
        &[],
        &wire(&[], &[(Verb::Will, naws), (Verb::Wont, naws)]),
        &wire(&[], &[(Verb::Dont, naws)]),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_slc_flood() {
    server_survives(
        &wire(&[], &[(Verb::Will, TelnetOption::Linemode)]),
        // `0 SLC_DEFAULT 0`: "tell me your whole table", answered with it each time.
        &linemode_sb(&[LM_SLC, 0, SlcLevel::Default.bits(), 0]),
        // Each answer starts `IAC SB LINEMODE SLC`.
        &linemode_sb(&[LM_SLC])[..4],
    )
    .await;
}

/// A client that never reads what it asked for is dropped after the stall timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_drops_a_client_that_never_reads() {
    let server = idle_server(Duration::from_millis(500)).await;
    let mut stream = small_window_connect(server.local_addrs()[0]).await;
    let block = wire(&[], &[(Verb::Do, UNKNOWN)]).repeat(64 * 1024 / 3);
    let deadline = Instant::now() + PATIENCE;
    // Until the kernels' buffers are full too, the server's output drains into them.
    while server.connection_count() != 0 {
        assert!(Instant::now() < deadline, "the stalled client was kept");
        match timeout(Duration::from_millis(50), stream.write_all(&block)).await {
            Ok(Ok(())) | Err(_) => {}
            // Reset by the server that dropped us.
            Ok(Err(_)) => sleep(Duration::from_millis(20)).await,
        }
    }
    assert!(server.connection_stats().is_empty());
}

/// A hostile server floods our client with `request` without reading: the client's
/// output stays under the bound, and once the server reads every request is answered.
async fn client_survives(request: &[u8], reply: &[u8]) {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(RECV_BUFFER).unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener: TcpListener = socket.listen(4).unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = tokio::spawn(async move { listener.accept().await.unwrap().0 });
    let mut config = ClientConfig::default();
    config.connect_maxwait = Duration::from_millis(200);
    let (_reader, writer) = open_connection("127.0.0.1", addr.port(), config)
        .await
        .unwrap();
    let mut stream = accepted.await.unwrap();
    let (sent, tail) = flood(&mut stream, request, || {
        writer.stats().peak_output >= OUTPUT_PAUSE
    })
    .await;
    let stats = writer.stats();
    assert_within_bound(&stats);
    let answered = count_replies(stream, tail, reply, sent).await;
    assert_eq!(
        answered, sent,
        "every request answered once the server reads"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_do_tm_flood() {
    let (request, reply) = tm_ping();
    client_survives(&request, &reply).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_unknown_option_floods() {
    for (request, reply) in unknown_option_requests() {
        client_survives(&request, &reply).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_toggle_floods() {
    // The client lets the server echo: each WILL ECHO, WONT ECHO pair costs DO, DONT.
    let echo = TelnetOption::Echo;
    client_survives(
        &wire(&[], &[(Verb::Will, echo), (Verb::Wont, echo)]),
        &wire(&[], &[(Verb::Dont, echo)]),
    )
    .await;
    // The client performs BINARY: each DO BINARY, DONT BINARY pair costs WILL, WONT.
    let binary = TelnetOption::Binary;
    client_survives(
        &wire(&[], &[(Verb::Do, binary), (Verb::Dont, binary)]),
        &wire(&[], &[(Verb::Wont, binary)]),
    )
    .await;
}

/// BSD telnet's `send synch`: IAC in the stream, DM as TCP urgent data. The DM stays in
/// the stream (SO_OOBINLINE), so the byte after it is data, not a command.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_synch_sent_as_urgent_data_does_not_eat_the_next_byte() {
    let mut config: ServerConfig = support::local();
    config.connect_maxwait = Duration::from_millis(200);
    let (lines, mut got) = tokio::sync::mpsc::unbounded_channel();
    let server = create_server(config, move |mut reader, _writer| {
        let lines = lines.clone();
        async move {
            let line = reader.read_line().await.unwrap_or_default();
            let _ = lines.send(line);
        }
    })
    .await
    .unwrap();
    let stream = TcpStream::connect(server.local_addrs()[0]).await.unwrap();
    let std_stream = stream.into_std().unwrap();
    std_stream.set_nonblocking(false).unwrap();
    let raw = socket2::SockRef::from(&std_stream);
    sleep(Duration::from_millis(300)).await; // the shell is running
    raw.send(&[b'a', b'b', IAC]).unwrap();
    raw.send_out_of_band(&[Command::Dm.code()]).unwrap();
    sleep(Duration::from_millis(50)).await;
    raw.send(b"cd\r\n").unwrap();
    let line = timeout(PATIENCE, got.recv()).await.unwrap().unwrap();
    // "ab" is discarded if the server had not read it when the urgent data arrived (the
    // Synch's rule), kept if it had: this test is about "cd" being whole either way (the
    // discarding is `a_synch_discards_the_data_before_its_dm`'s).
    assert!(line == b"cd\r\n" || line == b"abcd\r\n", "{line:?}");
}

/// A Synch (RFC 854): the data before the urgent DM is discarded, commands are not, and
/// the data after it arrives whole. Corked, so that the server gets the data, the DM and
/// the rest in one segment: its read stops at the urgent mark, and the rest, already in
/// the socket, must still be read (tokio takes the short read for a drained socket).
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_synch_discards_the_data_before_its_dm() {
    let mut config: ServerConfig = support::local();
    config.connect_maxwait = Duration::from_millis(200);
    let (lines, mut got) = tokio::sync::mpsc::unbounded_channel();
    let server = create_server(config, move |mut reader, mut writer| {
        let lines = lines.clone();
        let mut commands = reader.commands();
        async move {
            // Commands are kept from here on: the peer waits for this before its Synch.
            let _ = writer.write(b"ready").await;
            let line = reader.read_line().await.unwrap_or_default();
            let _ = lines.send((line, commands.try_recv()));
        }
    })
    .await
    .unwrap();
    let stream = TcpStream::connect(server.local_addrs()[0]).await.unwrap();
    let std_stream = stream.into_std().unwrap();
    std_stream.set_nonblocking(false).unwrap();
    let raw = socket2::SockRef::from(&std_stream);
    let mut opening = Vec::new();
    while !opening.ends_with(b"ready") {
        let mut buf = [0; 64];
        let n = std::io::Read::read(&mut &std_stream, &mut buf).unwrap();
        assert!(n > 0, "closed before the shell ran: {opening:?}");
        opening.extend_from_slice(&buf[..n]);
    }
    raw.set_tcp_cork(true).unwrap();
    // Type-ahead, an Interrupt Process, and the Synch's IAC; DM as urgent data; a line.
    raw.send(b"discard me\xff\xf4 and me").unwrap();
    raw.send(&[IAC]).unwrap();
    raw.send_out_of_band(&[Command::Dm.code()]).unwrap();
    raw.send(b"kept\r\n").unwrap();
    raw.set_tcp_cork(false).unwrap();
    let (line, command) = timeout(PATIENCE, got.recv()).await.unwrap().unwrap();
    assert_eq!(line, b"kept\r\n");
    assert_eq!(command, Some(Command::Ip));
}

/// `[::1]`, as a user copies it from a URL, is an address for connecting and listening.
#[tokio::test]
async fn a_bracketed_ipv6_literal_is_a_host() {
    let Ok(probe) = std::net::TcpListener::bind("[::1]:0") else {
        return; // No IPv6 loopback on this machine: nothing to test.
    };
    drop(probe);
    let mut config: ServerConfig = support::local();
    config.host = "[::1]".into();
    config.connect_maxwait = Duration::from_millis(100);
    let server = create_server(config, |_reader, mut writer| async move {
        let _ = writer.write(b"hello\r\n").await;
    })
    .await
    .unwrap();
    let port = server.local_addrs()[0].port();
    assert!(server.local_addrs()[0].is_ipv6());
    let mut client = ClientConfig::default();
    client.connect_maxwait = Duration::from_millis(100);
    let (mut reader, _writer) = open_connection("[::1]", port, client).await.unwrap();
    assert_eq!(
        timeout(PATIENCE, reader.read_line())
            .await
            .unwrap()
            .unwrap(),
        b"hello\r\n"
    );
}
