//! The clients compared, each through its ordinary API, and plain TCP for the loopback ceiling.
//!
//! Every wait in them is bounded by the timeouts below: a broken client ends the bench with an
//! error naming the workload and client, never a hang.

pub mod raw;
pub mod raw_tls;
pub mod tcp;
pub mod tokio_ws;
pub mod ws;
pub mod ws_channel;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use wsthread::{Handshake, Options, RootCerts};

use crate::tls::suite_name;
use crate::Res;

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

/// Where a client connects: the echo server's WebSocket port (`ws://`) or its TLS port
/// (`wss://`), the same echo behind both.
pub struct Endpoint {
    pub url: String,
    pub addr: SocketAddr,
    /// Set for `wss://`.
    pub tls: Option<TlsClient>,
}

/// What a client needs to trust the echo server: the run's CA.
pub struct TlsClient {
    /// For wsthread: `add_root_certificate_pem`.
    pub ca_pem: String,
    /// For raw tungstenite and tokio-tungstenite: ring, the CA as the only root.
    pub config: Arc<rustls::ClientConfig>,
}

impl Endpoint {
    /// wsthread's options for this endpoint. Over TLS the CA is the only root
    /// (`RootCerts::None`): the trust anchors the other clients have, and no OS store to load.
    pub fn options(&self) -> Res<Options> {
        let options = Options::new(&self.url)?;
        Ok(match &self.tls {
            None => options,
            Some(tls) => options.root_certs(RootCerts::None).add_root_certificate_pem(tls.ca_pem.as_bytes()),
        })
    }

    /// Fails unless a wsthread connection to a `wss://` endpoint negotiated the server's suite.
    pub fn check_handshake(&self, handshake: &Handshake) -> Res<()> {
        match (&self.tls, &handshake.tls) {
            (None, _) => Ok(()),
            (Some(_), Some(info)) if info.cipher_suite == suite_name() => Ok(()),
            (Some(_), info) => Err(format!("wsthread negotiated {info:?}, not {}", suite_name()).into()),
        }
    }
}
