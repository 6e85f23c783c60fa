//! telnetlib3's `robot_shell`: where a connection that failed `--robot-check` goes (the
//! check itself is the library's [`telnetlib3::robot_check`]).

use std::time::Duration;

use telnetlib3::proto::TelnetOption;
use telnetlib3::{TelnetReader, TelnetWriter};
use tracing::info;

use crate::shell::LineEditor;

/// How long each question waits for its answer (telnetlib3's `_ask_question`).
pub const ANSWER_WAIT: Duration = Duration::from_secs(10);

/// telnetlib3's `robot_shell`: `Do robots dream of electric sheep? [yn] `, then
/// `Have you ever wondered, who are the windowmakers? `, each asked again on a blank
/// answer and waited for [`ANSWER_WAIT`] (echoed when we echo), then the connection
/// closes. The answers are only logged.
pub async fn robot_shell(mut reader: TelnetReader, mut writer: TelnetWriter) {
    info!("robot_shell: connection from {}", writer.peer());
    let mut lines = Lines::default();
    let mut answers = Vec::new();
    let questions = [
        (
            "Do robots dream of electric sheep? [yn] ",
            "timeout waiting for response",
        ),
        (
            "\r\nHave you ever wondered, who are the windowmakers? ",
            "timeout on second question",
        ),
    ];
    for (question, on_timeout) in questions {
        match lines.ask(&mut reader, &mut writer, question).await {
            Some(answer) => answers.push(answer),
            None => {
                info!("robot_shell: {on_timeout}");
                break;
            }
        }
    }
    if answers.len() == questions.len() {
        let _ = writer.write(b"\r\n").await;
    }
    if !answers.is_empty() {
        info!("robot denied, answers={}", python_list(&answers));
    }
    writer.close().await;
}

/// Lines typed by the client, with what came after the last one kept for the next.
#[derive(Default)]
struct Lines {
    editor: LineEditor,
    rest: Vec<u8>,
}

impl Lines {
    /// Write `question` until a line that is not blank comes; `None` on a timeout or
    /// the end of the connection.
    async fn ask(
        &mut self,
        reader: &mut TelnetReader,
        writer: &mut TelnetWriter,
        question: &str,
    ) -> Option<String> {
        loop {
            writer.write(question.as_bytes()).await.ok()?;
            let line = tokio::time::timeout(ANSWER_WAIT, self.line(reader, writer))
                .await
                .ok()??;
            if !line.trim().is_empty() {
                return Some(line);
            }
            writer.write(b"\r\n").await.ok()?;
        }
    }

    /// The next line, echoed when we echo; `None` at the end of the connection.
    async fn line(
        &mut self,
        reader: &mut TelnetReader,
        writer: &mut TelnetWriter,
    ) -> Option<String> {
        let mut echo = Vec::new();
        loop {
            if self.rest.is_empty() {
                self.rest = reader.read(1024).await.ok()?;
                if self.rest.is_empty() {
                    return None;
                }
            }
            // A guard reads bytes as Latin-1, as telnetlib3's does: any byte is kept.
            self.editor.set_single_byte(true);
            let echoing = writer.local_enabled(TelnetOption::Echo);
            let (used, line) = self.editor.feed(&self.rest, echoing, &mut echo);
            self.rest.drain(..used);
            if !echo.is_empty() {
                writer.write(&echo).await.ok()?;
                echo.clear();
            }
            if let Some(line) = line {
                return Some(line.iter().map(|&b| char::from(b)).collect());
            }
        }
    }
}

/// `answers` as Python's `repr` of a list of strings: `['y', "it's"]`.
fn python_list(answers: &[String]) -> String {
    let items: Vec<String> = answers.iter().map(|answer| python_str(answer)).collect();
    format!("[{}]", items.join(", "))
}

/// Python's `repr` of a string (printable ASCII and Latin-1 as is, the rest escaped).
fn python_str(text: &str) -> String {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::from(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || (0x7f..0xa1).contains(&(c as u32)) || c == '\u{ad}' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::python_list;

    #[test]
    fn answers_are_logged_as_python_shows_a_list() {
        let answers = ["n".to_owned(), "it's\x01".to_owned(), "a'\"b\\".to_owned()];
        assert_eq!(python_list(&answers), r#"['n', "it's\x01", 'a\'"b\\']"#);
    }
}
