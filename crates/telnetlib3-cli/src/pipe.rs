//! `--shell PROGRAM`: each connection runs a program without a pseudo-terminal, as inetd
//! runs a service: its standard input is the client's lines, its standard output and
//! standard error (one pipe, in the order written) go to the client.
//!
//! With no pty there is no line discipline, so the server is one: it edits the line
//! ([`LineEditor`]: backspace, ^U), echoes it while it has WILL ECHO (RFC 857; in
//! `--line-mode` the client edits and echoes), and hands the program each whole line
//! ended by `\n`. `^C` (or `IAC IP`, `IAC BRK`) sends SIGINT to the program's process
//! group and drops the line; `^D` on an empty line closes the program's input (end of
//! file). The program's `\n` reach the client as CR LF (RFC 854's end of line), and a
//! program that does not read its input stops the client's (back-pressure).
//!
//! The environment is the one `--pty-exec` builds ([`crate::pty::environment`]): TERM,
//! LINES, COLUMNS, LANG, REMOTEHOST and the allowed client variables. The connection ends
//! when the program's output ends; a client that hangs up gets its program hung up (then
//! killed), and the program is always reaped (the `process` module).

use std::process::{ExitStatus, Stdio};

use rustix::process::{kill_process_group, Pid, Signal};
use telnetlib3::proto::{Command, TelnetOption};
use telnetlib3::{TelnetReader, TelnetWriter};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::ChildStdin;
use tracing::{debug, info, warn};

use crate::process::{Running, DRAIN_IDLE};
use crate::pty::{environment, Negotiated, PtyError, PtyProgram};
use crate::shell::LineEditor;

/// The most bytes moved per read, each way.
const CHUNK: usize = 16 * 1024;
/// ^C: interrupt the program.
const ETX: u8 = 0x03;
/// ^D: end of the program's input, on an empty line.
const EOT: u8 = 0x04;
/// The most client input kept for a program that has not read it yet; past it the
/// client's input waits in the connection (and the client's TCP window).
const QUEUED_INPUT: usize = 64 * 1024;

/// How the exchange ended.
enum End {
    /// The program's output ended.
    Output,
    /// The client closed or could not be written to.
    Client,
}

/// Run `program` with pipes for the connection until its output ends or the client goes;
/// the program's exit status, if it was reaped.
///
/// # Errors
///
/// [`PtyError::CannotRun`] when the program cannot be started (told to the client in one
/// line before the connection closes).
pub async fn run(
    mut reader: TelnetReader,
    mut writer: TelnetWriter,
    program: &PtyProgram,
) -> Result<Option<ExitStatus>, PtyError> {
    let commands = reader.commands();
    let negotiated = Negotiated::from_writer(&writer);
    let env = environment(
        |name| std::env::var_os(name),
        &negotiated,
        &program.defaults,
    );
    let spawned = spawn(program, env);
    let (mut running, stdin, output) = match spawned {
        Ok(spawned) => spawned,
        Err(error) => {
            warn!("{}: {error}", writer.peer());
            let line = format!("telnetlib3-server: {error}\r\n");
            let _ = writer.write(line.as_bytes()).await;
            writer.close().await;
            return Err(error);
        }
    };
    info!(
        "{}: running {} with pipes (pid {})",
        writer.peer(),
        program.program,
        running.id()
    );
    let mut exchange = Exchange {
        stdin: Some(stdin),
        to_program: Vec::new(),
        end_of_input: false,
        commands,
        editor: LineEditor::new(),
        line_mode: program.line_mode,
    };
    let end = exchange
        .run(&mut reader, &mut writer, output, &mut running)
        .await;
    drop(exchange);
    let status = running.finish(matches!(end, End::Client)).await;
    match status {
        Some(status) => info!("{}: {} ended, {status}", writer.peer(), program.program),
        None => info!("{}: {} ended", writer.peer(), program.program),
    }
    writer.close().await;
    Ok(status)
}

