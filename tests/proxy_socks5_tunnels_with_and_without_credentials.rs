//! Through a SOCKS5 proxy (RFC 1928): `socks5://` resolves the server's name here and sends
//! its address, `socks5h://` sends the name for the proxy to resolve; user name and password
//! (RFC 1929) from the proxy URL, percent-decoded; ws:// and wss:// both echo.

mod support;

#[cfg(feature = "tls")]
use support::tls::{wss_echo_server, TestCa};
use support::*;
#[cfg(feature = "tls")]
use wsthread::RootCerts;
use wsthread::{Options, Proxy, ProxyKind};

#[test]
fn socks5_sends_the_address_resolved_here() {
    let (echo, _) = echo_server();
    let (proxy, asked) = socks5_proxy(ProxyRules::open());
    let url = format!("ws://localhost:{}/", echo.addr().port());
    let proxy_url = format!("socks5://{}", proxy.addr());
    let handshake = echo_round_trip(Options::new(&url).unwrap().proxy(Proxy::new(&proxy_url).unwrap()));
    let Asked::Socks { target, by_name, credentials } = next_asked(&asked) else { panic!() };
    assert!(!by_name, "{target}");
    assert!(target.ends_with(&format!(":{}", echo.addr().port())), "{target}");
    assert_eq!(credentials, None);
    assert_eq!(handshake.proxy.proxy.unwrap().kind(), ProxyKind::Socks5);
    assert!(handshake.timings.proxy.is_some());
}

#[test]
fn socks5h_lets_the_proxy_resolve_and_authenticates() {
    let (echo, _) = echo_server();
    let (proxy, asked) = socks5_proxy(ProxyRules::with_credentials("user name", "p:w@d"));
    // echo.test resolves nowhere but in the proxy.
    let url = format!("ws://echo.test:{}/", echo.addr().port());
    let proxy_url = format!("socks5h://user%20name:p%3Aw%40d@{}", proxy.addr());
    echo_round_trip(Options::new(&url).unwrap().proxy(Proxy::new(&proxy_url).unwrap()));
    let Asked::Socks { target, by_name, credentials } = next_asked(&asked) else { panic!() };
    assert_eq!((target.as_str(), by_name), (format!("echo.test:{}", echo.addr().port()).as_str(), true));
    assert_eq!(credentials, Some(("user name".to_owned(), "p:w@d".to_owned())));
}

#[cfg(feature = "tls")]
#[test]
fn wss_through_socks5h_is_end_to_end() {
    let ca = TestCa::new("wsthread socks test CA");
    let (echo, _) = wss_echo_server(ca.issue(&["echo.test"]));
    let (proxy, _asked) = socks5_proxy(ProxyRules::open());
    let url = format!("wss://echo.test:{}/", echo.addr().port());
    let options = Options::new(&url)
        .unwrap()
        .root_certs(RootCerts::None)
        .add_root_certificate_pem(ca.pem())
        .proxy(Proxy::new(&format!("socks5h://{}", proxy.addr())).unwrap());
    let handshake = echo_round_trip(options);
    assert!(handshake.tls.is_some());
}
