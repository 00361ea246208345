//! What the integration suites share: the real server on 127.0.0.1:0 on either engine, a
//! client for its API, and the macro that runs one test on both engines.
// Each suite uses part of this.
#![allow(dead_code, unused_macros, unused_imports)]

pub mod mail;
pub mod shopify;

use concierge::Settings;
use concierge_domain::access::{Actor, Role};
use concierge_domain::text::Label;
use reqwest::StatusCode;
use serde_json::{json, Value};

pub struct App {
    pub base: String,
    pub client: reqwest::Client,
    pub token: String,
    pub running: Option<concierge::Running>,
    pub pg_db: Option<TestDatabase>,
    pub dir: std::path::PathBuf,
}

/// Waits until `check` holds, asking again as things change; fails after a minute. For
/// states the service reaches on its own (a delivery recorded after the relay took it, a
/// webhook applied by the worker).
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never happened: {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

pub fn unique() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        chrono::Utc::now().timestamp_micros()
    )
}

/// A fresh database on the PostgreSQL server `CONCIERGE_TEST_POSTGRES_URL` names, for one
/// test.
pub struct TestDatabase {
    /// Its URL, for `CONCIERGE_DATABASE_URL`.
    pub url: String,
    admin: String,
    name: String,
}

impl TestDatabase {
    /// Creates one; `None`, after saying why, when the variable is not set.
    pub async fn create() -> Option<TestDatabase> {
        let Ok(admin) = std::env::var("CONCIERGE_TEST_POSTGRES_URL") else {
            eprintln!("skipped: CONCIERGE_TEST_POSTGRES_URL is not set");
            return None;
        };
        use sqlx::Connection;
        let name = format!("concierge_c_{}", unique());
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .expect("connect to CONCIERGE_TEST_POSTGRES_URL");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create test database");
        let base = admin
            .rsplit_once('/')
            .map(|(b, _)| b.to_owned())
            .unwrap_or(admin.clone());
        Some(TestDatabase {
            url: format!("{base}/{name}"),
            admin,
            name,
        })
    }

    /// Drops it, whoever is still connected.
    pub async fn drop_it(self) {
        use sqlx::Connection;
        if let Ok(mut conn) = sqlx::PgConnection::connect(&self.admin).await {
            let _ = sqlx::query(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut conn)
            .await;
        }
    }
}

impl App {
    /// Starts the server on `engine` with the default settings, changed by `tweak`.
    pub async fn start(engine: &str, tweak: fn(&mut Settings)) -> Option<App> {
        App::start_with(engine, tweak).await
    }

