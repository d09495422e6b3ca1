//! Through an HTTP CONNECT proxy: ws:// and wss:// echo, with TLS end to end (the proxy sees
//! only `CONNECT host:port`, the certificate is checked for the server's name, which the
//! proxy resolved); Basic credentials from the proxy URL, percent-decoded; the handshake
//! tells which proxy was used and how long the tunnel took.

mod support;

#[cfg(feature = "tls")]
use support::tls::{wss_echo_server, TestCa};
use support::*;
#[cfg(feature = "tls")]
use wsthread::RootCerts;
use wsthread::{Options, Proxy, ProxyKind};

#[test]
fn ws_through_connect_proxy() {
    let (echo, _) = echo_server();
    let (proxy, asked) = connect_proxy(ProxyRules::open());
    let proxy_url = format!("http://{}", proxy.addr());
    let options = Options::new(&echo.ws_url("/plain")).unwrap().proxy(Proxy::new(&proxy_url).unwrap());
    let handshake = echo_round_trip(options);

    let Asked::Connect { target, authorization, head } = next_asked(&asked) else { panic!() };
    assert_eq!(target, echo.addr().to_string());
    assert_eq!(authorization, None);
    assert!(head.contains(&format!("User-Agent: wsthread/{}\r\n", env!("CARGO_PKG_VERSION"))), "{head}");
    let used = handshake.proxy.proxy.as_ref().expect("a proxy was used");
    assert_eq!((used.kind(), used.port()), (ProxyKind::Http, proxy.addr().port()));
    assert_eq!(handshake.proxy.reason, "set in the options");
    assert_eq!(handshake.peer_addr, proxy.addr());
    assert!(handshake.timings.proxy.is_some());
    assert!(handshake.timings.total() >= handshake.timings.proxy.unwrap());
}

#[cfg(feature = "tls")]
#[test]
fn wss_through_connect_proxy_with_credentials_is_end_to_end() {
    let ca = TestCa::new("wsthread proxy test CA");
    let (echo, _) = wss_echo_server(ca.issue(&["echo.test"]));
    let (proxy, asked) = connect_proxy(ProxyRules::with_credentials("al:ice", "p@ss word"));
    let proxy_url = format!("http://al%3Aice:p%40ss%20word@{}", proxy.addr());
    let url = format!("wss://echo.test:{}/secure", echo.addr().port());
    let options = Options::new(&url)
        .unwrap()
        .root_certs(RootCerts::None)
        .add_root_certificate_pem(ca.pem())
        .proxy(Proxy::new(&proxy_url).unwrap());
    let handshake = echo_round_trip(options);

    let Asked::Connect { target, authorization, .. } = next_asked(&asked) else { panic!() };
    // The name went to the proxy unresolved; TLS ran with the server, checked for that name.
    assert_eq!(target, format!("echo.test:{}", echo.addr().port()));
    assert_eq!(authorization.unwrap(), format!("Basic {}", base64(b"al:ice:p@ss word")));
    assert!(handshake.tls.is_some());
    assert!(handshake.timings.proxy.is_some() && handshake.timings.tls.is_some());
    assert!(!handshake.proxy.to_string().contains("p@ss"), "{}", handshake.proxy);
}
