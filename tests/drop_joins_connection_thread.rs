//! Dropping a client disconnects and joins its connection thread: over many connect/drop
//! cycles the process's thread count comes back to where it was. Alone in this file, so
//! that no other test's threads come and go in this binary while it counts.

mod support;

use support::*;
use wsthread::{Message, Options, WebSocketClient};

const CYCLES: usize = 50;

#[test]
fn drop_joins_connection_thread() {
    if thread_count().is_none() {
        eprintln!("note: this OS gives no thread count (/proc/self/task); test skipped");
        return;
    }
    // One server thread for all cycles: connections are served one after the other.
    let (tx, seen) = crossbeam_channel::unbounded();
    let server = Server::sequential(move |stream, conn| {
        if let Ok(ws) = tungstenite::accept(stream) {
            echo_loop(ws, conn, &tx);
        }
    });
    let url = server.ws_url("/");
    let baseline = thread_count().unwrap();

    for cycle in 0..CYCLES {
        let (callback, rx) = collector();
        let client = WebSocketClient::new(callback, Options::new(&url).unwrap()).unwrap();
        client.connect(&[]).unwrap();
        client.send(format!("cycle {cycle}")).unwrap();
        assert_eq!(next_message(&rx), Message::Text(format!("cycle {cycle}")));
        assert_eq!(thread_count().unwrap(), baseline + 1, "cycle {cycle}: one connection thread while open");
        drop(client);
        expect_end(&rx);
        expect_no_more(&rx);
        assert_eq!(thread_count().unwrap(), baseline, "cycle {cycle}: the connection thread outlived drop");
        assert_eq!(wait_close(&seen), (cycle, Some(1001), String::new()), "drop closes with 1001");
    }
    drop(server);
}
