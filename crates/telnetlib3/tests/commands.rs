//! RFC 854's commands against our server, from a raw TCP peer on 127.0.0.1: AYT is
//! answered, IP and BRK reach the shell, AO discards queued output and sends a Synch
//! (`IAC DM`, the DM as TCP urgent data). Every wait is bounded.

mod support;

use std::io::{Read, Write};
use std::mem::MaybeUninit;
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::{local, port, PATIENCE};
use telnetlib3::proto::{Command, Handler, Parser, SessionConfig};
use telnetlib3::{create_server, ServerConfig};

const IAC: u8 = 255;
const AO: u8 = 245;
const AYT: u8 = 246;
const BRK: u8 = 243;
const DO: u8 = 253;
const IP: u8 = 244;
const TM: u8 = 6;

/// A server whose shell starts soon: the raw peer answers none of its negotiation.
fn quick() -> ServerConfig {
    let mut config = local();
    config.connect_maxwait = Duration::from_millis(300);
    config
}

/// What a raw peer received, parsed: the data, and the commands and negotiations in order.
#[derive(Default)]
struct Received {
    data: Vec<u8>,
    commands: Vec<Command>,
    /// Data bytes seen before each command, in order.
    data_before: Vec<usize>,
    negotiations: Vec<(u8, u8)>,
}

impl Handler for Received {
    fn data(&mut self, data: &[u8]) {
        self.data.extend_from_slice(data);
    }
    fn command(&mut self, command: Command) {
        self.commands.push(command);
        self.data_before.push(self.data.len());
    }
    fn negotiation(
        &mut self,
        verb: telnetlib3::proto::Verb,
        option: telnetlib3::proto::TelnetOption,
    ) {
        self.negotiations.push((verb.code(), option.code()));
    }
}

/// A raw peer: reads into a parser until `done` holds of what it parsed.
struct Peer {
    socket: TcpStream,
    parser: Parser,
    received: Received,
}

