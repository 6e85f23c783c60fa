//! `--pty-exec`: each connection runs a program on a pseudo-terminal of its own, after
//! telnetlib3's `server_pty_shell.py`, and `--pty-fork-limit`'s busy shell, after its
//! `guard_shells.py`.
//!
//! The program is a session leader with the pty as its controlling terminal. The
//! client's data goes to the pty master (Enter as CR, Backspace as DEL: [`InputFilter`]),
//! the pty's output goes to the client through the [`TelnetWriter`] (IAC doubling and NVT
//! end-of-line there). The pty starts at the client's NAWS size and follows every new
//! NAWS report (`TIOCSWINSZ`, which signals `SIGWINCH` to the foreground process group).
//!
//! The pty starts cooked, as telnetd's does (`set_modes`): it edits lines and turns
//! `^C`, `^\`, `^Z` into signals; the program may change that (a shell with line editing,
//! a full-screen program). It echoes exactly while the server has ECHO enabled: a server
//! that says WILL ECHO echoes (RFC 857), and one that does not leaves it to the client,
//! whose local echo must not be doubled. The echo follows the option when the client
//! agrees or refuses later.
//!
//! The RFC 854 and RFC 1184 commands a terminal has keys for reach the program as those
//! keys (`control_character`): `IAC IP` (and `IAC BRK`) as the pty's interrupt
//! character, so the foreground job gets SIGINT as it would from a terminal.
//!
//! The child's environment is built, not inherited ([`environment`]): a few variables of
//! the server (PATH, HOME, USER, SHELL, LOGNAME), TERM from TTYPE, LINES and COLUMNS from
//! NAWS, LANG from NEW-ENVIRON or CHARSET (else the [`EnvDefaults`]), and only the
//! allow-listed, validated client variables of [`CLIENT_VARIABLES`]. No client value ever
//! becomes an argument.
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
use std::time::Duration;

use pty_process::{OwnedReadPty, OwnedWritePty, Size};
use rustix::process::Pid;
use rustix::termios::{
    self, InputModes, LocalModes, OptionalActions, OutputModes, SpecialCodeIndex, Termios,
};
use telnetlib3::proto::options::environ::Variable;
use telnetlib3::proto::options::naws::WindowSize;
use telnetlib3::proto::{Command, TelnetOption};
use telnetlib3::{PeerCommands, TelnetReader, TelnetWriter};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tracing::{debug, info, warn};

/// The name in the one-line message a client gets when its program cannot start.
const PROGRAM_NAME: &str = "telnetlib3-server";

pub use crate::process::{wait_reaped, HANGUP_GRACE};
use crate::process::{Running, DRAIN_IDLE};

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
    /// `--line-mode`: the client stays in NVT line mode and echoes (the server withdraws
    /// WILL ECHO), and `IAC GA` follows the program's prompts. Otherwise the server keeps
    /// WILL ECHO and the pty echoes. The pty is cooked either way.
    pub line_mode: bool,
    /// TERM and LANG when the client gives none.
    pub defaults: EnvDefaults,
}

/// The program's TERM and LANG when the client reports none (`--default-term`,
/// `--default-lang`): never `unknown` or empty, which leave programs without terminfo or
/// in the C locale.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvDefaults {
    /// TERM for a client that refuses TTYPE and sends no TERM.
    pub term: String,
    /// LANG for a client that sends no LANG and agrees no CHARSET.
    pub lang: String,
}

impl Default for EnvDefaults {
    /// [`cli::DEFAULT_TERM`](crate::cli::DEFAULT_TERM) and
    /// [`cli::DEFAULT_LANG`](crate::cli::DEFAULT_LANG).
    fn default() -> Self {
        Self {
            term: crate::cli::DEFAULT_TERM.to_string(),
            lang: crate::cli::DEFAULT_LANG.to_string(),
        }
    }
}

/// The one-line description of an OS error, without Rust's ` (os error N)`.
pub(crate) fn describe(error: &io::Error) -> String {
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

use crate::cli::{valid_locale, valid_token};

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
    /// The client's address (the one a PROXY header named, behind a load balancer).
    pub client_address: Option<std::net::IpAddr>,
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
            client_address: client_address(writer.peer()),
        }
    }
}

