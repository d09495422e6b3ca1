//! Which proxy a connect uses: the option, or the environment read as curl reads it
//! (everything.curl.dev, "Proxy environment variables"; libcurl's CURLOPT_NOPROXY).
//! A pure function of the options, the URL and a variable lookup, so that the rules are
//! tested as a table without touching the process's environment.

use std::net::IpAddr;

use url::{Host, Url};

use crate::error::Error;
use crate::proxy::{Proxy, ProxyChoice, ProxySetting};

/// The proxy for `url` under `setting`; `var` reads an environment variable.
pub(crate) fn choose(setting: &ProxySetting, url: &Url, var: impl Fn(&str) -> Option<String>) -> Result<ProxyChoice, Error> {
    let choice = |proxy, reason: String| Ok(ProxyChoice { proxy, reason });
    match setting {
        ProxySetting::Use(proxy) => return choice(Some(proxy.clone()), "set in the options".into()),
        ProxySetting::Direct => return choice(None, "proxies turned off in the options".into()),
        ProxySetting::FromEnvironment => {}
    }
    // An empty variable counts as unset. Lower case first, as curl looks.
    let read = |lower: &'static str, upper: &'static str| {
        let get = |name: &'static str| var(name).filter(|v| !v.trim().is_empty()).map(|v| (name, v));
        get(lower).or_else(|| get(upper))
    };
    let specific = if url.scheme() == "wss" {
        read("https_proxy", "HTTPS_PROXY")
    } else if var("REQUEST_METHOD").is_some() {
        // A CGI program: a request's `Proxy:` header arrives as HTTP_PROXY ("httpoxy",
        // CVE-2016-5385), so only the lower-case name is trusted, as curl always does.
        read("http_proxy", "http_proxy")
    } else {
        read("http_proxy", "HTTP_PROXY")
    };
    let Some((name, value)) = specific.or_else(|| read("all_proxy", "ALL_PROXY")) else {
        return choice(None, format!("no proxy variable for {}:// set", url.scheme()));
    };
    let proxy = Proxy::new(&value).map_err(|e| match e {
        Error::InvalidOption(why) => Error::InvalidOption(format!("{name}: {why}")),
        other => other,
    })?;
    if is_loopback(url) {
        // Unlike curl (as Go's net/http does): a proxy elsewhere cannot reach this machine's
        // loopback, so an environment proxy never applies to it; a set proxy still does.
        return choice(None, format!("loopback host (else {name} would apply)"));
    }
    if let Some((no_name, list)) = read("no_proxy", "NO_PROXY") {
        if let Some(entry) = no_proxy_match(&list, url) {
            return choice(None, format!("{no_name} matches {entry:?} (else {name} would apply)"));
        }
    }
    choice(Some(proxy), format!("from {name}"))
}

/// `localhost`, a name under `.localhost` (RFC 6761 §6.3), or a loopback address.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// The entry of a `NO_PROXY` list that matches the URL's host and port, if any.
///
/// Entries are separated by commas or white space. `*` matches every host. An IP address
/// matches that address, a CIDR range (`10.0.0.0/8`, `fd00::/8`) the addresses in it; both
/// only for a URL whose host is an IP address (names are not resolved to be compared). A
/// name matches itself and every name under it, with or without a leading `.` or `*.`, case
/// insensitively. `name:port`, `1.2.3.4:port` or `[::1]:port` match only that port.
pub(crate) fn no_proxy_match<'a>(list: &'a str, url: &Url) -> Option<&'a str> {
    let port = url.port_or_known_default();
    let host = match url.host()? {
        Host::Domain(d) => Target::Name(d.trim_end_matches('.').to_ascii_lowercase()),
        Host::Ipv4(ip) => Target::Ip(IpAddr::V4(ip)),
        Host::Ipv6(ip) => Target::Ip(IpAddr::V6(ip)),
    };
    list.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|e| !e.is_empty())
        .find(|entry| entry_matches(entry, &host, port))
}

