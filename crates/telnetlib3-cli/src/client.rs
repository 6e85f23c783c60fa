//! The non-interactive pump of `telnetlib3-client`: standard input to the server, the
//! server's data to standard output.

use std::io::{self, Write};

use telnetlib3::{TelnetReader, TelnetWriter};
use tokio::sync::mpsc;
use tracing::debug;

/// Why the pump stopped early.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PumpError {
    /// The connection failed.
    #[error(transparent)]
    Connection(#[from] telnetlib3::Error),
    /// The output could not be written.
    #[error("cannot write output: {0}")]
    Output(io::Error),
}

/// Send every chunk received on `input` to the server as data (the NVT rules turn `\n`
/// into CR LF), and write the server's data to `output` as it arrives, flushing each time.
/// Returns when the server closes the connection; when `input` ends first, keeps reading
/// until then. A closed `output` (a broken pipe) also ends the pump, quietly.
///
/// # Errors
///
/// [`PumpError::Connection`] when the connection fails, [`PumpError::Output`] when
/// `output` fails otherwise.
pub async fn pump<W: Write>(
    reader: &mut TelnetReader,
    writer: &mut TelnetWriter,
    mut input: mpsc::Receiver<Vec<u8>>,
    output: &mut W,
) -> Result<(), PumpError> {
    let mut input_open = true;
    loop {
        tokio::select! {
            read = reader.read(64 * 1024) => {
                let data = read?;
                if data.is_empty() {
                    debug!("server closed the connection");
                    return Ok(());
                }
                let written = output.write_all(&data).and_then(|()| output.flush());
                match written {
                    Ok(()) => {}
                    Err(error) if error.kind() == io::ErrorKind::BrokenPipe => {
                        debug!("output closed");
                        return Ok(());
                    }
                    Err(error) => return Err(PumpError::Output(error)),
                }
            }
            chunk = input.recv(), if input_open => match chunk {
                Some(data) => writer.write(&data).await?,
                None => {
                    debug!("end of input; waiting for the server to close");
                    input_open = false;
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use telnetlib3::proto::TelnetOption;
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
        pump(&mut reader, &mut writer, rx, &mut output)
            .await
            .unwrap();
        script.await.unwrap();
        assert_eq!(output, b"hi\xff\r\nbye");
        assert!(writer.with_session(|s| s.remote_enabled(TelnetOption::Echo)));
    }
}