/// The address in a connection's name (`127.0.0.5 40000`, as [`TelnetWriter::peer`]
/// gives it).
fn client_address(peer: &str) -> Option<std::net::IpAddr> {
    peer.split(' ').next()?.parse().ok()
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
///   else the client's valid TERM variable, else `defaults.term`;
/// - LINES and COLUMNS from NAWS;
/// - LANG from the client's LANG variable, else `en_US.CHARSET` from CHARSET, else
///   `defaults.lang`;
/// - the client's other variables on [`CLIENT_VARIABLES`] or named `LC_*`, with valid
///   values (locale names for LANG and `LC_*`, never paths); the first of each name wins;
/// - REMOTEHOST: the client's address, as login(1) records it from telnetd's `-h` (the
///   address a PROXY header named, behind a load balancer), set before the client's
///   variables so that none can replace it.
pub fn environment(
    server: impl Fn(&str) -> Option<OsString>,
    negotiated: &Negotiated,
    defaults: &EnvDefaults,
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
            || defaults.term.clone(),
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
        })
        .unwrap_or_else(|| defaults.lang.clone());
    set(&mut env, "LANG", lang.into());
    if let Some(address) = negotiated.client_address {
        set(&mut env, "REMOTEHOST", address.to_string().into());
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
/// a Telnet client, RFC 854) as a lone CR, which the pty's ICRNL makes one newline
/// (passing the LF too would end every line twice), and Backspace as DEL, the pty's
/// erase character. Clients send DEL (plink, BSD telnet in xterm or tmux) or `^H`
/// (telnetlib3 maps the other way, DEL to `^H`); DEL is what a terminal of the TERM the
/// program gets sends (`kbs=^?` in xterm's terminfo), so `^H` becomes DEL.
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
            out.push(if byte == BS { ERASE } else { byte });
        }
    }
}

/// The pty's erase character (VERASE), and what [`InputFilter`] makes of `^H`.
const ERASE: u8 = 0x7f;
/// Backspace as some clients send it.
const BS: u8 = 0x08;

/// `modes` made cooked, as a pty under telnetd starts (Linux's and BSD's default
/// terminal modes, set here rather than assumed): lines edited (ICANON, with ECHOE and
/// ECHOK echoing the erasure), signals from the keyboard (ISIG), CR in as newline (ICRNL),
/// newline out as CR LF (ONLCR), the usual control characters, and IUTF8 when the
/// program's locale is UTF-8, so that an erase takes a whole character. ECHO is `echo`.
fn cooked(modes: &mut Termios, echo: bool, utf8: bool) {
    modes.local_modes |= LocalModes::ICANON
        | LocalModes::ISIG
        | LocalModes::IEXTEN
        | LocalModes::ECHOE
        | LocalModes::ECHOK
        | LocalModes::ECHOCTL
        | LocalModes::ECHOKE;
    modes.local_modes.set(LocalModes::ECHO, echo);
    modes.input_modes |= InputModes::ICRNL;
    modes
        .input_modes
        .remove(InputModes::INLCR | InputModes::IGNCR);
    #[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple"))]
    modes.input_modes.set(InputModes::IUTF8, utf8);
    #[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
    let _ = utf8;
    modes.output_modes |= OutputModes::OPOST | OutputModes::ONLCR;
    let codes = &mut modes.special_codes;
    for (index, code) in [
        (SpecialCodeIndex::VINTR, 0x03),    // ^C
        (SpecialCodeIndex::VQUIT, 0x1c),    // ^\
        (SpecialCodeIndex::VERASE, ERASE),  // DEL
        (SpecialCodeIndex::VKILL, 0x15),    // ^U
        (SpecialCodeIndex::VEOF, 0x04),     // ^D
        (SpecialCodeIndex::VSUSP, 0x1a),    // ^Z
        (SpecialCodeIndex::VWERASE, 0x17),  // ^W
        (SpecialCodeIndex::VREPRINT, 0x12), // ^R
        (SpecialCodeIndex::VLNEXT, 0x16),   // ^V
        (SpecialCodeIndex::VSTART, 0x11),   // ^Q
        (SpecialCodeIndex::VSTOP, 0x13),    // ^S
        (SpecialCodeIndex::VMIN, 1),
        (SpecialCodeIndex::VTIME, 0),
    ] {
        codes[index] = code;
    }
}

