//! The HTTP/1.1 upgrade codec (RFC 6455 §4): the request we write and the answer we accept.
//!
//! We drive the upgrade ourselves instead of through tungstenite's client handshake so that
//! a refusal keeps its whole body, `Connection: keep-alive, Upgrade` is understood, and an
//! extension the server picks without our offer is refused (tungstenite leaves that a TODO).
//! tungstenite still supplies the key and accept-key functions.

use url::Url;

use crate::deflate::{DeflateOptions, DeflateParams};
use crate::error::Error;
use crate::report::find_header;

mod body;

pub(crate) use body::{Body, Chunked};

/// Headers the upgrade writes itself; a caller may not set them.
const RESERVED: [&str; 7] = [
    "host",
    "upgrade",
    "connection",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-accept",
    "sec-websocket-extensions",
];

/// Biggest response head we read before giving up on a server.
pub(crate) const MAX_HEAD: usize = 64 * 1024;
/// Biggest refusal body we keep.
pub(crate) const MAX_BODY: usize = 1 << 20;

/// The upgrade request as bytes, and the `Sec-WebSocket-Accept` value that must come back.
pub(crate) struct Request {
    pub bytes: Vec<u8>,
    pub accept: String,
    pub offered_protocols: Vec<String>,
    /// The permessage-deflate offer made, if any (see [`Request::offer_deflate`]).
    pub offered_deflate: Option<DeflateOptions>,
}

/// What the server agreed to in a valid 101 answer.
pub(crate) struct Agreed {
    pub subprotocol: Option<String>,
    pub deflate: Option<DeflateParams>,
}

impl Request {
    /// Adds a permessage-deflate offer (RFC 7692 §5) to the request.
    #[cfg(feature = "deflate")]
    pub(crate) fn offer_deflate(&mut self, deflate: &DeflateOptions) -> Result<(), Error> {
        deflate.check().map_err(Error::InvalidOption)?;
        let header = format!("Sec-WebSocket-Extensions: {}\r\n\r\n", deflate.offer());
        // The request ends with its blank line: the header goes just before it.
        self.bytes.truncate(self.bytes.len() - 2);
        self.bytes.extend_from_slice(header.as_bytes());
        self.offered_deflate = Some(deflate.clone());
        Ok(())
    }
}

pub(crate) fn build_request(
    url: &Url,
    headers: &[(&str, &str)],
    subprotocols: &[String],
) -> Result<Request, Error> {
    let mut protocols: Vec<String> = subprotocols.to_vec();
    let mut extra = Vec::with_capacity(headers.len());
    for &(name, value) in headers {
        check_header(name, value)?;
        let lower = name.to_ascii_lowercase();
        if RESERVED.contains(&lower.as_str()) {
            return Err(Error::InvalidHeader(format!("{name} is set by the handshake itself")));
        }
        if lower == "sec-websocket-protocol" {
            // Accept protocols given as a header too, so that the answer can be checked.
            protocols.extend(value.split(',').map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()));
            continue;
        }
        extra.push((name, value));
    }
    for p in &protocols {
        if p.is_empty() || !p.bytes().all(is_token_byte) {
            return Err(Error::InvalidHeader(format!("subprotocol {p:?} is not an HTTP token")));
        }
    }

    let key = tungstenite::handshake::client::generate_key();
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());

    let mut target = url.path().to_owned();
    if target.is_empty() {
        target.push('/');
    }
    if let Some(q) = url.query() {
        target.push('?');
        target.push_str(q);
    }
    // host_str() keeps the brackets of an IPv6 literal, which Host needs; port() is None for
    // the scheme's default port, which Host then omits (RFC 7230 §5.4).
    let host = url.host_str().unwrap_or_default();
    let host = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };

    let mut out = String::with_capacity(256);
    out.push_str(&format!("GET {target} HTTP/1.1\r\nHost: {host}\r\n"));
    out.push_str("Upgrade: websocket\r\nConnection: Upgrade\r\n");
    out.push_str(&format!("Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"));
    if !protocols.is_empty() {
        out.push_str(&format!("Sec-WebSocket-Protocol: {}\r\n", protocols.join(", ")));
    }
    let has_auth = extra.iter().any(|(n, _)| n.eq_ignore_ascii_case("authorization"));
    if !has_auth && !url.username().is_empty() {
        let user = percent_decode(url.username());
        let pass = percent_decode(url.password().unwrap_or(""));
        out.push_str(&format!("Authorization: Basic {}\r\n", base64(format!("{user}:{pass}").as_bytes())));
    }
    for (name, value) in extra {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    Ok(Request { bytes: out.into_bytes(), accept, offered_protocols: protocols, offered_deflate: None })
}

