//! A SOCKS5 proxy that refuses: every RFC 1928 reply code becomes `Error::SocksRejected`
//! with its meaning in the message; missing or wrong credentials become `Error::ProxyAuth`.

mod support;

use support::*;
use wsthread::{Error, Options, Proxy, State, WebSocketClient};

fn connect_through(proxy_url: &str) -> Error {
    let options = Options::new("ws://echo.test:9/").unwrap().proxy(Proxy::new(proxy_url).unwrap());
    let (callback, events) = collector();
    let client = WebSocketClient::new(callback, options).unwrap();
    let error = client.connect(&[]).expect_err("the proxy refuses");
    assert_eq!(client.state(), State::Closed);
    drop(client);
    expect_no_more(&events);
    error
}

#[test]
fn every_reply_code_is_an_error_that_says_what_it_means() {
    let meanings = [
        "general SOCKS server failure",
        "connection not allowed by ruleset",
        "network unreachable",
        "host unreachable",
        "connection refused",
        "TTL expired",
        "command not supported",
        "address type not supported",
    ];
    for (code, meaning) in (1u16..).zip(meanings) {
        let (proxy, _asked) = socks5_proxy(ProxyRules::refusing(code, ""));
        match connect_through(&format!("socks5h://{}", proxy.addr())) {
            e @ Error::SocksRejected(c) if u16::from(c) == code => {
                assert!(e.to_string().contains(meaning), "{e}");
            }
            other => panic!("code {code}: {other:?}"),
        }
    }
}

#[test]
fn missing_and_wrong_credentials_are_proxy_auth_errors() {
    let (proxy, _asked) = socks5_proxy(ProxyRules::with_credentials("u", "p"));
    for user_info in ["", "u:wrong@"] {
        match connect_through(&format!("socks5h://{user_info}{}", proxy.addr())) {
            Error::ProxyAuth(why) => eprintln!("{user_info:?}: {why}"),
            other => panic!("{user_info:?}: {other:?}"),
        }
    }
}
