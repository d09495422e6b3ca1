// Interop peer: a Node `ws` server for tests/interop_node_ws.rs.
//
// Usage: node ws_server.js [CERT_PEM KEY_PEM]   (with `ws` reachable through NODE_PATH)
//
// Binds 127.0.0.1 on a port the OS picks, prints that port as one line on stdout, then serves
// until stdin closes (or the process is killed). The protocol it speaks is described in
// tests/interop/mod.rs: data messages are echoed, except text messages starting with "cmd:".
//
// PEER_DEFLATE in the environment turns permessage-deflate on: `default` (the library's
// defaults) or `no-context` (no context takeover either way). Without it, it is declined.
'use strict';

const fs = require('fs');
const http = require('http');
const https = require('https');
const { WebSocketServer } = require('ws');

// Same content as FRAGMENTED_TEXT / FRAGMENTED_BINARY in tests/interop/mod.rs. The text is
// split inside the 3-byte UTF-8 sequence of U+2713, so no fragment is valid UTF-8 on its own.
const TEXT = Buffer.from('fragmented message: \u2713 \u00e9 \u{1F600}', 'utf8');
const CHECK = TEXT.indexOf(Buffer.from('\u2713', 'utf8'));
const TEXT_FRAGMENTS = [TEXT.subarray(0, CHECK + 1), TEXT.subarray(CHECK + 1, CHECK + 2), TEXT.subarray(CHECK + 2)];
const BINARY = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const BINARY_FRAGMENTS = [BINARY.subarray(0, 100), BINARY.subarray(100, 200), BINARY.subarray(200)];

// The close code the client sent on the connection that ended last (null until one has), and
// the `cmd:last-close` requests waiting for that.
let lastClose = null;
let lastCloseWaiters = [];

// ws's own fragmentation: `send(chunk, { fin: false })` starts or continues a message,
// `fin: true` ends it.
function sendFragmented(ws, fragments, binary) {
  fragments.forEach((chunk, i) => ws.send(chunk, { binary, fin: i === fragments.length - 1 }));
}

function command(ws, cmd) {
  if (cmd === 'fragment') {
    sendFragmented(ws, TEXT_FRAGMENTS, false);
    sendFragmented(ws, BINARY_FRAGMENTS, true);
  } else if (cmd.startsWith('ping:')) {
    const payload = Buffer.from(cmd.slice('ping:'.length), 'utf8');
    const timer = setTimeout(() => {
      ws.removeListener('pong', onPong);
      ws.send('pong-timeout');
    }, 5000);
    const onPong = (data) => {
      clearTimeout(timer);
      ws.send(data.equals(payload) ? 'pong:' + data.toString('utf8') : 'pong-mismatch:' + data.toString('hex'));
    };
    ws.once('pong', onPong);
    ws.ping(payload);
  } else if (cmd === 'subprotocol') {
    ws.send('subprotocol:' + ws.protocol);
  } else if (cmd.startsWith('close:')) {
    const rest = cmd.slice('close:'.length);
    const colon = rest.indexOf(':');
    ws.close(Number(rest.slice(0, colon)), rest.slice(colon + 1));
  } else if (cmd === 'last-close') {
    const answer = () => ws.send('last-close:' + lastClose);
    if (lastClose !== null) {
      answer();
      return;
    }
    const timer = setTimeout(() => {
      lastCloseWaiters = lastCloseWaiters.filter((w) => w !== waiter);
      ws.send('last-close-timeout');
    }, 5000);
    const waiter = () => {
      clearTimeout(timer);
      answer();
    };
    lastCloseWaiters.push(waiter);
  } else {
    ws.send('unknown-command:' + cmd);
  }
}

const tls = process.argv.length === 4;
const server = tls
  ? https.createServer({ cert: fs.readFileSync(process.argv[2]), key: fs.readFileSync(process.argv[3]) })
  : http.createServer();

const wss = new WebSocketServer({
  server,
  perMessageDeflate: {
    default: true,
    'no-context': { serverNoContextTakeover: true, clientNoContextTakeover: true },
  }[process.env.PEER_DEFLATE] || false,
  maxPayload: 64 * 1024 * 1024,
  handleProtocols: (offered) => (offered.has('chat.v2') ? 'chat.v2' : false),
});

wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    if (!isBinary) {
      const text = data.toString('utf8');
      if (text.startsWith('cmd:')) {
        command(ws, text.slice('cmd:'.length));
        return;
      }
    }
    ws.send(data, { binary: isBinary });
  });
  // `code` is the code of the client's Close frame (1005 without one, 1006 without a frame).
  ws.on('close', (code) => {
    lastClose = code;
    lastCloseWaiters.splice(0).forEach((waiter) => waiter());
  });
  ws.on('error', (err) => console.error('ws_server: connection error:', err.message));
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(server.address().port + '\n');
});

// The tests are gone when stdin closes: leave at once.
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
