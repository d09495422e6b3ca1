//! Messages that `send` accepted but that never left are counted in `close_info` when the
//! server drops the connection under a full queue: it read nothing, then closed TCP (a
//! reset, since what it never read is thrown away). The end is abnormal (1006, closed by the
//! server) and `unsent_messages` / `unsent_bytes` say what was lost; over ws:// and wss://.

mod support;

use crossbeam_channel::Sender;
use support::*;
use wsthread::{CloseCode, ClosedBy, Options, WebSocketClient};

const MESSAGES: usize = 32;
const SIZE: usize = 2 << 20; // 64 MiB in all, far more than loopback socket buffers hold

/// Sends everything to a server that reads nothing, then lets it go (`go`) and checks the
/// count of what never left.
fn check(options: Options, go: Sender<()>) {
    // Everything queued at once: no waiting for room, no write deadline.
    let options = options.send_queue_limit(2 * MESSAGES * SIZE).send_high_water(2 * MESSAGES * SIZE).write_timeout(None);
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, options).unwrap();
    client.connect(&[]).unwrap();
    for i in 0..MESSAGES {
        client.send(vec![i as u8; SIZE]).unwrap();
    }
    go.send(()).unwrap();
    expect_end(&rx);
    let info = client.close_info().unwrap();
    eprintln!("close_info: {info:?}");
    assert_eq!(info.code, CloseCode::ABNORMAL, "{info:?}");
    assert_eq!(info.closed_by, ClosedBy::Remote, "{info:?}");
    assert!(info.unsent_messages > 0, "messages were lost, none counted: {info:?}");
    assert!(info.unsent_bytes > 0, "{info:?}");
    let queued = (MESSAGES * (SIZE + 14)) as u64; // each frame's header is 14 bytes
    assert!(info.unsent_messages <= MESSAGES && info.unsent_bytes <= queued, "{info:?}");
    drop(client);
    expect_no_more(&rx);
}

#[test]
fn unsent_messages_counted_when_server_drops_connection() {
    let (go_tx, go) = crossbeam_channel::bounded::<()>(1);
    let server = Server::threaded(move |stream, _| {
        let mut c = RawConn::new(stream);
        c.accept(&[]).unwrap();
        // Reads nothing; once every send has returned, returning closes the connection
        // with the client's bytes unread.
        let _ = go.recv_timeout(WAIT);
    });
    check(Options::new(&server.ws_url("/")).unwrap(), go_tx);
}

/// The same over wss://, where the connection thread encrypts and writes everything.
#[cfg(feature = "tls")]
#[test]
fn wss_unsent_messages_counted_when_server_drops_connection() {
    use rustls::{ServerConnection, StreamOwned};
    use support::tls::{server_config, TestCa};
    use wsthread::RootCerts;

    let ca = TestCa::new("wsthread test CA");
    let config = server_config(ca.issue(&["127.0.0.1"]));
    let (go_tx, go) = crossbeam_channel::bounded::<()>(1);
    let server = Server::threaded(move |tcp, _| {
        let Ok(tls) = ServerConnection::new(config.clone()) else { return };
        let Ok(_ws) = tungstenite::accept(StreamOwned::new(tls, tcp)) else { return };
        let _ = go.recv_timeout(WAIT);
    });
    let options =
        Options::new(&server.wss_url("/")).unwrap().root_certs(RootCerts::None).add_root_certificate_pem(ca.pem());
    check(options, go_tx);
}
