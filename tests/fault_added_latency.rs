//! 50 ms of latency each way (the fault proxy holds every chunk that long): round trips
//! and a pipelined burst all come back intact and in order, and `disconnect()` completes a
//! clean close handshake across the delay, well within `close_timeout`.

mod support;

use std::time::Instant;

use support::*;
use wsthread::{CloseCode, ClosedBy, Message, Options, WebSocketClient};

const PIPELINED: usize = 200;

#[test]
fn added_latency_keeps_order_and_closes_cleanly() {
    let (server, seen) = echo_server();
    let proxy = FaultProxy::new(server.addr());
    let latency = ms(50);
    proxy.set(Fault::Latency(latency));
    let close_timeout = secs(3);
    let (callback, rx) = collector();
    let options = Options::new(&proxy.ws_url("/")).unwrap().close_timeout(close_timeout).connect_timeout(secs(5));
    let client = WebSocketClient::new(callback, options).unwrap();
    let connecting = Instant::now();
    client.connect(&[]).unwrap();
    assert!(connecting.elapsed() >= latency * 2, "the upgrade took a round trip: {:?}", connecting.elapsed());

    for round in 0..3 {
        let start = Instant::now();
        client.send(format!("round trip {round}")).unwrap();
        assert_eq!(next_message(&rx), Message::Text(format!("round trip {round}")));
        let rtt = start.elapsed();
        assert!(rtt >= latency * 2, "round trip {rtt:?} under twice the latency: the fault was not in force");
    }

    for i in 0..PIPELINED {
        let m: Message = if i % 2 == 0 { format!("m{i}").into() } else { vec![i as u8; i].into() };
        client.send(m).unwrap();
    }
    for i in 0..PIPELINED {
        let expected: Message = if i % 2 == 0 { format!("m{i}").into() } else { vec![i as u8; i].into() };
        assert_eq!(next_message(&rx), expected, "message {i}");
    }

    let start = Instant::now();
    client.disconnect().unwrap();
    let took = start.elapsed();
    assert_eq!(rx.try_recv(), Ok(None), "the None came before disconnect returned");
    eprintln!("disconnect across {latency:?} each way took {took:?}");
    assert!(took >= latency * 2, "the Close reply crossed the delay twice: {took:?}");
    assert!(took < close_timeout, "disconnect took {took:?}, close_timeout is {close_timeout:?}");
    let info = client.close_info().unwrap();
    assert_eq!((info.code, info.closed_by), (CloseCode::GOING_AWAY, ClosedBy::Local), "{info}");
    assert!(info.clean, "{info}");
    assert_eq!(info.error, None, "{info}");
    assert_eq!(wait_close(&seen), (0, Some(1001), String::new()));
    drop(client);
    expect_no_more(&rx);
}
