//! One connection of `telnetlib3-server`: negotiate, then the debug shell.

use std::time::Duration;

use telnetlib3::proto::{Config, Policy, Role, Session, TelnetOption};
use telnetlib3::{Connection, Error};
use tokio::io::{AsyncRead, AsyncWrite};
use tracing::debug;

use crate::shell;

/// What the server agrees to when the client asks: to echo, suppress go-ahead and send
/// binary; to let the client send its terminal type, binary, and suppress go-ahead.
#[must_use]
pub fn policy() -> Policy {
    Policy::new()
        .allow_local(TelnetOption::Echo)
        .allow_local(TelnetOption::Sga)
        .allow_local(TelnetOption::Binary)
        .allow_remote(TelnetOption::Ttype)
        .allow_remote(TelnetOption::Sga)
        .allow_remote(TelnetOption::Binary)
}

/// The server's requests at the start of a connection, in the order they are sent
/// (telnetlib3's relative order): `DO TTYPE`, `WILL SGA`, `WILL ECHO`.
pub const OPENING: [(bool, TelnetOption); 3] = [
    (false, TelnetOption::Ttype),
    (true, TelnetOption::Sga),
    (true, TelnetOption::Echo),
];

/// Serve one connection: send the opening requests, wait until they are answered or
/// `connect_maxwait` passes, then run [`shell::debug_shell`].
///
/// # Errors
///
/// [`Error::Io`] when the connection fails.
pub async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    peer: &str,
    connect_maxwait: Duration,
) -> Result<(), Error> {
    let mut session = Session::new(Role::Server, Config::with_policy(policy()));
    for (local, option) in OPENING {
        let requested = if local {
            session.request_local(option, true)
        } else {
            session.request_remote(option, true)
        };
        if let Err(error) = requested {
            debug!("cannot request {option}: {error}");
        }
    }
    let mut conn = Connection::new(stream, session);
    let complete = conn.negotiate(connect_maxwait).await?;
    debug!(complete, "negotiation finished");
    if conn.peer_closed() && conn.buffered().is_empty() {
        return Ok(());
    }
    shell::debug_shell(&mut conn, peer).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{duplex, AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn a_client_that_answers_gets_the_prompt_without_waiting() {
        let (ours, mut client) = duplex(4096);
        // A maxwait this long would time the test out if negotiation were not tracked.
        let server =
            tokio::spawn(
                async move { serve(ours, "127.0.0.1 4000", Duration::from_secs(3600)).await },
            );
        let mut buf = [0; 9];
        client.read_exact(&mut buf).await.unwrap();
        assert_eq!(buf, *b"\xff\xfd\x18\xff\xfb\x03\xff\xfb\x01");
        // WONT TTYPE, DO SGA, DO ECHO, then the commands.
        client
            .write_all(b"\xff\xfc\x18\xff\xfd\x03\xff\xfd\x01help\r\nquit\r\n")
            .await
            .unwrap();
        let mut got = Vec::new();
        client.read_to_end(&mut got).await.unwrap();
        assert_eq!(
            got,
            [
                &b"Ready.\r\ntel:sh> help\r\n"[..],
                crate::debug::HELP.as_bytes(),
                b"\r\ntel:sh> quit\r\nGoodbye.\r\n"
            ]
            .concat()
        );
        server.await.unwrap().unwrap();
    }
}
