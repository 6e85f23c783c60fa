//! What `telnetlib3-client` does on a connection:
//!
//! - [`pump`]: standard input is not a terminal. Standard input goes to the server, the
//!   server's data to standard output, until the server closes (for scripts).
//! - [`interactive`](crate::interactive::interactive) (Unix): standard input is a
//!   terminal. The terminal is put in the mode the server's negotiation asks for
//!   (telnetlib3's `determine_mode`), switching as it changes; Ctrl-] opens the
//!   `telnet> ` prompt; the window size follows SIGWINCH.
//! - [`shell_exec`]: an external program is the client's shell: the server's data is its
//!   standard input, its standard output goes to the server.
//!
//! All three can decode the server's 8-bit output from an encoding (cp437, ...) to UTF-8
//! and record it in a typescript and an asciicast file ([`Output`]).

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, Read, Write};
use std::process::{ExitStatus, Stdio};

use telnetlib3::proto::options::linemode::{ModeMask, SlcFunction};
use telnetlib3::proto::{Mode, Session, TelnetOption};
use telnetlib3::record::Asciicast;
use telnetlib3::text::{Encoding, ErrorMode, TextDecoder, TextEncoder, TextError};
use telnetlib3::{TelnetReader, TelnetWriter};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tracing::{debug, warn};

use crate::retro::{self, FontScanner, KeyMap, Piece};
use crate::terminal::{self, LineChars, TerminalMode};

/// The most data taken from the connection at once.
pub(crate) const READ_SIZE: usize = 64 * 1024;

/// Why a session stopped early.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PumpError {
    /// The connection failed.
    #[error(transparent)]
    Connection(#[from] telnetlib3::Error),
    /// The output could not be written.
    #[error("cannot write output: {0}")]
    Output(io::Error),
    /// The typescript could not be written.
    #[error("cannot write the typescript: {0}")]
    Typescript(io::Error),
    /// The server's output is not valid in the encoding (with `--encoding-errors strict`).
    #[error("cannot decode the server's output: {0}")]
    Decode(TextError),
    /// The terminal refused a mode, or a signal could not be watched.
    #[error("terminal: {0}")]
    Terminal(io::Error),
    /// The shell program could not be started or fed.
    #[error("cannot run {program}: {error}")]
    ShellExec {
        /// The program.
        program: String,
        /// What failed.
        error: io::Error,
    },
}

/// The encoding of the server's text, when the user named one.
#[derive(Clone, Debug)]
pub struct Codec {
    /// The server's encoding.
    pub encoding: Encoding,
    /// What to do with bytes or characters the encoding lacks.
    pub errors: ErrorMode,
    /// Transcode even when BINARY is not agreed (telnetlib3's `force_binary`).
    pub force_binary: bool,
}

/// The server's data on its way out: decoded from the server's encoding to UTF-8 when
/// the session is 8-bit (BINARY from the server, or forced), and recorded in the
/// typescript exactly as delivered.
#[derive(Debug, Default)]
pub struct Output {
    decoder: Option<(TextDecoder, bool)>,
    typescript: Option<File>,
    text: String,
    /// SyncTERM font selections switch the decoding (see [`Output::with_font_switching`]).
    fonts: Option<(FontScanner, ErrorMode)>,
    /// `--ascii-eol`: see [`Output::with_ascii_eol`].
    ascii_eol: bool,
    /// `--record`: the delivered output as asciicast `o` events, timed from its start.
    recording: Option<(Asciicast<io::BufWriter<File>>, std::time::Instant)>,
}

impl Output {
    /// Data passed on as it comes, not recorded.
    #[must_use]
    pub fn plain() -> Self {
        Self::default()
    }

    /// Decode with `codec` (if any) and record to `typescript` (if any).
    #[must_use]
    pub fn new(codec: Option<&Codec>, typescript: Option<File>) -> Self {
        Self {
            decoder: codec.map(|c| (c.encoding.decoder(c.errors), c.force_binary)),
            typescript,
            text: String::new(),
            fonts: None,
            ascii_eol: false,
            recording: None,
        }
    }

    /// Record the delivered output in `cast` too (`--record`), timed from now. The
    /// output delivered is UTF-8 when decoded (and most likely when not), so `cast`
    /// decodes as UTF-8.
    #[must_use]
    pub fn with_recording(mut self, cast: Asciicast<io::BufWriter<File>>) -> Self {
        self.recording = Some((cast, std::time::Instant::now()));
        self
    }

