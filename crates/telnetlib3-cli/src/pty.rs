//! `--pty-exec`: each connection runs a program on a pseudo-terminal of its own, after
//! telnetlib3's `server_pty_shell.py`, and `--pty-fork-limit`'s busy shell, after its
//! `guard_shells.py`.
//!
//! The program is a session leader with the pty as its controlling terminal. The
//! client's data goes to the pty master (Enter as CR, DEL as `^H`), the pty's output goes
//! to the client through the [`TelnetWriter`] (IAC doubling and NVT end-of-line there).
//! The pty starts at the client's NAWS size and follows every new NAWS report
//! (`TIOCSWINSZ`, which signals `SIGWINCH` to the foreground process group).
//!
//! The child's environment is built, not inherited ([`environment`]): a few variables of
//! the server (PATH, HOME, USER, SHELL, LOGNAME), TERM from TTYPE, LINES and COLUMNS from
//! NAWS, LANG from NEW-ENVIRON or CHARSET, and only the allow-listed, validated client
//! variables of [`CLIENT_VARIABLES`]. No client value ever becomes an argument.
//!
//! The connection ends when the program exits (after its output is sent) or when the
//! client hangs up (the program's process group gets SIGHUP, then SIGKILL after
//! [`HANGUP_GRACE`]); either way the child is reaped.
//!
//! Process spawning uses `pty-process` (pty pair, `setsid` + `TIOCSCTTY` in its own
//! `pre_exec`, async master on tokio) and `rustix` for termios and signals, so this crate
//! needs no `unsafe` of its own.

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use pty_process::{OwnedReadPty, OwnedWritePty, Size};
use rustix::process::{kill_process_group, Pid, Signal};
use rustix::termios::{self, LocalModes, OptionalActions, SpecialCodeIndex};
use telnetlib3::proto::options::environ::Variable;
use telnetlib3::proto::options::naws::WindowSize;
use telnetlib3::proto::TelnetOption;
use telnetlib3::{TelnetReader, TelnetWriter};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Child;
use tokio::sync::Notify;
use tracing::{debug, info, warn};

/// The name in the one-line message a client gets when its program cannot start.
const PROGRAM_NAME: &str = "telnetlib3-server";

/// How long a hung-up program has to exit after SIGHUP before it is killed.
pub const HANGUP_GRACE: Duration = Duration::from_secs(2);

/// After the program exited, its output is still forwarded until the pty reports end of
/// file or is quiet this long (a background process may hold the pty open).
const DRAIN_IDLE: Duration = Duration::from_millis(200);

/// Without SGA, telnetlib3 sends `IAC GA` once the program's output pauses this long
/// (cooked mode only: a prompt is waiting for a line).
const GA_IDLE: Duration = Duration::from_millis(100);

/// The most bytes moved per read, each way.
const CHUNK: usize = 16 * 1024;

/// The longest value accepted for a client variable.
pub const MAX_VALUE_LEN: usize = 256;

/// Client NEW-ENVIRON variables passed to the program (besides `LC_*`), each with a
/// validated value: terminal and locale preferences only. Everything that steers what
/// runs or where (PATH, LD_*, IFS, SHELL, HOME, USER, BASH_ENV, ENV, ...) is left out.
pub const CLIENT_VARIABLES: &[&str] = &["LANG", "COLORTERM", "TZ", "DISPLAY"];

/// Why a program could not be run on a pty.
#[derive(Debug, thiserror::Error)]
pub enum PtyError {
    /// The program does not exist, is not executable, or its exec failed.
    #[error("cannot run {program}: {reason}")]
    CannotRun {
        /// The program as given.
        program: String,
        /// The system's reason, e.g. `No such file or directory`.
        reason: String,
    },
    /// The pseudo-terminal could not be opened or set up.
    #[error("cannot set up a pseudo-terminal: {0}")]
    Pty(String),
}

