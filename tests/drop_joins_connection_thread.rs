//! Dropping a client disconnects with 1001 and joins its connection thread: by the time `drop`
//! returns, the callback has had its `None` and has itself been dropped (a value moved into it
//! says so from its own `Drop`), and, where the OS tells (Linux), the process is back to the
//! threads it had before the connect. Checked right when `drop` returns, over many cycles.
//! Alone in this file, so that no other test's threads come and go in this binary while it
//! counts.

mod support;

use crossbeam_channel::{Sender, TryRecvError};
use support::*;
use wsthread::{Message, Options, WebSocketClient};

const CYCLES: usize = 50;

/// Sends on its channel when dropped.
struct DropSignal(Sender<()>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

#[test]
fn drop_joins_connection_thread() {
    // One server thread for all cycles: connections are served one after the other.
    let (tx, seen) = crossbeam_channel::unbounded();
    let server = Server::sequential(move |stream, conn| {
        if let Ok(ws) = tungstenite::accept(stream) {
            echo_loop(ws, conn, &tx);
        }
    });
    let url = server.ws_url("/");
    let baseline = thread_count();

    for cycle in 0..CYCLES {
        let (signal, dropped) = crossbeam_channel::bounded(1);
        let signal = DropSignal(signal);
        let (mut forward, rx) = collector();
        let callback = move |msg: Option<Message>| {
            let _owned_by_the_callback = &signal;
            forward(msg);
        };
        let client = WebSocketClient::new(callback, Options::new(&url).unwrap()).unwrap();
        client.connect(&[]).unwrap();
        client.send(format!("cycle {cycle}")).unwrap();
        assert_eq!(next_message(&rx), Message::Text(format!("cycle {cycle}")));
        if let Some(baseline) = baseline {
            assert_eq!(thread_count(), Some(baseline + 1), "cycle {cycle}: one connection thread while open");
        }

        drop(client);
        // No waiting from here on: all of it must be done when drop returns.
        assert_eq!(dropped.try_recv(), Ok(()), "cycle {cycle}: drop returned while the callback was still alive");
        if baseline.is_some() {
            assert_eq!(thread_count(), baseline, "cycle {cycle}: the connection thread outlived drop");
        }
        assert_eq!(rx.try_recv(), Ok(None), "cycle {cycle}: the callback's None");
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected), "cycle {cycle}: nothing after the None");

        assert_eq!(wait_close(&seen), (cycle, Some(1001), String::new()), "drop closes with 1001");
    }
    drop(server);
}
