//! The inbound SMTP listener: the receiving side of RFC 5321, as real MTAs and mail clients
//! speak it — EHLO/HELO, MAIL, RCPT, DATA with dot-unstuffing, RSET, NOOP, QUIT, VRFY, HELP,
//! PIPELINING (commands may arrive in batches; replies go back in order), SIZE (advertised and
//! enforced), 8BITMIME, SMTPUTF8, ENHANCEDSTATUSCODES, and STARTTLS when a certificate is
//! configured.
//!
//! Durability: `250` after DATA is sent only once the [`Mailroom`] has committed the mail. A
//! connection that drops, stalls past the timeout or is cut off before that has stored
//! nothing, and its sender will retry; a retry of a mail that was stored is recognised there
//! by its Message-ID.
//!
//! Limits: a cap on concurrent sessions and a smaller one per client address (past either,
//! `421` at once), recipients per mail (past it, `452`, which tells the client to send the
//! rest in another transaction), bytes per mail (`552`, after the client finishes sending),
//! bytes per command line, bad commands per session, an idle timeout on every read, and
//! deadlines: one for the whole session, and one for each mail's DATA transfer that grows
//! with the bytes received at a minimum rate. A client that sends a line now and then is
//! never idle, so without the deadlines a few slow clients could hold every session. One
//! misbehaving client affects only its own session; one address cannot take them all.

use crate::mailroom::{Envelope, IntakeError, Mailroom};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tracing::Instrument;

/// How long a command line may be, in bytes. RFC 5321 allows 512 for commands; extensions
/// make them longer in practice.
const MAX_COMMAND_LINE: usize = 4096;

/// How long a line of a mail may be, in bytes. RFC 5322 says 998; some mailers write whole
/// HTML documents on one line, so this is generous, but it bounds what one session holds.
const MAX_DATA_LINE: usize = 1024 * 1024;

/// Bad or out-of-order commands a session may send before it is cut off.
const MAX_ERRORS: u32 = 20;

/// How long past its deadline a session may take to say its last words: the `421`, or the
/// answer for a mail the mailroom is storing. Writes wait on the client, so without this a
/// client that stops reading could keep its session.
const LAST_WORDS: Duration = Duration::from_secs(10);

/// How the listener is configured.
#[derive(Clone)]
pub struct SmtpConfig {
    /// The name the listener greets with.
    pub hostname: String,
    /// The largest mail accepted, in bytes (advertised as SIZE).
    pub max_message_bytes: usize,
    /// Sessions served at once.
    pub max_sessions: usize,
    /// Recipients accepted in one transaction.
    pub max_recipients: usize,
    /// How long the listener waits for the client's next line.
    pub timeout: Duration,
    /// Sessions one client address (an IPv6 client's /64 network) may hold at once.
    pub max_sessions_per_address: usize,
    /// How long a whole session may last, however busy the client keeps it.
    pub session_limit: Duration,
    /// How long a DATA transfer may take before [`SmtpConfig::min_data_rate`] applies.
    pub data_grace: Duration,
    /// The least rate, in bytes a second, a DATA transfer must keep after its grace.
    pub min_data_rate: u64,
    /// The certificate offered with STARTTLS; without one, STARTTLS is not offered.
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

/// Loads a PEM certificate chain and private key for STARTTLS.
pub fn tls_config(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<Arc<rustls::ServerConfig>, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("cannot read the certificate {}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!("{} holds no certificate", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("cannot read the private key {}: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("the certificate and key do not fit: {e}"))?;
    Ok(Arc::new(config))
}

struct Shared {
    config: SmtpConfig,
    mailroom: Arc<Mailroom>,
    tls: Option<TlsAcceptor>,
}

/// A bound SMTP listener; [`SmtpListener::run`] serves it.
pub struct SmtpListener {
    listener: TcpListener,
    shared: Arc<Shared>,
    sessions: Arc<Semaphore>,
    addresses: Arc<Addresses>,
}

/// The sessions each client address holds, against the cap per address.
struct Addresses {
    cap: usize,
    held: Mutex<HashMap<IpAddr, usize>>,
}

/// A session's place under its address's cap, given back when the session ends.
struct AddressPlace {
    addresses: Arc<Addresses>,
    address: IpAddr,
}

impl Addresses {
    fn new(cap: usize) -> Self {
        Addresses {
            cap: cap.max(1),
            held: Mutex::new(HashMap::new()),
        }
    }

