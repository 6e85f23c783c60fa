//! `telnetlib3-fingerprint-server` against the reference: the same client (Python
//! telnetlib3's, then ours) connects to our fingerprint server and to Python telnetlib3
//! 5.0.1's, and the two records must agree field by field (timings aside), stored under
//! the same `client/<fingerprint>/<probe>/<session>.json` path.

mod common;
#[path = "../../telnetlib3-proto/tests/support/python.rs"]
#[allow(dead_code)] // Only `python()` is used.
mod reference;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use common::telnet::{DO, DONT, IAC, SB, SE, WILL, WONT};
use common::{free_port, start_server_from, wait_within, Proc, CLIENT, PATIENCE};
use reference::python;
use serde_json::Value;

const FINGERPRINT_SERVER: &str = env!("CARGO_BIN_EXE_telnetlib3-fingerprint-server");

fn scratch_dir(label: &str) -> PathBuf {
    static COUNT: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "tl3-fingerprint-server-{label}-{}-{}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Python's fingerprint server on a free port, storing into `data_dir`.
fn start_python_fingerprint_server(data_dir: &Path) -> (Proc, u16) {
    let mut failures = Vec::new();
    for _ in 0..3 {
        let port = free_port();
        let mut command = Command::new(python());
        command
            .args([
                "-c",
                "import sys; from telnetlib3.fingerprinting import fingerprint_server_main; \
                 sys.argv[0] = 'telnetlib3-fingerprint-server'; fingerprint_server_main()",
                "127.0.0.1",
                &port.to_string(),
                "--data-dir",
            ])
            .arg(data_dir)
            .current_dir(data_dir)
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        let mut server = Proc::spawn(command);
        if server.wait_for_line("Server ready on").is_some() {
            return (server, port);
        }
        failures.push(server.stderr_seen.clone());
    }
    panic!("the Python fingerprint server did not start: {failures:?}");
}

/// Connect `client` to `port` and wait for the server to end the session (it does once
/// the probe is stored); standard input stays open meanwhile.
fn connect(mut client: Command, port: u16) {
    client
        .args(["127.0.0.1", &port.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = client.spawn().expect("the client starts");
    let _stdin = child.stdin.take();
    wait_within(&mut child, PATIENCE);
}

/// The records stored under `data_dir`, by their path below it.
fn records(data_dir: &Path) -> Vec<(PathBuf, Value)> {
    let mut found = Vec::new();
    let client_dir = data_dir.join("client");
    for fingerprint in std::fs::read_dir(&client_dir).unwrap() {
        for probe in std::fs::read_dir(fingerprint.unwrap().path()).unwrap() {
            for file in std::fs::read_dir(probe.unwrap().path()).unwrap() {
                let path = file.unwrap().path();
                let text = std::fs::read_to_string(&path).unwrap();
                let relative = path.strip_prefix(data_dir).unwrap().to_path_buf();
                found.push((relative, serde_json::from_str(&text).unwrap()));
            }
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

/// Our fingerprint server and Python's, each storing into its own scratch directory.
struct BothServers {
    ours_dir: PathBuf,
    python_dir: PathBuf,
    ours_port: u16,
    python_port: u16,
    _servers: (Proc, Proc),
}

fn start_both(label: &str) -> BothServers {
    let ours_dir = scratch_dir(&format!("{label}-ours"));
    let python_dir = scratch_dir(&format!("{label}-python"));
    let (ours, ours_port) = start_server_from(
        || {
            let mut command = Command::new(FINGERPRINT_SERVER);
            command.arg("--data-dir").arg(&ours_dir);
            command
        },
        &[],
    );
    let (python, python_port) = start_python_fingerprint_server(&python_dir);
    BothServers {
        ours_dir,
        python_dir,
        ours_port,
        python_port,
        _servers: (ours, python),
    }
}

/// The one record each server stored: ours, then Python's, after checking that they
/// have the same path and agree on everything but the timings (and the one entry
/// explained below).
fn assert_records_agree(both: &BothServers) -> (Value, Value) {
    let ours = records(&both.ours_dir);
    let theirs = records(&both.python_dir);
    assert_eq!(ours.len(), 1, "{ours:?}");
    assert_eq!(theirs.len(), 1, "{theirs:?}");
    let (a, b) = (&ours[0].1["telnet-probe"], &theirs[0].1["telnet-probe"]);
    assert_eq!(a["fingerprint-data"], b["fingerprint-data"]);
    assert_eq!(
        ours.iter().map(|r| &r.0).collect::<Vec<_>>(),
        theirs.iter().map(|r| &r.0).collect::<Vec<_>>(),
        "the same client/<fingerprint>/<probe>/<session hash>.json"
    );
    assert_eq!(a["fingerprint"], b["fingerprint"], "the hashes differ");
    let (sa, sb) = (&a["session_data"], &b["session_data"]);
    for field in ["extra", "ttype_cycle", "probe", "rejected", "slc_tab"] {
        assert_eq!(sa[field], sb[field], "session_data.{field} differs");
    }
    assert_eq!(sa["option_states"]["local"], sb["option_states"]["local"]);
    // Python's server keeps, in its table of the client's options, an entry keyed by the
    // three bytes SB LINEMODE FORWARDMASK when a client answers WONT FORWARDMASK (RFC
    // 1184) — named "0xfa" by its first byte. That is not an option; our record leaves it
    // out, so exactly that entry is skipped.
    let mut remote_b = sb["option_states"]["remote"].clone();
    remote_b.as_object_mut().unwrap().remove("0xfa");
    assert_eq!(sa["option_states"]["remote"], remote_b);
    assert!(sa["timing"]["probe"].is_f64());
    assert_eq!(
        ours[0].1["sessions"][0]["ip"],
        theirs[0].1["sessions"][0]["ip"]
    );
    (ours[0].1.clone(), theirs[0].1.clone())
}

/// `client` probed by both servers: the records agree.
fn assert_servers_agree(client: impl Fn() -> Command, label: &str) {
    let both = start_both(label);
    connect(client(), both.ours_port);
    connect(client(), both.python_port);
    let (ours, _) = assert_records_agree(&both);
    let a = &ours["telnet-probe"];
    // The probe saw what the clients do.
    let data = &a["fingerprint-data"];
    assert_eq!(data["TERM"], "Yes");
    assert_eq!(data["charset"], "UTF-8");
    assert_eq!(data["ttype-count"], 2);
    for option in ["BINARY", "NAWS", "NEW_ENVIRON", "TTYPE", "LINEMODE"] {
        assert!(
            data["supported-options"]
                .as_array()
                .unwrap()
                .iter()
                .any(|o| o == option),
            "{data}"
        );
    }
}

#[test]
fn pythons_client_is_fingerprinted_as_pythons_server_does() {
    assert_servers_agree(
        || {
            let mut command = Command::new(python());
            command
                .args([
                    "-c",
                    "import sys; from telnetlib3.client import main; \
                     sys.argv[0] = 'telnetlib3-client'; main()",
                ])
                .env("PYTHONUNBUFFERED", "1")
                .env("LANG", "en_US.UTF-8")
                .env("TERM", "xterm");
            command
        },
        "python-client",
    );
}

#[test]
fn our_client_is_fingerprinted_as_pythons_server_does() {
    assert_servers_agree(
        || {
            let mut command = Command::new(CLIENT);
            command.env("LANG", "en_US.UTF-8").env("TERM", "xterm");
            command
        },
        "our-client",
    );
}

#[test]
fn errors_are_one_line() {
    let out = common::run(
        {
            let mut command = Command::new(FINGERPRINT_SERVER);
            command.args(["127.0.0.1", "99999"]);
            command
        },
        b"",
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(
        out.stderr
            .starts_with("telnetlib3-fingerprint-server: error: "),
        "{out:?}"
    );

    // A port already taken.
    let taken = common::listen_local();
    let port = taken.local_addr().unwrap().port();
    let mut command = Command::new(FINGERPRINT_SERVER);
    command.args(["127.0.0.1", &port.to_string(), "--loglevel", "off"]);
    let out = common::run(command, b"");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(
        out.stderr
            .starts_with("telnetlib3-fingerprint-server: error: "),
        "{out:?}"
    );
}

/// A scripted client with the quirks telnetlib3's fingerprint records: at once it asks
/// the server to perform KERMIT and option 0x99 (which no server performs) and TTYPE and
/// NAWS (which only a client performs), and offers KERMIT. It agrees to BINARY, SGA,
/// TTYPE, NAWS and LINEMODE, and lets the server do ECHO, SGA and BINARY, refusing the
/// rest; and it answers every DO BINARY or SGA and every WILL ECHO, SGA or BINARY again,
/// even once agreed (against RFC 1143), which is what loops. `slc` is sent as its
/// LINEMODE SLC triplets once it agrees to LINEMODE. Runs until the server closes (or
/// [`PATIENCE`]) and returns what the server sent.
fn quirky_client(port: u16, slc: &[u8]) -> Vec<u8> {
    const KERMIT: u8 = 47;
    const LINEMODE: u8 = 34;
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let mut out = vec![IAC, DO, KERMIT, IAC, DO, 0x99, IAC, DO, 24, IAC, DO, 31];
    out.extend([IAC, WILL, KERMIT]);
    stream.write_all(&out).unwrap();
    let mut answered_once = [false; 256];
    let mut received = Vec::new();
    let mut pending: Vec<u8> = Vec::new();
    let deadline = Instant::now() + PATIENCE;
    let mut chunk = [0u8; 4096];
    while Instant::now() < deadline {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                received.extend_from_slice(&chunk[..n]);
                pending.extend_from_slice(&chunk[..n]);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue
            }
            Err(_) => break,
        }
        let mut reply = Vec::new();
        let mut at = 0;
        while at < pending.len() {
            if pending[at] != IAC {
                at += 1;
                continue;
            }
            let Some(&verb) = pending.get(at + 1) else {
                break;
            };
            match verb {
                DO | DONT | WILL | WONT => {
                    let Some(&option) = pending.get(at + 2) else {
                        break;
                    };
                    at += 3;
                    match verb {
                        DO if matches!(option, 0 | 3) => reply.extend([IAC, WILL, option]),
                        DO if matches!(option, 24 | 31 | LINEMODE) => {
                            agree_once(option, &mut answered_once, slc, &mut reply);
                        }
                        DO => reply.extend([IAC, WONT, option]),
                        WILL if matches!(option, 0 | 1 | 3) => reply.extend([IAC, DO, option]),
                        WILL => reply.extend([IAC, DONT, option]),
                        _ => {}
                    }
                }
                SB => {
                    let Some(end) = pending[at..].windows(2).position(|w| w == [IAC, SE]) else {
                        break;
                    };
                    let body = &pending[at + 2..at + end];
                    if body == [24, 1] {
                        reply.extend([IAC, SB, 24, 0]);
                        reply.extend_from_slice(b"QUIRK");
                        reply.extend([IAC, SE]);
                    }
                    at += end + 2;
                }
                _ => at += 2,
            }
        }
        pending.drain(..at);
        if !reply.is_empty() && stream.write_all(&reply).is_err() {
            break;
        }
    }
    received
}

/// The quirky client's first answer to DO TTYPE, NAWS or LINEMODE (later ones are
/// ignored): WILL, then the window size for NAWS, and `slc` for LINEMODE.
fn agree_once(option: u8, answered: &mut [bool; 256], slc: &[u8], reply: &mut Vec<u8>) {
    if std::mem::replace(&mut answered[usize::from(option)], true) {
        return;
    }
    reply.extend([IAC, WILL, option]);
    if option == 31 {
        reply.extend([IAC, SB, 31, 0, 80, 0, 24, IAC, SE]);
    }
    if option == 34 && !slc.is_empty() {
        reply.extend([IAC, SB, 34, 3]);
        reply.extend_from_slice(slc);
        reply.extend([IAC, SE]);
    }
}

/// The quirky client, probed by both servers: the same refused offers, the same loops,
/// the same record.
#[test]
fn refused_offers_and_loops_are_recorded_as_pythons_server_does() {
    let both = start_both("quirky");
    quirky_client(both.ours_port, &[]);
    quirky_client(both.python_port, &[]);
    let (ours, _) = assert_records_agree(&both);
    let data = &ours["telnet-probe"]["fingerprint-data"];
    assert_eq!(
        data["rejected-will"],
        serde_json::json!(["KERMIT"]),
        "{data}"
    );
    assert_eq!(
        data["rejected-do"],
        serde_json::json!(["0x99", "KERMIT"]),
        "{data}"
    );
    assert_eq!(
        data["directional-refusals"],
        serde_json::json!(["NAWS", "TTYPE"]),
        "{data}"
    );
    // BINARY and SGA answered again both ways, ECHO again; NAWS and TTYPE because
    // telnetlib3 tables a DO it refused as meant for a client as agreed, offers WILL
    // for it in its loop detection, and counts the client's DONT as an answer.
    assert_eq!(
        data["looped-negotiation"],
        serde_json::json!(["BINARY", "ECHO", "NAWS", "SGA", "TTYPE"]),
        "{data}"
    );
    assert_eq!(
        data["charset"], "utf8",
        "the server's encoding: no CHARSET agreed"
    );
    assert_eq!(
        ours["telnet-probe"]["session_data"]["rejected"],
        serde_json::json!({
            "will": ["KERMIT"],
            "do": ["0x99", "KERMIT"],
            "directional": ["NAWS", "TTYPE"],
        })
    );
}

/// The quirky client with LINEMODE SLC triplets: telnetlib3's `slc` record (and its
/// `session_data.slc_tab`) made the same way. EC NOSUPPORT shows; EW changed to ^H does
/// not (telnetlib3 changes its default in place); MCR, which has no default, shows its
/// character; an ACK is ignored.
#[test]
fn slc_is_recorded_as_pythons_server_does() {
    let both = start_both("slc");
    let slc = [10, 0, 0x7f, 12, 2, 0x08, 20, 2, 0x05, 9, 0x82, 0x01];
    quirky_client(both.ours_port, &slc);
    quirky_client(both.python_port, &slc);
    let (ours, _) = assert_records_agree(&both);
    let expected = serde_json::json!({"set": {"SLC_MCR": 5}, "nosupport": ["SLC_EC"]});
    assert_eq!(ours["telnet-probe"]["fingerprint-data"]["slc"], expected);
    assert_eq!(ours["telnet-probe"]["session_data"]["slc_tab"], expected);
}

/// The data in what a Telnet server sent: negotiations and subnegotiations taken out,
/// IAC IAC undone, CR NUL made CR.
fn telnet_data(wire: &[u8]) -> Vec<u8> {
    let mut data = Vec::new();
    let mut at = 0;
    while at < wire.len() {
        match (wire[at], wire.get(at + 1)) {
            (IAC, Some(&IAC)) => {
                data.push(IAC);
                at += 2;
            }
            (IAC, Some(&SB)) => {
                let end = wire[at..].windows(2).position(|w| w == [IAC, SE]);
                at += end.map_or(wire.len(), |end| end + 2);
            }
            (IAC, Some(&(WILL | WONT | DO | DONT))) => at += 3,
            (IAC, _) => at += 2,
            (b'\r', Some(&0)) => {
                data.push(b'\r');
                at += 2;
            }
            (byte, _) => {
                data.push(byte);
                at += 1;
            }
        }
    }
    data
}

/// After the probe the client is shown the stored record as telnetlib3's display shows
/// it without its optional table packages: Python's
/// `json.dumps(data, indent=2, sort_keys=True)` printed through a pseudo-terminal (each
/// line feed a CR LF). On a second visit the record shown holds both sessions.
#[test]
fn the_client_is_shown_its_stored_record() {
    let dir = scratch_dir("display");
    let (_server, port) = start_server_from(
        || {
            let mut command = Command::new(FINGERPRINT_SERVER);
            command.arg("--data-dir").arg(&dir);
            command
        },
        &[],
    );
    for visit in 1..=2 {
        let shown = telnet_data(&quirky_client(port, &[]));
        let stored = records(&dir);
        assert_eq!(stored.len(), 1);
        let path = dir.join(&stored[0].0);
        let out = Command::new(python())
            .args([
                "-c",
                "import json, sys; print(json.dumps(json.load(open(sys.argv[1])), indent=2, sort_keys=True))",
            ])
            .arg(&path)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let expected = String::from_utf8(out.stdout).unwrap().replace('\n', "\r\n");
        assert_eq!(String::from_utf8_lossy(&shown), expected, "visit {visit}");
        assert_eq!(
            stored[0].1["sessions"].as_array().unwrap().len(),
            visit,
            "{}",
            stored[0].1
        );
    }
}