    /// Record that the terminal became `cols` x `rows` (an `r` event), if recording.
    pub fn resize(&mut self, cols: u16, rows: u16) {
        if let Some((cast, started)) = &mut self.recording {
            cast.resize(started.elapsed(), cols, rows);
        }
    }

    /// Write out the recording, if any, and close its file.
    ///
    /// # Errors
    ///
    /// [`PumpError::Typescript`] when the last of it cannot be written.
    pub fn finish_recording(&mut self) -> Result<(), PumpError> {
        match self.recording.take() {
            Some((cast, _)) => cast.finish().map(drop).map_err(PumpError::Typescript),
            None => Ok(()),
        }
    }

    /// A SyncTERM font selection (`CSI Ps1 ; Ps2 SP D`) from the server switches the
    /// decoding to the font's encoding ([`retro::syncterm_font_encoding`]), transcoding
    /// from then on even without BINARY, as telnetlib3's client does when no encoding was
    /// named. The switch takes effect right after the selection (telnetlib3 switches for
    /// the whole read holding it).
    #[must_use]
    pub fn with_font_switching(mut self, errors: ErrorMode) -> Self {
        self.fonts = Some((FontScanner::default(), errors));
        self
    }

    /// `--ascii-eol`: ATASCII's pictures of bytes 0x0D and 0x0A (U+1FB82, U+25E3) are shown
    /// as CR and LF, for BBSes that draw Atari graphics but end lines in ASCII.
    #[must_use]
    pub fn with_ascii_eol(mut self) -> Self {
        self.ascii_eol = true;
        self
    }

    /// The bytes to deliver for `data` from the server; `binary` says whether the server
    /// sends in BINARY.
    ///
    /// # Errors
    ///
    /// [`PumpError::Decode`] (strict mode only), [`PumpError::Typescript`].
    pub fn process<'a>(
        &mut self,
        data: &'a [u8],
        binary: bool,
    ) -> Result<Cow<'a, [u8]>, PumpError> {
        let switches = match &mut self.fonts {
            Some((scanner, _)) => scanner.scan(data),
            None => Vec::new(),
        };
        let out = if switches.is_empty() {
            self.decode(data, binary)?
        } else {
            let mut out = Vec::with_capacity(data.len());
            let mut start = 0;
            for (end, font) in switches {
                out.extend_from_slice(&self.decode(&data[start..end], binary)?);
                start = end;
                self.switch_font(font);
            }
            out.extend_from_slice(&self.decode(&data[start..], binary)?);
            Cow::Owned(out)
        };
        self.record(&out)?;
        Ok(out)
    }

    fn decode<'a>(&mut self, data: &'a [u8], binary: bool) -> Result<Cow<'a, [u8]>, PumpError> {
        Ok(match &mut self.decoder {
            Some((decoder, force)) if *force || binary => {
                self.text.clear();
                decoder
                    .decode(data, false, &mut self.text)
                    .map_err(PumpError::Decode)?;
                if self.ascii_eol {
                    self.text = self
                        .text
                        .replace('\u{1FB82}', "\r")
                        .replace('\u{25E3}', "\n");
                }
                Cow::Owned(self.text.as_bytes().to_vec())
            }
            _ => Cow::Borrowed(data),
        })
    }

    fn switch_font(&mut self, font: u32) {
        let Some((_, errors)) = &self.fonts else {
            return;
        };
        match retro::syncterm_font_encoding(font).map(Encoding::from_name) {
            Some(Ok(encoding)) => {
                debug!("SyncTERM font {font}: decoding {}", encoding.name());
                self.decoder = Some((encoding.decoder(*errors), true));
            }
            Some(Err(error)) => debug!("SyncTERM font {font}: {error}"),
            None => debug!("SyncTERM font {font}: no encoding known"),
        }
    }

    /// The bytes to deliver when the server has closed: what the decoder still holds (a
    /// character cut off by the close, as the error mode says: U+FFFD when replacing).
    ///
    /// # Errors
    ///
    /// [`PumpError::Decode`] (strict mode only), [`PumpError::Typescript`].
    pub fn finish(&mut self, binary: bool) -> Result<Vec<u8>, PumpError> {
        let out = match &mut self.decoder {
            Some((decoder, force)) if *force || binary => {
                self.text.clear();
                decoder
                    .decode(&[], true, &mut self.text)
                    .map_err(PumpError::Decode)?;
                self.text.as_bytes().to_vec()
            }
            _ => Vec::new(),
        };
        self.record(&out)?;
        Ok(out)
    }

    fn record(&mut self, out: &[u8]) -> Result<(), PumpError> {
        if let Some((cast, started)) = &mut self.recording {
            cast.output(started.elapsed(), out);
        }
        if let (Some(file), false) = (&mut self.typescript, out.is_empty()) {
            file.write_all(out)
                .and_then(|()| file.flush())
                .map_err(PumpError::Typescript)?;
        }
        Ok(())
    }
}