/// The program `--pty-exec` runs on each connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PtyProgram {
    /// The program, a path or a name looked up in PATH.
    pub program: String,
    /// Its arguments (after `--`).
    pub args: Vec<String>,
    /// telnetlib3's `raw_mode` (the default, that is without `--line-mode`): the pty has
    /// neither ECHO nor ICANON and the server keeps WILL ECHO, for programs that handle
    /// the terminal themselves (shells with line editing, curses). Otherwise cooked: the
    /// pty edits lines (ICANON), and the client, in NVT line mode, echoes.
    pub raw_mode: bool,
}

/// The one-line description of an OS error, without Rust's ` (os error N)`.
fn describe(error: &io::Error) -> String {
    let text = error.to_string();
    match (error.raw_os_error(), text.rfind(" (os error ")) {
        (Some(_), Some(at)) => text[..at].to_string(),
        _ => text,
    }
}

/// Check at start-up that `program` can be executed: a path must name an executable
/// file; a bare name must be found in PATH (as the exec will look it up). Returns the
/// file found.
///
/// # Errors
///
/// [`PtyError::CannotRun`] with the reason (`No such file or directory`, `Permission
/// denied`, `Is a directory`).
pub fn check_program(program: &str) -> Result<PathBuf, PtyError> {
    let cannot = |reason: String| PtyError::CannotRun {
        program: program.to_string(),
        reason,
    };
    if program.is_empty() {
        return Err(cannot("empty program name".to_string()));
    }
    if program.contains('/') {
        return check_file(Path::new(program))
            .map(|()| PathBuf::from(program))
            .map_err(|error| cannot(describe(&error)));
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| DEFAULT_PATH.into());
    let mut first_error = None;
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join(program);
        match check_file(&candidate) {
            Ok(()) => return Ok(candidate),
            Err(error) if error.kind() != io::ErrorKind::NotFound => {
                first_error.get_or_insert(error);
            }
            Err(_) => {}
        }
    }
    Err(cannot(first_error.map_or_else(
        || "not found in PATH".to_string(),
        |error| describe(&error),
    )))
}

/// Whether `path` is a file this process may execute.
fn check_file(path: &Path) -> io::Result<()> {
    let metadata = std::fs::metadata(path)?;
    if metadata.is_dir() {
        return Err(io::Error::from_raw_os_error(
            rustix::io::Errno::ISDIR.raw_os_error(),
        ));
    }
    rustix::fs::access(path, rustix::fs::Access::EXEC_OK).map_err(io::Error::from)
}

/// The PATH a child gets when the server has none.
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// Whether `name` may come from the client: on the allow-list or `LC_*`, and a proper
/// name (`[A-Za-z_][A-Za-z0-9_]*`).
fn allowed_name(name: &str) -> bool {
    let proper = name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    proper
        && (CLIENT_VARIABLES.contains(&name)
            || name.strip_prefix("LC_").is_some_and(|rest| {
                !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_uppercase())
            }))
}

/// A client value, if acceptable: UTF-8, at most [`MAX_VALUE_LEN`] bytes, no control
/// characters (C0, DEL, C1).
fn valid_value(value: &[u8]) -> Option<&str> {
    if value.len() > MAX_VALUE_LEN {
        return None;
    }
    let text = std::str::from_utf8(value).ok()?;
    (!text.chars().any(char::is_control)).then_some(text)
}

/// A terminal type or charset name fit for the environment: short, and only letters,
/// digits and `._+-`.
fn valid_token(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'+' | b'-'))
}

/// A locale name fit for LANG or `LC_*`: a token, with an optional `@modifier` token.
/// Never a path: glibc loads a locale named by an absolute path from that directory.
fn valid_locale(text: &str) -> bool {
    let (name, modifier) = text.split_once('@').unwrap_or((text, "x"));
    valid_token(name) && valid_token(modifier)
}

/// What the connection negotiated, as [`environment`] needs it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Negotiated {
    /// The terminal type from TTYPE, if the client reported one.
    pub term: Option<String>,
    /// The window size `(cols, rows)` from NAWS, or the default.
    pub size: (u16, u16),
    /// The character set agreed with CHARSET, if any.
    pub charset: Option<String>,
    /// The client's NEW-ENVIRON (or ENVIRON) variables, in arrival order.
    pub environ: Vec<Variable>,
}

