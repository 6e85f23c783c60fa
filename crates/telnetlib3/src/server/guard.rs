//! telnetlib3's robot check: does the client render text like a terminal? Scanners and
//! bots do not answer a cursor position request.

use std::time::Duration;

use crate::{TelnetReader, TelnetWriter};

/// How long [`robot_check`] waits for each cursor position report by default
/// (telnetlib3's `robot_check(timeout=5.0)`).
pub const ROBOT_CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// A CPR (`ESC [ row ; column R`) is this short; what the client sends before it (typed
/// ahead, a bot's banner) is skipped, up to this much (telnetlib3's guard input limit).
const MOST_BEFORE_REPORT: usize = 2048;

/// Device Status Report, "report the cursor position" (ECMA-48 8.3.35).
const DSR_CPR: &[u8] = b"\x1b[6n";

/// The character whose width is measured: a space, one column on any terminal.
const TEST_CHAR: &[u8] = b" ";

/// telnetlib3's `robot_check`: ask the client for its cursor position (`ESC [6n`),
/// write a space, ask again, and pass if the cursor moved one column; then the space is
/// wiped (`ESC [<col>G`, spaces, `ESC [<col>G`). A client that does not answer a request
/// within `timeout`, or answers with something else, fails. Bytes before a report are
/// consumed.
///
/// ```no_run
/// use telnetlib3::{robot_check, ROBOT_CHECK_TIMEOUT};
///
/// # async fn shell(mut reader: telnetlib3::TelnetReader, mut writer: telnetlib3::TelnetWriter) {
/// if !robot_check(&mut reader, &mut writer, ROBOT_CHECK_TIMEOUT).await {
///     let _ = writer.write(b"Goodbye, robot.\r\n").await;
///     return;
/// }
/// # }
/// ```
pub async fn robot_check(
    reader: &mut TelnetReader,
    writer: &mut TelnetWriter,
    timeout: Duration,
) -> bool {
    let Some(before) = cursor_column(reader, writer, timeout).await else {
        return false;
    };
    if writer.write(TEST_CHAR).await.is_err() {
        return false;
    }
    let Some(after) = cursor_column(reader, writer, timeout).await else {
        return false;
    };
    let moved = after.saturating_sub(before);
    let mut wipe = format!("\x1b[{before}G").into_bytes();
    wipe.resize(wipe.len() + usize::from(moved), b' ');
    wipe.extend_from_slice(format!("\x1b[{before}G").as_bytes());
    let _ = writer.write(&wipe).await;
    moved == 1
}

/// Ask for the cursor position and return its column, or `None` if no report came
/// within `timeout`.
async fn cursor_column(
    reader: &mut TelnetReader,
    writer: &mut TelnetWriter,
    timeout: Duration,
) -> Option<u16> {
    writer.write(DSR_CPR).await.ok()?;
    tokio::time::timeout(timeout, read_report(reader))
        .await
        .ok()
        .flatten()
        .map(|(_row, column)| column)
}

/// Read up to an `R` that ends a cursor position report, and parse it.
async fn read_report(reader: &mut TelnetReader) -> Option<(u16, u16)> {
    let mut seen = 0;
    loop {
        let chunk = reader.read_until(b"R").await.ok()?;
        if chunk.is_empty() || !chunk.ends_with(b"R") {
            return None; // end of input
        }
        if let Some(report) = parse_report(&chunk) {
            return Some(report);
        }
        seen += chunk.len();
        if seen > MOST_BEFORE_REPORT {
            return None;
        }
    }
}

/// `ESC [ row ; column R` at the end of `data`.
fn parse_report(data: &[u8]) -> Option<(u16, u16)> {
    let start = memchr::memrchr(0x1b, data)?;
    let body = data[start..].strip_prefix(b"\x1b[")?.strip_suffix(b"R")?;
    let text = std::str::from_utf8(body).ok()?;
    let (row, column) = text.split_once(';')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(row) || !digits(column) {
        return None;
    }
    Some((row.parse().ok()?, column.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::parse_report;

    #[test]
    fn reports_parse_after_other_bytes_and_nothing_else_does() {
        assert_eq!(parse_report(b"\x1b[12;40R"), Some((12, 40)));
        assert_eq!(parse_report(b"typed\x1b[1;2R"), Some((1, 2)));
        assert_eq!(parse_report(b"\x1b[1;2xR"), None);
        assert_eq!(parse_report(b"\x1b[;2R"), None);
        assert_eq!(parse_report(b"R"), None);
        assert_eq!(parse_report(b"\x1b[99999999;2R"), None);
    }
}