/// Keyboard (or program) input on its way to the server: UTF-8 encoded into the server's
/// encoding when we send in BINARY (or it is forced).
#[derive(Debug, Default)]
pub struct Input {
    coder: Option<(TextDecoder, TextEncoder, bool)>,
    text: String,
    /// The machine's key codes for ATASCII and PETSCII (see [`Input::with_keys`]).
    keys: Option<KeyMap>,
}

impl Input {
    /// Input passed on as it comes.
    #[must_use]
    pub fn plain() -> Self {
        Self::default()
    }

    /// Encode with `codec`, if any.
    ///
    /// # Errors
    ///
    /// The encoding cannot be written (UTF-16).
    pub fn new(codec: Option<&Codec>) -> Result<Self, TextError> {
        let coder = match codec {
            Some(codec) => {
                let utf8 = Encoding::from_name("utf-8")?.decoder(ErrorMode::Replace);
                Some((
                    utf8,
                    codec.encoding.encoder(codec.errors)?,
                    codec.force_binary,
                ))
            }
            None => None,
        };
        Ok(Self {
            coder,
            text: String::new(),
            keys: None,
        })
    }

    /// Keys as the BBS's machine sends them ([`KeyMap`]): its codes go unencoded, typed
    /// text through the encoding.
    #[must_use]
    pub fn with_keys(mut self, keys: Option<KeyMap>) -> Self {
        self.keys = keys;
        self
    }

    /// Whether the beginning of a key sequence is held (see [`KeyMap::pending`]): call
    /// [`Input::flush_keys`] when no input came for [`retro::esc_delay`].
    #[must_use]
    pub fn pending_keys(&self) -> bool {
        self.keys.as_ref().is_some_and(KeyMap::pending)
    }

    /// The held beginning of a key sequence, to send as it is.
    pub fn flush_keys(&mut self) -> Vec<u8> {
        self.keys.as_mut().map(KeyMap::flush).unwrap_or_default()
    }

    /// The bytes to send for `data`; `binary` says whether we send in BINARY. A character
    /// the encoding lacks in strict mode is dropped with a warning: a typing slip should
    /// not end the session.
    pub fn process<'a>(&mut self, data: &'a [u8], binary: bool) -> Cow<'a, [u8]> {
        let Some(keys) = &mut self.keys else {
            return self.encode(data, binary);
        };
        let mut out = Vec::with_capacity(data.len());
        for piece in keys.feed(data) {
            match piece {
                Piece::Text(text) => out.extend_from_slice(&self.encode(&text, binary)),
                Piece::Raw(raw) => out.extend_from_slice(&raw),
            }
        }
        Cow::Owned(out)
    }

    fn encode<'a>(&mut self, data: &'a [u8], binary: bool) -> Cow<'a, [u8]> {
        match &mut self.coder {
            Some((utf8, encoder, force)) if *force || binary => {
                self.text.clear();
                let _ = utf8.decode(data, false, &mut self.text);
                let mut out = Vec::with_capacity(self.text.len());
                if let Err(error) = encoder.encode(&self.text, &mut out) {
                    warn!("input not sent in full: {error}");
                }
                Cow::Owned(out)
            }
            _ => Cow::Borrowed(data),
        }
    }
}

/// Whether the server sends in BINARY (its output is 8-bit).
pub(crate) fn server_binary(writer: &TelnetWriter) -> bool {
    writer.remote_enabled(TelnetOption::Binary)
}

/// Whether we send in BINARY.
pub(crate) fn client_binary(writer: &TelnetWriter) -> bool {
    writer.local_enabled(TelnetOption::Binary)
}

