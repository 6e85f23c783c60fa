//! The interactive client on a Unix terminal ([`interactive`]): the terminal follows
//! the server's negotiation (raw, the terminal's line editing, or LINEMODE's with the
//! server's SLC keys), the window size follows SIGWINCH, signals end the session or, under
//! LINEMODE TRAPSIG, go to the server as commands, and the escape key opens BSD telnet's
//! `telnet> ` prompt ([`crate::escape`]).

use std::io;
use std::sync::Arc;

use telnetlib3::proto::options::linemode::{SlcFlags, SlcFunction};
use telnetlib3::proto::options::naws::WindowSize;
use telnetlib3::proto::Command;
use telnetlib3::{TelnetReader, TelnetWriter};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{mpsc, Notify};
use tracing::debug;

use crate::client::{
    client_binary, decide_mode, deliver, server_binary, stdin_chunks, Ending, Forced, Input,
    InputMode, Interaction, Output, PumpError, READ_SIZE,
};
use crate::escape::{self, EscapeCommand, StatusDetails};
use crate::retro;
use crate::terminal::{self, Terminal, TerminalMode};

/// Under LINEMODE with TRAPSIG, a signal key the terminal turned into a signal goes to
/// the server as its Telnet command (RFC 1184 section 2.2: IP, ABORT, SUSP), with a
/// Synch after it when the SLC entry asks for FLUSHIN (as BSD telnet's `sendsusp` and
/// `intp`). Returns whether the signal was taken so.
fn trap_signal(writer: &mut TelnetWriter, mode: InputMode, function: SlcFunction) -> bool {
    let TerminalMode::Edit(chars) = mode.terminal else {
        return false;
    };
    if !chars.trapsig {
        return false;
    }
    let command = match function {
        SlcFunction::Ip => Command::Ip,
        SlcFunction::Abort => Command::Abort,
        _ => Command::Susp,
    };
    let flush_input = writer.with_session(|session| {
        session
            .slc_table()
            .get(function)
            .flags
            .contains(SlcFlags::FLUSHIN)
    });
    debug!("LINEMODE TRAPSIG: {command:?}");
    writer.send_command(command);
    if flush_input {
        writer.send_synch();
    }
    true
}

/// The local echo of typed bytes, as telnetlib3's `_send_stdin`: DEL and BS rub out, CR
/// starts a line, other control characters are not shown.
fn echo_bytes(input: &[u8]) -> Vec<u8> {
    let mut echo = Vec::with_capacity(input.len());
    for &byte in input {
        match byte {
            0x7f | 0x08 => echo.extend_from_slice(b"\x08 \x08"),
            b'\r' => echo.extend_from_slice(b"\r\n"),
            0x20.. => echo.push(byte),
            _ => {}
        }
    }
    echo
}

/// The most keyboard input held while the server does not take it (a paste); then
/// standard input is not read until it drains.
const UNSENT_MAX: usize = 64 * 1024;

/// Signals that end an interactive session (the terminal is restored on the way out).
struct Signals {
    interrupt: tokio::signal::unix::Signal,
    /// ^\ in line mode (ISIG): its default action would leave the terminal as set.
    quit: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
    /// ^Z in line mode (ISIG).
    suspend: tokio::signal::unix::Signal,
    hangup: tokio::signal::unix::Signal,
    window: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> io::Result<Self> {
        Ok(Self {
            interrupt: signal(SignalKind::interrupt())?,
            quit: signal(SignalKind::quit())?,
            terminate: signal(SignalKind::terminate())?,
            suspend: signal(SignalKind::from_raw(rustix::process::Signal::TSTP.as_raw()))?,
            hangup: signal(SignalKind::hangup())?,
            window: signal(SignalKind::window_change())?,
        })
    }
}

/// Send our window size with NAWS if it changed (if NAWS is not agreed, it is remembered
/// for later); returns the new size if it changed.
fn send_window_size(writer: &TelnetWriter) -> Option<(u16, u16)> {
    let (cols, rows) = terminal::window_size();
    let size = WindowSize { cols, rows };
    writer.with_session(|session| {
        if session.config().naws.size == size {
            return None;
        }
        debug!("window size {cols}x{rows}");
        session.set_window_size(size);
        Some((cols, rows))
    })
}

