//! Interop with real WebSocket servers: Python `websockets`, Node `ws` and `aiohttp`, each
//! run as a child process from `tests/peers/`, over `ws://` and over `wss://` with a CA made
//! at test time. Used by `tests/interop_*.rs` (one file per peer); each test binary installs
//! the pinned peers once through `.ci/peers` (fast when they are already there).
//!
//! The peers speak one small protocol:
//! - a binary message, or a text message not starting with `cmd:`, is echoed as it came;
//! - `cmd:fragment`: the server sends [`FRAGMENTED_TEXT`] then [`FRAGMENTED_BINARY`], each
//!   split into at least three frames by the peer library's own means;
//! - `cmd:ping:<payload>`: the server pings with `<payload>`, waits for the pong, checks its
//!   payload and answers `pong:<payload>` (or `pong-timeout`, `pong-mismatch:<hex>`);
//! - `cmd:subprotocol`: the server answers `subprotocol:<the one it selected>`;
//! - `cmd:close:<code>:<reason>`: the server closes with that code and reason;
//! - `cmd:last-close`: the server answers `last-close:<code>`, the code of the Close frame the
//!   client sent on the connection that ended last (waiting up to 5 s for one to end).
//!
//! A peer prints its port on stdout once listening on 127.0.0.1:0, and exits when its stdin
//! closes; [`PeerServer`]'s drop kills it by PID and reaps it in any case.

#![allow(dead_code)]

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use wsthread::{CloseCode, ClosedBy, Error, Handle, Handshake, Message, Options, RootCerts, State, WebSocketClient};

use crate::support::tls::TestCa;
use crate::support::{collector, expect_end, expect_no_more, next_message, Events};

/// The message every peer sends fragmented on `cmd:fragment`, text.
pub const FRAGMENTED_TEXT: &str = "fragmented message: \u{2713} \u{e9} \u{1F600}";

/// The message every peer sends fragmented on `cmd:fragment`, binary: bytes 0 to 255.
pub fn fragmented_binary() -> Vec<u8> {
    (0..=255u8).collect()
}

/// The subprotocol every peer supports (and the only one).
pub const SUBPROTOCOL: &str = "chat.v2";
/// What the client offers: a protocol no peer knows, then the one they do.
pub const OFFERED: [&str; 2] = ["x.unused", SUBPROTOCOL];

/// The longest wait for the peers' install (a fresh one downloads from PyPI and npm).
const INSTALL_TIMEOUT: Duration = Duration::from_secs(600);
/// The longest wait for a peer to print its port (Python with aiohttp imports takes a while).
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Peer {
    /// Python `websockets`, its asyncio server.
    PythonWebsockets,
    /// Node `ws`.
    NodeWs,
    /// Python `aiohttp`, a web application with a WebSocket route.
    Aiohttp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    Ws,
    Wss,
}

