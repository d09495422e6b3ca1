//! The channel form works under `select!` with the program's other channels and a
//! timeout: idle means no event (the timeout fires), a message wakes the select at once.

mod support;

use crossbeam_channel::{after, select};
use support::*;
use wsthread::{Event, Message, Options, WebSocketClient};

#[test]
fn channel_select_with_timeout() {
    let (server, seen) = echo_server();
    let (client, events) = WebSocketClient::channel(Options::new(&server.ws_url("/")).unwrap()).unwrap();
    client.connect(&[]).unwrap();
    assert!(matches!(next_event(&events), Event::Opened(_)));

    // Nothing arrives: the timeout arm fires, the event arm does not.
    select! {
        recv(events) -> e => panic!("no event was expected, got {e:?}"),
        recv(after(ms(100))) -> _ => {}
    }

    // Another channel of the program is served alongside.
    let (mine, of_mine) = crossbeam_channel::bounded(1);
    mine.send("from elsewhere").unwrap();
    select! {
        recv(events) -> e => panic!("no event was expected, got {e:?}"),
        recv(of_mine) -> m => assert_eq!(m.unwrap(), "from elsewhere"),
        recv(after(WAIT)) -> _ => panic!("the program's own channel was not served"),
    }

    client.send("ping me back").unwrap();
    select! {
        recv(events) -> e => match e.unwrap() {
            Event::Message(m) => assert_eq!(m, Message::Text("ping me back".into())),
            other => panic!("expected the echo, got {other:?}"),
        },
        recv(after(WAIT)) -> _ => panic!("the echo did not arrive"),
    }
    client.disconnect().unwrap();
    assert!(matches!(next_event(&events), Event::Closed(info) if info.clean));
    wait_close(&seen);
}
