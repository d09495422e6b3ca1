//! An `Authorization` header given to `connect` replaces the credentials in the URL
//! (`ws://user:pass@host/`): the server sees that header alone, whatever the case of its name.

mod support;

use support::*;
use wsthread::{Options, WebSocketClient};

#[test]
fn explicit_authorization_overrides_url_credentials() {
    // The server reports the value of every Authorization header of each upgrade request.
    let (tx, auths) = crossbeam_channel::unbounded();
    let server = Server::threaded(move |stream, _| {
        let mut c = RawConn::new(stream);
        if let Ok(request) = c.accept(&[]) {
            let values: Vec<String> = request
                .lines()
                .skip(1)
                .filter_map(|line| line.split_once(':'))
                .filter(|(name, _)| name.trim().eq_ignore_ascii_case("authorization"))
                .map(|(_, value)| value.trim().to_owned())
                .collect();
            tx.send(values).unwrap();
            if c.read_close().is_ok() {
                let _ = c.write_close(1000, "");
            }
        }
    });
    let url = format!("ws://alice:s3cret@{}/", server.addr());
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, Options::new(&url).unwrap()).unwrap();

    for name in ["Authorization", "authorization"] {
        client.connect(&[(name, "Bearer explicit-token")]).unwrap();
        assert_eq!(auths.recv_timeout(WAIT).unwrap(), ["Bearer explicit-token"], "given as {name:?}");
        client.disconnect().unwrap();
        expect_end(&rx);
    }

    // Without one, the URL's credentials are used: the override above is the header's doing.
    client.connect(&[]).unwrap();
    assert_eq!(auths.recv_timeout(WAIT).unwrap(), ["Basic YWxpY2U6czNjcmV0"]); // base64("alice:s3cret")
    client.disconnect().unwrap();
    expect_end(&rx);
}