enum Target {
    Name(String),
    Ip(IpAddr),
}

fn entry_matches(entry: &str, host: &Target, port: Option<u16>) -> bool {
    if entry == "*" {
        return true;
    }
    let (pattern, want_port) = split_port(entry);
    if want_port.is_some() && want_port != port {
        return false;
    }
    match host {
        Target::Ip(ip) => {
            if let Some((net, bits)) = pattern.split_once('/') {
                let (Ok(net), Ok(bits)) = (net.parse::<IpAddr>(), bits.parse::<u8>()) else { return false };
                in_range(*ip, net, bits)
            } else {
                pattern.parse::<IpAddr>().is_ok_and(|p| p == *ip)
            }
        }
        Target::Name(name) => {
            let pattern = pattern.strip_prefix("*.").or_else(|| pattern.strip_prefix('.')).unwrap_or(pattern);
            let pattern = pattern.trim_end_matches('.').to_ascii_lowercase();
            if pattern.is_empty() {
                return false;
            }
            *name == pattern
                || name.strip_suffix(pattern.as_str()).is_some_and(|head| head.ends_with('.'))
        }
    }
}

/// `host:port` into its parts; a bare IPv6 address (several colons, no brackets) has no port.
fn split_port(entry: &str) -> (&str, Option<u16>) {
    if let Some(rest) = entry.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((ip, tail)) => (ip, tail.strip_prefix(':').and_then(|p| p.parse().ok())),
            None => (entry, None),
        };
    }
    match entry.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => match port.parse() {
            Ok(port) => (host, Some(port)),
            Err(_) => (entry, None),
        },
        _ => (entry, None),
    }
}

