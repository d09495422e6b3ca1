//! permessage-deflate (RFC 7692) as plain data: what the client offers ([`DeflateOptions`]),
//! what the server agreed to ([`DeflateParams`]), and the check of the server's answer
//! against the offer (§5, §7.1). The compressor and decompressor are in the message layer
//! (`protocol/deflate.rs`).
//!
//! Without the `deflate` feature nothing is ever offered, so the offer's setters and the
//! answer's check go unused (the handshake then refuses any extension the server names);
//! the types stay, so that the handshake's code is one for both builds.
#![cfg_attr(not(feature = "deflate"), allow(dead_code))]

/// What a client offers for permessage-deflate (RFC 7692), set in
/// [`Options::deflate`](crate::Options::deflate).
///
/// The offer always carries `client_max_window_bits` (as browsers, Node `ws` and Python
/// `websockets` do), which lets the server limit the window we compress with. The other
/// parameters are sent only when asked for: some servers refuse an offer carrying
/// `server_max_window_bits`.
///
/// Feature `deflate` (on by default).
///
/// ```
/// # fn main() -> Result<(), wsthread::Error> {
/// # #[cfg(feature = "deflate")] {
/// use wsthread::{DeflateOptions, Options};
/// let options = Options::new("ws://example.org/feed")?
///     .deflate(Some(DeflateOptions::default().server_no_context_takeover(true)));
/// assert!(options.deflate.is_some());
/// # }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeflateOptions {
    /// Offers `client_no_context_takeover`: we compress each message on its own (RFC 7692
    /// §7.1.1.2 makes this a promise, whatever the server answers). Costs compression on
    /// repetitive streams; saves nothing on our side. Defaults to `false`.
    pub client_no_context_takeover: bool,
    /// Offers `server_no_context_takeover`: asks the server to compress each message on its
    /// own. Defaults to `false`.
    pub server_no_context_takeover: bool,
    /// Offers `client_max_window_bits=N` (8–15): we compress with a window of at most 2^N
    /// bytes. `None` offers the parameter without a value, leaving the window to the
    /// server (15 unless it asks for less). Defaults to `None`.
    pub client_max_window_bits: Option<u8>,
    /// Offers `server_max_window_bits=N` (8–15): asks the server to compress with a window
    /// of at most 2^N bytes. `None` does not send the parameter (some servers refuse an
    /// offer that carries it). Defaults to `None`.
    pub server_max_window_bits: Option<u8>,
    /// Messages shorter than this many bytes are sent uncompressed. Measured (see the
    /// README): with context takeover a 32-byte JSON message of a feed halves (38 bytes on
    /// the wire become 18.5) for a fraction of a microsecond; below that a few bytes at most
    /// are saved (16 bytes: 22 become 14.5) and a message without repetition grows (22
    /// become 25). Raise it with `client_no_context_takeover`, where a small message has no
    /// earlier ones to refer to. Defaults to 32 bytes.
    pub min_size: usize,
    /// The zlib compression level, 0 (store) to 9 (smallest). Defaults to 1: measured on a
    /// 2 KiB JSON feed, level 6 (zlib's default) sends a third fewer bytes than 1 for about
    /// seven times the CPU per message; a client mostly receives (the server's level decides
    /// that), and what it sends is small and waited for. Level 1 codes with fixed Huffman
    /// tables, which grow incompressible data by about 6 % (level 2 and up: under 1 %).
    /// Raise it for a metered uplink.
    pub level: u32,
}

impl Default for DeflateOptions {
    fn default() -> Self {
        DeflateOptions {
            client_no_context_takeover: false,
            server_no_context_takeover: false,
            client_max_window_bits: None,
            server_max_window_bits: None,
            min_size: 32,
            level: 1,
        }
    }
}

impl DeflateOptions {
    /// Sets [`DeflateOptions::client_no_context_takeover`].
    ///
    /// ```
    /// # #[cfg(feature = "deflate")] {
    /// use wsthread::DeflateOptions;
    /// // Each message compressed on its own: a promise to the server, whatever it answers.
    /// let offer = DeflateOptions::default().client_no_context_takeover(true);
    /// assert!(offer.client_no_context_takeover);
    /// # }
    /// ```
    pub fn client_no_context_takeover(mut self, on: bool) -> Self {
        self.client_no_context_takeover = on;
        self
    }

