//! `concierge-bench`: starts the real service in-process on 127.0.0.1:0 with a fresh database
//! and drives it over loopback HTTP, printing figures for BENCHMARKS.md. All loops are bounded
//! in count and time; all traffic stays on loopback.

use anyhow::{bail, Context};
use clap::{Parser, ValueEnum};
use concierge::Settings;
use concierge_domain::access::{Actor, Role};
use concierge_domain::contact::EmailAddress;
use concierge_domain::conversation::{Channel, Priority, SenderType};
use concierge_domain::text::{Label, MessageBody, Subject};
use concierge_store::conversations::{NewConversation, NewMessage};
use concierge_store::customers::CustomerRef;
use concierge_store::Store;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, Instant};

mod chat;
mod commerce;
mod help;
mod mail;

#[derive(Parser)]
#[command(about = "Benchmarks Concierge over loopback HTTP. Build with --release.")]
struct Args {
    /// Which scenarios to run.
    #[arg(long, value_enum, default_value = "all")]
    scenario: Scenario,
    /// `sqlite` (a fresh file in a temp dir) or `postgres`.
    #[arg(long, value_enum, default_value = "sqlite")]
    database: Engine,
    /// PostgreSQL server to create a throwaway database on.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/test")]
    postgres_url: String,
    /// Concurrent HTTP clients for `ingest`.
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// How long `ingest` runs.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Messages to seed for `search`, `list` and `startup` (10 per conversation).
    #[arg(long, default_value_t = 1_000_000)]
    messages: usize,
    /// Keep the SQLite database in this folder instead of a throwaway one (on PostgreSQL: keep
    /// the database `concierge_bench_kept`), and reuse it on the next run if it is already
    /// seeded (seeding 1,000,000 messages takes minutes).
    #[arg(long)]
    keep_data: Option<PathBuf>,
    /// Queries per measured scenario.
    #[arg(long, default_value_t = 500)]
    queries: usize,
    /// Live-update sockets connected during `workspace`.
    #[arg(long, default_value_t = 200)]
    sockets: usize,
    /// SMTP connections sending at once during `email`.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Mails timed one by one after the ingest in `email`.
    #[arg(long, default_value_t = 2_000)]
    mails: usize,
    /// Generated articles beside the demo's for `help`.
    #[arg(long, default_value_t = 10_000)]
    articles: usize,
    /// Stored deliveries one worker applies in `commerce`.
    #[arg(long, default_value_t = 5_000)]
    deliveries: usize,
    /// Orders in the CSV file `commerce` imports.
    #[arg(long, default_value_t = 100_000)]
    orders: usize,
    /// Widget sockets open at once during `chat`.
    #[arg(long, default_value_t = 10_000)]
    widgets: usize,
    /// Shoppers' messages a second during `chat`.
    #[arg(long, default_value_t = 1_000)]
    rate: usize,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    Ingest,
    Search,
    /// The agent workspace: inbox and conversation pages, live updates to many sockets.
    Workspace,
    /// Inbound mail: sustained SMTP ingest, then the cost of one mail without fsync.
    Email,
    /// The help center over a large knowledge base: article pages, search, suggestions.
    Help,
    /// Store platforms: signed webhook intake, the background apply, a CSV import.
    Commerce,
    /// Live chat: many widget sockets on the real binary, and a message's round trip to an
    /// agent's socket at a steady rate.
    Chat,
    /// The demo storefront: `serve --demo`, a signed-in shopper asking "where's my order?",
    /// the time to the assistant's answer with the order's status.
    DemoAnswer,
    All,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Engine {
    Sqlite,
    Postgres,
}

const WORDS: &[&str] = &[
    "order",
    "parcel",
    "refund",
    "return",
    "delivery",
    "tracking",
    "size",
    "exchange",
    "damaged",
    "late",
    "invoice",
    "payment",
    "charged",
    "twice",
    "address",
    "cancel",
    "boots",
    "jacket",
    "sweater",
    "socks",
    "beanie",
    "trousers",
    "sneakers",
    "vest",
    "warehouse",
    "carrier",
    "courier",
    "label",
    "package",
    "shipping",
    "express",
    "voucher",
    "discount",
    "account",
    "password",
    "newsletter",
    "colour",
    "blue",
    "black",
    "green",
    "small",
    "large",
    "medium",
    "zipper",
    "seam",
    "torn",
    "wet",
    "lost",
    "neighbour",
    "weekend",
    "monday",
    "friday",
    "urgent",
    "gift",
    "birthday",
    "christmas",
    "warranty",
    "repair",
    "leather",
    "merino",
    "wool",
];
const FILLER: &[&str] = &[
    "hi", "hello", "please", "thanks", "my", "the", "is", "it", "and", "when", "where", "can",
    "you", "help", "still", "not", "yet", "i", "a", "for",
];

/// Rare words: one message in ten carries one of these, so each is in about one conversation
/// in a hundred — the searches that find a few matches among many conversations.
fn rare_word(i: usize) -> String {
    format!("rarity{i}")
}
const RARE_WORDS: usize = 100;

fn sentence(rng: &mut StdRng) -> String {
    let n = rng.gen_range(8..30);
    let mut words: Vec<String> = (0..n)
        .map(|i| {
            if i % 3 == 0 {
                WORDS[rng.gen_range(0..WORDS.len())].to_owned()
            } else {
                FILLER[rng.gen_range(0..FILLER.len())].to_owned()
            }
        })
        .collect();
    if rng.gen_range(0..10) == 0 {
        words.push(rare_word(rng.gen_range(0..RARE_WORDS)));
    }
    words.join(" ")
}

struct Bench {
    running: Option<concierge::Running>,
    base: String,
    token: String,
    client: reqwest::Client,
    settings: Settings,
    pg: Option<(String, String)>,
    dir: PathBuf,
    keep: bool,
}

async fn start(args: &Args) -> anyhow::Result<Bench> {
    let dir = match &args.keep_data {
        Some(dir) => dir.clone(),
        None => {
            let dir = std::env::temp_dir().join(format!("concierge-bench-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            dir
        }
    };
    let mut settings = Settings {
        data_dir: dir.clone(),
        http_addr: "127.0.0.1:0".parse()?,
        smtp_addr: Some("127.0.0.1:0".parse()?),
        // The load comes from one address on purpose: measure the service, not the limit.
        rate_limit_per_second: 0,
        smtp_max_sessions_per_address: usize::MAX,
        http_max_connections_per_address: usize::MAX,
        widget_max_sockets_per_address: usize::MAX,
        shopify_webhook_secret: Some(commerce::SECRET.into()),
        ..Settings::default()
    };
    let mut pg = None;
    if args.database == Engine::Postgres {
        let keep = args.keep_data.is_some();
        let name = if keep {
            "concierge_bench_kept".to_owned()
        } else {
            format!("concierge_bench_{}", std::process::id())
        };
        settings.database_url = Some(postgres_database(&args.postgres_url, &name, keep).await?);
        pg = Some((args.postgres_url.clone(), name));
    }
    let running = concierge::start(settings.clone()).await?;
    let (_, token) = concierge_api::auth::issue_token(
        &running.store,
        &Label::parse("bench")?,
        Role::Admin,
        &Actor::System,
    )
    .await?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;
    Ok(Bench {
        base: running.base_url(),
        running: Some(running),
        token,
        client,
        settings,
        pg,
        dir,
        keep: args.keep_data.is_some(),
    })
}

pub(crate) struct Figures(pub(crate) Vec<Duration>);

impl Figures {
    fn pct(&mut self, p: f64) -> f64 {
        self.0.sort();
        if self.0.is_empty() {
            return f64::NAN;
        }
        let i = ((self.0.len() as f64 * p).ceil() as usize).clamp(1, self.0.len()) - 1;
        self.0[i].as_secs_f64() * 1000.0
    }
    pub(crate) fn summary(&mut self) -> String {
        format!(
            "p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms (n = {})",
            self.pct(0.50),
            self.pct(0.95),
            self.pct(0.99),
            self.0.len()
        )
    }
}

async fn ingest(b: &Bench, args: &Args) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..args.clients {
        let (client, base, token) = (b.client.clone(), b.base.clone(), b.token.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut failures = 0usize;
            let mut i = 0;
            while Instant::now() < deadline {
                i += 1;
                let t = Instant::now();
                let res = client
                    .post(format!("{base}/api/v1/conversations"))
                    .bearer_auth(&token)
                    .json(&json!({"channel": "api", "customer": {"email": format!("shopper{c}-{i}@example.com")}, "subject": "Where is my order?", "message": {"body": "Hi, my parcel has not arrived yet, can you check?"}}))
                    .send()
                    .await;
                let id = match res {
                    Ok(r) if r.status().as_u16() == 201 => {
                        let v: serde_json::Value = r.json().await.unwrap_or_default();
                        lat.push(t.elapsed());
                        v["id"].as_str().map(str::to_owned)
                    }
                    _ => {
                        failures += 1;
                        None
                    }
                };
                let Some(id) = id else { continue };
                let t = Instant::now();
                match client
                    .post(format!("{base}/api/v1/conversations/{id}/messages"))
                    .bearer_auth(&token)
                    .json(&json!({"body": "Thanks for waiting, it is on its way."}))
                    .send()
                    .await
                {
                    Ok(r) if r.status().as_u16() == 201 => lat.push(t.elapsed()),
                    _ => failures += 1,
                }
            }
            (lat, failures)
        }));
    }
    let mut all = Vec::new();
    let mut failures = 0;
    for t in tasks {
        let (lat, f) = t.await?;
        all.extend(lat);
        failures += f;
    }
    let secs = started.elapsed().as_secs_f64();
    let mut figures = Figures(all);
    println!(
        "ingest ({} clients, {}s): {:.0} requests/s, {}; {} failed",
        args.clients,
        args.seconds,
        figures.0.len() as f64 / secs,
        figures.summary(),
        failures
    );
    Ok(())
}

