//! The seed README's two examples, built by `cargo test`, run against each other.

mod support;

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::python::Reaped;

/// Build the two examples as programs (under `cargo test` they are only compiled, or
/// built as test harnesses) and return the path of `name`.
fn example(name: &str) -> PathBuf {
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "-p", "telnetlib3"])
        .args(["--example", "server_wargame", "--example", "client_wargame"])
        .status()
        .unwrap();
    assert!(status.success(), "cannot build the examples");
    // `target/<profile>/deps/this-test` -> `target/<profile>/examples/NAME`.
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join(name);
    assert!(path.exists(), "{} missing", path.display());
    path
}

#[test]
fn the_client_plays_the_server_war_game() {
    let mut server = Reaped(
        Command::new(example("server_wargame"))
            .arg("0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(server.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line.trim().rsplit(':').next().unwrap().to_string();
    assert!(line.starts_with("listening on "), "{line}");

    let mut client = Reaped(
        Command::new(example("client_wargame"))
            .arg(&port)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    while client.0.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the client did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut output = String::new();
    client
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut output)
        .unwrap();
    assert!(client.0.wait().unwrap().success());
    assert_eq!(
        output,
        "\r\nWould you like to play a game? \r\nThey say the only way to win is to not play at all.\r\n"
    );
}
