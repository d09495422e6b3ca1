//! UTF-8 checked a piece at a time, for text sent as fragments: a code point may be split
//! between pieces (RFC 6455 §5.6 only asks that the whole message be valid).

use std::str;

/// The state between pieces: the bytes of a code point begun and not yet finished.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Utf8Stream {
    carry: [u8; 4],
    len: u8,
}

impl Utf8Stream {
    /// The state after `piece`, or `None` if the text so far cannot be valid UTF-8 (with
    /// `last`: if it does not end on a whole code point). `self` is left as it was, so that a
    /// refused piece changes nothing.
    pub(crate) fn after(&self, piece: &[u8], last: bool) -> Option<Utf8Stream> {
        let mut rest = piece;
        let mut next = *self;
        if next.len > 0 {
            // Finish the code point begun before: at most 3 more bytes.
            let have = next.len as usize;
            let take = rest.len().min(4 - have);
            let mut joined = [0u8; 4];
            joined[..have].copy_from_slice(&next.carry[..have]);
            joined[have..have + take].copy_from_slice(&rest[..take]);
            match str::from_utf8(&joined[..have + take]) {
                Ok(_) => {
                    rest = &rest[take..];
                    next.len = 0;
                }
                Err(e) if e.valid_up_to() > 0 => {
                    // The code point ended within `take`; the rest is checked below.
                    rest = &rest[e.valid_up_to() - have..];
                    next.len = 0;
                }
                Err(e) if e.error_len().is_none() => {
                    // Still unfinished: `rest` was shorter than the code point.
                    next.carry[..have + take].copy_from_slice(&joined[..have + take]);
                    next.len = (have + take) as u8;
                    return (!last).then_some(next);
                }
                Err(_) => return None,
            }
        }
        match str::from_utf8(rest) {
            Ok(_) => Some(next),
            Err(e) if e.error_len().is_none() && !last => {
                let tail = &rest[e.valid_up_to()..];
                next.carry[..tail.len()].copy_from_slice(tail);
                next.len = tail.len() as u8;
                Some(next)
            }
            Err(_) => None,
        }
    }

    /// True at a code point's boundary: a message could end here.
    pub(crate) fn is_whole(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every split of valid and invalid texts into two and three pieces agrees with
    /// checking the whole at once.
    #[test]
    fn pieces_agree_with_the_whole() {
        let texts: &[&[u8]] = &[
            "κόσμε €𝄞 a".as_bytes(),
            b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited", // a surrogate
            b"ab\xf4\x90\x80\x80",                                            // above U+10FFFF
            b"\xe2\x82",                                                      // cut short
            b"\xf0\x9d\x84\x9e",
            b"",
            b"\xc0\xaf",
        ];
        for text in texts {
            let whole = str::from_utf8(text).is_ok();
            for i in 0..=text.len() {
                for j in i..=text.len() {
                    let s = Utf8Stream::default();
                    let got = s
                        .after(&text[..i], false)
                        .and_then(|s| s.after(&text[i..j], false))
                        .and_then(|s| s.after(&text[j..], true));
                    assert_eq!(got.is_some(), whole, "{text:?} split at {i} and {j}");
                }
            }
        }
    }

    #[test]
    fn an_unfinished_code_point_is_fine_until_the_end() {
        let s = Utf8Stream::default().after(b"a\xe2\x82", false).unwrap();
        assert!(!s.is_whole());
        assert_eq!(s.after(b"", true), None);
        assert!(s.after(b"\xac", true).unwrap().is_whole());
        assert_eq!(s.after(b"x", false), None, "a broken code point fails at once");
    }
}
