//! A TCP delay line: a user-space proxy that adds a fixed one-way delay to every byte in each
//! direction, for `escrow experiment wan` (docs/experiments.md §9).
//!
//! It models propagation delay the way a network emulator's delay does: every chunk read from
//! one side is stamped with the time it arrived and written to the other side no earlier than
//! `arrival + delay`, and chunks that arrived while earlier ones were waiting are not delayed
//! again (bandwidth stays that of loopback). A round trip through the proxy costs 2 × delay.
//!
//! Why not a maintained proxy crate: the Rust port of Toxiproxy (`noxious` 1.0.4) sleeps the
//! full latency for each 32 KiB chunk in turn (its latency toxic is `input.then(sleep)`), so a
//! transfer of c chunks is delayed by c × latency — a bandwidth cap of 32 KiB per latency, not
//! a propagation delay — which would charge a 10,000-message answer tens of seconds that no
//! network would. Toxiproxy itself (Go) stamps chunks as this proxy does, but it is not
//! packaged for this machine, and the kernel's `netem` qdisc is not available here. The delay
//! line is small enough to check by reading (and `tests` below check order, integrity and that
//! the delay is applied).
//!
//! Bounded: the accept loop polls a stop flag every 10 ms, every connection's threads end when
//! either side closes or the proxy stops, and [`DelayProxy`] stops on drop.

use anyhow::{Context, Result};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Bytes read at a time from either side.
const CHUNK: usize = 64 * 1024;

/// A one-way delay shared by delay lines and changeable while they run (microseconds): the
/// witnesses' lines of `escrow experiment wan`, set for each round trip in turn.
#[derive(Clone, Debug, Default)]
pub struct SharedDelay(Arc<AtomicU64>);

impl SharedDelay {
    /// A delay of `one_way`.
    pub fn new(one_way: Duration) -> Self {
        let d = SharedDelay::default();
        d.set(one_way);
        d
    }

    /// From now on, `one_way` (for the chunks read and connections made after this).
    pub fn set(&self, one_way: Duration) {
        self.0.store(
            u64::try_from(one_way.as_micros()).unwrap_or(u64::MAX),
            Ordering::SeqCst,
        );
    }

    /// The delay now.
    pub fn get(&self) -> Duration {
        Duration::from_micros(self.0.load(Ordering::SeqCst))
    }
}

/// A running delay line from a local listening address to `upstream`.
pub struct DelayProxy {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
    accept: Option<JoinHandle<()>>,
}

impl DelayProxy {
    /// Listen on `listen` (e.g. `127.0.0.1:0`) and forward every connection to `upstream`,
    /// each direction delayed by `one_way`.
    pub fn start(listen: &str, upstream: SocketAddr, one_way: Duration) -> Result<Self> {
        Self::start_shared(listen, upstream, SharedDelay::new(one_way))
    }