impl Negotiated {
    /// What `writer`'s connection negotiated so far.
    #[must_use]
    pub fn from_writer(writer: &TelnetWriter) -> Self {
        let term = writer.with_session(|s| s.terminal_type().map(str::to_owned));
        Self {
            term,
            size: window_size(writer),
            charset: writer.charset(),
            environ: writer.environ(),
        }
    }
}

/// The window size `(cols, rows)` to give the pty: the client's, with 80x25 for a zero
/// dimension (a pty of size 0 confuses programs).
fn window_size(writer: &TelnetWriter) -> (u16, u16) {
    let (cols, rows) = writer.window_size();
    (
        if cols == 0 { 80 } else { cols },
        if rows == 0 { 25 } else { rows },
    )
}

/// The child's environment, from `server` (a lookup in the server's environment) and
/// what the client negotiated.
///
/// - PATH (or `/usr/local/bin:/usr/bin:/bin`), HOME, USER, SHELL, LOGNAME of the server;
/// - TERM: TTYPE's terminal type in lower case (`vt100`, `vt52` and `vtnt` become `ansi`,
///   as telnetlib3 does: their terminfo entries have padding delays that show as garbage),
///   else the client's valid TERM variable, else `unknown`;
/// - LINES and COLUMNS from NAWS;
/// - LANG from the client's LANG variable, else `en_US.CHARSET` from CHARSET;
/// - the client's other variables on [`CLIENT_VARIABLES`] or named `LC_*`, with valid
///   values (locale names for LANG and `LC_*`, never paths); the first of each name wins.
pub fn environment(
    server: impl Fn(&str) -> Option<OsString>,
    negotiated: &Negotiated,
) -> Vec<(OsString, OsString)> {
    let mut env: Vec<(OsString, OsString)> = Vec::new();
    let set = |env: &mut Vec<(OsString, OsString)>, name: &str, value: OsString| {
        if !env.iter().any(|(n, _)| n == name) {
            env.push((name.into(), value));
        }
    };
    set(
        &mut env,
        "PATH",
        server("PATH").unwrap_or_else(|| DEFAULT_PATH.into()),
    );
    for name in ["HOME", "USER", "SHELL", "LOGNAME"] {
        if let Some(value) = server(name) {
            set(&mut env, name, value);
        }
    }
    let client = |wanted: &str| {
        negotiated
            .environ
            .iter()
            .find(|variable| variable.name == wanted.as_bytes())
            .and_then(|variable| variable.value.as_deref())
            .and_then(valid_value)
    };
    let term = negotiated
        .term
        .as_deref()
        .or_else(|| client("TERM"))
        .map(str::to_ascii_lowercase)
        .filter(|term| valid_token(term))
        .map_or_else(
            || "unknown".to_string(),
            |term| match term.as_str() {
                "vt100" | "vt52" | "vtnt" => "ansi".to_string(),
                _ => term,
            },
        );
    set(&mut env, "TERM", term.into());
    let (cols, rows) = negotiated.size;
    set(&mut env, "LINES", rows.to_string().into());
    set(&mut env, "COLUMNS", cols.to_string().into());
    let lang = client("LANG")
        .filter(|lang| valid_locale(lang))
        .map(str::to_string)
        .or_else(|| {
            negotiated
                .charset
                .as_deref()
                .filter(|charset| valid_token(charset))
                .map(|charset| format!("en_US.{charset}"))
        });
    if let Some(lang) = lang {
        set(&mut env, "LANG", lang.into());
    }
    for variable in &negotiated.environ {
        let Ok(name) = std::str::from_utf8(&variable.name) else {
            continue;
        };
        if name == "LANG" || !allowed_name(name) {
            continue;
        }
        let Some(value) = variable.value.as_deref().and_then(valid_value) else {
            continue;
        };
        // A TZ naming a file outside the zoneinfo tree is refused.
        if name == "TZ" && (value.contains("..") || value.starts_with([':', '/'])) {
            continue;
        }
        if name.starts_with("LC_") && !valid_locale(value) {
            continue;
        }
        set(&mut env, name, value.into());
    }
    env
}

