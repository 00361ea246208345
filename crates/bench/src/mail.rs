//! The email scenario: sustained inbound SMTP over many connections to the real listener,
//! and the per-message cost of reading and threading a mail without the disk's fsync.

use crate::{Bench, Figures};
use concierge_email::{Envelope, MailSettings, Mailroom};
use concierge_store::files::{content_key, FileStore};
use concierge_store::StoreError;
use futures::future::BoxFuture;
use futures::FutureExt;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const SUPPORT: &str = "support@localhost";

/// A mail of about 10 KB as clients send them: text and HTML alternatives, the new text on
/// top of a quoted history, from one of a few hundred shoppers; every other one answers that
/// shopper's previous mail (`In-Reply-To`), the rest start a new subject.
pub(crate) fn sample(connection: usize, n: usize) -> Vec<u8> {
    let shopper = (connection * 7919 + n) % 300;
    let id = format!("<bench-{connection}-{n}@mail.example>");
    let mut headers = format!(
        "From: Shopper {shopper} <shopper{shopper}@mail.example>\r\nTo: {SUPPORT}\r\nMessage-ID: {id}\r\n\
         Date: Tue, 1 Dec 2026 09:00:00 +0000\r\nMIME-Version: 1.0\r\n"
    );
    if n % 2 == 1 {
        let previous = format!("<bench-{connection}-{}@mail.example>", n - 1);
        headers += &format!(
            "Subject: Re: Order {shopper}\r\nIn-Reply-To: {previous}\r\nReferences: {previous}\r\n"
        );
    } else {
        headers += &format!("Subject: Order {shopper} question {n}\r\n");
    }
    headers += "Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n";
    let new_text =
        "Hello,\r\n\r\nmy parcel has not arrived yet and the tracking page has not changed for \
         four days. Could you check with the carrier, please? If it is lost I would like a \
         replacement in the same size.\r\n\r\nThanks,\r\nA shopper\r\n\r\n";
    let quoted: String = (0..75)
        .map(|i| {
            format!("> Line {i} of the earlier message about the order, sizes and delivery.\r\n")
        })
        .collect();
    let text = format!(
        "{new_text}On Mon, Nov 30, 2026 at 10:00 AM Support <{SUPPORT}> wrote:\r\n{quoted}"
    );
    let html = format!(
        "<div dir=\"ltr\"><p>{}</p></div><div class=\"gmail_quote\"><blockquote>{}</blockquote></div>\r\n",
        new_text.replace("\r\n", "<br>"),
        quoted.replace("\r\n", "<br>\r\n")
    );
    format!("{headers}--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n--alt--\r\n")
        .into_bytes()
}

/// One SMTP client connection, sending mail after mail with MAIL, RCPT and DATA pipelined.
async fn client(
    addr: SocketAddr,
    connection: usize,
    deadline: Instant,
) -> anyhow::Result<(Vec<Duration>, usize)> {
    let stream = TcpStream::connect(addr).await?;
    // As MTAs do: a small write (the end of data) must not wait for the last one's ACK.
    stream.set_nodelay(true)?;
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    let mut line = String::new();
    let reply = async |r: &mut BufReader<_>, line: &mut String| -> anyhow::Result<u16> {
        loop {
            line.clear();
            if r.read_line(line).await? == 0 {
                anyhow::bail!("the server closed the connection");
            }
            if line.as_bytes().get(3) != Some(&b'-') {
                return Ok(line.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0));
            }
        }
    };
    reply(&mut r, &mut line).await?;
    w.write_all(b"EHLO bench.test\r\n").await?;
    reply(&mut r, &mut line).await?;
    let mut latencies = Vec::new();
    let mut failed = 0;
    let mut n = 0;
    while Instant::now() < deadline {
        let body = sample(connection, n);
        n += 1;
        let t = Instant::now();
        w.write_all(
            format!(
                "MAIL FROM:<shopper@mail.example> SIZE={}\r\nRCPT TO:<{SUPPORT}>\r\nDATA\r\n",
                body.len()
            )
            .as_bytes(),
        )
        .await?;
        let codes = (
            reply(&mut r, &mut line).await?,
            reply(&mut r, &mut line).await?,
            reply(&mut r, &mut line).await?,
        );
        if codes != (250, 250, 354) {
            anyhow::bail!("unexpected replies {codes:?}: {line}");
        }
        w.write_all(&body).await?;
        w.write_all(b".\r\n").await?;
        match reply(&mut r, &mut line).await? {
            250 => latencies.push(t.elapsed()),
            _ => failed += 1,
        }
    }
    w.write_all(b"QUIT\r\n").await?;
    Ok((latencies, failed))
}

