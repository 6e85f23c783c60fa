//! Issue 16: other clients against our blocking server (`BlockingTelnetServer` with
//! `serve_forever`): Python telnetlib3 5.0.1's client, and Python 3.11's own stdlib
//! `telnetlib` (`/usr/bin/python3`; it still ships in 3.11, with a deprecation warning).
//! Their output is asserted exactly. Every wait is bounded.

mod support;

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use support::python::{python, script, Reaped};
use support::PATIENCE;
use telnetlib3::blocking::{BlockingTelnetServer, ServerConnection};
use telnetlib3::ServerConfig;

/// Python 3.11, whose standard library still has `telnetlib`.
const STDLIB_PYTHON: &str = "/usr/bin/python3";

/// The handler: what the server knows of the client, a prompt, a greeting for the
/// name given, and the end of the connection.
fn greet(mut conn: ServerConnection) {
    let wait = Some(PATIENCE);
    let (cols, rows) = (conn.columns(), conn.rows());
    let hello = format!("Hello {} {cols}x{rows}\nname? ", conn.terminal_type());
    conn.send(&hello).unwrap();
    let name = conn.read_line(wait).unwrap();
    let name = String::from_utf8_lossy(&name);
    conn.send(&format!("Welcome, {}!\n", name.trim_end()))
        .unwrap();
    conn.close();
}

/// A blocking server on 127.0.0.1 serving [`greet`] on its own thread.
fn serve() -> (Arc<BlockingTelnetServer>, u16, JoinHandle<()>) {
    let mut config = ServerConfig::default();
    config.host = "127.0.0.1".into();
    config.port = 0;
    config.connect_maxwait = Duration::from_secs(2);
    let server = Arc::new(BlockingTelnetServer::bind(config).unwrap());
    let port = server.local_addrs()[0].port();
    let serving = {
        let server = Arc::clone(&server);
        std::thread::spawn(move || server.serve_forever(greet).unwrap())
    };
    (server, port, serving)
}

/// Run `command` to its end (killed after [`PATIENCE`]); its standard output, and its
/// standard error if it failed.
fn run(mut command: Command) -> String {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = Reaped(child);
    let pid = child.0.id();
    let (done, finished) = std::sync::mpsc::channel::<()>();
    // A watchdog: the child is killed by its PID if it outlives PATIENCE.
    std::thread::spawn(move || {
        if finished.recv_timeout(PATIENCE * 2).is_err() {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
    });
    let mut out = String::new();
    let mut errors = String::new();
    child
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut errors)
        .unwrap();
    let status = child.0.wait().unwrap();
    let _ = done.send(());
    assert!(status.success(), "{status}: {out}\n{errors}");
    out
}

#[test]
fn python_telnetlib3s_client_logs_into_our_blocking_server() {
    let (server, port, serving) = serve();
    let mut client = Command::new(python());
    client
        .arg(script("login_client.py"))
        .args([&port.to_string(), "py3"]);
    let out = run(client);
    assert_eq!(
        out,
        "b'Hello xterm-256color 132x43\\r\\nname? '\n\
         b'Welcome, py3!\\r\\n'\n"
    );
    server.shutdown();
    serving.join().unwrap();
}

#[test]
fn python_311s_stdlib_telnetlib_logs_into_our_blocking_server() {
    let (server, port, serving) = serve();
    let mut client = Command::new(STDLIB_PYTHON);
    // telnetlib refuses every option: the server keeps its defaults for the terminal.
    client.args([
        "-W",
        "ignore",
        "-c",
        "import sys, telnetlib\n\
         tn = telnetlib.Telnet('127.0.0.1', int(sys.argv[1]), 10)\n\
         print(repr(tn.read_until(b'name? ', 10)))\n\
         tn.write(b'stdlib\\r\\n')\n\
         print(repr(tn.read_all()))\n",
        &port.to_string(),
    ]);
    let out = run(client);
    assert_eq!(
        out,
        "b'Hello unknown 80x25\\r\\nname? '\n\
         b'Welcome, stdlib!\\r\\n'\n"
    );
    server.shutdown();
    serving.join().unwrap();
}