fn check_header(name: &str, value: &str) -> Result<(), Error> {
    if name.is_empty() || !name.bytes().all(is_token_byte) {
        return Err(Error::InvalidHeader(format!("{name:?} is not a valid header name")));
    }
    // CR or LF would let a value start a header or a request of its own.
    if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        return Err(Error::InvalidHeader(format!("the value of {name} holds CR, LF or NUL")));
    }
    Ok(())
}

/// RFC 7230 `tchar`.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A response head, parsed.
pub(crate) struct Head {
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    /// Length of the head in bytes, blank line included.
    pub len: usize,
}

/// Parses a response head from the start of `buf`; `Ok(None)` when more bytes are needed.
pub(crate) fn parse_head(buf: &[u8]) -> Result<Option<Head>, Error> {
    let mut storage = vec![httparse::EMPTY_HEADER; 128];
    let mut resp = httparse::Response::new(&mut storage);
    match resp.parse(buf) {
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => {
            Err(Error::Handshake(format!("response head longer than {MAX_HEAD} bytes")))
        }
        Ok(httparse::Status::Partial) => Ok(None),
        Ok(httparse::Status::Complete(len)) => Ok(Some(Head {
            status: resp.code.unwrap_or(0),
            reason: resp.reason.unwrap_or("").to_owned(),
            headers: resp
                .headers
                .iter()
                .map(|h| (h.name.to_owned(), String::from_utf8_lossy(h.value).into_owned()))
                .collect(),
            len,
        })),
        Err(e) => Err(Error::Handshake(format!("unreadable response: {e}"))),
    }
}

impl Head {
    /// Checks a 101 answer against what we asked (RFC 6455 §4.1, the client's checks 1–6,
    /// and RFC 7692 §7.1 for permessage-deflate), returning what the server agreed to.
    pub(crate) fn verify_upgrade(&self, req: &Request) -> Result<Agreed, Error> {
        let fail = |why: &str| Err(Error::Handshake(why.to_owned()));
        let all = |name: &'static str| {
            self.headers.iter().filter(move |(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
        };
        let has_token = |name: &'static str, token: &str| {
            all(name).flat_map(|v| v.split(',')).any(|t| t.trim().eq_ignore_ascii_case(token))
        };
        if !has_token("upgrade", "websocket") {
            return fail("no `Upgrade: websocket` header");
        }
        if !has_token("connection", "upgrade") {
            return fail("no `Connection: Upgrade` header");
        }
        let accepts: Vec<&str> = all("sec-websocket-accept").collect();
        if accepts.len() != 1 || accepts[0].trim() != req.accept {
            return fail("wrong Sec-WebSocket-Accept");
        }
        let deflate = match &req.offered_deflate {
            Some(offer) => offer.accept(all("sec-websocket-extensions")).map_err(Error::Handshake)?,
            None if all("sec-websocket-extensions").any(|v| !v.trim().is_empty()) => {
                return fail("the server chose an extension that was not offered");
            }
            None => None,
        };
        let protocols: Vec<&str> = all("sec-websocket-protocol").map(str::trim).collect();
        let subprotocol = match protocols.as_slice() {
            [] => None,
            [p] if req.offered_protocols.iter().any(|o| o == p) => Some((*p).to_owned()),
            _ => return fail("the server chose a subprotocol that was not offered"),
        };
        Ok(Agreed { subprotocol, deflate })
    }

