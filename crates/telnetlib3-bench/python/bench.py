"""Python telnetlib3 5.0.1's side of telnetlib3-bench.

Usage:
  bench.py bulk s2c|c2s BLOCKFILE TOTAL RUNS [--line-mode] [--text]
      telnetlib3's server and client in this one process; for each run one connection
      moves TOTAL bytes (BLOCKFILE repeated) and the elapsed seconds are printed, one
      line per run: `elapsed=SECONDS`. --line-mode: the server's line_mode (no WILL
      ECHO / WILL SGA, so no kludge mode); --text: the client reads UTF-8 text
      (encoding="utf8", force_binary) instead of bytes (s2c only; BLOCKFILE must be
      whole UTF-8 characters). --lines: the server writes BLOCKFILE in 84-byte write()
      calls, draining only at the end; --lines-drained: write(line) then drain() per
      84-byte line. --tls CERT KEY CA: over TLS (the server's certificate and key, the
      CA the client verifies it with).
  bench.py dump KB RUNS
      telnetlib3's default shell and a client in this one process; for each run the
      client sends `dump KB` and reads to its `KB OK`; prints `mbps=MB/S` per run.
  bench.py expect PORT SIZE RUNS
      telnetlib3's client against the bench's own server on PORT: sends `go SIZE`, and
      times readuntil_pattern(rb"[#>] $") over the SIZE bytes and prompt that come;
      prints `elapsed=SECONDS` per run.
  bench.py greet-server [CERT KEY]
      a server whose shell writes `hello\\r\\n` and then waits for the client to close;
      prints `port=N` once listening. With CERT and KEY (PEM files): over TLS.
  bench.py tls-s2c-server CERT KEY BLOCKFILE TOTAL
      a TLS server whose shell writes `hello\\r\\n`, waits for one byte, writes TOTAL
      bytes (BLOCKFILE repeated, write + drain per block) and waits for the client to
      close; prints `port=N` once listening. The client (the Rust bench) times it.
"""
import asyncio
import re
import ssl
import sys
import time

import telnetlib3

END = b"#END#\r\n"


LINE = 84


