//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`). Not part of the API:
//! they reach the parsers that face the server's bytes, which are private otherwise.

use crate::deflate::{DeflateOptions, DeflateParams};
use crate::handshake::{parse_head, Request};
use crate::protocol::{Decoder, Deflater, Encoder, Inflater, Limits, Protocol};

/// The `Sec-WebSocket-Accept` that answers the key of RFC 6455 §1.3's example, which the
/// upgrade target's request is taken to have sent (so a corpus can hold valid answers).
pub const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// Parses `bytes` as the answer to an upgrade request that offered the subprotocol `chat`
/// (without, then with a permessage-deflate offer):
/// the head, the upgrade checks, and a refusal's body (framed by length, chunks or EOF),
/// whole and trickling in a byte at a time. Also checks that a head found in `bytes` reads
/// the same from the prefix where it ends, and from a longer one.
pub fn upgrade_response(bytes: &[u8]) {
    let request = Request { bytes: Vec::new(), accept: ACCEPT.to_owned(), offered_protocols: vec!["chat".to_owned()], offered_deflate: None };
    let Ok(Some(head)) = parse_head(bytes) else { return };
    assert!(head.len <= bytes.len(), "a head longer than its bytes");
    // The dialer parses a growing buffer: the head must read the same from where it ends on.
    for end in [head.len, (head.len + bytes.len()) / 2] {
        let again = parse_head(&bytes[..end]).ok().flatten().expect("a whole head no longer parses");
        assert_eq!((again.status, &again.reason, &again.headers, again.len), (head.status, &head.reason, &head.headers, head.len));
    }
    let _ = head.verify_upgrade(&request);
    // And as the answer to a permessage-deflate offer (RFC 7692 §7.1's checks).
    let offered = Request { offered_deflate: Some(DeflateOptions::default().client_max_window_bits(Some(12))), ..request };
    let _ = head.verify_upgrade(&offered);
    let rest = &bytes[head.len..];
    // The body as one piece, and as it would trickle in a byte at a time (which must
    // cost linear time: the decoder keeps its place).
    let whole = head.body().complete(rest, true);
    let mut body = head.body();
    let mut trickled = None;
    for end in 0..=rest.len() {
        trickled = body.complete(&rest[..end], end == rest.len());
        if trickled.is_some() {
            break;
        }
    }
    for b in [&whole, &trickled] {
        assert!(b.as_ref().is_some_and(|b| b.len() <= crate::handshake::MAX_BODY), "no body, or one over MAX_BODY, at the end");
    }
}

/// What the message layer made of the server's bytes: every event, and how it failed.
#[derive(Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Each event, as text (the message layer's types are private).
    pub events: Vec<String>,
    /// The close code and reason of the violation that ended it, if any.
    pub violation: Option<(u16, String)>,
}

/// Feeds `bytes`, the server's bytes after a valid upgrade, to a fresh message layer with
/// the given limits, in pieces that end where `cuts` say (offsets, in any order; the rest
/// comes last).
pub fn message_layer(bytes: &[u8], cuts: &[usize], max_message: Option<usize>, max_frame: Option<usize>) -> Outcome {
    feed(Protocol::new(Limits { max_message, max_frame }, None, None), bytes, cuts)
}

/// [`message_layer`] after permessage-deflate was agreed (the server resetting its context
/// after each message if `server_no_context_takeover`): RSV1 messages are inflated.
pub fn inflate_layer(bytes: &[u8], cuts: &[usize], max_message: Option<usize>, server_no_context_takeover: bool) -> Outcome {
    let params = DeflateParams { server_no_context_takeover, ..DeflateParams::default() };
    let decoder: Box<dyn Decoder> = Box::new(Inflater::new(&params));
    feed(Protocol::new(Limits { max_message, max_frame: None }, Some(decoder), None), bytes, cuts)
}

/// Compresses each of `messages` as we send them (whole, or in pieces of `piece` bytes
/// when it is not 0) with the agreed `client_max_window_bits` and context takeover, and
/// inflates them as a server would: each must come back as it was.
pub fn deflate_round_trip(messages: &[&[u8]], piece: usize, window_bits: u8, no_context_takeover: bool) {
    let params = DeflateParams {
        client_no_context_takeover: no_context_takeover,
        server_no_context_takeover: no_context_takeover,
        client_max_window_bits: window_bits,
        ..DeflateParams::default()
    };
    let mut deflater = Deflater::new(&params, &DeflateOptions::default().min_size(0));
    let mut inflater = Inflater::new(&params);
    for (i, message) in messages.iter().enumerate() {
        let mut compressed = Vec::new();
        if piece == 0 {
            assert!(deflater.begin(Some(message.len())));
            deflater.encode(message, true, &mut compressed);
        } else {
            assert!(deflater.begin(None));
            let pieces: Vec<&[u8]> = if message.is_empty() { vec![&[]] } else { message.chunks(piece).collect() };
            for (k, p) in pieces.iter().enumerate() {
                deflater.encode(p, k + 1 == pieces.len(), &mut compressed);
            }
        }
        let mut back = Vec::new();
        inflater.decode(&compressed, true, &mut back, Some(message.len())).expect("our own compressed message inflates");
        assert!(back == *message, "message {i} ({} bytes) came back as {} bytes", message.len(), back.len());
    }
}

/// Feeds `bytes` to `protocol` in pieces ending where `cuts` say.
fn feed(mut protocol: Protocol, bytes: &[u8], cuts: &[usize]) -> Outcome {
    let mut ends: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    ends.push(bytes.len());
    ends.sort_unstable();
    let mut events = Vec::new();
    let mut start = 0;
    for end in ends {
        while start < end {
            let (used, out) = protocol.feed(&bytes[start..end]);
            assert!(used <= end - start, "used more bytes than given");
            start += used;
            match out {
                Ok(Some(event)) => events.push(format!("{event:?}")),
                Ok(None) => assert_eq!(start, end, "stopped short without an event"),
                Err(v) => return Outcome { events, violation: Some((v.code.0, v.why)) },
            }
        }
    }
    Outcome { events, violation: None }
}
