//! The MCCP cases (issue 15): MCCP2 s2c bulk of MUD-like text beside the same zlib
//! compressing the same data in memory, the RSS of idle compressed connections, and the
//! compression ratio beside zlib's best.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use telnetlib3::{create_server, open_connection, ClientConfig};
use tokio::time::timeout;
use zlib_rs::{Deflate, DeflateConfig, DeflateFlush, Method, Status, Strategy};

use super::{local_server_config, port_of, wait_for_binary, ChildServer, BLOCK, HOST, IN_FLIGHT};

/// MUD-like text, `BLOCK` bytes: room titles and descriptions in ANSI colours, exits,
/// who is here, combat lines and prompts, picked by a fixed pseudo-random sequence
/// (deterministic: every run, ours and Python's, sends the same bytes).
pub(crate) fn mud_block() -> Vec<u8> {
    const ROOMS: [(&str, &str); 6] = [
        (
            "The Temple Square",
            "You are standing in the square before the temple of Midgaard. A fountain \
             splashes in the middle, and pigeons pick at crumbs between the cobbles. \
             The temple's great doors stand open to the north.",
        ),
        (
            "Main Street",
            "The main street of the city runs east and west here. Merchants call out \
             their wares from stalls on both sides, and the smell of fresh bread drifts \
             from the bakery to the south.",
        ),
        (
            "The Dark Forest",
            "Tall trees close in on every side, their branches blotting out the sky. \
             The path is narrow and overgrown, and something moves in the undergrowth \
             just out of sight.",
        ),
        (
            "A Dusty Tavern",
            "Smoke hangs beneath the low beams of the tavern. Rough wooden tables are \
             crowded with adventurers swapping stories, and a bard tunes his lute by \
             the fire.",
        ),
        (
            "The City Gate",
            "The great stone gate of the city towers above you. Guards in polished \
             armour watch the road that winds away to the west, toward the forest.",
        ),
        (
            "On the River Bank",
            "The river flows swiftly past, its water clear and cold. A small boat is \
             tied to a wooden post, and reeds rustle in the breeze.",
        ),
    ];
    const MOBS: [&str; 5] = [
        "A cityguard stands here, watching for trouble.",
        "A fat merchant is haggling with a customer.",
        "A large black wolf growls at you.",
        "The bartender polishes a glass.",
        "A beggar holds out a trembling hand.",
    ];
    const EXITS: [&str; 4] = ["north south", "east west", "north east south", "west"];
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |n: usize| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        usize::try_from(seed >> 33).unwrap_or(0) % n
    };
    let mut text = String::new();
    while text.len() < BLOCK {
        let (title, description) = ROOMS[next(ROOMS.len())];
        text.push_str(&format!("\x1b[1;36m{title}\x1b[0m\r\n"));
        text.push_str(&format!("   {description}\r\n"));
        let exits = EXITS[next(EXITS.len())];
        text.push_str(&format!("\x1b[0;32m[ Exits: {exits} ]\x1b[0m\r\n"));
        for _ in 0..next(3) {
            text.push_str(&format!("\x1b[0;33m{}\x1b[0m\r\n", MOBS[next(MOBS.len())]));
        }
        if next(3) == 0 {
            let damage = 1 + next(40);
            text.push_str(&format!(
                "\x1b[1;31mThe wolf bites you! [{damage}]\x1b[0m\r\n\
                 \x1b[1;32mYou slash the wolf. [{}]\x1b[0m\r\n",
                damage + next(20)
            ));
        }
        let (hp, mana, moves) = (100 + next(400), 50 + next(200), 80 + next(120));
        text.push_str(&format!(
            "\x1b[0;37m<\x1b[1;32m{hp}hp \x1b[1;34m{mana}m \x1b[1;33m{moves}mv\x1b[0;37m> \x1b[0m\r\n"
        ));
    }
    let mut block = text.into_bytes();
    block.truncate(BLOCK);
    block
}

/// A compressor: `level`, `window_bits`, `mem_level`.
fn deflater(level: i32, window_bits: i32, mem_level: i32) -> Deflate {
    Deflate::new_with_config(DeflateConfig {
        level,
        method: Method::Deflated,
        window_bits,
        mem_level,
        strategy: Strategy::Default,
    })
}

/// Compress `block` `times` times into one stream, flushing with `flush` after each,
/// then finish; returns the compressed size.
fn compress_stream(
    deflate: &mut Deflate,
    block: &[u8],
    times: usize,
    flush: DeflateFlush,
) -> usize {
    compress_pieces(deflate, std::iter::repeat_n(block, times), flush)
}

