//! The clients compared, each through its ordinary API, and plain TCP for the loopback ceiling.
//!
//! Every wait in them is bounded by the timeouts below: a broken client ends the bench with an
//! error naming the workload and client, never a hang.

pub mod raw;
pub mod tcp;
pub mod tokio_ws;
pub mod ws;
pub mod ws_channel;

use std::time::Duration;

/// Bounds any single blocking socket read or write, connect or close.
const IO_TIMEOUT: Duration = Duration::from_secs(30);
/// Bounds one round of one workload for one client.
const ROUND_TIMEOUT: Duration = Duration::from_secs(120);

/// A client in the tables; the order here is their order there.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Client {
    Raw,
    Tokio,
    Wsthread,
    /// wsthread's channel form: events on a bounded receiver instead of a callback.
    WsChannel,
    /// Plain TCP: the loopback ceiling, in the bulk table only.
    Tcp,
}

/// The WebSocket clients, the columns of the Markdown summary.
pub const CLIENTS: [Client; 4] = [Client::Raw, Client::Tokio, Client::Wsthread, Client::WsChannel];

impl Client {
    pub fn name(self) -> &'static str {
        match self {
            Client::Raw => "raw tungstenite",
            Client::Tokio => "tokio-tungstenite",
            Client::Wsthread => "wsthread",
            Client::WsChannel => "wsthread channel",
            Client::Tcp => "plain TCP (ceiling)",
        }
    }
    pub fn id(self) -> &'static str {
        match self {
            Client::Raw => "raw_tungstenite",
            Client::Tokio => "tokio_tungstenite",
            Client::Wsthread => "wsthread",
            Client::WsChannel => "wsthread_channel",
            Client::Tcp => "plain_tcp",
        }
    }
}
