//! Real receivers for the channel tests: an HTTP/1.1 server (plain or TLS, optionally
//! requiring a client certificate) on a loopback port that can be stopped and started again,
//! and helpers to build alerts and pipelines.

#![allow(dead_code, reason = "each test file uses part of the support module")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use lanner_channels::{Log, PipelineConfig};
use lanner_outputs::{Alert, AlertRule, Priority};

/// A request the server answered.
#[derive(Clone, Debug)]
pub(crate) struct Request {
    pub(crate) path: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Request {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct State {
    requests: Vec<Request>,
    stopped: bool,
    conns: Vec<TcpStream>,
}

/// An HTTP receiver. Every request is answered `200 OK` with the body `ok` (unless `status`
/// says otherwise), and recorded only once answered; a request read after `stop` is dropped
/// unanswered and unrecorded, as by a receiver that went down.
pub(crate) struct Receiver {
    pub(crate) addr: SocketAddr,
    tls: Option<Arc<rustls::ServerConfig>>,
    state: Arc<(Mutex<State>, Condvar)>,
    accept: Option<JoinHandle<()>>,
    pub(crate) status: Arc<Mutex<u16>>,
}

impl Receiver {
    pub(crate) fn start(tls: Option<Arc<rustls::ServerConfig>>) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mut r = Receiver {
            addr,
            tls,
            state: Arc::default(),
            accept: None,
            status: Arc::new(Mutex::new(200)),
        };
        r.serve(listener);
        r
    }

    pub(crate) fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}/alerts", self.addr.port())
    }

    fn serve(&mut self, listener: TcpListener) {
        let state = self.state.clone();
        let tls = self.tls.clone();
        let status = self.status.clone();
        self.accept = Some(std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                {
                    let mut s = state.0.lock().unwrap();
                    if s.stopped {
                        return;
                    }
                    s.conns.push(conn.try_clone().unwrap());
                }
                let state = state.clone();
                let tls = tls.clone();
                let status = status.clone();
                std::thread::spawn(move || match tls {
                    None => handle(conn, &state, &status),
                    Some(config) => {
                        let Ok(tls) = rustls::ServerConnection::new(config) else { return };
                        handle(rustls::StreamOwned::new(tls, conn), &state, &status);
                    }
                });
            }
        }));
    }

    /// Stops listening and closes every connection: the port refuses connections.
    pub(crate) fn stop(&mut self) {
        {
            let mut s = self.state.0.lock().unwrap();
            s.stopped = true;
            for c in s.conns.drain(..) {
                let _ = c.shutdown(std::net::Shutdown::Both);
            }
        }
        // Wake the accept loop so that it drops the listener.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.accept.take() {
            t.join().unwrap();
        }
    }

    /// Listens again on the same port.
    pub(crate) fn restart(&mut self) {
        let listener = TcpListener::bind(self.addr).unwrap();
        self.state.0.lock().unwrap().stopped = false;
        self.serve(listener);
    }

    pub(crate) fn requests(&self) -> Vec<Request> {
        self.state.0.lock().unwrap().requests.clone()
    }

    /// Waits until at least `n` requests were answered.
    pub(crate) fn wait_for(&self, n: usize) -> Vec<Request> {
        let (lock, cv) = &*self.state;
        let s = cv
            .wait_timeout_while(lock.lock().unwrap(), Duration::from_secs(60), |s| {
                s.requests.len() < n
            })
            .unwrap()
            .0;
        assert!(s.requests.len() >= n, "{} requests of {n} in a minute", s.requests.len());
        s.requests.clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if self.accept.is_some() {
            self.stop();
        }
    }
}

fn handle(conn: impl Read + Write, state: &(Mutex<State>, Condvar), status: &Mutex<u16>) {
    let mut conn = BufReader::new(conn);
    loop {
        let mut line = String::new();
        if conn.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if conn.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            let (n, v) = h.split_once(':').unwrap();
            headers.push((n.trim().to_owned(), v.trim().to_owned()));
        }
        let len: usize = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .map_or(0, |(_, v)| v.parse().unwrap());
        let mut body = vec![0u8; len];
        if conn.read_exact(&mut body).is_err() {
            return;
        }
        let (lock, cv) = state;
        let mut s = lock.lock().unwrap();
        if s.stopped {
            return;
        }
        let code = *status.lock().unwrap();
        let answer = format!("HTTP/1.1 {code} X\r\nContent-Length: 2\r\n\r\nok");
        if conn
            .get_mut()
            .write_all(answer.as_bytes())
            .and_then(|()| conn.get_mut().flush())
            .is_err()
        {
            return;
        }
        s.requests.push(Request { path, headers, body });
        cv.notify_all();
    }
}

/// An alert of `rule` whose message is `message`.
pub(crate) fn alert(rule: &str, priority: Priority, message: &str) -> Alert {
    let rule = AlertRule::new(rule, priority, "syscall", ["test"]);
    Alert::internal(&rule, 1_470_327_477_881_781_397, &Arc::from("test-host"), message.into())
}

/// A log that keeps its lines.
pub(crate) fn log() -> (Log, Arc<Mutex<Vec<String>>>) {
    let lines: Arc<Mutex<Vec<String>>> = Arc::default();
    let keep = lines.clone();
    (Arc::new(move |line: &str| keep.lock().unwrap().push(line.to_owned())), lines)
}

/// Every channel off.
pub(crate) fn quiet() -> (PipelineConfig, Arc<Mutex<Vec<String>>>) {
    let (log, lines) = log();
    (PipelineConfig::quiet(log), lines)
}

/// A fresh temporary directory.
pub(crate) fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("lanner-channels-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
