//! The thread that reads the channel may itself disconnect while the channel is full:
//! `disconnect` returns (the connection thread stops waiting for room), the events already
//! queued stay, those that found no room after the disconnect are counted in
//! `CloseInfo::undelivered_events`, and `Closed` still comes, last. `notify` runs once per
//! queued event.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use support::*;
use wsthread::{ClosedBy, Event, Message, Options, WebSocketClient};

const CAPACITY: usize = 4;

#[test]
fn channel_disconnect_while_full() {
    // A server that sends numbered messages without end, until the client's Close.
    let server = Server::threaded(|stream, _| {
        let mut c = RawConn::new(stream);
        c.accept(&[]).unwrap();
        let mut i = 0u64;
        while c.write_frame(true, false, OP_TEXT, i.to_string().as_bytes()).is_ok() {
            i += 1;
        }
    });
    let notified = Arc::new(AtomicUsize::new(0));
    let (queued, on_queued) = crossbeam_channel::unbounded();
    let count = notified.clone();
    let (client, events) = WebSocketClient::channel_with_notify(
        Options::new(&server.ws_url("/")).unwrap().channel_capacity(CAPACITY).close_timeout(secs(2)),
        move || {
            count.fetch_add(1, Ordering::SeqCst);
            let _ = queued.send(());
        },
    )
    .unwrap();
    client.connect(&[]).unwrap();
    // The channel fills up (Opened and three messages); the connection thread then waits.
    for _ in 0..CAPACITY {
        on_queued.recv_timeout(WAIT).expect("an event was queued");
    }

    // This thread reads the channel, and is not reading it now: disconnect must not wait
    // for it. (Run on a helper thread only to fail instead of hanging if it did.)
    let (done, finished) = crossbeam_channel::bounded(1);
    let handle = client.handle();
    std::thread::spawn(move || done.send(handle.disconnect()).unwrap());
    finished.recv_timeout(WAIT).expect("disconnect returned").unwrap();

    let mut messages = Vec::new();
    let (names, info) = loop {
        match next_event(&events) {
            Event::Opened(_) => {}
            Event::Message(Message::Text(t)) => messages.push(t.parse::<u64>().unwrap()),
            Event::Closed(info) => break (messages, info),
            other => panic!("unexpected {other:?}"),
        }
    };
    // What was queued arrives in order, nothing twice; the rest was counted, not lost silently.
    assert!(names.len() >= CAPACITY - 1, "{names:?}");
    assert!(names.iter().enumerate().all(|(i, n)| *n == i as u64), "{names:?}");
    assert_eq!(info.closed_by, ClosedBy::Local, "{info}");
    assert!(info.undelivered_events > 0, "messages kept coming after the disconnect: {info}");
    eprintln!("{} delivered, {info}", names.len());
    assert_eq!(notified.load(Ordering::SeqCst), 1 + names.len() + 1, "one notify per queued event");
    drop(client);
    expect_no_more_events(&events);
}
