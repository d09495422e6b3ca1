use super::*;
use crate::frame::tests::decode;
use crate::frame::{OP_PING, OP_PONG};

fn outbox(encoder: Option<Box<dyn Encoder>>, observer: Option<FrameObserver>) -> (Outbox, mio::Poll) {
    let poll = mio::Poll::new().unwrap();
    let waker = Arc::new(Waker::new(poll.registry(), mio::Token(1)).unwrap());
    (Outbox::new(waker, None, encoder, observer, (usize::MAX, usize::MAX)), poll)
}

fn counts(unsent: Unsent) -> (usize, u64) {
    (unsent.count, unsent.bytes)
}

/// A writer that takes at most `step` bytes per call, and blocks once `budget` is spent.
struct Trickle {
    out: Vec<u8>,
    step: usize,
    budget: usize,
}

impl Write for Trickle {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = buf.len().min(self.step).min(self.budget);
        if n == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        self.budget -= n;
        self.out.extend_from_slice(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn drain(outbox: &Outbox) -> Vec<u8> {
    let mut out = Trickle { out: Vec::new(), step: usize::MAX, budget: usize::MAX };
    outbox.flush_into(&mut out).unwrap();
    out.out
}

#[test]
fn partial_writes_keep_order_and_count_unsent_messages() {
    let (outbox, _poll) = outbox(None, None);
    let mut expected = Vec::new();
    let mut out = Trickle { out: Vec::new(), step: 5, budget: 0 };
    for i in 0..300u32 {
        // Small frames share chunks; every 50th is larger than a chunk.
        let len = if i % 50 == 49 { CHUNK + 3 } else { (i as usize * 13) % 300 };
        let payload = vec![i as u8; len];
        outbox.send(OP_BINARY, &payload, Wait::Forever).unwrap();
        expected.push((OP_BINARY, payload));
        if i % 7 == 0 {
            outbox.push_control(OP_PONG, b"");
            expected.push((OP_PONG, Vec::new()));
        }
        out.budget = 997;
        if let Err(e) = outbox.flush_into(&mut out) {
            assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
        }
    }
    let unsent = outbox.queue.lock().ends.len();
    assert!(unsent > 0 && unsent < 300, "{unsent}");
    out.budget = usize::MAX;
    outbox.flush_into(&mut out).unwrap();
    assert_eq!(outbox.queue.lock().pending, 0);
    assert_eq!(outbox.written(), out.out.len() as u64);
    assert_eq!(counts(outbox.finish()), (0, 0));
    let mut at = 0;
    for (opcode, payload) in expected {
        let (head, got, used) = decode(&out.out[at..]);
        assert_eq!((head.opcode, got.len()), (opcode, payload.len()));
        assert_eq!(got, payload);
        at += used;
    }
    assert_eq!(at, out.out.len());
}

#[test]
fn closed_outbox_refuses_data_and_counts_what_never_left() {
    let (outbox, _poll) = outbox(None, None);
    outbox.send(OP_TEXT, b"one", Wait::Forever).unwrap();
    outbox.send(OP_PING, b"", Wait::Forever).unwrap();
    outbox.send(OP_TEXT, b"two", Wait::Forever).unwrap();
    outbox.close();
    assert!(outbox.send(OP_TEXT, b"three", Wait::Forever).is_err());
    let end = outbox.push_control(crate::frame::OP_CLOSE, &[3, 232]);
    assert_eq!(end, 9 + 6 + 9 + 8);
    assert_eq!(counts(outbox.finish()), (2, end));
}

/// The extension seam's sending half: data messages are transformed in queue order and
/// marked with RSV1; control frames never are. Every frame is seen by the observer.
#[test]
fn an_encoder_transforms_data_messages_and_the_observer_sees_every_frame() {
    struct Reverse;
    impl Encoder for Reverse {
        fn begin(&mut self, len: Option<usize>) -> bool {
            len.is_none_or(|n| n > 1) // a tiny message is left as it is
        }
        fn encode(&mut self, payload: &[u8], _last: bool, out: &mut Vec<u8>) {
            out.extend(payload.iter().rev());
        }
    }
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let observer: FrameObserver = Arc::new(move |dir, head: &Head, _: &[u8]| log.lock().push((dir, head.opcode, head.rsv1)));
    let (outbox, _poll) = outbox(Some(Box::new(Reverse)), Some(observer));
    outbox.send(OP_TEXT, b"abc", Wait::Forever).unwrap();
    outbox.send(OP_PING, b"xy", Wait::Forever).unwrap();
    outbox.send(OP_BINARY, b"z", Wait::Forever).unwrap();
    let bytes = drain(&outbox);
    let (head, payload, used) = decode(&bytes);
    assert!(head.rsv1);
    assert_eq!(payload, b"cba");
    let (head, payload, used2) = decode(&bytes[used..]);
    assert!(!head.rsv1 && head.opcode == OP_PING && payload == b"xy");
    let (head, payload, _) = decode(&bytes[used + used2..]);
    assert!(!head.rsv1 && payload == b"z");
    let out = Direction::Outgoing;
    assert_eq!(*seen.lock(), vec![(out, OP_TEXT, true), (out, OP_PING, false), (out, OP_BINARY, false)]);
}

/// Writes to a connection the peer has closed end in `BrokenPipe`, not in a SIGPIPE that
/// would kill a host program that leaves the signal at its default (as C programs do).
#[cfg(unix)]
#[test]
fn writes_to_a_closed_peer_do_not_raise_sigpipe() {
    // The Rust runtime ignores SIGPIPE; put the default back, as a C host would have it.
    // SAFETY: `signal` with a valid signal number and disposition; restored below.
    let previous = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    drop(listener.accept().unwrap()); // the peer closes: our writes meet a reset, then EPIPE
    client.set_nonblocking(true).unwrap();
    let mut transport = Transport::Plain(Arc::new(mio::net::TcpStream::from_std(client)));
    let outbox = outbox(None, None);
    let mut broken = false;
    for _ in 0..1000 {
        outbox.0.send(OP_BINARY, &[7; 1024], Wait::Forever).unwrap();
        match outbox.0.flush_into(&mut transport) {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe || e.kind() == io::ErrorKind::ConnectionReset => {
                broken = true;
                if e.kind() == io::ErrorKind::BrokenPipe {
                    break;
                }
            }
            _ => std::thread::yield_now(),
        }
    }
    // SAFETY: as above.
    unsafe { libc::signal(libc::SIGPIPE, previous) };
    assert!(broken, "writes to a closed peer never failed");
}

/// A fragmented message holds back other senders' data messages until its final frame,
/// while control frames pass; RSV1 (an encoded message) is on its first frame only.
#[test]
fn a_fragmented_message_holds_back_other_data_messages() {
    struct Upper;
    impl Encoder for Upper {
        fn begin(&mut self, _: Option<usize>) -> bool {
            true
        }
        fn encode(&mut self, payload: &[u8], _last: bool, out: &mut Vec<u8>) {
            out.extend(payload.to_ascii_uppercase());
        }
    }
    let (outbox, _poll) = outbox(Some(Box::new(Upper)), None);
    let outbox = Arc::new(outbox);
    let owner = Owner::new();
    outbox.fragment(owner, OP_TEXT, b"ab", false, Wait::Forever).unwrap();
    assert!(matches!(outbox.fragment(Owner::new(), OP_CONTINUE, b"x", true, Wait::Forever), Err(Error::Frame(FrameError::NothingToContinue))));
    assert!(matches!(outbox.fragment(owner, OP_BINARY, b"x", true, Wait::Forever), Err(Error::Frame(FrameError::MessageInProgress))));
    // This thread fed the message: a whole message from it would wait for itself.
    assert!(matches!(outbox.send(OP_BINARY, b"x", Wait::Forever), Err(Error::Frame(FrameError::MessageInProgress))));

    let (sent, was_sent) = crossbeam_channel::bounded(1);
    let other = outbox.clone();
    let sender = std::thread::spawn(move || {
        other.send(OP_BINARY, b"later", Wait::Forever).unwrap();
        sent.send(()).unwrap();
    });
    // The other thread waits while the message is open; a ping goes in between.
    assert!(was_sent.recv_timeout(std::time::Duration::from_millis(100)).is_err());
    outbox.send(OP_PING, b"p", Wait::Forever).unwrap();
    outbox.fragment(owner, OP_CONTINUE, b"cd", true, Wait::Forever).unwrap();
    was_sent.recv_timeout(std::time::Duration::from_secs(10)).expect("released by the final frame");
    sender.join().unwrap();

    let bytes = drain(&outbox);
    let mut frames = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let (head, payload, used) = decode(&bytes[at..]);
        frames.push((head.opcode, head.fin, head.rsv1, payload));
        at += used;
    }
    assert_eq!(
        frames,
        vec![
            (OP_TEXT, false, true, b"AB".to_vec()),
            (OP_PING, true, false, b"p".to_vec()),
            (OP_CONTINUE, true, false, b"CD".to_vec()),
            (OP_BINARY, true, true, b"LATER".to_vec()),
        ]
    );
}

/// Text fragments may split a code point, but never make invalid UTF-8; a refused fragment
/// changes nothing.
#[test]
fn text_fragments_stay_valid_utf8() {
    let (outbox, _poll) = outbox(None, None);
    let owner = Owner::new();
    assert!(matches!(outbox.fragment(owner, OP_TEXT, b"\xff", false, Wait::Forever), Err(Error::Frame(FrameError::InvalidUtf8))));
    outbox.fragment(owner, OP_TEXT, b"h\xc3", false, Wait::Forever).unwrap();
    assert!(matches!(outbox.fragment(owner, OP_CONTINUE, b"x", true, Wait::Forever), Err(Error::Frame(FrameError::InvalidUtf8))));
    assert!(matches!(outbox.fragment(owner, OP_CONTINUE, b"", true, Wait::Forever), Err(Error::Frame(FrameError::InvalidUtf8))));
    outbox.fragment(owner, OP_CONTINUE, b"\xa9", true, Wait::Forever).unwrap();
    assert!(matches!(outbox.fragment(owner, OP_TEXT, b"\xc3", true, Wait::Forever), Err(Error::Frame(FrameError::InvalidUtf8))));
    let bytes = drain(&outbox);
    let (_, first, used) = decode(&bytes);
    let (_, second, _) = decode(&bytes[used..]);
    assert_eq!([first, second].concat(), "hé".as_bytes());
}

/// Senders that can wait stop at the high water; those that cannot (and those whose wait is
/// over) use the whole limit.
#[test]
fn waiting_senders_keep_to_the_high_water_the_others_to_the_limit() {
    let (outbox, _poll) = outbox(None, None);
    let outbox = Arc::new(Outbox { limit: 4000, high_water: 1000, ..outbox });
    outbox.send(OP_BINARY, &[1; 900], Wait::No).unwrap();
    outbox.send(OP_BINARY, &[2; 900], Wait::No).unwrap(); // beyond the high water, within the limit
    let soon = Instant::now() + Duration::from_millis(20);
    outbox.send(OP_BINARY, &[3; 900], Wait::Until(soon)).unwrap();
    assert!(Instant::now() >= soon, "took the limit's room before its wait was over");
    assert!(matches!(outbox.send(OP_BINARY, &[4; 2000], Wait::No), Err(Error::QueueFull)), "went past the limit");

    let (sent, sent_rx) = crossbeam_channel::bounded(1);
    let waiting = {
        let outbox = outbox.clone();
        thread::spawn(move || sent.send(outbox.send(OP_BINARY, &[5; 10], Wait::Forever)).unwrap())
    };
    assert!(sent_rx.recv_timeout(Duration::from_millis(50)).is_err(), "did not wait at the high water");
    drain(&outbox);
    sent_rx.recv_timeout(Duration::from_secs(10)).expect("a waiting sender was never woken").unwrap();
    waiting.join().unwrap();

    // A message larger than the high water goes in once the queue is down to half of it,
    // not only into an empty queue.
    drain(&outbox);
    outbox.send(OP_BINARY, &[6; 400], Wait::No).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    outbox.send(OP_BINARY, &[7; 1500], Wait::Until(deadline)).unwrap();
    assert!(Instant::now() < deadline, "a large message waited for an empty queue");
}

/// The queue is bounded in bytes: what does not fit is refused (or waits), never dropped;
/// an empty queue takes a message of any size; control frames always fit; bytes that leave
/// make room for a waiting sender.
#[test]
fn a_full_queue_refuses_or_waits_for_room() {
    let (outbox, _poll) = outbox(None, None);
    let outbox = Arc::new(Outbox { limit: 1000, high_water: 1000, ..outbox });
    outbox.send(OP_BINARY, &[1; 5000], Wait::No).unwrap(); // larger than the limit, but alone
    assert!(matches!(outbox.send(OP_BINARY, &[2; 10], Wait::No), Err(Error::QueueFull)));
    let soon = Instant::now() + Duration::from_millis(20);
    assert!(matches!(outbox.send(OP_BINARY, &[2; 10], Wait::Until(soon)), Err(Error::QueueFull)));
    outbox.send(OP_PING, b"", Wait::No).unwrap();
    assert_eq!(outbox.pending(), frame::encoded_len(5000) + frame::encoded_len(0));

    let (sent, sent_rx) = crossbeam_channel::bounded(1);
    let waiting = {
        let outbox = outbox.clone();
        thread::spawn(move || sent.send(outbox.send(OP_TEXT, b"waited", Wait::Forever)).unwrap())
    };
    assert!(sent_rx.recv_timeout(Duration::from_millis(50)).is_err(), "sent into a full queue");
    drain(&outbox);
    sent_rx.recv_timeout(Duration::from_secs(10)).expect("a waiting sender was never woken").unwrap();
    waiting.join().unwrap();
    assert_eq!(decode(&drain(&outbox)).1, b"waited");

    // Closing wakes waiters with NotConnected.
    outbox.send(OP_BINARY, &[1; 5000], Wait::No).unwrap();
    let waiting = {
        let outbox = outbox.clone();
        thread::spawn(move || outbox.send(OP_BINARY, &[3; 10], Wait::Forever))
    };
    // Until the sender waits (a woken waiter finds no room and waits again).
    while !outbox.room.notify_one() {
        thread::yield_now();
    }
    outbox.close();
    assert!(matches!(waiting.join().unwrap(), Err(Error::NotConnected)));
}

/// Whole messages that never (completely) left are read back from their frames, in order;
/// what left whole, control frames and fragmented messages are not handed back.
#[test]
fn unsent_messages_are_handed_back_in_order() {
    let (outbox, _poll) = outbox(None, None);
    outbox.send(OP_TEXT, b"left", Wait::No).unwrap();
    outbox.send(OP_BINARY, &[9; 300], Wait::No).unwrap();
    outbox.send(OP_PING, b"p", Wait::No).unwrap();
    let owner = Owner::new();
    outbox.fragment(owner, OP_TEXT, b"frag", false, Wait::No).unwrap();
    outbox.fragment(owner, OP_CONTINUE, b"ment", true, Wait::No).unwrap();
    outbox.send(OP_TEXT, "héllo".as_bytes(), Wait::No).unwrap();
    // The first message and part of the second leave.
    let mut out = Trickle { out: Vec::new(), step: usize::MAX, budget: frame::encoded_len(4) + 10 };
    assert!(outbox.flush_into(&mut out).is_err());
    let unsent = outbox.finish();
    assert_eq!(unsent.count, 3, "the binary, the fragmented and the last text");
    assert_eq!(unsent.messages, vec![Message::Binary(vec![9; 300]), Message::Text("héllo".into())]);
}

/// While the thread sleeps, the first sender writes its message at once; the next ones wake
/// the thread and leave theirs to it (one wake-up and batched writes for a stream of sends,
/// no added wait for a lone message). Its next sleep lets a sender write again.
#[test]
fn while_the_thread_sleeps_one_sender_writes_the_next_wake_it() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (_peer, _) = listener.accept().unwrap();
    client.set_nonblocking(true).unwrap();
    let transport = Transport::Plain(Arc::new(mio::net::TcpStream::from_std(client)));
    let mut poll = mio::Poll::new().unwrap();
    let waker = Arc::new(Waker::new(poll.registry(), mio::Token(1)).unwrap());
    let outbox = Outbox::new(waker, Some(transport.clone()), None, None, (usize::MAX, usize::MAX));
    let mut events = mio::Events::with_capacity(4);
    let mut woken = |poll: &mut mio::Poll| {
        poll.poll(&mut events, Some(std::time::Duration::ZERO)).unwrap();
        events.iter().any(|e| e.token() == mio::Token(1))
    };

    for round in 0..2 {
        assert!(matches!(outbox.may_sleep(true), Sleep::Granted { .. }), "round {round}");
        outbox.send(OP_BINARY, &[1; 100], Wait::Forever).unwrap();
        assert_eq!(outbox.pending(), 0, "the first send while it sleeps is written at once");
        assert!(!woken(&mut poll), "and does not wake the thread");
        outbox.send(OP_BINARY, &[2; 100], Wait::Forever).unwrap();
        outbox.send(OP_BINARY, &[3; 100], Wait::Forever).unwrap();
        assert_eq!(outbox.pending(), 2 * frame::encoded_len(100), "the next ones wait for the thread");
        assert!(woken(&mut poll), "which they woke");
        outbox.woke_up(false);
        assert_eq!(outbox.may_sleep(true), Sleep::Refused, "it writes them before it sleeps");
        outbox.flush_into(&mut &transport).unwrap();
        assert_eq!(outbox.pending(), 0);
    }
    assert_eq!(outbox.written(), 6 * frame::encoded_len(100) as u64);
}
