//! From inside the callback, the `Handle` given by `with_handle` answers a message and
//! disconnects; that disconnect returns at once (it cannot wait for its own thread), the
//! `None` still comes, and the server sees 1001.

mod support;

use std::time::Instant;

use support::*;
use wsthread::{ClosedBy, Message, Options, State, WebSocketClient};

#[derive(Debug)]
enum Inside {
    Message(Message),
    Disconnected { result: Result<(), String>, took: std::time::Duration },
    End,
}

#[test]
fn callback_replies_and_disconnects_from_inside() {
    // The server asks two questions, then asks the client to leave; it reports the answers
    // and the Close it gets.
    let (tx, seen) = crossbeam_channel::unbounded();
    let server = Server::threaded(move |stream, _| {
        let mut ws = tungstenite::accept(stream).unwrap();
        for q in ["question 1", "question 2", "please leave"] {
            ws.send(WsMessage::text(q)).unwrap();
            if q == "please leave" {
                break;
            }
            match ws.read().unwrap() {
                WsMessage::Text(t) => tx.send(format!("answer: {}", t.as_str())).unwrap(),
                other => tx.send(format!("unexpected: {other:?}")).unwrap(),
            }
        }
        loop {
            match ws.read() {
                Ok(WsMessage::Close(f)) => tx.send(format!("close: {:?}", f.map(|f| u16::from(f.code)))).unwrap(),
                Ok(other) => tx.send(format!("unexpected: {other:?}")).unwrap(),
                Err(_) => break,
            }
        }
    });

    let (events_tx, events) = crossbeam_channel::unbounded();
    let close_timeout = secs(30);
    let options = Options::new(&server.ws_url("/")).unwrap().close_timeout(close_timeout);
    let client = WebSocketClient::with_handle(
        move |ws, msg| match msg {
            Some(Message::Text(t)) if t == "please leave" => {
                let start = Instant::now();
                let result = ws.disconnect().map_err(|e| e.to_string());
                let took = start.elapsed();
                events_tx.send(Inside::Disconnected { result, took }).unwrap();
            }
            Some(m) => {
                ws.send(format!("re: {}", m.as_text().unwrap_or("?"))).unwrap();
                events_tx.send(Inside::Message(m)).unwrap();
            }
            None => events_tx.send(Inside::End).unwrap(),
        },
        options,
    )
    .unwrap();
    client.connect(&[]).unwrap();

    assert_eq!(seen.recv_timeout(WAIT).unwrap(), "answer: re: question 1");
    assert_eq!(seen.recv_timeout(WAIT).unwrap(), "answer: re: question 2");
    for q in ["question 1", "question 2"] {
        match events.recv_timeout(WAIT).unwrap() {
            Inside::Message(m) => assert_eq!(m, Message::Text(q.into())),
            other => panic!("{other:?}"),
        }
    }
    match events.recv_timeout(WAIT).expect("disconnect() from inside the callback did not return") {
        Inside::Disconnected { result, took } => {
            assert_eq!(result, Ok(()));
            assert!(took < close_timeout / 2, "hang guard: disconnect from inside took {took:?}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(events.recv_timeout(WAIT).unwrap(), Inside::End));
    assert_eq!(seen.recv_timeout(WAIT).unwrap(), "close: Some(1001)");

    assert_eq!(client.state(), State::Closed);
    let info = client.close_info().unwrap();
    assert_eq!(info.code.0, 1001);
    assert_eq!(info.closed_by, ClosedBy::Local);
    assert!(info.clean, "{info:?}");
    drop(client);
    assert!(events.recv_timeout(WAIT).is_err(), "nothing after the end");
}
