"""Log into a prompt-driven server with telnetlib3 5.0.1's client and print what it read.

Usage: login_client.py PORT NAME. Reads up to `name? `, answers NAME, reads to the end of
the connection, and prints each part's repr on a line of its own.
"""
import asyncio
import sys

import telnetlib3


async def main(port: int, name: str) -> None:
    reader, writer = await telnetlib3.open_connection(
        "127.0.0.1",
        port,
        term="xterm-256color",
        cols=132,
        rows=43,
        encoding=False,
        connect_maxwait=2.0,
    )
    greeting = await asyncio.wait_for(reader.readuntil(b"name? "), 10)
    print(repr(greeting))
    writer.write(name.encode() + b"\r\n")
    rest = await asyncio.wait_for(reader.read(), 10)
    print(repr(rest))
    writer.close()


asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
