"""telnetlib3 5.0.1's server with compression=True (MCCP2 and MCCP3 offered) and its
own shell, telnet_server_shell, on 127.0.0.1.

Usage: mccp_server.py PORT. Prints `ready` once listening, then serves until killed.
"""
import asyncio
import sys

import telnetlib3


async def main(port: int) -> None:
    await telnetlib3.create_server(
        host="127.0.0.1",
        port=port,
        shell=telnetlib3.telnet_server_shell,
        compression=True,
        connect_maxwait=1.0,
    )
    print("ready", flush=True)
    await asyncio.Event().wait()


asyncio.run(main(int(sys.argv[1])))
