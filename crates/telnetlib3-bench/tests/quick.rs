//! The bench's smoke run: `telnetlib3-bench --quick` exits 0 within a bounded time and
//! prints a table row for every case. The figures are never looked at.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(120);

#[test]
fn quick_run_prints_a_row_per_case() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_telnetlib3-bench"))
        .arg("--quick")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the bench starts");
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        stdout.read_to_string(&mut text).expect("stdout is UTF-8");
        text
    });
    let mut stderr = child.stderr.take().expect("stderr");
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting on the bench") {
            break status;
        }
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("telnetlib3-bench --quick took over {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let text = reader.join().expect("stdout reader");
    let errors = errors.join().expect("stderr reader");
    assert!(status.success(), "{status}\n{text}\n{errors}");
    let rows: Vec<&str> = text.lines().filter(|l| l.starts_with("| ")).collect();
    // No case failed (a failure also makes the exit status non-zero, checked above).
    assert!(
        !rows.iter().any(|row| row.contains("| error: ")),
        "a case failed:\n{text}"
    );
    for (case, implementations) in [
        (
            "1 s2c bulk ASCII",
            &["tokio pump", "telnetlib3-rs", "Python telnetlib3"][..],
        ),
        (
            "2 s2c bulk 10% IAC",
            &["tokio pump", "telnetlib3-rs", "Python telnetlib3"][..],
        ),
        (
            "3 c2s bulk ASCII (kludge mode, SLC on)",
            &["tokio pump", "telnetlib3-rs", "Python telnetlib3"][..],
        ),
        (
            "3b c2s bulk 10% IAC (kludge mode, SLC on)",
            &["tokio pump", "telnetlib3-rs", "Python telnetlib3"][..],
        ),
        (
            "3c c2s bulk ASCII (line mode)",
            &["telnetlib3-rs", "Python telnetlib3"][..],
        ),
        (
            "3d c2s bulk 10% IAC (line mode)",
            &["telnetlib3-rs", "Python telnetlib3"][..],
        ),
        (
            "3e kludge+SLC / line mode, c2s ASCII",
            &["telnetlib3-rs", "Python telnetlib3"][..],
        ),
        (
            "3f kludge+SLC / line mode, c2s 10% IAC",
            &["telnetlib3-rs", "Python telnetlib3"][..],
        ),
        (
            "6 s2c UTF-8 text API read(64 KiB)",
            &["telnetlib3-rs", "Python telnetlib3"][..],
        ),
        (
            "6a s2c same UTF-8 data, bytes API read(64 KiB)",
            &["tokio pump", "telnetlib3-rs", "Python telnetlib3"][..],
        ),
        (
            "6b text API / bytes API",
            &["telnetlib3-rs", "Python telnetlib3"][..],
        ),
        (
            "4 conn rate, minimal negotiation",
            &["tokio pump", "telnetlib3-rs", "Python telnetlib3"][..],
        ),
        (
            "4b conn rate, full negotiation",
            &["telnetlib3-rs", "Python telnetlib3"][..],
        ),
        (
            "7 p99 connect-to-greeting, 50 in flight, minimal",
            &["tokio pump", "telnetlib3-rs", "Python telnetlib3"][..],
        ),
        (
            "7b p99 connect-to-greeting, 50 in flight, full",
            &["telnetlib3-rs", "Python telnetlib3"][..],
        ),
        (
            "8 server CPU per connection, minimal",
            &["tokio pump", "telnetlib3-rs", "Python telnetlib3"][..],
        ),
        (
            "8b server CPU per connection, full",
            &["telnetlib3-rs", "Python telnetlib3"][..],
        ),
        (
            "9 connect-to-shell p50, 1 in flight, minimal",
            &["tokio pump", "telnetlib3-rs", "Python telnetlib3"][..],
        ),
        (
            "9b connect-to-shell p50, 1 in flight, full",
            &["telnetlib3-rs", "Python telnetlib3"][..],
        ),
        (
            "5 server RSS per idle connection, 1000 held",
            &["tokio pump", "telnetlib3-rs", "Python telnetlib3"][..],
        ),
        (
            "10 server RSS per idle connection, 10000 held",
            &["tokio pump", "telnetlib3-rs", "Python telnetlib3"][..],
        ),
        (
            "10b time to open 10000 / time to open 1000",
            &["tokio pump", "telnetlib3-rs", "Python telnetlib3"][..],
        ),
        (
            "14 TLS s2c bulk ASCII",
            &["tokio pump", "telnetlib3-rs", "Python telnetlib3"][..],
        ),
        (
            "14a TLS s2c bulk ASCII, read by the server's own library's client",
            &["telnetlib3-rs", "Python telnetlib3"][..],
        ),
        (
            "14b TLS handshakes/s, 50 in flight",
            &["tokio pump", "telnetlib3-rs", "Python telnetlib3"][..],
        ),
        (
            "14c p99 connect-to-first-bytes over TLS, 50 in flight",
            &["tokio pump", "telnetlib3-rs", "Python telnetlib3"][..],
        ),
        (
            "14d server CPU per TLS connection",
            &["tokio pump", "telnetlib3-rs", "Python telnetlib3"][..],
        ),
        (
            "14e server RSS per idle TLS connection, 1000 held",
            &["tokio pump", "telnetlib3-rs", "Python telnetlib3"][..],
        ),
        (
            "14f idle TLS RSS / idle plain RSS (case 5)",
            &["tokio pump", "telnetlib3-rs", "Python telnetlib3"][..],
        ),
        (
            "15 MCCP2 s2c bulk MUD text, uncompressed",
            &["zlib-rs in memory", "telnetlib3-rs", "Python telnetlib3"][..],
        ),
        (
            "15a MCCP2 bulk / zlib-rs compressing in memory",
            &["telnetlib3-rs"][..],
        ),
        (
            "15b server RSS per idle MCCP2 connection, 1000 held",
            &["telnetlib3-rs"][..],
        ),
        (
            "15c the same with the compressor kept (no idle release)",
            &["telnetlib3-rs"][..],
        ),
        (
            "15d the same without compression (anchor)",
            &["telnetlib3-rs"][..],
        ),
        (
            "15e compression ratio on the MUD text (level 9, wbits 12, memLevel 5)",
            &["telnetlib3-rs", "zlib-rs in memory"][..],
        ),
        (
            "15f compression ratio, zlib's best (level 9, wbits 15, memLevel 9)",
            &["zlib-rs in memory"][..],
        ),
        (
            "15g ratio: ours (9, wbits 12, memLevel 5), a sync flush per line",
            &["zlib-rs in memory"][..],
        ),
        (
            "15h ratio: ours, a sync flush per MUD write (a room and its prompt, ~0.3 KiB)",
            &["zlib-rs in memory"][..],
        ),
        (
            "15i ratio: ours, one stream without flushes",
            &["zlib-rs in memory"][..],
        ),
        (
            "15j ratio: ours with zlib's window (wbits 15), no flushes",
            &["zlib-rs in memory"][..],
        ),
        (
            "15k ratio: ours with zlib's memLevel (8), no flushes",
            &["zlib-rs in memory"][..],
        ),
        (
            "15l ratio: level 9 with zlib's defaults otherwise (wbits 15, memLevel 8), no flushes",
            &["zlib-rs in memory"][..],
        ),
        (
            "15m ratio: zlib's defaults (level 6, wbits 15, memLevel 8), no flushes",
            &["zlib-rs in memory"][..],
        ),
    ] {
        for implementation in implementations {
            assert!(
                rows.iter()
                    .any(|row| row.starts_with(&format!("| {case} ("))
                        && row.contains(&format!("| {implementation}"))),
                "no row for {case} / {implementation}:\n{text}"
            );
        }
    }
    // Case 18's own table: plain, + metrics, its cost, + record, its cost.
    for case in [
        "18a s2c bulk ASCII, 64 KiB writes (case 1)",
        "18b s2c bulk dump lines, 84-byte writes",
        "18c connection rate, minimal client (case 4)",
        "18d server CPU per connection (case 4)",
    ] {
        assert!(
            rows.iter().any(
                |row| row.starts_with(&format!("| {case} | ")) && row.matches('%').count() >= 2
            ),
            "no row for {case}:\n{text}"
        );
    }
    assert!(
        text.lines()
            .any(|line| line.starts_with("18e the asciicast writer alone") && line.contains("MB/s")),
        "no 18e line:\n{text}"
    );
}
