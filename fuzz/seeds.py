#!/usr/bin/env python3
"""Writes the named seeds of fuzz/corpus/<target>/ (seed-*). Run from anywhere; it
rewrites only files named seed-*. Layout of a message_layer input: wsthread_fuzz::layer_input
in fuzz/src/lib.rs (limits byte, cut count k, server bytes, k big-endian u16 cuts)."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ACCEPT = b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="  # wsthread::fuzz::ACCEPT


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


# upgrade_response: the server's answer to the upgrade request.
ok = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      b"Sec-WebSocket-Accept: " + ACCEPT + b"\r\n")
up = {
    "101-chat": ok + b"Sec-WebSocket-Protocol: chat\r\n\r\n",
    "101-plain-then-frame": ok + b"\r\n\x81\x02hi",
    "101-keepalive-upgrade": ok.replace(b"Connection: Upgrade", b"Connection: keep-alive, Upgrade") + b"\r\n",
    "101-other-protocol": ok + b"Sec-WebSocket-Protocol: other\r\n\r\n",
    "101-extension": ok + b"Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
    "101-deflate-params": ok + b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=\"9\"; "
    b"server_no_context_takeover; server_max_window_bits=10\r\n\r\n",
    "101-deflate-twice": ok + b"Sec-WebSocket-Extensions: permessage-deflate\r\nSec-WebSocket-Extensions: x, y\r\n\r\n",
    "101-two-accepts": ok + b"Sec-WebSocket-Accept: " + ACCEPT + b"\r\n\r\n",
    "101-wrong-accept": ok.replace(ACCEPT, b"dGhlIHNhbXBsZSBub25jZQ==") + b"\r\n",
    "401-chunked": (b"HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: chunked\r\nWWW-Authenticate: Basic\r\n\r\n"
                    b"5;ext=1\r\ndenie\r\n1\r\nd\r\n0\r\n\r\n"),
    "403-chunked-huge-size": b"HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nab",
    "200-content-length": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello",
    "200-content-length-huge": b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\nx",
    "404-to-eof": b"HTTP/1.1 404 Not Found\r\n\r\ngone",
    "304-no-body": b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
    "partial-head": b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n",
    "non-utf8-header": b"HTTP/1.1 400 Bad\r\nX-Bin: \xff\xfe\x80\r\nContent-Length: 2\r\n\r\nab",
    "garbage": b"\x00\xffGET / HTTP/1.1\r\n\r\n\x81\x7e",
}
for name, data in up.items():
    write("upgrade_response", name, data)


# message_layer: server frames after a valid upgrade.
def frame(opcode, payload=b"", fin=True, rsv=0, mask=None, length=None):
    n = len(payload) if length is None else length
    out = bytes([(0x80 if fin else 0) | rsv << 4 | opcode])
    m = 0x80 if mask else 0
    if n <= 125:
        out += bytes([m | n])
    elif n <= 0xFFFF:
        out += bytes([m | 126]) + struct.pack(">H", n)
    else:
        out += bytes([m | 127]) + struct.pack(">Q", n)
    if mask:
        out += mask
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return out + payload


def layer(selector, server, cuts=()):
    return bytes([selector, len(cuts)]) + server + b"".join(struct.pack(">H", c) for c in cuts)


NONE, DEFAULT, K64, K4 = 0x00, 0x11, 0x22, 0x33
close = lambda code, reason=b"": frame(8, struct.pack(">H", code) + reason)
ml = {
    "text": layer(DEFAULT, frame(1, "héllo ✓ 🚀".encode()), [3, 4]),
    "binary-126": layer(DEFAULT, frame(2, bytes(range(200))), [1, 3, 50]),
    "fragmented-text-with-ping": layer(DEFAULT, frame(1, b"frag", fin=False) + frame(9, b"p")
                                        + frame(0, "mé".encode(), fin=False) + frame(0, b"!"), [7, 8]),
    "fragmented-binary-empty-final": layer(K4, frame(2, b"ab", fin=False) + frame(0, b"")),
    "ping-pong": layer(DEFAULT, frame(9, b"ping") + frame(10, b"pong") + frame(9)),
    "close-1000-reason": layer(DEFAULT, close(1000, b"bye") + frame(1, b"after")),
    "close-empty": layer(DEFAULT, frame(8)),
    "close-1-byte": layer(DEFAULT, frame(8, b"\x03")),
    "close-invalid-code": layer(DEFAULT, close(1005)),
    "close-bad-utf8-reason": layer(DEFAULT, close(1001, b"\xc3")),
    "text-invalid-utf8": layer(DEFAULT, frame(1, b"ok\xff\xfeok"), [3]),
    "text-split-code-point": layer(DEFAULT, frame(1, "🚀".encode()[:2], fin=False)
                                   + frame(0, "🚀".encode()[2:]), [3]),
    "text-truncated-utf8-in-fragment": layer(DEFAULT, frame(1, b"\xed\xa0\x80", fin=False)),
    "announce-2pow40": layer(NONE, frame(2, b"abc", length=1 << 40)),
    "announce-2pow40-fragment": layer(NONE, frame(2, b"x", fin=False) + frame(0, b"yz", fin=False, length=1 << 40)),
    "announce-2pow40-defaults": layer(DEFAULT, frame(2, b"abc", length=1 << 40)),
    "announce-2pow63": layer(NONE, frame(2, b"abc", length=1 << 63)),
    "announce-2pow63-1": layer(NONE, frame(1, b"abc", length=(1 << 63) - 1)),
    "announce-over-64k-limit": layer(K64, frame(2, b"abc", length=(64 << 10) + 1)),
    "announce-4k-message-over-fragments": layer(K4, frame(2, bytes(100), fin=False, length=100)
                                                 + frame(0, b"", length=4000)),
    "masked": layer(DEFAULT, frame(1, b"masked", mask=b"\x01\x02\x03\x04")),
    "rsv1": layer(DEFAULT, frame(1, b"x", rsv=4)),
    "rsv2-rsv3": layer(DEFAULT, frame(2, b"x", rsv=3)),
    "reserved-opcode": layer(DEFAULT, frame(3, b"x")),
    "control-126": layer(DEFAULT, frame(9, bytes(126))),
    "control-fragmented": layer(DEFAULT, frame(9, b"p", fin=False)),
    "continuation-first": layer(DEFAULT, frame(0, b"x")),
    "text-inside-fragmented": layer(DEFAULT, frame(1, b"a", fin=False) + frame(1, b"b")),
    "header-cut-everywhere": layer(NONE, frame(2, b"z", length=70000)[:10] + b"zz", list(range(1, 12))),
    "zero-limits": layer(0x66, frame(2) + frame(2, b"a")),
}
for name, data in ml.items():
    write("message_layer", name, data)


# inflate: a mode byte, then server frames after permessage-deflate was agreed (mode bit 7
# clear: bits 0-1 the limit, bit 2 server_no_context_takeover), or messages separated by
# 0xA5 that the target compresses and inflates back (mode bit 7 set).
import zlib


def deflated(messages, takeover=True):
    """Each message compressed as RFC 7692 §7.2.1 says: sync flush, 00 00 ff ff removed."""
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    out = []
    for m in messages:
        if not takeover:
            c = zlib.compressobj(6, zlib.DEFLATED, -15)
        data = c.compress(m) + c.flush(zlib.Z_SYNC_FLUSH)
        assert data.endswith(b"\x00\x00\xff\xff")
        out.append(data[:-4])
    return out


RSV1 = 4
ticks = [b'{"symbol":"SYM%d","bid":%d.%02d,"seq":%d}' % (k % 3, 100 + k % 7, k, k) for k in range(6)]
a, b = deflated([b"Hello", b"Hello"])
bomb = deflated([bytes(200000)])[0]
infl = {
    "rfc7692-hello-twice": bytes([0]) + frame(1, a, rsv=RSV1) + frame(1, b, rsv=RSV1),
    "ticks-takeover": bytes([3]) + b"".join(frame(1, m, rsv=RSV1) for m in deflated(ticks)),
    "ticks-no-takeover": bytes([7]) + b"".join(frame(1, m, rsv=RSV1) for m in deflated(ticks, False)),
    "fragmented-with-ping": bytes([2]) + frame(1, a[:3], fin=False, rsv=RSV1) + frame(9, b"p")
    + frame(0, a[3:], fin=False) + frame(0, b""),
    "plain-between": bytes([0]) + frame(1, a, rsv=RSV1) + frame(2, b"plain") + frame(1, b, rsv=RSV1),
    "stored-block": bytes([0]) + frame(2, b"\x00\x05\x00\xfa\xffHello\x00", rsv=RSV1),
    "bfinal-then-more": bytes([0]) + frame(2, b"\xf3\x48\xcd\xc9\xc9\x07\x00\x00", rsv=RSV1) + frame(2, a, rsv=RSV1),
    "bomb-over-1k": bytes([1]) + frame(2, bomb, rsv=RSV1),
    "reserved-btype": bytes([0]) + frame(2, b"\xff\xff\xff", rsv=RSV1),
    "rsv1-on-continuation": bytes([0]) + frame(1, a, fin=False, rsv=RSV1) + frame(0, b, rsv=RSV1),
    "bad-utf8": bytes([0]) + frame(1, deflated([b"a\xffb"])[0], rsv=RSV1),
    "empty-message": bytes([0]) + frame(1, b"\x00", rsv=RSV1) + frame(2, b"", rsv=RSV1),
    "round-trip-whole": bytes([0x87]) + b"\xa5".join(ticks) + b"\xa5\xa5",
    "round-trip-pieces-window-8": bytes([0x98]) + b"\xa5".join(ticks + [bytes(range(256)) * 8]),
}
for name, data in infl.items():
    write("inflate", name, data)
