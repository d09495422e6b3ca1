//! How other threads reach a connection: its outgoing queue (which wakes the connection
//! thread when needed) and the thread's identity (to tell when a call comes from the
//! callback).

use std::sync::Arc;
use std::thread::ThreadId;

use crate::outbox::Outbox;

/// The other threads' end of a connection.
pub(crate) struct Link {
    pub(crate) outbox: Arc<Outbox>,
    pub(crate) thread: ThreadId,
}