/// SIGTSTP's job, done so that the terminal is not left in our mode: put the user's
/// settings back, stop, and once continued (`fg`) set our mode again (the shell may have
/// set its own meanwhile).
fn suspend(terminal: &mut Terminal, mode: InputMode) -> Result<(), PumpError> {
    terminal.restore();
    // SIGSTOP to ourselves is delivered before `kill` returns: this returns once continued.
    let _ = rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::STOP);
    terminal.set(mode.terminal).map_err(PumpError::Terminal)
}

/// Put the terminal in the mode the negotiation now asks for, if it changed.
fn follow(
    writer: &TelnetWriter,
    terminal: &mut Terminal,
    forced: Option<Forced>,
    mode: &mut InputMode,
) -> Result<(), PumpError> {
    let wanted = writer.with_session(|s| decide_mode(s, forced));
    if wanted != *mode {
        debug!("terminal mode {mode:?} -> {wanted:?}");
        *mode = wanted;
        terminal.set(mode.terminal).map_err(PumpError::Terminal)?;
    }
    Ok(())
}

/// The interactive session on `terminal` (standard input): the banner, then keyboard to
/// server and server to standard output until one of the [`Ending`]s, whose message is
/// printed. The escape character opens the `telnet> ` prompt ([`crate::escape`]), where
/// `close` or `quit` (or end of file) ends the session with [`Ending::Escape`]. `changes` is notified on every option change (from the connection's event
/// hook), so that the terminal mode follows the server at once. The terminal is restored
/// before returning, and by `terminal`'s `Drop` on any other way out.
///
/// # Errors
///
/// As [`pump`](crate::client::pump), and [`PumpError::Terminal`].
#[allow(clippy::too_many_arguments)]
pub async fn interactive(
    reader: &mut TelnetReader,
    writer: &mut TelnetWriter,
    terminal: &mut Terminal,
    mut interaction: Interaction,
    changes: Arc<Notify>,
    filter: &mut Output,
    encode: &mut Input,
) -> Result<Ending, PumpError> {
    let mut signals = Signals::new().map_err(PumpError::Terminal)?;
    let mut stdout = io::stdout();
    let mut input = stdin_chunks();
    let mut input_open = true;
    terminal
        .set_escape(interaction.escape)
        .map_err(PumpError::Terminal)?;
    let banner = match interaction.escape {
        Some(escape) => format!(
            "Escape character is '{}'.\r\n",
            escape::show_escape(Some(escape))
        ),
        None => "No escape character.\r\n".to_string(),
    };
    deliver(&mut stdout, banner.as_bytes())?;
    // The size may have changed since it was measured for the configuration (before
    // SIGWINCH was watched).
    send_window_size(writer);
    let mut mode = writer.with_session(|s| decide_mode(s, interaction.forced));
    terminal.set(mode.terminal).map_err(PumpError::Terminal)?;
    // Keyboard input encoded and not yet taken by the writer, and whether a LINEMODE EOF
    // key follows it: sent as the connection takes it, while the server's output is
    // still read and signals and the escape key still handled (a paste to a server that
    // does not read must not wedge the session). Up to UNSENT_MAX of it, then no more
    // keyboard input is read until it shrinks.
    let mut unsent: Vec<u8> = Vec::new();
    let mut eof_after = false;
    let ending = loop {
        let ending = tokio::select! {
            taken = std::future::poll_fn(|cx| writer.poll_write_complete(cx, &unsent)),
                if !unsent.is_empty() => {
                unsent.drain(..taken?);
                if unsent.is_empty() {
                    if unsent.capacity() > READ_SIZE {
                        unsent = Vec::new();
                    }
                    if std::mem::take(&mut eof_after) {
                        writer.send_command(Command::Eof);
                    }
                }
                None
            }
            read = reader.read(READ_SIZE) => {
                let data = read?;
                if data.is_empty() {
                    deliver(&mut stdout, &filter.finish(server_binary(writer))?)?;
                    break Ending::ServerClosed;
                }
                let data = filter.process(&data, server_binary(writer))?;
                if !deliver(&mut stdout, &data)? {
                    break Ending::OutputClosed;
                }
                None
            }
            chunk = input.recv(), if input_open && unsent.len() < UNSENT_MAX && !eof_after => match chunk {
                Some(data) => {
                    // An option change ready at the same moment applies to this input.
                    follow(writer, terminal, interaction.forced, &mut mode)?;
                    // As telnetlib3: the read holding the escape is not sent (in line
                    // mode it is an unfinished line).
                    if interaction.escape.is_some_and(|escape| memchr::memchr(escape, &data).is_some()) {
                        let prompted =
                            command_prompt(writer, terminal, &mut input, &mut stdout, &mut interaction)
                                .await?;
                        if prompted == Prompted::Close {
                            break Ending::Escape;
                        }
                        // Back to the session, in the mode it asks for (or `mode` set).
                        mode = writer.with_session(|s| decide_mode(s, interaction.forced));
                        terminal.set(mode.terminal).map_err(PumpError::Terminal)?;
                        continue;
                    }
                    if mode.local_echo && !deliver(&mut stdout, &echo_bytes(&data))? {
                        break Ending::OutputClosed;
                    }
                    // LINEMODE's EOF key ends the read it is in: what came before it
                    // goes as data, the key as `IAC EOF` (RFC 1184, SLC_EOF).
                    let eof_key = match mode.terminal {
                        TerminalMode::Edit(chars) => chars.eof,
                        _ => None,
                    };
                    let (data, eof) = match eof_key.and_then(|key| memchr::memchr(key, &data)) {
                        Some(at) => (&data[..at], true),
                        None => (&data[..], false),
                    };
                    // Keys go as BSD telnet sends them. The line editor ends a line
                    // with LF: outside BINARY the NVT rules send it as CR LF; in BINARY
                    // there is no end-of-line convention (RFC 856; RFC 1123 3.2.7) and
                    // it goes as LF (a CR LF is a second, empty line to inetutils
                    // `telnetd -l`, which passes binary input to its pty as it is).
                    // Enter in raw mode is CR: CR NUL outside BINARY, CR alone in it.
                    // What the keyboard gave is complete: a CR that ends it goes out
                    // with its NUL in the same write (busybox telnetd drops the NUL only
                    // when both come in one read).
                    unsent.extend_from_slice(&encode.process(data, client_binary(writer)));
                    if unsent.is_empty() && eof {
                        writer.send_command(Command::Eof);
                    } else {
                        eof_after = eof;
                    }
                    None
                }
                None => {
                    debug!("end of standard input");
                    input_open = false;
                    None
                }
            },
            () = tokio::time::sleep(retro::esc_delay()), if encode.pending_keys() && !eof_after => {
                unsent.extend_from_slice(&encode.flush_keys());
                None
            }
            () = changes.notified() => None,
            _ = signals.window.recv() => {
                if let Some((cols, rows)) = send_window_size(writer) {
                    filter.resize(cols, rows);
                }
                None
            }
            _ = signals.suspend.recv() => {
                if !trap_signal(writer, mode, SlcFunction::Susp) {
                    suspend(terminal, mode)?;
                }
                None
            }
            _ = signals.interrupt.recv() => {
                (!trap_signal(writer, mode, SlcFunction::Ip)).then_some(Ending::Signal(2))
            }
            _ = signals.quit.recv() => {
                (!trap_signal(writer, mode, SlcFunction::Abort)).then_some(Ending::Signal(3))
            }
            _ = signals.terminate.recv() => Some(Ending::Signal(15)),
            _ = signals.hangup.recv() => Some(Ending::Signal(1)),
        };
        if let Some(ending) = ending {
            break ending;
        }
        follow(writer, terminal, interaction.forced, &mut mode)?;
    };
    debug!("interactive session ends: {ending:?}");
    if ending != Ending::ServerClosed {
        writer.close().await;
    }
    if let Some(message) = ending.message() {
        // \x1b[m resets colours the server may have left set, as telnetlib3 does.
        let _ = deliver(&mut stdout, format!("\x1b[m\r\n{message}\r\n").as_bytes());
    }
    terminal.restore();
    Ok(ending)
}

