"""Interop peer: a `websockets` (asyncio API) server for tests/interop_python_websockets.rs.

Usage: python websockets_server.py [CERT_PEM KEY_PEM]

Binds 127.0.0.1 on a port the OS picks, prints that port as one line on stdout, then serves
until stdin closes (or the process is killed). The protocol it speaks is described in
tests/interop/mod.rs: data messages are echoed, except text messages starting with "cmd:".

PEER_DEFLATE in the environment turns permessage-deflate on: `default` (the library's
defaults) or `no-context` (no context takeover either way). Without it, it is declined.
"""

import asyncio
import os

from websockets.asyncio.server import serve
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory

from peer_common import tls_from_args, until_stdin_closes

# Same content as FRAGMENTED_TEXT / FRAGMENTED_BINARY in tests/interop/mod.rs, split where
# this library can split: `send` takes an iterable and sends each item as a frame (whole
# characters for text), then an empty final continuation frame.
TEXT_FRAGMENTS = ["fragmented ", "message: ", "\u2713 \u00e9 \U0001F600"]
BINARY_FRAGMENTS = [bytes(range(0, 100)), bytes(range(100, 200)), bytes(range(200, 256))]

# The close code the client sent on the connection that ended last, once one has.
last_close = None
a_connection_ended = None  # asyncio.Event, made inside the loop


async def command(ws, cmd):
    if cmd == "fragment":
        await ws.send(TEXT_FRAGMENTS)
        await ws.send(BINARY_FRAGMENTS)
    elif cmd.startswith("ping:"):
        payload = cmd[len("ping:"):].encode()
        # The waiter completes only on a pong carrying exactly this payload.
        pong_waiter = await ws.ping(payload)
        try:
            await asyncio.wait_for(pong_waiter, 5)
        except asyncio.TimeoutError:
            await ws.send("pong-timeout")
            return
        await ws.send("pong:" + payload.decode())
    elif cmd == "subprotocol":
        await ws.send("subprotocol:" + (ws.subprotocol or ""))
    elif cmd.startswith("close:"):
        code, reason = cmd[len("close:"):].split(":", 1)
        await ws.close(int(code), reason)
    elif cmd == "last-close":
        try:
            await asyncio.wait_for(a_connection_ended.wait(), 5)
        except asyncio.TimeoutError:
            await ws.send("last-close-timeout")
            return
        await ws.send("last-close:" + str(last_close))
    else:
        await ws.send("unknown-command:" + cmd)


async def handler(ws):
    global last_close
    try:
        async for message in ws:
            if isinstance(message, str) and message.startswith("cmd:"):
                await command(ws, message[len("cmd:"):])
            else:
                await ws.send(message)
    finally:
        # The code of the Close frame received from the client (None without one).
        last_close = ws.close_code
        a_connection_ended.set()


async def main():
    global a_connection_ended
    a_connection_ended = asyncio.Event()
    tls = tls_from_args()
    deflate = os.environ.get("PEER_DEFLATE")
    compression = "deflate" if deflate == "default" else None
    extensions = None
    if deflate == "no-context":
        extensions = [ServerPerMessageDeflateFactory(server_no_context_takeover=True, client_no_context_takeover=True)]
    async with serve(
        handler,
        "127.0.0.1",
        0,
        ssl=tls,
        subprotocols=["chat.v2"],
        max_size=None,
        compression=compression,
        extensions=extensions,
        ping_interval=None,
    ) as server:
        port = server.sockets[0].getsockname()[1]
        print(port, flush=True)
        await until_stdin_closes()
        # The tests are gone: leave at once, without closing handshakes with anyone.
        os._exit(0)


if __name__ == "__main__":
    asyncio.run(main())