/// Turns the client's keystrokes into what a terminal sends: Enter (CR LF or CR NUL from
/// a Telnet client) as a lone CR, which the pty's ICRNL makes a newline (passing the LF
/// too would give every line twice), and DEL as `^H`, the pty's erase character (as
/// telnetlib3 does: clients send either).
#[derive(Clone, Copy, Debug, Default)]
pub struct InputFilter {
    after_cr: bool,
}

impl InputFilter {
    /// Append the filtered `data` to `out`; a CR at the end of one chunk and its LF or
    /// NUL at the start of the next are handled as one.
    pub fn filter(&mut self, data: &[u8], out: &mut Vec<u8>) {
        for &byte in data {
            if self.after_cr && matches!(byte, b'\n' | 0) {
                self.after_cr = false;
                continue;
            }
            self.after_cr = byte == b'\r';
            out.push(if byte == 0x7f { 0x08 } else { byte });
        }
    }
}

/// Set the pty's modes before the program starts, as telnetlib3 does: no ECHO (raw mode:
/// the program echoes; cooked: the client does), no ICANON in raw mode, and `^H` as the
/// erase character (many Telnet clients send it for backspace).
fn set_modes(pts: &pty_process::Pts, raw_mode: bool) -> rustix::io::Result<()> {
    let mut modes = termios::tcgetattr(pts)?;
    modes.local_modes.remove(LocalModes::ECHO);
    if raw_mode {
        modes.local_modes.remove(LocalModes::ICANON);
    }
    modes.special_codes[SpecialCodeIndex::VERASE] = 0x08;
    termios::tcsetattr(pts, OptionalActions::Now, &modes)
}

/// How the bridge between the client and the pty ended.
enum End {
    /// The pty gave end of file (or failed), or the program exited and its output was
    /// forwarded.
    Output,
    /// The client hung up or the connection failed.
    Client,
}

/// Run `program` on a new pty for this connection until it exits or the client hangs
/// up, then close the connection. Returns the program's exit status.
///
/// # Errors
///
/// [`PtyError::CannotRun`] when the program cannot be started (the client is told in one
/// line first), [`PtyError::Pty`] when no pty could be set up.
pub async fn run(
    mut reader: TelnetReader,
    mut writer: TelnetWriter,
    program: &PtyProgram,
) -> Result<Option<ExitStatus>, PtyError> {
    if !program.raw_mode && writer.local_enabled(TelnetOption::Echo) {
        // Cooked mode: the client echoes (telnetlib3 sends WONT ECHO), the pty does not.
        let _ = writer.with_session(|s| s.request_local(TelnetOption::Echo, false));
    }
    // Watch before reading the size the program starts with, so that a NAWS arriving in
    // between is not lost (at worst the pty is resized to the size it already has).
    let sizes = writer.watch_window_size();
    let negotiated = Negotiated::from_writer(&writer);
    let env = environment(|name| std::env::var_os(name), &negotiated);
    let (cols, rows) = negotiated.size;
    let spawned = spawn(program, env, cols, rows);
    let (pty, mut running) = match spawned {
        Ok(spawned) => spawned,
        Err(error) => {
            warn!("{}: {error}", writer.peer());
            let line = format!("{PROGRAM_NAME}: {error}\r\n");
            let _ = writer.write(line.as_bytes()).await;
            writer.close().await;
            return Err(error);
        }
    };
    info!(
        "{}: running {} (pid {})",
        writer.peer(),
        program.program,
        running.id()
    );
    let (mut pty_out, mut pty_in) = pty.into_split();
    let end = bridge(
        &mut reader,
        &mut writer,
        sizes,
        &mut pty_out,
        &mut pty_in,
        &mut running,
        program.raw_mode,
    )
    .await;
    // Closing the master hangs up the pty: the session gets SIGHUP from the kernel too.
    drop(pty_out);
    drop(pty_in);
    let status = running.finish(matches!(end, End::Client)).await;
    match status {
        Some(status) => info!("{}: {} ended, {status}", writer.peer(), program.program),
        None => info!("{}: {} ended", writer.peer(), program.program),
    }
    writer.close().await;
    Ok(status)
}