/// Set the pty's modes before the program starts: [`cooked`], echoing if the server has
/// ECHO enabled.
fn set_modes(pts: &pty_process::Pts, echo: bool, utf8: bool) -> rustix::io::Result<()> {
    let mut modes = termios::tcgetattr(pts)?;
    cooked(&mut modes, echo, utf8);
    termios::tcsetattr(pts, OptionalActions::Now, &modes)
}

/// Turn the pty's ECHO on or off through the master (a terminal's modes are the slave's,
/// which the master's `tcsetattr` sets), leaving every other mode as the program set it.
fn set_echo(master: &std::os::fd::OwnedFd, echo: bool) -> rustix::io::Result<()> {
    let mut modes = termios::tcgetattr(master)?;
    if modes.local_modes.contains(LocalModes::ECHO) != echo {
        modes.local_modes.set(LocalModes::ECHO, echo);
        termios::tcsetattr(master, OptionalActions::Now, &modes)?;
    }
    Ok(())
}

/// The next command from the client, or `None` once they end (never, without them).
async fn next_command(commands: &mut Option<PeerCommands>) -> Option<Command> {
    match commands {
        Some(commands) => commands.recv().await,
        None => std::future::pending().await,
    }
}

/// The character a client's command becomes on the pty, as telnetd writes it: the key a
/// terminal has for it, as the program's current modes (`modes`, else the defaults of
/// [`cooked`]) define it; `None` for a command with no key, or a key the program
/// disabled.
///
/// - `IAC IP` (RFC 854 Interrupt Process) and `IAC BRK` (Break, which RFC 854 leaves to
///   the system: an interrupt here): VINTR, `^C`;
/// - `IAC ABORT` (RFC 1184 Abort): VQUIT, `^\`; `IAC SUSP`: VSUSP, `^Z`; `IAC EOF`:
///   VEOF, `^D`;
/// - `IAC EC` and `IAC EL` (RFC 854 Erase Character, Erase Line): VERASE and VKILL.
///
/// AO needs nothing from the pty: the connection already discarded the queued output and
/// sent the Synch.
fn control_character(command: Command, modes: Option<&Termios>) -> Option<u8> {
    let (index, default) = match command {
        Command::Ip | Command::Brk => (SpecialCodeIndex::VINTR, 0x03),
        Command::Abort => (SpecialCodeIndex::VQUIT, 0x1c),
        Command::Susp => (SpecialCodeIndex::VSUSP, 0x1a),
        Command::Eof => (SpecialCodeIndex::VEOF, 0x04),
        Command::Ec => (SpecialCodeIndex::VERASE, ERASE),
        Command::El => (SpecialCodeIndex::VKILL, 0x15),
        _ => return None,
    };
    // POSIX's _POSIX_VDISABLE is 0 on Linux; BSD and macOS use 0xff (also no key here).
    let byte = modes.map_or(default, |modes| modes.special_codes[index]);
    (byte != 0 && byte != 0xff).then_some(byte)
}

