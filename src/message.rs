//! Data messages: what the callback receives and what `send` takes.

use std::fmt;

/// A complete WebSocket data message. Fragmented messages arrive reassembled.
///
/// Control frames (ping, pong, close) are not messages: pings are answered for you and the
/// end of the connection is told by `None` and [`CloseInfo`](crate::CloseInfo).
///
/// `From` conversions make sending short: `&str` and `String` become [`Message::Text`],
/// `&[u8]`, `[u8; N]` and `Vec<u8>` become [`Message::Binary`].
///
/// ```
/// use wsthread::Message;
/// assert_eq!(Message::from("hi"), Message::Text("hi".to_owned()));
/// assert_eq!(Message::from(vec![1u8, 2]), Message::Binary(vec![1, 2]));
/// assert_eq!(Message::from(b"hi"), Message::Binary(b"hi".to_vec()));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message; always valid UTF-8 (invalid text closes the connection with 1007).
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
}

/// The kind of a data message, for messages sent in fragments
/// ([`send_fragments`](crate::Handle::send_fragments), [`writer`](crate::Handle::writer)).
///
/// ```
/// use wsthread::{Message, MessageKind};
/// assert_eq!(Message::from("hi").kind(), MessageKind::Text);
/// assert_eq!(Message::from(vec![0u8]).kind(), MessageKind::Binary);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// Text: the whole message must be valid UTF-8 (a code point may be split between
    /// fragments).
    Text,
    /// Binary.
    Binary,
}

impl Message {
    /// The kind of this message.
    ///
    /// ```
    /// use wsthread::{Message, MessageKind};
    /// let reply = Message::from("pong");
    /// assert_eq!(reply.kind(), MessageKind::Text);
    /// ```
    pub fn kind(&self) -> MessageKind {
        match self {
            Message::Text(_) => MessageKind::Text,
            Message::Binary(_) => MessageKind::Binary,
        }
    }

    /// The payload as bytes, whatever the kind.
    ///
    /// ```
    /// use wsthread::Message;
    /// assert_eq!(Message::from("hi").as_bytes(), b"hi");
    /// assert_eq!(Message::from(vec![104u8, 105]).as_bytes(), b"hi");
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Message::Text(s) => s.as_bytes(),
            Message::Binary(b) => b,
        }
    }

    /// The text, if this is a text message.
    ///
    /// ```
    /// use wsthread::Message;
    /// assert_eq!(Message::from("hi").as_text(), Some("hi"));
    /// assert_eq!(Message::from(b"hi").as_text(), None); // binary, even if it is UTF-8
    /// ```
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Message::Text(s) => Some(s),
            Message::Binary(_) => None,
        }
    }

    /// Payload length in bytes.
    ///
    /// ```
    /// use wsthread::Message;
    /// assert_eq!(Message::from("hé").len(), 3); // bytes, not characters
    /// ```
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// True when the payload is empty.
    ///
    /// ```
    /// use wsthread::Message;
    /// assert!(Message::from("").is_empty());
    /// assert!(!Message::from(vec![0u8]).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True for a text message.
    ///
    /// ```
    /// use wsthread::Message;
    /// assert!(Message::from("hi").is_text());
    /// assert!(!Message::from(b"hi").is_text());
    /// ```
    pub fn is_text(&self) -> bool {
        matches!(self, Message::Text(_))
    }

    /// True for a binary message.
    ///
    /// ```
    /// use wsthread::Message;
    /// assert!(Message::from(vec![1u8, 2]).is_binary());
    /// assert!(!Message::from("12").is_binary());
    /// ```
    pub fn is_binary(&self) -> bool {
        matches!(self, Message::Binary(_))
    }

    /// The payload as owned bytes, whatever the kind.
    ///
    /// ```
    /// use wsthread::Message;
    /// let bytes: Vec<u8> = Message::from("hi").into_bytes();
    /// assert_eq!(bytes, b"hi".to_vec());
    /// ```
    pub fn into_bytes(self) -> Vec<u8> {
        match self {
            Message::Text(s) => s.into_bytes(),
            Message::Binary(b) => b,
        }
    }
}

impl fmt::Debug for Message {
    // Long payloads would flood logs: show the kind, the length and a short prefix.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 64;
        match self {
            Message::Text(s) if s.len() <= SHOWN => write!(f, "Text({s:?})"),
            Message::Text(s) => {
                let mut end = SHOWN;
                while !s.is_char_boundary(end) {
                    end -= 1;
                }
                write!(f, "Text({:?}… {} bytes)", &s[..end], s.len())
            }
            Message::Binary(b) if b.len() <= SHOWN => write!(f, "Binary({b:?})"),
            Message::Binary(b) => write!(f, "Binary({:?}… {} bytes)", &b[..SHOWN], b.len()),
        }
    }
}

impl From<String> for Message {
    fn from(s: String) -> Self {
        Message::Text(s)
    }
}

impl From<&str> for Message {
    fn from(s: &str) -> Self {
        Message::Text(s.to_owned())
    }
}

impl From<&String> for Message {
    fn from(s: &String) -> Self {
        Message::Text(s.clone())
    }
}

impl From<Vec<u8>> for Message {
    fn from(b: Vec<u8>) -> Self {
        Message::Binary(b)
    }
}

impl From<&[u8]> for Message {
    fn from(b: &[u8]) -> Self {
        Message::Binary(b.to_vec())
    }
}

impl<const N: usize> From<[u8; N]> for Message {
    fn from(b: [u8; N]) -> Self {
        Message::Binary(b.to_vec())
    }
}

impl<const N: usize> From<&[u8; N]> for Message {
    fn from(b: &[u8; N]) -> Self {
        Message::Binary(b.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_pick_the_kind() {
        assert_eq!(Message::from("hi"), Message::Text("hi".into()));
        assert_eq!(Message::from(vec![1u8, 2]), Message::Binary(vec![1, 2]));
        assert_eq!(Message::from(&b"ab"[..]), Message::Binary(b"ab".to_vec()));
        assert_eq!(Message::from(*b"ab"), Message::Binary(b"ab".to_vec()));
    }

    #[test]
    fn debug_cuts_long_payloads_on_char_boundaries() {
        let s = "é".repeat(100);
        let shown = format!("{:?}", Message::Text(s));
        assert!(shown.contains("200 bytes"), "{shown}");
    }
}