/// Compress `pieces` into one stream, flushing with `flush` after each but the last,
/// which finishes it; returns the compressed size.
fn compress_pieces<'a>(
    deflate: &mut Deflate,
    pieces: impl ExactSizeIterator<Item = &'a [u8]>,
    flush: DeflateFlush,
) -> usize {
    let mut out = vec![0; BLOCK + BLOCK / 100 + 1024];
    let mut total = 0;
    let count = pieces.len();
    for (n, piece) in pieces.enumerate() {
        let flush = if n + 1 == count {
            DeflateFlush::Finish
        } else {
            flush
        };
        let mut rest = piece;
        loop {
            let (before_in, before_out) = (deflate.total_in(), deflate.total_out());
            let status = deflate.compress(rest, &mut out, flush);
            let consumed = usize::try_from(deflate.total_in() - before_in).unwrap_or(0);
            let produced = usize::try_from(deflate.total_out() - before_out).unwrap_or(0);
            total += produced;
            rest = &rest[consumed..];
            let done = match status {
                Ok(Status::StreamEnd) | Err(_) => true,
                Ok(_) => flush != DeflateFlush::Finish && rest.is_empty() && produced < out.len(),
            };
            if done {
                break;
            }
        }
    }
    total
}

/// Per run: MB/s of `block` compressed `total / block` times by zlib-rs in memory with the
/// library's MCCP settings (level 9, wbits 12, memLevel 5), one sync flush per block (the
/// driver flushes each batch it sends).
pub(crate) fn zlib_in_memory(block: &[u8], total: usize, runs: usize) -> Vec<f64> {
    (0..runs)
        .map(|_| {
            let mut deflate = deflater(9, 12, 5);
            let start = Instant::now();
            let _ = compress_stream(
                &mut deflate,
                block,
                total / block.len(),
                DeflateFlush::SyncFlush,
            );
            total as f64 / start.elapsed().as_secs_f64() / 1e6
        })
        .collect()
}

/// Uncompressed / compressed for `block` repeated `times`: with the library's settings
/// and a sync flush per block (what MCCP2 sends), and with zlib's best (level 9, wbits
/// 15, memLevel 9, one stream, no flushes).
pub(crate) fn ratios(block: &[u8], times: usize) -> (f64, f64) {
    (
        ratio(block, times, (9, 12, 5), Writes::Blocks),
        ratio(block, times, (9, 15, 9), Writes::None),
    )
}

/// Where the MUD text is cut into writes: how often the compressor is flushed.
#[derive(Clone, Copy)]
pub(crate) enum Writes {
    /// One stream, no flush until its end: zlib's best case.
    None,
    /// A sync flush per 64 KiB block (a bulk writer's batches).
    Blocks,
    /// A sync flush per MUD write: a room (or a combat round) and its prompt, some
    /// 300 bytes, as a MUD server sends them and telnetlib3 flushes each write.
    Rooms,
    /// A sync flush per line.
    Lines,
}

/// The ratio gap between our compressor and zlib's best, split into its causes: each
/// row changes one thing from ours (level 9, wbits 12, memLevel 5, a flush per write)
/// toward zlib's best (level 9, wbits 15, memLevel 9, one stream without flushes), or
/// is zlib's default level.
pub(crate) const RATIO_BREAKDOWN: [(&str, i32, i32, i32, Writes); 7] = [
    (
        "15g ratio: ours (9, wbits 12, memLevel 5), a sync flush per line",
        9,
        12,
        5,
        Writes::Lines,
    ),
    (
        "15h ratio: ours, a sync flush per MUD write (a room and its prompt, ~0.3 KiB)",
        9,
        12,
        5,
        Writes::Rooms,
    ),
    (
        "15i ratio: ours, one stream without flushes",
        9,
        12,
        5,
        Writes::None,
    ),
    (
        "15j ratio: ours with zlib's window (wbits 15), no flushes",
        9,
        15,
        5,
        Writes::None,
    ),
    (
        "15k ratio: ours with zlib's memLevel (8), no flushes",
        9,
        12,
        8,
        Writes::None,
    ),
    (
        "15l ratio: level 9 with zlib's defaults otherwise (wbits 15, memLevel 8), no flushes",
        9,
        15,
        8,
        Writes::None,
    ),
    (
        "15m ratio: zlib's defaults (level 6, wbits 15, memLevel 8), no flushes",
        6,
        15,
        8,
        Writes::None,
    ),
];

/// Uncompressed / compressed for `block` repeated `times`, compressed with `level`,
/// `window_bits` and `mem_level`, flushed as `writes` says.
pub(crate) fn ratio(
    block: &[u8],
    times: usize,
    (level, window_bits, mem_level): (i32, i32, i32),
    writes: Writes,
) -> f64 {
    let plain = (block.len() * times) as f64;
    let mut deflate = deflater(level, window_bits, mem_level);
    let cuts: Vec<&[u8]> = match writes {
        Writes::None | Writes::Blocks => vec![block],
        // A prompt line ends each room or round.
        Writes::Rooms => {
            let mut writes = Vec::new();
            let (mut start, mut at) = (0, 0);
            for line in block.split_inclusive(|&b| b == b'\n') {
                at += line.len();
                if line.ends_with(b"> \x1b[0m\r\n") || at == block.len() {
                    writes.push(&block[start..at]);
                    start = at;
                }
            }
            writes
        }
        Writes::Lines => block.split_inclusive(|&b| b == b'\n').collect(),
    };
    let flush = match writes {
        Writes::None => DeflateFlush::NoFlush,
        _ => DeflateFlush::SyncFlush,
    };
    let pieces = (0..times).flat_map(|_| cuts.iter().copied());
    let pieces: Vec<&[u8]> = pieces.collect();
    plain / compress_pieces(&mut deflate, pieces.into_iter(), flush) as f64
}

