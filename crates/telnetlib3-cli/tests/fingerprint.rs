//! `telnetlib3-fingerprint` against the reference: Python telnetlib3 5.0.1's own
//! `telnetlib3-fingerprint` probes the same server, and the two records must agree field
//! by field (timings aside) with the same hash. The servers: ours, Python's, busybox
//! telnetd and inetutils telnetd, each started here on 127.0.0.1 and a free port.

mod common;
#[path = "../../telnetlib3-proto/tests/support/python.rs"]
#[allow(dead_code)] // Only `python()` is used.
mod reference;

use std::net::TcpStream;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::{free_port, listen_local, require, run, start_server, Proc, PATIENCE};
use reference::python;
use serde_json::{json, Value};
use telnetlib3_cli::fingerprint::record::{fingerprint_hash, python_json};

const FINGERPRINT: &str = env!("CARGO_BIN_EXE_telnetlib3-fingerprint");

/// Shorter waits than the defaults, yet long enough for a server slowed by a loaded
/// machine to show its banner to both tools (a banner that comes after the quiet time
/// is seen by one tool and not the other).
const QUICK: [&str; 6] = [
    "--banner-quiet-time",
    "1.5",
    "--banner-max-wait",
    "4",
    "--mssp-wait",
    "0",
];

/// A fresh empty directory under the system's temporary directory.
fn scratch_dir(label: &str) -> PathBuf {
    static COUNT: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "tl3-fingerprint-{label}-{}-{}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn python_fingerprint(args: &[&str]) -> Command {
    let mut command = Command::new(python());
    command
        .arg("-c")
        .arg(
            "import sys; from telnetlib3.client import fingerprint_main; \
             sys.argv[0] = 'telnetlib3-fingerprint'; fingerprint_main()",
        )
        .args(args)
        .env("PYTHONUNBUFFERED", "1")
        .env_remove("TELNETLIB3_DATA_DIR");
    command
}

/// Probe 127.0.0.1:`port` with `command` (either tool), writing to `--save-json`; the
/// record read back.
fn probe_with(mut command: Command, port: u16, dir: &Path, name: &str) -> Value {
    let path = dir.join(format!("{name}.json"));
    command
        .args(["127.0.0.1", &port.to_string(), "--silent", "--save-json"])
        .arg(&path)
        .args(QUICK)
        .current_dir(dir);
    let out = run(command, b"");
    assert!(out.status.success(), "{name}: {out:?}");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{name} wrote no {}: {error}", path.display()));
    // A byte the banner's encoding cannot decode is written as Python writes it, a lone
    // surrogate (`\udc80`), which serde_json refuses: read it as the six characters.
    serde_json::from_str(&text.replace("\\udc", "\\\\udc")).unwrap()
}

/// Both tools' records of the server on `port`: (ours, Python's).
fn probe_both(port: u16, label: &str) -> (Value, Value) {
    let dir = scratch_dir(label);
    let ours = probe_with(Command::new(FINGERPRINT), port, &dir, "ours");
    let theirs = probe_with(python_fingerprint(&[]), port, &dir, "python");
    (ours, theirs)
}

