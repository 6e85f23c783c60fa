"""Connect with telnetlib3 5.0.1's client, read up to the prompt, print what it saw.

Usage: client_view.py PORT. Prints one line per fact, `key=value`, then exits.
"""
import asyncio
import sys

import telnetlib3


async def main(port: int) -> None:
    reader, writer = await telnetlib3.open_connection(
        "127.0.0.1",
        port,
        term="xterm-256color",
        cols=132,
        rows=43,
        encoding="utf8",
        connect_maxwait=2.0,
    )
    text = ""
    while "tel:sh> " not in text:
        chunk = await asyncio.wait_for(reader.read(1024), 5)
        if not chunk:
            break
        text += chunk
    print(f"text={text!r}")
    print(f"writer={writer!r}")
    print(f"mode={writer.mode}")
    print(f"charset={writer.get_extra_info('charset')}")
    writer.close()


asyncio.run(main(int(sys.argv[1])))
