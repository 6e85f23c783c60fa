//! The core against the reference: Python telnetlib3 5.0.1 from PyPI, over real sockets.
//!
//! A small blocking driver feeds a [`Session`] from a `std::net::TcpStream`, so these tests
//! check the protocol core alone (option families, the opening negotiation) against the
//! real peer, with no async layer in between. The Python is `$TELNETLIB3_PYTHON`, or else
//! `.venv/bin/python` at the workspace root (`scripts/test.sh` creates it); without it the
//! tests fail, since a skipped proof is no proof.

#[path = "support/python.rs"]
mod python;

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use python::{python, script, start_server, Reaped};
use telnetlib3_proto::options::naws::WindowSize;
use telnetlib3_proto::options::tspeed::TerminalSpeed;
use telnetlib3_proto::{
    Event, Mode, Policy, Role, ServerPlan, Session, SessionConfig, Sink, TelnetOption,
};

#[derive(Default)]
struct Collect {
    data: Vec<u8>,
    events: Vec<String>,
}

impl Sink for Collect {
    fn data(&mut self, data: &[u8]) {
        self.data.extend_from_slice(data);
    }
    fn event(&mut self, event: Event<'_>) {
        self.events.push(format!("{event:?}"));
    }
}

/// Pump bytes between the socket and the session until `done` holds or the deadline
/// passes; returns whether `done` held. EOF ends the pump.
fn pump(
    stream: &mut TcpStream,
    session: &mut Session,
    sink: &mut Collect,
    deadline: Instant,
    mut done: impl FnMut(&Session, &Collect) -> bool,
) -> bool {
    stream
        .set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let mut buf = [0u8; 4096];
    let mut out = Vec::new();
    loop {
        out.clear();
        let _ = session.poll_transmit(&mut out);
        if !out.is_empty() {
            stream.write_all(&out).unwrap();
        }
        if done(session, sink) {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        match stream.read(&mut buf) {
            Ok(0) => return done(session, sink),
            Ok(n) => session.receive(&buf[..n], sink),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => panic!("read: {e}"),
        }
    }
}

#[test]
fn our_server_session_with_the_python_client() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let child = Command::new(python())
        .arg(script("client_view.py"))
        .arg(port.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = Reaped(child);
    let (mut stream, _) = listener.accept().unwrap();

    let mut session = Session::new(Role::Server, SessionConfig::with_policy(Policy::server()));
    session.start_server_negotiation(ServerPlan::default());
    // Beyond telnetlib3's own opening: ask for the terminal speed and the X display too.
    session.request_remote(TelnetOption::Tspeed, true).unwrap();
    session
        .request_remote(TelnetOption::Xdisploc, true)
        .unwrap();
    let mut sink = Collect::default();
    let deadline = Instant::now() + Duration::from_secs(4);
    let settled = pump(&mut stream, &mut session, &mut sink, deadline, |s, _| {
        s.negotiation_settled() && s.ttype_cycle_complete()
    });
    assert!(settled, "negotiation did not settle: {:?}", sink.events);

    // What the server learnt from the reference client.
    assert_eq!(session.terminal_type(), Some("xterm-256color"));
    assert_eq!(
        session.peer_window_size(),
        Some(WindowSize {
            cols: 132,
            rows: 43
        })
    );
    assert_eq!(session.charset(), Some("UTF-8"));
    let var = |name: &str| {
        session
            .environ_var(name)
            .and_then(|v| v.value.clone())
            .map(|v| String::from_utf8(v).unwrap())
    };
    assert_eq!(var("TERM").as_deref(), Some("xterm-256color"));
    assert_eq!(var("COLUMNS").as_deref(), Some("132"));
    assert_eq!(var("LINES").as_deref(), Some("43"));
    // telnetlib3's client sends `en_US.<encoding>`, its encoding renamed to Python's
    // canonical `utf-8` once our CHARSET REQUEST is accepted: which of the two the SEND
    // finds depends on which of our two requests it handles first.
    let lang = var("LANG");
    assert!(
        matches!(lang.as_deref(), Some("en_US.utf8" | "en_US.utf-8")),
        "{lang:?}"
    );
    assert_eq!(
        session.peer_terminal_speed(),
        Some(TerminalSpeed {
            transmit: 38400,
            receive: 38400
        })
    );
    assert_eq!(session.peer_x_display(), Some(""));
    assert_eq!(session.mode(), Mode::Kludge);
    assert!(
        session.local_enabled(TelnetOption::Binary) && session.remote_enabled(TelnetOption::Binary)
    );
    assert_eq!(
        session.options_summary(),
        "server-will:BINARY,CHARSET,ECHO,SGA \
         client-will:BINARY,CHARSET,NAWS,NEW_ENVIRON,TSPEED,TTYPE,XDISPLOC"
    );

    // The prompt, then what the client saw.
    session.send_data(b"Ready.\r\ntel:sh> ");
    let _ = session.send_go_ahead();
    let deadline = Instant::now() + Duration::from_secs(4);
    pump(&mut stream, &mut session, &mut sink, deadline, |_, _| false);
    drop(stream);
    let output = child.0.wait_with_output_ref();
    assert!(output.contains("text='Ready.\\r\\ntel:sh> '"), "{output}");
    assert!(output.contains("mode=kludge"), "{output}");
    assert!(
        output.contains("server-will:BINARY,CHARSET,ECHO,SGA"),
        "the client sees what we perform: {output}"
    );
}

#[test]
fn our_client_session_with_the_python_server() {
    let (_python_server, port) = start_server("server_view.py");

    let mut config = SessionConfig::with_policy(Policy::client());
    config.ttype.types = vec!["xterm-256color".into()];
    config.naws.size = WindowSize {
        cols: 100,
        rows: 30,
    };
    config.environ.values = vec![
        (b"TERM".to_vec(), b"xterm-256color".to_vec()),
        (b"LANG".to_vec(), b"en_US.UTF-8".to_vec()),
    ];
    let mut session = Session::new(Role::Client, config);
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut sink = Collect::default();
    let deadline = Instant::now() + Duration::from_secs(8);
    // The Python shell reports and hangs up: read to EOF.
    pump(&mut stream, &mut session, &mut sink, deadline, |_, _| false);
    let text = String::from_utf8_lossy(&sink.data).into_owned();
    for fact in [
        "TERM=xterm-256color",
        "cols=100",
        "rows=30",
        "LANG=en_US.UTF-8",
        "charset=UTF-8",
        "mode=kludge",
        "client-will:BINARY,CHARSET,NAWS,NEW_ENVIRON,TTYPE",
    ] {
        assert!(
            text.contains(fact),
            "the reference server did not see {fact}: {text}"
        );
    }
    assert_eq!(session.mode(), Mode::Kludge);
    assert_eq!(session.charset(), Some("UTF-8"));
}

/// Wait for a child with piped output and return stdout and stderr together.
trait WaitOutput {
    fn wait_with_output_ref(&mut self) -> String;
}

impl WaitOutput for Child {
    fn wait_with_output_ref(&mut self) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "the Python client did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
        let mut text = String::new();
        if let Some(mut out) = self.stdout.take() {
            out.read_to_string(&mut text).unwrap();
        }
        if let Some(mut err) = self.stderr.take() {
            err.read_to_string(&mut text).unwrap();
        }
        text
    }
}
