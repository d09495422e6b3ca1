//! With `webpki-roots` and without `platform-verifier`, the default roots are
//! `RootCerts::WebPki` (Mozilla's roots compiled in), and a CA added with
//! `add_root_certificate_pem` is trusted besides them: a server certificate it issued is
//! accepted, with no network needed.

#![cfg(all(feature = "webpki-roots", not(feature = "platform-verifier")))]

mod support;

use support::tls::echo_with_a_ca_added_to_the_default_roots;
use wsthread::RootCerts;

#[test]
fn webpki_roots_are_the_default() {
    echo_with_a_ca_added_to_the_default_roots(RootCerts::WebPki, "bundled roots and a private CA");
}