/// Open a pty of `cols` x `rows` and start `program` on it with `env`.
fn spawn(
    program: &PtyProgram,
    env: Vec<(OsString, OsString)>,
    cols: u16,
    rows: u16,
) -> Result<(pty_process::Pty, Running), PtyError> {
    // pty-process opens the master without O_CLOEXEC and sets FD_CLOEXEC right after:
    // a fork on another thread in between would give that program this connection's
    // master. Opening and spawning one connection at a time closes the gap (this is the
    // server's only fork).
    static FORK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _forking = FORK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let pty_error = |error: pty_process::Error| PtyError::Pty(error.to_string());
    let (pty, pts) = pty_process::open().map_err(pty_error)?;
    pty.resize(Size::new(rows, cols)).map_err(pty_error)?;
    set_modes(&pts, program.raw_mode).map_err(|errno| PtyError::Pty(errno.to_string()))?;
    let child = pty_process::Command::new(&program.program)
        .args(&program.args)
        .env_clear()
        .envs(env)
        // The last resort if everything else is dropped (see `Running`).
        .kill_on_drop(true)
        .spawn(pts)
        .map_err(|error| PtyError::CannotRun {
            program: program.program.clone(),
            reason: match error {
                pty_process::Error::Io(error) => describe(&error),
                other => other.to_string(),
            },
        })?;
    let pid = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .and_then(Pid::from_raw);
    let running = Running {
        child: Some(child),
        pid,
        reaper: false,
    };
    Ok((pty, running))
}

/// Move data both ways until the output ends or the client goes, in one loop whose
/// every wait is cancel-safe (pty and client reads, a single pty write, the child's exit,
/// timers): only writes to the client run to completion inside it.
///
/// Client input is read only when the pty has taken the last of it, so a program that
/// does not read its input stops the client (back-pressure) instead of growing memory.
/// (A hang-up behind such unread input is seen only once the program reads it, or when
/// the server's idle `--timeout` or shutdown aborts this task: see [`Running`].)
async fn bridge(
    reader: &mut TelnetReader,
    writer: &mut TelnetWriter,
    mut sizes: tokio::sync::watch::Receiver<Option<WindowSize>>,
    pty_out: &mut OwnedReadPty,
    pty_in: &mut OwnedWritePty,
    child: &mut Running,
    raw_mode: bool,
) -> End {
    let mut watching_sizes = true;
    let mut filter = InputFilter::default();
    // Filtered client input; `to_pty[taken..]` is not yet accepted by the pty.
    let mut to_pty = Vec::with_capacity(CHUNK);
    let mut taken = 0;
    let mut output = vec![0; CHUNK];
    let mut exited = false;
    let mut ga_due = false;
    loop {
        let input_pending = taken < to_pty.len();
        tokio::select! {
            read = pty_out.read(&mut output) => {
                let n = match read {
                    Ok(0) => return End::Output,
                    Ok(n) => n,
                    Err(error) => {
                        // EIO: every process holding the pty has closed it.
                        if error.raw_os_error() != Some(rustix::io::Errno::IO.raw_os_error()) {
                            debug!("pty read: {error}");
                        }
                        return End::Output;
                    }
                };
                if writer.write(&output[..n]).await.is_err() {
                    return End::Client;
                }
                ga_due = !raw_mode;
            }
            // After the program exited, what the client types has no one to go to.
            read = reader.read(CHUNK), if !input_pending && !exited => {
                match read {
                    Ok(data) if !data.is_empty() => {
                        to_pty.clear();
                        taken = 0;
                        filter.filter(&data, &mut to_pty);
                    }
                    _ => return End::Client,
                }
            }
            written = pty_in.write(&to_pty[taken..]), if input_pending => {
                match written {
                    Ok(n) => taken += n,
                    Err(error) => {
                        debug!("pty write: {error}");
                        return End::Output;
                    }
                }
            }
            changed = sizes.changed(), if watching_sizes => {
                if changed.is_err() {
                    watching_sizes = false;
                    continue;
                }
                let size = *sizes.borrow_and_update();
                if let Some(size) = size {
                    let rows = if size.rows == 0 { 25 } else { size.rows };
                    let cols = if size.cols == 0 { 80 } else { size.cols };
                    debug!("window size {cols}x{rows}");
                    if let Err(error) = pty_in.resize(Size::new(rows, cols)) {
                        debug!("pty resize: {error}");
                    }
                }
            }
            status = child.wait(), if !exited => {
                exited = true;
                debug!("program exited: {status:?}");
            }
            // Once the program exited, its output is forwarded until the pty ends or
            // falls quiet (a background process may hold it open).
            () = tokio::time::sleep(DRAIN_IDLE), if exited => return End::Output,
            () = tokio::time::sleep(GA_IDLE), if ga_due => {
                ga_due = false;
                writer.send_go_ahead();
            }
        }
    }
}

