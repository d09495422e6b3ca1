//! A reconnect attempt stuck in its dial — the server accepted TCP but never answers the
//! upgrade, or never answers the TLS handshake — with a long `connect_timeout` (30 s) is
//! stopped by `disconnect()` or by dropping the client, which return within `close_timeout`;
//! no event follows the `Reconnecting` of that attempt and the client is `Closed`.

mod support;

#[cfg(feature = "tls")]
use std::io::Read;
#[cfg(feature = "tls")]
use std::net::TcpStream;
use std::time::Duration;

use crossbeam_channel::Receiver;
#[cfg(feature = "tls")]
use crossbeam_channel::Sender;
#[cfg(feature = "tls")]
use rustls::{ServerConnection, StreamOwned};
#[cfg(feature = "tls")]
use support::tls::{server_config, TestCa};
use support::*;
#[cfg(feature = "tls")]
use wsthread::RootCerts;
use wsthread::{Event, Options, State, WebSocketClient};

const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Connection 0 ends right after the upgrade; every later one reports its upgrade request
/// and never answers it.
fn hanging_server() -> (Server, Receiver<()>) {
    let (tx, hung) = crossbeam_channel::unbounded();
    let (server, _) = scripted_server(move |stream, n| {
        let mut c = RawConn::new(stream);
        if n == 0 {
            drop(c.accept(&[]));
        } else if c.read_request().is_ok() {
            let _ = tx.send(());
            c.drain_until_eof();
        }
    });
    (server, hung)
}

/// Connects with `options`, sees connection 0 lost and waits until attempt 1 hangs at the
/// server (`hung` says so).
fn hung_in_attempt_1(options: Options, hung: &Receiver<()>) -> (WebSocketClient, Receiver<Event>) {
    let options = options.close_timeout(CLOSE_TIMEOUT).connect_timeout(CONNECT_TIMEOUT).reconnect(fast_policy());
    let (client, events) = event_client(options);
    client.connect(&[]).unwrap();
    expect_lost_with_reconnect(&events);
    assert_eq!(next_reconnecting(&events).attempt, 1);
    hung.recv_timeout(WAIT).expect("attempt 1 reached the server");
    assert_eq!(client.state(), State::Connecting);
    (client, events)
}

#[test]
fn disconnect_stops_a_dial_waiting_for_the_upgrade() {
    let (server, hung) = hanging_server();
    let (client, events) = hung_in_attempt_1(Options::new(&server.ws_url("/")).unwrap(), &hung);
    let client = disconnect_within(client, "the upgrade", CLOSE_TIMEOUT);
    assert!(events.is_empty(), "an event after the disconnect: {:?}", events.try_recv());
    drop(client);
    expect_no_more_events(&events);
}

#[test]
fn drop_stops_a_dial_waiting_for_the_upgrade() {
    let (server, hung) = hanging_server();
    let (client, events) = hung_in_attempt_1(Options::new(&server.ws_url("/")).unwrap(), &hung);
    let ((), took) = within_wait("drop", move || drop(client));
    eprintln!("drop during the upgrade took {took:?}");
    assert!(took < CLOSE_TIMEOUT, "drop took {took:?}");
    expect_no_more_events(&events);
}

/// Connection 0 is wss and ends right after the upgrade; on every later one the server
/// reads the ClientHello, reports it, and never answers.
#[cfg(feature = "tls")]
fn hanging_tls_server(ca: &TestCa) -> (Server, Receiver<()>) {
    let config = server_config(ca.issue(&["127.0.0.1"]));
    let (tx, hung): (Sender<()>, _) = crossbeam_channel::unbounded();
    let (server, _) = scripted_server(move |mut tcp: TcpStream, n| {
        if n == 0 {
            let Ok(tls) = ServerConnection::new(config.clone()) else { return };
            drop(RawConn::new(StreamOwned::new(tls, tcp)).accept(&[]));
            return;
        }
        let mut hello = [0u8; 1];
        if matches!(tcp.read(&mut hello), Ok(1)) {
            let _ = tx.send(());
            RawConn::new(tcp).drain_until_eof();
        }
    });
    (server, hung)
}

#[cfg(feature = "tls")]
#[test]
fn disconnect_stops_a_dial_in_the_tls_handshake() {
    let ca = TestCa::new("wsthread reconnect CA");
    let (server, hung) = hanging_tls_server(&ca);
    let options = Options::new(&server.wss_url("/")).unwrap().root_certs(RootCerts::None).add_root_certificate_pem(ca.pem());
    let (client, events) = hung_in_attempt_1(options, &hung);
    let client = disconnect_within(client, "the TLS handshake", CLOSE_TIMEOUT);
    assert!(events.is_empty(), "an event after the disconnect: {:?}", events.try_recv());
    drop(client);
    expect_no_more_events(&events);
}