    /// A place for a session from `peer`, unless its address holds all it may.
    fn take(self: &Arc<Self>, peer: IpAddr) -> Option<AddressPlace> {
        let address = concierge_domain::access::counted_address(peer);
        // Nothing panics while the lock is held, so a poisoned lock still holds true counts.
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        let count = held.entry(address).or_insert(0);
        if *count >= self.cap {
            return None;
        }
        *count += 1;
        Some(AddressPlace {
            addresses: Arc::clone(self),
            address,
        })
    }
}

impl Drop for AddressPlace {
    fn drop(&mut self) {
        let mut held = self
            .addresses
            .held
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(count) = held.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                held.remove(&self.address);
            }
        }
    }
}

/// What a session holds while it is served: its place under the listener's cap and under
/// its address's.
struct Places {
    _session: OwnedSemaphorePermit,
    _address: AddressPlace,
}

impl SmtpListener {
    pub async fn bind(
        addr: SocketAddr,
        config: SmtpConfig,
        mailroom: Arc<Mailroom>,
    ) -> std::io::Result<SmtpListener> {
        let listener = TcpListener::bind(addr).await?;
        let sessions = Arc::new(Semaphore::new(config.max_sessions.max(1)));
        let addresses = Arc::new(Addresses::new(config.max_sessions_per_address));
        let tls = config.tls.clone().map(TlsAcceptor::from);
        Ok(SmtpListener {
            listener,
            shared: Arc::new(Shared {
                config,
                mailroom,
                tls,
            }),
            sessions,
            addresses,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves sessions until `shutdown` holds `true`: then stops accepting, lets each
    /// session finish the mail it is receiving (sessions waiting for a command are told
    /// `421` and closed), and returns when all have ended.
    pub async fn run(self, shutdown: watch::Receiver<bool>) {
        let mut sessions = JoinSet::new();
        let mut stop = shutdown.clone();
        let stopped = async move {
            // Ends on `true`, or when the sender is gone.
            let _ = stop.wait_for(|s| *s).await;
        };
        tokio::pin!(stopped);
        loop {
            tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok((tcp, peer)) => {
                        // Replies are written whole, when the client waits for them: holding
                        // one back for the previous one's ACK (Nagle) would only add delay.
                        let _ = tcp.set_nodelay(true);
                        let shared = Arc::clone(&self.shared);
                        let host = &shared.config.hostname;
                        let Some(address) = self.addresses.take(peer.ip()) else {
                            tracing::debug!(%peer, "SMTP session refused: too many from its address");
                            let line = format!("421 4.7.0 {host} too many connections from your address; try again later");
                            sessions.spawn(refuse(tcp, line));
                            continue;
                        };
                        match Arc::clone(&self.sessions).try_acquire_owned() {
                            Ok(session) => {
                                let span = tracing::debug_span!("smtp", %peer);
                                let places = Places { _session: session, _address: address };
                                sessions.spawn(serve(tcp, shared, shutdown.clone(), places).instrument(span));
                            }
                            Err(_) => {
                                let line = format!("421 4.3.2 {host} too many connections; try again later");
                                sessions.spawn(refuse(tcp, line));
                            }
                        }
                    }
                    Err(e) => {
                        // Out of file descriptors, typically: pause rather than spin.
                        tracing::warn!(error = %e, "cannot accept an SMTP connection");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
                () = &mut stopped => break,
            }
        }
        drop(self.listener);
        while sessions.join_next().await.is_some() {}
    }
}

/// Tells a client past a session cap to come back later (`line`, a 421) and closes.
async fn refuse(mut tcp: TcpStream, line: String) {
    let said = async {
        tcp.write_all(line.as_bytes()).await?;
        tcp.write_all(b"\r\n").await?;
        tcp.shutdown().await
    };
    let _ = tokio::time::timeout(Duration::from_secs(5), said).await;
}

/// Serves one session to its end, or to its deadline and a little past it for its last
/// words, whatever the client does.
async fn serve(
    tcp: TcpStream,
    shared: Arc<Shared>,
    shutdown: watch::Receiver<bool>,
    _places: Places,
) {
    let deadline = Instant::now() + shared.config.session_limit;
    let served = converse_all(tcp, &shared, shutdown, deadline);
    if tokio::time::timeout_at(deadline + LAST_WORDS, served)
        .await
        .is_err()
    {
        tracing::debug!("SMTP session cut off past its deadline");
    }
}

async fn converse_all(
    tcp: TcpStream,
    shared: &Shared,
    mut shutdown: watch::Receiver<bool>,
    deadline: Instant,
) {
    let mut session = Session::new(shared, deadline);
    let mut conn = Conn::new(tcp);
    let next = session.converse(&mut conn, &mut shutdown, true).await;
    if let Ok(Ending::StartTls) = next {
        let Some(acceptor) = shared.tls.clone() else {
            return;
        };
        let tcp = conn.into_inner();
        let until = (Instant::now() + shared.config.timeout).min(deadline);
        let handshake = tokio::time::timeout_at(until, acceptor.accept(tcp)).await;
        match handshake {
            Ok(Ok(tls)) => {
                session.after_tls();
                let mut conn = Conn::new(tls);
                if let Err(e) = session.converse(&mut conn, &mut shutdown, false).await {
                    tracing::debug!(error = %e, "SMTP session ended");
                }
            }
            Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
            Err(_) => tracing::debug!("TLS handshake timed out"),
        }
    } else if let Err(e) = next {
        tracing::debug!(error = %e, "SMTP session ended");
    }
}

/// How a conversation with the client ended.
enum Ending {
    Closed,
    /// The client asked for TLS and was told to go ahead: the caller upgrades the stream.
    StartTls,
}

/// What reading a line gave.
enum Line {
    Complete,
    /// Longer than allowed; read to its end and dropped. `len` is how long it was, `crlf`
    /// whether it ended with CR LF.
    TooLong {
        len: usize,
        crlf: bool,
    },
    /// The client closed the connection (a partial line is dropped).
    Eof,
}

/// A client connection: buffered reads, replies collected and written when the client
/// waits for them (when nothing more of its input is buffered), which is what PIPELINING
/// asks of a server.
struct Conn<S> {
    reader: BufReader<S>,
    out: Vec<u8>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Conn<S> {
    fn new(stream: S) -> Self {
        Conn {
            reader: BufReader::new(stream),
            out: Vec::with_capacity(512),
        }
    }

    fn into_inner(self) -> S {
        self.reader.into_inner()
    }

    fn reply(&mut self, line: &str) {
        self.out.extend_from_slice(line.as_bytes());
        self.out.extend_from_slice(b"\r\n");
    }

    async fn flush(&mut self) -> std::io::Result<()> {
        if !self.out.is_empty() {
            let stream = self.reader.get_mut();
            stream.write_all(&self.out).await?;
            stream.flush().await?;
            self.out.clear();
        }
        Ok(())
    }

    /// Reads one line (through its `\n`) into `buf`, at most `cap` bytes of it. Replies
    /// wait until the client has no more input buffered, then go out before blocking.
    async fn read_line(&mut self, buf: &mut Vec<u8>, cap: usize) -> std::io::Result<Line> {
        buf.clear();
        let mut too_long = false;
        let mut len = 0;
        let mut last = 0u8;
        loop {
            if self.reader.buffer().is_empty() {
                self.flush().await?;
            }
            let available = self.reader.fill_buf().await?;
            if available.is_empty() {
                return Ok(Line::Eof);
            }
            let (chunk, done) = match available.iter().position(|&b| b == b'\n') {
                Some(i) => (&available[..=i], true),
                None => (available, false),
            };
            let n = chunk.len();
            // The byte before the line feed, which may sit in the previous chunk.
            let before_lf = if n >= 2 { chunk[n - 2] } else { last };
            last = chunk[n - 1];
            len += n;
            if !too_long {
                if buf.len() + n > cap {
                    too_long = true;
                    buf.clear();
                } else {
                    buf.extend_from_slice(chunk);
                }
            }
            self.reader.consume(n);
            if done {
                return Ok(if too_long {
                    Line::TooLong {
                        len,
                        crlf: before_lf == b'\r',
                    }
                } else {
                    Line::Complete
                });
            }
        }
    }
}

/// One client's session state.
struct Session<'a> {
    shared: &'a Shared,
    /// When the session ends, however busy the client keeps it.
    deadline: Instant,
    helo: Option<String>,
    mail_from: Option<String>,
    recipients: Vec<String>,
    tls: bool,
    errors: u32,
}

/// Why a read was given up: what the client is told in its `421`.
#[derive(Clone, Copy)]
enum Expired {
    Idle,
    Session,
    Transfer,
}

impl Expired {
    fn reason(self, in_data: bool) -> &'static str {
        match (self, in_data) {
            (Expired::Idle, false) => "timeout waiting for a command",
            (Expired::Idle, true) => "timeout receiving data",
            (Expired::Session, _) => "session time limit reached; closing",
            (Expired::Transfer, _) => "data arriving too slowly; closing",
        }
    }
}

/// The earliest of the deadlines, and which one it is.
fn earliest(deadlines: &[(Instant, Expired)]) -> (Instant, Expired) {
    deadlines
        .iter()
        .copied()
        .min_by_key(|(at, _)| *at)
        .expect("invariant: there is always the idle deadline")
}

impl<'a> Session<'a> {
    fn new(shared: &'a Shared, deadline: Instant) -> Self {
        Session {
            shared,
            deadline,
            helo: None,
            mail_from: None,
            recipients: Vec::new(),
            tls: false,
            errors: 0,
        }
    }

    /// By when the mail of a DATA transfer that started at `started` and has brought
    /// `received` bytes so far must be in: the grace, and the time those bytes take at the
    /// minimum rate.
    fn transfer_deadline(&self, started: Instant, received: u64) -> Instant {
        let config = &self.shared.config;
        let micros = received.saturating_mul(1_000_000) / config.min_data_rate.max(1);
        started + config.data_grace + Duration::from_micros(micros)
    }

    fn reset(&mut self) {
        self.mail_from = None;
        self.recipients.clear();
    }

    /// After STARTTLS everything learnt before is forgotten (RFC 3207): the client greets
    /// again.
    fn after_tls(&mut self) {
        self.reset();
        self.helo = None;
        self.tls = true;
    }

    fn host(&self) -> &str {
        &self.shared.config.hostname
    }

    /// Reads commands and answers them until the client quits, the connection drops or
    /// times out, too many errors pile up, or the client starts TLS.
    async fn converse<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        conn: &mut Conn<S>,
        shutdown: &mut watch::Receiver<bool>,
        greet: bool,
    ) -> std::io::Result<Ending> {
        if greet {
            conn.reply(&format!("220 {} ESMTP Concierge ready", self.host()));
        }
        let mut line = Vec::with_capacity(256);
        loop {
            if *shutdown.borrow() {
                conn.reply(&format!(
                    "421 4.3.2 {} shutting down; try again later",
                    self.host()
                ));
                conn.flush().await?;
                return Ok(Ending::Closed);
            }
            let (until, expired) = earliest(&[
                (Instant::now() + self.shared.config.timeout, Expired::Idle),
                (self.deadline, Expired::Session),
            ]);
            let read = tokio::select! {
                read = tokio::time::timeout_at(until, conn.read_line(&mut line, MAX_COMMAND_LINE)) => read,
                _ = shutdown.changed() => continue,
            };
            let read = match read {
                Ok(read) => read?,
                Err(_) => {
                    conn.reply(&format!(
                        "421 4.4.2 {} {}",
                        self.host(),
                        expired.reason(false)
                    ));
                    conn.flush().await?;
                    return Ok(Ending::Closed);
                }
            };
            match read {
                Line::Eof => return Ok(Ending::Closed),
                Line::TooLong { .. } => {
                    conn.reply("500 5.5.6 command line too long");
                    if self.failed(conn) {
                        conn.flush().await?;
                        return Ok(Ending::Closed);
                    }
                    continue;
                }
                Line::Complete => {}
            }
            let text = String::from_utf8_lossy(&line);
            let text = text.trim_end_matches(['\r', '\n']);
            let (verb, arg) = match text.split_once(' ') {
                Some((v, a)) => (v.to_ascii_uppercase(), a.trim()),
                None => (text.to_ascii_uppercase(), ""),
            };
            match verb.as_str() {
                "EHLO" | "HELO" => self.hello(conn, &verb, arg),
                "MAIL" => self.mail(conn, arg),
                "RCPT" => self.rcpt(conn, arg),
                "DATA" => {
                    if !arg.is_empty() {
                        conn.reply("501 5.5.4 DATA takes no arguments");
                    } else if self.mail_from.is_none() {
                        conn.reply("503 5.5.1 send MAIL first");
                    } else if self.recipients.is_empty() {
                        conn.reply("554 5.5.1 no valid recipients");
                    } else {
                        match self.data(conn).await? {
                            Some(()) => {}
                            None => return Ok(Ending::Closed),
                        }
                        continue;
                    }
                    if self.failed(conn) {
                        conn.flush().await?;
                        return Ok(Ending::Closed);
                    }
                }
                "RSET" => {
                    self.reset();
                    conn.reply("250 2.0.0 reset");
                }
                "NOOP" => conn.reply("250 2.0.0 ok"),
                "QUIT" => {
                    conn.reply(&format!("221 2.0.0 {} closing connection", self.host()));
                    conn.flush().await?;
                    let _ = conn.reader.get_mut().shutdown().await;
                    return Ok(Ending::Closed);
                }
                "VRFY" => conn.reply("252 2.5.2 cannot verify the user, but will accept the message"),
                "HELP" => conn.reply("214 2.0.0 commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP STARTTLS"),
                "STARTTLS" => {
                    if self.shared.tls.is_none() {
                        conn.reply("502 5.5.1 STARTTLS is not available");
                    } else if self.tls {
                        conn.reply("503 5.5.1 TLS is already active");
                    } else if !arg.is_empty() {
                        conn.reply("501 5.5.4 STARTTLS takes no arguments");
                    } else {
                        conn.reply("220 2.0.0 ready to start TLS");
                        conn.flush().await?;
                        // Anything the client sent after STARTTLS in the clear must not be
                        // taken as said under TLS (an injection attack on pipelining).
                        if !conn.reader.buffer().is_empty() {
                            return Ok(Ending::Closed);
                        }
                        return Ok(Ending::StartTls);
                    }
                }
                _ => {
                    conn.reply("500 5.5.2 command not recognised");
                    if self.failed(conn) {
                        conn.flush().await?;
                        return Ok(Ending::Closed);
                    }
                }
            }
        }
    }

    /// Counts a bad command; true (after telling the client) when the session must end.
    fn failed<S: AsyncRead + AsyncWrite + Unpin>(&mut self, conn: &mut Conn<S>) -> bool {
        self.errors += 1;
        if self.errors >= MAX_ERRORS {
            conn.reply(&format!(
                "421 4.7.0 {} too many errors; closing",
                self.host()
            ));
            return true;
        }
        false
    }

    fn hello<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        conn: &mut Conn<S>,
        verb: &str,
        arg: &str,
    ) {
        if arg.is_empty() {
            conn.reply(&format!("501 5.5.4 {verb} needs a domain or address"));
            self.failed(conn);
            return;
        }
        self.reset();
        self.helo = Some(arg.chars().take(255).collect());
        if verb == "HELO" {
            conn.reply(&format!("250 {} hello {arg}", self.host()));
            return;
        }
        let mut lines = vec![
            format!("{} hello {arg}", self.host()),
            "PIPELINING".to_owned(),
            format!("SIZE {}", self.shared.config.max_message_bytes),
            "8BITMIME".to_owned(),
            "SMTPUTF8".to_owned(),
            "ENHANCEDSTATUSCODES".to_owned(),
        ];
        if self.shared.tls.is_some() && !self.tls {
            lines.push("STARTTLS".to_owned());
        }
        let last = lines.len() - 1;
        for (i, l) in lines.iter().enumerate() {
            conn.reply(&format!("250{}{l}", if i == last { ' ' } else { '-' }));
        }
    }

