"""Connect with telnetlib3 5.0.1's client in an encoding, exchange one line each way.

Usage: text_client.py PORT ENCODING. Prints `got=<repr of the server's first line>` and
`reply=<repr of its second line>`.
"""
import asyncio
import sys

import telnetlib3


async def readline(reader) -> str:
    text = ""
    while not text.endswith("\n"):
        chunk = await asyncio.wait_for(reader.read(1), 5)
        if not chunk:
            break
        text += chunk
    return text


async def main(port: int, encoding: str) -> None:
    reader, writer = await telnetlib3.open_connection(
        "127.0.0.1", port, encoding=encoding, force_binary=True, connect_maxwait=2.0
    )
    print(f"got={await readline(reader)!r}", flush=True)
    writer.write("╚═╝ ½ ü\r\n")
    print(f"reply={await readline(reader)!r}", flush=True)
    writer.close()


asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