/// Write and flush; `Ok(false)` when the output is closed (a broken pipe).
pub(crate) fn deliver<W: Write>(output: &mut W, data: &[u8]) -> Result<bool, PumpError> {
    match output.write_all(data).and_then(|()| output.flush()) {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => {
            debug!("output closed");
            Ok(false)
        }
        Err(error) => Err(PumpError::Output(error)),
    }
}

/// Send every chunk received on `input` to the server as data (the NVT rules turn `\n`
/// into CR LF), and write the server's data to `output` as it arrives (through `filter`),
/// flushing each time. Returns when the server closes the connection; when `input` ends
/// first, keeps reading until then. A closed `output` (a broken pipe) also ends the pump,
/// quietly.
///
/// # Errors
///
/// [`PumpError::Connection`] when the connection fails, [`PumpError::Output`] when
/// `output` fails otherwise, and the errors of [`Output::process`].
pub async fn pump<W: Write>(
    reader: &mut TelnetReader,
    writer: &mut TelnetWriter,
    mut input: mpsc::Receiver<Vec<u8>>,
    output: &mut W,
    filter: &mut Output,
    encode: &mut Input,
) -> Result<(), PumpError> {
    let mut input_open = true;
    loop {
        tokio::select! {
            read = reader.read(READ_SIZE) => {
                let data = read?;
                if data.is_empty() {
                    debug!("server closed the connection");
                    deliver(output, &filter.finish(server_binary(writer))?)?;
                    return Ok(());
                }
                let data = filter.process(&data, server_binary(writer))?;
                if !deliver(output, &data)? {
                    return Ok(());
                }
            }
            chunk = input.recv(), if input_open => match chunk {
                Some(data) => {
                    let data = encode.process(&data, client_binary(writer));
                    writer.write(&data).await?;
                }
                None => {
                    debug!("end of input; waiting for the server to close");
                    input_open = false;
                    writer.write(&encode.flush_keys()).await?;
                }
            },
            () = tokio::time::sleep(retro::esc_delay()), if encode.pending_keys() => {
                writer.write(&encode.flush_keys()).await?;
            }
        }
    }
}

/// Standard input, read on its own thread (a blocking read cannot be cancelled, and the
/// thread must not hold the process open), in chunks as they come.
#[must_use]
pub fn stdin_chunks() -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel(4);
    std::thread::spawn(move || {
        let mut stdin = io::stdin().lock();
        let mut buf = vec![0; 4096];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if tx.blocking_send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => {
                    debug!("cannot read standard input: {error}");
                    break;
                }
            }
        }
    });
    rx
}

/// A terminal mode the user asked for instead of following the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Forced {
    /// `--line-mode`: the terminal edits lines and echoes.
    Line,
    /// `--raw-mode`: character at a time, no local echo.
    Raw,
}

/// How keyboard input is handled at a moment of the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputMode {
    /// The terminal's mode.
    pub terminal: TerminalMode,
    /// Echo typed characters ourselves (character at a time without server echo).
    pub local_echo: bool,
}

/// telnetlib3's `determine_mode`, from the server's negotiation (unless `forced`):
///
/// | server negotiated | terminal | echo |
/// |---|---|---|
/// | nothing | cooked (line editing) | terminal |
/// | LINEMODE with EDIT | cooked, the server's SLC keys | terminal |
/// | LINEMODE without EDIT | raw | server |
/// | WILL SGA only | raw | ours |
/// | WILL ECHO only | cooked | server |
/// | WILL ECHO and SGA (kludge) | raw | server |
#[must_use]
pub fn decide_mode(session: &Session, forced: Option<Forced>) -> InputMode {
    let mode = |terminal, local_echo| InputMode {
        terminal,
        local_echo,
    };
    match forced {
        Some(Forced::Line) => return mode(TerminalMode::Cooked { echo: true }, false),
        Some(Forced::Raw) => return mode(TerminalMode::Raw, false),
        None => {}
    }
    if session.local_enabled(TelnetOption::Linemode) {
        return if session.mode() == Mode::Local {
            mode(TerminalMode::Edit(line_chars(session)), false)
        } else {
            mode(TerminalMode::Raw, false)
        };
    }
    let will_echo = session.remote_enabled(TelnetOption::Echo);
    let sga = session.remote_enabled(TelnetOption::Sga) || session.local_enabled(TelnetOption::Sga);
    match (will_echo, sga) {
        (true, true) => mode(TerminalMode::Raw, false),
        (true, false) => mode(TerminalMode::Cooked { echo: false }, false),
        (false, true) => mode(TerminalMode::Raw, true),
        (false, false) => mode(TerminalMode::Cooked { echo: true }, false),
    }
}