    fn mail<S: AsyncRead + AsyncWrite + Unpin>(&mut self, conn: &mut Conn<S>, arg: &str) {
        if self.helo.is_none() {
            conn.reply("503 5.5.1 send EHLO or HELO first");
            self.failed(conn);
            return;
        }
        if self.mail_from.is_some() {
            conn.reply("503 5.5.1 a transaction is already in progress; send RSET first");
            self.failed(conn);
            return;
        }
        let Some((address, params)) = path(arg, "FROM:") else {
            conn.reply("501 5.5.4 syntax: MAIL FROM:<address>");
            self.failed(conn);
            return;
        };
        for param in params.split_whitespace() {
            let (name, value) = param.split_once('=').unwrap_or((param, ""));
            match name.to_ascii_uppercase().as_str() {
                "SIZE" => match value.parse::<u64>() {
                    Ok(n) if n > self.shared.config.max_message_bytes as u64 => {
                        conn.reply(&format!(
                            "552 5.3.4 message size exceeds the limit of {} bytes",
                            self.shared.config.max_message_bytes
                        ));
                        return;
                    }
                    Ok(_) => {}
                    Err(_) => {
                        conn.reply("501 5.5.4 SIZE must be a number");
                        self.failed(conn);
                        return;
                    }
                },
                "BODY" if ["7BIT", "8BITMIME"].contains(&value.to_ascii_uppercase().as_str()) => {}
                "SMTPUTF8" if value.is_empty() => {}
                _ => {
                    conn.reply(&format!("555 5.5.4 parameter {name} is not supported"));
                    self.failed(conn);
                    return;
                }
            }
        }
        self.mail_from = Some(address.to_owned());
        conn.reply("250 2.1.0 sender ok");
    }

