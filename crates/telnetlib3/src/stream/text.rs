//! The text flavours of the reader and writer: [`TextReader`] and [`TextWriter`] wrap
//! [`TelnetReader`] and [`TelnetWriter`] with an [`Encoding`].

use std::fmt;

use telnetlib3_proto::Session;

use super::expect::{find_text, lookback_of, TextFound};
use super::{TelnetReader, TelnetWriter};
use crate::text::{Encoding, ErrorMode, TextDecoder, TextEncoder};
use crate::Error;

/// The text flavour of [`TelnetReader`]: decodes with an [`Encoding`] as data arrives.
pub struct TextReader {
    reader: TelnetReader,
    text: TextDecoding,
}

/// Decoding of a reader's bytes into text, with the text decoded and not yet returned:
/// [`TextReader`]'s state, apart from the reader, so that the blocking connection can
/// read text from the reader it owns.
pub(crate) struct TextDecoding {
    decoder: TextDecoder,
    encoding: Encoding,
    pending: String,
}

impl TextDecoding {
    pub(crate) fn new(encoding: Encoding, mode: ErrorMode) -> Self {
        Self {
            decoder: encoding.decoder(mode),
            encoding,
            pending: String::new(),
        }
    }

    pub(crate) fn encoding(&self) -> &Encoding {
        &self.encoding
    }

    /// [`TextReader::read`] from `reader`.
    pub(crate) async fn read(
        &mut self,
        reader: &mut TelnetReader,
        max: usize,
    ) -> Result<String, Error> {
        while self.pending.is_empty() {
            let bytes = reader.read(max).await?;
            let last = bytes.is_empty();
            self.decoder.decode(&bytes, last, &mut self.pending)?;
            if last {
                break;
            }
        }
        Ok(std::mem::take(&mut self.pending))
    }

    /// [`TextReader::read_line`] from `reader`.
    pub(crate) async fn read_line(&mut self, reader: &mut TelnetReader) -> Result<String, Error> {
        let mut line = std::mem::take(&mut self.pending);
        let bytes = reader.read_line().await?;
        self.decoder.decode(&bytes, bytes.is_empty(), &mut line)?;
        Ok(line)
    }

    /// [`TextReader::expect`] from `reader`.
    pub(crate) async fn expect(
        &mut self,
        reader: &mut TelnetReader,
        patterns: &[regex::Regex],
    ) -> Result<TextFound, Error> {
        let limit = reader.limit();
        let lookbacks: Vec<usize> = patterns
            .iter()
            .map(|pattern| lookback_of(pattern.as_str(), true))
            .collect();
        let mut searched = 0;
        let mut ended = false;
        loop {
            if let Some((index, at)) = find_text(&self.pending, searched, patterns, &lookbacks) {
                let rest = self.pending.split_off(at.end);
                let matched = self.pending.split_off(at.start);
                let before = std::mem::replace(&mut self.pending, rest);
                return Ok(TextFound {
                    index,
                    matched,
                    before,
                });
            }
            if ended {
                return Err(Error::Incomplete {
                    partial: std::mem::take(&mut self.pending).into_bytes(),
                });
            }
            searched = self.pending.len();
            if searched >= limit {
                return Err(Error::LimitOverrun { limit });
            }
            // Cancel-safe: `read` takes bytes only when it returns them, and they are
            // decoded into `pending` before the next await.
            let bytes = reader.read(limit).await?;
            // At the end, the decoder may flush a last character: one more search.
            ended = bytes.is_empty();
            self.decoder.decode(&bytes, ended, &mut self.pending)?;
        }
    }
}

impl TextReader {
    /// Decode `reader`'s data with `encoding`, handling bad bytes as `mode` says.
    #[must_use]
    pub fn new(reader: TelnetReader, encoding: Encoding, mode: ErrorMode) -> Self {
        Self {
            reader,
            text: TextDecoding::new(encoding, mode),
        }
    }

    /// Text decoded from up to `max` bytes; waits for at least one character. Empty
    /// means end of file.
    ///
    /// # Errors
    ///
    /// [`Error::Text`] for invalid input in strict mode (the valid text around it is kept
    /// for the next read).
    pub async fn read(&mut self, max: usize) -> Result<String, Error> {
        self.text.read(&mut self.reader, max).await
    }

    /// A line, ended as [`TelnetReader::read_line`] ends it, decoded.
    ///
    /// # Errors
    ///
    /// As [`TextReader::read`].
    pub async fn read_line(&mut self) -> Result<String, Error> {
        self.text.read_line(&mut self.reader).await
    }