/// The terminal's editing and signal keys under LINEMODE EDIT: the SLC table's active
/// characters (RFC 1184 section 2.3), and TRAPSIG from the MODE.
#[must_use]
pub fn line_chars(session: &Session) -> LineChars {
    let table = session.slc_table();
    let key = |function: SlcFunction| {
        let entry = table.get(function);
        entry.is_active().then_some(entry.value)
    };
    LineChars {
        erase: key(SlcFunction::Ec),
        kill: key(SlcFunction::El),
        word_erase: key(SlcFunction::Ew),
        reprint: key(SlcFunction::Rp),
        literal_next: key(SlcFunction::Lnext),
        eof: key(SlcFunction::Eof),
        start: key(SlcFunction::Xon),
        stop: key(SlcFunction::Xoff),
        trapsig: session
            .linemode_mode()
            .is_some_and(|mode| mode.contains(ModeMask::TRAPSIG)),
        interrupt: key(SlcFunction::Ip),
        quit: key(SlcFunction::Abort),
        suspend: key(SlcFunction::Susp),
    }
}

/// What ended an interactive session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// The server closed the connection.
    ServerClosed,
    /// The user typed the escape key, Ctrl-].
    Escape,
    /// Standard output was closed.
    OutputClosed,
    /// A signal (SIGINT, SIGQUIT, SIGTERM or SIGHUP), by number.
    Signal(i32),
}

impl Ending {
    /// The line telnetlib3 prints when the session ends this way, if any.
    #[must_use]
    pub fn message(self) -> Option<&'static str> {
        match self {
            Self::ServerClosed => Some("Connection closed by foreign host."),
            Self::Escape => Some("Connection closed."),
            Self::OutputClosed | Self::Signal(_) => None,
        }
    }
}

/// The banner telnetlib3 prints when an interactive session starts (with the default
/// escape character).
pub const BANNER: &str = "Escape character is '^]'.";

/// How the user set up the interactive session.
#[derive(Clone, Debug)]
pub struct Interaction {
    /// A terminal mode asked for instead of following the server (`--line-mode`,
    /// `--raw-mode`, the prompt's `mode`).
    pub forced: Option<Forced>,
    /// The character that opens the `telnet> ` prompt (`-e`; `None`: none).
    pub escape: Option<u8>,
    /// The encoding's name, for `status`.
    pub encoding: String,
}

impl Default for Interaction {
    fn default() -> Self {
        Self {
            forced: None,
            escape: Some(terminal::ESCAPE),
            encoding: "none (bytes)".to_string(),
        }
    }
}

/// CR LF to LF, across chunk boundaries, for a program reading the server's lines.
#[derive(Debug, Default)]
struct CrLfToLf {
    pending_cr: bool,
}

impl CrLfToLf {
    fn process(&mut self, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(data.len() + 1);
        for &byte in data {
            if self.pending_cr {
                self.pending_cr = false;
                if byte != b'\n' {
                    out.push(b'\r');
                }
            }
            if byte == b'\r' {
                self.pending_cr = true;
            } else {
                out.push(byte);
            }
        }
        out
    }

    fn finish(&mut self) -> &'static [u8] {
        if std::mem::take(&mut self.pending_cr) {
            b"\r"
        } else {
            b""
        }
    }
}