/// A field-by-field comparison. `skip` names fields left out (with the reason at the
/// caller); the timings are never compared, and the banner is compared whole (before
/// and after the first return joined), since where a server's output falls between the
/// two depends on its timing.
fn assert_same_probe(ours: &Value, theirs: &Value, skip: &[&str]) {
    let (a, b) = (&ours["server-probe"], &theirs["server-probe"]);
    let mut data_a = a["fingerprint-data"].clone();
    let mut data_b = b["fingerprint-data"].clone();
    for field in skip {
        if let Some(name) = field.strip_prefix("fingerprint-data.") {
            data_a.as_object_mut().unwrap().remove(name);
            data_b.as_object_mut().unwrap().remove(name);
        }
    }
    assert_eq!(data_a, data_b, "fingerprint-data differ");
    if !skip.contains(&"fingerprint") {
        assert_eq!(a["fingerprint"], b["fingerprint"], "the hashes differ");
        // And the hash is the hash of the data, both ways.
        assert_eq!(
            a["fingerprint"],
            json!(fingerprint_hash(&a["fingerprint-data"]))
        );
    }
    let (sa, sb) = (&a["session_data"], &b["session_data"]);
    let mut keys_a: Vec<&String> = sa.as_object().unwrap().keys().collect();
    let mut keys_b: Vec<&String> = sb.as_object().unwrap().keys().collect();
    keys_a.sort();
    keys_b.sort();
    assert_eq!(keys_a, keys_b, "session_data fields differ");
    for field in [
        "scan_type",
        "encoding",
        "dsr_requests",
        "dsr_replies",
        "mssp",
    ] {
        if skip.contains(&format!("session_data.{field}").as_str()) {
            continue;
        }
        assert_eq!(sa.get(field), sb.get(field), "session_data.{field} differs");
    }
    let mut states_a = sa["option_states"].clone();
    let mut states_b = sb["option_states"].clone();
    for field in skip {
        if let Some(path) = field.strip_prefix("option_states.") {
            let (table, option) = path.split_once('.').unwrap();
            states_a[table].as_object_mut().unwrap().remove(option);
            states_b[table].as_object_mut().unwrap().remove(option);
        }
    }
    assert_eq!(states_a, states_b, "session_data.option_states differ");
    // NUL is padding on an NVT (RFC 854): where a server pads (CR NUL) depends on when
    // BINARY was agreed, which differs from one connection to the next.
    let banner = |s: &Value| {
        format!(
            "{}{}",
            s["banner_before_return"].as_str().unwrap(),
            s["banner_after_return"].as_str().unwrap()
        )
        .replace('\0', "")
    };
    assert_eq!(banner(sa), banner(sb), "the banners differ");
    assert!(sa["timing"]["probe"].is_f64() && sa["timing"]["total"].is_f64());
    let (session_a, session_b) = (&ours["sessions"][0], &theirs["sessions"][0]);
    for field in ["host", "ip", "port"] {
        assert_eq!(
            session_a[field], session_b[field],
            "sessions[0].{field} differs"
        );
    }
    let connected = session_a["connected"].as_str().unwrap();
    assert_eq!(
        connected.len(),
        "2026-12-04T00:18:16.683559+00:00".len(),
        "{connected}"
    );
    assert!(connected.ends_with("+00:00"), "{connected}");
}

fn names(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect()
}

#[test]
fn the_hash_and_the_json_are_pythons() {
    let values = [
        json!({"probed-protocol": "server", "scan-type": "quick", "offered-options": ["ECHO", "SGA"],
               "requested-options": [], "looped-negotiation": []}),
        json!({"TERM": "Yes-ansi", "charset": "None", "ttype-count": 3, "é": "ü\u{1F600}",
               "slc": {"set": {"SLC_EC": 127}, "unset": ["SLC_AO"]}, "x": null, "t": true, "f": 1.25}),
        json!({"banner": "\r\n\t\"quoted\\\u{1}\u{7f}", "nested": [[], {}, [{"b": 1, "a": 2}]]}),
    ];
    let script = "import json, sys\n\
                  from telnetlib3.fingerprinting import _hash_fingerprint\n\
                  for line in sys.stdin:\n\
                  \x20   data = json.loads(line)\n\
                  \x20   print(_hash_fingerprint(data))\n\
                  \x20   print(json.dumps(json.dumps(data, indent=2, sort_keys=True)))\n";
    let input: String = values.iter().map(|v| format!("{v}\n")).collect();
    let mut command = Command::new(python());
    command.args(["-c", script]);
    let out = run(command, input.as_bytes());
    assert!(out.status.success(), "{out:?}");
    let lines: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().lines().collect();
    assert_eq!(lines.len(), 2 * values.len(), "{lines:?}");
    for (value, pair) in values.iter().zip(lines.chunks(2)) {
        assert_eq!(fingerprint_hash(value), pair[0], "hash of {value}");
        let indented: String = serde_json::from_str(pair[1]).unwrap();
        assert_eq!(python_json(value, Some(2)), indented, "indented {value}");
    }
}