    /// Sets [`DeflateOptions::server_no_context_takeover`].
    ///
    /// ```
    /// # fn main() -> Result<(), wsthread::Error> {
    /// # #[cfg(feature = "deflate")] {
    /// use wsthread::{DeflateOptions, Options};
    /// let offer = DeflateOptions::default().server_no_context_takeover(true);
    /// let options = Options::new("ws://127.0.0.1:9001/")?.deflate(Some(offer));
    /// assert!(options.deflate.unwrap().server_no_context_takeover);
    /// # }
    /// # Ok(()) }
    /// ```
    pub fn server_no_context_takeover(mut self, on: bool) -> Self {
        self.server_no_context_takeover = on;
        self
    }

    /// Sets [`DeflateOptions::client_max_window_bits`].
    ///
    /// ```
    /// # #[cfg(feature = "deflate")] {
    /// use wsthread::DeflateOptions;
    /// // Compress with a window of at most 2^10 bytes: less memory, less compression.
    /// let offer = DeflateOptions::default().client_max_window_bits(Some(10));
    /// assert_eq!(offer.client_max_window_bits, Some(10));
    /// # }
    /// ```
    pub fn client_max_window_bits(mut self, bits: Option<u8>) -> Self {
        self.client_max_window_bits = bits;
        self
    }

    /// Sets [`DeflateOptions::server_max_window_bits`].
    ///
    /// ```
    /// # #[cfg(feature = "deflate")] {
    /// use wsthread::DeflateOptions;
    /// // Ask the server for a 2^12-byte window (some servers refuse an offer that names it).
    /// let offer = DeflateOptions::default().server_max_window_bits(Some(12));
    /// assert_eq!(offer.server_max_window_bits, Some(12));
    /// # }
    /// ```
    pub fn server_max_window_bits(mut self, bits: Option<u8>) -> Self {
        self.server_max_window_bits = bits;
        self
    }

    /// Sets [`DeflateOptions::min_size`].
    ///
    /// ```
    /// # #[cfg(feature = "deflate")] {
    /// use wsthread::DeflateOptions;
    /// // With no context kept, a small message has no earlier ones to refer to: send it as is.
    /// let offer = DeflateOptions::default().client_no_context_takeover(true).min_size(256);
    /// assert_eq!(offer.min_size, 256);
    /// # }
    /// ```
    pub fn min_size(mut self, bytes: usize) -> Self {
        self.min_size = bytes;
        self
    }

    /// Sets [`DeflateOptions::level`].
    ///
    /// ```
    /// # fn main() -> Result<(), wsthread::Error> {
    /// # #[cfg(feature = "deflate")] {
    /// use wsthread::{DeflateOptions, Error, Options, WebSocketClient};
    /// // For a metered uplink: fewer bytes sent, more CPU spent.
    /// let options = Options::new("ws://127.0.0.1:9001/")?.deflate(Some(DeflateOptions::default().level(9)));
    /// // Past 9, the client refuses the options before any I/O.
    /// let too_high = options.clone().deflate(Some(DeflateOptions::default().level(10)));
    /// assert!(matches!(WebSocketClient::new(|_| {}, too_high), Err(Error::InvalidOption(_))));
    /// # }
    /// # Ok(()) }
    /// ```
    pub fn level(mut self, level: u32) -> Self {
        self.level = level;
        self
    }

    /// Refuses values outside RFC 7692's ranges, before any I/O.
    pub(crate) fn check(&self) -> Result<(), String> {
        for (name, bits) in [
            ("client_max_window_bits", self.client_max_window_bits),
            ("server_max_window_bits", self.server_max_window_bits),
        ] {
            if let Some(b) = bits {
                if !WINDOW_BITS.contains(&b) {
                    return Err(format!("{name} {b} is outside 8-15"));
                }
            }
        }
        if self.level > 9 {
            return Err(format!("compression level {} is outside 0-9", self.level));
        }
        Ok(())
    }

