//! The frame hook sees what Autobahn's fragmentation cases (category 5) send, frame by frame
//! and in order, with opcode, FIN, RSV bits and payload, and it sees what the client sends
//! back: the pongs and the echo of each message (the client echoes from its event callback,
//! as the Autobahn test client does). The server sends each case in one write, or one byte
//! at a time; for 5.19 it waits for each pong where Autobahn waits a second.
//!
//! The cases the client must refuse (5.1 a fragmented ping, 5.9 a continuation with nothing
//! to continue, 5.15 a continuation without FIN after a finished message) end with a Close
//! 1002, and the hook should have seen the frame that caused it.

mod support;

use std::io::Write;

use crossbeam_channel::Receiver;
use support::*;
use wsthread::{ClosedBy, CloseCode, Direction, Event, Options, WebSocketClient};

/// A frame as the hook saw it: incoming?, opcode, FIN, RSV bits, payload.
#[derive(Clone, PartialEq, Eq)]
struct Seen {
    incoming: bool,
    opcode: u8,
    fin: bool,
    rsv: u8,
    payload: Vec<u8>,
}

impl std::fmt::Debug for Seen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let arrow = if self.incoming { '<' } else { '>' };
        let fin = if self.fin { "fin" } else { "more" };
        let payload = String::from_utf8_lossy(&self.payload);
        write!(f, "{arrow} op={:#x} {fin} rsv={} {payload:?}", self.opcode, self.rsv)
    }
}

fn incoming(opcode: u8, fin: bool, payload: &[u8]) -> Seen {
    Seen { incoming: true, opcode, fin, rsv: 0, payload: payload.to_vec() }
}

fn outgoing(opcode: u8, fin: bool, payload: &[u8]) -> Seen {
    Seen { incoming: false, opcode, fin, rsv: 0, payload: payload.to_vec() }
}