#[test]
fn python_and_ours_agree_on_our_server() {
    // MCCP off, so that MCCP2 and MCCP3 are among the refused options below (with
    // --compression on, both tools find them offered and still agree).
    let (_server, port) = start_server(&["--no-compression"]);
    let (ours, theirs) = probe_both(port, "ours");
    // telnetlib3's tool sets the session encoding to its --encoding (ascii) when its shell
    // starts, overwriting the CHARSET agreement when that came first, and not when it
    // comes later: its `encoding` is UTF-8 or ascii by the timing. Ours is the charset
    // agreed, always; so exactly that field is skipped.
    assert_same_probe(&ours, &theirs, &["session_data.encoding"]);
    let data = &ours["server-probe"]["fingerprint-data"];
    assert_eq!(
        names(&data["offered-options"]),
        [
            "AARDWOLF", "ATCP", "BINARY", "CHARSET", "ECHO", "EOR", "GMCP", "MSDP", "MSP", "MSSP",
            "MXP", "SGA", "STATUS", "ZMP"
        ]
    );
    assert_eq!(
        names(&data["refused-options"]),
        ["COM_PORT", "MCCP2", "MCCP3"]
    );
    let session = &ours["server-probe"]["session_data"];
    assert_eq!(session["encoding"], "UTF-8", "CHARSET agreed UTF-8");
    assert!(
        session["banner_before_return"]
            .as_str()
            .unwrap()
            .starts_with("Ready.\r\n"),
        "{session}"
    );
}

#[test]
fn python_and_ours_agree_on_pythons_server_through_mccp2() {
    let python = python();
    let mut failures = Vec::new();
    let (_server, port) = loop {
        let port = free_port();
        let mut command = Command::new(&python);
        command
            .args([
                "-c",
                "import sys; from telnetlib3.server import main; \
                 sys.argv[0] = 'telnetlib3-server'; main()",
                "127.0.0.1",
                &port.to_string(),
                "--connect-maxwait",
                "0.5",
            ])
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        let mut server = Proc::spawn(command);
        if server.wait_for_line("Server ready on").is_some() {
            break (server, port);
        }
        failures.push(server.stderr_seen.clone());
        assert!(
            failures.len() < 3,
            "the Python server did not start: {failures:?}"
        );
    };
    let (ours, theirs) = probe_both(port, "python");
    assert_same_probe(&ours, &theirs, &[]);
    let data = &ours["server-probe"]["fingerprint-data"];
    // Python's server compresses with MCCP2 when asked: the banner is read through it.
    assert!(names(&data["offered-options"]).contains(&"MCCP2"), "{data}");
    let session = &ours["server-probe"]["session_data"];
    let banner = format!(
        "{}{}",
        session["banner_before_return"].as_str().unwrap(),
        session["banner_after_return"].as_str().unwrap()
    );
    assert!(banner.contains("tel:sh> "), "{banner:?}");
}

/// Wait until `port` answers (not by a connection to itself).
fn wait_listening(port: u16, process: &mut Proc) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(stream) if stream.local_addr().ok() != stream.peer_addr().ok() => return,
            _ => {}
        }
        assert!(
            process.child.try_wait().unwrap().is_none(),
            "{:?}",
            process.stderr_seen
        );
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        thread::sleep(Duration::from_millis(20));
    }
}

