//! Interoperability with the reference: Python telnetlib3 5.0.1 from PyPI.
//!
//! The Python is `$TELNETLIB3_PYTHON`, or else `.venv/bin/python` at the workspace root
//! (`scripts/test.sh` creates it). Without it these tests fail: they are the proof that we
//! speak with the reference, and a skipped proof is no proof.

mod common;
#[path = "../../telnetlib3-proto/tests/support/python.rs"]
#[allow(dead_code)] // The tools use only `python()`.
mod reference;

use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::{free_port, run, show, start_server, Proc, CLIENT};
use reference::python;

/// `python -c` running one of telnetlib3's console entry points with `args`.
fn entry_point(python: &PathBuf, module: &str, program: &str, args: &[&str]) -> Command {
    let mut command = Command::new(python);
    command
        .arg("-c")
        .arg(format!(
            "import sys; from telnetlib3.{module} import main; sys.argv[0] = '{program}'; main()"
        ))
        .args(args)
        .env("PYTHONUNBUFFERED", "1");
    command
}

/// The Python server on a free port, once it says it is ready. A port taken between
/// choosing and binding is retried.
fn start_python_server(python: &PathBuf) -> (Proc, u16) {
    let mut failures = Vec::new();
    for _ in 0..3 {
        let port = free_port();
        let mut command = entry_point(
            python,
            "server",
            "telnetlib3-server",
            &["127.0.0.1", &port.to_string(), "--connect-maxwait", "0.5"],
        );
        command.stdin(Stdio::null()).stdout(Stdio::null());
        let mut server = Proc::spawn(command);
        if server.wait_for_line("Server ready on").is_some() {
            return (server, port);
        }
        failures.push(server.stderr_seen.clone());
    }
    panic!("the Python server did not start: {failures:?}");
}

#[test]
fn our_client_against_python_telnetlib3_server() {
    let python = python();
    let (_server, port) = start_python_server(&python);
    let mut command = Command::new(CLIENT);
    command.args(["127.0.0.1", &port.to_string()]);
    let out = run(command, b"quit\r\n");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(text.contains("Ready."), "{}", show(&out.stdout));
    assert!(text.contains("tel:sh> "), "{}", show(&out.stdout));
    assert!(text.contains("Goodbye."), "{}", show(&out.stdout));
    assert_eq!(out.stderr, "");
}

#[test]
fn python_telnetlib3_client_against_our_server() {
    let python = python();
    let (_server, port) = start_server(&["--connect-maxwait", "0.5"]);
    // telnetlib3-client works with piped input, as long as its output is a pipe too.
    let command = entry_point(
        &python,
        "client",
        "telnetlib3-client",
        &["127.0.0.1", &port.to_string()],
    );
    let out = run(command, b"help\r\nquit\r\n");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    for expected in [
        "Ready.",
        "tel:sh> ",
        "quit, writer, slc, linemode, toggle [option|all], reader, proto, dump, mud",
        "Goodbye.",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing: {}",
            show(&out.stdout)
        );
    }
}

/// telnetlib3's client answers our `WILL GMCP` and `WILL ZMP` with DO ("passive DO")
/// and greets with `Core.Hello` and `Core.Supports.Set` (its `--gmcp-modules`,
/// lower-cased): the debug shell's `mud` command shows what arrived.
#[test]
fn python_telnetlib3_client_greets_our_server_with_gmcp() {
    let python = python();
    let (_server, port) = start_server(&["--connect-maxwait", "0.5", "--always-will", "GMCP,ZMP"]);
    let command = entry_point(
        &python,
        "client",
        "telnetlib3-client",
        &[
            "127.0.0.1",
            &port.to_string(),
            "--gmcp-modules",
            "Char 1,Room 1",
        ],
    );
    let out = run(command, b"mud\r\nquit\r\n");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    for expected in [
        "MUD options: GMCP ZMP",
        r#"GMCP Core.Hello {"client":"telnetlib3","version":"5.0.1"}"#,
        r#"GMCP Core.Supports.Set ["char 1","room 1"]"#,
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing: {}",
            show(&out.stdout)
        );
    }
}

/// The seed's debug shell transcript, command by command, through the reference client.
#[test]
fn python_telnetlib3_client_sees_the_seed_transcript() {
    let python = python();
    let (_server, port) = start_server(&["--connect-maxwait", "2"]);
    let command = entry_point(
        &python,
        "client",
        "telnetlib3-client",
        &["127.0.0.1", &port.to_string()],
    );
    let out = run(
        command,
        b"writer\r\nreader\r\nslc\r\nlinemode\r\ntoggle all\r\nwriter\r\nreader\r\nquit\r\n",
    );
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n");
    // The client's LANG is `en_US.utf8`, or `en_US.utf-8` when it has agreed to CHARSET
    // before it answers NEW-ENVIRON (it renames its encoding then).
    let text = text.replace("encoding='utf-8'", "encoding='utf8'");
    for expected in [
        "tel:sh> writer\n<TelnetWriter server mode:kludge +lineflow -xon_any +slc_sim \
         server-will:BINARY,CHARSET,ECHO,SGA client-will:BINARY,CHARSET,NAWS,NEW_ENVIRON,TTYPE>\n",
        // The encoding from the client's LANG, the rest of the input buffered.
        "tel:sh> reader\n<TelnetReaderUnicode encoding='utf8' limit=65536 buflen=",
        "tel:sh> slc\nSpecial Line Characters:\n         SLC_AO: (^O, variable|flushout)\n",
        "      SLC_LNEXT: (^V, variable)\nUnset by client: SLC_BRK, SLC_EOR, SLC_SYNCH\n",
        "tel:sh> linemode\nLINEMODE not negotiated.\n",
        "tel:sh> toggle all\nwont echo.\nwont suppress go-ahead.\nwont outbinary.\n\
         dont inbinary.\nxon-any enabled.\nlineflow disabled.\n",
        // Echo is off now, so the command is not shown after the prompt.
        "<TelnetWriter server mode:local -lineflow +xon_any +slc_sim \
         server-will:CHARSET client-will:CHARSET,NAWS,NEW_ENVIRON,TTYPE>\n",
        // Without BINARY, text is US-ASCII, as the seed README shows.
        "tel:sh> \n<TelnetReaderUnicode encoding='US-ASCII' limit=65536 buflen=",
        "Goodbye.\n",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }
}

/// The client's flags reach the reference server: its terminal type, and LANG from its
/// encoding.
#[test]
fn our_client_flags_reach_the_python_server() {
    let (_python_server, port) = reference::start_server("server_view.py");
    let mut client = Command::new(CLIENT);
    client.args([
        "127.0.0.1",
        &port.to_string(),
        "--term",
        "vt220",
        "--encoding",
        "cp437",
    ]);
    let out = run(client, b"");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    for fact in ["TERM=vt220", "LANG=en_US.cp437", "mode=kludge"] {
        assert!(text.contains(fact), "{fact} missing: {text}");
    }
}