/// Run `program` with `args` as the client's shell: the server's data is its standard
/// input (CR LF as LF, decoded as [`Output`] says), its standard output goes to the server
/// (LF as CR LF by the NVT rules, encoded as [`Input`] says); its standard error is ours.
/// When the server closes, the program's input ends; when the program's output ends, the
/// connection is closed. Returns the program's exit status.
///
/// # Errors
///
/// [`PumpError::ShellExec`] when the program cannot be started, and as [`pump`].
pub async fn shell_exec(
    reader: &mut TelnetReader,
    writer: &mut TelnetWriter,
    program: &str,
    args: &[String],
    filter: &mut Output,
    encode: &mut Input,
) -> Result<ExitStatus, PumpError> {
    let failed = |error| PumpError::ShellExec {
        program: program.to_string(),
        error,
    };
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(failed)?;
    let mut child_in = child.stdin.take();
    let mut child_out = child
        .stdout
        .take()
        .ok_or_else(|| failed(io::Error::other("no stdout")))?;
    let mut server_open = true;
    let mut lines = CrLfToLf::default();
    let mut buf = vec![0; 16 * 1024];
    // The server's data not yet taken by the program. The server is read only when it is
    // empty (so at most one read is held), and writing it is a branch of its own: a
    // program busy writing its output while we wait for it to read would deadlock.
    let mut pending: Vec<u8> = Vec::new();
    loop {
        if !server_open && pending.is_empty() && child_in.take().is_some() {
            debug!("server closed; the program's input ends");
        }
        tokio::select! {
            read = reader.read(READ_SIZE), if server_open && pending.is_empty() => {
                let data = read?;
                if data.is_empty() {
                    server_open = false;
                    pending = lines.process(&filter.finish(server_binary(writer))?);
                    pending.extend_from_slice(lines.finish());
                } else {
                    let data = filter.process(&data, server_binary(writer))?;
                    pending = lines.process(&data);
                }
                if child_in.is_none() {
                    pending.clear();
                }
            }
            written = async {
                match child_in.as_mut() {
                    Some(stdin) => stdin.write(&pending).await,
                    None => Ok(0),
                }
            }, if !pending.is_empty() => match written {
                Ok(n) if n > 0 => {
                    pending.drain(..n);
                }
                result => {
                    debug!("the program's input is closed: {result:?}");
                    child_in = None;
                    pending.clear();
                }
            },
            read = child_out.read(&mut buf) => {
                let n = read.map_err(failed)?;
                if n == 0 {
                    debug!("the program's output ended; closing");
                    break;
                }
                let data = encode.process(&buf[..n], client_binary(writer));
                if let Err(error) = writer.write(&data).await {
                    debug!("cannot send the program's output: {error}");
                }
            }
        }
    }
    drop(child_in);
    writer.close().await;
    child.wait().await.map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use telnetlib3::{open_connection, ClientConfig};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    #[tokio::test]
    async fn pumps_both_ways_and_answers_negotiation() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, rx) = mpsc::channel(4);
        let script = tokio::spawn(async move {
            let (mut server, _) = listener.accept().await.unwrap();
            // WILL ECHO, DO ECHO, DO TTYPE.
            server
                .write_all(b"\xff\xfb\x01\xff\xfd\x01\xff\xfd\x18hi\xff\xff\r\n")
                .await
                .unwrap();
            let mut buf = [0; 9];
            server.read_exact(&mut buf).await.unwrap();
            // DO ECHO, WONT ECHO, WILL TTYPE.
            assert_eq!(buf, *b"\xff\xfd\x01\xff\xfc\x01\xff\xfb\x18");
            tx.send(b"line\n".to_vec()).await.unwrap();
            drop(tx);
            let mut buf = [0; 6];
            server.read_exact(&mut buf).await.unwrap();
            assert_eq!(buf, *b"line\r\n");
            server.write_all(b"bye").await.unwrap();
        });
        let (mut reader, mut writer) = open_connection("127.0.0.1", port, ClientConfig::default())
            .await
            .unwrap();
        let mut output = Vec::new();
        pump(
            &mut reader,
            &mut writer,
            rx,
            &mut output,
            &mut Output::plain(),
            &mut Input::plain(),
        )
        .await
        .unwrap();
        script.await.unwrap();
        assert_eq!(output, b"hi\xff\r\nbye");
        assert!(writer.with_session(|s| s.remote_enabled(TelnetOption::Echo)));
    }

    /// A client session after the server sent `wire`.
    fn client_after(wire: &[u8]) -> Session {
        use telnetlib3::proto::{Event, Policy, Role, SessionConfig, Sink};
        struct Ignore;
        impl Sink for Ignore {
            fn data(&mut self, _: &[u8]) {}
            fn event(&mut self, _: Event<'_>) {}
        }
        let mut session = Session::new(Role::Client, SessionConfig::with_policy(Policy::client()));
        session.receive(wire, &mut Ignore);
        session
    }

    #[test]
    fn modes_follow_telnetlib3s_determine_mode() {
        let cooked = |echo| InputMode {
            terminal: TerminalMode::Cooked { echo },
            local_echo: false,
        };
        let raw = |local_echo| InputMode {
            terminal: TerminalMode::Raw,
            local_echo,
        };
        let nothing = client_after(b"");
        let echo = client_after(b"\xff\xfb\x01");
        let sga = client_after(b"\xff\xfb\x03");
        let kludge = client_after(b"\xff\xfb\x01\xff\xfb\x03");
        assert_eq!(decide_mode(&nothing, None), cooked(true));
        assert_eq!(decide_mode(&echo, None), cooked(false));
        assert_eq!(decide_mode(&sga, None), raw(true));
        assert_eq!(decide_mode(&kludge, None), raw(false));
        assert_eq!(decide_mode(&kludge, Some(Forced::Line)), cooked(true));
        assert_eq!(decide_mode(&nothing, Some(Forced::Raw)), raw(false));
        // LINEMODE without EDIT: the server edits; with EDIT: the terminal does.
        let remote = client_after(b"\xff\xfd\x22\xff\xfa\x22\x01\x00\xff\xf0");
        assert_eq!(decide_mode(&remote, None), raw(false));
        let edit = client_after(b"\xff\xfd\x22\xff\xfa\x22\x01\x01\xff\xf0");
        let edit_mode = decide_mode(&edit, None);
        assert!(!edit_mode.local_echo);
        let TerminalMode::Edit(chars) = edit_mode.terminal else {
            panic!("{edit_mode:?}");
        };
        // BSD's characters until the server sets others; no TRAPSIG asked.
        assert_eq!(
            (chars.erase, chars.kill, chars.eof),
            (Some(0x7f), Some(0x15), Some(0x04))
        );
        assert!(!chars.trapsig);
        // The server's SLC characters and TRAPSIG (RFC 1184): EC ^H, EL ^X.
        let edit = client_after(
            b"\xff\xfd\x22\xff\xfa\x22\x01\x03\xff\xf0\
              \xff\xfa\x22\x03\x0a\x02\x08\x0b\x02\x18\xff\xf0",
        );
        let TerminalMode::Edit(chars) = decide_mode(&edit, None).terminal else {
            panic!("not Edit");
        };
        assert_eq!(
            (chars.erase, chars.kill, chars.trapsig),
            (Some(0x08), Some(0x18), true)
        );
    }

    #[test]
    fn cr_lf_becomes_lf_across_chunks() {
        let mut lines = CrLfToLf::default();
        assert_eq!(lines.process(b"a\r\nb\r"), b"a\nb");
        assert_eq!(lines.process(b"\nc\rd\r"), b"\nc\rd");
        assert_eq!(lines.finish(), b"\r");
    }

    #[test]
    fn a_character_cut_off_by_the_close_is_not_lost_silently() {
        let codec = Codec {
            encoding: Encoding::from_name("utf8").unwrap(),
            errors: ErrorMode::Replace,
            force_binary: true,
        };
        let mut output = Output::new(Some(&codec), None);
        // The first two bytes of the euro sign, then the server closes.
        assert_eq!(output.process(b"a\xe2\x82", false).unwrap().as_ref(), b"a");
        assert_eq!(output.finish(false).unwrap(), "\u{fffd}".as_bytes());
        assert_eq!(output.finish(false).unwrap(), b"");
        assert_eq!(Output::plain().finish(true).unwrap(), b"");
    }

    #[test]
    fn cp437_output_decodes_only_when_8_bit() {
        let codec = Codec {
            encoding: Encoding::from_name("cp437").unwrap(),
            errors: ErrorMode::Replace,
            force_binary: false,
        };
        let mut output = Output::new(Some(&codec), None);
        assert_eq!(output.process(b"\xc9", false).unwrap().as_ref(), b"\xc9");
        assert_eq!(
            output.process(b"\xc9\xcd\xbb", true).unwrap().as_ref(),
            "╔═╗".as_bytes()
        );
        let mut input = Input::new(Some(&codec)).unwrap();
        assert_eq!(input.process("═".as_bytes(), true).as_ref(), b"\xcd");
        assert_eq!(
            input.process("═".as_bytes(), false).as_ref(),
            "═".as_bytes()
        );
    }
}