/// busybox telnetd asks DO ECHO of the client. telnetlib3's client answers WONT ECHO but
/// records ECHO as agreed (its `handle_do` returns True after the refusal), so its record
/// lists ECHO among the requested options, as wrongly accepted in the wrong-direction
/// probe, and `server_requested.ECHO` true; ours records the refusal. Those three fields
/// and so the hash are left out of the comparison; all the rest must agree.
#[test]
fn busybox_telnetd_offers_echo_and_sga_and_asks_naws() {
    require("/usr/bin/busybox", "busybox-static");
    let port = free_port();
    let mut command = Command::new("/usr/bin/busybox");
    command
        .args([
            "telnetd",
            "-F",
            "-p",
            &port.to_string(),
            "-b",
            "127.0.0.1",
            "-l",
            "/bin/sh",
        ])
        .env("PS1", "bb-sh$ ")
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    let mut telnetd = Proc::spawn(command);
    wait_listening(port, &mut telnetd);
    let (ours, theirs) = probe_both(port, "busybox");
    let data = &ours["server-probe"]["fingerprint-data"];
    assert_eq!(names(&data["offered-options"]), ["ECHO", "SGA"]);
    assert_eq!(names(&data["requested-options"]), ["NAWS"]);
    assert_eq!(
        names(&data["refused-options"]),
        [
            "AARDWOLF", "ATCP", "BINARY", "CHARSET", "COM_PORT", "EOR", "GMCP", "MCCP2", "MCCP3",
            "MSDP", "MSP", "MSSP", "MXP", "STATUS", "ZMP"
        ]
    );
    assert_eq!(names(&data["wrong-direction-offered"]), Vec::<&str>::new());
    assert_eq!(
        ours["server-probe"]["session_data"]["option_states"]["server_requested"]["ECHO"],
        false
    );
    let python_data = &theirs["server-probe"]["fingerprint-data"];
    assert_eq!(
        names(&python_data["requested-options"]),
        ["ECHO", "NAWS"],
        "telnetlib3's bug"
    );
    let mut ours = ours.clone();
    let mut theirs = theirs.clone();
    for record in [&mut ours, &mut theirs] {
        let data = &mut record["server-probe"]["fingerprint-data"];
        for field in ["requested-options", "wrong-direction-offered"] {
            let kept: Vec<Value> = data[field]
                .as_array()
                .unwrap()
                .iter()
                .filter(|name| *name != "ECHO")
                .cloned()
                .collect();
            data[field] = Value::Array(kept);
        }
    }
    assert_same_probe(
        &ours,
        &theirs,
        &["fingerprint", "option_states.server_requested.ECHO"],
    );
}

/// inetutils telnetd (inetd-style: one connection on its standard input and output).
fn start_inetutils_telnetd() -> (u16, mpsc::Receiver<Proc>) {
    const TELNETD: &str = "/usr/sbin/telnetd";
    require(TELNETD, "inetutils-telnetd");
    let listener = listen_local();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for _ in 0..2 {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            let socket = OwnedFd::from(stream);
            let mut command = Command::new(TELNETD);
            command
                .args(["-E", "/usr/bin/env PS1=tl3-sh> /bin/sh"])
                .stdin(Stdio::from(socket.try_clone().unwrap()))
                .stdout(Stdio::from(socket));
            let _ = tx.send(Proc::spawn(command));
        }
    });
    (port, rx)
}

