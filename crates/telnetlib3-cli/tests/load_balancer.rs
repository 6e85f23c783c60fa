//! Behind a load balancer and a service manager: HAProxy in front of `--reuse-port`
//! servers with the PROXY protocol (v2 and v1), refusals of untrusted peers and of
//! connections without a header, systemd's socket activation and readiness notices.

mod common;

use std::net::Ipv4Addr;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::{free_port, require, start_server, Proc, Raw, PATIENCE, SERVER};

/// The client's address in these tests: a loopback address other than the proxy's.
const CLIENT: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 5);
/// Where the tests' readiness probes come from.
const PROBE: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 9);
const HAPROXY: &str = "/usr/sbin/haproxy";
const ACTIVATE: &str = "/usr/bin/systemd-socket-activate";

/// A file in the temporary directory, removed at the end.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, contents: &str) -> Self {
        let path = std::env::temp_dir().join(format!("tl3-{name}-{}", std::process::id()));
        std::fs::write(&path, contents).unwrap();
        Self(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// HAProxy in TCP mode on a free port, relaying to `127.0.0.1:backend` with `send`
/// (`send-proxy-v2`, `send-proxy`).
struct Haproxy {
    _process: Proc,
    _config: TempFile,
    port: u16,
}

impl Haproxy {
    fn start(backend: u16, send: &str) -> Self {
        require(HAPROXY, "haproxy");
        let port = free_port();
        let config = TempFile::new(
            &format!("haproxy-{port}.cfg"),
            &format!(
                "defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 30s\n  \
                 timeout server 30s\n\
                 frontend telnet\n  bind 127.0.0.1:{port}\n  default_backend servers\n\
                 backend servers\n  server s1 127.0.0.1:{backend} {send}\n"
            ),
        );
        let mut command = Command::new(HAPROXY);
        command
            .arg("-db")
            .arg("-f")
            .arg(&config.0)
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        let process = Proc::spawn(command);
        wait_listening(port);
        Self {
            _process: process,
            _config: config,
            port,
        }
    }
}

/// Wait until something accepts connections on 127.0.0.1 `port`. The probes come from
/// 127.0.0.9, so that what HAProxy relays of them is told apart from the clients.
fn wait_listening(port: u16) {
    let deadline = Instant::now() + PATIENCE;
    while !connects_from(PROBE, port) {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        thread::sleep(Duration::from_millis(20));
    }
}

/// Whether a connection from `source` to 127.0.0.1 `port` is accepted.
fn connects_from(source: Ipv4Addr, port: u16) -> bool {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket
        .bind(&std::net::SocketAddr::from((source, 0)).into())
        .unwrap();
    let target = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    socket.connect_timeout(&target.into(), PATIENCE).is_ok()
}

/// The closed connection is read to its end: end of file, or a reset (a connection
/// closed with unread input ends with RST).
fn expect_closed(client: &mut Raw) {
    use std::io::Read;
    client.stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut rest = Vec::new();
    match client.stream.read_to_end(&mut rest) {
        Ok(_) => assert!(rest.is_empty(), "data before the close: {rest:?}"),
        Err(error) => assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset),
    }
}

/// The debug shell's `proto` answer (`<Peer ADDRESS PORT>`) to a client from `source`
/// through `port`.
fn peer_seen_by_shell(source: Ipv4Addr, port: u16) -> String {
    let mut client = Raw::connect_from(source, port);
    client.read_until(b"tel:sh> ");
    client.send(b"proto\r\n");
    let answer = client.read_until(b"tel:sh> ");
    String::from_utf8_lossy(&answer)
        .lines()
        .find(|line| line.starts_with("<Peer "))
        .unwrap_or_else(|| panic!("no <Peer> line in {answer:?}"))
        .to_string()
}

/// Server flags behind HAProxy on this machine.
const BEHIND_PROXY: [&str; 6] = [
    "--proxy-protocol",
    "--trusted-proxy",
    "127.0.0.1",
    "--connect-maxwait",
    "0.2",
    "--reuse-port",
];