    fn rcpt<S: AsyncRead + AsyncWrite + Unpin>(&mut self, conn: &mut Conn<S>, arg: &str) {
        if self.mail_from.is_none() {
            conn.reply("503 5.5.1 send MAIL first");
            self.failed(conn);
            return;
        }
        let Some((address, _params)) = path(arg, "TO:").filter(|(a, _)| !a.is_empty()) else {
            conn.reply("501 5.5.4 syntax: RCPT TO:<address>");
            self.failed(conn);
            return;
        };
        if self.recipients.len() >= self.shared.config.max_recipients {
            // 452 (not 5xx) tells the client to send the rest in another transaction.
            conn.reply("452 4.5.3 too many recipients");
            return;
        }
        if !self.shared.mailroom.accepts(address) {
            conn.reply("550 5.1.1 no such mailbox here");
            return;
        }
        self.recipients.push(address.to_owned());
        conn.reply("250 2.1.5 recipient ok");
    }

    /// Receives a mail after DATA and answers for it. `None` when the connection ended
    /// before the mail did (nothing is stored then).
    async fn data<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        conn: &mut Conn<S>,
    ) -> std::io::Result<Option<()>> {
        conn.reply("354 end data with <CR><LF>.<CR><LF>");
        let max = self.shared.config.max_message_bytes;
        let mut message = Vec::with_capacity(16 * 1024);
        let mut total = 0usize;
        let started = Instant::now();
        // Bytes off the wire, line ends and stuffed dots included, for the minimum rate.
        let mut received = 0u64;
        let mut overlong = false;
        let mut line = Vec::with_capacity(1024);
        // The terminator is a dot alone on a line after a CRLF: a dot after a bare LF is
        // data, so a message cannot smuggle a second one past a server that reads line ends
        // differently.
        let mut after_crlf = true;
        loop {
            let (until, expired) = earliest(&[
                (Instant::now() + self.shared.config.timeout, Expired::Idle),
                (self.deadline, Expired::Session),
                (self.transfer_deadline(started, received), Expired::Transfer),
            ]);
            let read = tokio::time::timeout_at(
                until,
                conn.read_line(&mut line, MAX_DATA_LINE.min(max + 3)),
            )
            .await;
            let read = match read {
                Ok(read) => read?,
                Err(_) => {
                    conn.reply(&format!(
                        "421 4.4.2 {} {}",
                        self.host(),
                        expired.reason(true)
                    ));
                    conn.flush().await?;
                    return Ok(None);
                }
            };
            match read {
                Line::Eof => return Ok(None),
                Line::TooLong { len, crlf } => {
                    received = received.saturating_add(len as u64);
                    overlong = true;
                    total = total.saturating_add(len);
                    message = Vec::new();
                    after_crlf = crlf;
                    continue;
                }
                Line::Complete => received = received.saturating_add(line.len() as u64),
            }
            if after_crlf && line == b".\r\n" {
                break;
            }
            after_crlf = line.ends_with(b"\r\n");
            let content = match line.strip_prefix(b".") {
                Some(rest) => rest,
                None => &line[..],
            };
            total = total.saturating_add(content.len());
            if total > max || overlong {
                // Past the limit: keep reading to the end of the data, keep nothing.
                message = Vec::new();
            } else {
                message.extend_from_slice(content);
            }
        }
        let envelope = Envelope {
            mail_from: self.mail_from.take().filter(|a| !a.is_empty()),
            recipients: std::mem::take(&mut self.recipients),
        };
        if total > max {
            conn.reply(&format!(
                "552 5.3.4 message size exceeds the limit of {max} bytes"
            ));
            return Ok(Some(()));
        }
        if overlong {
            conn.reply(&format!(
                "554 5.6.0 a line of the message is longer than {MAX_DATA_LINE} bytes"
            ));
            return Ok(Some(()));
        }
        match self.shared.mailroom.receive(message, &envelope).await {
            Ok(receipt) => conn.reply(&format!("250 2.0.0 ok: stored as {}", receipt.message_id())),
            Err(IntakeError::Refused(reason)) => {
                conn.reply(&format!("554 5.6.0 {}", one_line(&reason)))
            }
            Err(IntakeError::TooLarge(limit)) => conn.reply(&format!(
                "552 5.3.4 message size exceeds the limit of {limit} bytes"
            )),
            Err(IntakeError::Unavailable(reason)) => {
                conn.reply(&format!("451 4.3.0 {}", one_line(&reason)))
            }
        }
        Ok(Some(()))
    }
}