#[test]
fn inetutils_telnetd_offers_binary_echo_sga_status() {
    let (port, _telnetd) = start_inetutils_telnetd();
    let (ours, theirs) = probe_both(port, "inetutils");
    let data = &ours["server-probe"]["fingerprint-data"];
    assert_eq!(
        names(&data["offered-options"]),
        ["BINARY", "ECHO", "SGA", "STATUS"]
    );
    assert_eq!(
        names(&data["requested-options"]),
        [
            "BINARY",
            "LFLOW",
            "NAWS",
            "NEW_ENVIRON",
            "TSPEED",
            "TTYPE",
            "XDISPLOC"
        ]
    );
    // telnetd asks DO ECHO too (telnetlib3's bug above) but then DONT ECHO, which both
    // record: only the snapshot taken before the probe differs.
    assert_same_probe(&ours, &theirs, &["option_states.server_requested.ECHO"]);
    let banner = ours["server-probe"]["session_data"]["banner_before_return"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(banner.contains("tl3-sh>"), "{banner:?}");
}

#[test]
fn records_go_to_the_data_directory_as_telnetlibs_do() {
    let (_server, port) = start_server(&["--no-compression"]);
    let dir = scratch_dir("data-dir");
    let ours_dir = dir.join("ours");
    let python_dir = dir.join("python");
    for _ in 0..2 {
        let mut command = Command::new(FINGERPRINT);
        command
            .args(["127.0.0.1", &port.to_string(), "--silent", "--data-dir"])
            .arg(&ours_dir)
            .args(QUICK);
        assert!(run(command, b"").status.success());
    }
    let mut command = python_fingerprint(&["127.0.0.1", &port.to_string(), "--silent"]);
    command.arg("--data-dir").arg(&python_dir).args(QUICK);
    command.args(["--set-name", "our server"]);
    assert!(run(command, b"").status.success());
    let mut command = Command::new(FINGERPRINT);
    command
        .args([
            "127.0.0.1",
            &port.to_string(),
            "--silent",
            "--set-name",
            "our server",
        ])
        .arg("--data-dir")
        .arg(&ours_dir)
        .args(QUICK);
    assert!(run(command, b"").status.success());

    let files = |root: &Path| -> Vec<PathBuf> {
        let mut found = Vec::new();
        for fingerprint in std::fs::read_dir(root.join("server")).unwrap() {
            for file in std::fs::read_dir(fingerprint.unwrap().path()).unwrap() {
                found.push(
                    file.unwrap()
                        .path()
                        .strip_prefix(root)
                        .unwrap()
                        .to_path_buf(),
                );
            }
        }
        found
    };
    let ours = files(&ours_dir);
    assert_eq!(
        ours,
        files(&python_dir),
        "the same server/<hash>/<session hash>.json"
    );
    let record: Value =
        serde_json::from_str(&std::fs::read_to_string(ours_dir.join(&ours[0])).unwrap()).unwrap();
    assert_eq!(
        record["sessions"].as_array().unwrap().len(),
        3,
        "each probe appended"
    );
    let read_names = |root: &Path| -> Value {
        serde_json::from_str(&std::fs::read_to_string(root.join("fingerprint_names.json")).unwrap())
            .unwrap()
    };
    assert_eq!(read_names(&ours_dir), read_names(&python_dir));
}

#[test]
fn errors_are_one_line() {
    let mut command = Command::new(FINGERPRINT);
    command.args(["127.0.0.1", "99999"]);
    let out = run(command, b"");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(
        out.stderr.starts_with("telnetlib3-fingerprint: error: "),
        "{out:?}"
    );

    let mut command = Command::new(FINGERPRINT);
    command.args(["127.0.0.1", "1", "--always-do", "NOSUCH"]);
    let out = run(command, b"");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(out.stderr.contains("NOSUCH"), "{out:?}");

    // Nothing listens on a port just freed.
    let port = free_port();
    let mut command = Command::new(FINGERPRINT);
    command.args(["127.0.0.1", &port.to_string()]);
    let out = run(command, b"");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(
        out.stderr.starts_with(&format!(
            "telnetlib3-fingerprint: error: 127.0.0.1:{port}: "
        )),
        "{out:?}"
    );
}

/// A hostile "server" on a free port: it sends `script` once a client connects, then
/// holds the connection open (reading and dropping what comes) until the client leaves.
fn hostile_server(script: Vec<u8>) -> u16 {
    let listener = listen_local();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        let Ok((mut stream, _)) = listener.accept() else {
            return;
        };
        use std::io::{Read, Write};
        let _ = stream.write_all(&script);
        let mut sink = [0u8; 4096];
        while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
    });
    port
}

/// Our tool against `script`: it ends, successfully, with a record.
fn probe_hostile(script: Vec<u8>, extra: &[&str]) -> Value {
    let port = hostile_server(script);
    let dir = scratch_dir("hostile");
    let mut command = Command::new(FINGERPRINT);
    command.args(extra);
    probe_with(command, port, &dir, "ours")
}

#[test]
fn a_corrupt_mccp2_stream_ends_the_probe_with_a_record() {
    // WILL MCCP2, its start, then bytes that are no zlib stream.
    let mut script = vec![255, 251, 86, 255, 250, 86, 255, 240];
    script.extend_from_slice(b"this is not zlib at all");
    let record = probe_hostile(script, &[]);
    let session = &record["server-probe"]["session_data"];
    assert_eq!(session["option_states"]["server_offered"]["MCCP2"], true);
    assert_eq!(session["banner_before_return"], "");
    assert_eq!(
        record["server-probe"]["fingerprint-data"]["offered-options"],
        json!([])
    );
}

