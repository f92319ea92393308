//! A loopback HTTP CONNECT proxy for tests: accepts `CONNECT host:port`, counts the tunnels and
//! the hosts asked for, and connects every tunnel to one fixed 127.0.0.1 port whatever host was
//! named — so a name only the proxy "resolves" (api.deepgram.test) needs no DNS. Bytes are
//! copied both ways untouched (TLS stays end to end). Dropping it stops accepting.

use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

pub struct ConnectProxy {
    port: u16,
    /// Connections that were reset after reading their CONNECT (see [`ConnectProxy::resetting`]).
    resets: Arc<std::sync::atomic::AtomicUsize>,
    targets: Arc<Mutex<Vec<String>>>,
    stopping: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl ConnectProxy {
    /// Tunnels every CONNECT to 127.0.0.1:`to_port`.
    pub fn start(to_port: u16) -> ConnectProxy {
        ConnectProxy::spawn(Some(to_port))
    }

    /// Reads each CONNECT, then resets the connection (RST) before any tunnel exists: a proxy
    /// that refuses by dropping, as some corporate proxies do.
    pub fn resetting() -> ConnectProxy {
        ConnectProxy::spawn(None)
    }

    /// Connections reset so far.
    pub fn resets(&self) -> usize {
        self.resets.load(Ordering::SeqCst)
    }

    fn spawn(to_port: Option<u16>) -> ConnectProxy {
        let resets = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().unwrap().port();
        let targets = Arc::new(Mutex::new(Vec::new()));
        let stopping = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let targets = Arc::clone(&targets);
            let stopping = Arc::clone(&stopping);
            let resets = Arc::clone(&resets);
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stopping.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let targets = Arc::clone(&targets);
                    let resets = Arc::clone(&resets);
                    std::thread::spawn(move || match to_port {
                        Some(to_port) => tunnel(stream, to_port, &targets),
                        None => reset_after_connect(stream, &resets),
                    });
                }
            })
        };
        ConnectProxy {
            port,
            resets,
            targets,
            stopping,
            acceptor: Some(acceptor),
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Tunnels made so far.
    pub fn tunnels(&self) -> usize {
        self.targets.lock().unwrap().len()
    }

    /// The `host:port` of every CONNECT, in order.
    pub fn targets(&self) -> Vec<String> {
        self.targets.lock().unwrap().clone()
    }
}

impl Drop for ConnectProxy {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// Reads the CONNECT request and its headers, then closes with SO_LINGER 0: an RST, no answer.
fn reset_after_connect(client: TcpStream, resets: &std::sync::atomic::AtomicUsize) {
    use std::os::fd::AsRawFd;
    let _ = client.set_read_timeout(Some(Duration::from_secs(10)));
    let Ok(reader_side) = client.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(reader_side);
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) if line.trim().is_empty() => break,
            Ok(_) => {}
        }
    }
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt reads the struct we pass, on a socket we own.
    unsafe {
        libc::setsockopt(
            client.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
    resets.fetch_add(1, Ordering::SeqCst);
    drop(reader);
    drop(client);
}

fn tunnel(client: TcpStream, to_port: u16, targets: &Mutex<Vec<String>>) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(10)));
    let Ok(reader_side) = client.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(reader_side);
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut parts = line.split_whitespace();
    let (Some("CONNECT"), Some(target)) = (parts.next(), parts.next()) else {
        let _ =
            (&client).write_all(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n");
        return;
    };
    let target = target.to_string();
    loop {
        let mut header = String::new();
        match reader.read_line(&mut header) {
            Ok(0) | Err(_) => return,
            Ok(_) if header.trim().is_empty() => break,
            Ok(_) => {}
        }
    }
    let Ok(upstream) = TcpStream::connect(("127.0.0.1", to_port)) else {
        let _ = (&client).write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
        return;
    };
    targets.lock().unwrap().push(target);
    if (&client)
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .is_err()
    {
        return;
    }
    let _ = upstream.set_read_timeout(Some(Duration::from_secs(10)));
    // The client sends nothing after CONNECT until it reads the 200, so the reader's buffer
    // is empty here and the raw socket can be copied from.
    let (Ok(mut up_read), Ok(mut client_write)) = (upstream.try_clone(), client.try_clone()) else {
        return;
    };
    let down = std::thread::spawn(move || {
        let _ = std::io::copy(&mut up_read, &mut client_write);
        let _ = client_write.shutdown(Shutdown::Write);
    });
    let mut client_read = client;
    let mut up_write = upstream;
    let _ = std::io::copy(&mut client_read, &mut up_write);
    let _ = up_write.shutdown(Shutdown::Write);
    let _ = down.join();
}