    /// How the body of this (refusing) answer is framed (RFC 9112 §6.3).
    pub(crate) fn body(&self) -> Body {
        let header = |name: &str| find_header(&self.headers, name);
        if self.status / 100 == 1 || self.status == 204 || self.status == 304 {
            return Body::Empty;
        }
        // Chunked only when it is the last coding applied; otherwise the length is unknown.
        let last_coding = header("transfer-encoding").map(|v| v.rsplit(',').next().unwrap_or("").trim());
        match last_coding {
            Some(coding) if coding.eq_ignore_ascii_case("chunked") => return Body::Chunked(Chunked::default()),
            Some(_) => return Body::UntilEof,
            None => {}
        }
        let length = header("content-length").map(str::trim).filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()));
        match length.and_then(|v| v.parse::<usize>().ok()) {
            Some(len) => Body::Length(len.min(MAX_BODY)),
            None => Body::UntilEof,
        }
    }
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// Standard base64 with padding (RFC 4648 §4), for Basic credentials in the URL (and in
/// the proxy URL, `dial/http_connect.rs`).
pub(crate) fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(protocols: &[&str]) -> Request {
        let url = Url::parse("ws://h/").unwrap();
        let p: Vec<String> = protocols.iter().map(|s| s.to_string()).collect();
        build_request(&url, &[], &p).unwrap()
    }

    fn head(lines: &str) -> Head {
        parse_head(format!("HTTP/1.1 101 Switching Protocols\r\n{lines}\r\n").as_bytes()).unwrap().unwrap()
    }

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        let cases = [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foobar", "Zm9vYmFy")];
        for (plain, encoded) in cases {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }

    #[test]
    fn request_has_host_with_port_and_basic_auth() {
        let url = Url::parse("ws://us%20er:p%40ss@[::1]:9001/a/b?x=1").unwrap();
        let r = build_request(&url, &[("Origin", "http://o")], &[]).unwrap();
        let text = String::from_utf8(r.bytes).unwrap();
        assert!(text.starts_with("GET /a/b?x=1 HTTP/1.1\r\nHost: [::1]:9001\r\n"), "{text}");
        assert!(text.contains(&format!("Authorization: Basic {}\r\n", base64(b"us er:p@ss"))), "{text}");
        assert!(text.contains("Origin: http://o\r\n"));
        assert!(text.ends_with("\r\n\r\n"));
        // '+' is a plus in a URL's user info, not a space.
        let url = Url::parse("ws://a+b:c@h/").unwrap();
        let text = String::from_utf8(build_request(&url, &[], &[]).unwrap().bytes).unwrap();
        assert!(text.contains(&format!("Basic {}\r\n", base64(b"a+b:c"))), "{text}");
    }

    #[test]
    fn reserved_and_malformed_headers_are_refused() {
        let url = Url::parse("ws://h/").unwrap();
        for (n, v) in [("Host", "x"), ("sec-websocket-key", "x"), ("Bad Name", "x"), ("X", "a\r\nEvil: 1")] {
            assert!(matches!(build_request(&url, &[(n, v)], &[]), Err(Error::InvalidHeader(_))), "{n}");
        }
    }

    #[test]
    fn upgrade_checks() {
        let r = req(&["chat"]);
        let ok = format!("Upgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Accept: {}\r\n", r.accept);
        assert_eq!(head(&ok).verify_upgrade(&r).unwrap().subprotocol, None);
        let chosen = format!("{ok}Sec-WebSocket-Protocol: chat\r\n");
        assert_eq!(head(&chosen).verify_upgrade(&r).unwrap().subprotocol.as_deref(), Some("chat"));
        let bad = [
            format!("Connection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n", r.accept),
            format!("Upgrade: websocket\r\nSec-WebSocket-Accept: {}\r\n", r.accept),
            "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: wrong\r\n".to_owned(),
            format!("{ok}Sec-WebSocket-Extensions: permessage-deflate\r\n"),
            format!("{ok}Sec-WebSocket-Protocol: other\r\n"),
        ];
        for b in bad {
            assert!(matches!(head(&b).verify_upgrade(&r), Err(Error::Handshake(_))), "{b}");
        }
    }

    #[cfg(feature = "deflate")]
    #[test]
    fn deflate_offer_goes_before_the_blank_line_and_the_answer_is_checked_against_it() {
        let mut r = req(&[]);
        r.offer_deflate(&DeflateOptions::default()).unwrap();
        let text = String::from_utf8(r.bytes.clone()).unwrap();
        assert!(text.ends_with("\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"), "{text}");
        let ok = format!("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n", r.accept);
        assert_eq!(head(&ok).verify_upgrade(&r).unwrap().deflate, None);
        let yes = format!("{ok}Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=10\r\n");
        assert_eq!(head(&yes).verify_upgrade(&r).unwrap().deflate.unwrap().client_max_window_bits, 10);
        let twice = format!("{ok}Sec-WebSocket-Extensions: permessage-deflate\r\nSec-WebSocket-Extensions: permessage-deflate\r\n");
        assert!(matches!(head(&twice).verify_upgrade(&r), Err(Error::Handshake(_))));
        let mut bad = req(&[]);
        assert!(matches!(bad.offer_deflate(&DeflateOptions::default().server_max_window_bits(Some(7))), Err(Error::InvalidOption(_))));
    }

    #[test]
    fn hostile_answers_never_panic() {
        // A small deterministic generator: heads and bodies built from pieces that matter
        // to the parser, shuffled and cut at random places.
        let pieces: [&[u8]; 12] = [
            b"HTTP/1.1 401 X\r\n", b"Content-Length: ", b"99999999999999999999", b"\r\n",
            b"Transfer-Encoding: chunked\r\n", b"ffffffffffffffff\r\n", b"0\r\n\r\n", b"3\r\nab",
            b"\r\n\r\n", b"\xff\xfe", b"Content-Length: 5\r\n", b":",
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..20_000 {
            let mut input = Vec::new();
            for _ in 0..(next() % 10) {
                input.extend_from_slice(pieces[(next() % pieces.len() as u64) as usize]);
            }
            let cut = (next() as usize) % (input.len() + 1);
            if let Ok(Some(head)) = parse_head(&input[..cut]) {
                let rest = &input[head.len.min(cut)..];
                let _ = head.body().complete(rest, next() % 2 == 0);
                let _ = head.verify_upgrade(&req(&["a"]));
            }
        }
    }
}
