//! Real mail peers for the email tests: an SMTP sink (Python's aiosmtpd) that receives the
//! service's outbound mail, Python's smtplib as a client, and a raw SMTP socket for the
//! protocol's edge cases. The Python peers live in `tests/peers/`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::process::{Child, ChildStdout, Command};

/// How long a test waits for a peer before it fails (a guard against hanging, not a way to
/// wait for something: every wait here ends on an event).
const PEER_TIMEOUT: Duration = Duration::from_secs(60);

fn peers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers")
}

/// Whether Python with aiosmtpd is here. Without it a test prints why it skips — except in
/// CI (`CI` set), where `.ci/run` installs it and a missing peer is a failure.
pub fn peers_available() -> bool {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import aiosmtpd, smtplib"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "python3 with aiosmtpd is required in CI (.ci/run installs it)"
        );
        eprintln!("skipped: python3 with aiosmtpd is not installed (pip install aiosmtpd)");
    }
    ok
}

/// A mail the sink received.
#[derive(Debug, Clone)]
pub struct Received {
    pub raw: Vec<u8>,
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
}

impl Received {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.raw).into_owned()
    }

    /// The header section, as received.
    pub fn headers(&self) -> String {
        let text = self.text();
        let end = text
            .find("\r\n\r\n")
            .or_else(|| text.find("\n\n"))
            .unwrap_or(text.len());
        text[..end].to_owned()
    }

    /// A header's value, decoded and unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let message = mail_parser::MessageParser::default().parse(&self.raw)?;
        message
            .header_raw(name)
            .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
    }

    pub fn message(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(&self.raw)
            .expect("the sink received a parseable mail")
    }
}

/// The SMTP sink: a real server that keeps what it receives.
pub struct Sink {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    pub port: u16,
    pub dir: PathBuf,
}