impl Peer {
    fn name(self) -> &'static str {
        match self {
            Peer::PythonWebsockets => "websockets",
            Peer::NodeWs => "ws",
            Peer::Aiohttp => "aiohttp",
        }
    }

    fn command(self, peers: &Path) -> Command {
        let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("peers");
        match self {
            Peer::PythonWebsockets | Peer::Aiohttp => {
                let script = if self == Peer::Aiohttp { "aiohttp_server.py" } else { "websockets_server.py" };
                let mut c = Command::new(peers.join("venv").join("bin").join("python"));
                c.arg(scripts.join(script));
                c
            }
            Peer::NodeWs => {
                let mut c = Command::new("node");
                c.arg(scripts.join("ws_server.js")).env("NODE_PATH", peers.join("node").join("node_modules"));
                c
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Installing the peers
// ---------------------------------------------------------------------------------------------

/// Where `.ci/peers` installed the peers; runs it on first use in this test binary. Panics
/// with the script's output when it fails.
pub fn peers_dir() -> &'static Path {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match DIR.get_or_init(install_peers) {
        Ok(dir) => dir,
        Err(e) => panic!("{e}"),
    }
}

fn install_peers() -> Result<PathBuf, String> {
    // CARGO_TARGET_TMPDIR is <target dir>/tmp: install beside it, in <target dir>/peers.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().expect("target dir").to_path_buf();
    let dest = target.join("peers");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci").join("peers");
    let started = Instant::now();
    let child = Command::new("bash")
        .arg(&script)
        .arg(&dest)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    let pid = child.id();
    let (tx, rx) = crossbeam_channel::bounded(1);
    thread::spawn(move || drop(tx.send(child.wait_with_output())));
    match rx.recv_timeout(INSTALL_TIMEOUT) {
        Ok(Ok(out)) if out.status.success() => {
            eprintln!("interop peers ready in {:?} ({})", started.elapsed(), dest.display());
            Ok(dest)
        }
        Ok(Ok(out)) => Err(format!(
            "{} failed ({}), so the interop peers are missing:\n--- stdout ---\n{}\n--- stderr ---\n{}",
            script.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        )),
        Ok(Err(e)) => Err(format!("waiting for {}: {e}", script.display())),
        Err(_) => {
            let _ = Command::new("kill").arg(pid.to_string()).status();
            Err(format!("{} did not finish within {INSTALL_TIMEOUT:?}", script.display()))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A running peer
// ---------------------------------------------------------------------------------------------

/// A peer server process on 127.0.0.1. Dropping it kills the process by PID and reaps it,
/// removes its certificate files, and prints its stderr (shown when the test fails).
pub struct PeerServer {
    peer: Peer,
    scheme: Scheme,
    child: Child,
    /// Held open while the peer should run: the peer exits when it closes.
    stdin: Option<ChildStdin>,
    port: u16,
    /// The CA that signed the server certificate, PEM (wss only).
    ca_pem: Option<String>,
    /// The temporary directory with the server's certificate and key (wss only).
    dir: Option<PathBuf>,
    /// The peer's whole stderr, once it closes it.
    stderr: Receiver<String>,
}

impl PeerServer {
    /// Starts `peer` for `scheme` and waits until it reports its port.
    pub fn start(peer: Peer, scheme: Scheme) -> PeerServer {
        PeerServer::start_with_env(peer, scheme, &[])
    }

    /// [`start`](Self::start), with `env` added to the peer's environment.
    pub fn start_with_env(peer: Peer, scheme: Scheme, env: &[(&str, &str)]) -> PeerServer {
        let peers = peers_dir();
        let mut command = peer.command(peers);
        command.envs(env.iter().copied());
        let (mut ca_pem, mut dir) = (None, None);
        if scheme == Scheme::Wss {
            let ca = TestCa::new("wsthread interop test CA");
            let (chain, key) = ca.issue_pem(&["127.0.0.1", "localhost"]);
            let d = temp_dir();
            fs::write(d.join("cert.pem"), chain).expect("write cert.pem");
            fs::write(d.join("key.pem"), key).expect("write key.pem");
            command.arg(d.join("cert.pem")).arg(d.join("key.pem"));
            ca_pem = Some(ca.pem());
            dir = Some(d);
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the {} peer ({command:?}): {e}", peer.name()));
        let stdin = child.stdin.take();
        let lines = forward_lines(child.stdout.take().expect("piped stdout"));
        let stderr = read_all(child.stderr.take().expect("piped stderr"));
        // From here on, a panic drops the guard, which kills the peer.
        let mut server = PeerServer { peer, scheme, child, stdin, port: 0, ca_pem, dir, stderr };
        let line = match lines.recv_timeout(STARTUP_TIMEOUT) {
            Ok(line) => line,
            Err(e) => {
                let status = server.child.try_wait();
                panic!(
                    "the {} peer printed no port ({e:?}; exit status {status:?}); its stderr:\n{}",
                    peer.name(),
                    server.take_stderr()
                )
            }
        };
        server.port = line
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("the {} peer printed {line:?}, not a port: {e}", peer.name()));
        server
    }

    pub fn url(&self) -> String {
        let scheme = match self.scheme {
            Scheme::Ws => "ws",
            Scheme::Wss => "wss",
        };
        format!("{scheme}://127.0.0.1:{}/interop", self.port)
    }

    /// Options for this peer: its URL, the two subprotocols offered, and for wss the test CA
    /// as the only trust anchor.
    pub fn options(&self) -> Options {
        let mut options = Options::new(&self.url())
            .unwrap()
            .connect_timeout(Duration::from_secs(10))
            .close_timeout(Duration::from_secs(5));
        for p in OFFERED {
            options = options.subprotocol(p);
        }
        if let Some(ca) = &self.ca_pem {
            options = options.root_certs(RootCerts::None).add_root_certificate_pem(ca.clone());
        }
        options
    }

    /// What every successful connect to a peer must report.
    pub fn check_handshake(&self, hs: &Handshake) {
        assert_eq!(hs.status, 101);
        assert_eq!(hs.peer_addr.port(), self.port);
        assert_eq!(hs.subprotocol.as_deref(), Some(SUBPROTOCOL), "{hs:?}");
        assert_eq!(hs.header("sec-websocket-protocol"), Some(SUBPROTOCOL), "{hs:?}");
        assert!(hs.extensions.is_empty(), "{hs:?}");
        match self.scheme {
            Scheme::Ws => assert!(hs.tls.is_none() && hs.timings.tls.is_none(), "{hs:?}"),
            Scheme::Wss => {
                let tls = hs.tls.as_ref().expect("Handshake::tls for wss");
                assert!(!tls.protocol_version.is_empty() && !tls.cipher_suite.is_empty(), "{tls:?}");
                assert!(hs.timings.tls.is_some(), "{hs:?}");
            }
        }
    }

    /// A client with a collecting callback, connected and checked.
    pub fn connect(&self) -> (WebSocketClient, Events) {
        let (callback, rx) = collector();
        let client = WebSocketClient::new(callback, self.options()).unwrap();
        let hs = client.connect(&[]).unwrap_or_else(|e| panic!("connect to {}: {e}", self.url()));
        self.check_handshake(&hs);
        (client, rx)
    }

    fn take_stderr(&mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stderr.recv_timeout(Duration::from_secs(5)).unwrap_or_default()
    }
}

impl Drop for PeerServer {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let stderr = self.take_stderr();
        if !stderr.trim().is_empty() {
            eprintln!("--- stderr of the {} peer ({:?}) ---\n{stderr}", self.peer.name(), self.scheme);
        }
        if let Some(dir) = self.dir.take() {
            let _ = fs::remove_dir_all(dir);
        }
    }
}

/// Each line of `out`, as it comes.
fn forward_lines(out: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = crossbeam_channel::unbounded();
    thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// All of `out`, once it ends.
fn read_all(mut out: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = crossbeam_channel::bounded(1);
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = out.read_to_end(&mut bytes);
        let _ = tx.send(String::from_utf8_lossy(&bytes).into_owned());
    });
    rx
}

/// A new, empty directory under the system's temporary directory.
fn temp_dir() -> PathBuf {
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let n = COUNT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("wsthread-interop-{}-{n}", std::process::id()));
    // A leftover of an earlier process with the same PID.
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("create a temporary directory");
    dir
}

// ---------------------------------------------------------------------------------------------
// Payloads
// ---------------------------------------------------------------------------------------------

/// Text of exactly `n` bytes, with 2-, 3- and 4-byte UTF-8 characters all through it. Never
/// starts with `cmd:`.
pub fn text_of_len(n: usize) -> String {
    const PIECES: [&str; 5] = ["wsthread ", "\u{2713} ", "\u{e9} ", "\u{1F600} ", "interop "];
    let mut s = String::with_capacity(n);
    for piece in PIECES.iter().cycle() {
        if s.len() + piece.len() > n {
            break;
        }
        s.push_str(piece);
    }
    while s.len() < n {
        s.push('.');
    }
    s
}

/// `n` pseudo-random bytes (xorshift), different for each `seed`.
pub fn bytes_of_len(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// `got` is `want`, byte for byte; on failure tells where they part instead of printing
/// megabytes.
pub fn assert_same(got: &Message, want: &Message, what: &str) {
    let kind = |m: &Message| if m.is_text() { "text" } else { "binary" };
    assert_eq!(kind(got), kind(want), "{what}: message kind");
    let (g, w) = (got.as_bytes(), want.as_bytes());
    if let Some(i) = g.iter().zip(w).position(|(a, b)| a != b) {
        panic!("{what}: first difference at byte {i} of {} ({:#04x} instead of {:#04x})", w.len(), g[i], w[i]);
    }
    assert_eq!(g.len(), w.len(), "{what}: length");
}

/// The next message must be the text `want`.
fn expect_text(rx: &Events, want: &str) {
    match next_message(rx) {
        Message::Text(t) => assert_eq!(t, want),
        other => panic!("expected the text {want:?}, got {other:?}"),
    }
}

/// Disconnects from our side and checks the end: the callback's one `None`, a clean 1001
/// closed by us, nothing after.
fn disconnect_and_check(client: WebSocketClient, rx: &Events) {
    client.disconnect().unwrap();
    expect_end(rx);
    let info = client.close_info().expect("close_info after disconnect");
    assert_eq!(info.code, CloseCode::GOING_AWAY, "{info:?}");
    assert_eq!(info.closed_by, ClosedBy::Local, "{info:?}");
    assert!(info.clean, "{info:?}");
    assert_eq!(info.error, None, "{info:?}");
    drop(client);
    expect_no_more(rx);
}

// ---------------------------------------------------------------------------------------------
// The behaviours, each against a fresh peer process
// ---------------------------------------------------------------------------------------------

/// Text and binary messages of 0 B, 125 B, 64 KiB and 4 MiB come back byte for byte, in order.
pub fn echo(peer: Peer, scheme: Scheme) {
    let server = PeerServer::start(peer, scheme);
    let (client, rx) = server.connect();
    let mut sent = Vec::new();
    for (i, n) in [0, 125, 64 << 10, 4 << 20].into_iter().enumerate() {
        sent.push(Message::Text(text_of_len(n)));
        sent.push(Message::Binary(bytes_of_len(n, i as u32)));
    }
    for m in &sent {
        client.send(m.clone()).unwrap();
    }
    for m in &sent {
        let what = format!("echo of {} bytes of {}", m.len(), if m.is_text() { "text" } else { "binary" });
        assert_same(&next_message(&rx), m, &what);
    }
    disconnect_and_check(client, &rx);
}

/// Messages the server sends in several frames arrive whole; the callback sends each back
/// through its `Handle`, and the server's echo of that matches too.
pub fn fragmented(peer: Peer, scheme: Scheme) {
    let server = PeerServer::start(peer, scheme);
    let (tx, rx) = crossbeam_channel::unbounded();
    let mut replied = 0;
    let callback = move |ws: &Handle, msg: Option<Message>| {
        if let Some(m) = &msg {
            if replied < 2 {
                replied += 1;
                if let Err(e) = ws.send(m.clone()) {
                    panic!("send from inside the callback: {e}");
                }
            }
        }
        let _ = tx.send(msg);
    };
    let client = WebSocketClient::with_handle(callback, server.options()).unwrap();
    server.check_handshake(&client.connect(&[]).unwrap());
    client.send("cmd:fragment").unwrap();
    let text = Message::Text(FRAGMENTED_TEXT.into());
    let binary = Message::Binary(fragmented_binary());
    assert_same(&next_message(&rx), &text, "fragmented text");
    assert_same(&next_message(&rx), &binary, "fragmented binary");
    assert_same(&next_message(&rx), &text, "echo of the fragmented text");
    assert_same(&next_message(&rx), &binary, "echo of the fragmented binary");
    disconnect_and_check(client, &rx);
}

/// The server's pings are answered with pongs carrying the same payload (short, and the
/// longest a control frame allows); messages flow on afterwards. A ping of ours gets the
/// server's pong, which the callback never sees.
pub fn server_ping(peer: Peer, scheme: Scheme) {
    let server = PeerServer::start(peer, scheme);
    let (client, rx) = server.connect();
    let longest = "p".repeat(125);
    for payload in ["heartbeat-1 \u{2713}", longest.as_str()] {
        client.send(format!("cmd:ping:{payload}")).unwrap();
        expect_text(&rx, &format!("pong:{payload}"));
    }
    client.ping("client ping").unwrap();
    client.send("still there").unwrap();
    expect_text(&rx, "still there");
    disconnect_and_check(client, &rx);
}

/// Of the two subprotocols offered, the server picks the one it supports: `Handshake` says
/// so, and so does the server.
pub fn subprotocol(peer: Peer, scheme: Scheme) {
    let server = PeerServer::start(peer, scheme);
    let (client, rx) = server.connect(); // checks Handshake::subprotocol
    client.send("cmd:subprotocol").unwrap();
    expect_text(&rx, &format!("subprotocol:{SUBPROTOCOL}"));
    disconnect_and_check(client, &rx);
}

/// The server closes with 4001 and a reason: `close_info` tells it was the server, cleanly,
/// with that code and reason, and the callback gets `None` exactly once. The same client then
/// connects again and learns from the server that our Close reply echoed 4001.
pub fn server_close(peer: Peer, scheme: Scheme) {
    let server = PeerServer::start(peer, scheme);
    let (client, rx) = server.connect();
    let reason = format!("bye from {} \u{2713}", peer.name());
    client.send("before the close").unwrap();
    expect_text(&rx, "before the close");
    client.send(format!("cmd:close:4001:{reason}")).unwrap();
    expect_end(&rx);
    let info = client.close_info().expect("close_info after the server's close");
    assert_eq!(info.code, CloseCode(4001), "{info:?}");
    assert_eq!(info.reason, reason, "{info:?}");
    assert_eq!(info.closed_by, ClosedBy::Remote, "{info:?}");
    assert!(info.clean, "{info:?}");
    assert_eq!(info.error, None, "{info:?}");
    assert_eq!(client.state(), State::Closed);
    assert!(matches!(client.send("too late"), Err(Error::NotConnected)));
    assert!(rx.is_empty(), "nothing may follow the None: {:?}", rx.try_recv());

    // A second connection on the same client, to ask what the server got from the first.
    server.check_handshake(&client.connect(&[]).unwrap());
    client.send("cmd:last-close").unwrap();
    expect_text(&rx, "last-close:4001");
    // Its own None, once: after it the callback is dropped with the client and says nothing.
    disconnect_and_check(client, &rx);
}

/// The interop tests of one peer: every behaviour above, over ws:// and over wss://.
macro_rules! interop_tests {
    ($peer:expr) => {
        use interop::Scheme::{Ws, Wss};
        const PEER: interop::Peer = $peer;

        #[test]
        fn ws_echo_text_and_binary() {
            interop::echo(PEER, Ws);
        }
        #[test]
        fn wss_echo_text_and_binary() {
            interop::echo(PEER, Wss);
        }
        #[test]
        fn ws_fragmented_messages_from_server() {
            interop::fragmented(PEER, Ws);
        }
        #[test]
        fn wss_fragmented_messages_from_server() {
            interop::fragmented(PEER, Wss);
        }
        #[test]
        fn ws_server_ping_answered_with_pong() {
            interop::server_ping(PEER, Ws);
        }
        #[test]
        fn wss_server_ping_answered_with_pong() {
            interop::server_ping(PEER, Wss);
        }
        #[test]
        fn ws_subprotocol_selected_by_server() {
            interop::subprotocol(PEER, Ws);
        }
        #[test]
        fn wss_subprotocol_selected_by_server() {
            interop::subprotocol(PEER, Wss);
        }
        #[test]
        fn ws_server_close_4001_with_reason() {
            interop::server_close(PEER, Ws);
        }
        #[test]
        fn wss_server_close_4001_with_reason() {
            interop::server_close(PEER, Wss);
        }
    };
}