/// The pty as [`bridge`] moves data through it.
struct Bridged<'a> {
    /// The master's output (the program's).
    output: &'a mut OwnedReadPty,
    /// The master's input (what the program reads).
    input: &'a mut OwnedWritePty,
    /// The master again, for the pty's modes, if it could be duplicated.
    master: Option<&'a std::os::fd::OwnedFd>,
    /// Whether the server had ECHO when the pty's echo was last set to it.
    echo: bool,
    /// The client's commands (IP, BRK, ...), until the connection ends.
    commands: Option<PeerCommands>,
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
    if program.line_mode && writer.local_enabled(TelnetOption::Echo) {
        // Line mode: the client echoes (telnetlib3 sends WONT ECHO), the pty does not.
        let _ = writer.with_session(|s| s.request_local(TelnetOption::Echo, false));
    }
    // The server echoes, through the pty, exactly while it has ECHO (RFC 857).
    let echo = !program.line_mode && writer.local_enabled(TelnetOption::Echo);
    // Watch before reading the size the program starts with, so that a NAWS arriving in
    // between is not lost (at worst the pty is resized to the size it already has).
    let sizes = writer.watch_window_size();
    // Likewise the commands: an interrupt sent while the program starts is kept for it.
    let commands = reader.commands();
    let negotiated = Negotiated::from_writer(&writer);
    let env = environment(
        |name| std::env::var_os(name),
        &negotiated,
        &program.defaults,
    );
    let (cols, rows) = negotiated.size;
    let spawned = spawn(program, env, cols, rows, echo);
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
    // A second descriptor of the master, for the pty's modes (the split halves offer
    // none); closed with them.
    let master = std::os::fd::AsFd::as_fd(&pty)
        .try_clone_to_owned()
        .inspect_err(|error| debug!("pty dup: {error}"))
        .ok();
    let (mut pty_out, mut pty_in) = pty.into_split();
    let mut pty = Bridged {
        output: &mut pty_out,
        input: &mut pty_in,
        master: master.as_ref(),
        echo,
        commands: Some(commands),
    };
    let end = bridge(
        &mut reader,
        &mut writer,
        sizes,
        &mut pty,
        &mut running,
        program.line_mode,
    )
    .await;
    // Closing the master hangs up the pty: the session gets SIGHUP from the kernel too.
    drop(pty_out);
    drop(pty_in);
    drop(master);
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
    echo: bool,
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
    // Erasing a whole character needs to know the program's encoding.
    let utf8 = env.iter().any(|(name, value)| {
        let value = value.to_string_lossy().to_ascii_lowercase();
        name == "LANG" && (value.contains("utf-8") || value.contains("utf8"))
    });
    set_modes(&pts, echo, utf8).map_err(|errno| PtyError::Pty(errno.to_string()))?;
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
    let running = Running::new(child, pid);
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
    pty: &mut Bridged<'_>,
    child: &mut Running,
    line_mode: bool,
) -> End {
    let Bridged {
        output: pty_out,
        input: pty_in,
        master,
        echo,
        commands,
    } = pty;
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
                ga_due = line_mode;
            }
            // After the program exited, what the client types has no one to go to.
            read = reader.read(CHUNK), if !input_pending && !exited => {
                match read {
                    Ok(data) if !data.is_empty() => {
                        // Before the pty takes the data that followed it: the ECHO
                        // option changed (the client agreed or refused; RFC 857).
                        let now = writer.local_enabled(TelnetOption::Echo);
                        if now != *echo {
                            *echo = now;
                            debug!("ECHO {}: pty echo follows", if now { "on" } else { "off" });
                            if let Some(Err(error)) = master.map(|fd| set_echo(fd, now)) {
                                debug!("pty echo: {error}");
                            }
                        }
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
            command = next_command(commands), if commands.is_some() && !exited => {
                let Some(command) = command else {
                    *commands = None;
                    continue;
                };
                let modes = master.and_then(|fd| termios::tcgetattr(fd).ok());
                if let Some(byte) = control_character(command, modes.as_ref()) {
                    debug!("{command:?}: {byte:#04x} to the pty");
                    // Ahead of input the pty has not taken yet: an interrupt does not
                    // wait behind type-ahead (which the pty discards on it, unless
                    // NOFLSH).
                    to_pty.drain(..taken);
                    taken = 0;
                    to_pty.insert(0, byte);
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
                var("REMOTEHOST", b"10.9.9.9"),
            ],
            client_address: Some("127.0.0.5".parse().unwrap()),
        };
        assert_eq!(
            render(&environment(server, &negotiated, &EnvDefaults::default())),
            [
                "PATH=/bin",
                "HOME=/home/srv",
                "TERM=xterm-256color",
                "LINES=30",
                "COLUMNS=100",
                "LANG=de_DE.UTF-8",
                "REMOTEHOST=127.0.0.5",
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
        let env = render(&environment(|_| None, &negotiated, &EnvDefaults::default()));
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
        let env = render(&environment(|_| None, &negotiated, &EnvDefaults::default()));
        assert!(env.contains(&"LANG=sr_RS.UTF-8@latin".into()), "{env:?}");
    }

    #[test]
    fn term_falls_back_and_vt100_becomes_ansi() {
        let mut negotiated = Negotiated {
            size: (80, 25),
            ..Negotiated::default()
        };
        let term = |n: &Negotiated| {
            render(&environment(|_| None, n, &EnvDefaults::default()))
                .into_iter()
                .find(|line| line.starts_with("TERM="))
                .unwrap()
        };
        // No terminal type: telnetlib3's xterm, never `unknown`.
        assert_eq!(term(&negotiated), "TERM=xterm");
        negotiated.environ = vec![var("TERM", b"VT100")];
        assert_eq!(term(&negotiated), "TERM=ansi");
        negotiated.term = Some("bad term\x1b".into());
        assert_eq!(term(&negotiated), "TERM=xterm");
        negotiated.charset = Some("latin1".into());
        assert!(
            render(&environment(|_| None, &negotiated, &EnvDefaults::default()))
                .contains(&"LANG=en_US.latin1".into())
        );
        assert!(
            render(&environment(|_| None, &negotiated, &EnvDefaults::default()))
                .contains(&"PATH=/usr/local/bin:/usr/bin:/bin".into())
        );
    }

    #[test]
    fn no_lang_gets_the_default_and_the_defaults_are_configurable() {
        let lang_and_term = |n: &Negotiated, defaults: &EnvDefaults| {
            render(&environment(|_| None, n, defaults))
                .into_iter()
                .filter(|line| line.starts_with("LANG=") || line.starts_with("TERM="))
                .collect::<Vec<_>>()
        };
        let mut negotiated = Negotiated {
            size: (80, 25),
            ..Negotiated::default()
        };
        assert_eq!(
            lang_and_term(&negotiated, &EnvDefaults::default()),
            ["TERM=xterm", "LANG=en_US.UTF-8"]
        );
        let mine = EnvDefaults {
            term: "vt220".into(),
            lang: "C.UTF-8".into(),
        };
        assert_eq!(
            lang_and_term(&negotiated, &mine),
            ["TERM=vt220", "LANG=C.UTF-8"]
        );
        // An empty or invalid LANG from the client is no LANG: the default, never empty.
        negotiated.environ = vec![var("LANG", b""), var("TERM", b"")];
        assert_eq!(
            lang_and_term(&negotiated, &mine),
            ["TERM=vt220", "LANG=C.UTF-8"]
        );
        // What the client says wins over the defaults.
        negotiated.term = Some("rxvt".into());
        negotiated.charset = Some("latin1".into());
        assert_eq!(
            lang_and_term(&negotiated, &mine),
            ["TERM=rxvt", "LANG=en_US.latin1"]
        );
    }

    #[test]
    fn enter_becomes_one_cr_and_backspace_becomes_del() {
        let mut filter = InputFilter::default();
        let mut out = Vec::new();
        filter.filter(b"echo hi\r\nls\r\0x\x7fy\x08\r", &mut out);
        filter.filter(b"\n\n\x03\x04\x1a", &mut out);
        // ^C, ^D and ^Z pass as typed: the pty's VINTR, VEOF and VSUSP.
        assert_eq!(out, b"echo hi\rls\rx\x7fy\x7f\r\n\x03\x04\x1a");
    }

    // pty-process opens the master on tokio's reactor.
    #[tokio::test]
    async fn the_pty_starts_cooked_with_the_usual_control_characters() {
        let (_pty, pts) = pty_process::open().unwrap();
        // Start from a raw terminal: nothing is left to the system's defaults.
        let mut modes = termios::tcgetattr(&pts).unwrap();
        modes.make_raw();
        termios::tcsetattr(&pts, OptionalActions::Now, &modes).unwrap();
        set_modes(&pts, true, true).unwrap();
        let modes = termios::tcgetattr(&pts).unwrap();
        for mode in [
            LocalModes::ICANON,
            LocalModes::ECHO,
            LocalModes::ECHOE,
            LocalModes::ECHOK,
            LocalModes::ISIG,
            LocalModes::IEXTEN,
        ] {
            assert!(modes.local_modes.contains(mode), "{mode:?}");
        }
        assert!(modes.input_modes.contains(InputModes::ICRNL));
        assert!(modes
            .output_modes
            .contains(OutputModes::OPOST | OutputModes::ONLCR));
        let code = |index| modes.special_codes[index];
        assert_eq!(code(SpecialCodeIndex::VINTR), 0x03);
        assert_eq!(code(SpecialCodeIndex::VERASE), 0x7f);
        assert_eq!(code(SpecialCodeIndex::VKILL), 0x15);
        assert_eq!(code(SpecialCodeIndex::VEOF), 0x04);
        assert_eq!(code(SpecialCodeIndex::VSUSP), 0x1a);
        assert_eq!(code(SpecialCodeIndex::VMIN), 1);
        // Without the server's ECHO: cooked, but the client echoes.
        set_modes(&pts, false, false).unwrap();
        let modes = termios::tcgetattr(&pts).unwrap();
        assert!(!modes.local_modes.contains(LocalModes::ECHO));
        assert!(modes.local_modes.contains(LocalModes::ICANON));
    }

    // pty-process opens the master on tokio's reactor.
    #[tokio::test]
    async fn the_echo_is_set_through_the_master_and_nothing_else_changes() {
        use std::os::fd::AsFd;
        let (pty, pts) = pty_process::open().unwrap();
        set_modes(&pts, true, false).unwrap();
        // The program turned ICANON off; the server's ECHO goes: only ECHO changes.
        let mut modes = termios::tcgetattr(&pts).unwrap();
        modes.local_modes.remove(LocalModes::ICANON);
        termios::tcsetattr(&pts, OptionalActions::Now, &modes).unwrap();
        let master = pty.as_fd().try_clone_to_owned().unwrap();
        set_echo(&master, false).unwrap();
        let now = termios::tcgetattr(&pts).unwrap();
        assert!(!now.local_modes.contains(LocalModes::ECHO));
        assert!(!now.local_modes.contains(LocalModes::ICANON));
        set_echo(&master, true).unwrap();
        assert!(termios::tcgetattr(&pts)
            .unwrap()
            .local_modes
            .contains(LocalModes::ECHO));
    }

    #[test]
    fn commands_become_the_keys_of_the_programs_terminal() {
        assert_eq!(control_character(Command::Ip, None), Some(0x03));
        assert_eq!(control_character(Command::Brk, None), Some(0x03));
        assert_eq!(control_character(Command::Abort, None), Some(0x1c));
        assert_eq!(control_character(Command::Susp, None), Some(0x1a));
        assert_eq!(control_character(Command::Eof, None), Some(0x04));
        assert_eq!(control_character(Command::Ec, None), Some(0x7f));
        assert_eq!(control_character(Command::El, None), Some(0x15));
        assert_eq!(control_character(Command::Ao, None), None);
        assert_eq!(control_character(Command::Nop, None), None);
    }

    // pty-process opens the master on tokio's reactor.
    #[tokio::test]
    async fn commands_follow_the_keys_the_program_set() {
        let (_pty, pts) = pty_process::open().unwrap();
        set_modes(&pts, true, true).unwrap();
        let mut modes = termios::tcgetattr(&pts).unwrap();
        // `stty intr ^G susp undef`.
        modes.special_codes[SpecialCodeIndex::VINTR] = 0x07;
        modes.special_codes[SpecialCodeIndex::VSUSP] = 0;
        assert_eq!(control_character(Command::Ip, Some(&modes)), Some(0x07));
        assert_eq!(control_character(Command::Susp, Some(&modes)), None);
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
