//! A TCP proxy in front of a database that a test can stall (everything held, connections
//! kept open, as a network that went silent) or cut (every connection reset, new ones closed
//! as soon as they are accepted), and then let pass again.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Mode {
    Pass = 0,
    Stall = 1,
    Cut = 2,
}

pub struct Proxy {
    pub port: u16,
    mode: Arc<AtomicU8>,
}

impl Proxy {
    /// Listens on 127.0.0.1:0 and forwards to `target` (`host:port`).
    pub async fn start(target: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mode = Arc::new(AtomicU8::new(Mode::Pass as u8));
        let shared = mode.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let mode = shared.clone();
                let target = target.clone();
                tokio::spawn(async move {
                    if load(&mode) == Mode::Cut {
                        return; // accepted and closed at once: a reset during set-up
                    }
                    let Ok(server) = TcpStream::connect(&target).await else { return };
                    let (client_read, client_write) = client.into_split();
                    let (server_read, server_write) = server.into_split();
                    tokio::select! {
                        () = pipe(client_read, server_write, mode.clone()) => {}
                        () = pipe(server_read, client_write, mode) => {}
                    }
                });
            }
        });
        Proxy { port, mode }
    }

    pub fn set(&self, mode: Mode) {
        self.mode.store(mode as u8, Ordering::SeqCst);
    }
}

fn load(mode: &AtomicU8) -> Mode {
    match mode.load(Ordering::SeqCst) {
        0 => Mode::Pass,
        1 => Mode::Stall,
        _ => Mode::Cut,
    }
}

/// Copies one direction; while stalled, what was read is held back; once cut, the connection
/// ends (both halves drop).
async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mode: Arc<AtomicU8>,
) {
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = tokio::select! {
            read = from.read(&mut buffer) => read,
            () = cut(&mode) => return,
        };
        let n = match read {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        loop {
            match load(&mode) {
                Mode::Pass => break,
                Mode::Stall => tokio::time::sleep(Duration::from_millis(20)).await,
                Mode::Cut => return,
            }
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}

async fn cut(mode: &AtomicU8) {
    while load(mode) != Mode::Cut {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
