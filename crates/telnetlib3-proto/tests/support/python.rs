//! Starting the reference, Python telnetlib3 5.0.1, from tests: shared by the interop
//! tests of the core, the async crate and the tools (the latter two include this file by
//! path).
//!
//! The Python is `$TELNETLIB3_PYTHON`, or else `.venv/bin/python` at the workspace root
//! (`scripts/test.sh` creates it); without it the tests fail, since a skipped proof is no
//! proof. The Python programs live beside this file, in `../python/`.

use std::path::{Path, PathBuf};
use std::process::Child;

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

/// A child process killed when the test ends, however it ends.
pub struct Reaped(pub Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