#[test]
fn haproxy_v2_names_the_client_to_two_reuse_port_servers() {
    let (mut first, port) = start_server(&BEHIND_PROXY);
    let mut second = Proc::spawn({
        let mut command = Command::new(SERVER);
        command
            .args(["127.0.0.1", &port.to_string()])
            .args(BEHIND_PROXY)
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        command
    });
    second
        .wait_for_line("Server ready on ")
        .expect("a second --reuse-port server shares the port");
    let haproxy = Haproxy::start(port, "send-proxy-v2");

    // The kernel spreads connections over both processes by their addresses: connect
    // until each has had one (two in a row to one process is a coin toss).
    let served_by = |server: &mut Proc| {
        server
            .stderr_so_far()
            .iter()
            .filter(|line| line.contains("Connection from <Peer 127.0.0.5 "))
            .count()
    };
    let mut connections = 0;
    while served_by(&mut first) == 0 || served_by(&mut second) == 0 {
        assert!(
            connections < 40,
            "one process took all {connections} connections"
        );
        let seen = peer_seen_by_shell(CLIENT, haproxy.port);
        assert!(seen.starts_with("<Peer 127.0.0.5 "), "{seen}");
        connections += 1;
        // The log line comes as the connection is accepted; give it a moment.
        thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(served_by(&mut first) + served_by(&mut second), connections);
    for server in [&mut first, &mut second] {
        assert!(
            !server
                .stderr_so_far()
                .iter()
                .any(|line| line.contains("Connection from <Peer 127.0.0.1 ")),
            "the proxy's own address was logged as a client: {:?}",
            server.stderr_so_far()
        );
    }
}

#[test]
fn haproxy_v1_names_the_client_to_the_pty_program() {
    let (mut server, port) = start_server(&[
        "--proxy-protocol",
        "--trusted-proxy",
        "127.0.0.0/24",
        "--connect-maxwait",
        "0.2",
        "--pty-exec",
        "/bin/sh",
        "--",
        "-c",
        "echo remote=$REMOTEHOST",
    ]);
    let haproxy = Haproxy::start(port, "send-proxy");
    let mut client = Raw::connect_from(CLIENT, haproxy.port);
    client.read_until(b"remote=127.0.0.5\r\n");
    server
        .wait_for_line("Connection from <Peer 127.0.0.5 ")
        .expect("the client's address in the log");
}

#[test]
fn a_peer_outside_the_trusted_networks_is_refused() {
    let (mut server, port) = start_server(&["--proxy-protocol", "--trusted-proxy", "127.0.0.1/32"]);
    // A header does not help: anyone could write one.
    let mut client = Raw::connect_from(CLIENT, port);
    client.send(b"PROXY TCP4 10.1.1.1 127.0.0.1 1000 23\r\n");
    expect_closed(&mut client);
    let line = server
        .wait_for_line("refused")
        .expect("a log line for the refusal");
    assert!(
        line.contains("Connection from <Peer 127.0.0.5 ")
            && line.ends_with("refused: not from a trusted proxy"),
        "{line}"
    );
}

#[test]
fn a_trusted_peer_without_a_header_is_refused() {
    let (mut server, port) = start_server(&["--proxy-protocol", "--trusted-proxy", "127.0.0.1"]);
    // A Telnet client that connected past the load balancer: its first bytes are IAC.
    let mut client = Raw::connect(port);
    client.send(b"\xff\xfd\x03");
    expect_closed(&mut client);
    let line = server.wait_for_line("refused").expect("a log line");
    assert!(line.contains("malformed PROXY header"), "{line}");
    assert!(
        !server
            .stderr_so_far()
            .iter()
            .any(|line| line.contains("Connection from <Peer 127.0.0.1 ")
                && !line.contains("refused")),
        "served without a header: {:?}",
        server.stderr_so_far()
    );
}

#[test]
fn proxy_flags_refuse_bad_input_in_one_line() {
    for (flags, message) in [
        (&["--proxy-protocol"][..], "--trusted-proxy <CIDR>"),
        (
            &["--proxy-protocol", "--trusted-proxy", "10.0.0.0/33"][..],
            "'10.0.0.0/33' is not an address or a network",
        ),
    ] {
        let output = Command::new(SERVER)
            .args(flags)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(message), "{stderr}");
    }
}

/// `systemd-socket-activate` listening on a free port for `server_args`.
fn socket_activated(extra_env: &[(&str, &Path)], server_args: &[&str]) -> (Proc, u16) {
    require(ACTIVATE, "systemd");
    let port = free_port();
    let mut command = Command::new(ACTIVATE);
    command
        .arg("-l")
        .arg(format!("127.0.0.1:{port}"))
        .arg(SERVER)
        .args(server_args)
        .envs(extra_env.iter().map(|(name, value)| (name, value)))
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    let mut activator = Proc::spawn(command);
    activator
        .wait_for_line("Listening on")
        .expect("systemd-socket-activate listens");
    (activator, port)
}

#[test]
fn systemd_socket_activation_passes_the_listening_socket() {
    // The server is started on the first connection, with the socket as fd 3; the
    // address it would otherwise bind (its defaults) is not used.
    let (mut activator, port) = socket_activated(&[], &["--connect-maxwait", "0.2"]);
    let mut client = Raw::connect(port);
    client.read_until(b"tel:sh> ");
    client.send(b"proto\r\n");
    client.read_until(b"<Peer 127.0.0.1 ");
    let ready = activator
        .wait_for_line("Server ready on")
        .expect("the server's ready line");
    assert!(
        ready.contains(&format!(
            "127.0.0.1:{port} (sockets passed by the service manager)"
        )),
        "{ready}"
    );
}

#[test]
fn the_service_manager_hears_ready_and_stopping() {
    let socket_path = std::env::temp_dir().join(format!("tl3-notify-{}", std::process::id()));
    let _ = std::fs::remove_file(&socket_path);
    let notifications = UnixDatagram::bind(&socket_path).unwrap();
    notifications.set_read_timeout(Some(PATIENCE)).unwrap();
    let (mut server, _port) = common::start_server_from(
        || {
            let mut command = Command::new(SERVER);
            command.env("NOTIFY_SOCKET", &socket_path);
            command
        },
        &[],
    );
    let mut message = [0; 256];
    let length = notifications.recv(&mut message).unwrap();
    // sd_notify(3)'s message: assignments, one per line.
    assert_eq!(&message[..length], b"READY=1\n");
    let pid = server.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let length = notifications.recv(&mut message).unwrap();
    assert_eq!(&message[..length], b"STOPPING=1\n");
    assert!(server.wait().success());
    let _ = std::fs::remove_file(&socket_path);
}
