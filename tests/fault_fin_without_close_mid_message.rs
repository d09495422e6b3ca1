//! The server's side closing TCP (a FIN, no Close frame) in the middle of a fragmented
//! message, injected by the fault proxy at three points: inside a frame header, between two
//! fragments, and inside a fragment's payload. Each time the unfinished message is never
//! delivered, the callback gets exactly one `None`, and `close_info` says 1006, closed by the
//! server's side, not clean, with "without a Close frame" as the error.

mod support;

use support::*;
use wsthread::{CloseCode, ClosedBy, Message, Options, WebSocketClient};

/// The fragmented message the server sends once the client says "go": a text frame and two
/// continuations (the last one final), 10 000 bytes each.
fn fragments() -> Vec<Vec<u8>> {
    let piece = |c: u8| vec![c; 10_000];
    vec![
        frame(false, false, OP_TEXT, &piece(b'a')),
        frame(false, false, OP_CONT, &piece(b'b')),
        frame(true, false, OP_CONT, &piece(b'c')),
    ]
}

/// A server that, on each connection, waits for the client's "go", writes the fragments and
/// then answers the client's Close.
fn fragmenting_server() -> Server {
    Server::threaded(|stream, _| {
        let mut c = RawConn::new(stream);
        c.accept(&[]).unwrap();
        match c.read_frame() {
            Ok(f) if f.payload == b"go" => {}
            _ => return,
        }
        for f in fragments() {
            if c.write_all(&f).is_err() {
                return;
            }
        }
        if let Ok((code, _, _)) = c.read_close() {
            let _ = c.write_close(code.unwrap_or(1000), "");
        }
    })
}

#[test]
fn fin_mid_message_ends_with_one_none_and_1006() {
    let server = fragmenting_server();
    let first = fragments()[0].len() as u64;
    let cuts = [
        ("inside the first frame header", 1),
        ("between two fragments", first),
        ("inside a fragment's payload", first + 5_000),
    ];

    for (place, cut) in cuts {
        let proxy = FaultProxy::new(server.addr());
        let (client, rx) = connected_through(&proxy, ms(500));

        let at = proxy.forwarded_to_client() + cut;
        proxy.set_after(at, Fault::Kill);
        client.send("go").unwrap();
        assert!(proxy.wait_forwarded_to_client(at, WAIT), "{place}: the message never got under way");

        expect_end(&rx);
        let info = client.close_info().expect("close_info after the None");
        eprintln!("FIN {place}: {info}");
        assert_eq!(info.code, CloseCode::ABNORMAL, "{place}: {info}");
        assert_eq!(info.closed_by, ClosedBy::Remote, "{place}: {info}");
        assert!(!info.clean, "{place}: {info}");
        assert!(info.error.as_deref().is_some_and(|e| e.contains("without a Close frame")), "{place}: {info}");
        assert_eq!(proxy.forwarded_to_client(), at, "{place}: no byte passed the FIN");
        drop(client);
        expect_no_more(&rx);
    }

    // The same server, without the fault, delivers the whole message: the cuts above are
    // what ended those connections.
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, Options::new(&server.ws_url("/")).unwrap()).unwrap();
    client.connect(&[]).unwrap();
    client.send("go").unwrap();
    let whole = [vec![b'a'; 10_000], vec![b'b'; 10_000], vec![b'c'; 10_000]].concat();
    assert_eq!(next_message(&rx), Message::Text(String::from_utf8(whole).unwrap()));
    client.disconnect().unwrap();
    expect_end(&rx);
    assert!(client.close_info().is_some_and(|i| i.clean));
}
