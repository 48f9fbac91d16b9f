//! A `wgpu-ds serve` process on a free loopback port, and a minimal HTTP/1.1 client over
//! TcpStream (so tests can also send malformed, oversized and abandoned requests).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Server {
    child: Child,
    pub addr: String,
    /// Everything the server wrote to stderr so far (its logs).
    pub log: Arc<Mutex<String>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the server with `args` (after `serve --port 0`) and waits until /health is 200.
pub fn start(args: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wgpu-ds"))
        .args(["serve", "--port", "0"])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting wgpu-ds serve");
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut addr = None;
    let mut line = String::new();
    while err.read_line(&mut line).unwrap() > 0 {
        if let Some(rest) = line.strip_prefix("listening on http://") {
            addr = Some(rest.split_whitespace().next().unwrap().to_string());
            break;
        }
        line.clear();
    }
    // Keep draining stderr so the server never blocks on a full pipe.
    let log = Arc::new(Mutex::new(String::new()));
    let sink = log.clone();
    std::thread::spawn(move || {
        let mut line = String::new();
        while err.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
            if std::env::var_os("SERVE_LOG").is_some() {
                eprint!("{line}");
            }
            sink.lock().unwrap().push_str(&line);
            line.clear();
        }
    });
    let addr = addr.expect("the server printed its address");
    let server = Server { child, addr, log };
    let t = Instant::now();
    loop {
        if let Ok(r) = server.get("/health") {
            if r.status == 200 {
                return server;
            }
        }
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "the server never became healthy"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub struct Response {
    pub status: u16,
    pub headers: String,
    pub body: String,
}

impl Response {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
    /// The `data:` payloads of a server-sent event stream.
    pub fn events(&self) -> Vec<String> {
        self.body
            .lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .map(str::to_string)
            .collect()
    }
}

impl Server {
    /// The server process's resident memory in kB (Linux), if readable.
    pub fn rss_kb(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// Waits (up to a minute) until the server's log contains `text`.
    pub fn wait_log(&self, text: &str) {
        let t = Instant::now();
        while !self.log.lock().unwrap().contains(text) {
            assert!(
                t.elapsed() < Duration::from_secs(60),
                "the log never said {text:?}:\n{}",
                self.log.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn get(&self, path: &str) -> std::io::Result<Response> {
        self.raw(&format!(
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        ))
    }

    pub fn post(&self, path: &str, body: &str) -> Response {
        self.post_with(path, body, "").unwrap()
    }

    /// POST with extra header lines (each ending in \r\n).
    pub fn post_with(&self, path: &str, body: &str, headers: &str) -> std::io::Result<Response> {
        self.raw(&format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n{headers}Content-Length: {}\r\n\r\n{body}",
            body.len()
        ))
    }

    /// Sends `request` as it is and reads the whole response.
    pub fn raw(&self, request: &str) -> std::io::Result<Response> {
        let mut s = TcpStream::connect(&self.addr)?;
        s.set_read_timeout(Some(Duration::from_secs(120)))?;
        s.write_all(request.as_bytes())?;
        let mut bytes = Vec::new();
        s.read_to_end(&mut bytes)?;
        Ok(parse(&bytes))
    }

    /// Opens a connection and sends `request`, returning the stream unread.
    pub fn open(&self, request: &str) -> TcpStream {
        let mut s = TcpStream::connect(&self.addr).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        s
    }
}

fn parse(bytes: &[u8]) -> Response {
    let text = String::from_utf8_lossy(bytes);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    Response {
        status,
        headers: head.to_string(),
        body,
    }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// A chat request body for one user message, greedy.
pub fn chat_body(content: &str, extra: &str) -> String {
    let msg = serde_json::json!([{"role": "user", "content": content}]);
    format!(r#"{{"messages": {msg}, "temperature": 0{extra}}}"#)
}
