//! Shared helpers for the integration tests:
//! - `server`: local servers on 127.0.0.1:0 that stop when their guard is dropped;
//! - `echo`: the echo server most tests use, and `connected_echo()`, a client connected to it;
//! - `events`: a collector that turns the client's callback into a channel, and waits on it;
//! - `event_log`: the same for the event forms (`with_events`, `channel`);
//! - `raw`: the server's side driven by hand, raw frames and bytes;
//! - `violation`: `Violation`, for "the server sends these bytes, the client must close with
//!   code N and a reason that says why";
//! - `tls`: a test PKI and wss servers (feature `tls`, like `dated_certs`: they use rustls,
//!   which a ws://-only build does not have);
//! - `proxy`: small HTTP CONNECT and SOCKS5 proxies, and what they were asked;
//! - `faults`: `FaultProxy`, a TCP proxy in front of a test server that stalls, stops
//!   reading, kills (FIN), resets (RST), trickles bytes or adds latency on demand, and
//!   `connected_through`, a client connected through it.
//! - `scripted`: servers that act by connection index, and the reconnect tests' waits on
//!   events (a lost connection, the next `Reconnecting`, a disconnect that stops the policy).
//!
//! Every wait here has a timeout: a bug fails the test instead of hanging it.

// Each test binary uses only some of these helpers.
#![allow(dead_code, unused_imports)]

mod echo;
mod event_log;
mod events;
mod faults;
mod proxy;
mod raw;
mod scripted;
mod server;
#[cfg(feature = "tls")]
pub mod tls;
mod violation;

use std::net::SocketAddr;
use std::time::Duration;

pub use echo::*;
pub use event_log::*;
pub use events::*;
pub use faults::*;
pub use proxy::*;
pub use raw::*;
pub use scripted::*;
pub use server::*;
pub use violation::*;

pub use tungstenite::Message as WsMessage;

#[cfg(feature = "tls")]
pub mod dated_certs;
pub mod hostile;

/// `n` seconds.
pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// `n` milliseconds.
pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// How long any single wait in a test may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(10);

/// `ws://` URL for a local server.
pub fn ws_url(addr: SocketAddr, path: &str) -> String {
    format!("ws://{addr}{path}")
}

/// `wss://` URL for a local server.
pub fn wss_url(addr: SocketAddr, path: &str) -> String {
    format!("wss://{addr}{path}")
}

/// The number of threads of this process, where the OS tells it (Linux: /proc/self/task).
pub fn thread_count() -> Option<usize> {
    if cfg!(target_os = "linux") {
        std::fs::read_dir("/proc/self/task").ok().map(|d| d.count())
    } else {
        None
    }
}
