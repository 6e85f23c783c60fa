//! Starting the reference, Python telnetlib3 5.0.1, from tests: shared by the core's and
//! the async crate's interop tests (the latter include this file by path).
//!
//! The Python is `$TELNETLIB3_PYTHON`, or else `.venv/bin/python` at the workspace root
//! (`scripts/test.sh` creates it); without it the tests fail, since a skipped proof is no
//! proof. The Python programs live beside this file, in `../python/`.

use std::path::{Path, PathBuf};
use std::process::Child;

const WORKSPACE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// The Python interpreter that has telnetlib3 5.0.1.
pub fn python() -> PathBuf {
    let python = std::env::var_os("TELNETLIB3_PYTHON").map_or_else(
        || Path::new(WORKSPACE).join(".venv/bin/python"),
        PathBuf::from,
    );
    assert!(
        python.exists(),
        "Python with telnetlib3 5.0.1 is needed: run scripts/test.sh or set TELNETLIB3_PYTHON \
         (looked for {})",
        python.display()
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
