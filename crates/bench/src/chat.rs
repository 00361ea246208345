//! `--scenario chat`: many chat widget sockets on the real binary (a child process, so its
//! memory is its own), and the round trip of a shopper's message — sent on a widget socket,
//! stored, seen by an agent's live socket — at a steady rate.

use crate::Figures;
use anyhow::{bail, Context};
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// A session may send one message every two seconds on average, so this many sessions
/// send `rate` messages a second together.
const SECONDS_PER_MESSAGE: f64 = 2.0;

/// How long the sockets are left to settle before the messages start.
const SETTLE: Duration = Duration::from_secs(3);

/// The messages the talking sessions send, in turn.
const ASKS: [&str; 4] = [
    "where is my order?",
    "has it shipped yet?",
    "any news on my parcel?",
    "ok thanks",
];

pub async fn run(dir: &Path, sockets: usize, rate: usize, seconds: u64) -> anyhow::Result<()> {
    let exe = std::env::current_exe()?.with_file_name("concierge");
    if !exe.exists() {
        bail!(
            "{} is missing: cargo build --release -p concierge",
            exe.display()
        );
    }
    let data = dir.join("chat");
    std::fs::create_dir_all(&data)?;
    let token = {
        let out = std::process::Command::new(&exe)
            .args(["token", "create", "--name", "bench"])
            .env("CONCIERGE_DATA_DIR", &data)
            .env_remove("CONCIERGE_DATABASE_URL")
            .output()?;
        let stdout = String::from_utf8(out.stdout)?;
        stdout
            .lines()
            .last()
            .context("no token printed")?
            .trim()
            .to_owned()
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut child = tokio::process::Command::new(&exe)
        .arg("serve")
        .env("CONCIERGE_DATA_DIR", &data)
        .env_remove("CONCIERGE_DATABASE_URL")
        .env("CONCIERGE_HTTP_ADDR", format!("127.0.0.1:{port}"))
        .env("CONCIERGE_SMTP_ADDR", "off")
        .env("CONCIERGE_RATE_LIMIT_PER_SECOND", "0")
        .env("CONCIERGE_WIDGET_MAX_SOCKETS", (sockets + 100).to_string())
        // Every shopper here is on one machine: the per-address caps would stop it at 50.
        .env(
            "CONCIERGE_WIDGET_MAX_SOCKETS_PER_ADDRESS",
            (sockets + 100).to_string(),
        )
        .env(
            "CONCIERGE_HTTP_MAX_CONNECTIONS_PER_ADDRESS",
            (sockets + 1000).to_string(),
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().context("child pid")?;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let started = Instant::now();
    while !client
        .get(format!("{base}/healthz"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        if started.elapsed() > Duration::from_secs(30) {
            bail!("not healthy after 30 s");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    println!("chat: idle memory before sockets: {}", memory(pid));

    // Sessions, then their sockets, 64 at a time.
    let opened = Instant::now();
    let tokens: Vec<(String, String)> = futures::stream::iter(0..sockets)
        .map(|i| {
            let (client, base) = (client.clone(), base.clone());
            async move {
                let v: Value = client
                    .post(format!("{base}/api/widget/v1/sessions"))
                    .json(&json!({ "name": format!("Shopper {i}") }))
                    .send()
                    .await?
                    .json()
                    .await?;
                Ok::<_, anyhow::Error>((
                    v["session_token"].as_str().context("token")?.to_owned(),
                    v["conversation_id"]
                        .as_str()
                        .context("conversation")?
                        .to_owned(),
                ))
            }
        })
        .buffer_unordered(64)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let ws = base.replacen("http", "ws", 1);
    let mut senders = Vec::new();
    let connected: Vec<_> = futures::stream::iter(tokens)
        .map(|(token, conversation)| {
            let url = format!("{ws}/api/widget/v1/ws?token={token}");
            async move {
                let (socket, _) = tokio_tungstenite::connect_async(url).await?;
                Ok::<_, anyhow::Error>((socket, conversation))
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    for c in connected {
        let (socket, conversation) = c?;
        let (sink, mut stream) = socket.split();
        // Every socket is read, as a widget would, so the server never waits on us.
        tokio::spawn(async move { while let Some(Ok(_)) = stream.next().await {} });
        senders.push((sink, conversation));
    }
    println!(
        "chat: {} widget sockets open ({} sessions made and connected in {:.1} s); memory: {}",
        senders.len(),
        sockets,
        opened.elapsed().as_secs_f64(),
        memory(pid)
    );

    // The server answers 10,000 new sockets with what each has missed; that settles first,
    // so the measurement is of steady traffic, not of the sockets' arrival.
    tokio::time::sleep(SETTLE).await;

    // The agent's live socket notes when each shopper's message arrives.
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let trips: Arc<Mutex<Figures>> = Arc::new(Mutex::new(Figures(Vec::new())));
    let mut request = format!("{ws}/api/v1/live").into_client_request()?;
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse()?);
    let (mut live, _) = tokio_tungstenite::connect_async(request).await?;
    {
        let (sent, trips) = (Arc::clone(&sent), Arc::clone(&trips));
        tokio::spawn(async move {
            while let Some(Ok(Message::Text(text))) = live.next().await {
                let Ok(v) = serde_json::from_str::<Value>(&text) else {
                    continue;
                };
                let shoppers = v["kind"] == "conversation.created"
                    || (v["kind"] == "message.created" && v["data"]["sender_type"] == "customer");
                if v["type"] != "event" || !shoppers {
                    continue;
                }
                let Some(conversation) = v["conversation_id"].as_str() else {
                    continue;
                };
                if let Some(at) = sent.lock().unwrap().remove(conversation) {
                    trips.lock().unwrap().0.push(at.elapsed());
                }
            }
        });
    }

    // `rate` messages a second from as many sessions as that takes, evenly spread.
    let talkers = ((rate as f64 * SECONDS_PER_MESSAGE) as usize).min(senders.len());
    let period = Duration::from_secs_f64(SECONDS_PER_MESSAGE);
    let start = tokio::time::Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    // How late each message left the client: its own lag, which the round trip includes.
    let lags: Arc<Mutex<Figures>> = Arc::new(Mutex::new(Figures(Vec::new())));
    let mut tasks = Vec::new();
    for (i, (mut sink, conversation)) in senders.drain(..talkers).enumerate() {
        let (sent, lags) = (Arc::clone(&sent), Arc::clone(&lags));
        let offset = period.mul_f64(i as f64 / talkers as f64);
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(start + offset, period);
            let mut n = 0;
            loop {
                let due = tick.tick().await;
                if due >= deadline {
                    break;
                }
                lags.lock().unwrap().0.push(due.elapsed());
                // What shoppers write; no digits, which the assistant would take for an
                // order number to check (see `--scenario chat` in BENCHMARKS.md).
                let body = ASKS[n % ASKS.len()];
                let frame = json!({"type": "message", "body": body});
                sent.lock()
                    .unwrap()
                    .insert(conversation.clone(), Instant::now());
                if sink
                    .send(Message::Text(frame.to_string().into()))
                    .await
                    .is_err()
                {
                    break;
                }
                n += 1;
            }
            n
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap_or(0);
    }
    // The last messages' trips, up to a second more.
    let settle = Instant::now();
    while !sent.lock().unwrap().is_empty() && settle.elapsed() < Duration::from_secs(1) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let lost = sent.lock().unwrap().len();
    let mut trips = std::mem::replace(&mut *trips.lock().unwrap(), Figures(Vec::new()));
    let mut lags = std::mem::replace(&mut *lags.lock().unwrap(), Figures(Vec::new()));
    println!(
        "chat: the client's own lag sending (due → sent): {}",
        lags.summary()
    );
    println!(
        "chat: round trip shopper socket → stored → agent socket at {:.0} messages/s ({talkers} sessions talking, {} sockets open): {}; not seen within 1 s: {lost}; memory under load: {}",
        total as f64 / seconds as f64,
        talkers + senders.len(),
        trips.summary(),
        memory(pid)
    );
    drop(senders);
    let _ = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status();
    let _ = tokio::time::timeout(Duration::from_secs(20), child.wait()).await;
    let _ = std::fs::remove_dir_all(&data);
    Ok(())
}

/// `--scenario demo-answer`: the "done when" as a figure. Runs `serve --demo` (a
/// child), reads the storefront page for its signed-in shopper as the widget would, and
/// `asks` times opens a chat, sends "where's my order?" on the socket and times the
/// assistant's answer (which must carry the order's status).
pub async fn demo_answer(dir: &Path, asks: usize) -> anyhow::Result<()> {
    let exe = std::env::current_exe()?.with_file_name("concierge");
    if !exe.exists() {
        bail!(
            "{} is missing: cargo build --release -p concierge",
            exe.display()
        );
    }
    std::fs::create_dir_all(dir)?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut child = tokio::process::Command::new(&exe)
        .args(["serve", "--demo"])
        .env("CONCIERGE_DATA_DIR", dir)
        .env_remove("CONCIERGE_DATABASE_URL")
        .env("CONCIERGE_HTTP_ADDR", format!("127.0.0.1:{port}"))
        .env("CONCIERGE_SMTP_ADDR", "off")
        .env("CONCIERGE_RATE_LIMIT_PER_SECOND", "0")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    // Ready once the demo shop is seeded (it says so).
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(child.stdout.take().context("stdout")?).lines();
    while let Some(line) = lines.next_line().await? {
        if line.contains("demo shop ready") {
            break;
        }
    }
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let base = format!("http://127.0.0.1:{port}");
    let page = reqwest::get(format!("{base}/demo/store"))
        .await?
        .text()
        .await?;
    let attribute = |name: &str| {
        let start = page
            .find(&format!("{name}=\""))
            .map(|i| i + name.len() + 2)?;
        let end = page[start..].find('"')? + start;
        Some(page[start..end].to_owned())
    };
    let email = attribute("data-identity-email").context("no signed-in shopper on the page")?;
    let signature = attribute("data-identity-signature").context("no signature on the page")?;
    let client = reqwest::Client::new();
    let ws = base.replacen("http", "ws", 1);
    let mut answers = Figures(Vec::new());
    for _ in 0..asks {
        let v: Value = client
            .post(format!("{base}/api/widget/v1/sessions"))
            .json(&json!({ "identity": { "email": email, "signature": signature } }))
            .send()
            .await?
            .json()
            .await?;
        let token = v["session_token"].as_str().context("token")?;
        let (mut socket, _) =
            tokio_tungstenite::connect_async(format!("{ws}/api/widget/v1/ws?token={token}"))
                .await?;
        let asked = Instant::now();
        socket
            .send(Message::text(
                json!({"type": "message", "body": "where's my order?", "client_id": "a"})
                    .to_string(),
            ))
            .await?;
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(10), socket.next())
                .await
                .context("no answer within 10 s")?
                .context("socket closed")??;
            let Message::Text(text) = frame else { continue };
            let v: Value = serde_json::from_str(&text)?;
            if v["type"] == "message" && v["sender_type"] == "bot" {
                answers.0.push(asked.elapsed());
                let body = v["body"].as_str().unwrap_or("");
                if !body.contains("Your order #") {
                    bail!("the answer has no order status: {body}");
                }
                break;
            }
        }
        let _ = socket.close(None).await;
    }
    println!(
        "demo-answer: \"where's my order?\" on the demo storefront to the assistant's answer with the order's status: {}",
        answers.summary()
    );
    let _ = child.kill().await;
    Ok(())
}

/// The child's resident memory now, and its peak.
fn memory(pid: u32) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|| "?".to_owned())
    };
    format!("{} resident (peak {})", field("VmRSS"), field("VmHWM"))
}