impl Sink {
    /// Starts a sink on a free port; `args` as `smtp_sink.py` takes them.
    pub async fn start(dir: &Path, args: &[&str]) -> Sink {
        let mut child = Command::new("python3")
            .arg(peers_dir().join("smtp_sink.py"))
            .arg(dir)
            .args(args)
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the SMTP sink");
        let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
        let ready = tokio::time::timeout(PEER_TIMEOUT, lines.next_line())
            .await
            .expect("the sink starts")
            .expect("read the sink")
            .expect("the sink says it is ready");
        let port = ready
            .strip_prefix("READY ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("unexpected sink output: {ready}"));
        Sink {
            child,
            lines,
            port,
            dir: dir.to_owned(),
        }
    }

    /// The relay URL that points the service at this sink.
    pub fn relay_url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The next mail the sink receives (waits for it).
    pub async fn next(&mut self) -> Received {
        let line = tokio::time::timeout(PEER_TIMEOUT, self.lines.next_line())
            .await
            .expect("a mail reaches the sink in time")
            .expect("read the sink")
            .expect("the sink is running");
        let path = PathBuf::from(
            line.strip_prefix("RECEIVED ")
                .unwrap_or_else(|| panic!("unexpected sink output: {line}")),
        );
        let raw = std::fs::read(&path).expect("read the received mail");
        let envelope: serde_json::Value = serde_json::from_slice(
            &std::fs::read(path.with_extension("json")).expect("read the envelope"),
        )
        .expect("envelope JSON");
        Received {
            raw,
            mail_from: envelope["mail_from"].as_str().unwrap_or("").to_owned(),
            rcpt_tos: envelope["rcpt_tos"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// Every mail received so far, by reading the folder.
    pub fn all(&self) -> Vec<Vec<u8>> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        paths.retain(|p| p.extension().is_some_and(|e| e == "eml"));
        paths.sort();
        paths.iter().filter_map(|p| std::fs::read(p).ok()).collect()
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// What a server answered a client.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Sent {
    pub code: u16,
    pub text: String,
    pub stage: String,
}

/// Sends `message` with Python's smtplib (a real client): EHLO, STARTTLS if asked, MAIL,
/// RCPT for each of `to`, DATA.
pub async fn smtp_send(
    addr: SocketAddr,
    message: &[u8],
    from: &str,
    to: &[&str],
    starttls: bool,
) -> Sent {
    let file = std::env::temp_dir().join(format!("concierge-mail-{}.eml", super::unique()));
    std::fs::write(&file, message).expect("write the message");
    let mut cmd = Command::new("python3");
    cmd.arg(peers_dir().join("smtp_send.py"))
        .arg(addr.ip().to_string())
        .arg(addr.port().to_string())
        .arg(&file)
        .arg("--from")
        .arg(from);
    for t in to {
        cmd.arg("--to").arg(t);
    }
    if starttls {
        cmd.arg("--starttls");
    }
    let out = tokio::time::timeout(PEER_TIMEOUT, cmd.output())
        .await
        .expect("smtplib finishes")
        .expect("run smtplib");
    let _ = std::fs::remove_file(&file);
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|_| {
        panic!(
            "smtplib failed: {stdout} {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// An SMTP reply: its code and the text of each line.
#[derive(Debug, Clone)]
pub struct Reply {
    pub code: u16,
    pub lines: Vec<String>,
}

impl Reply {
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }
}

/// A raw SMTP connection, for what a polite client would never send.
pub struct RawSmtp {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
}

impl RawSmtp {
    /// Connects and reads the greeting.
    pub async fn connect(addr: SocketAddr) -> (RawSmtp, Reply) {
        let stream = TcpStream::connect(addr).await.expect("connect to SMTP");
        RawSmtp::greeted(stream).await
    }

    /// Connects from the local address `from` (any of 127.0.0.0/8 reaches a listener on
    /// loopback), as a client elsewhere would, and reads the greeting.
    pub async fn connect_from(from: std::net::IpAddr, addr: SocketAddr) -> (RawSmtp, Reply) {
        let socket = match from {
            std::net::IpAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
            std::net::IpAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
        }
        .expect("a socket");
        socket
            .bind(SocketAddr::new(from, 0))
            .expect("bind the client's address");
        let stream = socket.connect(addr).await.expect("connect to SMTP");
        RawSmtp::greeted(stream).await
    }

    async fn greeted(stream: TcpStream) -> (RawSmtp, Reply) {
        let (r, w) = stream.into_split();
        let mut conn = RawSmtp {
            reader: BufReader::new(r),
            writer: w,
        };
        let greeting = conn.reply().await;
        (conn, greeting)
    }

    pub async fn write(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).await.expect("write to SMTP");
    }

    /// Sends a command and reads its reply.
    pub async fn cmd(&mut self, line: &str) -> Reply {
        self.write(format!("{line}\r\n").as_bytes()).await;
        self.reply().await
    }

    /// Reads one (possibly multi-line) reply.
    pub async fn reply(&mut self) -> Reply {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            let n = tokio::time::timeout(PEER_TIMEOUT, self.reader.read_line(&mut line))
                .await
                .expect("a reply in time")
                .expect("read from SMTP");
            assert!(
                n > 0,
                "the server closed the connection; replies so far: {lines:?}"
            );
            let code: u16 = line
                .get(..3)
                .and_then(|c| c.parse().ok())
                .unwrap_or_else(|| panic!("not an SMTP reply: {line:?}"));
            let more = line.as_bytes().get(3) == Some(&b'-');
            lines.push(line.get(4..).unwrap_or("").trim_end().to_owned());
            if !more {
                return Reply { code, lines };
            }
        }
    }

    /// Reads until the server closes the connection; returns what it said meanwhile.
    pub async fn read_to_end(&mut self) -> String {
        use tokio::io::AsyncReadExt;
        let mut rest = String::new();
        tokio::time::timeout(PEER_TIMEOUT, self.reader.read_to_string(&mut rest))
            .await
            .expect("the server closes in time")
            .ok();
        rest
    }

    /// Writes `line` again and again, one every `every`, as a client that sends just enough
    /// to never be idle, until the server closes the connection; returns all it said.
    pub async fn trickle(&mut self, line: &[u8], every: Duration) -> String {
        use tokio::io::AsyncReadExt;
        let mut said = Vec::new();
        let mut ticks = tokio::time::interval(every);
        let mut writing = true;
        let until_closed = async {
            loop {
                let mut chunk = [0u8; 4096];
                tokio::select! {
                    read = self.reader.read(&mut chunk) => match read {
                        Ok(0) | Err(_) => return,
                        Ok(n) => said.extend_from_slice(&chunk[..n]),
                    },
                    _ = ticks.tick(), if writing => {
                        // Once the server stops reading, writing fails; what it said still
                        // comes.
                        writing = self.writer.write_all(line).await.is_ok();
                    }
                }
            }
        };
        tokio::time::timeout(PEER_TIMEOUT, until_closed)
            .await
            .expect("the server closes the connection in time");
        String::from_utf8_lossy(&said).into_owned()
    }

    /// EHLO, MAIL FROM, RCPT TO, DATA with `body` (already dot-stuffed, ending in CRLF), and
    /// the end of data; returns the answer to the end of data.
    pub async fn send_mail(&mut self, from: &str, to: &str, body: &[u8]) -> Reply {
        assert_eq!(self.cmd("EHLO client.test").await.code, 250);
        assert_eq!(self.cmd(&format!("MAIL FROM:<{from}>")).await.code, 250);
        let rcpt = self.cmd(&format!("RCPT TO:<{to}>")).await;
        assert_eq!(rcpt.code, 250, "{rcpt:?}");
        assert_eq!(self.cmd("DATA").await.code, 354);
        self.write(body).await;
        self.write(b".\r\n").await;
        self.reply().await
    }
}

/// A mail as a client writes it: CRLF line ends.
pub fn mail(headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut out = String::new();
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    for line in body.lines() {
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.into_bytes()
}