    /// [`DelayProxy::start`] with a delay that can change while it runs.
    pub fn start_shared(listen: &str, upstream: SocketAddr, one_way: SharedDelay) -> Result<Self> {
        let listener =
            TcpListener::bind(listen).with_context(|| format!("delay proxy: bind {listen}"))?;
        listener
            .set_nonblocking(true)
            .context("delay proxy: non-blocking listener")?;
        let addr = listener
            .local_addr()
            .context("delay proxy: local address")?;
        let stop = Arc::new(AtomicBool::new(false));
        let conns: Arc<Mutex<Vec<TcpStream>>> = Arc::new(Mutex::new(Vec::new()));
        let accept = {
            let stop = stop.clone();
            let conns = conns.clone();
            std::thread::spawn(move || accept_loop(&listener, upstream, one_way, &stop, &conns))
        };
        Ok(DelayProxy {
            addr,
            stop,
            conns,
            accept: Some(accept),
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stop accepting and close every connection.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Ok(mut conns) = self.conns.lock() {
            for c in conns.drain(..) {
                let _ = c.shutdown(Shutdown::Both);
            }
        }
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

impl Drop for DelayProxy {
    fn drop(&mut self) {
        self.stop();
    }
}

fn accept_loop(
    listener: &TcpListener,
    upstream: SocketAddr,
    one_way: SharedDelay,
    stop: &AtomicBool,
    conns: &Arc<Mutex<Vec<TcpStream>>>,
) {
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((client, _)) => {
                let _ = client.set_nonblocking(false);
                if let Ok(mut list) = conns.lock()
                    && let Ok(c) = client.try_clone()
                {
                    list.push(c);
                }
                let conns = conns.clone();
                let one_way = one_way.clone();
                std::thread::spawn(move || connect(client, upstream, one_way, &conns));
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// One connection: connect upstream, pay the handshake's round trip (as a real path would:
/// the first request waits one round trip more), then one delayed pipe per direction.
fn connect(
    client: TcpStream,
    upstream: SocketAddr,
    one_way: SharedDelay,
    conns: &Mutex<Vec<TcpStream>>,
) {
    let Ok(server) = TcpStream::connect_timeout(&upstream, Duration::from_secs(10)) else {
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    if let Ok(mut list) = conns.lock()
        && let Ok(c) = server.try_clone()
    {
        list.push(c);
    }
    std::thread::sleep(one_way.get() * 2);
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    for (from, to) in [(&client, &server), (&server, &client)] {
        if let (Ok(r), Ok(w)) = (from.try_clone(), to.try_clone()) {
            pipe(r, w, one_way.clone());
        }
    }
}

/// One direction: a reader stamps each chunk with its arrival, a writer sends it at
/// arrival + delay. End of stream (or an error) on the reader closes the writer's side.
fn pipe(mut from: TcpStream, mut to: TcpStream, delay: SharedDelay) {
    let (tx, rx) = mpsc::channel::<Option<(Instant, Vec<u8>)>>();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; CHUNK];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => {
                    let _ = tx.send(None);
                    return;
                }
                Ok(n) => {
                    let chunk = buf.get(..n).map(<[u8]>::to_vec).unwrap_or_default();
                    if tx
                        .send(Some((Instant::now() + delay.get(), chunk)))
                        .is_err()
                    {
                        return;
                    }
                }
            }
        }
    });
    std::thread::spawn(move || {
        while let Ok(Some((due, chunk))) = rx.recv() {
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            if to.write_all(&chunk).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// An echo server on 127.0.0.1:0 that answers each connection until it closes.
    fn echo() -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        std::thread::spawn(move || {
            for s in l.incoming().take(4) {
                let mut s = s.unwrap();
                std::thread::spawn(move || {
                    let mut r = s.try_clone().unwrap();
                    let _ = std::io::copy(&mut r, &mut s);
                    let _ = s.shutdown(Shutdown::Write);
                });
            }
        });
        addr
    }

    #[test]
    fn bytes_pass_in_order_and_intact_in_both_directions() {
        let p = DelayProxy::start("127.0.0.1:0", echo(), Duration::from_millis(1)).unwrap();
        let mut c = TcpStream::connect(p.addr()).unwrap();
        let sent: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let writer = {
            let mut c = c.try_clone().unwrap();
            let sent = sent.clone();
            std::thread::spawn(move || {
                c.write_all(&sent).unwrap();
                c.shutdown(Shutdown::Write).unwrap();
            })
        };
        let mut got = Vec::new();
        c.read_to_end(&mut got).unwrap();
        writer.join().unwrap();
        assert_eq!(got, sent);
    }

    #[test]
    fn a_round_trip_costs_at_least_twice_the_one_way_delay() {
        // A lower bound only (sleep never wakes early); the upper bound is a measurement.
        let p = DelayProxy::start("127.0.0.1:0", echo(), Duration::from_millis(40)).unwrap();
        let mut c = TcpStream::connect(p.addr()).unwrap();
        c.write_all(b"warmup").unwrap();
        let mut b = [0u8; 6];
        c.read_exact(&mut b).unwrap();
        let t0 = Instant::now();
        c.write_all(b"ping").unwrap();
        let mut b = [0u8; 4];
        c.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"ping");
        assert!(
            t0.elapsed() >= Duration::from_millis(80),
            "{:?}",
            t0.elapsed()
        );
    }

    #[test]
    fn a_stopped_proxy_closes_its_connections() {
        let mut p = DelayProxy::start("127.0.0.1:0", echo(), Duration::from_millis(1)).unwrap();
        let mut c = TcpStream::connect(p.addr()).unwrap();
        c.write_all(b"x").unwrap();
        let mut b = [0u8; 1];
        c.read_exact(&mut b).unwrap();
        p.stop();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut rest = Vec::new();
        // closed: end of stream (or a reset), never a hang
        let _ = c.read_to_end(&mut rest);
        assert!(rest.is_empty());
    }
}