/// Sustained ingest over `connections` SMTP connections for `seconds`.
pub(crate) async fn ingest(b: &Bench, connections: usize, seconds: u64) -> anyhow::Result<()> {
    let addr = b
        .running
        .as_ref()
        .and_then(|r| r.smtp_addr)
        .ok_or_else(|| anyhow::anyhow!("the SMTP listener is off"))?;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..connections)
        .map(|c| tokio::spawn(client(addr, c, deadline)))
        .collect();
    let mut all = Vec::new();
    let mut failed = 0;
    for t in tasks {
        let (lat, f) = t.await??;
        all.extend(lat);
        failed += f;
    }
    let secs = started.elapsed().as_secs_f64();
    let size = sample(0, 0).len();
    let mut figures = Figures(all);
    println!(
        "smtp ingest ({connections} connections, {seconds}s, {size}-byte mails): {:.0} mails/s, DATA-to-250 {}; {failed} refused",
        figures.0.len() as f64 / secs,
        figures.summary(),
    );
    Ok(())
}

/// Files in memory: the intake's work without the disk, to time reading and threading.
#[derive(Default)]
struct MemoryFiles(Mutex<HashMap<String, Vec<u8>>>);

impl FileStore for MemoryFiles {
    fn put(&self, bytes: Vec<u8>) -> BoxFuture<'_, Result<String, StoreError>> {
        async move {
            let key = content_key(&bytes);
            self.0
                .lock()
                .expect("not poisoned")
                .insert(key.clone(), bytes);
            Ok(key)
        }
        .boxed()
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Vec<u8>, StoreError>> {
        async move {
            self.0
                .lock()
                .expect("not poisoned")
                .get(key)
                .cloned()
                .ok_or(StoreError::NotFound("file"))
        }
        .boxed()
    }
}

/// The cost of one mail, one at a time, with no fsync anywhere: parse alone, and the whole
/// intake (parse, strip, sanitise, thread, store) against the database the ingest filled.
pub(crate) async fn per_message(b: &Bench, mails: usize) -> anyhow::Result<()> {
    let store = b
        .running
        .as_ref()
        .map(|r| r.store.clone())
        .expect("running");
    let mailroom = Mailroom::new(
        store,
        Arc::new(MemoryFiles::default()),
        MailSettings {
            support_address: concierge_domain::contact::EmailAddress::parse(SUPPORT)?,
            support_name: "Support".into(),
            acknowledgement: Some(concierge_email::DEFAULT_ACKNOWLEDGEMENT.into()),
            max_message_bytes: 25 * 1024 * 1024,
        },
    );
    let samples: Vec<Vec<u8>> = (0..mails).map(|n| sample(10_000, n)).collect();
    let mut parse = Vec::with_capacity(mails);
    for raw in &samples {
        let t = Instant::now();
        let m = concierge_email::mime::read(raw)?;
        let text = m.text.as_deref().unwrap_or("");
        std::hint::black_box(concierge_email::quotes::split(text));
        std::hint::black_box(concierge_email::html::sanitise(
            m.html.as_deref().unwrap_or(""),
            &concierge_email::html::InlineImages::default(),
        ));
        parse.push(t.elapsed());
    }
    let mut whole = Vec::with_capacity(mails);
    for raw in samples {
        let t = Instant::now();
        mailroom.receive(raw, &Envelope::default()).await?;
        whole.push(t.elapsed());
    }
    println!(
        "per mail, parse + strip + sanitise: {}",
        Figures(parse).summary()
    );
    println!(
        "per mail, parse + thread + store (no fsync; SQLite commits are not fsynced either): {}",
        Figures(whole).summary()
    );
    Ok(())
}
