"""telnetlib3 5.0.1's client (compression passive, its default) against a server that
offers MCCP2 and MCCP3: read up to `END`, answer with a line of 20000 bytes, read the
server's verdict, and print what was seen and whether both streams ran.

Usage: mccp_client.py PORT.
"""
import asyncio
import sys

import telnetlib3


async def main(port: int) -> None:
    reader, writer = await telnetlib3.open_connection(
        "127.0.0.1", port, encoding="utf8", connect_maxwait=2.0
    )
    text = ""
    while "END\r\n" not in text:
        chunk = await asyncio.wait_for(reader.read(65536), 5)
        if not chunk:
            break
        text += chunk
    print(f"mccp2={writer.mccp2_active} mccp3={writer.mccp3_active}")
    print(f"received={len(text)} lines={text.count('fox')}")
    writer.write("y" * 20000 + "\r\n")
    verdict = ""
    while "\n" not in verdict:
        chunk = await asyncio.wait_for(reader.read(1024), 5)
        if not chunk:
            break
        verdict += chunk
    print(f"verdict={verdict.strip()}")
    writer.close()


asyncio.run(main(int(sys.argv[1])))
