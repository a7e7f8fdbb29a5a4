//! A local SMTP sink (RFC 5321, the part a client sending one message uses: EHLO/HELO, MAIL
//! FROM, RCPT TO, DATA, RSET, NOOP, QUIT) that records what it accepts, and can refuse the
//! next transactions with a 4xx as a busy server would; and enough MIME to read the parts of
//! what it received.

use std::sync::{Arc, Mutex, MutexGuard};

use base64::Engine;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// One message as the sink accepted it.
#[derive(Clone, Debug)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    /// The message as sent after DATA, dot-stuffing undone.
    pub data: String,
}

#[derive(Debug, Default)]
pub struct SmtpState {
    pub received: Vec<Received>,
    /// Transactions still to refuse at MAIL FROM with `451`.
    pub refuse: u32,
    /// Transactions refused so far.
    pub refused: u32,
}

type Shared = Arc<Mutex<SmtpState>>;

pub struct SmtpSink {
    /// What to configure as `smtp.url`.
    pub url: String,
    state: Shared,
    server: JoinHandle<()>,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("smtp://{}", listener.local_addr().unwrap());
        let state = Shared::default();
        let shared = state.clone();
        let server = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(converse(socket, shared.clone()));
            }
        });
        SmtpSink { url, state, server }
    }

    pub fn state(&self) -> MutexGuard<'_, SmtpState> {
        self.state.lock().unwrap()
    }

    pub fn received(&self) -> Vec<Mime> {
        self.state().received.iter().map(|r| Mime::parse(&r.data)).collect()
    }
}

async fn converse(socket: tokio::net::TcpStream, state: Shared) {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    let say = async |write: &mut tokio::net::tcp::OwnedWriteHalf, reply: &str| {
        write.write_all(format!("{reply}\r\n").as_bytes()).await.is_ok()
    };
    if !say(&mut write, "220 sink.test ESMTP ready").await {
        return;
    }
    let (mut from, mut to) = (None::<String>, Vec::new());
    while let Ok(Some(line)) = lines.next_line().await {
        let upper = line.to_ascii_uppercase();
        let reply = if upper.starts_with("EHLO") {
            "250-sink.test greets you\r\n250-8BITMIME\r\n250 SMTPUTF8".to_owned()
        } else if upper.starts_with("HELO") || upper.starts_with("NOOP") {
            "250 OK".to_owned()
        } else if upper.starts_with("MAIL FROM:") {
            let mut s = state.lock().unwrap();
            if s.refuse > 0 {
                s.refuse -= 1;
                s.refused += 1;
                "451 4.3.0 Try again later".to_owned()
            } else {
                from = Some(address(&line[10..]));
                "250 2.1.0 OK".to_owned()
            }
        } else if upper.starts_with("RCPT TO:") {
            match from {
                Some(_) => {
                    to.push(address(&line[8..]));
                    "250 2.1.5 OK".to_owned()
                }
                None => "503 5.5.1 MAIL first".to_owned(),
            }
        } else if upper == "DATA" {
            if from.is_none() || to.is_empty() {
                "503 5.5.1 RCPT first".to_owned()
            } else {
                if !say(&mut write, "354 End data with <CR><LF>.<CR><LF>").await {
                    return;
                }
                let mut data = String::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    if line == "." {
                        break;
                    }
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                    data.push_str("\r\n");
                }
                let received =
                    Received { from: from.take().unwrap(), to: std::mem::take(&mut to), data };
                state.lock().unwrap().received.push(received);
                "250 2.0.0 queued".to_owned()
            }
        } else if upper == "RSET" {
            (from, to) = (None, Vec::new());
            "250 OK".to_owned()
        } else if upper == "QUIT" {
            say(&mut write, "221 2.0.0 Bye").await;
            return;
        } else {
            "502 5.5.2 Command not recognised".to_owned()
        };
        if !say(&mut write, &reply).await {
            return;
        }
    }
}

/// `<a@b> SIZE=…` → `a@b`.
fn address(arg: &str) -> String {
    let arg = arg.trim();
    let end = arg.find('>').unwrap_or(arg.len());
    arg[..end].trim_start_matches('<').to_owned()
}

/// A received message: its headers (unfolded) and its parts, decoded.
#[derive(Clone, Debug)]
pub struct Mime {
    pub headers: Vec<(String, String)>,
    /// (content type, decoded body); the message itself when it is not multipart.
    pub parts: Vec<(String, String)>,
}

impl Mime {
    pub fn parse(data: &str) -> Mime {
        let (headers, body) = split_head(data);
        let content_type = header(&headers, "content-type").unwrap_or_default();
        let parts = match boundary(&content_type) {
            Some(boundary) => body
                .split(&format!("--{boundary}"))
                .skip(1)
                .filter(|p| !p.starts_with("--"))
                .flat_map(|part| Mime::parse(part.trim_start_matches("\r\n")).parts)
                .collect(),
            None => {
                let encoding = header(&headers, "content-transfer-encoding").unwrap_or_default();
                vec![(content_type, decode(&encoding, body))]
            }
        };
        Mime { headers, parts }
    }

    pub fn header(&self, name: &str) -> Option<String> {
        header(&self.headers, name)
    }

    /// The decoded body of the first part of this type (`text/plain`, `text/html`).
    pub fn part(&self, kind: &str) -> Option<&str> {
        self.parts.iter().find(|(t, _)| t.starts_with(kind)).map(|(_, body)| body.as_str())
    }
}

fn split_head(data: &str) -> (Vec<(String, String)>, &str) {
    let (head, body) = data.split_once("\r\n\r\n").unwrap_or((data, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = headers.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    (headers, body)
}

fn header(headers: &[(String, String)], name: &str) -> Option<String> {
    headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
}

fn boundary(content_type: &str) -> Option<String> {
    let at = content_type.find("boundary=")? + "boundary=".len();
    let rest = &content_type[at..];
    Some(rest.split(';').next()?.trim().trim_matches('"').to_owned())
}

fn decode(encoding: &str, body: &str) -> String {
    match encoding.to_ascii_lowercase().as_str() {
        "base64" => {
            let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            let bytes = base64::engine::general_purpose::STANDARD.decode(compact).unwrap();
            String::from_utf8(bytes).unwrap()
        }
        "quoted-printable" => quoted_printable(body),
        _ => body.to_owned(),
    }
}

/// RFC 2045 §6.7: `=XX` is a byte, `=` at a line's end a soft break.
fn quoted_printable(body: &str) -> String {
    let joined = body.replace("=\r\n", "");
    let mut bytes = Vec::new();
    let mut input = joined.bytes();
    while let Some(b) = input.next() {
        if b == b'=' {
            let hex: Vec<u8> = input.by_ref().take(2).collect();
            bytes.push(u8::from_str_radix(std::str::from_utf8(&hex).unwrap(), 16).unwrap());
        } else {
            bytes.push(b);
        }
    }
    String::from_utf8(bytes).unwrap()
}