/// Start `program` in a process group of its own, its output and errors on one pipe.
fn spawn(
    program: &PtyProgram,
    env: Vec<(std::ffi::OsString, std::ffi::OsString)>,
) -> Result<(Running, ChildStdin, tokio::net::unix::pipe::Receiver), PtyError> {
    let cannot_run = |error: std::io::Error| PtyError::CannotRun {
        program: program.program.clone(),
        reason: crate::pty::describe(&error),
    };
    let (output, output_for_child) = std::io::pipe().map_err(cannot_run)?;
    let errors_for_child = output_for_child.try_clone().map_err(cannot_run)?;
    let mut command = tokio::process::Command::new(&program.program);
    command
        .args(&program.args)
        .env_clear()
        .envs(env)
        .stdin(Stdio::piped())
        .stdout(output_for_child)
        .stderr(errors_for_child)
        .process_group(0)
        // The last resort if everything else is dropped (see `Running`).
        .kill_on_drop(true);
    let mut child = command.spawn().map_err(cannot_run)?;
    // The command holds the pipe's write ends: the program's output ends only once
    // they are closed here.
    drop(command);
    let stdin = child
        .stdin
        .take()
        .ok_or_else(|| cannot_run(std::io::Error::other("no stdin")))?;
    let output =
        tokio::net::unix::pipe::Receiver::from_owned_fd(output.into()).map_err(cannot_run)?;
    let pid = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .and_then(Pid::from_raw);
    Ok((Running::new(child, pid), stdin, output))
}

/// The client's side of the exchange: the program's input and the line being edited.
struct Exchange {
    /// `None` once closed (^D, or the program stopped reading).
    stdin: Option<ChildStdin>,
    /// Whole lines the program has yet to read.
    to_program: Vec<u8>,
    /// ^D was typed: the input closes once `to_program` is written.
    end_of_input: bool,
    commands: telnetlib3::PeerCommands,
    editor: LineEditor,
    line_mode: bool,
}

impl Exchange {
    /// Move data both ways until the output ends or the client goes. Every wait in the
    /// loop is cancel-safe, the program's input among them: its lines wait in
    /// `to_program`, written as the program reads, while its output goes on being read
    /// (a program that writes a lot before it reads, and a client typing ahead, would
    /// otherwise wait on each other for good). Client input is read only while less
    /// than [`QUEUED_INPUT`] waits (back-pressure); writes to the client run to
    /// completion inside the loop.
    async fn run(
        &mut self,
        reader: &mut TelnetReader,
        writer: &mut TelnetWriter,
        mut output: tokio::net::unix::pipe::Receiver,
        running: &mut Running,
    ) -> End {
        let mut buffer = vec![0; CHUNK];
        let mut to_client = Vec::with_capacity(CHUNK);
        let mut after_cr = false;
        let mut exited = false;
        loop {
            let stdin_waiting = !self.to_program.is_empty() && self.stdin.is_some();
            let room = self.to_program.len() < QUEUED_INPUT;
            tokio::select! {
                written = write_some(self.stdin.as_mut(), &self.to_program), if stdin_waiting => {
                    match written {
                        Ok(n) => {
                            self.to_program.drain(..n);
                        }
                        Err(error) => {
                            debug!("program input closed: {error}");
                            self.stdin = None;
                            self.to_program.clear();
                        }
                    }
                    if self.to_program.is_empty() && self.end_of_input {
                        self.stdin = None;
                    }
                }
                read = output.read(&mut buffer) => {
                    let n = match read {
                        Ok(0) => return End::Output,
                        Ok(n) => n,
                        Err(error) => {
                            debug!("program output: {error}");
                            return End::Output;
                        }
                    };
                    to_client.clear();
                    nvt_lines(&buffer[..n], &mut after_cr, &mut to_client);
                    if writer.write(&to_client).await.is_err() {
                        return End::Client;
                    }
                }
                input = reader.read(CHUNK), if room => match input {
                    Ok(data) if !data.is_empty() => {
                        if self.take_input(&data, writer, running).await.is_err() {
                            return End::Client;
                        }
                    }
                    _ => return End::Client,
                },
                command = self.commands.recv() => {
                    if matches!(command, Some(Command::Ip | Command::Brk)) {
                        interrupt(running);
                    }
                }
                _ = running.wait(), if !exited => exited = true,
                // A background process may hold the output open after the program
                // exited: go once it is quiet.
                () = tokio::time::sleep(DRAIN_IDLE), if exited => return End::Output,
            }
        }
    }