#[test]
fn a_flood_keeps_the_banner_bounded() {
    let mut script = vec![b'A'; 4 << 20];
    // An unterminated subnegotiation at the end: the parser caps it.
    script.extend_from_slice(&[255, 250, 24]);
    script.extend(std::iter::repeat_n(b'x', 1 << 20));
    let record = probe_hostile(script, &["--banner-max-bytes", "1000"]);
    let session = &record["server-probe"]["session_data"];
    let before = session["banner_before_return"].as_str().unwrap();
    let after = session["banner_after_return"].as_str().unwrap();
    // The settle read and the banner read keep 1000 bytes each, as telnetlib3's.
    assert!(before.len() <= 2000, "{}", before.len());
    assert!(after.len() <= 5 * 1000, "{}", after.len());
    assert!(before.starts_with("AAAA"), "{before:.20}");
}

/// A scripted BBS on a free port, for `clients` clients one after the other: to each it
/// answers every negotiation with a refusal, runs `steps` (each: what it sends, then the
/// bytes of the client's data it waits for, up to [`PATIENCE`]), and then holds the
/// connection until the client leaves. Returns the port and, for each client once it
/// left, its data (negotiation taken out).
fn scripted_bbs(steps: Vec<(Vec<u8>, Vec<u8>)>, clients: usize) -> (u16, mpsc::Receiver<Vec<u8>>) {
    let listener = listen_local();
    let port = listener.local_addr().unwrap().port();
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        for _ in 0..clients {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            let _ = sender.send(scripted_session(stream, steps.clone()));
        }
    });
    (port, receiver)
}

/// One client of [`scripted_bbs`].
fn scripted_session(mut stream: TcpStream, steps: Vec<(Vec<u8>, Vec<u8>)>) -> Vec<u8> {
    use std::io::{Read, Write};
    {
        stream
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let mut data = Vec::new();
        let mut pending: Vec<u8> = Vec::new();
        let mut chunk = [0u8; 4096];
        let mut steps = steps.into_iter();
        let mut waiting_for: Option<Vec<u8>> = None;
        let mut waited_from = 0;
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            if waiting_for.is_none() {
                if let Some((send, expect)) = steps.next() {
                    let _ = stream.write_all(&send);
                    waited_from = data.len();
                    waiting_for = Some(expect);
                }
            }
            match stream.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => pending.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => break,
            }
            // Refuse each DO and WILL; keep the data.
            let mut reply = Vec::new();
            let mut at = 0;
            while at < pending.len() {
                match (pending[at], pending.get(at + 1), pending.get(at + 2)) {
                    (255, Some(&255), _) => {
                        data.push(255);
                        at += 2;
                    }
                    (255, Some(&verb @ 251..=254), Some(&option)) => {
                        match verb {
                            253 => reply.extend([255, 252, option]),
                            251 => reply.extend([255, 254, option]),
                            _ => {}
                        }
                        at += 3;
                    }
                    (255, Some(&250), _) => {
                        match pending[at..].windows(2).position(|w| w == [255, 240]) {
                            Some(end) => at += end + 2,
                            None => break,
                        }
                    }
                    (255, Some(_), _) if pending.len() > at + 2 => at += 2,
                    (255, _, _) => break,
                    (byte, _, _) => {
                        data.push(byte);
                        at += 1;
                    }
                }
            }
            pending.drain(..at);
            if !reply.is_empty() {
                let _ = stream.write_all(&reply);
            }
            if let Some(expect) = &waiting_for {
                if expect.is_empty()
                    || data[waited_from..]
                        .windows(expect.len())
                        .any(|w| w == &expect[..])
                {
                    waiting_for = None;
                }
            }
        }
        data
    }
}

/// Both tools against a [`scripted_bbs`] running `steps`: (our record, Python's, what
/// ours typed, what Python's typed).
fn both_tools_on_bbs(
    steps: Vec<(Vec<u8>, Vec<u8>)>,
    label: &str,
) -> (Value, Value, Vec<u8>, Vec<u8>) {
    let dir = scratch_dir(label);
    let (port, sent) = scripted_bbs(steps, 2);
    let ours = probe_with(Command::new(FINGERPRINT), port, &dir, "ours");
    let ours_sent = sent.recv_timeout(PATIENCE).unwrap();
    let theirs = probe_with(python_fingerprint(&[]), port, &dir, "python");
    let python_sent = sent.recv_timeout(PATIENCE).unwrap();
    (ours, theirs, ours_sent, python_sent)
}

