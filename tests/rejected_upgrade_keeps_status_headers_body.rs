//! A non-101 answer surfaces as `Error::Rejected` with the status, the headers and the exact
//! body, framed by Content-Length or by chunked coding, without waiting for the server to
//! close the connection.

mod support;

use std::io::Write;
use std::time::Instant;

use support::*;
use wsthread::{Error, Options, State, WebSocketClient};

const BODY: &str = "{\"error\":\"token expired\",\"hint\":\"log in again\"}\n";

/// A server that answers every upgrade with `response`, then keeps the connection open
/// until the client closes it.
fn refusing_server(response: Vec<u8>) -> Server {
    Server::threaded(move |stream, _| {
        let mut c = RawConn::new(stream);
        if c.read_request().is_ok() {
            let _ = c.stream.write_all(&response);
            c.drain_until_eof();
        }
    })
}

fn connect_expecting_rejection(server: &Server) -> wsthread::HttpResponse {
    let (callback, rx) = collector();
    // A long deadline: the body must be recognised as complete, not cut at the deadline.
    let options = Options::new(&server.ws_url("/private")).unwrap().connect_timeout(secs(30));
    let client = WebSocketClient::new(callback, options).unwrap();
    let start = Instant::now();
    let result = client.connect(&[]);
    let elapsed = start.elapsed();
    let response = match result {
        Err(Error::Rejected(r)) => *r,
        other => panic!("expected Error::Rejected, got {other:?}"),
    };
    assert!(elapsed < secs(15), "hang guard: the refusal took {elapsed:?} (connect_timeout is 30 s)");
    assert_eq!(client.state(), State::Closed);
    assert!(client.close_info().is_none());
    drop(client);
    expect_no_more(&rx);
    response
}

#[test]
fn rejected_with_content_length_body() {
    let response = format!(
        "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"test\", error=\"invalid_token\"\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{BODY}",
        BODY.len()
    );
    let server = refusing_server(response.into_bytes());
    let r = connect_expecting_rejection(&server);
    assert_eq!(r.status, 401);
    assert_eq!(r.reason, "Unauthorized");
    assert_eq!(r.header("www-authenticate"), Some("Bearer realm=\"test\", error=\"invalid_token\""));
    assert_eq!(r.header("Content-Type"), Some("application/json"));
    assert_eq!(r.body, BODY.as_bytes());
    assert_eq!(r.body_text(), BODY);
}

#[test]
fn rejected_with_chunked_body() {
    let (a, b) = BODY.split_at(10);
    let response = format!(
        "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"chunks\"\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{a}\r\n{:x};ext=1\r\n{b}\r\n0\r\n\r\n",
        a.len(),
        b.len()
    );
    let server = refusing_server(response.into_bytes());
    let r = connect_expecting_rejection(&server);
    assert_eq!(r.status, 401);
    assert_eq!(r.header("WWW-Authenticate"), Some("Basic realm=\"chunks\""));
    assert_eq!(r.body, BODY.as_bytes(), "chunked body decoded: {:?}", r.body_text());
}

#[test]
fn rejected_with_empty_body() {
    let server = refusing_server(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n".to_vec());
    let r = connect_expecting_rejection(&server);
    assert_eq!(r.status, 403);
    assert_eq!(r.reason, "Forbidden");
    assert!(r.body.is_empty());
}