    /// Edit and echo the client's input; whole lines go to the program. An error: the
    /// client cannot be written to.
    async fn take_input(
        &mut self,
        mut input: &[u8],
        writer: &mut TelnetWriter,
        running: &mut Running,
    ) -> Result<(), telnetlib3::Error> {
        // Echo while we have WILL ECHO (it follows the client's answer, RFC 857).
        let echo = !self.line_mode && writer.local_enabled(TelnetOption::Echo);
        let mut echoed = Vec::new();
        while !input.is_empty() {
            let control = memchr::memchr2(ETX, EOT, input);
            let (text, rest) = input.split_at(control.unwrap_or(input.len()));
            let (used, line) = self.editor.feed(text, echo, &mut echoed);
            input = &input[used..];
            if let Some(line) = line {
                if echo {
                    echoed.extend_from_slice(b"\r\n");
                }
                writer.write(&echoed).await?;
                echoed.clear();
                if self.stdin.is_some() && !self.end_of_input {
                    self.to_program.extend_from_slice(&line);
                    self.to_program.push(b'\n');
                }
                continue;
            }
            let Some((&byte, after)) = rest.split_first() else {
                break;
            };
            input = after;
            if byte == ETX {
                // The editor drops the line and echoes `^C`, as a terminal does; the
                // program's own output (a shell's new prompt) starts the next line.
                let _ = self.editor.feed(&[ETX], echo, &mut echoed);
                interrupt(running);
            } else if self.editor.pending().is_empty() {
                debug!("^D: end of the program's input (after the lines queued)");
                self.end_of_input = true;
                if self.to_program.is_empty() {
                    self.stdin = None;
                }
            }
        }
        writer.write(&echoed).await
    }
}

/// One write of `data` to the program's input (cancel-safe: nothing is written unless
/// it completes); never ready without one.
async fn write_some(stdin: Option<&mut ChildStdin>, data: &[u8]) -> std::io::Result<usize> {
    match stdin {
        Some(stdin) => stdin.write(data).await,
        None => std::future::pending().await,
    }
}

/// SIGINT to the program's process group, as a terminal's ^C.
fn interrupt(running: &mut Running) {
    if let Some(pid) = running.pid().filter(|_| running.running()) {
        let _ = kill_process_group(pid, Signal::INT);
    }
}

/// `data` with each `\n` not after a `\r` as `\r\n`, appended to `out`; `after_cr`:
/// whether the data before ended with `\r` (updated for the data after).
fn nvt_lines(data: &[u8], after_cr: &mut bool, out: &mut Vec<u8>) {
    let mut start = 0;
    for at in memchr::memchr_iter(b'\n', data) {
        out.extend_from_slice(&data[start..at]);
        let cr_before = if at > 0 {
            data[at - 1] == b'\r'
        } else {
            *after_cr
        };
        if !cr_before {
            out.push(b'\r');
        }
        out.push(b'\n');
        start = at + 1;
    }
    out.extend_from_slice(&data[start..]);
    if let Some(&last) = data.last() {
        *after_cr = last == b'\r';
    }
}

#[cfg(test)]
mod tests {
    use super::nvt_lines;

    #[test]
    fn bare_line_feeds_become_crlf() {
        let (mut out, mut after_cr) = (Vec::new(), false);
        nvt_lines(b"a\nb\r\n\nc\r", &mut after_cr, &mut out);
        assert_eq!(out, b"a\r\nb\r\n\r\nc\r");
        assert!(after_cr);
        // A CR LF split between two reads stays one end of line.
        nvt_lines(b"\nd\n", &mut after_cr, &mut out);
        assert_eq!(out, b"a\r\nb\r\n\r\nc\r\nd\r\n");
        assert!(!after_cr);
    }
}