/// A BBS robot check and charset menu, answered by both tools as telnetlib3's probe
/// answers them: each cursor position report gives the column the text before it
/// reached (3 ASCII letters; then 3 bytes of UTF-8 read as ASCII, one replacement
/// character each), the UTF-8 entry of the menu is picked as it arrives, and from then on
/// the text is measured as UTF-8 (a wide character: two columns). The records agree,
/// with the encoding the menu picked.
#[test]
fn robot_checks_and_charset_menus_are_answered_as_telnetlib3_does() {
    let wide = "\u{4e2d}".as_bytes().to_vec();
    let steps = vec![
        (b"Hello\r\n\x1b[1mabc\x1b[0m\x1b[6n".to_vec(), b"R".to_vec()),
        ([&wide[..], b"\x1b[6n"].concat(), b"R".to_vec()),
        (
            b"\r\nCharset:\r\n 1) CP437\r\n 2) UTF-8\r\nChoice: ".to_vec(),
            b"2\r\n".to_vec(),
        ),
        ([&wide[..], b"\x1b[6n"].concat(), b"R".to_vec()),
        (b"\r\nLogin: ".to_vec(), Vec::new()),
    ];
    let (ours, theirs, ours_sent, python_sent) = both_tools_on_bbs(steps, "bbs");
    assert_eq!(
        String::from_utf8_lossy(&ours_sent),
        String::from_utf8_lossy(&python_sent),
        "what the tools typed differs"
    );
    assert!(
        ours_sent.starts_with(b"\x1b[1;4R\x1b[1;7R2\r\n\x1b[1;11R\r\n"),
        "{:?}",
        String::from_utf8_lossy(&ours_sent)
    );
    assert_same_probe(&ours, &theirs, &[]);
    let session = &ours["server-probe"]["session_data"];
    assert_eq!(session["encoding"], "utf-8");
    assert_eq!(session["dsr_requests"], 3);
    assert_eq!(session["dsr_replies"], 3);
}

/// Banners beyond ASCII and UTF-8, decoded as telnetlib3 decodes them: CP437 art after a
/// SyncTERM font switch, and Big5 after a GB/Big5 prompt answered `big5` (a stray byte
/// kept as itself).
#[test]
fn banners_in_cp437_and_big5_are_decoded_as_telnetlib3_does() {
    let art = vec![(
        b"\x1b[0;0 D\xc9\xcd\xbb\xb1\xdb ART\r\nLogin: ".to_vec(),
        Vec::new(),
    )];
    let (ours, theirs, ours_sent, python_sent) = both_tools_on_bbs(art, "cp437");
    assert_eq!(ours_sent, python_sent);
    assert_same_probe(&ours, &theirs, &[]);
    let session = &ours["server-probe"]["session_data"];
    assert_eq!(session["encoding"], "cp437");
    assert!(
        session["banner_before_return"]
            .as_str()
            .unwrap()
            .contains("\u{2554}\u{2550}\u{2557}\u{2592}\u{2588} ART"),
        "{session}"
    );

    let big5 = vec![
        (b"Please choose GB/Big5: ".to_vec(), b"big5\r\n".to_vec()),
        (b"\xa4\xa4\xa4\xe5\x80\r\nLogin: ".to_vec(), Vec::new()),
    ];
    let (ours, theirs, ours_sent, python_sent) = both_tools_on_bbs(big5, "big5");
    assert_eq!(ours_sent, python_sent);
    assert!(ours_sent.starts_with(b"big5\r\n"), "{ours_sent:?}");
    assert_same_probe(&ours, &theirs, &[]);
    let session = &ours["server-probe"]["session_data"];
    assert_eq!(session["encoding"], "big5");
    assert!(
        session["banner_after_return"]
            .as_str()
            .unwrap()
            .starts_with("\u{4e2d}\u{6587}\\udc80\r\nLogin: "),
        "{session}"
    );
}
