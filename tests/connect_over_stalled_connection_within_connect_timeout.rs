//! `connect()` while a connection is open to a stalled peer (it reads our Close and never
//! answers it) is bounded by `connect_timeout` as a whole: with `close_timeout` 5 s and
//! `connect_timeout` 1 s, the old connection's close gets at most half of the 1 s, the new
//! connection opens, and `connect` returns in well under `close_timeout`. The old
//! connection's `Closed` (1001, not clean) is delivered before the new one's `Opened`.

mod support;

use std::time::{Duration, Instant};

use support::*;
use wsthread::{ClosedBy, Options};

const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

#[test]
fn connect_over_stalled_connection_within_connect_timeout() {
    let (tx, closes) = crossbeam_channel::unbounded();
    let (server, arrivals) = scripted_server(move |stream, n| {
        let mut c = RawConn::new(stream);
        if c.accept(&[]).is_err() {
            return;
        }
        if n == 0 {
            // Stalled: reads the client's Close, never answers it.
            if let Ok((code, _, _)) = c.read_close() {
                let _ = tx.send(code);
            }
            c.drain_until_eof();
        } else {
            let _ = echo_until_close(&mut c);
        }
    });
    let options = Options::new(&server.ws_url("/")).unwrap().close_timeout(CLOSE_TIMEOUT).connect_timeout(CONNECT_TIMEOUT);
    let (client, events) = event_client(options);
    client.connect(&[]).unwrap();
    assert_eq!(name(&next_event(&events)), "opened:101");

    let start = Instant::now();
    let result = client.connect(&[]);
    let took = start.elapsed();
    eprintln!("connect over the stalled connection took {took:?}");
    let handshake = result.expect("the second connect");
    assert_eq!(handshake.status, 101);
    assert!(took < CLOSE_TIMEOUT, "connect took {took:?}: the old connection's close was not bounded by connect_timeout");
    assert_eq!(closes.recv_timeout(WAIT), Ok(Some(1001)), "the stalled server got our Close");

    let (names, info) = events_until_closed(&events);
    assert_eq!(names, ["closed:1001"], "the old connection's Closed comes first");
    assert!(!info.clean && info.closed_by == ClosedBy::Local, "{info:?}");
    assert_eq!(name(&next_event(&events)), "opened:101");
    client.send("second").unwrap();
    assert_eq!(name(&next_event(&events)), "text:second");

    client.disconnect().unwrap();
    let (names, info) = events_until_closed(&events);
    assert_eq!(names, ["closed:1001"]);
    assert!(info.clean, "{info:?}");
    drop(client);
    expect_no_more_events(&events);
    assert_eq!(arrivals.try_iter().map(|a| a.conn).collect::<Vec<_>>(), [0, 1]);
}
