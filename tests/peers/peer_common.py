"""What the Python peer servers share: TLS from the command line and the stdin lifeline."""

import asyncio
import ssl
import sys


def tls_from_args():
    """An SSL context from `CERT KEY` arguments, or None when the peer runs plain ws://."""
    if len(sys.argv) != 3:
        return None
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(sys.argv[1], sys.argv[2])
    return tls


async def until_stdin_closes():
    """Returns when the test that started us closes our stdin (or dies)."""
    loop = asyncio.get_running_loop()
    closed = loop.create_future()

    class Stdin(asyncio.Protocol):
        def connection_lost(self, exc):
            if not closed.done():
                closed.set_result(None)

    await loop.connect_read_pipe(Stdin, sys.stdin)
    await closed