/// One case: the frames the server sends (fin, opcode, payload), and how.
struct Case {
    name: &'static str,
    frames: Vec<(bool, u8, &'static [u8])>,
    /// One byte per write instead of one write for all.
    octets: bool,
    /// Wait for the pong of each ping before sending on (5.19's one-second waits).
    await_pongs: bool,
}

/// Sends a case's frames, then reads what the client sends until its Close (answering a
/// Close of its own with 1000 once the echo is in, when `close` says so).
fn serve_case(c: &mut RawConn, case: &Case, echoes: usize) -> Vec<RawFrame> {
    let mut got = Vec::new();
    let mut chop = Vec::new();
    for &(fin, opcode, payload) in &case.frames {
        let bytes = frame(fin, false, opcode, payload);
        if case.octets {
            for b in bytes {
                c.stream.write_all(&[b]).unwrap();
            }
        } else {
            chop.extend_from_slice(&bytes);
        }
        if case.await_pongs && opcode == OP_PING {
            c.write_all(&std::mem::take(&mut chop)).unwrap();
            let pong = c.read_frame().unwrap();
            assert_eq!((pong.opcode, pong.payload.as_slice()), (OP_PONG, payload), "{}", case.name);
            got.push(pong);
        }
    }
    c.write_all(&chop).unwrap();
    // The echoes (and any pongs), then our Close; or the client's Close when it refused.
    let mut data = 0;
    while data < echoes {
        let f = c.read_frame().unwrap();
        if f.opcode == OP_CLOSE {
            got.push(f);
            return got;
        }
        if f.opcode != OP_PONG {
            data += 1;
        }
        got.push(f);
    }
    c.write_close(1000, "").unwrap();
    let (_, _, rest) = c.read_close().unwrap();
    got.extend(rest);
    got
}

/// Runs `case` against a client that echoes every message; returns what the hook saw, in
/// order, and the client's end.
fn run(case: Case, echoes: usize) -> (Vec<Seen>, wsthread::CloseInfo) {
    let name = case.name;
    let server = Server::threaded(move |stream, _| {
        let mut c = RawConn::new(stream);
        c.accept(&[]).unwrap();
        serve_case(&mut c, &case, echoes);
    });
    let (seen_tx, seen) = crossbeam_channel::unbounded();
    let options = Options::new(&server.ws_url("/")).unwrap().frame_hook(move |f| {
        let rsv = (u8::from(f.rsv1) << 2) | (u8::from(f.rsv2) << 1) | u8::from(f.rsv3);
        let _ = seen_tx.send(Seen {
            incoming: f.direction == Direction::Incoming,
            opcode: f.opcode.code(),
            fin: f.fin,
            rsv,
            payload: f.payload.to_vec(),
        });
    });
    let (closed_tx, closed) = crossbeam_channel::bounded(1);
    let client = WebSocketClient::with_events(
        move |ws, event| match event {
            Event::Message(m) => ws.send(m).unwrap(),
            Event::Closed(info) => closed_tx.send(info).unwrap(),
            _ => {}
        },
        options,
    )
    .unwrap();
    client.connect(&[]).unwrap();
    let info = closed.recv_timeout(WAIT).unwrap_or_else(|e| panic!("{name}: no Closed event: {e:?}"));
    drop(client);
    drop(server);
    (collect(&seen), info)
}

fn collect(seen: &Receiver<Seen>) -> Vec<Seen> {
    seen.try_iter().collect()
}

/// `all` filtered to one direction.
fn only(all: &[Seen], incoming: bool) -> Vec<Seen> {
    all.iter().filter(|s| s.incoming == incoming).cloned().collect()
}

/// Where `s` is in `all`.
fn position(all: &[Seen], s: &Seen, name: &str) -> usize {
    all.iter().position(|x| x == s).unwrap_or_else(|| panic!("{name}: the hook never saw {s:?} in {all:#?}"))
}

/// A case the client accepts: the hook's incoming frames are exactly the server's, its
/// outgoing ones exactly `out`, each pong after its ping, the echo after the last fragment,
/// and the close handshake last.
fn accepted(case: Case, message: &[u8], out_before_echo: Vec<Seen>) {
    let name = case.name;
    let sent: Vec<Seen> = case.frames.iter().map(|&(fin, op, p)| incoming(op, fin, p)).collect();
    let (all, info) = run(case, 1);
    let close = close_payload(1000, "");
    let mut want_in = sent.clone();
    want_in.push(incoming(OP_CLOSE, true, &close));
    assert_eq!(only(&all, true), want_in, "{name}: incoming frames");
    let echo = outgoing(OP_TEXT, true, message);
    let mut want_out = out_before_echo.clone();
    want_out.push(echo.clone());
    want_out.push(outgoing(OP_CLOSE, true, &close));
    assert_eq!(only(&all, false), want_out, "{name}: outgoing frames");
    for pong in &out_before_echo {
        let ping = incoming(OP_PING, true, &pong.payload);
        assert!(position(&all, &ping, name) < position(&all, pong, name), "{name}: pong before its ping");
    }
    let last = sent.last().unwrap();
    assert!(position(&all, last, name) < position(&all, &echo, name), "{name}: echo before the message ended");
    assert_eq!(all.last().unwrap().opcode, OP_CLOSE, "{name}");
    assert_eq!((info.code, info.closed_by, info.clean), (CloseCode::NORMAL, ClosedBy::Remote, true), "{name}: {info:?}");
}

#[test]
fn hook_sees_autobahn_fragmentation_cases() {
    let two: Vec<(bool, u8, &'static [u8])> = vec![(false, OP_TEXT, b"fragment1"), (true, OP_CONT, b"fragment2")];
    let with_ping: Vec<(bool, u8, &'static [u8])> =
        vec![(false, OP_TEXT, b"fragment1"), (true, OP_PING, b"ping payload"), (true, OP_CONT, b"fragment2")];
    let pong = vec![outgoing(OP_PONG, true, b"ping payload")];
    for octets in [false, true] {
        // 5.3 / 5.4: text in two fragments.
        let case = Case { name: if octets { "5.4" } else { "5.3" }, frames: two.clone(), octets, await_pongs: false };
        accepted(case, b"fragment1fragment2", vec![]);
        // 5.6 / 5.7: the same with a ping between the fragments.
        let case = Case { name: if octets { "5.7" } else { "5.6" }, frames: with_ping.clone(), octets, await_pongs: false };
        accepted(case, b"fragment1fragment2", pong.clone());
    }
    // 5.19: five fragments, a ping after the second and after the fourth.
    let frames: Vec<(bool, u8, &'static [u8])> = vec![
        (false, OP_TEXT, b"fragment1"),
        (false, OP_CONT, b"fragment2"),
        (true, OP_PING, b"pongme 1!"),
        (false, OP_CONT, b"fragment3"),
        (false, OP_CONT, b"fragment4"),
        (true, OP_PING, b"pongme 2!"),
        (true, OP_CONT, b"fragment5"),
    ];
    let case = Case { name: "5.19", frames, octets: false, await_pongs: true };
    let pongs = vec![outgoing(OP_PONG, true, b"pongme 1!"), outgoing(OP_PONG, true, b"pongme 2!")];
    accepted(case, b"fragment1fragment2fragment3fragment4fragment5", pongs);
}

/// A case the client refuses: the hook saw the server's frames up to and including the one
/// at fault (`culprit`), the client's echoes before it, and then the client's Close 1002.
fn refused(case: Case, culprit: usize, echoes: Vec<Seen>) {
    let name = case.name;
    let bad = case.frames[culprit];
    let before: Vec<Seen> = case.frames[..culprit].iter().map(|&(fin, op, p)| incoming(op, fin, p)).collect();
    let (all, info) = run(case, echoes.len());
    assert_eq!((info.code, info.closed_by), (CloseCode::PROTOCOL_ERROR, ClosedBy::Local), "{name}: {info:?}");
    let got_in = only(&all, true);
    assert_eq!(got_in[..before.len().min(got_in.len())], before[..], "{name}: incoming frames before the culprit");
    let culprit_seen = got_in.get(before.len()).map(|s| (s.opcode, s.fin));
    assert_eq!(culprit_seen, Some((bad.1, bad.0)), "{name}: the frame at fault, as the hook saw it; all it saw: {all:?}");
    let out = only(&all, false);
    assert_eq!(out[..out.len() - 1], echoes[..], "{name}: outgoing frames before the Close");
    let close = out.last().unwrap();
    assert_eq!((close.opcode, &close.payload[..2]), (OP_CLOSE, &1002u16.to_be_bytes()[..]), "{name}: our Close");
}

#[test]
fn hook_sees_a_fragmented_ping_it_refuses_5_1() {
    let frames = vec![(false, OP_PING, &b"fragment1"[..]), (true, OP_CONT, b"fragment2")];
    refused(Case { name: "5.1", frames, octets: false, await_pongs: false }, 0, vec![]);
}

#[test]
fn hook_sees_a_continuation_with_nothing_to_continue_5_9() {
    let frames = vec![(true, OP_CONT, &b"non-continuation payload"[..]), (true, OP_TEXT, b"Hello, world!")];
    refused(Case { name: "5.9", frames, octets: false, await_pongs: false }, 0, vec![]);
}

#[test]
fn hook_sees_a_continuation_after_a_finished_message_5_15() {
    let frames = vec![
        (false, OP_TEXT, &b"fragment1"[..]),
        (true, OP_CONT, b"fragment2"),
        (false, OP_CONT, b"fragment3"),
        (true, OP_TEXT, b"fragment4"),
    ];
    let echo = vec![outgoing(OP_TEXT, true, b"fragment1fragment2")];
    refused(Case { name: "5.15", frames, octets: false, await_pongs: false }, 2, echo);
}