async def bulk(
    direction: str,
    block: bytes,
    total: int,
    runs: int,
    line_mode: bool,
    text: bool,
    pieces: str,
    tls=None,
    compression=False,
) -> None:
    finished = asyncio.Queue()
    lines = [block[i : i + LINE] for i in range(0, len(block), LINE)]

    async def transfer(reader, writer):
        if direction == "s2c":
            go = await reader.read(1)
            if not go:
                return
            sent = 0
            while sent < total:
                if pieces == "lines":
                    for line in lines:
                        writer.write(line)
                elif pieces == "lines-drained":
                    for line in lines:
                        writer.write(line)
                        await writer.drain()
                else:
                    writer.write(block)
                    await writer.drain()
                sent += len(block)
            await writer.drain()
        else:
            got = 0
            while got < total:
                data = await reader.read(65536)
                if not data:
                    break
                got += len(data)
            writer.write(END)
            await writer.drain()
        await reader.read(1)

    async def shell(reader, writer):
        # The client may close with our output unread (a reset): the run is timed
        # already, and the next run must not wait for this one.
        try:
            await transfer(reader, writer)
        except ConnectionError:
            pass
        finally:
            writer.close()
            finished.put_nowait(None)

    server = await telnetlib3.create_server(
        host="127.0.0.1",
        port=0,
        shell=shell,
        encoding=False,
        connect_maxwait=0.5,
        line_mode=line_mode,
        ssl=server_context(*tls[:2]) if tls else None,
        **({"compression": True} if compression else {}),
    )
    client_ssl = ssl.create_default_context(cafile=tls[2]) if tls else None
    port = server.sockets[0].getsockname()[1]
    # Text: count characters, since the reader hands out str.
    chars_total = len(block.decode("utf-8")) * (total // len(block)) if text else 0
    for _ in range(runs):
        if text:
            reader, writer = await telnetlib3.open_connection(
                "127.0.0.1",
                port,
                encoding="utf8",
                force_binary=True,
                connect_maxwait=0.5,
                ssl=client_ssl,
            )
        else:
            reader, writer = await telnetlib3.open_connection(
                "127.0.0.1", port, encoding=False, connect_maxwait=0.5, ssl=client_ssl
            )
        if text:
            start = time.perf_counter()
            writer.write("g")
            got = 0
            while got < chars_total:
                data = await reader.read(65536)
                if not data:
                    raise SystemExit(f"server closed after {got} characters")
                got += len(data)
            elapsed = time.perf_counter() - start
        elif direction == "s2c":
            start = time.perf_counter()
            writer.write(b"g")
            got = 0
            while got < total:
                data = await reader.read(65536)
                if not data:
                    raise SystemExit(f"server closed after {got} bytes")
                got += len(data)
            elapsed = time.perf_counter() - start
        else:

            async def until_end():
                seen = b""
                while END not in seen:
                    data = await reader.read(65536)
                    if not data:
                        raise SystemExit("server closed before the end mark")
                    seen = (seen + data)[-64:]

            start = time.perf_counter()
            waiter = asyncio.ensure_future(until_end())
            sent = 0
            while sent < total:
                writer.write(block)
                sent += len(block)
                await writer.drain()
            await waiter
            elapsed = time.perf_counter() - start
        if compression:
            print(f"mccp2={writer.mccp2_active}", flush=True)
        writer.close()
        await asyncio.wait_for(finished.get(), 10)
        print(f"elapsed={elapsed:.6f}", flush=True)
    server.close()


async def dump(kb: int, runs: int) -> None:
    server = await telnetlib3.create_server(
        host="127.0.0.1", port=0, connect_maxwait=0.5, shell=telnetlib3.telnet_server_shell
    )
    port = server.sockets[0].getsockname()[1]
    mark = f"{kb} OK".encode()

    async def read_through(reader, mark: bytes) -> int:
        seen, got = b"", 0
        while mark not in seen:
            data = await reader.read(65536)
            if not data:
                raise SystemExit(f"server closed after {got} bytes")
            got += len(data)
            seen = (seen + data)[-64:]
        return got

    for _ in range(runs):
        reader, writer = await telnetlib3.open_connection(
            "127.0.0.1", port, encoding=False, connect_maxwait=0.5
        )
        await read_through(reader, b"tel:sh> ")
        start = time.perf_counter()
        writer.write(f"dump {kb}\r\n".encode())
        got = await read_through(reader, mark)
        elapsed = time.perf_counter() - start
        print(f"mbps={got / elapsed / 1e6:.3f}", flush=True)
        writer.close()
    server.close()



async def expect(port: int, size: int, runs: int) -> None:
    """Issue 16's expect case: against our server's `go SIZE` (SIZE bytes of output in
    100-byte writes, then a prompt), the time to readuntil_pattern the prompt."""
    prompt = re.compile(rb"[#>] $")
    for _ in range(runs):
        reader, writer = await telnetlib3.open_connection(
            "127.0.0.1", port, encoding=False, connect_maxwait=0.5, limit=1 << 26
        )
        start = time.perf_counter()
        writer.write(f"go {size}\r\n".encode())
        data = await reader.readuntil_pattern(prompt)
        elapsed = time.perf_counter() - start
        if len(data) != size + len(b"router# "):
            raise SystemExit(f"read {len(data)} bytes, not {size} and the prompt")
        print(f"elapsed={elapsed:.6f}", flush=True)
        writer.close()


def server_context(cert, key):
    if cert is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


async def serve(cert=None, key=None) -> None:
    async def shell(reader, writer):
        writer.write(b"hello\r\n")
        await writer.drain()
        while await reader.read(4096):
            pass
        writer.close()

    server = await telnetlib3.create_server(
        host="127.0.0.1",
        port=0,
        shell=shell,
        encoding=False,
        connect_maxwait=0.5,
        ssl=server_context(cert, key),
    )
    print(f"port={server.sockets[0].getsockname()[1]}", flush=True)
    await server.wait_closed()


async def tls_s2c_server(cert, key, block: bytes, total: int) -> None:
    async def shell(reader, writer):
        try:
            writer.write(b"hello\r\n")
            await writer.drain()
            if not await reader.read(1):
                return
            sent = 0
            while sent < total:
                writer.write(block)
                await writer.drain()
                sent += len(block)
            while await reader.read(4096):
                pass
        except ConnectionError:
            pass
        finally:
            writer.close()

    server = await telnetlib3.create_server(
        host="127.0.0.1",
        port=0,
        shell=shell,
        encoding=False,
        connect_maxwait=0.5,
        ssl=server_context(cert, key),
    )
    print(f"port={server.sockets[0].getsockname()[1]}", flush=True)
    await server.wait_closed()


def main() -> None:
    mode = sys.argv[1]
    if mode == "bulk":
        with open(sys.argv[3], "rb") as f:
            block = f.read()
        flags = sys.argv[6:]
        tls = flags[flags.index("--tls") + 1 :][:3] if "--tls" in flags else None
        asyncio.run(
            bulk(
                sys.argv[2],
                block,
                int(sys.argv[4]),
                int(sys.argv[5]),
                "--line-mode" in flags,
                "--text" in flags,
                "lines-drained"
                if "--lines-drained" in flags
                else "lines" if "--lines" in flags else "blocks",
                tls,
                "--compression" in flags,
            )
        )
    elif mode == "dump":
        asyncio.run(dump(int(sys.argv[2]), int(sys.argv[3])))
    elif mode == "expect":
        asyncio.run(expect(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])))
    elif mode == "greet-server":
        asyncio.run(serve(*sys.argv[2:4]))
    elif mode == "tls-s2c-server":
        with open(sys.argv[4], "rb") as f:
            block = f.read()
        asyncio.run(tls_s2c_server(sys.argv[2], sys.argv[3], block, int(sys.argv[5])))
    else:
        raise SystemExit(f"unknown mode {mode}")


main()
