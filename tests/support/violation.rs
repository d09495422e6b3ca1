//! Protocol-violation tests: a server that sends bytes a client must refuse, and reports the
//! Close the client answers with.

use crossbeam_channel::Receiver;

use super::{RawConn, Server};

/// The client's Close as a raw server read it (code, reason), or why it could not.
pub type CloseReport = Result<(Option<u16>, String), String>;

/// A raw server for protocol-violation tests: after the upgrade it writes `bytes`, then
/// reports the client's Close (code, reason) or the read error, answers with a Close, and
/// ends the connection.
pub fn violating_server(bytes: Vec<u8>) -> (Server, Receiver<CloseReport>) {
    let (tx, rx) = crossbeam_channel::unbounded();
    let server = Server::threaded(move |stream, _| {
        let mut c = RawConn::new(stream);
        if c.accept(&[]).is_err() {
            return;
        }
        let _ = c.write_all(&bytes);
        match c.read_close() {
            Ok((code, reason, _)) => {
                let _ = tx.send(Ok((code, reason)));
                let _ = c.write_close(code.unwrap_or(1000), "");
            }
            Err(e) => drop(tx.send(Err(format!("no Close from the client: {e}")))),
        }
    });
    (server, rx)
}
