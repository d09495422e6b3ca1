//! Sends made while the server reads nothing fill the socket; the rest waits in the queue and
//! goes out, whole and in order, once the server reads again, with no send failing or
//! blocking. Covers the sender's own write hitting a full socket and the connection thread
//! taking over when the socket drains.

mod support;

use support::*;
use wsthread::{Options, WebSocketClient};

const MESSAGES: usize = 48;
const SIZE: usize = 192 * 1024; // 9 MiB in all: twice what loopback socket buffers hold here

/// `send` may fill the whole queue (16 MiB) instead of waiting at the high water (1 MiB):
/// the sends must all return while the server reads nothing.
fn whole_queue(options: Options) -> Options {
    let limit = options.send_queue_limit;
    options.send_high_water(limit)
}

/// Each message its own bytes, numbered at the front.
fn payload(i: usize) -> Vec<u8> {
    let mut p = vec![(i * 37 % 251) as u8; SIZE];
    p[..8].copy_from_slice(&(i as u64).to_be_bytes());
    p
}

#[test]
fn sends_wait_out_a_full_socket() {
    let (go_tx, go_rx) = crossbeam_channel::bounded::<()>(1);
    let (got_tx, got_rx) = crossbeam_channel::unbounded::<Result<Vec<u8>, String>>();
    let server = Server::threaded(move |stream, _| {
        let mut c = RawConn::new(stream);
        if c.accept(&[]).is_err() {
            return;
        }
        // Read nothing until every send has returned.
        if go_rx.recv_timeout(WAIT).is_err() {
            return;
        }
        for _ in 0..MESSAGES {
            let r = c.read_frame().map(|f| f.payload).map_err(|e| e.to_string());
            let failed = r.is_err();
            let _ = got_tx.send(r);
            if failed {
                return;
            }
        }
        let _ = c.read_close();
        // The server closes TCP first (RFC 6455 §7.1.1); the client waits for that.
        let _ = c.write_close(1001, "");
    });
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, whole_queue(Options::new(&server.ws_url("/")).unwrap())).unwrap();
    client.connect(&[]).unwrap();

    for i in 0..MESSAGES {
        client.send(payload(i)).unwrap();
    }
    // Every send returned while the server had read nothing.
    go_tx.send(()).unwrap();
    for i in 0..MESSAGES {
        let got = got_rx.recv_timeout(WAIT).expect("server stopped receiving").expect("server read a frame");
        assert!(got == payload(i), "message {i} differs (len {})", got.len());
    }
    client.disconnect().unwrap();
    expect_end(&rx);
    let info = client.close_info().unwrap();
    assert!(info.clean, "{info:?}");
}

/// The same over wss://, where senders never write themselves: the connection thread
/// encrypts and writes, and waits for the socket to drain in the same way.
#[cfg(feature = "tls")]
#[test]
fn wss_sends_wait_out_a_full_socket() {
    use rustls::{ServerConnection, StreamOwned};
    use support::tls::{server_config, TestCa};
    use wsthread::{Message, RootCerts};

    let ca = TestCa::new("wsthread test CA");
    let config = server_config(ca.issue(&["127.0.0.1"]));
    let (go_tx, go_rx) = crossbeam_channel::bounded::<()>(1);
    let (seen_tx, _seen) = crossbeam_channel::unbounded();
    let server = Server::threaded(move |tcp, conn| {
        let Ok(tls) = ServerConnection::new(config.clone()) else { return };
        let Ok(ws) = tungstenite::accept(StreamOwned::new(tls, tcp)) else { return };
        // Read nothing until every send has returned, then echo.
        if go_rx.recv_timeout(WAIT).is_ok() {
            echo_loop(ws, conn, &seen_tx);
        }
    });
    let options = Options::new(&server.wss_url("/")).unwrap().root_certs(RootCerts::None).add_root_certificate_pem(ca.pem());
    let options = whole_queue(options);
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, options).unwrap();
    client.connect(&[]).unwrap();

    for i in 0..MESSAGES {
        client.send(payload(i)).unwrap();
    }
    go_tx.send(()).unwrap();
    for i in 0..MESSAGES {
        match next_message(&rx) {
            Message::Binary(got) => assert!(got == payload(i), "echo {i} differs (len {})", got.len()),
            other => panic!("echo {i}: {other:?}"),
        }
    }
    client.disconnect().unwrap();
    expect_end(&rx);
    assert!(client.close_info().unwrap().clean);
}
