"""telnetlib3 5.0.1's client (compression passive, its default) against a server whose
MCCP2 stream ends while idle and starts again with the next output: read up to `first`,
then up to `second`, and print what arrived and whether MCCP2 runs (telnetlib3 clears
`mccp2_active` at a stream's end and sets it at the next start).

Usage: mccp_restart_client.py PORT.
"""
import asyncio
import sys

import telnetlib3


async def main(port: int) -> None:
    reader, writer = await telnetlib3.open_connection(
        "127.0.0.1", port, encoding="utf8", connect_maxwait=2.0
    )
    text = ""
    for word in ("first\r\n", "second\r\n"):
        while word not in text:
            chunk = await asyncio.wait_for(reader.read(65536), 5)
            if not chunk:
                break
            text += chunk
    print(f"text={text!r} mccp2={writer.mccp2_active}", flush=True)
    # We close: the server finishes its stream when it closes, which would end MCCP2
    # here before the print if it closed first.
    writer.close()


asyncio.run(main(int(sys.argv[1])))
