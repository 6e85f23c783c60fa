//! The local terminal of the interactive client: its modes, its window size, and putting
//! it back as it was on every way out.
//!
//! termios goes through `rustix` (a safe API over the system calls, maintained, already in
//! the dependency tree); `crossterm` only knows one raw mode, and the client also needs
//! the cooked mode with echo off that telnetlib3 uses when the server echoes lines.

#[cfg(unix)]
mod tty;
#[cfg(unix)]
pub use tty::{window_size, Terminal};

/// The escape key by default, Ctrl-] as in BSD telnet and telnetlib3 (`-e` changes it).
pub const ESCAPE: u8 = 0x1d;

/// ^D, end of file at the `telnet> ` prompt ([`TerminalMode::Prompt`]).
pub const EOT: u8 = 0x04;

/// How the local terminal is set for the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TerminalMode {
    /// The terminal's own line editing (ICANON), with or without its echo: lines go out
    /// whole when Enter is pressed.
    Cooked {
        /// Whether the terminal echoes what is typed (off when the server echoes).
        echo: bool,
    },
    /// Character at a time: no line editing, no echo, no signals from ^C or ^Z (they are
    /// bytes for the server), no CR to NL translation.
    Raw,
    /// The `telnet> ` prompt: the user's own settings (line editing, echo, ^D for end of
    /// file, which answers `quit`).
    Prompt,
    /// LINEMODE with EDIT (RFC 1184): the terminal edits lines with the server's SLC
    /// characters, as BSD telnet sets its tty from them.
    Edit(LineChars),
}

/// The editing and signal characters of [`TerminalMode::Edit`], from the LINEMODE SLC
/// table (`None`: the function is not supported, its key does nothing special).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LineChars {
    /// SLC_EC: erase a character.
    pub erase: Option<u8>,
    /// SLC_EL: erase the line.
    pub kill: Option<u8>,
    /// SLC_EW: erase a word.
    pub word_erase: Option<u8>,
    /// SLC_RP: reprint the line.
    pub reprint: Option<u8>,
    /// SLC_LNEXT: take the next character literally.
    pub literal_next: Option<u8>,
    /// SLC_EOF: ends the read where it is typed (the client sends `IAC EOF`).
    pub eof: Option<u8>,
    /// SLC_XON, SLC_XOFF: restart and stop output.
    pub start: Option<u8>,
    /// See `start`.
    pub stop: Option<u8>,
    /// TRAPSIG: the signal keys raise signals, which the client sends as commands.
    pub trapsig: bool,
    /// SLC_IP, SLC_ABORT, SLC_SUSP: the keys for SIGINT, SIGQUIT and SIGTSTP.
    pub interrupt: Option<u8>,
    /// See `interrupt`.
    pub quit: Option<u8>,
    /// See `interrupt`.
    pub suspend: Option<u8>,
}

/// No terminal modes without Unix: the client copies standard input as it comes, and the
/// console edits and echoes lines itself. Never made.
#[cfg(not(unix))]
#[derive(Debug)]
pub enum Terminal {}

#[cfg(not(unix))]
impl Terminal {
    /// `None`: no terminal modes here.
    ///
    /// # Errors
    ///
    /// Never.
    pub fn from_stdin() -> std::io::Result<Option<Self>> {
        Ok(None)
    }
}

/// The window size the client reports without a terminal to ask: telnetlib3's 80 x 25.
#[cfg(not(unix))]
#[must_use]
pub fn window_size() -> (u16, u16) {
    (80, 25)
}
