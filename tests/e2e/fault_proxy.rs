//! A TCP proxy that stands between the provider and a service it depends on (PostgreSQL,
//! Redis) and breaks the link on demand, one direction at a time: a cut (live connections
//! dropped, new ones closed at once), a delay on every chunk, or a blackhole (connections
//! accepted and held open, nothing forwarded, as when a network drops packets).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// What the proxy does to the bytes going one way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Forwarded as they come.
    Pass,
    /// The link is down: a cut in either direction drops every live connection, and a new
    /// connection is closed as soon as it is accepted.
    Cut,
    /// Each chunk is forwarded this long after it arrived (latency; the order is kept).
    Delay(Duration),
    /// Nothing is forwarded and nothing is closed: bytes wait (in the proxy and in the
    /// kernel's buffers, as TCP keeps retransmitting) until the mode changes.
    Blackhole,
}

/// The modes of both directions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Modes {
    /// Client to server (requests).
    pub up: Mode,
    /// Server to client (answers).
    pub down: Mode,
}

impl Modes {
    pub const PASS: Self = Self::both(Mode::Pass);

    pub const fn both(mode: Mode) -> Self {
        Self {
            up: mode,
            down: mode,
        }
    }

    fn is_cut(self) -> bool {
        self.up == Mode::Cut || self.down == Mode::Cut
    }
}

#[derive(Clone, Copy)]
enum Direction {
    Up,
    Down,
}

impl Direction {
    fn of(self, modes: &Modes) -> Mode {
        match self {
            Self::Up => modes.up,
            Self::Down => modes.down,
        }
    }
}

/// A proxy on a loopback port of its own in front of `target`.
pub struct FaultProxy {
    pub addr: SocketAddr,
    modes: watch::Sender<Modes>,
    accepted: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (modes, watch) = watch::channel(Modes::PASS);
        let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = accepted.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    // Out of file descriptors, say: not a tight loop.
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                };
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if watch.borrow().is_cut() {
                    drop(client); // closed at once
                    continue;
                }
                tokio::spawn(serve(client, target, watch.clone()));
            }
        });
        Self {
            addr,
            modes,
            accepted,
            task,
        }
    }

    /// A proxy in front of the host and port of `url` (`postgres://…`, `redis://…`).
    pub async fn in_front_of(url: &str) -> Self {
        Self::start(resolve(url).await).await
    }

    /// `url` with its host and port replaced by the proxy's.
    pub fn url_for(&self, url: &str) -> String {
        let mut url = url::Url::parse(url).expect("a URL");
        url.set_host(Some(&self.addr.ip().to_string())).unwrap();
        url.set_port(Some(self.addr.port())).unwrap();
        url.to_string()
    }

    pub fn set(&self, modes: Modes) {
        self.modes.send_replace(modes);
    }

    pub fn cut(&self) {
        self.set(Modes::both(Mode::Cut));
    }

    pub fn delay(&self, each_way: Duration) {
        self.set(Modes::both(Mode::Delay(each_way)));
    }

    pub fn blackhole(&self) {
        self.set(Modes::both(Mode::Blackhole));
    }

    pub fn restore(&self) {
        self.set(Modes::PASS);
    }

    /// Connections accepted so far (including those closed at once during a cut).
    pub fn accepted(&self) -> usize {
        self.accepted.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        // Every connection ends with the proxy.
        self.cut();
        self.task.abort();
    }
}

/// The first address the host and port of `url` resolve to.
pub async fn resolve(url: &str) -> SocketAddr {
    let url = url::Url::parse(url).expect("a URL");
    let host = url.host_str().expect("a host").to_owned();
    let port = url.port_or_known_default().unwrap_or(match url.scheme() {
        "postgres" | "postgresql" => 5432,
        "redis" | "rediss" => 6379,
        other => panic!("no default port for {other}"),
    });
    tokio::net::lookup_host((host, port))
        .await
        .expect("resolve")
        .next()
        .expect("an address")
}

/// One proxied connection, until either side closes it or the link is cut.
async fn serve(client: TcpStream, target: SocketAddr, modes: watch::Receiver<Modes>) {
    let Ok(server) = TcpStream::connect(target).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let up = pump(client_read, server_write, modes.clone(), Direction::Up);
    let down = pump(server_read, client_write, modes.clone(), Direction::Down);
    let mut cut = modes;
    tokio::select! {
        _ = async { tokio::join!(up, down) } => {}
        // Both halves of both sockets drop here: the peers see the connection end.
        _ = cut.wait_for(|m| m.is_cut()) => {}
    }
}

/// Waits while `direction` is blackholed.
async fn pass_blackhole(modes: &mut watch::Receiver<Modes>, direction: Direction) {
    let _ = modes.wait_for(|m| direction.of(m) != Mode::Blackhole).await;
}

