//! The blocking server (`BlockingTelnetServer`) with our blocking client, all on
//! 127.0.0.1, every wait bounded: accept with its timeout and miniboa's properties,
//! serve_forever with a thread per client, shutdown.

use std::sync::{Arc, Barrier};
use std::time::{Duration, SystemTime};

use telnetlib3::blocking::{BlockingTelnetServer, TelnetConnection};
use telnetlib3::proto::TelnetOption;
use telnetlib3::{ClientConfig, Error, OptionWait, ServerConfig};

const WAIT: Option<Duration> = Some(Duration::from_secs(10));

fn local() -> ServerConfig {
    let mut config = ServerConfig::default();
    config.host = "127.0.0.1".into();
    config.port = 0;
    config.connect_maxwait = Duration::from_secs(2);
    config
}

fn xterm() -> ClientConfig {
    let mut config = ClientConfig::default();
    config.term = "xterm-256color".into();
    config.cols = 132;
    config.rows = 43;
    config.lang = "en_US.UTF-8".into();
    config
}

fn port(server: &BlockingTelnetServer) -> u16 {
    server.local_addrs()[0].port()
}

#[test]
fn accept_gives_a_connection_with_miniboas_properties() {
    let server = BlockingTelnetServer::bind(local()).unwrap();
    let before = SystemTime::now();
    let mut client = TelnetConnection::connect("127.0.0.1", port(&server), xterm()).unwrap();
    let mut conn = server.accept(WAIT).unwrap();
    assert!(conn.active());
    // The negotiation is done before the connection is handed over.
    assert_eq!(conn.terminal_type(), "xterm-256color");
    assert_eq!((conn.columns(), conn.rows()), (132, 43));
    assert_eq!(conn.address().to_string(), "127.0.0.1");
    assert_eq!(conn.peer(), format!("127.0.0.1 {}", conn.port()));
    assert_eq!(conn.addrport(), format!("127.0.0.1:{}", conn.port()));
    assert!(conn.connect_time() >= before && conn.connect_time() <= SystemTime::now());
    conn.wait_for(&OptionWait::new().remote(TelnetOption::Naws, true), WAIT)
        .unwrap();
    assert!(conn.local_enabled(TelnetOption::Echo));
    assert_eq!(conn.window_size(), (132, 43));
    assert_eq!(conn.environ_value("LANG").as_deref(), Some("en_US.UTF-8"));
    assert_eq!(conn.charset().as_deref(), Some("UTF-8"));
    assert_eq!(client.charset().as_deref(), Some("UTF-8"));
    assert!(!conn.is_closing() && !client.is_closing());

    // miniboa's send: every line end CR LF.
    conn.send("hello\nworld\r\n").unwrap();
    assert_eq!(client.read_line(WAIT).unwrap(), b"hello\r\n");
    assert_eq!(client.read_line(WAIT).unwrap(), b"world\r\n");
    client.write(b"typed\r\n").unwrap();
    assert_eq!(conn.read_line(WAIT).unwrap(), b"typed\r\n");
    // Idle counts from that line.
    assert!(conn.idle() < Duration::from_secs(10));
    assert!(conn.duration() < Duration::from_secs(10));

    conn.deactivate();
    assert!(!conn.active());
    assert!(conn.is_closing());
    assert_eq!(client.read_some(WAIT).unwrap(), b"");
    assert!(client.at_eof());
    assert!(matches!(conn.write(b"gone"), Err(Error::Closed)));
    server.shutdown();
}

#[test]
fn accept_times_out_without_a_client_and_fails_after_shutdown() {
    let server = BlockingTelnetServer::bind(local()).unwrap();
    let silent = server.accept(Some(Duration::from_millis(200)));
    assert!(matches!(silent, Err(Error::TimedOut)), "{silent:?}");
    server.shutdown();
    let after = server.accept(WAIT);
    assert!(matches!(after, Err(Error::Closed)), "{after:?}");
}

#[test]
fn a_shutdown_wakes_a_blocked_accept_and_closes_open_connections() {
    let server = Arc::new(BlockingTelnetServer::bind(local()).unwrap());
    let mut client = TelnetConnection::connect("127.0.0.1", port(&server), xterm()).unwrap();
    let mut conn = server.accept(WAIT).unwrap();
    conn.write(b"before\r\n").unwrap();
    let accepting = {
        let server = Arc::clone(&server);
        std::thread::spawn(move || server.accept(None))
    };
    std::thread::sleep(Duration::from_millis(100));
    server.shutdown();
    assert!(matches!(accepting.join().unwrap(), Err(Error::Closed)));
    assert_eq!(client.read_line(WAIT).unwrap(), b"before\r\n");
    assert_eq!(client.read_some(WAIT).unwrap(), b"");
    assert_eq!(conn.read_some(WAIT).unwrap(), b"");
    assert!(!conn.active());
}

#[test]
fn serve_forever_runs_a_thread_per_client_until_shutdown() {
    let server = Arc::new(BlockingTelnetServer::bind(local()).unwrap());
    let port = port(&server);
    // Every handler waits for all three clients: they run at once, on threads of their
    // own, or this never passes.
    let together = Arc::new(Barrier::new(3));
    let serving = {
        let server = Arc::clone(&server);
        std::thread::spawn(move || {
            server.serve_forever(move |mut conn| {
                together.wait();
                let name = conn.read_line(WAIT).unwrap();
                let name = String::from_utf8(name).unwrap();
                conn.send(&format!(
                    "hello {} from {}\n",
                    name.trim_end(),
                    conn.terminal_type()
                ))
                .unwrap();
                // The handler returns: its connection is closed.
            })
        })
    };
    let clients: Vec<_> = ["ann", "bob", "cy"]
        .iter()
        .map(|name| {
            std::thread::spawn(move || {
                let mut config = xterm();
                config.term = format!("vt-{name}");
                let mut client = TelnetConnection::connect("127.0.0.1", port, config).unwrap();
                client.write(format!("{name}\r\n").as_bytes()).unwrap();
                let greeting = client.read_line(WAIT).unwrap();
                let end = client.read_some(WAIT).unwrap();
                (greeting, end)
            })
        })
        .collect();
    for (client, name) in clients.into_iter().zip(["ann", "bob", "cy"]) {
        let (greeting, end) = client.join().unwrap();
        assert_eq!(
            String::from_utf8(greeting).unwrap(),
            format!("hello {name} from vt-{name}\r\n")
        );
        assert_eq!(end, b"");
    }
    server.shutdown();
    serving.join().unwrap().unwrap();
}

#[test]
fn the_idle_timeout_of_an_accepted_connection_changes_at_run_time() {
    let mut config = local();
    config.timeout = Some(Duration::from_secs(600));
    let server = BlockingTelnetServer::bind(config).unwrap();
    let mut client = TelnetConnection::connect("127.0.0.1", port(&server), xterm()).unwrap();
    let conn = server.accept(WAIT).unwrap();
    assert_eq!(conn.writer().idle_timeout(), Some(Duration::from_secs(600)));
    conn.set_idle_timeout(Some(Duration::from_millis(100)));
    assert_eq!(
        client.read_until(b"Timeout.\r\n", WAIT).unwrap(),
        b"\r\nTimeout.\r\n"
    );
    assert_eq!(client.read_some(WAIT).unwrap(), b"");
    server.shutdown();
}
