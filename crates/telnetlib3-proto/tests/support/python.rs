//! Starting the reference, Python telnetlib3 5.0.1, from tests: shared by the interop
//! tests of the core, the async crate and the tools (the latter two include this file by
//! path).
//!
//! The Python is `$TELNETLIB3_PYTHON`, or else `.venv/bin/python` at the workspace root
//! (`scripts/test.sh` creates it); without it the tests fail, since a skipped proof is no
//! proof. The Python programs live beside this file, in `../python/`.

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const WORKSPACE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// The Python interpreter that has telnetlib3 5.0.1, or a failing test that says how to
/// get it.
pub fn python() -> PathBuf {
    let (python, origin) = match std::env::var_os("TELNETLIB3_PYTHON") {
        Some(path) => (PathBuf::from(path), "TELNETLIB3_PYTHON"),
        None => (Path::new(WORKSPACE).join(".venv/bin/python"), "the default"),
    };
    assert!(
        python.exists(),
        "Python telnetlib3 5.0.1 is needed for the interop tests, but {} ({origin}) does not \
         exist. Run scripts/test.sh, or: python3 -m venv .venv && \
         .venv/bin/pip install telnetlib3==5.0.1 (or set TELNETLIB3_PYTHON to a python that \
         has it)",
        python.display()
    );
    let version = std::process::Command::new(&python)
        .args(["-c", "import telnetlib3; print(telnetlib3.__version__)"])
        .output()
        .unwrap_or_else(|error| panic!("cannot run {}: {error}", python.display()));
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        "5.0.1",
        "{} must have telnetlib3 5.0.1 installed (stderr: {})",
        python.display(),
        String::from_utf8_lossy(&version.stderr)
    );
    python
}

/// One of the Python programs in `crates/telnetlib3-proto/tests/python/`.
pub fn script(name: &str) -> PathBuf {
    Path::new(WORKSPACE)
        .join("crates/telnetlib3-proto/tests/python")
        .join(name)
}

/// Start one of the Python servers (`server_view.py`, `echo_server.py`) on a free port of
/// 127.0.0.1 and wait for its `ready` line. Its standard output stays open while it runs.
pub fn start_server(name: &str) -> (Reaped, u16) {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|probe| probe.local_addr())
        .unwrap()
        .port();
    let mut child = Command::new(python())
        .arg(script(name))
        .arg(port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    // Byte by byte: nothing after the line may be taken from the pipe.
    let mut line = Vec::new();
    let mut byte = [0u8];
    while stdout.read(&mut byte).unwrap_or(0) == 1 && byte[0] != b'\n' {
        line.push(byte[0]);
    }
    child.stdout = Some(stdout);
    let child = Reaped(child);
    assert_eq!(line, b"ready", "{name} did not start");
    (child, port)
}

/// A child process killed when the test ends, however it ends.
pub struct Reaped(pub Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
