//! Dropping the client from inside its own callback does not deadlock: the drop returns at
//! once (the thread cannot join itself), the server sees Close 1001, the callback's `None`
//! still comes, and then the connection thread ends.

mod support;

use std::cell::RefCell;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use support::*;
use wsthread::{ClosedBy, Message, Options, State, WebSocketClient};

/// Sends once, when the thread holding it in its thread-local storage exits.
struct SignalOnExit(Sender<()>);

impl Drop for SignalOnExit {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

thread_local! {
    static ON_EXIT: RefCell<Option<SignalOnExit>> = const { RefCell::new(None) };
}

#[derive(Debug)]
enum Inside {
    Dropped(Duration),
    End,
}

#[test]
fn drop_client_from_its_own_callback() {
    // The server asks the client to go once told to, then reports the Close it gets.
    let (go, go_rx) = crossbeam_channel::unbounded::<()>();
    let (close_tx, closes) = crossbeam_channel::unbounded();
    let server = Server::threaded(move |stream, _| {
        let mut ws = tungstenite::accept(stream).unwrap();
        if go_rx.recv_timeout(WAIT).is_err() {
            return;
        }
        ws.send(WsMessage::text("drop yourself")).unwrap();
        loop {
            match ws.read() {
                Ok(WsMessage::Close(f)) => close_tx.send(f.map(|f| u16::from(f.code))).unwrap(),
                Ok(_) => {}
                Err(_) => break,
            }
        }
    });

    let (events_tx, events) = crossbeam_channel::unbounded();
    let (exit_tx, thread_exited) = crossbeam_channel::unbounded();
    let slot: Arc<Mutex<Option<WebSocketClient>>> = Arc::default();
    let close_timeout = secs(30);
    let options = Options::new(&server.ws_url("/")).unwrap().close_timeout(close_timeout);
    let client = WebSocketClient::new(
        {
            let slot = slot.clone();
            move |msg: Option<Message>| match msg {
                Some(_) => {
                    ON_EXIT.with(|e| *e.borrow_mut() = Some(SignalOnExit(exit_tx.clone())));
                    let client = slot.lock().unwrap().take().expect("the client is in its slot");
                    let start = Instant::now();
                    drop(client);
                    events_tx.send(Inside::Dropped(start.elapsed())).unwrap();
                }
                None => events_tx.send(Inside::End).unwrap(),
            }
        },
        options,
    )
    .unwrap();
    client.connect(&[]).unwrap();
    let handle = client.handle();
    *slot.lock().unwrap() = Some(client);
    drop(slot); // the callback holds the only way to the client now
    go.send(()).unwrap();

    match events.recv_timeout(WAIT).expect("the drop inside the callback did not return") {
        Inside::Dropped(took) => assert!(took < close_timeout / 2, "the drop waited {took:?}"),
        other => panic!("expected the drop, got {other:?}"),
    }
    assert_eq!(closes.recv_timeout(WAIT).unwrap(), Some(1001), "the drop closes with 1001");
    assert!(matches!(events.recv_timeout(WAIT).expect("no None after the drop"), Inside::End));
    thread_exited.recv_timeout(WAIT).expect("the connection thread did not end");
    // The callback went with the thread: nothing more can come.
    assert!(matches!(events.recv_timeout(WAIT), Err(crossbeam_channel::RecvTimeoutError::Disconnected)));

    assert_eq!(handle.state(), State::Closed);
    let info = handle.close_info().unwrap();
    assert_eq!(info.code.0, 1001);
    assert_eq!(info.closed_by, ClosedBy::Local);
    assert!(info.clean, "{info:?}");
}
