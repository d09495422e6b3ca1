//! The upgrade request carries `User-Agent: wsthread/VERSION` unless the caller gives one,
//! and `Origin` from the options unless the caller gives one.

mod support;

use support::*;
use wsthread::{Options, WebSocketClient};

/// The request head the server received for a connect with `options` and `headers`.
fn request_for(options: impl FnOnce(Options) -> Options, headers: &[(&str, &str)]) -> String {
    let (tx, rx) = crossbeam_channel::bounded(1);
    let server = Server::threaded(move |stream, _| {
        if let Some(ws) = accept_inspecting(stream, |req, _| {
            let head: String = req.headers().iter().map(|(n, v)| format!("{n}: {}\r\n", v.to_str().unwrap_or("?"))).collect();
            let _ = tx.send(head);
        }) {
            drop(ws);
        }
    });
    let (callback, _events) = collector();
    let client = WebSocketClient::new(callback, options(Options::new(&server.ws_url("/")).unwrap())).unwrap();
    client.connect(headers).unwrap();
    rx.recv_timeout(WAIT).unwrap().to_ascii_lowercase()
}

#[test]
fn default_user_agent_names_the_crate_and_version() {
    let head = request_for(|o| o, &[]);
    assert!(head.contains(&format!("user-agent: wsthread/{}\r\n", env!("CARGO_PKG_VERSION"))), "{head}");
    assert!(!head.contains("origin:"), "{head}");
}

#[test]
fn a_given_user_agent_replaces_the_default() {
    let head = request_for(|o| o, &[("user-agent", "my-app/2.0")]);
    assert!(head.contains("user-agent: my-app/2.0\r\n"), "{head}");
    assert_eq!(head.matches("user-agent:").count(), 1, "{head}");
}

#[test]
fn origin_option_is_sent_and_a_header_overrides_it() {
    let head = request_for(|o| o.origin("https://app.example"), &[]);
    assert!(head.contains("origin: https://app.example\r\n"), "{head}");
    let head = request_for(|o| o.origin("https://app.example"), &[("Origin", "https://other.example")]);
    assert!(head.contains("origin: https://other.example\r\n"), "{head}");
    assert_eq!(head.matches("origin:").count(), 1, "{head}");
}