/// How the `telnet> ` prompt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Prompted {
    /// Back to the session.
    Resume,
    /// `close`, `quit`, or end of file at the prompt: end the session.
    Close,
}

/// BSD telnet's command mode: `telnet> `, one line read in the terminal's own line
/// editing, one command run (see [`escape::parse`]); then back to the session.
async fn command_prompt(
    writer: &mut TelnetWriter,
    terminal: &mut Terminal,
    input: &mut mpsc::Receiver<Vec<u8>>,
    stdout: &mut io::Stdout,
    interaction: &mut Interaction,
) -> Result<Prompted, PumpError> {
    terminal
        .set(TerminalMode::Prompt)
        .map_err(PumpError::Terminal)?;
    deliver(stdout, format!("\r\n{}", escape::PROMPT).as_bytes())?;
    let mut line = Vec::new();
    // A line typed ahead while the terminal was still raw ends with CR.
    while !line.ends_with(b"\n") && !line.ends_with(b"\r") {
        let chunk = input.recv().await;
        let end_of_file = match chunk {
            Some(chunk) => {
                line.extend_from_slice(&chunk);
                // ^D ends a read (see `TerminalMode::Prompt`): alone, it is end of file.
                line.last() == Some(&terminal::EOT) && {
                    line.pop();
                    line.is_empty()
                }
            }
            None => true,
        };
        if end_of_file {
            // End of file at the prompt: quit, as BSD telnet does.
            deliver(stdout, b"\r\n")?;
            return Ok(Prompted::Close);
        }
    }
    let line = String::from_utf8_lossy(&line);
    let command = escape::parse(line.trim_end_matches(['\r', '\n']));
    debug!("telnet> {command:?}");
    let reply = match command {
        EscapeCommand::Resume => None,
        EscapeCommand::Close => return Ok(Prompted::Close),
        EscapeCommand::Send(command) => {
            writer.send_command(command);
            None
        }
        EscapeCommand::Synch => {
            writer.send_synch();
            None
        }
        EscapeCommand::Status => {
            let tls = writer
                .tls()
                .map(|tls| format!("{} {}", tls.version, tls.cipher_suite));
            let details = StatusDetails {
                encoding: &interaction.encoding,
                tls: tls.as_deref(),
                forced: interaction.forced,
                escape: interaction.escape,
            };
            Some(writer.with_session(|session| escape::status(session, writer.peer(), &details)))
        }
        EscapeCommand::Mode(forced) => {
            interaction.forced = forced;
            None
        }
        EscapeCommand::SetEscape(escape) => {
            interaction.escape = escape;
            terminal.set_escape(escape).map_err(PumpError::Terminal)?;
            Some(format!(
                "Escape character is '{}'.\r\n",
                escape::show_escape(escape)
            ))
        }
        EscapeCommand::Suspend => {
            terminal.restore();
            let _ = rustix::process::kill_process(
                rustix::process::getpid(),
                rustix::process::Signal::STOP,
            );
            None
        }
        EscapeCommand::Help(text) => Some(text.to_string()),
        EscapeCommand::Invalid(complaint) => Some(format!("{complaint}\r\n")),
    };
    if let Some(reply) = reply {
        deliver(stdout, reply.as_bytes())?;
    }
    Ok(Prompted::Resume)
}

#[cfg(test)]
mod tests {
    use super::echo_bytes;

    #[test]
    fn echo_rubs_out() {
        assert_eq!(echo_bytes(b"a\x7f\rb\x01"), b"a\x08 \x08\r\nb");
    }
}
