//! How many connections the service holds open, sized from the file descriptors the process
//! may have, so that no client can take them all: the HTTP listener takes at most
//! [`Limits::http_connections`] at once and [`Limits::http_per_address`] from one address, and
//! long-lived sockets (shoppers' chats, agents' live updates) at most a part of those. What
//! is left is a reserve for the database, the SMTP listener, files, and ordinary requests
//! such as the health check.

use crate::Settings;
use axum::serve::Listener;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Descriptors kept for everything but client connections and the database's and SMTP's
/// own: log files, attachments being written, the relay and store platforms' APIs, the
/// accept loops themselves.
const RESERVED: u64 = 128;
/// HTTP connections kept free of long-lived sockets, for ordinary requests (the health
/// check, a shopper opening a chat, an agent loading a page).
const SHORT_REQUESTS: usize = 64;

/// The caps in effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// File descriptors the process may open.
    pub descriptors: u64,
    /// HTTP connections open at once; past it new ones wait to be accepted.
    pub http_connections: usize,
    /// HTTP connections from one client address; past it new ones are closed at once.
    pub http_per_address: usize,
    /// Chat widget sockets open at once.
    pub widget_sockets: usize,
    /// Agents' live-update sockets open at once.
    pub live_sockets: usize,
}

impl Limits {
    /// The caps for a process that may open `descriptors` files: the settings', lowered
    /// where the descriptors would not hold them.
    pub fn plan(descriptors: u64, settings: &Settings) -> Limits {
        let smtp = if settings.smtp_addr.is_some() {
            settings.smtp_max_sessions as u64
        } else {
            0
        };
        let reserve = RESERVED + u64::from(settings.db_max_connections) + smtp;
        let http = usize::try_from(descriptors.saturating_sub(reserve))
            .unwrap_or(usize::MAX)
            .max(16);
        let sockets = http - SHORT_REQUESTS.min(http / 2);
        let live_sockets = settings.live_max_sockets.min(sockets / 8).max(1);
        let widget_sockets = settings
            .widget_max_sockets
            .min(sockets - live_sockets)
            .max(1);
        Limits {
            descriptors,
            http_connections: http,
            http_per_address: settings.http_max_connections_per_address.clamp(1, http),
            widget_sockets,
            live_sockets,
        }
    }
}

/// Raises the process's soft limit on open files to its hard limit, and returns the limit
/// now in effect.
pub fn raise_descriptor_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(e) => {
            let soft = rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(1024, |(soft, _)| soft);
            tracing::warn!(error = %e, limit = soft, "cannot raise the open-file limit");
            soft
        }
    }
}

/// The HTTP listener with the connection caps: it accepts while fewer than the cap are open,
/// and closes at once a connection from an address that has its share open.
pub(crate) struct CappedListener {
    listener: TcpListener,
    open: Arc<Semaphore>,
    per_address: Arc<PerAddress>,
}

struct PerAddress {
    max: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

impl CappedListener {
    pub(crate) fn new(listener: TcpListener, limits: &Limits) -> Self {
        CappedListener {
            listener,
            open: Arc::new(Semaphore::new(limits.http_connections)),
            per_address: Arc::new(PerAddress {
                max: limits.http_per_address,
                open: Mutex::default(),
            }),
        }
    }
}

impl Listener for CappedListener {
    type Io = Connection;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Connection, SocketAddr) {
        loop {
            // Waiting here leaves new connections in the kernel's queue: nothing more is
            // opened than the descriptors allow.
            let permit = Arc::clone(&self.open)
                .acquire_owned()
                .await
                .expect("invariant: the connection semaphore is never closed");
            let (stream, addr) = Listener::accept(&mut self.listener).await;
            let ip = concierge_domain::access::counted_address(addr.ip());
            {
                let mut open = self
                    .per_address
                    .open
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                let count = open.entry(ip).or_insert(0);
                if *count >= self.per_address.max {
                    tracing::debug!(address = %ip, "too many connections from one address");
                    continue;
                }
                *count += 1;
            }
            let connection = Connection {
                stream,
                _permit: permit,
                _slot: Slot {
                    ip,
                    per_address: Arc::clone(&self.per_address),
                },
            };
            return (connection, addr);
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}

/// An accepted connection, holding its place under the caps until it is dropped.
pub(crate) struct Connection {
    stream: TcpStream,
    _permit: OwnedSemaphorePermit,
    _slot: Slot,
}

impl Connection {
    pub(crate) fn stream(&self) -> &TcpStream {
        &self.stream
    }
}

struct Slot {
    ip: IpAddr,
    per_address: Arc<PerAddress>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self
            .per_address
            .open
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

impl AsyncRead for Connection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_common_open_file_limit_keeps_a_reserve() {
        let limits = Limits::plan(1024, &Settings::default());
        // 128 kept, 8 for the database, 100 for SMTP sessions.
        assert_eq!(limits.http_connections, 1024 - 128 - 8 - 100);
        assert!(
            limits.widget_sockets + limits.live_sockets + SHORT_REQUESTS <= limits.http_connections
        );
        assert!(limits.widget_sockets > 500, "{limits:?}");
    }

    #[test]
    fn a_generous_limit_leaves_the_settings_as_they_are() {
        let settings = Settings::default();
        let limits = Limits::plan(1 << 20, &settings);
        assert_eq!(limits.widget_sockets, settings.widget_max_sockets);
        assert_eq!(limits.live_sockets, settings.live_max_sockets);
        assert_eq!(
            limits.http_per_address,
            settings.http_max_connections_per_address
        );
    }

    #[test]
    fn a_tiny_limit_still_serves_something() {
        let limits = Limits::plan(64, &Settings::default());
        assert_eq!(limits.http_connections, 16);
        assert!(limits.widget_sockets >= 1 && limits.live_sockets >= 1);
        assert!(limits.widget_sockets + limits.live_sockets <= 8);
    }
}