    /// Text up to and including the first match of `pattern`, as
    /// [`TelnetReader::read_until_pattern`] for text: decoded as it arrives and searched
    /// with the same bounded look-back (linear in the data); cancel-safe.
    ///
    /// # Errors
    ///
    /// [`Error::Incomplete`] (the text left, as UTF-8) when the input ends without a
    /// match; [`Error::LimitOverrun`] when the reader's limit of decoded text is reached
    /// without one (the text stays unread); [`Error::Text`] as [`TextReader::read`].
    pub async fn read_until_pattern(&mut self, pattern: &regex::Regex) -> Result<String, Error> {
        let found = self.expect(std::slice::from_ref(pattern)).await?;
        Ok(found.before + &found.matched)
    }

    /// The first of `patterns` to match (in their order at each arrival, as
    /// [`TelnetReader::expect`]), with the match and the text before it.
    ///
    /// # Errors
    ///
    /// As [`TextReader::read_until_pattern`].
    pub async fn expect(&mut self, patterns: &[regex::Regex]) -> Result<TextFound, Error> {
        self.text.expect(&mut self.reader, patterns).await
    }

    /// The encoding in use.
    #[must_use]
    pub fn encoding(&self) -> &Encoding {
        self.text.encoding()
    }
}

impl fmt::Display for TextReader {
    /// telnetlib3's `<TelnetReaderUnicode encoding='utf8' limit=65536 buflen=0 eof=False>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shared = self.reader.inner().lock();
        write!(
            f,
            "<TelnetReaderUnicode encoding='{}' limit={} buflen={} eof={}>",
            self.text.encoding().name(),
            self.reader.limit(),
            shared.buffered(),
            if shared.eof { "True" } else { "False" }
        )
    }
}

impl fmt::Debug for TextReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The text flavour of [`TelnetWriter`]: encodes with an [`Encoding`].
#[derive(Debug)]
pub struct TextWriter {
    writer: TelnetWriter,
    encoder: TextEncoder,
    buffer: Vec<u8>,
}

impl TextWriter {
    /// Encode text for `writer` with `encoding`, handling unmappable characters as
    /// `mode` says.
    ///
    /// # Errors
    ///
    /// [`Error::Text`] when the encoding cannot be written (UTF-16).
    pub fn new(writer: TelnetWriter, encoding: &Encoding, mode: ErrorMode) -> Result<Self, Error> {
        Ok(Self {
            encoder: encoding.encoder(mode)?,
            writer,
            buffer: Vec::new(),
        })
    }

    /// Encode and queue `text`, with the back-pressure of [`TelnetWriter::write`].
    ///
    /// # Errors
    ///
    /// [`Error::Text`] for an unmappable character in strict mode (nothing of `text` is
    /// sent then), or [`Error::Closed`].
    pub async fn write(&mut self, text: &str) -> Result<(), Error> {
        self.buffer.clear();
        self.encoder.encode(text, &mut self.buffer)?;
        self.writer.write(&self.buffer).await
    }

    /// [`TextWriter::write`] then CR LF.
    ///
    /// # Errors
    ///
    /// As [`TextWriter::write`].
    pub async fn write_line(&mut self, line: &str) -> Result<(), Error> {
        self.write(line).await?;
        self.writer.write(b"\r\n").await
    }

    /// The bytes writer underneath, for commands and protocol state.
    pub fn bytes(&mut self) -> &mut TelnetWriter {
        &mut self.writer
    }
}

/// The encoding a server should use, as telnetlib3's server chooses: US-ASCII until
/// BINARY is agreed both ways (unless `force_binary`); then LANG from NEW-ENVIRON (not
/// `C`), else the CHARSET agreed, else `default`.
#[must_use]
pub fn negotiated_encoding(session: &Session, default: &Encoding, force_binary: bool) -> Encoding {
    use telnetlib3_proto::TelnetOption;
    let binary =
        session.local_enabled(TelnetOption::Binary) && session.remote_enabled(TelnetOption::Binary);
    if !binary && !force_binary {
        return Encoding::from_name("US-ASCII").unwrap_or_else(|_| default.clone());
    }
    let lang = session
        .environ_var("LANG")
        .and_then(|variable| variable.value.clone())
        .and_then(|value| String::from_utf8(value).ok());
    lang.as_deref()
        .and_then(crate::text::encoding_from_lang)
        .or_else(|| {
            session
                .charset()
                .and_then(|name| Encoding::from_name(name).ok())
        })
        .unwrap_or_else(|| default.clone())
}