/// Per run: MB/s (uncompressed) of `total` bytes of `block` from our server with MCCP2
/// on (offered, as `compression=True`) to our client, which decompresses; and the wire's
/// ratio (decompressed / compressed bytes the client read) of the last run.
pub(crate) async fn bulk_ours(
    block: &Arc<Vec<u8>>,
    total: usize,
    runs: usize,
) -> Result<(Vec<f64>, f64)> {
    let mut config = local_server_config();
    config.compression = Some(true);
    config.connect_maxwait = Duration::from_millis(500);
    let shell_block = Arc::clone(block);
    let server = create_server(config, move |mut reader, mut writer| {
        let block = Arc::clone(&shell_block);
        async move {
            if !matches!(reader.read(1).await, Ok(go) if !go.is_empty()) {
                return;
            }
            let mut sent = 0;
            while sent < total {
                if writer.write(&block).await.is_err() {
                    return;
                }
                sent += block.len();
            }
            let _ = writer.drain().await;
            while matches!(reader.read(BLOCK).await, Ok(data) if !data.is_empty()) {}
        }
    })
    .await?;
    let port = port_of(&server);
    let mut samples = Vec::new();
    let mut ratio = 0.0;
    for _ in 0..runs {
        let mut client = ClientConfig::default();
        client.connect_maxwait = Duration::from_secs(1);
        let (mut reader, mut writer) = open_connection(HOST, port, client).await?;
        wait_for_binary(&writer).await;
        let deadline = Instant::now() + Duration::from_secs(5);
        while !writer.with_session(|s| s.input_compressed()) {
            if Instant::now() > deadline {
                bail!("MCCP2 never started");
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let before = writer.stats();
        let start = Instant::now();
        writer.write(b"g").await?;
        let mut got = 0;
        while got < total {
            let data = reader.read(BLOCK).await?;
            if data.is_empty() {
                bail!("our server closed after {got} of {total} bytes");
            }
            got += data.len();
        }
        samples.push(total as f64 / start.elapsed().as_secs_f64() / 1e6);
        let after = writer.stats();
        ratio = (after.decompressed_in - before.decompressed_in) as f64
            / (after.compressed_in - before.compressed_in).max(1) as f64;
        writer.close().await;
    }
    server.close();
    Ok((samples, ratio))
}

/// Per run: the server's RSS per idle connection (KiB), `count` held, for a child server
/// with MCCP2 offered (`compression`: `Some(true)` releases the compressor of an idle
/// connection after `MCCP_IDLE_RELEASE`, `Some(false)` keeps it, `None` no compression:
/// the plain anchor), measured after the release delay and a second.
pub(crate) async fn idle_compressed(
    compression: Option<bool>,
    count: usize,
    runs: usize,
) -> Result<Vec<f64>> {
    let mut samples = Vec::new();
    for _ in 0..runs {
        let mut command = tokio::process::Command::new(std::env::current_exe()?);
        command.arg("idle-server");
        match compression {
            Some(true) => {
                command.args(["--compression", "release"]);
            }
            Some(false) => {
                command.args(["--compression", "keep"]);
            }
            None => {}
        }
        let server = ChildServer::start(command).await?;
        let port = server.port;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let before = server.rss_kib()?;
        let next = Arc::new(AtomicUsize::new(0));
        let workers: Vec<_> = (0..IN_FLIGHT)
            .map(|_| {
                let next = Arc::clone(&next);
                tokio::spawn(async move {
                    let mut held = Vec::new();
                    while next.fetch_add(1, Ordering::Relaxed) < count {
                        let open = async {
                            let (mut reader, writer) =
                                open_connection(HOST, port, ClientConfig::default()).await?;
                            let line = reader.read_line().await?;
                            if !line.ends_with(b"\n") {
                                bail!("no greeting");
                            }
                            let compressed = writer.with_session(|s| s.input_compressed());
                            if compressed != compression.is_some() {
                                bail!("MCCP2 {}", if compressed { "on" } else { "off" });
                            }
                            anyhow::Ok((reader, writer))
                        };
                        held.push(
                            timeout(Duration::from_secs(20), open)
                                .await
                                .map_err(|_| anyhow!("a connection took over 20 s"))??,
                        );
                    }
                    anyhow::Ok(held)
                })
            })
            .collect();
        let mut held = Vec::new();
        for worker in workers {
            held.extend(worker.await??);
        }
        // Past the release (5 s after each connection's last output), and settled.
        let settle = match compression {
            Some(_) => telnetlib3::MCCP_IDLE_RELEASE + Duration::from_secs(1),
            None => Duration::from_millis(500),
        };
        tokio::time::sleep(settle).await;
        let after = server.rss_kib()?;
        samples.push((after - before) / count as f64);
        drop(held);
        server.stop().await;
    }
    Ok(samples)
}
