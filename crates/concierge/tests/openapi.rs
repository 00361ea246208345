//! The OpenAPI document tells the truth: schemathesis (pinned, [`SCHEMATHESIS`]) runs every
//! check against the real server, driven by `GET /api/openapi.json` alone, and finds
//! nothing — no server error, no answer the document does not list (status, content type,
//! body, headers), no schema-valid request refused, no invalid one taken.
//!
//! `tests/schemathesis.toml` holds what the run cannot do from the document alone, each with
//! its reason: the tokens for the document's security schemes, the routes left out (the
//! WebSockets; revoking the run's own token), and the operations whose rules JSON Schema
//! cannot say (a rule across fields, a record that must exist, a file's bytes).
//!
//! One engine: what is checked is the HTTP layer and its document, which do not depend on
//! the database (the other suites run every route on both).

mod support;

use std::process::Stdio;
use support::*;

/// The schemathesis release the run is pinned to (`.ci/run` installs it).
const SCHEMATHESIS: &str = "4.32.5";
/// Fixed, so that a run finds the same things again.
const SEED: &str = "20261207";
/// The run's time bound, in seconds; it ends sooner when every operation had its examples.
const MAX_SECONDS: &str = "180";

/// Whether schemathesis is here, at the pinned version. In CI it must be.
fn schemathesis_available() -> bool {
    let version = std::process::Command::new("python3")
        .args(["-c", "import schemathesis; print(schemathesis.__version__)"])
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    let ci = std::env::var_os("CI").is_some();
    match version.as_deref() {
        Some(SCHEMATHESIS) => true,
        Some(other) => {
            assert!(
                !ci,
                "schemathesis {other} is installed; CI needs {SCHEMATHESIS} (.ci/run installs it)"
            );
            eprintln!("skipped: schemathesis {other} is installed, not {SCHEMATHESIS}");
            false
        }
        None => {
            assert!(
                !ci,
                "schemathesis is required in CI (.ci/run installs it: pip install schemathesis=={SCHEMATHESIS})"
            );
            eprintln!("skipped: schemathesis is not installed");
            false
        }
    }
}

#[tokio::test]
async fn schemathesis_finds_nothing_the_document_does_not_say() {
    if !schemathesis_available() {
        return;
    }
    let Some(app) = App::start("sqlite", |s| {
        // A wall of 429s would test the rate limit, not the routes; 429 stays documented.
        s.rate_limit_per_second = 0;
        // Every route configured, so none answers 404 for want of a setting: the webhooks
        // check signatures (the fuzzer's answer 401), chats may ask for mail (a relay on
        // a loopback port nobody listens on: queued, never sent), identities are checked.
        s.smtp_relay = Some("smtp://127.0.0.1:9".into());
        s.shopify_webhook_secret = Some("shopify-secret".into());
        s.woocommerce_webhook_secret = Some("woocommerce-secret".into());
        s.aftership_webhook_secret = Some("aftership-secret".into());
        s.widget_identity_secret = Some("identity-secret".into());
    })
    .await
    else {
        return;
    };
    // A chat session for the widget's routes, which take no agent's credentials.
    let chat: serde_json::Value = app
        .client
        .post(format!("{}/api/widget/v1/sessions", app.base))
        .json(&serde_json::json!({"name": "Ann Lee", "email": "ann@example.com"}))
        .send()
        .await
        .expect("open a chat")
        .json()
        .await
        .expect("a chat session");
    let chat_token = chat["session_token"]
        .as_str()
        .expect("a chat token")
        .to_owned();
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/schemathesis.toml");
    let reports = app.dir.join("schemathesis");
    let mut command = tokio::process::Command::new("python3");
    command
        .args(["-m", "schemathesis.cli", "--config-file", config, "run"])
        .arg(format!("{}/api/openapi.json", app.base))
        .args(["--checks", "all"])
        .args([
            "--seed",
            SEED,
            "--max-examples",
            "25",
            "--max-time",
            MAX_SECONDS,
        ])
        // A request that takes this long is a bug too (a loop, a lock held).
        .args(["--max-response-time", "10", "--request-timeout", "30"])
        .args(["--no-color", "--report-dir"])
        .arg(&reports)
        // The tokens of the document's security schemes (`tests/schemathesis.toml`).
        .env("CONCIERGE_FUZZ_TOKEN", &app.token)
        .env("CONCIERGE_FUZZ_CHAT_TOKEN", &chat_token)
        .env(
            "CONCIERGE_FUZZ_HOOKS",
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/schemathesis_hooks.py"),
        )
        .current_dir(&app.dir)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let output = command.output().await.expect("run schemathesis");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Its summary in the test's output either way, so a pass shows what was run.
    println!("{stdout}");
    assert!(
        output.status.success(),
        "schemathesis found what the document does not say (exit {:?}):\n{stderr}",
        output.status.code()
    );
    app.stop().await;
}