    /// Like [`App::start`], with settings that depend on the test (a sink's port).
    pub async fn start_with(engine: &str, tweak: impl FnOnce(&mut Settings)) -> Option<App> {
        let dir = std::env::temp_dir().join(format!("concierge-contract-{}", unique()));
        let mut settings = Settings {
            data_dir: dir.clone(),
            http_addr: "127.0.0.1:0".parse().unwrap(),
            smtp_addr: Some("127.0.0.1:0".parse().unwrap()),
            ..Settings::default()
        };
        tweak(&mut settings);
        let mut pg_db = None;
        if engine == "postgres" {
            let db = TestDatabase::create().await?;
            settings.database_url = Some(db.url.clone());
            pg_db = Some(db);
        }
        let running = concierge::start(settings).await.expect("service starts");
        let (_, token) = concierge_api::auth::issue_token(
            &running.store,
            &Label::parse("tests").unwrap(),
            Role::Admin,
            &Actor::System,
        )
        .await
        .expect("token");
        Some(App {
            base: running.base_url(),
            client: reqwest::Client::new(),
            token,
            running: Some(running),
            pg_db,
            dir,
        })
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let text = res.text().await.expect("body");
        (
            status,
            if text.is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
            },
        )
    }

    /// The address the service's SMTP listener is on.
    pub fn smtp(&self) -> std::net::SocketAddr {
        self.running
            .as_ref()
            .and_then(|r| r.smtp_addr)
            .expect("the SMTP listener is on")
    }

    pub fn store(&self) -> &concierge_store::Store {
        &self.running.as_ref().expect("running").store
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }
    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::PATCH, path, Some(body)).await
    }
    pub async fn raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> (StatusCode, Value) {
        let res = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request");
        let status = res.status();
        let text = res.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}")),
        )
    }

    /// A request that authenticates with a session cookie (`name=value`) instead of the token.
    pub fn with_cookie(
        &self,
        method: reqwest::Method,
        path: &str,
        cookie: &str,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base))
            .header("cookie", cookie)
    }

    /// Creates an agent (role `agent`) straight through the store.
    /// A conversation the shopper at `email` opened by email; fails the test unless 201.
    pub async fn open_conversation(&self, email: &str, subject: &str, body: &str) -> Value {
        let (s, c) = self
            .post(
                "/api/v1/conversations",
                conversation(email, "email", subject, body),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{c}");
        c
    }

    /// A paid order `number` of the shopper at `email`, shipped as DHL parcel `tracking`
    /// (expected in 2030); returns the order's and the shipment's ids.
    pub async fn shipped_order(
        &self,
        email: &str,
        number: &str,
        tracking: &str,
    ) -> (String, String) {
        let (s, o) = self
            .post(
                "/api/v1/orders",
                json!({"external_id": format!("ext-{number}"), "number": number, "customer": {"email": email},
                    "status": "open", "financial_status": "paid", "fulfillment_status": "fulfilled", "currency": "EUR",
                    "total": "59.90", "placed_at": "2026-11-20T10:00:00Z",
                    "line_items": [{"sku": "MUG-1", "title": "Mug set", "quantity": 1, "price": "59.90"}]}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{o}");
        let order = o["id"].as_str().unwrap().to_owned();
        let (s, sh) = self
            .post(
                &format!("/api/v1/orders/{order}/shipments"),
                json!({"carrier": "DHL", "tracking_number": tracking, "estimated_delivery": "2030-01-03T12:00:00Z"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{sh}");
        (order, sh["id"].as_str().unwrap().to_owned())
    }

    /// Sets the shop's business hours (`PUT /api/v1/business-hours`); fails the test unless
    /// they are taken.
    pub async fn set_hours(&self, hours: Value) {
        let (s, v) = self
            .send(reqwest::Method::PUT, "/api/v1/business-hours", Some(hours))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }

    pub async fn create_agent(&self, email: &str, name: &str, password: &str) {
        use concierge_domain::contact::EmailAddress;
        use concierge_domain::text::PersonName;
        let store = &self.running.as_ref().unwrap().store;
        store
            .create_agent(
                concierge_store::access::NewAgent {
                    email: EmailAddress::parse(email).unwrap(),
                    name: PersonName::parse(name).unwrap(),
                    role: Role::Agent,
                    password_hash: concierge_api::auth::hash_password(password).unwrap(),
                },
                &Actor::System,
            )
            .await
            .unwrap();
    }

    /// Signs an agent in; returns the session cookie (`name=value`) and its CSRF token.
    pub async fn sign_in(&self, email: &str, password: &str) -> (String, String) {
        let r = self
            .client
            .post(format!("{}/api/v1/session", self.base))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .expect("sign-in request");
        assert_eq!(r.status(), StatusCode::CREATED, "sign-in refused");
        let cookie = session_cookie(&r);
        let body: Value = r.json().await.unwrap();
        (cookie, body["csrf_token"].as_str().unwrap().to_owned())
    }

    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
        if let Some(db) = self.pg_db.take() {
            db.drop_it().await;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

macro_rules! on_both_engines {
    // With only the engine's name, for tests that start the service themselves.
    ($name:ident, engine |$engine:ident| $body:block) => {
        mod $name {
            use super::*;
            async fn run($engine: &'static str) $body
            #[tokio::test]
            async fn sqlite() {
                run("sqlite").await
            }
            #[tokio::test]
            async fn postgres() {
                run("postgres").await
            }
        }
    };
    ($name:ident, $tweak:expr, |$app:ident| $body:block) => {
        on_both_engines!($name, engine |engine| {
            let Some($app) = App::start(engine, $tweak).await else { return };
            $body
            $app.stop().await;
        });
    };
    ($name:ident, |$app:ident| $body:block) => {
        on_both_engines!($name, |_| {}, |$app| $body);
    };
}

/// The `name=value` of the session cookie a sign-in answer sets.
pub fn session_cookie(r: &reqwest::Response) -> String {
    let set = r.headers()["set-cookie"].to_str().unwrap();
    set.split(';').next().unwrap().to_owned()
}

pub fn conversation(email: &str, channel: &str, subject: &str, body: &str) -> Value {
    json!({"channel": channel, "customer": {"email": email, "name": "Ann Lee"}, "subject": subject, "message": {"body": body}})
}
