"""Run telnetlib3 5.0.1's server with a shell that reports what it saw, then closes.

Usage: server_view.py PORT. Prints `ready` once listening; for each connection the shell
writes `key=value` lines to the client and to stdout, then hangs up.
"""
import asyncio
import sys

import telnetlib3


async def shell(reader, writer):
    facts = {
        "TERM": writer.get_extra_info("TERM"),
        "cols": writer.get_extra_info("cols"),
        "rows": writer.get_extra_info("rows"),
        "LANG": writer.get_extra_info("LANG"),
        "charset": writer.get_extra_info("charset"),
        "tspeed": writer.get_extra_info("tspeed"),
        "mode": writer.mode,
        "writer": repr(writer),
    }
    for key, value in facts.items():
        line = f"{key}={value}"
        print(line, flush=True)
        writer.write(line + "\r\n")
    await writer.drain()
    writer.close()


async def main(port: int) -> None:
    server = await telnetlib3.create_server(
        host="127.0.0.1", port=port, shell=shell, connect_maxwait=2.0
    )
    print("ready", flush=True)
    await server.wait_closed()


asyncio.run(main(int(sys.argv[1])))
