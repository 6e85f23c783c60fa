//! The non-interactive pump of `telnetlib3-client`: standard input to the server, the
//! server's data to standard output.

use std::io::{self, Write};

use telnetlib3::proto::{Config, Policy, Role, Session};
use telnetlib3::Connection;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tracing::debug;

/// A fresh client session with telnetlib3 5.0.1's client policy
/// ([`Policy::client`]): it reports its terminal type (`$TERM`, else `unknown`) and the
/// default window size, and never echoes.
#[must_use]
pub fn session() -> Session {
    let mut config = Config::with_policy(Policy::client());
    let term = std::env::var("TERM").unwrap_or_else(|_| "unknown".to_string());
    config.ttype.types = vec![term];
    Session::new(Role::Client, config)
}

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
pub async fn pump<S, W>(
    conn: &mut Connection<S>,
    mut input: mpsc::Receiver<Vec<u8>>,
    output: &mut W,
) -> Result<(), PumpError>
where
    S: AsyncRead + AsyncWrite + Unpin,
    W: Write,
{
    let mut buf = vec![0; telnetlib3::READ_BUFFER_SIZE];
    let mut input_open = true;
    loop {
        tokio::select! {
            read = conn.read(&mut buf) => {
                let n = read?;
                if n == 0 {
                    debug!("server closed the connection");
                    return Ok(());
                }
                let written = output.write_all(&buf[..n]).and_then(|()| output.flush());
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
                Some(data) => conn.write(&data).await?,
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
    use tokio::io::{duplex, AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn pumps_both_ways_and_answers_negotiation() {
        let (ours, mut server) = duplex(4096);
        let mut conn = Connection::new(ours, session());
        let (tx, rx) = mpsc::channel(4);
        let mut output = Vec::new();
        let script = tokio::spawn(async move {
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
        pump(&mut conn, rx, &mut output).await.unwrap();
        script.await.unwrap();
        assert_eq!(output, b"hi\xff\r\nbye");
        assert!(conn
            .session()
            .remote_enabled(telnetlib3::proto::TelnetOption::Echo));
    }
}
