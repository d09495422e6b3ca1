//! Plain TCP: the loopback ceiling.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::thread;

use super::IO_TIMEOUT;
use crate::measure::{Ctx, Sample};
use crate::Res;

pub fn tcp_ceiling(ctx: &Ctx, size: usize, n: usize) -> Res<Sample> {
    let mut stream = TcpStream::connect_timeout(&ctx.tcp_addr, IO_TIMEOUT)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut rd = stream.try_clone()?;
    let chunk = vec![0xa5u8; size];
    let total = size * n;
    let p = ctx.start();
    let reader = thread::spawn(move || -> io::Result<()> {
        let mut buf = vec![0u8; 256 * 1024];
        let mut got = 0;
        while got < total {
            match rd.read(&mut buf)? {
                0 => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "echo ended early")),
                k => got += k,
            }
        }
        Ok(())
    });
    let written: io::Result<()> = (0..n).try_for_each(|_| stream.write_all(&chunk));
    let read = reader.join().map_err(|_| "TCP reader thread panicked")?;
    let usage = ctx.stop(p);
    written?;
    read?;
    stream.shutdown(Shutdown::Both)?;
    Ok(Sample { values: vec![], usage })
}
