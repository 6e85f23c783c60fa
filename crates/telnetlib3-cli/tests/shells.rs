//! `--shell PROGRAM` (a program with pipes, as inetd runs one) and `--shell relay`
//! (telnetlib3's relay shell), through the real server binary.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{start_server, Raw, SERVER};
use telnetlib3::{create_server, open_connection, ClientConfig, ServerConfig};
use telnetlib3_cli::relay::{relay_shell, RelayConfig};

/// A client of `port` that agrees to the server's WILL ECHO (so that the server echoes)
/// and waits for the shell to start.
fn client_with_echo(port: u16) -> Raw {
    let mut client = Raw::connect(port);
    client.send(b"\xff\xfd\x01");
    client
}

#[test]
fn a_program_gets_whole_lines_and_its_output_ends_in_crlf() {
    let (_server, port) = start_server(&[
        "--connect-maxwait",
        "0.2",
        "--shell",
        "/bin/sh",
        "--",
        "-c",
        "echo ready; while read line; do echo \"got:$line\"; done",
    ]);
    let mut client = client_with_echo(port);
    client.read_until(b"ready\r\n");
    // Typed in pieces, with a correction: the program sees only the finished line.
    client.send(b"hel");
    client.send(b"x\x7flo\r\n");
    // The server's echo (backspace erased on screen), then the program's answer.
    client.expect(b"helx\x08 \x08lo\r\ngot:hello\r\n");
}

#[test]
fn interrupt_signals_the_program_and_eof_ends_its_input() {
    let (_server, port) = start_server(&[
        "--connect-maxwait",
        "0.2",
        "--shell",
        "/bin/sh",
        "--",
        "-c",
        // A `read` interrupted by the signal fails with a status over 128: read again.
        "trap 'echo interrupted' INT; echo ready; \
         while :; do read line; status=$?; \
         if [ $status -eq 0 ]; then echo \"got:$line\"; \
         elif [ $status -le 128 ]; then break; fi; done; echo end-of-input",
    ]);
    let mut client = client_with_echo(port);
    client.read_until(b"ready\r\n");
    client.send(b"dropped\x03");
    client.expect(b"dropped^C");
    client.expect(b"interrupted\r\n");
    // ^D in the middle of a line does nothing; on an empty line, end of input.
    client.send(b"a\x04\x7f\x04");
    client.read_until(b"end-of-input\r\n");
    client.expect_close();
}

/// A program that writes more than a pipe holds before it reads, while the client types
/// ahead more than a pipe holds: both go on (the program's input waits in a queue while
/// its output is read), and every line arrives.
#[test]
fn output_and_type_ahead_larger_than_a_pipe_do_not_wait_on_each_other() {
    let (_server, port) = start_server(&[
        "--connect-maxwait",
        "0.2",
        "--line-mode",
        "--shell",
        "/bin/sh",
        "--",
        "-c",
        "head -c 300000 /dev/zero | tr '\\0' x; echo; echo ready; \
         while read line; do echo \"got:$line\"; done",
    ]);
    let mut client = Raw::connect(port);
    let mut sending = client.stream.try_clone().unwrap();
    let lines = 2000;
    let typing = std::thread::spawn(move || {
        use std::io::Write;
        for n in 0..lines {
            sending
                .write_all(format!("{n:048}\r\n").as_bytes())
                .unwrap();
        }
    });
    client.read_until(b"ready\r\n");
    let last = format!("got:{:048}\r\n", lines - 1);
    let answers = client.read_until(last.as_bytes());
    typing.join().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&answers).matches("got:").count(),
        lines
    );
}

#[test]
fn a_program_gets_the_pty_programs_environment() {
    let (_server, port) = start_server(&["--connect-maxwait", "0.2", "--shell", "/usr/bin/env"]);
    let mut client = Raw::connect(port);
    // The environment, sorted by name, after the opening negotiation.
    let output = client.read_until(b"TERM=xterm\r\n");
    let output = String::from_utf8_lossy(&output);
    let wanted = ["COLUMNS=", "LANG=", "LINES=", "REMOTEHOST=", "TERM="];
    let start = output.find("COLUMNS=").expect("the environment");
    let lines: Vec<&str> = output[start..]
        .split("\r\n")
        .filter(|line| wanted.iter().any(|name| line.starts_with(name)))
        .collect();
    assert_eq!(
        lines,
        [
            "COLUMNS=80",
            "LANG=en_US.UTF-8",
            "LINES=25",
            "REMOTEHOST=127.0.0.1",
            "TERM=xterm"
        ],
        "{output}"
    );
    client.expect_close();
}