/// The running program: its process, which leads its own session and process group.
///
/// If the connection's task is dropped first (the server aborts it at the idle
/// `--timeout` and at shutdown), `Drop` hangs the program's group up and hands the
/// process to a task of its own that SIGKILLs the group after [`HANGUP_GRACE`] and reaps
/// it, as a client hang-up would ([`wait_reaped`] waits for those tasks). Should that
/// task be dropped too (the runtime is going away), the group gets SIGKILL at once, and
/// `kill_on_drop` kills the leader, which tokio then reaps.
struct Running {
    /// `None` once `Drop` handed the process to a reaper task.
    child: Option<Child>,
    /// The child's pid, which is also its process group's id.
    pid: Option<Pid>,
    /// Whether this is a reaper task's: dropped, it allows no more grace.
    reaper: bool,
}

/// Reaper tasks still running (see [`Running`]), and a wake-up when one ends.
static REAPERS: AtomicUsize = AtomicUsize::new(0);
static REAPER_DONE: Notify = Notify::const_new();

/// Counts a reaper task while it lives.
struct ReaperCount;

impl ReaperCount {
    fn new() -> Self {
        REAPERS.fetch_add(1, Ordering::AcqRel);
        Self
    }
}

impl Drop for ReaperCount {
    fn drop(&mut self) {
        REAPERS.fetch_sub(1, Ordering::AcqRel);
        REAPER_DONE.notify_waiters();
    }
}

/// Wait until the programs of connections that were aborted (idle `--timeout`,
/// [`Server::close`](telnetlib3::Server::close)) have been hung up, killed if need be,
/// and reaped: at most about [`HANGUP_GRACE`] after the abort. Call it before the runtime
/// goes, which would cut the grace short.
pub async fn wait_reaped() {
    loop {
        let done = REAPER_DONE.notified();
        tokio::pin!(done);
        done.as_mut().enable();
        if REAPERS.load(Ordering::Acquire) == 0 {
            return;
        }
        done.await;
    }
}

impl Running {
    /// The program's pid, for the log.
    fn id(&self) -> u32 {
        self.child.as_ref().and_then(Child::id).unwrap_or_default()
    }

    /// Whether the program still runs (not yet reaped).
    fn running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// The program's exit, reaping it (never, once handed over).
    async fn wait(&mut self) -> io::Result<ExitStatus> {
        match self.child.as_mut() {
            Some(child) => child.wait().await,
            None => std::future::pending().await,
        }
    }

    /// SIGHUP (and SIGCONT: a stopped job acts on SIGHUP only once continued) to the
    /// program's process group, if the program is not reaped yet: until then its pid,
    /// and the group it leads, cannot belong to anyone else.
    fn hang_up(&mut self) {
        if let Some(pid) = self.pid.filter(|_| self.running()) {
            let _ = kill_process_group(pid, Signal::HUP);
            let _ = kill_process_group(pid, Signal::CONT);
        }
    }

    /// SIGKILL to the program's group (while it is not reaped) and its leader.
    fn kill(&mut self) {
        if let Some(pid) = self.pid.filter(|_| self.running()) {
            let _ = kill_process_group(pid, Signal::KILL);
        }
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
    }

