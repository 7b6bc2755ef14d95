//! The API's listener: a bound on open connections, in all and per client, and an idle timeout,
//! so no client can hold the node's file descriptors or sockets.
//!
//! A connection over either bound is closed as soon as it is accepted. A connection that sends
//! and receives nothing for [`IDLE_TIMEOUT`] is closed (an event stream writes a keep-alive every
//! 15 seconds, so it stays open). A client is its IP address, or for IPv6 its /64 network (one
//! host usually holds a whole /64), in the rate limits too ([`client_key`]).

use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Connections open at once, in all.
pub const CONNECTIONS_MAX: usize = 2_048;
/// Connections open at once from one client.
pub const CONNECTIONS_PER_CLIENT_MAX: u32 = 32;
/// A connection with no traffic either way for this long is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Who a connection comes from, as the rate limits count it: its IP address, with IPv6
/// addresses reduced to their /64 network.
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let segments = v6.segments();
                IpAddr::V6(Ipv6Addr::new(
                    segments[0],
                    segments[1],
                    segments[2],
                    segments[3],
                    0,
                    0,
                    0,
                    0,
                ))
            }
        },
    }
}

/// The peer's address of a connection, as handlers and limits see it
/// (`ConnectInfo<ClientAddr>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub SocketAddr);

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, Listener>>
    for ClientAddr
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, Listener>) -> Self {
        *stream.remote_addr()
    }
}

/// Open connections per client.
#[derive(Default)]
struct PerClient(Mutex<BTreeMap<IpAddr, u32>>);

impl PerClient {
    fn take(&self, client: IpAddr) -> bool {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let count = map.entry(client).or_default();
        if *count >= CONNECTIONS_PER_CLIENT_MAX {
            return false;
        }
        *count += 1;
        true
    }

    fn release(&self, client: IpAddr) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = map.get_mut(&client) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                map.remove(&client);
            }
        }
    }
}

/// A TCP listener that bounds connections and closes idle ones.
pub struct Listener {
    inner: TcpListener,
    total: Arc<Semaphore>,
    per_client: Arc<PerClient>,
}

impl Listener {
    /// Wraps a bound listener.
    pub fn new(inner: TcpListener) -> Self {
        Self {
            inner,
            total: Arc::new(Semaphore::new(CONNECTIONS_MAX)),
            per_client: Arc::default(),
        }
    }
}

impl axum::serve::Listener for Listener {
    type Io = Guarded;
    type Addr = ClientAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (stream, address) = match self.inner.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors or similar: wait a moment rather than spin.
                    tracing::warn!(error = %e, "accepting an API connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let client = client_key(address.ip());
            let Ok(permit) = self.total.clone().try_acquire_owned() else {
                continue;
            };
            if !self.per_client.take(client) {
                continue;
            }
            let guarded = Guarded {
                stream,
                idle: Box::pin(tokio::time::sleep(IDLE_TIMEOUT)),
                _permit: permit,
                per_client: self.per_client.clone(),
                client,
            };
            return (guarded, ClientAddr(address));
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr().map(ClientAddr)
    }
}

/// An accepted connection: it holds its places in the bounds until dropped, and fails once it
/// has been idle for [`IDLE_TIMEOUT`].
pub struct Guarded {
    stream: TcpStream,
    idle: Pin<Box<tokio::time::Sleep>>,
    _permit: OwnedSemaphorePermit,
    per_client: Arc<PerClient>,
    client: IpAddr,
}

impl Drop for Guarded {
    fn drop(&mut self) {
        self.per_client.release(self.client);
    }
}

impl Guarded {
    fn traffic(&mut self) {
        self.idle
            .as_mut()
            .reset(tokio::time::Instant::now() + IDLE_TIMEOUT);
    }

    fn idle(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        match self.idle.as_mut().poll(cx) {
            Poll::Ready(()) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the connection was idle too long",
            )),
            Poll::Pending => Ok(()),
        }
    }
}

impl AsyncRead for Guarded {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.stream).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    self.traffic();
                }
                Poll::Ready(result)
            }
            Poll::Pending => match self.idle(cx) {
                Ok(()) => Poll::Pending,
                Err(e) => Poll::Ready(Err(e)),
            },
        }
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.stream).poll_write(cx, data) {
            Poll::Ready(Ok(written)) => {
                if written > 0 {
                    self.traffic();
                }
                Poll::Ready(Ok(written))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => match self.idle(cx) {
                Ok(()) => Poll::Pending,
                Err(e) => Poll::Ready(Err(e)),
            },
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_their_slash_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(c));
        let mapped: IpAddr = "::ffff:10.0.0.7".parse().unwrap();
        assert_eq!(client_key(mapped), "10.0.0.7".parse::<IpAddr>().unwrap());
        let v4: IpAddr = "10.0.0.7".parse().unwrap();
        assert_eq!(client_key(v4), v4);
    }

    #[test]
    fn a_client_gets_its_share_of_connections() {
        let per_client = PerClient::default();
        let client: IpAddr = "10.0.0.1".parse().unwrap();
        for _ in 0..CONNECTIONS_PER_CLIENT_MAX {
            assert!(per_client.take(client));
        }
        assert!(!per_client.take(client));
        assert!(per_client.take("10.0.0.2".parse().unwrap()));
        per_client.release(client);
        assert!(per_client.take(client));
    }

    #[tokio::test]
    async fn idle_connections_are_closed_and_others_served() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        tokio::time::pause();
        let inner = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = inner.local_addr().unwrap();
        let mut listener = Listener::new(inner);
        let mut client = TcpStream::connect(address).await.unwrap();
        let (mut served, _) = axum::serve::Listener::accept(&mut listener).await;
        client.write_all(b"ping").await.unwrap();
        let mut buf = [0u8; 4];
        served.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ping");
        tokio::time::advance(IDLE_TIMEOUT + Duration::from_secs(1)).await;
        let error = served.read(&mut buf).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
    }
}
