//! The close handshake (RFC 6455 §5.5.1, §7.1) as one state: which Close frames were
//! queued and received, and whether the connection was failed instead. Whether a queued
//! Close actually left is a fact of the wire, which the connection thread adds when it
//! reports the end.

use crate::close::{CloseCode, ClosedBy};

/// The content of a Close frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CloseFrame {
    /// [`CloseCode::NO_STATUS`] for a Close without a body.
    pub code: CloseCode,
    pub reason: String,
}

impl CloseFrame {
    pub(crate) fn new(code: CloseCode, reason: &str) -> CloseFrame {
        CloseFrame { code, reason: truncate_reason(reason).to_owned() }
    }

    /// The frame's payload: the code, big-endian, then the reason; empty for 1005.
    pub(crate) fn payload(&self) -> Vec<u8> {
        if self.code == CloseCode::NO_STATUS {
            return Vec::new();
        }
        let mut payload = Vec::with_capacity(2 + self.reason.len());
        payload.extend_from_slice(&self.code.0.to_be_bytes());
        payload.extend_from_slice(self.reason.as_bytes());
        payload
    }
}

/// Where the close handshake stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum CloseState {
    /// No Close yet: data flows both ways.
    Open,
    /// A Close was sent or received; `by` started it. We queue ours at most once (an echo
    /// of the server's code when it started), and the handshake is complete when both are
    /// there.
    Closing { by: ClosedBy, sent: Option<CloseFrame>, received: Option<CloseFrame> },
    /// We failed the connection (RFC 6455 §7.1.7): `sent` is the Close we queued, now or
    /// before; input is ignored from now on.
    Failed { sent: Option<CloseFrame>, why: String },
}

impl CloseState {
    /// A local close: the Close frame to queue, unless one was already sent or the
    /// connection failed.
    pub(crate) fn close(&mut self, frame: CloseFrame) -> Option<CloseFrame> {
        match self {
            CloseState::Open => {
                *self = CloseState::Closing { by: ClosedBy::Local, sent: Some(frame.clone()), received: None };
                Some(frame)
            }
            _ => None,
        }
    }

    /// The server's (valid) Close: the echo to queue when it started the close.
    pub(crate) fn received(&mut self, frame: CloseFrame) -> Option<CloseFrame> {
        match self {
            CloseState::Open => {
                // Echo its code (§5.5.1), not its reason; no code gets an empty Close.
                let echo = CloseFrame { code: frame.code, reason: String::new() };
                *self = CloseState::Closing { by: ClosedBy::Remote, sent: Some(echo.clone()), received: Some(frame) };
                Some(echo)
            }
            CloseState::Closing { received, .. } => {
                received.get_or_insert(frame);
                None
            }
            CloseState::Failed { .. } => None,
        }
    }

    /// Fails the connection: the Close to queue, unless one was queued before.
    pub(crate) fn fail(&mut self, code: CloseCode, why: String) -> Option<CloseFrame> {
        let (sent, new) = match std::mem::replace(self, CloseState::Open) {
            CloseState::Open => {
                let frame = CloseFrame::new(code, &why);
                (Some(frame.clone()), Some(frame))
            }
            CloseState::Closing { sent, .. } => (sent, None),
            CloseState::Failed { sent, why: first } => {
                // The first failure is the one to report.
                *self = CloseState::Failed { sent, why: first };
                return None;
            }
        };
        *self = CloseState::Failed { sent, why };
        new
    }

    /// True while data messages may be sent.
    pub(crate) fn is_open(&self) -> bool {
        matches!(self, CloseState::Open)
    }

    /// True while incoming frames are processed: until the server's Close, or a failure.
    pub(crate) fn reads(&self) -> bool {
        matches!(self, CloseState::Open | CloseState::Closing { received: None, .. })
    }

    /// The server's Close has arrived (and ours was queued): only the TCP close remains.
    pub(crate) fn is_complete(&self) -> bool {
        matches!(self, CloseState::Closing { sent: Some(_), received: Some(_), .. })
    }
}

/// A close reason may hold at most 123 bytes (125 minus the code); cut on a char boundary.
pub(crate) fn truncate_reason(text: &str) -> &str {
    let mut end = text.len().min(123);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(code: u16) -> CloseFrame {
        CloseFrame::new(CloseCode(code), "why")
    }

    #[test]
    fn local_close_then_reply() {
        let mut s = CloseState::Open;
        assert_eq!(s.close(frame(1001)), Some(frame(1001)));
        assert!(!s.is_open() && s.reads() && !s.is_complete());
        assert_eq!(s.close(frame(1000)), None, "one Close only");
        assert_eq!(s.received(frame(1000)), None, "no echo of a reply");
        assert!(s.is_complete() && !s.reads());
        assert!(matches!(&s, CloseState::Closing { sent: Some(f), .. } if *f == frame(1001)));
    }

    #[test]
    fn server_close_is_echoed_with_its_code() {
        let mut s = CloseState::Open;
        let echo = s.received(CloseFrame::new(CloseCode(4001), "bye")).unwrap();
        assert_eq!(echo, CloseFrame::new(CloseCode(4001), ""));
        assert!(s.is_complete());
        assert_eq!(s.close(frame(1001)), None);
        let mut s = CloseState::Open;
        assert!(s.received(CloseFrame::new(CloseCode::NO_STATUS, "")).unwrap().payload().is_empty());
    }

    #[test]
    fn failing_sends_one_close_and_keeps_the_first_reason() {
        let mut s = CloseState::Open;
        assert_eq!(s.fail(CloseCode(1002), "bad".into()).unwrap().code.0, 1002);
        assert_eq!(s.fail(CloseCode(1007), "worse".into()), None);
        assert!(matches!(&s, CloseState::Failed { why, .. } if why == "bad"));
        assert!(!s.reads());
        let mut s = CloseState::Open;
        s.close(frame(1001));
        assert_eq!(s.fail(CloseCode(1002), "bad".into()), None, "our Close already went");
        assert!(matches!(&s, CloseState::Failed { sent: Some(f), .. } if f.code.0 == 1001));
    }

    #[test]
    fn reasons_are_cut_on_a_char_boundary() {
        let long = "é".repeat(100);
        let cut = truncate_reason(&long);
        assert!(cut.len() <= 123 && cut.chars().all(|c| c == 'é'));
        assert_eq!(CloseFrame::new(CloseCode(1000), &long).payload().len(), 2 + cut.len());
    }
}
