//! Load for the k8s audit webhook benchmark (`scripts/bench-k8saudit`), std only so that the
//! client costs the same whatever serves it.
//!
//! ```text
//! webhook_load send HOST:PORT SECONDS CONNECTIONS BODY_FILE
//!     POSTs BODY_FILE (an audit EventList) to /k8s-audit over CONNECTIONS keep-alive
//!     HTTP/1.1 connections for SECONDS; prints "<requests answered 200> <seconds>".
//! webhook_load sink PORT
//!     The reference: an HTTP/1.1 server that reads each request whole and answers 200
//!     with nothing else to do (the cost of the HTTP exchange alone).
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let result = match args.get(1).map(String::as_str) {
        Some("send") if args.len() == 6 => send(&args[2], &args[3], &args[4], &args[5]),
        Some("sink") if args.len() == 3 => sink(&args[2]),
        _ => Err("usage: webhook_load send HOST:PORT SECONDS CONNECTIONS BODY_FILE | sink PORT"
            .to_owned()),
    };
    if let Err(err) = result {
        eprintln!("webhook_load: {err}");
        std::process::exit(1);
    }
}

fn send(addr: &str, seconds: &str, connections: &str, body: &str) -> Result<(), String> {
    let seconds: f64 = seconds.parse().map_err(|_| format!("bad SECONDS `{seconds}`"))?;
    let connections: usize =
        connections.parse().map_err(|_| format!("bad CONNECTIONS `{connections}`"))?;
    let body = std::fs::read(body).map_err(|e| format!("{body}: {e}"))?;
    let mut request = format!(
        "POST /k8s-audit HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);
    let request = Arc::new(request);
    let ok = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(seconds);
    let threads: Vec<_> = (0..connections)
        .map(|_| {
            let (request, ok, addr) = (request.clone(), ok.clone(), addr.to_owned());
            std::thread::spawn(move || -> Result<(), String> {
                let stream = TcpStream::connect(&addr).map_err(|e| format!("{addr}: {e}"))?;
                stream.set_nodelay(true).map_err(|e| e.to_string())?;
                let mut reader = BufReader::new(stream.try_clone().map_err(|e| e.to_string())?);
                let mut writer = stream;
                while Instant::now() < end {
                    writer.write_all(&request).map_err(|e| e.to_string())?;
                    if read_response(&mut reader)? == 200 {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Ok(())
            })
        })
        .collect();
    for t in threads {
        t.join().map_err(|_| "a sender panicked".to_owned())??;
    }
    println!("{} {:.3}", ok.load(Ordering::Relaxed), start.elapsed().as_secs_f64());
    Ok(())
}

/// Reads one response (headers, then a Content-Length body); returns its status.
fn read_response(reader: &mut BufReader<TcpStream>) -> Result<u16, String> {
    let mut line = String::new();
    reader.read_line(&mut line).map_err(|e| e.to_string())?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line `{}`", line.trim_end()))?;
    let length = read_headers(reader)?;
    let mut body = vec![0; length];
    reader.read_exact(&mut body).map_err(|e| e.to_string())?;
    Ok(status)
}

/// Reads header lines up to the blank one; returns Content-Length (0 when absent).
fn read_headers(reader: &mut BufReader<TcpStream>) -> Result<usize, String> {
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
            return Err("connection closed".to_owned());
        }
        let line = line.trim_end();
        if line.is_empty() {
            return Ok(length);
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().map_err(|_| format!("bad length `{value}`"))?;
        }
    }
}

fn sink(port: &str) -> Result<(), String> {
    let listener = TcpListener::bind(format!("127.0.0.1:{port}")).map_err(|e| e.to_string())?;
    for stream in listener.incoming() {
        let stream = stream.map_err(|e| e.to_string())?;
        std::thread::spawn(move || {
            let Ok(clone) = stream.try_clone() else { return };
            let mut reader = BufReader::new(clone);
            let mut writer = stream;
            // The request line, then its headers and body; then the answer.
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                let Ok(length) = read_headers(&mut reader) else { return };
                let mut body = vec![0; length];
                if reader.read_exact(&mut body).is_err() {
                    return;
                }
                let answer = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 13\r\n\r\n\
                              <html></html>";
                if writer.write_all(answer.as_bytes()).is_err() {
                    return;
                }
            }
        });
    }
    Ok(())
}
