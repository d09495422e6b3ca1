"""Interop peer: an `aiohttp` web server with a WebSocket route, for tests/interop_aiohttp.rs.

Usage: python aiohttp_server.py [CERT_PEM KEY_PEM]

Binds 127.0.0.1 on a port the OS picks, prints that port as one line on stdout, then serves
until stdin closes (or the process is killed). The protocol it speaks is described in
tests/interop/mod.rs: data messages are echoed, except text messages starting with "cmd:".

PEER_DEFLATE=default in the environment turns permessage-deflate on (aiohttp's `compress`,
which also honours the client's no-context-takeover requests). Without it, it is declined.

Fragmentation: aiohttp 3.14 has no API for sending a message in several frames.
`WebSocketResponse.send_frame(data, opcode)` (public) and the writer below it always set FIN.
So the non-final frames are written by hand to the connection's own transport
(`request.transport`, which is aiohttp's TLS transport for wss), and the final frame is a
continuation frame sent through `send_frame(data, WSMsgType.CONTINUATION)`.
"""

import asyncio
import os
import struct

from aiohttp import WSMsgType, web

from peer_common import tls_from_args, until_stdin_closes

# Same content as FRAGMENTED_TEXT / FRAGMENTED_BINARY in tests/interop/mod.rs; the text is
# split inside the 4-byte UTF-8 sequence of U+1F600.
TEXT = "fragmented message: \u2713 \u00e9 \U0001F600".encode()
TEXT_FRAGMENTS = [TEXT[:12], TEXT[12:-2], TEXT[-2:]]
BINARY = bytes(range(256))
BINARY_FRAGMENTS = [BINARY[:100], BINARY[100:200], BINARY[200:]]

# The close code the client sent on the connection that ended last, once one has.
last_close = None
a_connection_ended = None  # asyncio.Event, made inside the loop


def non_final_frame(opcode, payload):
    """An unmasked server frame with FIN clear (payload under 64 KiB)."""
    if len(payload) < 126:
        return struct.pack("!BB", opcode, len(payload)) + payload
    return struct.pack("!BBH", opcode, 126, len(payload)) + payload


async def send_fragmented(request, ws, opcode, fragments):
    *first, last = fragments
    for i, chunk in enumerate(first):
        request.transport.write(non_final_frame(opcode if i == 0 else WSMsgType.CONTINUATION, chunk))
    await ws.send_frame(last, WSMsgType.CONTINUATION)


async def handler(request):
    try:
        return await serve_websocket(request)
    finally:
        a_connection_ended.set()


async def serve_websocket(request):
    global last_close
    ws = web.WebSocketResponse(
        protocols=("chat.v2",),
        max_msg_size=0,  # no limit: the tests echo 4 MiB
        autoping=False,  # pongs come to the loop below, so the ping command can check them
        compress=os.environ.get("PEER_DEFLATE") == "default",
    )
    await ws.prepare(request)
    pending_ping = None
    async for msg in ws:
        if msg.type == WSMsgType.TEXT:
            if not msg.data.startswith("cmd:"):
                await ws.send_str(msg.data)
                continue
            cmd = msg.data[len("cmd:"):]
            if cmd == "fragment":
                await send_fragmented(request, ws, WSMsgType.TEXT, TEXT_FRAGMENTS)
                await send_fragmented(request, ws, WSMsgType.BINARY, BINARY_FRAGMENTS)
            elif cmd.startswith("ping:"):
                pending_ping = cmd[len("ping:"):].encode()
                await ws.ping(pending_ping)
            elif cmd == "subprotocol":
                await ws.send_str("subprotocol:" + (ws.ws_protocol or ""))
            elif cmd.startswith("close:"):
                code, reason = cmd[len("close:"):].split(":", 1)
                await ws.close(code=int(code), message=reason.encode())
            elif cmd == "last-close":
                try:
                    await asyncio.wait_for(a_connection_ended.wait(), 5)
                except asyncio.TimeoutError:
                    await ws.send_str("last-close-timeout")
                    continue
                await ws.send_str("last-close:" + str(last_close))
            else:
                await ws.send_str("unknown-command:" + cmd)
        elif msg.type == WSMsgType.BINARY:
            await ws.send_bytes(msg.data)
        elif msg.type == WSMsgType.PONG:
            if pending_ping is None:
                await ws.send_str("unexpected-pong:" + msg.data.hex())
            elif msg.data == pending_ping:
                await ws.send_str("pong:" + msg.data.decode())
            else:
                await ws.send_str("pong-mismatch:" + msg.data.hex())
            pending_ping = None
        elif msg.type == WSMsgType.PING:
            await ws.pong(msg.data)
    # After a close either way, close_code is the code of the client's Close frame.
    last_close = ws.close_code
    return ws


async def main():
    global a_connection_ended
    a_connection_ended = asyncio.Event()
    tls = tls_from_args()
    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=tls)
    await site.start()
    port = runner.addresses[0][1]
    print(port, flush=True)
    await until_stdin_closes()
    # The tests are gone: leave at once, without closing handshakes with anyone.
    os._exit(0)


if __name__ == "__main__":
    asyncio.run(main())
