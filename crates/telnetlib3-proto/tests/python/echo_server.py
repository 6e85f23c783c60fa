"""Run telnetlib3 5.0.1's server as a bytes echo: every byte read is written back.

Usage: echo_server.py PORT. Prints `ready` once listening.
"""
import asyncio
import sys

import telnetlib3


async def shell(reader, writer):
    while True:
        data = await reader.read(65536)
        if not data:
            break
        writer.write(data)
        await writer.drain()
    writer.close()


async def main(port: int) -> None:
    server = await telnetlib3.create_server(
        host="127.0.0.1", port=port, shell=shell, encoding=False, connect_maxwait=1.0
    )
    print("ready", flush=True)
    await server.wait_closed()


asyncio.run(main(int(sys.argv[1])))