fn in_range(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One row: the environment, the URL, and the proxy host chosen (`None`: direct).
    type Row = (&'static [(&'static str, &'static str)], &'static str, Option<&'static str>);

    #[test]
    fn environment_rules_as_curl_reads_them() {
        let table: &[Row] = &[
            // The scheme's own variable, then ALL_PROXY; upper and lower case.
            (&[("https_proxy", "s")], "wss://a.example/", Some("s")),
            (&[("HTTPS_PROXY", "S")], "wss://a.example/", Some("s")),
            (&[("https_proxy", "s")], "ws://a.example/", None),
            (&[("http_proxy", "h")], "ws://a.example/", Some("h")),
            (&[("HTTP_PROXY", "H")], "ws://a.example/", Some("h")),
            (&[("http_proxy", "h")], "wss://a.example/", None),
            (&[("all_proxy", "a")], "ws://a.example/", Some("a")),
            (&[("ALL_PROXY", "A")], "wss://a.example/", Some("a")),
            (&[("all_proxy", "a"), ("https_proxy", "s")], "wss://a.example/", Some("s")),
            (&[("ALL_PROXY", "a"), ("HTTP_PROXY", "h")], "ws://a.example/", Some("h")),
            // Lower case wins over upper case.
            (&[("https_proxy", "lower"), ("HTTPS_PROXY", "upper")], "wss://a.example/", Some("lower")),
            (&[("all_proxy", "lower"), ("ALL_PROXY", "upper")], "ws://a.example/", Some("lower")),
            // Empty counts as unset.
            (&[("https_proxy", ""), ("HTTPS_PROXY", "upper")], "wss://a.example/", Some("upper")),
            (&[("https_proxy", " "), ("all_proxy", "a")], "wss://a.example/", Some("a")),
            (&[], "wss://a.example/", None),
            // A CGI program ignores HTTP_PROXY (httpoxy), not http_proxy.
            (&[("REQUEST_METHOD", "GET"), ("HTTP_PROXY", "h")], "ws://a.example/", None),
            (&[("REQUEST_METHOD", "GET"), ("http_proxy", "h")], "ws://a.example/", Some("h")),
            // NO_PROXY: names match themselves and their subdomains, with or without a dot.
            (&[("all_proxy", "p"), ("no_proxy", "example.com")], "ws://example.com/", None),
            (&[("all_proxy", "p"), ("no_proxy", "example.com")], "ws://www.example.com/", None),
            (&[("all_proxy", "p"), ("no_proxy", "example.com")], "ws://notexample.com/", Some("p")),
            (&[("all_proxy", "p"), ("no_proxy", "example.com")], "ws://example.com.org/", Some("p")),
            (&[("all_proxy", "p"), ("no_proxy", ".example.com")], "ws://example.com/", None),
            (&[("all_proxy", "p"), ("no_proxy", ".example.com")], "ws://a.b.example.com/", None),
            (&[("all_proxy", "p"), ("no_proxy", "*.example.com")], "ws://a.example.com/", None),
            (&[("all_proxy", "p"), ("NO_PROXY", "EXAMPLE.com")], "ws://Www.Example.COM/", None),
            (&[("all_proxy", "p"), ("no_proxy", "example.com.")], "ws://example.com./", None),
            // Lists: commas and spaces; lower case wins; an empty no_proxy gives way.
            (&[("all_proxy", "p"), ("no_proxy", "a.test, b.test ,c.test")], "ws://b.test/", None),
            (&[("all_proxy", "p"), ("no_proxy", "a.test c.test")], "ws://c.test/", None),
            (&[("all_proxy", "p"), ("no_proxy", "a.test"), ("NO_PROXY", "b.test")], "ws://b.test/", Some("p")),
            (&[("all_proxy", "p"), ("no_proxy", ""), ("NO_PROXY", "b.test")], "ws://b.test/", None),
            // `*` alone matches everything; inside a name it is no wildcard.
            (&[("all_proxy", "p"), ("no_proxy", "*")], "wss://any.where/", None),
            (&[("all_proxy", "p"), ("no_proxy", "a.test,*")], "wss://any.where/", None),
            (&[("all_proxy", "p"), ("no_proxy", "any*")], "wss://any.where/", Some("p")),
            // IP addresses and CIDR ranges, v4 and v6 (with or without brackets).
            (&[("all_proxy", "p"), ("no_proxy", "192.0.2.1")], "ws://192.0.2.1:9/", None),
            (&[("all_proxy", "p"), ("no_proxy", "192.0.2.1")], "ws://192.0.2.2:9/", Some("p")),
            (&[("all_proxy", "p"), ("no_proxy", "10.0.0.0/8")], "ws://10.200.3.4/", None),
            (&[("all_proxy", "p"), ("no_proxy", "10.0.0.0/8")], "ws://11.0.0.1/", Some("p")),
            (&[("all_proxy", "p"), ("no_proxy", "192.168.1.7/32")], "ws://192.168.1.7/", None),
            (&[("all_proxy", "p"), ("no_proxy", "0.0.0.0/0")], "ws://8.8.8.8/", None),
            (&[("all_proxy", "p"), ("no_proxy", "10.0.0.0/33")], "ws://10.0.0.1/", Some("p")),
            (&[("all_proxy", "p"), ("no_proxy", "2001:db8::1")], "ws://[2001:db8::1]:9/", None),
            (&[("all_proxy", "p"), ("no_proxy", "[2001:db8::1]")], "ws://[2001:db8::1]:9/", None),
            (&[("all_proxy", "p"), ("no_proxy", "2001:db8::1")], "ws://[2001:db8::2]:9/", Some("p")),
            (&[("all_proxy", "p"), ("no_proxy", "fd00::/8")], "ws://[fd12::1]/", None),
            (&[("all_proxy", "p"), ("no_proxy", "fd00::/8")], "ws://[fe80::1]/", Some("p")),
            (&[("all_proxy", "p"), ("no_proxy", "10.0.0.0/8")], "ws://[::ffff:10.0.0.1]/", Some("p")),
            // Names are not resolved to be compared with addresses.
            (&[("all_proxy", "p"), ("no_proxy", "192.0.2.1")], "ws://host.example/", Some("p")),
            // Loopback is never sent to an environment proxy (unlike curl, like Go).
            (&[("all_proxy", "p")], "ws://localhost:9/", None),
            (&[("all_proxy", "p")], "ws://LocalHost./", None),
            (&[("all_proxy", "p")], "ws://app.localhost/", None),
            (&[("all_proxy", "p")], "ws://127.0.0.1:9/", None),
            (&[("all_proxy", "p")], "ws://127.9.9.9/", None),
            (&[("all_proxy", "p")], "ws://[::1]:9/", None),
            (&[("all_proxy", "p")], "ws://localhost.example/", Some("p")),
            // Ports: only that port (the scheme's default when the URL has none).
            (&[("all_proxy", "p"), ("no_proxy", "example.com:8080")], "ws://example.com:8080/", None),
            (&[("all_proxy", "p"), ("no_proxy", "example.com:8080")], "ws://example.com/", Some("p")),
            (&[("all_proxy", "p"), ("no_proxy", "example.com:443")], "wss://example.com/", None),
            (&[("all_proxy", "p"), ("no_proxy", "192.0.2.1:9")], "ws://192.0.2.1:9/", None),
            (&[("all_proxy", "p"), ("no_proxy", "192.0.2.1:9")], "ws://192.0.2.1:10/", Some("p")),
            (&[("all_proxy", "p"), ("no_proxy", "[2001:db8::1]:9")], "ws://[2001:db8::1]:9/", None),
            (&[("all_proxy", "p"), ("no_proxy", "[2001:db8::1]:9")], "ws://[2001:db8::1]:8/", Some("p")),
        ];
        for (env, url, want) in table {
            let url = Url::parse(url).unwrap();
            let var = |name: &str| env.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string());
            let got = choose(&ProxySetting::FromEnvironment, &url, var).unwrap();
            assert_eq!(got.proxy.as_ref().map(Proxy::host), *want, "{env:?} {url}: {}", got.reason);
        }
    }

    #[test]
    fn reasons_name_the_variable_and_the_entry() {
        let url = Url::parse("wss://www.corp.example/").unwrap();
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string())
        };
        let got = choose(&ProxySetting::FromEnvironment, &url, env(&[("HTTPS_PROXY", "p:3128")])).unwrap();
        assert_eq!(got.reason, "from HTTPS_PROXY");
        assert_eq!(got.proxy.unwrap().port(), 3128);
        let got = choose(&ProxySetting::FromEnvironment, &url, env(&[("ALL_PROXY", "p"), ("NO_PROXY", "x, .corp.example")])).unwrap();
        assert_eq!(got.reason, "NO_PROXY matches \".corp.example\" (else ALL_PROXY would apply)");
        let got = choose(&ProxySetting::FromEnvironment, &url, env(&[])).unwrap();
        assert_eq!(got.reason, "no proxy variable for wss:// set");
    }

    #[test]
    fn options_override_the_environment() {
        let url = Url::parse("ws://a.example/").unwrap();
        let all = |_: &str| Some("http://from-env:1".to_owned());
        let fixed = Proxy::new("socks5://fixed:2").unwrap();
        let got = choose(&ProxySetting::Use(fixed.clone()), &url, all).unwrap();
        assert_eq!(got.proxy, Some(fixed));
        assert_eq!(choose(&ProxySetting::Direct, &url, all).unwrap().proxy, None);
    }

    #[test]
    fn an_unusable_variable_fails_the_connect_naming_it() {
        let url = Url::parse("wss://a.example/").unwrap();
        let var = |name: &str| (name == "https_proxy").then(|| "socks4://p".to_owned());
        match choose(&ProxySetting::FromEnvironment, &url, var) {
            Err(Error::InvalidOption(why)) => assert!(why.starts_with("https_proxy: "), "{why}"),
            other => panic!("{other:?}"),
        }
    }
}