impl Peer {
    fn connect(port: u16) -> Self {
        let socket = TcpStream::connect(("127.0.0.1", port)).unwrap();
        socket.set_read_timeout(Some(PATIENCE)).unwrap();
        // As our own sockets do: a Synch's urgent DM stays in the stream, where the
        // parser sees `IAC DM`.
        socket2::SockRef::from(&socket)
            .set_out_of_band_inline(true)
            .unwrap();
        Self {
            socket,
            parser: Parser::new(),
            received: Received::default(),
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.socket.write_all(bytes).unwrap();
    }

    fn read_until(&mut self, done: impl Fn(&Received) -> bool) {
        let deadline = Instant::now() + PATIENCE;
        let mut buf = vec![0; 64 * 1024];
        while !done(&self.received) {
            assert!(Instant::now() < deadline, "not received in time");
            let n = self.socket.read(&mut buf).expect("read");
            assert!(
                n > 0,
                "closed early; data so far {:?}",
                self.received.data.len()
            );
            self.parser.advance(&mut self.received, &buf[..n]);
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Run a blocking peer on a thread of its own, within the test's runtime.
async fn peer<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::time::timeout(PATIENCE * 2, tokio::task::spawn_blocking(f))
        .await
        .expect("peer timed out")
        .expect("peer panicked")
}

/// The data a server configured with `ayt_answer` sends for `IAC AYT`: an idle shell,
/// and a TIMING-MARK after the AYT, whose answer marks the end of the answer to AYT.
async fn answer_to_ayt(ayt_answer: Option<&'static [u8]>) -> Vec<u8> {
    let mut config = local();
    Arc::make_mut(&mut config.protocol).ayt_answer = ayt_answer.map(Into::into);
    let server = create_server(config, |_reader, _writer| async move {
        std::future::pending::<()>().await;
    })
    .await
    .unwrap();
    let port = port(&server);
    let data = peer(move || {
        let mut peer = Peer::connect(port);
        peer.send(&[IAC, AYT, IAC, DO, TM]);
        peer.read_until(|r| r.negotiations.iter().any(|&(_, option)| option == TM));
        peer.received.data
    })
    .await;
    server.close();
    data
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ayt_is_answered_with_yes() {
    // RFC 854 asks for visible evidence; BSD and inetutils telnetd print this, exactly.
    let default = SessionConfig::DEFAULT_AYT_ANSWER;
    assert_eq!(answer_to_ayt(Some(default)).await, b"\r\n[Yes]\r\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ayt_answer_can_be_turned_off() {
    assert_eq!(answer_to_ayt(None).await, b"");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ip_and_brk_reach_the_shell_as_commands() {
    let server = create_server(quick(), |reader, mut writer| async move {
        let mut commands = reader.commands();
        writer.write(b"ready\r\n").await.unwrap();
        while let Some(command) = commands.recv().await {
            writer
                .write(format!("got {command}\r\n").as_bytes())
                .await
                .unwrap();
        }
    })
    .await
    .unwrap();
    let port = port(&server);
    let data = peer(move || {
        let mut peer = Peer::connect(port);
        peer.read_until(|r| contains(&r.data, b"ready\r\n"));
        // Type-ahead, then IP and BRK: the commands are not stuck behind unread data.
        peer.send(b"unread type-ahead");
        peer.send(&[IAC, IP, IAC, BRK]);
        peer.read_until(|r| contains(&r.data, b"got BRK\r\n"));
        peer.received.data
    })
    .await;
    assert_eq!(data, b"ready\r\ngot IP\r\ngot BRK\r\n");
    server.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ao_discards_queued_output_and_sends_a_synch() {
    const CHUNK: usize = 16 * 1024;
    let (written_tx, written_rx) = std::sync::mpsc::channel();
    let server = create_server(quick(), move |reader, mut writer| {
        let written_tx = written_tx.clone();
        async move {
            let mut commands = reader.commands();
            writer.write(b"ready\r\n").await.unwrap();
            // A long listing, until the user aborts it (the writer waits while 64 KiB
            // are queued, so most of it waits in our queue or the socket's).
            let line = [b'x'; CHUNK - 2];
            let mut written = 0;
            while commands.try_recv() != Some(Command::Ao) {
                tokio::select! {
                    result = writer.write(&line) => {
                        result.unwrap();
                        written += line.len();
                    }
                    () = tokio::time::sleep(Duration::from_millis(20)) => {}
                }
            }
            writer.write(b"aborted\r\n").await.unwrap();
            written_tx.send(written).unwrap();
        }
    })
    .await
    .unwrap();
    let port = port(&server);
    let received = peer(move || {
        let mut peer = Peer::connect(port);
        peer.read_until(|r| contains(&r.data, b"ready\r\n"));
        // Let output pile up, unread, then abort it.
        std::thread::sleep(Duration::from_millis(500));
        peer.send(&[IAC, AO]);
        peer.read_until(|r| contains(&r.data, b"aborted\r\n"));
        peer.received
    })
    .await;
    let written = written_rx.recv_timeout(PATIENCE).unwrap();
    let shown = received.data.len() - b"ready\r\n".len() - b"aborted\r\n".len();
    assert!(written > 0);
    // What was queued and not yet on the socket was never sent.
    assert!(
        shown < written,
        "{shown} bytes of the listing shown of {written} written: nothing discarded"
    );
    // The Synch: IAC DM, after what was already on its way, before the shell's next words.
    let at = received
        .commands
        .iter()
        .position(|&c| c == Command::Dm)
        .expect("no IAC DM");
    let before = received.data_before[at];
    assert!(received.data[before..].ends_with(b"aborted\r\n"));
    assert!(received.data[..before].iter().skip(7).all(|&b| b == b'x'));
    server.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_synch_dm_is_tcp_urgent_data() {
    let server = create_server(quick(), |reader, mut writer| async move {
        let mut commands = reader.commands();
        writer.write(b"ready\r\n").await.unwrap();
        while commands.recv().await.is_some() {}
    })
    .await
    .unwrap();
    let port = port(&server);
    let (urgent, inline) = peer(move || {
        let mut peer = Peer::connect(port);
        peer.read_until(|r| contains(&r.data, b"ready\r\n"));
        // Urgent data out of line (the system's default): recv(MSG_OOB) takes the DM,
        // the stream keeps the IAC before it.
        peer.send(&[IAC, AO]);
        let socket = socket2::SockRef::from(&peer.socket);
        socket.set_out_of_band_inline(false).unwrap();
        socket.set_nonblocking(true).unwrap();
        let deadline = Instant::now() + PATIENCE;
        let mut inline = Vec::new();
        loop {
            let mut byte = [MaybeUninit::<u8>::uninit()];
            let urgent = socket.recv_out_of_band(&mut byte).ok();
            let mut rest = [0u8; 64];
            if let Ok(n) = (&peer.socket).read(&mut rest) {
                inline.extend_from_slice(&rest[..n]);
            }
            if urgent == Some(1) {
                return (urgent, inline);
            }
            assert!(
                Instant::now() < deadline,
                "no urgent data; in line: {inline:?}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    })
    .await;
    // One urgent byte, and the stream lost the byte after its IAC: the DM went urgent.
    assert_eq!(urgent, Some(1));
    assert_eq!(inline, [IAC]);
    server.close();
}
