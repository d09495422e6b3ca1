//! 64 clients in one process, each on its own thread, all connected before any sends, then
//! each sending 200 messages (text and binary, of varied sizes) to an echo server at the
//! same time: every client gets back its own messages, complete and in its order, and none
//! of another's; all close cleanly with one `None` each; and once the clients and the
//! server are dropped, the process has the threads it had before (Linux: /proc/self/task).
//! Alone in this file, so that no other test's threads come and go while it counts.

mod support;

use std::sync::Barrier;
use std::thread;
use std::time::Instant;

use support::*;
use wsthread::{CloseCode, ClosedBy, Message, Options, WebSocketClient};

const CLIENTS: usize = 64;
const MESSAGES: usize = 200;

/// Client `c`'s message `i`: text or binary, 0 to ~2 KiB, naming both.
fn message(c: usize, i: usize) -> Message {
    let head = format!("c{c}:m{i}:");
    let filler = "x".repeat((c * 31 + i * 17) % 2000);
    if (c + i).is_multiple_of(2) {
        Message::Text(head + &filler)
    } else {
        Message::Binary((head + &filler).into_bytes())
    }
}

#[test]
fn clients_64_concurrent_sending() {
    let baseline = thread_count();
    let (server, seen) = echo_server();
    let url = server.ws_url("/");
    let all_connected = Barrier::new(CLIENTS + 1);
    let all_sent = Barrier::new(CLIENTS + 1);
    let start = Instant::now();

    thread::scope(|s| {
        let workers: Vec<_> = (0..CLIENTS)
            .map(|c| {
                let (url, all_connected, all_sent) = (&url, &all_connected, &all_sent);
                thread::Builder::new()
                    .name(format!("test-client-{c}"))
                    .spawn_scoped(s, move || {
                        let (callback, rx) = collector();
                        let options = Options::new(url).unwrap().close_timeout(secs(5)).connect_timeout(secs(10));
                        let client = WebSocketClient::new(callback, options).unwrap();
                        client.connect(&[]).unwrap();
                        all_connected.wait();
                        for i in 0..MESSAGES {
                            client.send(message(c, i)).unwrap();
                        }
                        all_sent.wait();
                        for i in 0..MESSAGES {
                            assert_eq!(next_message(&rx), message(c, i), "client {c}, message {i}");
                        }
                        client.disconnect().unwrap();
                        assert_eq!(rx.try_recv(), Ok(None), "client {c}: the None when disconnect returns");
                        let info = client.close_info().unwrap();
                        let how = (info.code, info.closed_by);
                        assert_eq!(how, (CloseCode::GOING_AWAY, ClosedBy::Local), "client {c}: {info}");
                        assert!(info.clean && info.error.is_none() && info.unsent_messages == 0, "client {c}: {info}");
                        drop(client);
                        expect_no_more(&rx);
                    })
                    .expect("spawn client thread")
            })
            .collect();
        all_connected.wait();
        if let Some(baseline) = baseline {
            // Each client's thread and connection thread, and the server's thread per
            // connection: the count below can see a leak.
            let now = thread_count().unwrap();
            assert!(now >= baseline + 3 * CLIENTS, "{now} threads with {CLIENTS} clients connected, {baseline} before");
        }
        all_sent.wait();
        for w in workers {
            w.join().expect("a client thread failed");
        }
    });
    eprintln!("{CLIENTS} clients x {MESSAGES} messages, echoed and closed in {:?}", start.elapsed());

    let mut closes = 0;
    while let Ok(event) = seen.try_recv() {
        if let Seen::Close { code, .. } = event {
            assert_eq!(code, Some(1001));
            closes += 1;
        }
    }
    assert_eq!(closes, CLIENTS, "the server saw one Close per client");
    drop(server);
    assert_eq!(thread_count(), baseline, "threads left behind after the clients and the server were dropped");
}
