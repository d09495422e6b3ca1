//! When a connection dies with messages queued, the event form hands the messages that never
//! left back in `Event::Unsent`, in the order they were sent, just before `Closed`; the
//! count in `CloseInfo` covers them. Nothing accepted by `send` is lost without a word.

mod support;

use support::*;
use wsthread::{Event, Message, Options, WebSocketClient};

#[test]
fn unsent_messages_handed_back_in_the_event() {
    let (drop_tx, drop_now) = crossbeam_channel::bounded::<()>(1);
    let server = Server::threaded(move |stream, _| {
        let mut c = RawConn::new(stream);
        c.accept(&[]).unwrap();
        let _ = drop_now.recv_timeout(secs(60)); // reads nothing, then goes away
    });
    let options = Options::new(&server.ws_url("/")).unwrap().send_queue_limit(1 << 20).write_timeout(None);
    let (callback, events) = event_collector();
    let client = WebSocketClient::with_events(callback, options).unwrap();
    client.connect(&[]).unwrap();
    assert!(matches!(next_event(&events), Event::Opened(_)));
    // Filled until no room comes for 200 ms: the socket's buffers are full too, so what is
    // queued cannot leave before the server goes (stopping at the first refusal raced the
    // connection thread, which could still move the whole queue into the socket's buffers).
    let mut sent = Vec::new();
    loop {
        let text = format!("{:08}{}", sent.len(), "x".repeat(4000));
        match client.send_timeout(text.clone(), ms(200)) {
            Ok(()) => sent.push(text),
            Err(_) => break,
        }
    }
    drop_tx.send(()).unwrap();
    let unsent = match next_event(&events) {
        Event::Unsent(messages) => messages,
        other => panic!("expected Unsent, got {other:?}"),
    };
    let Event::Closed(info) = next_event(&events) else { panic!("expected Closed") };
    eprintln!("{} sent, {} handed back; {info}", sent.len(), unsent.len());
    assert!(!unsent.is_empty());
    // The tail of what was sent, in order.
    let tail: Vec<Message> = sent[sent.len() - unsent.len()..].iter().map(|t| Message::Text(t.clone())).collect();
    assert_eq!(unsent, tail);
    assert!(info.unsent_messages >= unsent.len(), "{info}");
    drop(client);
    expect_no_more_events(&events);
}