    /// The `Sec-WebSocket-Extensions` value of the offer (RFC 7692 §7.1).
    pub(crate) fn offer(&self) -> String {
        let mut offer = String::from(NAME);
        if self.client_no_context_takeover {
            offer.push_str("; client_no_context_takeover");
        }
        if self.server_no_context_takeover {
            offer.push_str("; server_no_context_takeover");
        }
        match self.client_max_window_bits {
            Some(bits) => offer.push_str(&format!("; client_max_window_bits={bits}")),
            None => offer.push_str("; client_max_window_bits"),
        }
        if let Some(bits) = self.server_max_window_bits {
            offer.push_str(&format!("; server_max_window_bits={bits}"));
        }
        offer
    }

    /// Checks the server's `Sec-WebSocket-Extensions` values (every header line) against
    /// this offer (RFC 7692 §7.1): `Ok(None)` when it declined (no extension), the agreed
    /// parameters when it accepted, an explanation when the answer must fail the connect.
    pub(crate) fn accept<'a>(&self, answer: impl Iterator<Item = &'a str>) -> Result<Option<DeflateParams>, String> {
        let elements: Vec<&str> = answer.flat_map(|v| v.split(',')).map(str::trim).filter(|e| !e.is_empty()).collect();
        let element = match elements.as_slice() {
            [] => return Ok(None),
            [one] => *one,
            _ => return Err(format!("the server accepted {} extensions; one was offered", elements.len())),
        };
        let mut parts = element.split(';').map(str::trim);
        let name = parts.next().unwrap_or_default();
        if !name.eq_ignore_ascii_case(NAME) {
            return Err(format!("the server chose the extension {name:?}, which was not offered"));
        }
        let mut agreed = DeflateParams {
            client_no_context_takeover: self.client_no_context_takeover,
            server_no_context_takeover: false,
            client_max_window_bits: self.client_max_window_bits.unwrap_or(15),
            server_max_window_bits: 15,
        };
        let mut seen: Vec<String> = Vec::new();
        for param in parts {
            let (key, value) = match param.split_once('=') {
                Some((k, v)) => (k.trim(), Some(unquote(v.trim())?)),
                None => (param, None),
            };
            let key = key.to_ascii_lowercase();
            if seen.contains(&key) {
                return Err(format!("permessage-deflate parameter {key} is repeated"));
            }
            match (key.as_str(), value) {
                ("server_no_context_takeover", None) => agreed.server_no_context_takeover = true,
                ("client_no_context_takeover", None) => agreed.client_no_context_takeover = true,
                ("server_max_window_bits", Some(v)) => {
                    let bits = window_bits(&key, v)?;
                    if self.server_max_window_bits.is_some_and(|asked| bits > asked) {
                        return Err(format!("server_max_window_bits={bits} is over the {} offered", self.server_max_window_bits.unwrap_or(15)));
                    }
                    agreed.server_max_window_bits = bits;
                }
                ("client_max_window_bits", Some(v)) => {
                    let bits = window_bits(&key, v)?;
                    if let Some(offered) = self.client_max_window_bits {
                        if bits > offered {
                            return Err(format!("client_max_window_bits={bits} is over the {offered} offered"));
                        }
                    }
                    agreed.client_max_window_bits = bits;
                }
                ("server_no_context_takeover" | "client_no_context_takeover", Some(_)) => {
                    return Err(format!("permessage-deflate parameter {key} takes no value"));
                }
                ("server_max_window_bits" | "client_max_window_bits", None) => {
                    return Err(format!("permessage-deflate parameter {key} needs a value in an answer"));
                }
                _ => return Err(format!("unknown permessage-deflate parameter {key:?}")),
            }
            seen.push(key);
        }
        Ok(Some(agreed))
    }
}

/// What the server agreed to for permessage-deflate: in
/// [`Handshake::deflate`](crate::Handshake::deflate) when it accepted the offer.
///
/// ```
/// let params = wsthread::DeflateParams::default();
/// assert_eq!(params.client_max_window_bits, 15);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeflateParams {
    /// We compress each message on its own (asked by the server, or promised by our offer).
    pub client_no_context_takeover: bool,
    /// The server compresses each message on its own.
    pub server_no_context_takeover: bool,
    /// Our compression window is at most 2^N bytes (8–15; zlib compresses an 8 with 9,
    /// whose matches never reach back more than 250 bytes).
    pub client_max_window_bits: u8,
    /// The server's compression window is at most 2^N bytes (8–15).
    pub server_max_window_bits: u8,
}