/// Seeds conversations with 10 messages each through the store's import path (one
/// transaction per conversation), several writers at once. Messages are dated over the past
/// year so the inbox order is not just creation order.
async fn seed(store: &Store, messages: usize) -> anyhow::Result<()> {
    let conversations = messages / 10;
    let started = Instant::now();
    let writers = 4;
    let year_ago = chrono::Utc::now() - chrono::Duration::days(365);
    let mut tasks = Vec::new();
    for w in 0..writers {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(w as u64);
            for n in (w..conversations).step_by(writers) {
                let email = EmailAddress::parse(&format!("seed{}@example.com", n % 20_000))?;
                let opened =
                    year_ago + chrono::Duration::seconds(rng.gen_range(0..365 * 24 * 3600));
                let mut at = opened;
                let mut next = |rng: &mut StdRng, sender: SenderType| {
                    at += chrono::Duration::minutes(rng.gen_range(1..600));
                    anyhow::Ok(
                        NewMessage {
                            at: Some(at),
                            ..NewMessage::text(sender, MessageBody::parse(&sentence(rng))?)
                        }
                        .read_with(concierge_intents::read),
                    )
                };
                let first = NewMessage {
                    at: Some(opened),
                    ..NewMessage::text(
                        SenderType::Customer,
                        MessageBody::parse(&sentence(&mut rng))?,
                    )
                }
                .read_with(concierge_intents::read);
                let rest = (0..9)
                    .map(|k| {
                        let sender = if k % 2 == 0 {
                            SenderType::Agent
                        } else {
                            SenderType::Customer
                        };
                        next(&mut rng, sender)
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?;
                store
                    .import_conversation(
                        NewConversation {
                            channel: Channel::Email,
                            customer: CustomerRef {
                                email: Some(email),
                                ..Default::default()
                            },
                            subject: Some(Subject::parse(&sentence(&mut rng))?),
                            priority: Priority::Normal,
                            tags: vec![],
                            message: first,
                        },
                        rest,
                        &Actor::System,
                    )
                    .await?;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    println!(
        "seeded {} conversations / {} messages in {:.0} s",
        conversations,
        conversations * 10,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn timed_gets(b: &Bench, paths: Vec<String>) -> anyhow::Result<Figures> {
    let mut lat = Vec::with_capacity(paths.len());
    for p in paths {
        let t = Instant::now();
        let r = b
            .client
            .get(format!("{}{p}", b.base))
            .bearer_auth(&b.token)
            .send()
            .await?;
        if !r.status().is_success() {
            bail!("{p}: {}", r.status());
        }
        r.bytes().await?;
        lat.push(t.elapsed());
    }
    Ok(Figures(lat))
}

/// The cursor of the open inbox's second page ("" when there is one page only).
async fn second_page_cursor(b: &Bench) -> anyhow::Result<String> {
    let first: serde_json::Value = b
        .client
        .get(format!(
            "{}/api/v1/conversations?status=open&limit=50",
            b.base
        ))
        .bearer_auth(&b.token)
        .send()
        .await?
        .json()
        .await?;
    Ok(first["next_cursor"].as_str().unwrap_or("").to_owned())
}

async fn search_and_list(b: &Bench, args: &Args) -> anyhow::Result<()> {
    ensure_seeded(b, args).await?;
    let mut rng = StdRng::seed_from_u64(7);
    // A third each: one common word (in ~70% of conversations), two common words (~45%),
    // and a rare word alone or with a common one (~1% and less).
    let queries: Vec<String> = (0..args.queries)
        .map(|i| {
            let w = WORDS[rng.gen_range(0..WORDS.len())];
            match i % 3 {
                0 => format!("/api/v1/conversations?q={w}"),
                1 => format!(
                    "/api/v1/conversations?q={w}%20{}",
                    WORDS[rng.gen_range(0..WORDS.len())]
                ),
                _ if i % 2 == 0 => format!(
                    "/api/v1/conversations?q={}",
                    rare_word(rng.gen_range(0..RARE_WORDS))
                ),
                _ => format!(
                    "/api/v1/conversations?q={}%20{w}",
                    rare_word(rng.gen_range(0..RARE_WORDS))
                ),
            }
        })
        .collect();
    timed_gets(b, queries[..20.min(queries.len())].to_vec()).await?; // warm caches
    let mut f = timed_gets(b, queries).await?;
    println!("search at {} messages: {}", args.messages, f.summary());

    let mut paths = Vec::new();
    let cursor = second_page_cursor(b).await?;
    for i in 0..args.queries {
        paths.push(if i % 4 == 3 && !cursor.is_empty() {
            format!("/api/v1/conversations?status=open&limit=50&cursor={cursor}")
        } else {
            "/api/v1/conversations?status=open&limit=50".to_owned()
        });
    }
    let mut f = timed_gets(b, paths).await?;
    println!(
        "conversation list (open, newest first, 50 rows) at {} conversations: {}",
        args.messages / 10,
        f.summary()
    );
    Ok(())
}

/// Start-to-healthy and idle memory of the real binary on the seeded database.
async fn startup(b: &mut Bench) -> anyhow::Result<()> {
    if let Some(r) = b.running.take() {
        r.stop().await;
    }
    let exe = std::env::current_exe()?.with_file_name("concierge");
    if !exe.exists() {
        bail!(
            "{} is missing: cargo build --release -p concierge",
            exe.display()
        );
    }
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        l.local_addr()?.port()
    };
    let started = Instant::now();
    let mut child = tokio::process::Command::new(&exe)
        .arg("serve")
        .env("CONCIERGE_DATA_DIR", &b.settings.data_dir)
        .env("CONCIERGE_DATABASE_URL", b.settings.database_url())
        .env("CONCIERGE_HTTP_ADDR", format!("127.0.0.1:{port}"))
        .env("CONCIERGE_SMTP_ADDR", "off")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let healthy = loop {
        if started.elapsed() > Duration::from_secs(30) {
            bail!("not healthy after 30 s");
        }
        if let Ok(r) = b
            .client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
        {
            if r.status().is_success() {
                break started.elapsed();
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    let pid = child.id().context("child pid")?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let rss = status
        .lines()
        .find(|l| l.starts_with("VmRSS"))
        .unwrap_or("VmRSS: ?")
        .to_owned();
    println!(
        "start to healthy: {:.0} ms; idle memory: {}",
        healthy.as_secs_f64() * 1000.0,
        rss.split_whitespace().skip(1).collect::<Vec<_>>().join(" ")
    );
    let _ = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status();
    let _ = tokio::time::timeout(Duration::from_secs(20), child.wait()).await;
    Ok(())
}

async fn finish(mut b: Bench) {
    if let Some(r) = b.running.take() {
        r.stop().await;
    }
    if let Some((url, name)) = b.pg.take().filter(|_| !b.keep) {
        use sqlx::Connection;
        if let Ok(mut c) = sqlx::PgConnection::connect(&url).await {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut c)
                .await;
        }
    }
    if !b.keep {
        let _ = std::fs::remove_dir_all(&b.dir);
    }
}

/// Seeds the database if it is empty (as `search` does, ANALYZE included).
async fn ensure_seeded(b: &Bench, args: &Args) -> anyhow::Result<Store> {
    let store = b.running.as_ref().context("running")?.store.clone();
    if store.is_empty().await? {
        seed(&store, args.messages).await?;
        if let Some(url) = b.settings.database_url.as_deref() {
            // What autovacuum would soon do after a bulk load: give the planner the words'
            // statistics, without which it cannot tell a rare word from a common one.
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(url).await?;
            sqlx::query("ANALYZE").execute(&mut conn).await?;
        }
    }
    Ok(store)
}

/// The agent workspace on the seeded database: server-rendered inbox and conversation pages
/// for a signed-in agent, then live updates fanned out to `--sockets` sockets.
async fn workspace(b: &Bench, args: &Args) -> anyhow::Result<()> {
    use concierge_domain::text::PersonName;
    let store = ensure_seeded(b, args).await?;
    let email = format!("bench-{}@shop.example", std::process::id());
    let password = "bench password 123";
    store
        .create_agent(
            concierge_store::access::NewAgent {
                email: EmailAddress::parse(&email)?,
                name: PersonName::parse("Bench Agent")?,
                role: Role::Agent,
                password_hash: concierge_api::auth::hash_password(password)
                    .map_err(|e| anyhow::anyhow!("{e}"))?,
            },
            &Actor::System,
        )
        .await?;
    let signin = b
        .client
        .post(format!("{}/api/v1/session", b.base))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await?;
    if signin.status().as_u16() != 201 {
        bail!("sign-in: {}", signin.status());
    }
    let cookie = signin.headers()["set-cookie"]
        .to_str()?
        .split(';')
        .next()
        .unwrap_or_default()
        .to_owned();
    let page = |path: String| {
        let (client, base, cookie) = (b.client.clone(), b.base.clone(), cookie.clone());
        async move {
            let t = Instant::now();
            let r = client
                .get(format!("{base}{path}"))
                .header("cookie", cookie)
                .send()
                .await?;
            if !r.status().is_success() {
                bail!("{path}: {}", r.status());
            }
            r.bytes().await?;
            anyhow::Ok(t.elapsed())
        }
    };

    // The inbox: the default view (all open, newest first), a quarter of the time the next
    // page, each with the view counts, filters and 50 rows.
    let cursor = second_page_cursor(b).await?;
    let paths: Vec<String> = (0..args.queries)
        .map(|i| match i % 4 {
            3 if !cursor.is_empty() => format!("/inbox?view=open&cursor={cursor}"),
            _ => "/inbox".to_owned(),
        })
        .collect();
    for p in paths.iter().take(20) {
        page(p.clone()).await?;
    }
    let mut lat = Vec::new();
    for p in paths {
        lat.push(page(p).await?);
    }
    println!(
        "inbox page (all open, 50 rows, counts) at {} conversations: {}",
        args.messages / 10,
        Figures(lat).summary()
    );

    // A conversation of 100 messages, with a customer who has orders.
    let body =
        |i: usize| MessageBody::parse(&format!("Message {i} about the parcel and the refund."));
    let (c, _) = store
        .import_conversation(
            NewConversation {
                channel: Channel::Email,
                customer: CustomerRef {
                    email: Some(EmailAddress::parse("hundred@example.com")?),
                    ..Default::default()
                },
                subject: Some(Subject::parse("A long thread")?),
                priority: Priority::Normal,
                tags: vec![Label::parse("wismo")?],
                message: NewMessage::text(SenderType::Customer, body(0)?)
                    .read_with(concierge_intents::read),
            },
            (1..100)
                .map(|i| {
                    let sender = if i % 2 == 0 {
                        SenderType::Customer
                    } else {
                        SenderType::Agent
                    };
                    Ok(NewMessage::text(sender, body(i)?).read_with(concierge_intents::read))
                })
                .collect::<anyhow::Result<Vec<_>>>()?,
            &Actor::System,
        )
        .await?;
    for n in 0..5 {
        let r = b
            .client
            .post(format!("{}/api/v1/orders", b.base))
            .bearer_auth(&b.token)
            .json(&json!({"external_id": format!("bench-{n}"), "number": format!("#B{n}"),
                "customer": {"email": "hundred@example.com"}, "status": "open", "financial_status": "paid",
                "fulfillment_status": "fulfilled", "currency": "EUR", "total": "59.90",
                "placed_at": "2026-11-01T10:00:00Z",
                "line_items": [{"sku": "TEE", "title": "Tee", "quantity": 2, "price": "29.95"}]}))
            .send()
            .await?;
        if r.status().as_u16() >= 300 {
            bail!("order: {}", r.status());
        }
    }
    let path = format!("/conversations/{}", c.id);
    for _ in 0..20 {
        page(path.clone()).await?;
    }
    let mut lat = Vec::new();
    for _ in 0..args.queries {
        lat.push(page(path.clone()).await?);
    }
    println!(
        "conversation page (100 messages, 5 orders) at {} conversations: {}",
        args.messages / 10,
        Figures(lat).summary()
    );

    // Live updates: every socket must see each write; latency from sending the write to each
    // socket's receipt of its event.
    live_updates(b, args, c.id.as_str()).await
}

async fn live_updates(b: &Bench, args: &Args, conversation: &str) -> anyhow::Result<()> {
    use futures::StreamExt;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let ws = b.base.replacen("http", "ws", 1);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, String, Instant)>();
    let mut ready = Vec::new();
    for n in 0..args.sockets {
        let mut req = format!("{ws}/api/v1/live").into_client_request()?;
        req.headers_mut()
            .insert("authorization", format!("Bearer {}", b.token).parse()?);
        let (mut socket, _) = tokio_tungstenite::connect_async(req).await?;
        // The hello frame says the socket is subscribed.
        socket.next().await.context("hello")??;
        let tx = tx.clone();
        ready.push(tokio::spawn(async move {
            while let Some(Ok(m)) = socket.next().await {
                if let tokio_tungstenite::tungstenite::Message::Text(t) = m {
                    let at = Instant::now();
                    let v: serde_json::Value = serde_json::from_str(&t).unwrap_or_default();
                    if v["kind"] == "message.created" {
                        let id = v["data"]["message_id"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned();
                        if tx.send((n, id, at)).is_err() {
                            return;
                        }
                    }
                }
            }
        }));
    }
    drop(tx);
    let writes = args.queries.min(200);
    let mut lat = Vec::with_capacity(writes * args.sockets);
    for i in 0..writes {
        let sent = Instant::now();
        let r: serde_json::Value = b
            .client
            .post(format!(
                "{}/api/v1/conversations/{conversation}/messages",
                b.base
            ))
            .bearer_auth(&b.token)
            .json(&json!({"body": format!("Live update {i}")}))
            .send()
            .await?
            .json()
            .await?;
        let id = r["id"].as_str().context("message id")?.to_owned();
        let mut seen = 0;
        while seen < args.sockets {
            let (_, got, at) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
                .await
                .context("a socket missed an event for 10 s")?
                .context("sockets closed")?;
            if got == id {
                seen += 1;
                lat.push(at - sent);
            }
        }
    }
    for t in ready {
        t.abort();
    }
    println!(
        "live update, API write to event on each of {} sockets ({} writes): {}",
        args.sockets,
        writes,
        Figures(lat).summary()
    );
    Ok(())
}

/// A database `name` on the server of `url`, created afresh (or kept, when `keep` and it
/// exists); returns its URL.
async fn postgres_database(url: &str, name: &str, keep: bool) -> anyhow::Result<String> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .context("connect to --postgres-url")?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(name)
            .fetch_one(&mut conn)
            .await?;
    if !(exists && keep) {
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)
            .await?;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await?;
    }
    let base = url
        .rsplit_once('/')
        .map(|(b, _)| b.to_owned())
        .context("postgres URL needs a database")?;
    Ok(format!("{base}/{name}"))
}

/// A fresh PostgreSQL database for one part of a scenario when the engine is PostgreSQL.
async fn fresh_postgres(args: &Args, part: &str) -> anyhow::Result<Option<String>> {
    if args.database != Engine::Postgres {
        return Ok(None);
    }
    let name = format!("concierge_bench_{part}_{}", std::process::id());
    postgres_database(&args.postgres_url, &name, false)
        .await
        .map(Some)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let cpu = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpu
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .unwrap_or("?")
        .trim()
        .to_owned();
    println!(
        "machine: {} cores, {model}; engine: {}; {}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        if args.database == Engine::Sqlite {
            "sqlite"
        } else {
            "postgres"
        },
        chrono::Utc::now().format("%Y-%m-%d")
    );
    if matches!(args.scenario, Scenario::Ingest | Scenario::All) {
        let b = start(&args).await?;
        let r = ingest(&b, &args).await;
        finish(b).await;
        r?;
    }
    if matches!(args.scenario, Scenario::Email | Scenario::All) {
        let b = start(&args).await?;
        let mut r = mail::ingest(&b, args.connections, args.seconds).await;
        if r.is_ok() {
            r = mail::per_message(&b, args.mails).await;
        }
        finish(b).await;
        r?;
    }
    if matches!(args.scenario, Scenario::Workspace | Scenario::All) {
        let b = start(&args).await?;
        let r = workspace(&b, &args).await;
        finish(b).await;
        r?;
    }
    if matches!(args.scenario, Scenario::Help | Scenario::All) {
        let b = start(&args).await?;
        let r = help::run(&b, args.articles, args.queries).await;
        finish(b).await;
        r?;
    }
    if matches!(args.scenario, Scenario::Commerce | Scenario::All) {
        let b = start(&args).await?;
        let r = commerce::intake(&b, args.clients, args.seconds).await;
        let dir = b.dir.clone();
        finish(b).await;
        r?;
        let intake_db = fresh_postgres(&args, "intake").await?;
        commerce::intake_alone(&dir, intake_db.as_deref(), args.clients, args.seconds).await?;
        let apply_db = fresh_postgres(&args, "apply").await?;
        commerce::apply(&dir, apply_db.as_deref(), args.deliveries).await?;
        let import_db = fresh_postgres(&args, "import").await?;
        commerce::csv_import(&dir, import_db.as_deref(), args.orders).await?;
        let _ = std::fs::remove_dir_all(&dir);
    }
    if matches!(args.scenario, Scenario::Chat | Scenario::All) {
        let dir = std::env::temp_dir().join(format!("concierge-bench-chat-{}", std::process::id()));
        let r = chat::run(&dir, args.widgets, args.rate, args.seconds).await;
        let _ = std::fs::remove_dir_all(&dir);
        r?;
    }
    if matches!(args.scenario, Scenario::DemoAnswer | Scenario::All) {
        let dir = std::env::temp_dir().join(format!("concierge-bench-demo-{}", std::process::id()));
        let r = chat::demo_answer(&dir, args.queries.min(200)).await;
        let _ = std::fs::remove_dir_all(&dir);
        r?;
    }
    if matches!(args.scenario, Scenario::Search | Scenario::All) {
        let mut b = start(&args).await?;
        let mut r = search_and_list(&b, &args).await;
        if r.is_ok() {
            r = startup(&mut b).await;
        }
        finish(b).await;
        r?;
    }
    Ok(())
}