#[test]
fn shell_flags_refuse_bad_combinations_in_one_line() {
    for (flags, message) in [
        (
            &["--shell", "relay"][..],
            "--relay-to HOST:PORT and --shell relay go together",
        ),
        (
            &["--relay-to", "h:23"][..],
            "--relay-to HOST:PORT and --shell relay go together",
        ),
        (
            &["--shell", "/bin/cat", "--pty-exec", "/bin/sh"][..],
            "--pty-exec and --shell PROGRAM each run a program",
        ),
        (&["--shell", "/no/such/program"][..], "/no/such/program"),
        (
            &["--relay-to", "nohost", "--shell", "relay"][..],
            "'nohost' is not HOST:PORT",
        ),
    ] {
        let output = Command::new(SERVER)
            .args(["127.0.0.1", "0"])
            .args(flags)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{flags:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{flags:?}: {stderr}");
        assert!(stderr.contains(message), "{flags:?}: {stderr}");
    }
}

/// Read from `reader` until `text` has come; what came.
async fn read_until(reader: &mut telnetlib3::TelnetReader, text: &str) -> String {
    let mut seen = String::new();
    while !seen.contains(text) {
        let data = tokio::time::timeout(Duration::from_secs(10), reader.read(4096))
            .await
            .unwrap_or_else(|_| panic!("no {text:?}; got {seen:?}"))
            .unwrap();
        assert!(!data.is_empty(), "closed before {text:?}; got {seen:?}");
        seen.push_str(&String::from_utf8_lossy(&data));
    }
    seen
}

fn local_config() -> ServerConfig {
    let mut config = ServerConfig::default();
    config.host = "127.0.0.1".into();
    config.port = 0;
    config.connect_maxwait = Duration::from_millis(500);
    config
}

/// A server running the relay shell with `relay`.
async fn relay_server(relay: RelayConfig) -> telnetlib3::Server {
    create_server(local_config(), move |reader, writer| {
        let relay = relay.clone();
        async move { relay_shell(reader, writer, &relay).await }
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn the_relay_asks_the_passcode_then_pipes_to_the_next_hop() {
    // The next hop says what it learned of the client, then echoes lines.
    let next_hop = create_server(local_config(), |mut reader, mut writer| async move {
        let (cols, rows) = writer.window_size();
        let hello = format!("next hop: {} {cols}x{rows}\r\n", writer.terminal_type());
        let _ = writer.write(hello.as_bytes()).await;
        while let Ok(line) = reader.read_line().await {
            if line.is_empty()
                || writer
                    .write(&[b"echo: ", &line[..]].concat())
                    .await
                    .is_err()
            {
                break;
            }
        }
    })
    .await
    .unwrap();
    let relay = RelayConfig {
        host: "127.0.0.1".into(),
        port: next_hop.local_addrs()[0].port(),
        passcode: Some("1234".into()),
    };
    let relay_server = relay_server(relay).await;

    let mut client_config = ClientConfig::default();
    client_config.term = "xterm-relayed".into();
    (client_config.cols, client_config.rows) = (100, 30);
    let port = relay_server.local_addrs()[0].port();
    let (mut reader, mut writer) = open_connection("127.0.0.1", port, client_config)
        .await
        .unwrap();
    assert_eq!(
        read_until(&mut reader, "Passcode: ").await,
        "Telnet Relay shell ready.\r\n\r\nPasscode: "
    );
    writer.write(b"0000\r\n").await.unwrap();
    // Not echoed; after the pause, a new prompt.
    assert_eq!(
        read_until(&mut reader, "Passcode: ").await,
        "\r\nPasscode: "
    );
    writer.write(b"1234\r\n").await.unwrap();
    let hop = next_hop.local_addrs()[0].port();
    // The next hop learned the client's terminal type and window size.
    assert_eq!(
        read_until(&mut reader, "30\r\n").await,
        format!("\r\nConnecting to 127.0.0.1:{hop} ... connected!\r\nnext hop: xterm-relayed 100x30\r\n")
    );
    writer.write(b"through\r\n").await.unwrap();
    assert_eq!(read_until(&mut reader, "\r\n").await, "echo: through\r\n");
}

/// A paste far larger than the sockets hold, through the relay to a next hop that echoes
/// it: the echo is read while the paste still goes out, and all of it comes back.
#[tokio::test]
async fn the_relay_moves_both_ways_at_once() {
    let next_hop = create_server(local_config(), |mut reader, mut writer| async move {
        while let Ok(data) = reader.read(16 * 1024).await {
            if data.is_empty() || writer.write(&data).await.is_err() {
                break;
            }
        }
    })
    .await
    .unwrap();
    let relay = RelayConfig {
        host: "127.0.0.1".into(),
        port: next_hop.local_addrs()[0].port(),
        passcode: None,
    };
    let relay_server = relay_server(relay).await;
    let port = relay_server.local_addrs()[0].port();
    let (mut reader, mut writer) = open_connection("127.0.0.1", port, ClientConfig::default())
        .await
        .unwrap();
    read_until(&mut reader, "connected!\r\n").await;
    const PASTE: usize = 32 << 20;
    let paste = tokio::spawn(async move {
        let line = [b'p'; 1023];
        let mut sent = 0;
        while sent < PASTE {
            writer.write(&[&line[..], b"\n"].concat()).await.unwrap();
            sent += 1024;
        }
        writer
    });
    let mut echoed = 0;
    while echoed < PASTE {
        let data = tokio::time::timeout(Duration::from_secs(30), reader.read(64 * 1024))
            .await
            .unwrap_or_else(|_| panic!("stuck after {echoed} bytes of echo"))
            .unwrap();
        assert!(!data.is_empty(), "closed after {echoed} bytes");
        echoed += data
            .iter()
            .filter(|&&byte| byte == b'p' || byte == b'\n')
            .count();
    }
    assert_eq!(echoed, PASTE);
    let _writer = paste.await.unwrap();
}

#[tokio::test]
async fn three_wrong_passcodes_close_the_connection() {
    let relay = RelayConfig {
        host: "127.0.0.1".into(),
        port: 1,
        passcode: Some("1234".into()),
    };
    let relay_server = relay_server(relay).await;
    let port = relay_server.local_addrs()[0].port();
    let (mut reader, mut writer) = open_connection("127.0.0.1", port, ClientConfig::default())
        .await
        .unwrap();
    writer.write(b"1\r\n2\r\n3\r\n").await.unwrap();
    let mut seen = String::new();
    while let Ok(data) = tokio::time::timeout(Duration::from_secs(10), reader.read(4096))
        .await
        .unwrap()
    {
        if data.is_empty() {
            break;
        }
        seen.push_str(&String::from_utf8_lossy(&data));
    }
    assert_eq!(
        seen,
        "Telnet Relay shell ready.\r\n\r\nPasscode: \r\nPasscode: \r\nPasscode: \r\n"
    );
}

/// A job the program leaves running in the background (`cmd &`) ends with the
/// connection: the server hangs up the program's process group once the program is gone.
#[test]
fn a_background_job_of_the_program_ends_with_the_connection() {
    let pid_file = std::env::temp_dir().join(format!("telnetlib3-bgjob-{}", std::process::id()));
    let script = format!(
        "sleep 300 & echo $! > {}; echo ready",
        pid_file.to_string_lossy()
    );
    let (_server, port) = start_server(&[
        "--connect-maxwait",
        "0.2",
        "--shell",
        "/bin/sh",
        "--",
        "-c",
        &script,
    ]);
    let mut client = client_with_echo(port);
    client.read_until(b"ready\r\n");
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let _ = std::fs::remove_file(&pid_file);
    let proc_dir = std::path::PathBuf::from(format!("/proc/{}", pid.trim()));
    assert!(proc_dir.exists(), "the job did not start");
    // The program is done: the connection ends, and the job with it.
    client.expect_close();
    // Gone, or a zombie left for whoever reaps orphans here.
    let alive = || {
        std::fs::read_to_string(proc_dir.join("stat")).is_ok_and(|stat| {
            stat.rsplit(')')
                .next()
                .is_some_and(|rest| !rest.starts_with(" Z"))
        })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while alive() {
        assert!(
            std::time::Instant::now() < deadline,
            "the background job {} outlived the connection",
            pid.trim()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