    /// Reap the program. If it still runs: right away when the client hung up, else
    /// after a short grace (its output ended, so it is on its way out), hang it up, then
    /// SIGKILL its group after [`HANGUP_GRACE`].
    async fn finish(&mut self, hung_up: bool) -> Option<ExitStatus> {
        if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
            return Some(status);
        }
        if !hung_up {
            if let Ok(status) = tokio::time::timeout(DRAIN_IDLE, self.wait()).await {
                return status.ok();
            }
        }
        self.hang_up();
        self.reap_hung_up().await
    }

    /// Once hung up: [`HANGUP_GRACE`] to exit, then SIGKILL to the group; reaps.
    async fn reap_hung_up(&mut self) -> Option<ExitStatus> {
        if let Ok(status) = tokio::time::timeout(HANGUP_GRACE, self.wait()).await {
            return status.ok();
        }
        debug!("program ignored SIGHUP; killing it");
        self.kill();
        self.wait().await.ok()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if !self.running() {
            return;
        }
        if self.reaper {
            // The reaper task itself is dropped: the runtime is going away.
            self.kill();
            return;
        }
        self.hang_up();
        let reaper = Self {
            child: self.child.take(),
            pid: self.pid,
            reaper: true,
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let count = ReaperCount::new();
                runtime.spawn(async move {
                    let _count = count;
                    let mut reaper = reaper;
                    reaper.reap_hung_up().await;
                });
            }
            // No runtime to wait on: `reaper` is dropped here, and kills.
            Err(_) => drop(reaper),
        }
    }
}

