//! TLS for `wss://`: the rustls configuration built from [`TlsOptions`] (with the
//! verifiers of `verify.rs`), and a stream that runs rustls over a non-blocking socket
//! (`stream.rs`). Compiled only with the `tls` feature; without it, [`Config`] is a type
//! with no values, so the dialer's TLS branch is statically unreachable and `Options::new`
//! has already refused `wss://`.

#[cfg(feature = "tls")]
mod config;
#[cfg(feature = "tls")]
mod stream;
#[cfg(feature = "tls")]
mod validity;
#[cfg(feature = "tls")]
mod verify;

#[cfg(feature = "tls")]
pub(crate) use stream::{Need, TlsStream};
#[cfg(feature = "tls")]
pub(crate) use config::{client_config, tls_error, Config};
#[cfg(not(feature = "tls"))]
pub(crate) use off::{client_config, Config};

/// A build without the `tls` feature: no configuration can exist.
#[cfg(not(feature = "tls"))]
mod off {
    use crate::error::Error;
    use crate::options::TlsOptions;

    /// What a client's connects share for TLS; in this build there is none.
    pub(crate) type Config = std::convert::Infallible;

    /// Unreachable in practice: `Options::new` refuses `wss://` in this build.
    pub(crate) fn client_config(_: &TlsOptions) -> Result<Config, Error> {
        Err(Error::FeatureNotEnabled { feature: "tls" })
    }
}
