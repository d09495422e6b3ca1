//! Interop with a real server: Node `ws` (tests/peers/ws_server.js) at the version pinned in
//! .ci/peers, which the test installs itself on first use. Each behaviour over ws:// and over
//! wss:// (a CA made at test time as the only trust anchor); see tests/interop/mod.rs for what
//! each check does.

#[macro_use]
mod interop;
mod support;

interop_tests!(interop::Peer::NodeWs);