/// Splits `FROM:<address> PARAMS` (or `TO:`) into the address and the parameters. Accepts
/// a space after the colon and a missing pair of brackets, as lenient servers do.
fn path<'t>(arg: &'t str, keyword: &str) -> Option<(&'t str, &'t str)> {
    let head = arg.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = arg[keyword.len()..].trim_start();
    if let Some(inner) = rest.strip_prefix('<') {
        let end = inner.find('>')?;
        let address = &inner[..end];
        // A source route (`<@a,@b:user@c>`) names only the last part as the address.
        let address = address.rsplit(':').next().unwrap_or(address);
        Some((address.trim(), inner[end + 1..].trim()))
    } else {
        let (address, params) = rest.split_once(' ').unwrap_or((rest, ""));
        Some((address.trim(), params.trim()))
    }
}

fn one_line(text: &str) -> String {
    text.split(|c: char| c.is_control())
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(400)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_are_counted_by_address_and_ipv6_ones_by_network() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let addresses = Arc::new(Addresses::new(2));
        let first = addresses.take(ip("2001:db8::1"));
        let second = addresses.take(ip("2001:db8::2"));
        assert!(first.is_some() && second.is_some());
        assert!(addresses.take(ip("2001:db8::3")).is_none(), "the same /64");
        assert!(
            addresses.take(ip("2001:db8:0:1::1")).is_some(),
            "another /64"
        );
        drop(first);
        assert!(
            addresses.take(ip("2001:db8::3")).is_some(),
            "a place given back"
        );
    }

    #[test]
    fn paths_are_split_from_their_parameters() {
        assert_eq!(
            path("FROM:<ann@x.example> SIZE=100", "FROM:"),
            Some(("ann@x.example", "SIZE=100"))
        );
        assert_eq!(
            path("from: <ann@x.example>", "FROM:"),
            Some(("ann@x.example", ""))
        );
        assert_eq!(path("FROM:<>", "FROM:"), Some(("", "")));
        assert_eq!(
            path("TO:<@relay.example:bob@y.example>", "TO:"),
            Some(("bob@y.example", ""))
        );
        assert_eq!(path("TO:bob@y.example", "TO:"), Some(("bob@y.example", "")));
        assert_eq!(path("FROM <ann@x.example>", "FROM:"), None);
        assert_eq!(path("FROM:<unclosed", "FROM:"), None);
    }
}
