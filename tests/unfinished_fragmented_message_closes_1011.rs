//! A fragmented message that cannot be finished honestly, once fragments of it have left,
//! closes the connection with 1011 instead of letting the server take a part for the whole:
//! a `MessageWriter` dropped while its thread panics, and a `send_fragments` whose iterator
//! panics midway. The server sees the first fragment, no final one, then the Close 1011; the
//! client's callback gets its one `None` and `close_info` says 1011, closed by us.

mod support;

use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::thread;

use support::*;
use wsthread::{CloseCode, ClosedBy, MessageKind, Options, WebSocketClient};

/// The Close code the server got, and every frame before it.
type Heard = crossbeam_channel::Receiver<(Option<u16>, Vec<RawFrame>)>;

/// A raw server that reports every frame up to the client's Close, and the Close's code.
fn recording_server() -> (Server, Heard) {
    let (tx, rx) = crossbeam_channel::bounded(1);
    let server = Server::threaded(move |stream, _| {
        let mut c = RawConn::new(stream);
        c.accept(&[]).unwrap();
        let (code, _, frames) = c.read_close().unwrap();
        let _ = c.write_close(code.unwrap_or(1000), "");
        tx.send((code, frames)).unwrap();
    });
    (server, rx)
}

fn check_end(client: &WebSocketClient, rx: &Events, heard: &Heard, first: u8) {
    expect_end(rx);
    let info = client.close_info().unwrap();
    assert_eq!((info.code, info.closed_by), (CloseCode::INTERNAL_ERROR, ClosedBy::Local), "{info:?}");
    let (code, frames) = heard.recv_timeout(WAIT).expect("the server's record");
    assert_eq!(code, Some(1011));
    assert!(!frames.is_empty(), "no fragment left before the Close");
    assert_eq!((frames[0].opcode, frames[0].fin), (first, false), "{frames:?}");
    assert!(frames.iter().all(|f| !f.fin), "a final fragment left: {frames:?}");
}

#[test]
fn writer_dropped_by_a_panic_closes_1011() {
    let (server, heard) = recording_server();
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, Options::new(&server.ws_url("/")).unwrap()).unwrap();
    client.connect(&[]).unwrap();
    let ws = client.handle();
    let panicked = thread::spawn(move || {
        let mut writer = ws.writer(MessageKind::Binary).unwrap();
        writer.write_all(b"the first part").unwrap();
        writer.flush().unwrap();
        panic!("the producer failed");
    })
    .join();
    assert!(panicked.is_err());
    check_end(&client, &rx, &heard, OP_BINARY);
}

#[test]
fn send_fragments_iterator_panic_closes_1011() {
    let (server, heard) = recording_server();
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, Options::new(&server.ws_url("/")).unwrap()).unwrap();
    client.connect(&[]).unwrap();
    let pieces = (0..5).map(|i| if i < 2 { format!("piece {i} ") } else { panic!("the iterator failed") });
    let result = catch_unwind(AssertUnwindSafe(|| client.send_fragments(MessageKind::Text, pieces)));
    assert!(result.is_err(), "the iterator's panic goes on to the caller");
    check_end(&client, &rx, &heard, OP_TEXT);
}