/// telnetlib3's `busy_shell` for a connection over `--pty-fork-limit`: "Machine is busy,
/// do not touch! ", a line read (30 s at most), "You hear a distant explosion... ",
/// another line, then the connection closes. The lines are only logged.
pub async fn busy_shell(mut reader: TelnetReader, mut writer: TelnetWriter) {
    info!(
        "busy_shell: connection from {} (limit reached)",
        writer.peer()
    );
    const LINE_WAIT: Duration = Duration::from_secs(30);
    // At most this much of a line is logged (telnetlib3's `_MAX_INPUT`): a client over
    // the limit must not cost more log than that.
    const LOGGED: usize = 2048;
    let shown = |line: &[u8]| {
        String::from_utf8_lossy(&line[..line.len().min(LOGGED)])
            .trim_end()
            .to_string()
    };
    let _ = writer.write(b"Machine is busy, do not touch! ").await;
    if let Ok(Ok(line)) = tokio::time::timeout(LINE_WAIT, reader.read_line()).await {
        info!("busy_shell: input1={:?}", shown(&line));
    }
    let _ = writer.write(b"\r\nYou hear a distant explosion... ").await;
    if let Ok(Ok(line)) = tokio::time::timeout(LINE_WAIT, reader.read_line()).await {
        info!("busy_shell: input2={:?}", shown(&line));
    }
    let _ = writer.write(b"\r\n").await;
    writer.close().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use telnetlib3::proto::options::environ::Kind;

    fn var(name: &str, value: &[u8]) -> Variable {
        Variable {
            kind: Kind::Var,
            name: name.as_bytes().to_vec(),
            value: Some(value.to_vec()),
        }
    }

    fn server(name: &str) -> Option<OsString> {
        match name {
            "PATH" => Some("/bin".into()),
            "HOME" => Some("/home/srv".into()),
            "LD_PRELOAD" => Some("/evil.so".into()),
            _ => None,
        }
    }

    fn render(env: &[(OsString, OsString)]) -> Vec<String> {
        env.iter()
            .map(|(n, v)| format!("{}={}", n.to_string_lossy(), v.to_string_lossy()))
            .collect()
    }

    #[test]
    fn only_allowed_and_valid_client_variables_arrive() {
        let negotiated = Negotiated {
            term: Some("XTERM-256color".into()),
            size: (100, 30),
            charset: Some("UTF-8".into()),
            environ: vec![
                var("LD_PRELOAD", b"/tmp/x"),
                var("USER", b"-f root"),
                var("PATH", b"/tmp"),
                var("HOME", b"/tmp"),
                var("IFS", b"x"),
                var("BASH_ENV", b"/tmp/x"),
                var("LANG", b"de_DE.UTF-8"),
                var("COLORTERM", b"truecolor"),
                var("LC_TIME", b"C"),
                var("LC_time", b"C"),
                var("DISPLAY", b"a\x1b]0;x\x07"),
                var("TZ", b"../../etc/shadow"),
                var("TERM", b"vt100"),
                var("COLORTERM", b"second"),
                var("LC_ALL", &[b'x'; MAX_VALUE_LEN + 1]),
            ],
        };
        assert_eq!(
            render(&environment(server, &negotiated)),
            [
                "PATH=/bin",
                "HOME=/home/srv",
                "TERM=xterm-256color",
                "LINES=30",
                "COLUMNS=100",
                "LANG=de_DE.UTF-8",
                "COLORTERM=truecolor",
                "LC_TIME=C",
            ]
        );
    }

    #[test]
    fn locale_variables_must_be_locale_names_not_paths() {
        // glibc loads a locale named by an absolute path from that directory: a client
        // must not point the program at files of its choosing.
        let negotiated = Negotiated {
            size: (80, 25),
            charset: Some("UTF-8".into()),
            environ: vec![
                var("LANG", b"/tmp/evil@x"),
                var("LC_ALL", b"/tmp/evil"),
                var("LC_CTYPE", b"de_DE.UTF-8@euro"),
                var("LC_TIME", b"x@y z"),
            ],
            ..Negotiated::default()
        };
        let env = render(&environment(|_| None, &negotiated));
        assert!(env.contains(&"LANG=en_US.UTF-8".into()), "{env:?}");
        assert!(env.contains(&"LC_CTYPE=de_DE.UTF-8@euro".into()), "{env:?}");
        assert!(
            !env.iter().any(|line| line.starts_with("LC_ALL=")),
            "{env:?}"
        );
        assert!(
            !env.iter().any(|line| line.starts_with("LC_TIME=")),
            "{env:?}"
        );
        let negotiated = Negotiated {
            environ: vec![var("LANG", b"sr_RS.UTF-8@latin")],
            ..negotiated
        };
        let env = render(&environment(|_| None, &negotiated));
        assert!(env.contains(&"LANG=sr_RS.UTF-8@latin".into()), "{env:?}");
    }

    #[test]
    fn term_falls_back_and_vt100_becomes_ansi() {
        let mut negotiated = Negotiated {
            size: (80, 25),
            ..Negotiated::default()
        };
        let term = |n: &Negotiated| {
            render(&environment(|_| None, n))
                .into_iter()
                .find(|line| line.starts_with("TERM="))
                .unwrap()
        };
        assert_eq!(term(&negotiated), "TERM=unknown");
        negotiated.environ = vec![var("TERM", b"VT100")];
        assert_eq!(term(&negotiated), "TERM=ansi");
        negotiated.term = Some("bad term\x1b".into());
        assert_eq!(term(&negotiated), "TERM=unknown");
        negotiated.charset = Some("latin1".into());
        assert!(render(&environment(|_| None, &negotiated)).contains(&"LANG=en_US.latin1".into()));
        assert!(render(&environment(|_| None, &negotiated))
            .contains(&"PATH=/usr/local/bin:/usr/bin:/bin".into()));
    }

    #[test]
    fn enter_becomes_one_cr_and_del_becomes_backspace() {
        let mut filter = InputFilter::default();
        let mut out = Vec::new();
        filter.filter(b"echo hi\r\nls\r\0x\x7f\r", &mut out);
        filter.filter(b"\n\n", &mut out);
        assert_eq!(out, b"echo hi\rls\rx\x08\r\n");
    }

    #[test]
    fn start_up_check_names_the_reason() {
        assert!(check_program("sh").is_ok());
        assert!(check_program("/bin/sh").is_ok());
        assert_eq!(
            check_program("/nonexistent").unwrap_err().to_string(),
            "cannot run /nonexistent: No such file or directory"
        );
        assert_eq!(
            check_program("/").unwrap_err().to_string(),
            "cannot run /: Is a directory"
        );
        assert_eq!(
            check_program("no-such-program-here")
                .unwrap_err()
                .to_string(),
            "cannot run no-such-program-here: not found in PATH"
        );
    }
}
