//! Seams of the message layer for what plugs into it: an extension that claims RSV1 and
//! transforms payloads (permessage-deflate, RFC 7692, is the one to come), and an observer
//! that sees every frame in both directions.

use std::sync::Arc;

use crate::frame::Head;
use crate::protocol::Violation;
use crate::raw::Direction;

/// The receiving half of a negotiated extension, run on the connection thread.
pub(crate) trait Decoder: Send {
    /// Decodes the next piece of a message whose first frame had RSV1 set, appending to
    /// `out`; `last` when the message's final bytes are in `input`. It must not let `out`
    /// grow past `limit` (the message limit, applied to the decoded size): a few KiB may
    /// decode to gigabytes. Fails with 1009 for that, or with the code the extension's RFC
    /// gives for a corrupt payload.
    fn decode(&mut self, input: &[u8], last: bool, out: &mut Vec<u8>, limit: Option<usize>) -> Result<(), Violation>;
}

/// The sending half, run by senders under the outgoing queue's lock, so that messages are
/// transformed in the order they leave (a compression context depends on it). A message is
/// transformed in pieces: whole messages are one piece, a message sent as fragments is one
/// piece per fragment.
pub(crate) trait Encoder: Send {
    /// Starts a data message. `len` is its whole payload's length when it is known (a
    /// message sent whole), `None` for one streamed in fragments. True when this message is
    /// transformed, and its first frame must carry RSV1; false leaves it as it is (a tiny
    /// one, say), and `encode` is not called for it.
    fn begin(&mut self, len: Option<usize>) -> bool;
    /// Transforms the next piece of the message `begin` accepted, appending to `out`;
    /// `last` with its final piece, which must flush whatever the transform still holds.
    fn encode(&mut self, input: &[u8], last: bool, out: &mut Vec<u8>);
}

/// Sees every frame with its payload as it is on the wire (unmasked): incoming ones once
/// complete, before they are acted on, or as far as they came when the connection fails
/// for them (a refused header: no payload); outgoing ones as they are queued. Called on whichever thread handles the frame.
pub(crate) type FrameObserver = Arc<dyn Fn(Direction, &Head, &[u8]) + Send + Sync>;
