//! A small SMTP server on 127.0.0.1 for the tests: it speaks enough real
//! SMTP over TCP for lettre to deliver to it, keeps every message it
//! accepted, and can be stopped and started again on the same port to play
//! a mail server outage.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// One message as the server accepted it.
#[derive(Debug, Clone)]
pub struct Received {
    pub rcpt_to: Vec<String>,
    /// The message as sent after DATA, dot-unstuffed, with CRLF line ends.
    pub data: String,
}

impl Received {
    /// A header's value (first occurrence, unfolded).
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or_default();
        let mut value: Option<String> = None;
        for line in head.split("\r\n") {
            if let Some(v) = value.as_mut() {
                if line.starts_with([' ', '\t']) {
                    v.push_str(line.trim_start());
                    continue;
                }
                break;
            }
            if let Some((key, v)) = line.split_once(':') {
                if key.eq_ignore_ascii_case(name) {
                    value = Some(v.trim().to_string());
                }
            }
        }
        value
    }

    pub fn message_id(&self) -> String {
        self.header("Message-ID").expect("a Message-ID header")
    }

    /// The body with quoted-printable undone: the text and HTML parts as a
    /// reader sees them, with the MIME scaffolding around them.
    pub fn text(&self) -> String {
        let body = self
            .data
            .split_once("\r\n\r\n")
            .map(|(_, b)| b)
            .unwrap_or("");
        let mut bytes = Vec::with_capacity(body.len());
        let raw = body.as_bytes();
        let mut i = 0;
        while i < raw.len() {
            if raw[i] == b'=' {
                if raw[i + 1..].starts_with(b"\r\n") {
                    i += 3;
                    continue;
                }
                if let Some(hex) = raw.get(i + 1..i + 3) {
                    if let Ok(byte) = u8::from_str_radix(std::str::from_utf8(hex).unwrap_or(""), 16)
                    {
                        bytes.push(byte);
                        i += 3;
                        continue;
                    }
                }
            }
            bytes.push(raw[i]);
            i += 1;
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

#[derive(Default)]
struct State {
    received: Vec<Received>,
    /// Stop by itself once this many messages were accepted in all.
    stop_after: Option<usize>,
    running: Option<watch::Sender<bool>>,
}

#[derive(Clone)]
pub struct SmtpSink {
    pub port: u16,
    state: Arc<Mutex<State>>,
}

impl SmtpSink {
    /// Listens on a free port of 127.0.0.1.
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the sink");
        let sink = SmtpSink {
            port: listener.local_addr().unwrap().port(),
            state: Arc::default(),
        };
        sink.serve(listener);
        sink
    }

    /// Listens again on the same port after a stop.
    pub async fn restart(&self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port))
            .await
            .expect("bind the sink's port again");
        self.serve(listener);
    }

    /// Closes the port and drops every open connection, as a server that went down.
    pub fn stop(&self) {
        if let Some(running) = self.lock().running.take() {
            let _ = running.send(true);
        }
    }

    /// Goes down by itself right after accepting message number `n` (counted from the start).
    pub fn stop_after(&self, n: usize) {
        self.lock().stop_after = Some(n);
    }

    pub fn received(&self) -> Vec<Received> {
        self.lock().received.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn serve(&self, listener: TcpListener) {
        let (running, mut stopped) = watch::channel(false);
        self.lock().running = Some(running);
        let sink = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stopped.changed() => return,
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { return };
                        let (sink, mut stopped) = (sink.clone(), stopped.clone());
                        tokio::spawn(async move {
                            tokio::select! {
                                _ = stopped.changed() => {}
                                _ = sink.session(stream) => {}
                            }
                        });
                    }
                }
            }
        });
    }

    /// One SMTP session: greeting, EHLO, then transactions until QUIT.
    async fn session(&self, stream: TcpStream) -> std::io::Result<()> {
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read);
        write.write_all(b"220 sink.test ESMTP ready\r\n").await?;
        let mut rcpt_to = Vec::new();
        let mut line = String::new();
        loop {
            line.clear();
            if lines.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let command = line.trim_end().to_ascii_uppercase();
            let reply: &[u8] = if command.starts_with("EHLO") {
                b"250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"
            } else if command.starts_with("HELO") || command.starts_with("NOOP") {
                b"250 OK\r\n"
            } else if command.starts_with("MAIL FROM:") || command.starts_with("RSET") {
                rcpt_to.clear();
                b"250 OK\r\n"
            } else if command.starts_with("RCPT TO:") {
                let address = line.trim_end()[8..].trim().trim_matches(['<', '>']);
                rcpt_to.push(address.to_string());
                b"250 OK\r\n"
            } else if command == "DATA" {
                write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                let mut data = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 {
                        // The sender went away mid-message: nothing was accepted.
                        return Ok(());
                    }
                    if line == ".\r\n" {
                        break;
                    }
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                }
                let stop = {
                    let mut state = self.lock();
                    state.received.push(Received {
                        rcpt_to: std::mem::take(&mut rcpt_to),
                        data,
                    });
                    state.stop_after == Some(state.received.len())
                };
                write.write_all(b"250 OK queued\r\n").await?;
                write.flush().await?;
                if stop {
                    self.stop();
                    return Ok(());
                }
                continue;
            } else if command.starts_with("QUIT") {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            } else {
                b"502 not implemented\r\n"
            };
            write.write_all(reply).await?;
        }
    }
}