impl Default for DeflateParams {
    /// RFC 7692's defaults: context takeover both ways, 15-bit windows.
    fn default() -> Self {
        DeflateParams {
            client_no_context_takeover: false,
            server_no_context_takeover: false,
            client_max_window_bits: 15,
            server_max_window_bits: 15,
        }
    }
}

/// The extension's registered name (RFC 7692 §7).
const NAME: &str = "permessage-deflate";
const WINDOW_BITS: std::ops::RangeInclusive<u8> = 8..=15;

/// A parameter's value: a token, or a quoted string whose content is one (RFC 6455 §9.1).
fn unquote(value: &str) -> Result<&str, String> {
    match value.strip_prefix('"') {
        Some(rest) => rest.strip_suffix('"').ok_or_else(|| format!("unterminated quoted value {value:?}")),
        None => Ok(value),
    }
}

/// A window size: a decimal 8–15 without leading zeros (RFC 7692 §7.1.2.1).
fn window_bits(key: &str, value: &str) -> Result<u8, String> {
    let bits = value
        .parse::<u8>()
        .ok()
        .filter(|b| WINDOW_BITS.contains(b) && !value.starts_with('0') && value.bytes().all(|c| c.is_ascii_digit()));
    bits.ok_or_else(|| format!("{key}={value:?} is not a window size of 8-15"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(offer: &DeflateOptions, answer: &str) -> Result<Option<DeflateParams>, String> {
        offer.accept([answer].into_iter())
    }

    #[test]
    fn default_offer_is_what_browsers_send() {
        assert_eq!(DeflateOptions::default().offer(), "permessage-deflate; client_max_window_bits");
        let all = DeflateOptions::default()
            .client_no_context_takeover(true)
            .server_no_context_takeover(true)
            .client_max_window_bits(Some(10))
            .server_max_window_bits(Some(9));
        assert_eq!(
            all.offer(),
            "permessage-deflate; client_no_context_takeover; server_no_context_takeover; \
             client_max_window_bits=10; server_max_window_bits=9"
        );
    }

    #[test]
    fn answers_within_the_offer_are_accepted() {
        let offer = DeflateOptions::default();
        assert_eq!(accept(&offer, ""), Ok(None));
        assert_eq!(accept(&offer, "permessage-deflate"), Ok(Some(DeflateParams::default())));
        let p = accept(&offer, "Permessage-Deflate; client_max_window_bits=\"9\"; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10")
            .unwrap()
            .unwrap();
        let expected = DeflateParams {
            client_no_context_takeover: true,
            server_no_context_takeover: true,
            client_max_window_bits: 9,
            server_max_window_bits: 10,
        };
        assert_eq!(p, expected);
        // Our own promise stays whatever the server answers.
        let promised = DeflateOptions::default().client_no_context_takeover(true);
        assert!(accept(&promised, "permessage-deflate").unwrap().unwrap().client_no_context_takeover);
        // Two header lines, one of them empty, are one list.
        assert!(offer.accept(["", "permessage-deflate"].into_iter()).unwrap().is_some());
    }

    #[test]
    fn answers_outside_the_offer_are_refused() {
        let offer = DeflateOptions::default().client_max_window_bits(Some(12)).server_max_window_bits(Some(10));
        let bad = [
            "x-webkit-deflate-frame",
            "permessage-deflate, permessage-deflate",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; unknown",
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=11",
            "permessage-deflate; server_max_window_bits=09",
            "permessage-deflate; server_max_window_bits=+9",
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; client_max_window_bits=13",
            "permessage-deflate; client_max_window_bits",
            "permessage-deflate; client_no_context_takeover=1",
            "permessage-deflate; client_max_window_bits=\"9",
        ];
        for answer in bad {
            assert!(accept(&offer, answer).is_err(), "{answer}");
        }
    }

    #[test]
    fn options_outside_the_rfc_are_refused() {
        assert!(DeflateOptions::default().client_max_window_bits(Some(7)).check().is_err());
        assert!(DeflateOptions::default().server_max_window_bits(Some(16)).check().is_err());
        assert!(DeflateOptions::default().level(10).check().is_err());
        assert!(DeflateOptions::default().client_max_window_bits(Some(8)).check().is_ok());
    }
}