/// Moves bytes one way: a reader that stamps each chunk with when it may go on, and a writer
/// that sends it then, so that a delay is latency, not a limit on throughput.
async fn pump(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    modes: watch::Receiver<Modes>,
    direction: Direction,
) {
    let (chunks, mut queue) = mpsc::channel::<(Instant, Vec<u8>)>(64);
    let mut read_modes = modes.clone();
    let read = async move {
        let mut buffer = vec![0u8; 16 * 1024];
        loop {
            pass_blackhole(&mut read_modes, direction).await;
            let n = match from.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let delay = match direction.of(&read_modes.borrow()) {
                Mode::Delay(delay) => delay,
                _ => Duration::ZERO,
            };
            if chunks
                .send((Instant::now() + delay, buffer[..n].to_vec()))
                .await
                .is_err()
            {
                break;
            }
        }
    };
    let mut write_modes = modes;
    let write = async move {
        while let Some((due, chunk)) = queue.recv().await {
            tokio::time::sleep_until(due).await;
            pass_blackhole(&mut write_modes, direction).await;
            if to.write_all(&chunk).await.is_err() {
                return;
            }
        }
        let _ = to.shutdown().await;
    };
    tokio::join!(read, write);
}

/// The proxy itself, against an echo server: each mode does what it says.
#[cfg(test)]
mod tests {
    use super::*;

    async fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut read, mut write) = socket.split();
                    let _ = tokio::io::copy(&mut read, &mut write).await;
                });
            }
        });
        addr
    }

    /// Sends `text` and reads its echo, within `within`.
    async fn round_trip(
        stream: &mut TcpStream,
        text: &[u8],
        within: Duration,
    ) -> Result<Vec<u8>, String> {
        stream.write_all(text).await.map_err(|e| e.to_string())?;
        let mut echo = vec![0u8; text.len()];
        match tokio::time::timeout(within, stream.read_exact(&mut echo)).await {
            Err(_) => Err("timed out".into()),
            Ok(Err(e)) => Err(e.to_string()),
            Ok(Ok(_)) => Ok(echo),
        }
    }

    const SHORT: Duration = Duration::from_millis(300);
    const LONG: Duration = Duration::from_secs(5);

    #[tokio::test]
    async fn passes_delays_cuts_and_blackholes_on_demand() {
        let proxy = FaultProxy::start(echo_server().await).await;
        let mut live = TcpStream::connect(proxy.addr).await.unwrap();
        assert_eq!(round_trip(&mut live, b"one", LONG).await.unwrap(), b"one");

        // Delay: 150 ms each way, so at least 300 ms for the round trip.
        proxy.delay(Duration::from_millis(150));
        let started = Instant::now();
        assert_eq!(round_trip(&mut live, b"two", LONG).await.unwrap(), b"two");
        assert!(started.elapsed() >= Duration::from_millis(300));
        // Only the answers delayed.
        proxy.set(Modes {
            up: Mode::Pass,
            down: Mode::Delay(Duration::from_millis(200)),
        });
        let started = Instant::now();
        round_trip(&mut live, b"2b", LONG).await.unwrap();
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(200), "{took:?}");

        // Blackhole: the connection stays open and silent; what was sent arrives after.
        proxy.blackhole();
        assert_eq!(
            round_trip(&mut live, b"three", SHORT).await.unwrap_err(),
            "timed out"
        );
        let mut held = TcpStream::connect(proxy.addr).await.unwrap();
        assert_eq!(
            round_trip(&mut held, b"four", SHORT).await.unwrap_err(),
            "timed out",
            "a new connection is accepted and held"
        );
        proxy.restore();
        let mut late = vec![0u8; 5];
        tokio::time::timeout(LONG, live.read_exact(&mut late))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(late, b"three");
        assert_eq!(round_trip(&mut live, b"five", LONG).await.unwrap(), b"five");

        // Only the answers blackholed: the request goes through, its answer never comes.
        proxy.set(Modes {
            up: Mode::Pass,
            down: Mode::Blackhole,
        });
        assert!(round_trip(&mut live, b"six", SHORT).await.is_err());
        proxy.restore();
        let mut six = vec![0u8; 3];
        tokio::time::timeout(LONG, live.read_exact(&mut six))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(six, b"six");

        // Cut: the live connection ends, and a new one is closed at once.
        proxy.cut();
        let mut rest = Vec::new();
        let ended = tokio::time::timeout(LONG, live.read_to_end(&mut rest)).await;
        assert!(ended.is_ok(), "the live connection was dropped");
        let mut refused = TcpStream::connect(proxy.addr).await.unwrap();
        let answer = round_trip(&mut refused, b"seven", LONG).await;
        assert!(
            answer.as_ref().is_err_and(|e| e != "timed out"),
            "{answer:?}"
        );

        // Restored: new connections work again.
        proxy.restore();
        let mut again = TcpStream::connect(proxy.addr).await.unwrap();
        assert_eq!(
            round_trip(&mut again, b"eight", LONG).await.unwrap(),
            b"eight"
        );
        assert!(proxy.accepted() >= 4);
    }

    #[tokio::test]
    async fn rewrites_a_url_to_go_through_it() {
        let proxy = FaultProxy::start(echo_server().await).await;
        let url = proxy.url_for("postgres://postgres@db.example:5432/test?sslmode=disable");
        assert_eq!(
            url,
            format!(
                "postgres://postgres@127.0.0.1:{}/test?sslmode=disable",
                proxy.addr.port()
            )
        );
    }
}
