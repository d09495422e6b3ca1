//! Protocol-violation tests: a server sends bytes the client must refuse, and the client must
//! fail the connection with a Close of its own (RFC 6455 §7.1.7).
//!
//! ```ignore
//! let info = Violation::new(frame(true, true, OP_TEXT, b"x")).expect_close(1002, "reserved");
//! ```

use crossbeam_channel::Receiver;
use wsthread::{CloseInfo, ClosedBy, Message, Options, WebSocketClient};

use super::{collector, expect_end, expect_no_more, next_message, RawConn, Server, OP_CLOSE, WAIT};

/// The client's Close as a raw server read it (code, reason), or why it could not.
pub type CloseReport = Result<(Option<u16>, String), String>;

/// When the violating server writes its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    /// In a write of their own, right after the 101 answer: they may reach the client with the
    /// handshake or after it.
    AfterThe101,
    /// In the same write as the 101 answer: the client reads them with the handshake.
    WithThe101,
    /// Once the server has read a first message from the client, sent after `connect`
    /// returned: the client reads them on its connection thread, never with the handshake.
    AfterAClientMessage,
}

/// A raw server for protocol-violation tests: it answers the upgrade, writes `bytes` (see
/// [`When`]), then reports the client's Close (code, reason) or the read error. It answers
/// that Close with one of its own unless `bytes` held a Close already, and ends the connection.
pub fn violating_server(bytes: Vec<u8>, when: When) -> (Server, Receiver<CloseReport>) {
    violating_server_answering(bytes, when, &[])
}

/// [`violating_server`] whose 101 answer carries the `headers` too (an agreed extension).
pub fn violating_server_answering(
    bytes: Vec<u8>,
    when: When,
    headers: &'static [&'static str],
) -> (Server, Receiver<CloseReport>) {
    let (tx, rx) = crossbeam_channel::unbounded();
    let server_closed_first = holds_close(&bytes);
    let server = Server::threaded(move |stream, _| {
        let mut c = RawConn::new(stream);
        let accepted = match when {
            When::WithThe101 => c.accept_then(headers, &bytes).map(drop),
            When::AfterThe101 => c.accept(headers).and_then(|_| c.write_all(&bytes)),
            When::AfterAClientMessage => {
                c.accept(headers).and_then(|_| c.read_frame()).and_then(|_| c.write_all(&bytes))
            }
        };
        if let Err(e) = accepted {
            let _ = tx.send(Err(format!("the server could not send its bytes: {e}")));
            return;
        }
        match c.read_close() {
            Ok((code, reason, _)) => {
                let _ = tx.send(Ok((code, reason)));
                if !server_closed_first {
                    let _ = c.write_close(code.unwrap_or(1000), "");
                }
            }
            Err(e) => drop(tx.send(Err(format!("no Close from the client: {e}")))),
        }
    });
    (server, rx)
}

/// True when the (unmasked) server frames in `bytes` include a whole Close frame.
fn holds_close(mut bytes: &[u8]) -> bool {
    while bytes.len() >= 2 {
        let (opcode, len7) = (bytes[0] & 0x0F, bytes[1] & 0x7F);
        let (len, head) = match len7 {
            126 if bytes.len() >= 4 => (u64::from(u16::from_be_bytes([bytes[2], bytes[3]])), 4),
            127 if bytes.len() >= 10 => (u64::from_be_bytes(bytes[2..10].try_into().unwrap()), 10),
            126 | 127 => return false,
            n => (u64::from(n), 2),
        };
        let end = head as u64 + len;
        if end > bytes.len() as u64 {
            return false;
        }
        if opcode == OP_CLOSE {
            return true;
        }
        bytes = &bytes[end as usize..];
    }
    false
}

/// A protocol-violation test, from the client's side: connect to a [`violating_server`], take
/// the messages that come before the violation, and see how the connection ends.
pub struct Violation {
    bytes: Vec<u8>,
    when: When,
    options: Box<dyn FnOnce(Options) -> Options>,
    before: Vec<Message>,
    headers: &'static [&'static str],
}

/// How a [`Violation`] ended: the client's Close as the server read it, and `close_info()`.
#[derive(Debug)]
pub struct Outcome {
    pub code: Option<u16>,
    pub reason: String,
    pub info: CloseInfo,
}

impl Violation {
    /// The server sends `bytes` after the 101 answer, in a write of their own.
    pub fn new(bytes: Vec<u8>) -> Violation {
        Violation { bytes, when: When::AfterThe101, options: Box::new(|o| o), before: Vec::new(), headers: &[] }
    }

    /// Headers the 101 answer carries too, e.g. an agreed `Sec-WebSocket-Extensions`.
    pub fn answering(mut self, headers: &'static [&'static str]) -> Violation {
        self.headers = headers;
        self
    }

    /// When the server sends them.
    pub fn sent(mut self, when: When) -> Violation {
        self.when = when;
        self
    }

    /// Options beyond the URL, e.g. a smaller `max_message_size`.
    pub fn options(mut self, options: impl FnOnce(Options) -> Options + 'static) -> Violation {
        self.options = Box::new(options);
        self
    }

    /// Messages the server's bytes hold before the violation: they must be delivered first.
    pub fn delivers_first(mut self, messages: impl IntoIterator<Item = Message>) -> Violation {
        self.before.extend(messages);
        self
    }

    /// Runs the connection to its end. Fails unless the messages of `delivers_first` come, then
    /// `None` and nothing after it, and unless the server gets a Close from the client (within
    /// `WAIT`: a client that waits for more bytes than the server sent never answers).
    pub fn run(self) -> Outcome {
        let (server, reports) = violating_server_answering(self.bytes, self.when, self.headers);
        let options = (self.options)(Options::new(&server.ws_url("/")).unwrap());
        let (callback, events) = collector();
        let client = WebSocketClient::new(callback, options).unwrap();
        client.connect(&[]).unwrap();
        if self.when == When::AfterAClientMessage {
            client.send("ready").unwrap();
        }
        for expected in &self.before {
            assert_eq!(&next_message(&events), expected);
        }
        let report = reports.recv_timeout(WAIT).expect("the server got no Close from the client");
        let (code, reason) = report.unwrap_or_else(|e| panic!("{e}"));
        expect_end(&events);
        let info = client.close_info().expect("close_info after the end");
        drop(client);
        expect_no_more(&events);
        drop(server);
        Outcome { code, reason, info }
    }

    /// Runs it (see [`run`](Self::run)) and checks that the client failed the connection:
    /// its Close carries `code` and a reason that contains `reason_has` (in any case), and
    /// `close_info()` reports that same Close, closed by us, not clean, with an error.
    pub fn expect_close(self, code: u16, reason_has: &str) -> CloseInfo {
        let Outcome { code: got, reason, info } = self.run();
        assert_eq!(got, Some(code), "the client's Close code (reason {reason:?}); {info}");
        assert!(
            reason.to_lowercase().contains(&reason_has.to_lowercase()),
            "the client's Close reason {reason:?} should mention {reason_has:?}"
        );
        assert_eq!(info.code.0, code, "{info}");
        assert_eq!(info.reason, reason, "close_info reports the Close we sent: {info}");
        assert_eq!(info.closed_by, ClosedBy::Local, "{info}");
        assert!(!info.clean, "a failed connection is not a clean close: {info}");
        assert!(info.error.is_some(), "close_info().error tells what the server did wrong: {info}");
        info
    }
}
