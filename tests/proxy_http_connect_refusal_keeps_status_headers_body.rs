//! An HTTP proxy that refuses the tunnel (407 for missing or wrong credentials, 403, 502)
//! fails the connect with `Error::ProxyRejected`, keeping status, headers and body as a
//! refused upgrade does; nothing reaches the server.

mod support;

use support::*;
use wsthread::{Error, HttpResponse, Options, Proxy, State, WebSocketClient};

fn refused(rules: ProxyRules, user_info: &str) -> (Box<HttpResponse>, Asked) {
    let (echo, seen) = echo_server();
    let (proxy, asked) = connect_proxy(rules);
    let proxy = Proxy::new(&format!("http://{user_info}{}", proxy.addr())).unwrap();
    let options = Options::new(&echo.ws_url("/")).unwrap().proxy(proxy);
    let (callback, events) = collector();
    let client = WebSocketClient::new(callback, options).unwrap();
    let response = match client.connect(&[]) {
        Err(Error::ProxyRejected(r)) => r,
        other => panic!("expected Error::ProxyRejected, got {other:?}"),
    };
    assert_eq!(client.state(), State::Closed);
    drop(client);
    expect_no_more(&events);
    drop(echo);
    assert!(seen.try_recv().is_err(), "the server was reached");
    (response, next_asked(&asked))
}

#[test]
fn missing_credentials_get_407_with_its_challenge() {
    let (r, _) = refused(ProxyRules::with_credentials("u", "p"), "");
    assert_eq!((r.status, r.reason.as_str()), (407, "Proxy Authentication Required"));
    assert_eq!(r.header("proxy-authenticate"), Some("Basic realm=\"test\""));
    assert_eq!(r.body_text(), "who are you?");
    let e = Error::ProxyRejected(r);
    assert_eq!(e.to_string(), "proxy refused the tunnel: 407 Proxy Authentication Required");
}

#[test]
fn wrong_credentials_get_407() {
    let (r, asked) = refused(ProxyRules::with_credentials("u", "p"), "u:wrong@");
    assert_eq!(r.status, 407);
    let Asked::Connect { authorization, .. } = asked else { panic!() };
    assert_eq!(authorization.unwrap(), format!("Basic {}", base64(b"u:wrong")));
}

#[test]
fn forbidden_and_bad_gateway_are_kept_as_sent() {
    for (status, body) in [(403, "not on my watch"), (502, "upstream is gone")] {
        let (r, _) = refused(ProxyRules::refusing(status, body), "");
        assert_eq!((r.status, r.body_text().as_str()), (status, body));
        assert_eq!(r.header("x-test-proxy"), Some("yes"));
    }
}
