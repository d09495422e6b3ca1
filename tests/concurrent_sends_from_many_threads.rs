//! Sends from 8 threads at once all arrive, each message intact and each thread's messages
//! in the order that thread sent them.

mod support;

use std::sync::Arc;
use std::thread;

use support::*;
use wsthread::Message;

const THREADS: usize = 8;
const PER_THREAD: usize = 500;

/// "t{thread}:{seq}:" followed by a filler whose length and bytes depend on both.
fn payload(t: usize, seq: usize) -> String {
    let filler: String = (0..(seq * 7 + t * 13) % 300).map(|i| char::from(b'a' + ((i + t + seq) % 26) as u8)).collect();
    format!("t{t}:{seq}:{filler}")
}

#[test]
fn concurrent_sends_from_many_threads() {
    let (_server, _seen, client, rx) = connected_echo();
    let client = Arc::new(client);

    thread::scope(|s| {
        for t in 0..THREADS {
            let client = client.clone();
            s.spawn(move || {
                // Half the threads go through a Handle, half through the client; half send
                // binary, half text.
                let handle = client.handle();
                for seq in 0..PER_THREAD {
                    let text = payload(t, seq);
                    let r = match t % 4 {
                        0 => client.send(text),
                        1 => client.send(text.into_bytes()),
                        2 => handle.send(text),
                        _ => handle.send(text.into_bytes()),
                    };
                    r.unwrap();
                }
            });
        }
    });

    let mut next_seq = [0usize; THREADS];
    for _ in 0..THREADS * PER_THREAD {
        let m = next_message(&rx);
        let text = match &m {
            Message::Text(s) => s.clone(),
            Message::Binary(b) => String::from_utf8(b.clone()).expect("binary payload intact"),
        };
        let mut parts = text.splitn(3, ':');
        let t: usize = parts.next().unwrap().trim_start_matches('t').parse().unwrap();
        let seq: usize = parts.next().unwrap().parse().unwrap();
        assert_eq!(seq, next_seq[t], "thread {t}: out of order");
        assert_eq!(text, payload(t, seq), "thread {t} message {seq} corrupted");
        assert_eq!(m.is_binary(), t % 2 == 1, "kind of thread {t} message {seq}");
        next_seq[t] += 1;
    }
    assert!(next_seq.iter().all(|&n| n == PER_THREAD));

    client.disconnect().unwrap();
    expect_end(&rx);
    drop(client);
    expect_no_more(&rx);
}
