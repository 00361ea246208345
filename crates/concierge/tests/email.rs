//! The email channel as mail systems see it, on both engines: real SMTP clients (Python's
//! smtplib, and a raw socket for what no polite client sends) speak to the service's listener
//! over loopback, and its outbound mail lands on a real SMTP server (aiosmtpd) on loopback.
//! Tests that need Python's aiosmtpd print `skipped: …` when it is missing (CI installs it).

use concierge::Settings;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

#[macro_use]
mod support;

use support::mail::{mail, peers_available, smtp_send, RawSmtp, Sink};
use support::*;

const SUPPORT: &str = "support@shop.example";

/// Runs a test body on both engines, when the mail peers are here.
macro_rules! mail_test {
    ($name:ident, |$engine:ident| $body:block) => {
        on_both_engines!(
            $name,
            engine | $engine | {
                if !peers_available() {
                    return;
                }
                $body
            }
        );
    };
}

fn scratch(what: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("concierge-{what}-{}", unique()))
}

/// A sink (with `sink_args`) and the service relaying to it, its support address
/// `support@shop.example`, changed further by `tweak`.
async fn with_sink(
    engine: &str,
    sink_args: &[&str],
    tweak: impl FnOnce(&mut Settings),
) -> Option<(App, Sink)> {
    let sink = Sink::start(&scratch("sink"), sink_args).await;
    let relay = sink.relay_url();
    let app = App::start_with(engine, move |s| {
        s.smtp_relay = Some(relay.as_str().into());
        s.support_address = concierge_domain::contact::EmailAddress::parse(SUPPORT).unwrap();
        s.support_name = "Acme Support".into();
        tweak(s);
    })
    .await?;
    Some((app, sink))
}

async fn email_conversations(app: &App) -> Vec<Value> {
    let (s, list) = app
        .get("/api/v1/conversations?channel=email&limit=200")
        .await;
    assert_eq!(s, StatusCode::OK, "{list}");
    list["items"].as_array().unwrap().clone()
}

async fn messages(app: &App, conversation: &str) -> Vec<Value> {
    let (s, list) = app
        .get(&format!("/api/v1/conversations/{conversation}/messages"))
        .await;
    assert_eq!(s, StatusCode::OK, "{list}");
    list["items"].as_array().unwrap().clone()
}

async fn message_status(app: &App, conversation: &str, id: &str) -> Value {
    messages(app, conversation)
        .await
        .into_iter()
        .find(|m| m["id"] == id)
        .unwrap_or_else(|| panic!("message {id} is not in {conversation}"))
}

/// The plus tag of a Reply-To address.
fn reply_token(reply_to: &str) -> String {
    let start = reply_to.find('+').expect("a plus address") + 1;
    let end = reply_to[start..].find('@').unwrap() + start;
    reply_to[start..end].to_owned()
}

mail_test!(
    a_shoppers_mail_is_answered_in_thread_and_the_answer_comes_back,
    |engine| {
        let Some((app, mut sink)) = with_sink(engine, &[], |_| {}).await else {
            return;
        };
        let first = mail(
            &[
                ("From", "Ann Lee <ann@example.com>"),
                ("To", SUPPORT),
                ("Subject", "Where is order #1001?"),
                ("Message-ID", "<m1@mail.example.com>"),
                ("Date", "Tue, 1 Dec 2026 09:00:00 +0000"),
            ],
            "Hi,\nmy order #1001 has not arrived yet.\n\nAnn\n\nSent from my iPhone",
        );
        delivers(&app, &first, "ann@example.com", SUPPORT).await;

        // The acknowledgement comes first, threaded under the shopper's mail, marked automatic.
        let ack = sink.next().await;
        assert_eq!(ack.rcpt_tos, ["ann@example.com"]);
        assert_eq!(
            ack.header("In-Reply-To").as_deref(),
            Some("<m1@mail.example.com>")
        );
        assert_eq!(
            ack.header("Auto-Submitted").as_deref(),
            Some("auto-replied")
        );
        assert!(ack.text().contains("Hi Ann"), "{}", ack.text());

        let conversations = email_conversations(&app).await;
        assert_eq!(conversations.len(), 1);
        let c = conversations[0]["id"].as_str().unwrap().to_owned();
        assert_eq!(conversations[0]["subject"], "Where is order #1001?");
        assert_eq!(conversations[0]["customer"]["name"], "Ann Lee");
        let thread = messages(&app, &c).await;
        assert_eq!(thread[0]["sender_type"], "customer");
        assert_eq!(
            thread[0]["body"],
            "Hi,\nmy order #1001 has not arrived yet.\n\nAnn"
        );
        assert_eq!(thread[0]["quoted"], "Sent from my iPhone");
        assert_eq!(thread[0]["sender_address"], "ann@example.com");
        assert_eq!(thread[1]["sender_type"], "bot");

        // The agent's reply goes out from the support address, threaded on the shopper's side.
        let (s, reply) = app
            .post(
                &format!("/api/v1/conversations/{c}/messages"),
                json!({"body": "Hello Ann,\n\nIt ships <today>.\n\nAda"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{reply}");
        let out = sink.next().await;
        assert_eq!(out.rcpt_tos, ["ann@example.com"]);
        assert_eq!(out.mail_from, SUPPORT);
        let from = out.header("From").unwrap();
        assert!(
            from.contains(SUPPORT) && from.contains("Acme Support"),
            "{from}"
        );
        assert_eq!(
            out.header("Subject").as_deref(),
            Some("Re: Where is order #1001?")
        );
        assert_eq!(
            out.header("In-Reply-To").as_deref(),
            Some("<m1@mail.example.com>")
        );
        assert!(out
            .header("References")
            .unwrap()
            .contains("<m1@mail.example.com>"));
        assert!(
            out.header("Auto-Submitted").is_none(),
            "a person wrote this one"
        );
        let id = reply["id"].as_str().unwrap();
        assert_eq!(
            out.header("Message-ID").as_deref(),
            Some(format!("<{id}@shop.example>").as_str())
        );
        let reply_to = out.header("Reply-To").unwrap();
        assert!(
            reply_to.contains("support+") && reply_to.contains("@shop.example"),
            "{reply_to}"
        );
        let parsed = out.message();
        assert_eq!(parsed.text_body_count(), 1);
        assert_eq!(parsed.html_body_count(), 1);
        assert!(parsed.body_text(0).unwrap().contains("It ships <today>."));
        assert!(parsed
            .body_html(0)
            .unwrap()
            .contains("It ships &lt;today&gt;."));
        eventually("the reply is recorded as sent", || async {
            message_status(&app, &c, id).await["delivery_status"] == "sent"
        })
        .await;

        // The shopper answers it: In-Reply-To names our mail, the quote is cut.
        let answer = mail(
        &[
            ("From", "Ann Lee <ann@example.com>"),
            ("To", &reply_to),
            ("Subject", "Re: Where is order #1001?"),
            ("Message-ID", "<m2@mail.example.com>"),
            ("In-Reply-To", &format!("<{id}@shop.example>")),
            ("References", &format!("<m1@mail.example.com> <{id}@shop.example>")),
        ],
        "Great, thanks!\n\nOn Tue, Dec 1, 2026 at 10:00 AM Acme Support <support@shop.example> wrote:\n> Hello Ann,\n>\n> It ships <today>.",
    );
        delivers(&app, &answer, "ann@example.com", &reply_to).await;
        let thread = messages(&app, &c).await;
        let last = thread.last().unwrap();
        assert_eq!(last["body"], "Great, thanks!");
        assert!(last["quoted"]
            .as_str()
            .unwrap()
            .contains("It ships <today>."));
        assert_eq!(
            email_conversations(&app).await.len(),
            1,
            "no new conversation"
        );

        // A client that drops the threading headers still reaches the thread by the reply token…
        let token = reply_token(&reply_to);
        let headless = mail(
            &[
                ("From", "ann@example.com"),
                ("To", &reply_to),
                ("Subject", "one more thing"),
            ],
            "Could you gift-wrap it?",
        );
        let to = format!("support+{token}@shop.example");
        delivers(&app, &headless, "ann@example.com", &to).await;
        // …and one that keeps only the subject, by subject and sender.
        let by_subject = mail(
            &[
                ("From", "ann@example.com"),
                ("To", SUPPORT),
                ("Subject", "RE: Where is order #1001?"),
            ],
            "And a receipt, please.",
        );
        delivers(&app, &by_subject, "ann@example.com", SUPPORT).await;
        let bodies: Vec<String> = messages(&app, &c)
            .await
            .iter()
            .map(|m| m["body"].as_str().unwrap().to_owned())
            .collect();
        assert!(
            bodies.contains(&"Could you gift-wrap it?".to_owned()),
            "{bodies:?}"
        );
        assert!(
            bodies.contains(&"And a receipt, please.".to_owned()),
            "{bodies:?}"
        );
        assert_eq!(email_conversations(&app).await.len(), 1);

        // A new subject is a new conversation; its acknowledgement waits an hour (one was sent).
        let other = mail(
            &[
                ("From", "ann@example.com"),
                ("To", SUPPORT),
                ("Subject", "Returns"),
            ],
            "How do I send back shoes?",
        );
        delivers(&app, &other, "ann@example.com", SUPPORT).await;
        let conversations = email_conversations(&app).await;
        assert_eq!(conversations.len(), 2);
        let returns = conversations
            .iter()
            .find(|c| c["subject"] == "Returns")
            .unwrap();
        let thread = messages(&app, returns["id"].as_str().unwrap()).await;
        assert_eq!(
            thread.len(),
            1,
            "no second acknowledgement within the hour: {thread:?}"
        );

        // The shopper writes from a second address: a second customer, which the agent merges.
        let work = mail(
            &[
                ("From", "Ann Lee <ann.lee@work.example>"),
                ("To", SUPPORT),
                ("Subject", "Invoice"),
            ],
            "Can I get an invoice for #1001?",
        );
        delivers(&app, &work, "ann.lee@work.example", SUPPORT).await;
        let conversations = email_conversations(&app).await;
        let invoice = conversations
            .iter()
            .find(|c| c["subject"] == "Invoice")
            .unwrap();
        let second = invoice["customer"]["id"].as_str().unwrap().to_owned();
        let first_customer = returns["customer"]["id"].as_str().unwrap().to_owned();
        assert_ne!(second, first_customer);
        let (s, merged) = app
            .post(
                &format!("/api/v1/customers/{second}/merge"),
                json!({"into": first_customer}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{merged}");
        let keys: Vec<&str> = merged["identities"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|i| i["value"].as_str())
            .collect();
        assert!(
            keys.contains(&"ann.lee@work.example") && keys.contains(&"ann@example.com"),
            "{merged}"
        );
        let (_, customer) = app
            .get(&format!("/api/v1/customers/{first_customer}"))
            .await;
        assert_eq!(customer["conversations"].as_array().unwrap().len(), 3);
        assert_eq!(
            app.get(&format!("/api/v1/customers/{second}")).await.0,
            StatusCode::NOT_FOUND
        );
        let (s, e) = app
            .post(
                &format!("/api/v1/customers/{first_customer}/merge"),
                json!({"into": first_customer}),
            )
            .await;
        assert_eq!(s, StatusCode::CONFLICT, "{e}");

        sink.stop().await;
        app.stop().await;
    }
);

mail_test!(a_retried_delivery_is_stored_once, |engine| {
    let Some((app, sink)) =
        with_sink(engine, &[], |s| s.email_acknowledgement = "off".into()).await
    else {
        return;
    };
    let once = mail(
        &[
            ("From", "bo@example.com"),
            ("To", SUPPORT),
            ("Subject", "Twice?"),
            ("Message-ID", "<dup-1@example.com>"),
        ],
        "Sent once, delivered twice.",
    );
    for _ in 0..2 {
        let (mut smtp, greeting) = RawSmtp::connect(app.smtp()).await;
        assert_eq!(greeting.code, 220);
        let r = smtp.send_mail("bo@example.com", SUPPORT, &once).await;
        assert_eq!(r.code, 250, "{r:?}");
    }
    // Without a Message-ID, identical bytes are the same mail.
    let anonymous = mail(
        &[
            ("From", "bo@example.com"),
            ("To", SUPPORT),
            ("Subject", "No id"),
        ],
        "Who am I?",
    );
    for _ in 0..2 {
        let (mut smtp, _) = RawSmtp::connect(app.smtp()).await;
        assert_eq!(
            smtp.send_mail("bo@example.com", SUPPORT, &anonymous)
                .await
                .code,
            250
        );
    }
    // The webhook says which delivery was new.
    let webhook = mail(
        &[
            ("From", "bo@example.com"),
            ("To", SUPPORT),
            ("Subject", "By webhook"),
            ("Message-ID", "<hook-1@example.com>"),
        ],
        "Forwarded by the shop's mail provider.",
    );
    let (s, first) = app
        .raw("/webhooks/email", "message/rfc822", webhook.clone())
        .await;
    assert_eq!(
        (s, first["outcome"].as_str()),
        (StatusCode::CREATED, Some("opened")),
        "{first}"
    );
    let (s, again) = app.raw("/webhooks/email", "message/rfc822", webhook).await;
    assert_eq!(
        (s, again["outcome"].as_str()),
        (StatusCode::OK, Some("duplicate")),
        "{again}"
    );
    assert_eq!(again["message_id"], first["message_id"]);

    let conversations = email_conversations(&app).await;
    assert_eq!(conversations.len(), 3, "{conversations:?}");
    for c in &conversations {
        assert_eq!(c["message_count"], 1, "{c}");
    }
    sink.stop().await;
    app.stop().await;
});

/// The service alone (no relay), support address `support@shop.example`, no
/// acknowledgements, changed further by `tweak`.
async fn listener(tweak: impl FnOnce(&mut Settings)) -> App {
    App::start_with("sqlite", |s| {
        s.support_address = concierge_domain::contact::EmailAddress::parse(SUPPORT).unwrap();
        s.email_acknowledgement = "off".into();
        tweak(s);
    })
    .await
    .expect("SQLite is always here")
}

async fn subjects(app: &App) -> Vec<String> {
    email_conversations(app)
        .await
        .iter()
        .map(|c| c["subject"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[tokio::test]
async fn the_listener_speaks_smtp_and_refuses_what_it_must() {
    let app = listener(|s| s.smtp_max_message_bytes = 64 * 1024).await;
    let (mut c, greeting) = RawSmtp::connect(app.smtp()).await;
    assert_eq!(greeting.code, 220);
    assert_eq!(
        c.cmd("MAIL FROM:<a@x.example>").await.code,
        503,
        "EHLO comes first"
    );
    assert_eq!(c.cmd("HELO").await.code, 501);
    let ehlo = c.cmd("EHLO client.test").await;
    assert_eq!(ehlo.code, 250);
    for ext in [
        "PIPELINING",
        "SIZE 65536",
        "8BITMIME",
        "SMTPUTF8",
        "ENHANCEDSTATUSCODES",
    ] {
        assert!(ehlo.lines.iter().any(|l| l == ext), "{ext} in {ehlo:?}");
    }
    assert!(
        !ehlo.text().contains("STARTTLS"),
        "no certificate, no STARTTLS"
    );
    assert_eq!(c.cmd("STARTTLS").await.code, 502);
    assert_eq!(c.cmd("RCPT TO:<support@shop.example>").await.code, 503);
    assert_eq!(c.cmd("DATA").await.code, 503);
    assert_eq!(c.cmd("MAIL FROM:<a@x.example> SIZE=100000").await.code, 552);
    assert_eq!(c.cmd("MAIL FROM:<a@x.example> FOO=BAR").await.code, 555);
    assert_eq!(
        c.cmd("MAIL FROM:<a@x.example> BODY=8BITMIME SMTPUTF8")
            .await
            .code,
        250
    );
    assert_eq!(
        c.cmd("MAIL FROM:<b@x.example>").await.code,
        503,
        "one transaction at a time"
    );
    assert_eq!(c.cmd("RCPT TO:<sales@shop.example>").await.code, 550);
    assert_eq!(c.cmd("RCPT TO:<support@elsewhere.example>").await.code, 550);
    assert_eq!(
        c.cmd("RCPT TO:<Support+Anything@SHOP.example>").await.code,
        250
    );
    assert_eq!(c.cmd("NOOP").await.code, 250);
    assert_eq!(c.cmd("VRFY support").await.code, 252);
    assert_eq!(c.cmd("HELP").await.code, 214);
    assert_eq!(c.cmd("BDAT 10 LAST").await.code, 500);
    assert_eq!(
        c.cmd(&format!("NOOP {}", "x".repeat(5000))).await.code,
        500,
        "overlong line"
    );
    assert_eq!(c.cmd("RSET").await.code, 250);
    assert_eq!(c.cmd("DATA").await.code, 503, "RSET forgot the transaction");

    // Ten thousand recipients, pipelined: a hundred are taken, the rest told to wait (452),
    // and the mail is stored once.
    assert_eq!(c.cmd("MAIL FROM:<crowd@x.example>").await.code, 250);
    let rcpts: String = (0..10_000)
        .map(|i| format!("RCPT TO:<support+{i}@shop.example>\r\n"))
        .collect();
    c.write(rcpts.as_bytes()).await;
    let mut codes = std::collections::BTreeMap::new();
    for _ in 0..10_000 {
        *codes.entry(c.reply().await.code).or_insert(0) += 1;
    }
    assert_eq!(codes, [(250, 100), (452, 9_900)].into());
    assert_eq!(c.cmd("DATA").await.code, 354);
    c.write(&mail(
        &[("From", "crowd@x.example"), ("Subject", "Crowd")],
        "Hello, all of you.",
    ))
    .await;
    assert_eq!(c.cmd(".").await.code, 250);

    // A pipelined transaction; dots stuffed by the client come back single, and a dot after
    // a bare line feed is data, not the end.
    c.write(b"MAIL FROM:<dots@x.example>\r\nRCPT TO:<support@shop.example>\r\nDATA\r\n")
        .await;
    assert_eq!(c.reply().await.code, 250);
    assert_eq!(c.reply().await.code, 250);
    assert_eq!(c.reply().await.code, 354);
    c.write(b"From: dots@x.example\r\nSubject: Dots\r\n\r\n..a line that starts with a dot\r\nbare\n.\nstill the same mail\r\n.\r\n").await;
    assert_eq!(c.reply().await.code, 250);

    // Past the size limit: the client may finish, then hears 552, and nothing is kept.
    assert_eq!(c.cmd("MAIL FROM:<big@x.example>").await.code, 250);
    assert_eq!(c.cmd("RCPT TO:<support@shop.example>").await.code, 250);
    assert_eq!(c.cmd("DATA").await.code, 354);
    c.write(&mail(
        &[("From", "big@x.example"), ("Subject", "Too big")],
        &"0123456789abcdef\n".repeat(5000),
    ))
    .await;
    assert_eq!(c.cmd(".").await.code, 552);
    assert_eq!(c.cmd("QUIT").await.code, 221);
    c.read_to_end().await;

    let mut all = subjects(&app).await;
    all.sort();
    assert_eq!(all, ["Crowd", "Dots"]);
    let dots = email_conversations(&app)
        .await
        .into_iter()
        .find(|c| c["subject"] == "Dots")
        .unwrap();
    let body = messages(&app, dots["id"].as_str().unwrap()).await[0]["body"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        body.contains(".a line that starts with a dot") && !body.contains("..a line"),
        "{body}"
    );
    assert!(body.contains("still the same mail"), "{body}");
    app.stop().await;
}

#[tokio::test]
async fn a_stalled_client_holds_up_nobody_and_leaves_nothing() {
    let app = listener(|s| s.smtp_timeout_seconds = 1).await;
    let (mut stalled, _) = RawSmtp::connect(app.smtp()).await;
    assert_eq!(stalled.cmd("EHLO slow.test").await.code, 250);
    assert_eq!(stalled.cmd("MAIL FROM:<slow@x.example>").await.code, 250);
    assert_eq!(
        stalled.cmd("RCPT TO:<support@shop.example>").await.code,
        250
    );
    assert_eq!(stalled.cmd("DATA").await.code, 354);
    stalled
        .write(b"From: slow@x.example\r\nSubject: Half\r\n\r\nhalf a mess")
        .await;

    // Meanwhile another client is served in full.
    let (mut brisk, _) = RawSmtp::connect(app.smtp()).await;
    let done = brisk
        .send_mail(
            "brisk@x.example",
            SUPPORT,
            &mail(
                &[("From", "brisk@x.example"), ("Subject", "Whole")],
                "All here.",
            ),
        )
        .await;
    assert_eq!(done.code, 250);

    // The stalled one is told why and cut off; what it sent is not kept.
    let last = stalled.read_to_end().await;
    assert!(last.starts_with("421 4.4.2"), "{last:?}");
    assert_eq!(subjects(&app).await, ["Whole"]);
    app.stop().await;
}

#[tokio::test]
async fn sessions_past_the_cap_are_told_to_come_back() {
    let app = listener(|s| s.smtp_max_sessions = 2).await;
    let (mut a, ga) = RawSmtp::connect(app.smtp()).await;
    let (_b, gb) = RawSmtp::connect(app.smtp()).await;
    assert_eq!((ga.code, gb.code), (220, 220));
    let (mut c, gc) = RawSmtp::connect(app.smtp()).await;
    assert_eq!(gc.code, 421, "{gc:?}");
    assert_eq!(c.read_to_end().await, "");
    // The sessions being served are not disturbed.
    assert_eq!(a.cmd("EHLO client.test").await.code, 250);
    app.stop().await;
}

/// Another client address than the tests' usual 127.0.0.1, on the same loopback.
fn elsewhere() -> std::net::IpAddr {
    std::net::Ipv4Addr::new(127, 0, 0, 2).into()
}

#[tokio::test]
async fn one_address_holds_only_a_few_sessions_and_others_are_still_served() {
    let app = listener(|s| s.smtp_max_sessions_per_address = 2).await;
    let (mut a, ga) = RawSmtp::connect(app.smtp()).await;
    let (_b, gb) = RawSmtp::connect(app.smtp()).await;
    assert_eq!((ga.code, gb.code), (220, 220));
    // A third from the same address is told to come back, and closed.
    let (mut c, gc) = RawSmtp::connect(app.smtp()).await;
    assert_eq!(gc.code, 421, "{gc:?}");
    assert!(gc.text().starts_with("4.7.0"), "{gc:?}");
    assert_eq!(c.read_to_end().await, "");
    // A sender at another address is served in full meanwhile.
    let (mut d, gd) = RawSmtp::connect_from(elsewhere(), app.smtp()).await;
    assert_eq!(gd.code, 220, "{gd:?}");
    let done = d
        .send_mail(
            "elsewhere@x.example",
            SUPPORT,
            &mail(
                &[("From", "elsewhere@x.example"), ("Subject", "Still served")],
                "Hello.",
            ),
        )
        .await;
    assert_eq!(done.code, 250, "{done:?}");
    // A session that ends gives its place back.
    assert_eq!(a.cmd("QUIT").await.code, 221);
    a.read_to_end().await;
    let smtp = app.smtp();
    eventually("the first address gets a session again", || async move {
        RawSmtp::connect(smtp).await.1.code == 220
    })
    .await;
    assert_eq!(subjects(&app).await, ["Still served"]);
    app.stop().await;
}

#[tokio::test]
async fn a_client_trickling_its_mail_is_cut_off_at_the_transfer_deadline() {
    // A line every 20 ms is never idle for the per-line timeout; it is far below the rate.
    let app = listener(|s| {
        s.smtp_timeout_seconds = 300;
        s.smtp_data_grace_seconds = 1;
        s.smtp_data_min_bytes_per_second = 1_000_000;
    })
    .await;
    let (mut slow, _) = RawSmtp::connect(app.smtp()).await;
    assert_eq!(slow.cmd("EHLO slow.test").await.code, 250);
    assert_eq!(slow.cmd("MAIL FROM:<slow@x.example>").await.code, 250);
    assert_eq!(slow.cmd("RCPT TO:<support@shop.example>").await.code, 250);
    assert_eq!(slow.cmd("DATA").await.code, 354);
    slow.write(b"From: slow@x.example\r\nSubject: Trickled\r\n\r\n")
        .await;
    let said = slow
        .trickle(b"a few more words\r\n", Duration::from_millis(20))
        .await;
    assert!(said.starts_with("421 4.4.2"), "{said:?}");
    assert!(subjects(&app).await.is_empty(), "nothing half sent is kept");
    app.stop().await;
}

#[tokio::test]
async fn a_session_ends_at_its_deadline_however_busy_the_client_keeps_it() {
    let app = listener(|s| {
        s.smtp_timeout_seconds = 300;
        s.smtp_session_seconds = 1;
    })
    .await;
    let (mut busy, _) = RawSmtp::connect(app.smtp()).await;
    assert_eq!(busy.cmd("EHLO busy.test").await.code, 250);
    let said = busy.trickle(b"NOOP\r\n", Duration::from_millis(20)).await;
    let last = said.lines().last().unwrap_or("");
    assert!(last.starts_with("421 4.4.2"), "{said:?}");
    assert!(
        said.lines().rev().skip(1).all(|l| l.starts_with("250")),
        "{said:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn starttls_protects_the_session_when_a_certificate_is_set() {
    if !peers_available() {
        return;
    }
    let dir = scratch("tls");
    std::fs::create_dir_all(&dir).unwrap();
    let key = rcgen::generate_simple_self_signed(vec!["localhost".into(), "shop.example".into()])
        .unwrap();
    std::fs::write(dir.join("cert.pem"), key.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), key.signing_key.serialize_pem()).unwrap();
    let (cert, keyfile) = (dir.join("cert.pem"), dir.join("key.pem"));
    let app = listener(move |s| {
        s.smtp_tls_cert = Some(cert);
        s.smtp_tls_key = Some(keyfile);
    })
    .await;
    let (mut c, _) = RawSmtp::connect(app.smtp()).await;
    let ehlo = c.cmd("EHLO client.test").await;
    assert!(ehlo.lines.iter().any(|l| l == "STARTTLS"), "{ehlo:?}");
    // Commands pipelined after STARTTLS in the clear would be taken as said under TLS by a
    // careless server: the session ends instead.
    c.write(b"STARTTLS\r\nMAIL FROM:<injected@evil.example>\r\n")
        .await;
    assert_eq!(c.reply().await.code, 220);
    assert_eq!(c.read_to_end().await, "");

    let secret = mail(
        &[
            ("From", "tls@x.example"),
            ("To", SUPPORT),
            ("Subject", "Over TLS"),
        ],
        "Private.",
    );
    let sent = smtp_send(app.smtp(), &secret, "tls@x.example", &[SUPPORT], true).await;
    assert_eq!(sent.code, 250, "{sent:?}");
    assert_eq!(subjects(&app).await, ["Over TLS"]);
    app.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

mail_test!(
    bad_mail_gets_a_clear_answer_and_nothing_partial_is_kept,
    |engine| {
        let Some(app) = App::start_with(engine, |s| {
            s.support_address = concierge_domain::contact::EmailAddress::parse(SUPPORT).unwrap();
            s.email_acknowledgement = "off".into();
            s.smtp_max_message_bytes = 64 * 1024;
        })
        .await
        else {
            return;
        };
        let send = |body: Vec<u8>, from: &'static str| {
            let addr = app.smtp();
            async move {
                let (mut c, _) = RawSmtp::connect(addr).await;
                c.send_mail(from, SUPPORT, &body).await
            }
        };
        // NUL bytes and other control characters are dropped from the text; the mail is kept.
        let r = send(
            mail(
                &[("From", "nul@x.example"), ("Subject", "Nul\0l")],
                "Hello\0 there\u{7}!",
            ),
            "nul@x.example",
        )
        .await;
        assert_eq!(r.code, 250, "{r:?}");
        // Not a mail at all, and a mail with no sender anywhere: refused, with the reason.
        let r = send(b"just some words\r\n".to_vec(), "words@x.example").await;
        assert_eq!(r.code, 554, "{r:?}");
        assert!(r.text().contains("header"), "{r:?}");
        let (mut c, _) = RawSmtp::connect(app.smtp()).await;
        assert_eq!(c.cmd("EHLO client.test").await.code, 250);
        assert_eq!(c.cmd("MAIL FROM:<>").await.code, 250);
        assert_eq!(c.cmd(&format!("RCPT TO:<{SUPPORT}>")).await.code, 250);
        assert_eq!(c.cmd("DATA").await.code, 354);
        c.write(&mail(&[("Subject", "Nobody")], "From no one."))
            .await;
        let r = c.cmd(".").await;
        assert_eq!(r.code, 554, "{r:?}");
        assert!(r.text().contains("sender"), "{r:?}");
        // A part that is not what its transfer encoding says, and a multipart cut off in the
        // middle of an attachment: what can be read is kept, and the agent is told.
        let r = send(
            mail(
                &[
                    ("From", "cte@x.example"),
                    ("Subject", "Wrong encoding"),
                    ("Content-Type", "text/plain"),
                    ("Content-Transfer-Encoding", "base64"),
                ],
                "This is plain text, not base64 at all!",
            ),
            "cte@x.example",
        )
        .await;
        assert_eq!(r.code, 250, "{r:?}");
        let r = send(
        mail(
            &[("From", "cut@x.example"), ("Subject", "Truncated"), ("MIME-Version", "1.0"), ("Content-Type", "multipart/mixed; boundary=\"b1\"")],
            "--b1\nContent-Type: text/plain\n\nPlease see the attached receipt.\n--b1\nContent-Type: application/pdf; name=\"r.pdf\"\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQKJcfs",
        ),
        "cut@x.example",
    )
    .await;
        assert_eq!(r.code, 250, "{r:?}");
        // Too large over SMTP (552) and through the webhook (413).
        let big = mail(
            &[("From", "big@x.example"), ("Subject", "Big")],
            &"x".repeat(70 * 1024),
        );
        assert_eq!(send(big.clone(), "big@x.example").await.code, 552);
        let (s, e) = app.raw("/webhooks/email", "message/rfc822", big).await;
        assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{e}");
        // The webhook wants a token and a mail.
        let anonymous = reqwest::Client::new()
            .post(format!("{}/webhooks/email", app.base))
            .body("From: a@x.example\r\n\r\nhi\r\n")
            .send()
            .await
            .unwrap();
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
        let (s, e) = app
            .raw(
                "/webhooks/email",
                "message/rfc822",
                b"\x00\x01garbage".to_vec(),
            )
            .await;
        assert_eq!(
            (s, e["error"]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("body")),
            "{e}"
        );

        let conversations = email_conversations(&app).await;
        let mut all: Vec<&str> = conversations
            .iter()
            .map(|c| c["subject"].as_str().unwrap())
            .collect();
        all.sort();
        assert_eq!(all, ["Nul l", "Truncated", "Wrong encoding"]);
        let body = |subject: &str| {
            let id = conversations
                .iter()
                .find(|c| c["subject"] == subject)
                .unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned();
            let app = &app;
            async move {
                messages(app, &id).await[0]["body"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            }
        };
        assert_eq!(body("Nul l").await, "Hello  there !");
        assert!(body("Wrong encoding")
            .await
            .contains("could not be decoded"));
        assert!(body("Truncated")
            .await
            .contains("Please see the attached receipt."));
        app.stop().await;
    }
);

#[tokio::test]
async fn a_25_mb_attachment_past_the_default_limit_is_refused_whole() {
    let app = listener(|_| {}).await;
    let (mut c, _) = RawSmtp::connect(app.smtp()).await;
    assert_eq!(c.cmd("EHLO client.test").await.code, 250);
    assert_eq!(c.cmd("MAIL FROM:<huge@x.example>").await.code, 250);
    assert_eq!(c.cmd(&format!("RCPT TO:<{SUPPORT}>")).await.code, 250);
    assert_eq!(c.cmd("DATA").await.code, 354);
    c.write(b"From: huge@x.example\r\nSubject: Photos\r\nContent-Type: multipart/mixed; boundary=\"p\"\r\n\r\n--p\r\nContent-Type: text/plain\r\n\r\nAll my photos.\r\n--p\r\nContent-Type: image/jpeg\r\nContent-Transfer-Encoding: base64\r\n\r\n").await;
    // 25 MB of attachment is about 34 MB of base64 lines.
    let line = format!("{}\r\n", "QUJD".repeat(19));
    let chunk = line.repeat(10_000);
    let mut written = 0;
    while written < 34 * 1024 * 1024 {
        c.write(chunk.as_bytes()).await;
        written += chunk.len();
    }
    c.write(b"--p--\r\n").await;
    let r = c.cmd(".").await;
    assert_eq!(r.code, 552, "{r:?}");
    // The session goes on, and a normal mail is taken after it.
    assert_eq!(c.cmd("MAIL FROM:<huge@x.example>").await.code, 250);
    assert_eq!(c.cmd(&format!("RCPT TO:<{SUPPORT}>")).await.code, 250);
    assert_eq!(c.cmd("DATA").await.code, 354);
    c.write(&mail(
        &[("From", "huge@x.example"), ("Subject", "Link instead")],
        "Here is a link.",
    ))
    .await;
    assert_eq!(c.cmd(".").await.code, 250);
    assert_eq!(subjects(&app).await, ["Link instead"]);
    app.stop().await;
}

/// Sends `message` by SMTP (Python's smtplib) from `from` to `to`, and asserts it was taken.
async fn delivers(app: &App, message: &[u8], from: &str, to: &str) {
    let sent = smtp_send(app.smtp(), message, from, &[to], false).await;
    assert_eq!(sent.code, 250, "{sent:?}");
}

/// Opens an email conversation from `from` by SMTP; returns its id.
async fn shopper_writes(app: &App, from: &str, subject: &str, body: &str) -> String {
    let m = mail(
        &[("From", from), ("To", SUPPORT), ("Subject", subject)],
        body,
    );
    delivers(app, &m, from, SUPPORT).await;
    email_conversations(app)
        .await
        .into_iter()
        .find(|c| c["subject"] == subject)
        .expect("the conversation")["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn agent_replies(app: &App, conversation: &str, body: &str) -> String {
    let (s, m) = app
        .post(
            &format!("/api/v1/conversations/{conversation}/messages"),
            json!({"body": body}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{m}");
    // Mail waits in the outbox for the relay; a chat's message is sent once stored (the
    // widget reads the store).
    let (_, c) = app
        .get(&format!("/api/v1/conversations/{conversation}"))
        .await;
    let expected = if c["channel"] == "chat" {
        "sent"
    } else {
        "pending"
    };
    assert_eq!(m["delivery_status"], expected, "{m}");
    m["id"].as_str().unwrap().to_owned()
}

mail_test!(
    outbound_mail_waits_out_a_relay_outage_and_shows_refusals,
    |engine| {
        // The relay is down when the agent answers: the reply waits, durable, and goes out
        // once the relay is back.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let Some(app) = App::start_with(engine, move |s| {
            s.support_address = concierge_domain::contact::EmailAddress::parse(SUPPORT).unwrap();
            s.email_acknowledgement = "off".into();
            s.smtp_relay = Some(format!("smtp://127.0.0.1:{port}").into());
        })
        .await
        else {
            return;
        };
        let c = shopper_writes(&app, "dora@example.com", "Outage", "Anyone there?").await;
        let id = agent_replies(&app, &c, "Yes, we are.").await;
        eventually("the first attempt fails and is retried later", || async {
            let (_, jobs) = app.get("/api/v1/jobs?status=queued").await;
            jobs["items"].as_array().is_some_and(|j| {
                j.iter().any(|j| {
                    j["kind"] == "email.deliver"
                        && j["attempts"] == 1
                        && j["last_error"].is_string()
                })
            })
        })
        .await;
        assert_eq!(
            message_status(&app, &c, &id).await["delivery_status"],
            "pending"
        );
        let mut sink = Sink::start(&scratch("sink"), &["--port", &port.to_string()]).await;
        let out = sink.next().await;
        assert_eq!(
            out.header("Message-ID"),
            Some(format!("<{id}@shop.example>"))
        );
        eventually("the reply is recorded as sent", || async {
            message_status(&app, &c, &id).await["delivery_status"] == "sent"
        })
        .await;
        sink.stop().await;
        app.stop().await;

        // A relay that refuses the recipient for good: failed at once, with its words, and the
        // agent may send it again.
        let Some((app, mut sink)) = with_sink(engine, &["--reject-rcpt", "gone"], |s| {
            s.email_acknowledgement = "off".into();
        })
        .await
        else {
            return;
        };
        let c = shopper_writes(
            &app,
            "gone@example.com",
            "Refused",
            "Reply to me, if you can.",
        )
        .await;
        let id = agent_replies(&app, &c, "We can't.").await;
        eventually("the refusal is recorded", || async {
            message_status(&app, &c, &id).await["delivery_status"] == "failed"
        })
        .await;
        let failed = message_status(&app, &c, &id).await;
        assert!(
            failed["delivery_error"].as_str().unwrap().contains("550"),
            "{failed}"
        );
        let (s, again) = app
            .post(&format!("/api/v1/messages/{id}/retry"), json!({}))
            .await;
        assert_eq!(
            (s, again["delivery_status"].as_str()),
            (StatusCode::ACCEPTED, Some("pending")),
            "{again}"
        );
        eventually("the second refusal is recorded", || async {
            message_status(&app, &c, &id).await["delivery_status"] == "failed"
        })
        .await;
        let (s, e) = app
            .post(
                &format!("/api/v1/messages/{}/retry", c.replace("cnv_", "msg_")),
                json!({}),
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{e}");
        // Someone else's reply still goes out: one refusal holds up nobody.
        let ok = shopper_writes(&app, "fine@example.com", "Fine", "Hello?").await;
        agent_replies(&app, &ok, "Hello!").await;
        assert_eq!(sink.next().await.rcpt_tos, ["fine@example.com"]);
        sink.stop().await;
        app.stop().await;
    }
);

mail_test!(
    names_and_subjects_cannot_add_headers_to_outbound_mail,
    |engine| {
        let Some((app, mut sink)) =
            with_sink(engine, &[], |s| s.email_acknowledgement = "off".into()).await
        else {
            return;
        };
        let (s, c) = app
        .post(
            "/api/v1/conversations",
            json!({
                "channel": "email",
                "customer": {"email": "eve@example.com", "name": "Eve\r\nBcc: spy@evil.example"},
                "subject": "Order\r\nBcc: spy@evil.example\r\nX-Injected: yes",
                "message": {"body": "Hello"}
            }),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{c}");
        let c = c["id"].as_str().unwrap().to_owned();
        agent_replies(&app, &c, "Hi Eve").await;
        let out = sink.next().await;
        assert_eq!(out.rcpt_tos, ["eve@example.com"], "nobody else got it");
        let headers = out.headers();
        for line in headers.lines() {
            assert!(
                !line.starts_with("Bcc:") && !line.starts_with("X-Injected:"),
                "injected header: {headers}"
            );
        }
        assert_eq!(
            out.header("Subject").as_deref(),
            Some("Re: Order Bcc: spy@evil.example X-Injected: yes")
        );
        sink.stop().await;
        app.stop().await;
    }
);

mail_test!(
    acknowledgements_go_to_people_once_and_never_to_machines,
    |engine| {
        let Some((app, mut sink)) = with_sink(engine, &[], |s| {
        s.email_acknowledgement = "Thanks {{customer.first_name}}, we got “{{conversation.subject}}”.\n\n{{shop.name}}".into();
    })
    .await
    else {
        return;
    };
        let machine =
            |from: &'static str, subject: &'static str, header: (&'static str, &'static str)| {
                mail(
                    &[
                        ("From", from),
                        ("To", SUPPORT),
                        ("Subject", subject),
                        header,
                    ],
                    "Automatic text.",
                )
            };
        for (m, from) in [
            (
                machine(
                    "ann@example.com",
                    "Out of office",
                    ("Auto-Submitted", "auto-replied"),
                ),
                "ann@example.com",
            ),
            (
                machine("news@example.com", "Newsletter", ("Precedence", "bulk")),
                "news@example.com",
            ),
            (
                machine(
                    "list@example.com",
                    "List post",
                    ("List-Id", "<talk.lists.example>"),
                ),
                "list@example.com",
            ),
            (
                machine(
                    "bob@example.com",
                    "No autoreply please",
                    ("X-Auto-Response-Suppress", "All"),
                ),
                "bob@example.com",
            ),
            (
                machine(
                    "MAILER-DAEMON@mx.example",
                    "Warning: delayed",
                    ("X-Note", "x"),
                ),
                "MAILER-DAEMON@mx.example",
            ),
            (
                machine(
                    "noreply@shop-platform.example",
                    "Your export",
                    ("X-Note", "x"),
                ),
                "noreply@shop-platform.example",
            ),
            (machine(SUPPORT, "Loop", ("X-Note", "x")), SUPPORT),
        ] {
            delivers(&app, &m, from, SUPPORT).await;
        }
        // A person gets one, with the template filled; writing again within the hour gets none.
        shopper_writes(
            &app,
            "Carla Diaz <carla@example.com>",
            "Sizes",
            "Do you have a 38?",
        )
        .await;
        shopper_writes(
            &app,
            "Carla Diaz <carla@example.com>",
            "Colours",
            "And in blue?",
        )
        .await;
        let ack = sink.next().await;
        assert_eq!(ack.rcpt_tos, ["carla@example.com"]);
        let text = ack.message().body_text(0).unwrap().into_owned();
        assert!(text.starts_with("Thanks Carla, we got “Sizes”."), "{text}");
        assert!(text.contains("Acme Support"), "{text}");

        let conversations = email_conversations(&app).await;
        assert_eq!(conversations.len(), 9);
        let mut acknowledged = vec![];
        for c in &conversations {
            let thread = messages(&app, c["id"].as_str().unwrap()).await;
            if thread.iter().any(|m| m["sender_type"] == "bot") {
                acknowledged.push(c["subject"].as_str().unwrap().to_owned());
            }
        }
        assert_eq!(acknowledged, ["Sizes"]);
        let ooo = conversations
            .iter()
            .find(|c| c["subject"] == "Out of office")
            .unwrap();
        assert_eq!(ooo["tags"], json!(["auto-reply"]));
        // Exactly one mail left the building.
        assert_eq!(sink.all().len(), 1);
        sink.stop().await;
        app.stop().await;
    }
);

mail_test!(
    a_bounce_marks_the_reply_failed_instead_of_opening_a_conversation,
    |engine| {
        let Some((app, mut sink)) =
            with_sink(engine, &[], |s| s.email_acknowledgement = "off".into()).await
        else {
            return;
        };
        let c = shopper_writes(&app, "typo@example.com", "Refund", "Where is my refund?").await;
        let id = agent_replies(&app, &c, "It is on its way.").await;
        let out = sink.next().await;
        let our_id = out.header("Message-ID").unwrap();
        eventually("the reply is recorded as sent", || async {
            message_status(&app, &c, &id).await["delivery_status"] == "sent"
        })
        .await;
        // The shopper's server bounces it later: a delivery status notification (RFC 3464).
        let dsn = format!(
            "From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\r\nTo: {SUPPORT}\r\n\
Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <bounce-1@mx.example.com>\r\n\
Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n\
--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n\
--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.com\r\n\r\n\
Final-Recipient: rfc822; typo@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n\
Diagnostic-Code: smtp; 550 5.1.1 <typo@example.com>: Recipient address rejected\r\n\r\n\
--B\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: {SUPPORT}\r\nTo: typo@example.com\r\n\
Message-ID: {our_id}\r\nSubject: Re: Refund\r\n\r\n--B--\r\n"
        );
        let (mut smtp, _) = RawSmtp::connect(app.smtp()).await;
        assert_eq!(smtp.cmd("EHLO mx.example.com").await.code, 250);
        assert_eq!(smtp.cmd("MAIL FROM:<>").await.code, 250);
        assert_eq!(smtp.cmd(&format!("RCPT TO:<{SUPPORT}>")).await.code, 250);
        assert_eq!(smtp.cmd("DATA").await.code, 354);
        smtp.write(dsn.as_bytes()).await;
        assert_eq!(smtp.cmd(".").await.code, 250);

        let failed = message_status(&app, &c, &id).await;
        assert_eq!(failed["delivery_status"], "failed");
        assert!(
            failed["delivery_error"]
                .as_str()
                .unwrap()
                .contains("Recipient address rejected"),
            "{failed}"
        );
        let thread = messages(&app, &c).await;
        let note = thread.last().unwrap();
        assert_eq!(
            (note["sender_type"].as_str(), note["private"].as_bool()),
            (Some("system"), Some(true))
        );
        assert_eq!(
            email_conversations(&app).await.len(),
            1,
            "the bounce opened nothing"
        );
        sink.stop().await;
        app.stop().await;
    }
);

mail_test!(
    attachments_inline_images_and_originals_are_served_safely,
    |engine| {
        let Some(app) = App::start_with(engine, |s| {
            s.support_address = concierge_domain::contact::EmailAddress::parse(SUPPORT).unwrap();
            s.email_acknowledgement = "off".into();
        })
        .await
        else {
            return;
        };
        // A 1×1 PNG, inline by Content-ID, a PDF and an SVG with script in it.
        let png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
        let raw = format!(
        "From: Finn <finn@example.com>\r\nTo: {SUPPORT}\r\nSubject: Damaged box\r\nMessage-ID: <photo-1@example.com>\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"M\"\r\n\r\n\
--M\r\nContent-Type: multipart/related; boundary=\"R\"\r\n\r\n\
--R\r\nContent-Type: multipart/alternative; boundary=\"A\"\r\n\r\n\
--A\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe box arrived crushed, see the photo.\r\n\
--A\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p onclick=\"steal()\">The box arrived <b>crushed</b>, see the photo.</p>\
<img src=\"cid:photo@example.com\"><img src=\"https://tracker.example/open.gif\"><script>alert(1)</script>\r\n\
--A--\r\n\
--R\r\nContent-Type: image/png\r\nContent-ID: <photo@example.com>\r\nContent-Transfer-Encoding: base64\r\n\r\n{png}\r\n\
--R--\r\n\
--M\r\nContent-Type: application/pdf; name=\"receipt.pdf\"\r\nContent-Disposition: attachment; filename=\"receipt.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n\
--M\r\nContent-Type: image/svg+xml; name=\"logo.svg\"\r\nContent-Disposition: attachment; filename=\"logo.svg\"\r\n\r\n\
<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>\r\n--M--\r\n"
    );
        let (s, receipt) = app
            .raw(
                "/webhooks/email",
                "message/rfc822",
                raw.clone().into_bytes(),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{receipt}");
        let c = receipt["conversation_id"].as_str().unwrap();
        let m = &messages(&app, c).await[0];
        assert_eq!(m["body"], "The box arrived crushed, see the photo.");
        let files: std::collections::HashMap<&str, &Value> = m["attachments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| (a["filename"].as_str().unwrap(), a))
            .collect();
        assert_eq!(files.len(), 3, "{m}");
        let photo = files
            .values()
            .find(|a| a["content_type"] == "image/png")
            .unwrap();
        let html = m["body_html"].as_str().unwrap();
        assert!(
            html.contains(&format!(
                "src=\"/api/v1/attachments/{}\"",
                photo["id"].as_str().unwrap()
            )),
            "{html}"
        );
        for banned in ["cid:", "tracker.example", "<script", "onclick"] {
            assert!(!html.contains(banned), "{banned} in {html}");
        }

        let get = |path: String| {
            let client = app.client.clone();
            let token = app.token.clone();
            let base = app.base.clone();
            async move {
                client
                    .get(format!("{base}{path}"))
                    .bearer_auth(token)
                    .send()
                    .await
                    .unwrap()
            }
        };
        let r = get(format!(
            "/api/v1/attachments/{}",
            photo["id"].as_str().unwrap()
        ))
        .await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], "image/png");
        assert!(r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("inline"));
        assert_eq!(r.bytes().await.unwrap().len(), 70);
        let r = get(format!(
            "/api/v1/attachments/{}",
            files["logo.svg"]["id"].as_str().unwrap()
        ))
        .await;
        assert_eq!(
            r.headers()["content-type"],
            "application/octet-stream",
            "never rendered in our origin"
        );
        assert!(r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment"));
        assert!(r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("sandbox"));
        let r = get(format!(
            "/api/v1/attachments/{}",
            files["receipt.pdf"]["id"].as_str().unwrap()
        ))
        .await;
        assert_eq!(r.bytes().await.unwrap().as_ref(), b"%PDF-1.4\n");
        let anonymous = reqwest::get(format!(
            "{}/api/v1/attachments/{}",
            app.base,
            photo["id"].as_str().unwrap()
        ))
        .await
        .unwrap();
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
        let r = get(format!(
            "/api/v1/messages/{}/original",
            m["id"].as_str().unwrap()
        ))
        .await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(
            r.bytes().await.unwrap().as_ref(),
            raw.as_bytes(),
            "the original, byte for byte"
        );

        // The agent's page shows the text, the photo, the files and the quoted parts as text.
        app.create_agent("ada@shop.example", "Ada Agent", "correct horse battery")
            .await;
        let (cookie, _) = app
            .sign_in("ada@shop.example", "correct horse battery")
            .await;
        let page = app
            .with_cookie(
                reqwest::Method::GET,
                &format!("/conversations/{c}"),
                &cookie,
            )
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("The box arrived crushed, see the photo."));
        assert!(page.contains(&format!(
            "/api/v1/attachments/{}",
            photo["id"].as_str().unwrap()
        )));
        assert!(page.contains("receipt.pdf") && page.contains("Original mail"));
        assert!(
            !page.contains("<script>alert") && !page.contains("onclick=\"steal"),
            "{page}"
        );
        app.stop().await;
    }
);

/// Every file the service has written under its data folder's `files`.
fn stored_files(app: &App) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut folders = vec![app.dir.join("files")];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found
}

/// Posts `raw` to the email webhook and returns the one message it became, checking that
/// it was kept whole: its text as far as it was read, a note for the agent, and the whole
/// mail as its one file, stored once.
async fn kept_whole(app: &App, raw: Vec<u8>) -> Value {
    let (s, receipt) = app
        .raw("/webhooks/email", "message/rfc822", raw.clone())
        .await;
    assert_eq!(s, StatusCode::CREATED, "{receipt}");
    let c = receipt["conversation_id"].as_str().unwrap();
    let all = messages(app, c).await;
    assert_eq!(all.len(), 1, "one message");
    let m = all[0].clone();
    let body = m["body"].as_str().unwrap();
    assert!(body.contains("kept whole"), "the agent is told: {body}");
    let files = m["attachments"].as_array().unwrap();
    assert_eq!(
        files.len(),
        1,
        "one file, not a file per part: {} files",
        files.len()
    );
    assert_eq!(files[0]["content_type"], "message/rfc822");
    let r = app
        .client
        .get(format!(
            "{}/api/v1/attachments/{}",
            app.base,
            files[0]["id"].as_str().unwrap()
        ))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.bytes().await.unwrap().as_ref(),
        &raw[..],
        "the whole mail"
    );
    assert_eq!(stored_files(app).len(), 1, "the mail's bytes, once");
    m
}

/// The service with no acknowledgements, so a mail's conversation holds only its message.
fn quiet(s: &mut Settings) {
    s.email_acknowledgement = "off".into();
}

on_both_engines!(
    a_mail_of_sixty_thousand_parts_is_kept_whole_not_taken_apart,
    quiet,
    |app| {
        let mut raw = format!(
            "From: Pat <pat@example.com>\r\nTo: {SUPPORT}\r\nSubject: Pages\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"P\"\r\n\r\n\
--P\r\nContent-Type: text/plain\r\n\r\nPlease see the attached pages.\r\n"
        );
        for i in 0..60_000 {
            raw.push_str(&format!(
                "--P\r\nContent-Type: application/octet-stream\r\n\
Content-Disposition: attachment\r\n\r\n{i}\r\n"
            ));
        }
        raw.push_str("--P--\r\n");
        let m = kept_whole(&app, raw.into_bytes()).await;
        assert!(
            m["body"]
                .as_str()
                .unwrap()
                .starts_with("Please see the attached pages."),
            "{m}"
        );
    }
);

on_both_engines!(mail_nested_past_the_limit_is_kept_whole, quiet, |app| {
    // A hundred multiparts, one in the next: few parts, but deeper than any real mail.
    let mut raw = format!(
        "From: Pat <pat@example.com>\r\nTo: {SUPPORT}\r\nSubject: Deep\r\nMIME-Version: 1.0\r\n"
    );
    for level in 0..100 {
        raw.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"L{level}\"\r\n\r\n--L{level}\r\n"
        ));
    }
    raw.push_str("Content-Type: text/plain\r\n\r\nDeep down, a question.\r\n");
    raw.push_str(
        "--L99\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; \
filename=\"deep.pdf\"\r\n\r\n%PDF-1.4\r\n",
    );
    for level in (0..100).rev() {
        raw.push_str(&format!("--L{level}--\r\n"));
    }
    let m = kept_whole(&app, raw.into_bytes()).await;
    assert!(
        m["body"]
            .as_str()
            .unwrap()
            .contains("Deep down, a question."),
        "{m}"
    );

    // A hundred thousand mails, one in the next (3 MB): once enough to take the service
    // down with a stack overflow while it was parsed.
    let mut raw = format!(
        "From: Pat <pat@example.com>\r\nTo: {SUPPORT}\r\nSubject: Deeper\r\n\
Message-ID: <deeper@example.com>\r\n"
    )
    .into_bytes();
    for _ in 0..100_000 {
        raw.extend_from_slice(b"Content-Type: message/rfc822\r\n\r\n");
    }
    raw.extend_from_slice(b"Subject: inside\r\n\r\nhello\r\n");
    let (s, receipt) = app.raw("/webhooks/email", "message/rfc822", raw).await;
    assert_eq!(s, StatusCode::CREATED, "{receipt}");
    let m = &messages(&app, receipt["conversation_id"].as_str().unwrap()).await[0];
    assert!(
        m["body"].as_str().unwrap().contains("kept whole"),
        "{}",
        m["body"]
    );
    assert_eq!(m["attachments"].as_array().unwrap().len(), 1);
});

on_both_engines!(
    mail_html_reaches_no_path_of_ours_but_its_own_inline_images,
    quiet,
    |app| {
        let png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
        let raw = format!(
            "From: Eve <eve@example.com>\r\nTo: {SUPPORT}\r\nSubject: Look\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/related; boundary=\"R\"\r\n\r\n\
--R\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Look at this:</p>\
<img src=\"/api/v1/attachments/att_x/../../../notices/unsubscribe/TOKEN\">\
<img src=\"cid:logo@example.com\"><img src=\"//evil.example/p.gif\">\
<img src=\"/api/v1/attachments/att_0190d2c0a1b27c3d8e9f001122334455\">\
<a href=\"/api/v1/conversations?status=open\">inbox</a> <a href=\"../../admin\">up</a> \
<a href=\"https://shop.example/track\">track</a>\r\n\
--R\r\nContent-Type: image/png\r\nContent-ID: <logo@example.com>\r\n\
Content-Transfer-Encoding: base64\r\n\r\n{png}\r\n--R--\r\n"
        );
        let (s, receipt) = app
            .raw("/webhooks/email", "message/rfc822", raw.into_bytes())
            .await;
        assert_eq!(s, StatusCode::CREATED, "{receipt}");
        let c = receipt["conversation_id"].as_str().unwrap();
        let m = &messages(&app, c).await[0];
        let logo = m["attachments"][0]["id"].as_str().unwrap();
        let html = m["body_html"].as_str().unwrap();
        assert!(
            html.contains(&format!("<img src=\"/api/v1/attachments/{logo}\">")),
            "{html}"
        );
        assert_eq!(html.matches("src=").count(), 1, "{html}");
        for banned in [
            "notices",
            "..",
            "evil.example",
            "/api/v1/conversations",
            "admin",
            "att_0190",
        ] {
            assert!(!html.contains(banned), "{banned} in {html}");
        }
        assert!(
            html.contains("href=\"https://shop.example/track\""),
            "{html}"
        );

        // Shown to an agent, the HTML is sanitised again and keeps just its own image.
        app.create_agent("ada@shop.example", "Ada Agent", "correct horse battery")
            .await;
        let (cookie, _) = app
            .sign_in("ada@shop.example", "correct horse battery")
            .await;
        let page = app
            .with_cookie(
                reqwest::Method::GET,
                &format!("/conversations/{c}"),
                &cookie,
            )
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let shown = page
            .split_once("class=\"body html\"")
            .map(|(_, rest)| rest.split_once("</div>").map_or(rest, |(h, _)| h))
            .expect("the formatted mail is on the page");
        assert!(
            shown.contains(&format!("<img src=\"/api/v1/attachments/{logo}\">")),
            "{shown}"
        );
        assert!(
            !shown.contains("notices") && !shown.contains("href=\"/"),
            "{shown}"
        );
    }
);

on_both_engines!(
    mail_parts_are_served_as_what_their_bytes_are,
    quiet,
    |app| {
        // A page that says it is a photo, shown inline by its Content-ID.
        let raw = format!(
        "From: Eve <eve@example.com>\r\nTo: {SUPPORT}\r\nSubject: Photo\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/related; boundary=\"R\"\r\n\r\n\
--R\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>The photo:</p><img src=\"cid:photo@example.com\">\r\n\
--R\r\nContent-Type: image/png; name=\"photo.png\"\r\nContent-ID: <photo@example.com>\r\n\r\n\
<html><script>fetch('/api/v1/tokens')</script></html>\r\n--R--\r\n"
    );
        let (s, receipt) = app
            .raw("/webhooks/email", "message/rfc822", raw.into_bytes())
            .await;
        assert_eq!(s, StatusCode::CREATED, "{receipt}");
        let m = &messages(&app, receipt["conversation_id"].as_str().unwrap()).await[0];
        let file = &m["attachments"][0];
        assert_eq!(file["filename"], "photo.png");
        assert_ne!(file["content_type"], "image/png", "{file}");
        let html = m["body_html"].as_str().unwrap();
        assert!(!html.contains("src="), "not shown as an image: {html}");
        let r = app
            .client
            .get(format!(
                "{}/api/v1/attachments/{}",
                app.base,
                file["id"].as_str().unwrap()
            ))
            .bearer_auth(&app.token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], "application/octet-stream");
        assert!(r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment"));
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    }
);

/// The real binary in a process of its own, as an operator runs it: so that it can be killed
/// (SIGKILL: no graceful anything) at any point.
struct Process {
    child: tokio::process::Child,
    http: String,
    smtp: std::net::SocketAddr,
}

/// Where a process-per-run test keeps its data: a folder, and on PostgreSQL a fresh database.
struct Data {
    env: Vec<(String, String)>,
    dir: std::path::PathBuf,
    pg: Option<TestDatabase>,
}

impl Data {
    async fn new(engine: &str, extra: &[(&str, String)]) -> Option<Data> {
        let dir = scratch("process");
        let mut env = vec![
            ("CONCIERGE_DATA_DIR".to_owned(), dir.display().to_string()),
            ("CONCIERGE_SUPPORT_ADDRESS".to_owned(), SUPPORT.to_owned()),
            ("CONCIERGE_HTTP_ADDR".to_owned(), "127.0.0.1:0".to_owned()),
            ("CONCIERGE_SMTP_ADDR".to_owned(), "127.0.0.1:0".to_owned()),
            ("RUST_LOG".to_owned(), "info".to_owned()),
        ];
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
        let mut pg = None;
        if engine == "postgres" {
            let db = TestDatabase::create().await?;
            env.push(("CONCIERGE_DATABASE_URL".to_owned(), db.url.clone()));
            pg = Some(db);
        }
        Some(Data { env, dir, pg })
    }

    /// An API token, made by the CLI against this data.
    fn token(&self) -> String {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_concierge"))
            .args(["token", "create", "--name", "tests"])
            .envs(self.env.iter().cloned())
            .output()
            .expect("run concierge token create");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .unwrap()
            .trim()
            .to_owned()
    }

    async fn start(&self) -> Process {
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_concierge"))
            .arg("serve")
            .envs(self.env.iter().cloned())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start concierge serve");
        use tokio::io::AsyncBufReadExt;
        let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
        let listening = loop {
            let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
                .await
                .expect("the service starts in time")
                .unwrap()
                .expect("the service runs");
            if line.contains("listening http=") {
                break line;
            }
        };
        // Keep reading, so the service never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let field = |name: &str| {
            listening
                .split_whitespace()
                .find_map(|w| w.strip_prefix(name))
                .unwrap_or_else(|| panic!("no {name} in {listening}"))
                .to_owned()
        };
        Process {
            child,
            http: format!("http://{}", field("http=")),
            smtp: field("smtp=").parse().unwrap(),
        }
    }

    async fn cleanup(self) {
        if let Some(db) = self.pg {
            db.drop_it().await;
        }
        let _ = std::fs::remove_dir_all(self.dir);
    }
}

impl Process {
    /// SIGKILL, and wait until it is gone.
    async fn kill(mut self) {
        self.child.kill().await.expect("kill the service");
    }

    async fn get(&self, token: &str, path: &str) -> Value {
        reqwest::Client::new()
            .get(format!("{}{path}", self.http))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn post(&self, token: &str, path: &str, body: Value) -> Value {
        reqwest::Client::new()
            .post(format!("{}{path}", self.http))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

mail_test!(
    killing_the_service_at_any_point_loses_and_duplicates_no_inbound_mail,
    |engine| {
        let Some(data) =
            Data::new(engine, &[("CONCIERGE_EMAIL_ACKNOWLEDGEMENT", "off".into())]).await
        else {
            return;
        };
        let token = data.token();
        for i in 0..4 {
            let m = mail(
                &[
                    ("From", "kim@example.com"),
                    ("To", SUPPORT),
                    ("Subject", &format!("Crash {i}")),
                    ("Message-ID", &format!("<crash-{i}@example.com>")),
                ],
                &format!("Mail number {i}."),
            );
            // Killed between the end of the data and the answer: stored or not, the sender did
            // not hear 250…
            let service = data.start().await;
            let (mut smtp, _) = RawSmtp::connect(service.smtp).await;
            assert_eq!(smtp.cmd("EHLO client.test").await.code, 250);
            assert_eq!(smtp.cmd("MAIL FROM:<kim@example.com>").await.code, 250);
            assert_eq!(smtp.cmd(&format!("RCPT TO:<{SUPPORT}>")).await.code, 250);
            assert_eq!(smtp.cmd("DATA").await.code, 354);
            smtp.write(&m).await;
            smtp.write(b".\r\n").await;
            service.kill().await;
            // …so it sends again, and is told 250 whether the first copy made it or not; then
            // the service is killed right after that answer.
            let service = data.start().await;
            let (mut smtp, _) = RawSmtp::connect(service.smtp).await;
            assert_eq!(
                smtp.send_mail("kim@example.com", SUPPORT, &m).await.code,
                250
            );
            service.kill().await;
        }
        let service = data.start().await;
        let list = service
            .get(&token, "/api/v1/conversations?channel=email")
            .await;
        let mut got: Vec<(String, i64)> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["subject"].as_str().unwrap().to_owned(),
                    c["message_count"].as_i64().unwrap(),
                )
            })
            .collect();
        got.sort();
        let want: Vec<(String, i64)> = (0..4).map(|i| (format!("Crash {i}"), 1)).collect();
        assert_eq!(got, want, "each mail exactly once");
        service.kill().await;
        data.cleanup().await;
    }
);

mail_test!(
    killing_the_service_loses_and_duplicates_no_outbound_mail,
    |engine| {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let Some(data) = Data::new(
            engine,
            &[
                ("CONCIERGE_EMAIL_ACKNOWLEDGEMENT", "off".into()),
                ("CONCIERGE_SMTP_RELAY", format!("smtp://127.0.0.1:{port}")),
            ],
        )
        .await
        else {
            return;
        };
        let token = data.token();
        // The shopper writes; the agent answers while the relay is down; the service dies.
        let service = data.start().await;
        let m = mail(
            &[
                ("From", "lee@example.com"),
                ("To", SUPPORT),
                ("Subject", "Kill me softly"),
            ],
            "Hello?",
        );
        assert_eq!(
            smtp_send(service.smtp, &m, "lee@example.com", &[SUPPORT], false)
                .await
                .code,
            250
        );
        let list = service
            .get(&token, "/api/v1/conversations?channel=email")
            .await;
        let c = list["items"][0]["id"].as_str().unwrap().to_owned();
        let first = service
            .post(
                &token,
                &format!("/api/v1/conversations/{c}/messages"),
                json!({"body": "First answer."}),
            )
            .await;
        assert_eq!(first["delivery_status"], "pending");
        service.kill().await;

        // The relay comes back, and so does the service: the reply goes out once.
        let mut sink = Sink::start(&scratch("sink"), &["--port", &port.to_string()]).await;
        let service = data.start().await;
        let out = sink.next().await;
        let first_id = first["id"].as_str().unwrap();
        assert_eq!(
            out.header("Message-ID"),
            Some(format!("<{first_id}@shop.example>"))
        );
        let sent = || async {
            let thread = service
                .get(&token, &format!("/api/v1/conversations/{c}/messages"))
                .await;
            thread["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["id"] == first_id && m["delivery_status"] == "sent")
        };
        eventually("the first answer is recorded as sent", sent).await;
        service.kill().await;

        // Killed after the send was recorded, restarted: nothing goes out twice, and the next
        // answer goes out next.
        let service = data.start().await;
        let second = service
            .post(
                &token,
                &format!("/api/v1/conversations/{c}/messages"),
                json!({"body": "Second answer."}),
            )
            .await;
        let out = sink.next().await;
        assert_eq!(
            out.header("Message-ID"),
            Some(format!("<{}@shop.example>", second["id"].as_str().unwrap()))
        );
        let ids: Vec<String> = sink
            .all()
            .iter()
            .map(|raw| {
                let m = mail_parser::MessageParser::default().parse(raw).unwrap();
                m.message_id().unwrap().to_owned()
            })
            .collect();
        assert_eq!(ids.len(), 2, "{ids:?}");
        assert_ne!(ids[0], ids[1]);
        service.kill().await;
        sink.stop().await;
        data.cleanup().await;
    }
);

/// The fixtures' mails (fixtures/email, which the repository carries).
fn fixture_mails() -> Vec<(String, Vec<u8>)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/email");
    let mut out = Vec::new();
    for folder in ["parsing", "eml", "reply_stripping"] {
        let entries = std::fs::read_dir(root.join(folder))
            .unwrap_or_else(|e| panic!("fixtures/email/{folder}: {e}"));
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "eml") {
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                out.push((name, std::fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

mail_test!(
    real_mail_from_many_clients_goes_through_smtp_and_threads,
    |engine| {
        let mails = fixture_mails();
        assert!(!mails.is_empty(), "fixtures/email holds no mail");
        let Some(app) = App::start_with(engine, |s| {
            s.support_address = concierge_domain::contact::EmailAddress::parse(SUPPORT).unwrap();
        })
        .await
        else {
            return;
        };
        // The mail a Thunderbird reply in the fixtures answers, sent first by its author.
        let earlier = mail(
            &[
                ("From", "Testing <xxxxxxxx@xxx.org>"),
                ("To", SUPPORT),
                ("Subject", "Test reply email"),
                ("Message-ID", "<348F04F142D69C21-291E56D292BC@xxxx.net>"),
            ],
            "The first mail of the thread.",
        );
        delivers(&app, &earlier, "xxxxxxxx@xxx.org", SUPPORT).await;
        // Every fixture over SMTP as a real client sends it, with its envelope sender: each is
        // taken (250) or refused with a reason (5xx), never left hanging or failed on our side.
        let mut taken = 0;
        for (name, raw) in &mails {
            let sent = smtp_send(
                app.smtp(),
                raw,
                "sender@fixtures.example",
                &[SUPPORT],
                false,
            )
            .await;
            assert!(
                sent.code == 250 || (500..600).contains(&sent.code),
                "{name}: {sent:?}"
            );
            if sent.code == 250 {
                taken += 1;
            }
        }
        assert_eq!(
            taken,
            mails.len(),
            "every fixture is a mail with a sender (the envelope's at least)"
        );
        // The Thunderbird reply joined the thread it answers.
        let conversations = email_conversations(&app).await;
        let thread = conversations
            .iter()
            .find(|c| c["subject"] == "Test reply email")
            .expect("the thread");
        let bodies: Vec<String> = messages(&app, thread["id"].as_str().unwrap())
            .await
            .iter()
            .map(|m| m["body"].as_str().unwrap().to_owned())
            .collect();
        assert!(bodies.iter().any(|b| b == "Message body"), "{bodies:?}");
        // Bounces of mail we never sent open conversations marked as such, without answers.
        let bounce = conversations
            .iter()
            .find(|c| c["subject"] == "Delivery Status Notification (Failure)")
            .unwrap();
        assert_eq!(bounce["tags"], json!(["bounce"]));
        assert_eq!(
            bounce["message_count"], 1,
            "no acknowledgement to a mailer daemon"
        );
        // A mail without a From of its own is the envelope sender's.
        let (_, customers) = app
            .get("/api/v1/customers?email=sender@fixtures.example")
            .await;
        assert_eq!(customers["items"].as_array().unwrap().len(), 1);
        app.stop().await;
    }
);

/// A widget chat session's token and conversation id.
async fn chat_session(app: &App, body: Value) -> (String, String) {
    let res = app
        .client
        .post(format!("{}/api/widget/v1/sessions", app.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let v: Value = res.json().await.unwrap();
    (
        v["session_token"].as_str().unwrap().to_owned(),
        v["conversation_id"].as_str().unwrap().to_owned(),
    )
}

mail_test!(
    an_anonymous_chat_cannot_make_the_shop_mail_a_stranger,
    |engine| {
        let Some((app, mut sink)) = with_sink(engine, &[], |s| {
            s.email_acknowledgement = "off".into();
        })
        .await
        else {
            return;
        };
        // Ten chats from one place, each giving the victim's address and asking for the chat,
        // which says what the attacker wants the shop to say.
        let mut statuses = Vec::new();
        for i in 0..10 {
            let (token, _) = chat_session(
                &app,
                json!({"name": "Your bank", "email": "victim@example.com"}),
            )
            .await;
            let (s, _) = as_shopper(
            &app,
            &token,
            "/api/widget/v1/messages",
            json!({"body": "URGENT: your account is locked, log in at http://evil.example", "client_id": format!("x-{i}")}),
        )
        .await;
            assert_eq!(s, StatusCode::CREATED);
            let (s, v) = as_shopper(&app, &token, "/api/widget/v1/transcript", json!({})).await;
            statuses.push((s, v["status"].clone(), v["error"]["code"].clone()));
        }
        // Three links to confirm, the rest refused; never the chat itself.
        let sent = statuses
            .iter()
            .filter(|(s, status, _)| *s == StatusCode::ACCEPTED && status == "confirmation_sent")
            .count();
        assert_eq!(sent, 3, "{statuses:?}");
        assert!(statuses[3..]
            .iter()
            .all(|(s, _, code)| *s == StatusCode::TOO_MANY_REQUESTS && code == "mail_limit"));
        for _ in 0..3 {
            let m = sink.next().await;
            assert_eq!(m.rcpt_tos, ["victim@example.com"]);
            let text = m.text();
            assert!(
                !text.contains("evil.example") && !text.contains("Your bank"),
                "{text}"
            );
            assert!(text.contains("/chat/confirm/"), "{text}");
        }
        // Another address from the same place: the place has its share too (ten a day).
        let mut refused = 0;
        for i in 0..10 {
            let (token, _) =
                chat_session(&app, json!({"email": format!("other{i}@example.com")})).await;
            let (s, _) = as_shopper(
                &app,
                &token,
                "/api/widget/v1/email",
                json!({"email": format!("other{i}@example.com")}),
            )
            .await;
            if s == StatusCode::TOO_MANY_REQUESTS {
                refused += 1;
            }
        }
        assert_eq!(refused, 3, "seven more links, then none from this place");
        sink.stop().await;
        app.stop().await;
    }
);

mail_test!(
    a_chat_that_only_says_whose_it_is_shows_none_of_their_orders_until_proved,
    |engine| {
        let Some((app, mut sink)) = with_sink(engine, &[], |s| {
            s.email_acknowledgement = "off".into();
        })
        .await
        else {
            return;
        };
        let (order, _) = app
            .shipped_order("bob@example.com", "#7007", "TRACK7007")
            .await;
        let (_, bob) = app.get("/api/v1/customers?email=bob@example.com").await;
        let bob = bob["items"][0]["id"].as_str().unwrap().to_owned();

        // A stranger opens a chat saying they are Bob.
        let (token, conversation) =
            chat_session(&app, json!({"name": "Bob", "email": "bob@example.com"})).await;
        let (s, _) = as_shopper(
            &app,
            &token,
            "/api/widget/v1/messages",
            json!({"body": "what did I order?", "client_id": "b-1"}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED);
        let (_, c) = app
            .get(&format!("/api/v1/conversations/{conversation}"))
            .await;
        assert_ne!(
            c["customer"]["id"],
            bob.as_str(),
            "not Bob's until proved: {c}"
        );
        app.create_agent("sam@shop.example", "Sam Agent", "correct horse battery")
            .await;
        let (cookie, _) = app
            .sign_in("sam@shop.example", "correct horse battery")
            .await;
        let page = app
            .with_cookie(
                reqwest::Method::GET,
                &format!("/conversations/{conversation}"),
                &cookie,
            )
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            page.contains("Not verified") && page.contains("existing customer"),
            "the agent is told: {page}"
        );
        assert!(
            !page.contains("#7007") && !page.contains(&order),
            "no orders of Bob's"
        );

        // The real Bob follows the link mailed to his address: the chat is his. (Asked for the
        // chat and for replies, he gets one link for both.)
        let (s, v) = as_shopper(&app, &token, "/api/widget/v1/transcript", json!({})).await;
        assert_eq!(s, StatusCode::ACCEPTED, "{v}");
        let (s, v) = as_shopper(
            &app,
            &token,
            "/api/widget/v1/email",
            json!({"email": "bob@example.com"}),
        )
        .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{v}");
        assert_eq!(v["confirmation_sent"], true);
        // (Bob's shipping notice may come first.)
        let body = loop {
            let mail = sink.next().await;
            let body = mail.message().body_text(0).unwrap_or_default().into_owned();
            if body.contains("/chat/confirm/") {
                break body;
            }
        };
        let link = body
            .split_whitespace()
            .find(|w| w.contains("/chat/confirm/"))
            .unwrap()
            .to_owned();
        let path = &link[link.find("/chat/confirm/").unwrap()..];
        let r = reqwest::Client::new()
            .post(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let (_, c) = app
            .get(&format!("/api/v1/conversations/{conversation}"))
            .await;
        assert_eq!(c["customer"]["id"], bob.as_str(), "{c}");
        loop {
            let m = sink.next().await;
            if m.header("Subject").as_deref() == Some("Your chat with Acme Support") {
                break;
            }
        }
        let links = sink
            .all()
            .iter()
            .filter(|m| String::from_utf8_lossy(m).contains("Subject: Confirm your email"))
            .count();
        assert_eq!(links, 1, "one link for both requests");
        let page = app
            .with_cookie(
                reqwest::Method::GET,
                &format!("/conversations/{conversation}"),
                &cookie,
            )
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("Proved bob@example.com"), "{page}");
        assert!(page.contains("#7007"), "Bob's orders beside his chat");
        sink.stop().await;
        app.stop().await;
    }
);

/// A widget request with the session's token.
async fn as_shopper(app: &App, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    let res = reqwest::Client::new()
        .post(format!("{}{path}", app.base))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

mail_test!(
    a_chat_goes_on_by_email_when_nobody_is_online_and_the_shopper_gets_a_transcript,
    |engine| {
        let Some((app, mut sink)) = with_sink(engine, &[], |s| {
            s.email_acknowledgement = "off".into();
        })
        .await
        else {
            return;
        };
        // Nobody is online: the widget is told so, and offers email.
        let res = reqwest::get(format!("{}/api/widget/v1/team", app.base))
            .await
            .unwrap();
        let team: Value = res.json().await.unwrap();
        assert_eq!(team["online"], false, "{team}");

        let (token, conversation) = chat_session(&app, json!({"name": "Ann Shopper"})).await;
        // A transcript needs an address, and something said.
        let (s, v) = as_shopper(&app, &token, "/api/widget/v1/transcript", json!({})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(v["error"]["field"], "email");
        let (s, v) = as_shopper(
            &app,
            &token,
            "/api/widget/v1/email",
            json!({"email": "not an address"}),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(v["error"]["field"], "email");

        let (s, _) = as_shopper(
            &app,
            &token,
            "/api/widget/v1/messages",
            json!({"body": "Do you ship to Norway? <b>thanks</b>", "client_id": "n-1"}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED);
        // An address the shop did not vouch for is first sent a link to prove it is hers.
        let (s, v) = as_shopper(
            &app,
            &token,
            "/api/widget/v1/email",
            json!({"email": "ann@example.com"}),
        )
        .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{v}");
        assert_eq!(v["replies_by_email"], false);
        assert_eq!(v["confirmation_sent"], true);
        agent_replies(&app, &conversation, "Before you confirmed.").await;
        let confirmation = sink.next().await;
        assert_eq!(confirmation.rcpt_tos, ["ann@example.com"]);
        let text = confirmation.text();
        assert!(
            !text.contains("Norway") && !text.contains("Ann Shopper"),
            "nothing the shopper typed is in it: {text}"
        );
        let body = confirmation
            .message()
            .body_text(0)
            .expect("a text part")
            .into_owned();
        let link = body
            .split_whitespace()
            .find(|w| w.contains("/chat/confirm/"))
            .expect("a link to confirm")
            .to_owned();
        let path = &link[link.find("/chat/confirm/").unwrap()..];
        // Opening the link (as a mail scanner would) only shows the button.
        let page = reqwest::get(format!("{}{path}", app.base)).await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let page = page.text().await.unwrap();
        assert!(page.contains("method=\"post\""), "{page}");
        let confirmed = reqwest::Client::new()
            .post(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(confirmed.status(), StatusCode::OK);
        assert!(confirmed.text().await.unwrap().contains("ann@example.com"));

        // From then on the agent's answer in the chat goes to her email too, replying to
        // which comes back to the same conversation.
        agent_replies(&app, &conversation, "Hi Ann, yes: 3-5 days to Norway.").await;
        let out = loop {
            let m = sink.next().await;
            if m.rcpt_tos.contains(&"ann@example.com".to_owned()) {
                break m;
            }
        };
        assert!(
            !out.text().contains("Before you confirmed"),
            "nothing went before the address was proved: {}",
            out.text()
        );
        assert!(out.text().contains("3-5 days to Norway"), "{}", out.text());
        assert_eq!(
            out.header("Subject").as_deref(),
            Some("Re: Your chat with Acme Support")
        );
        let reply_to = out.header("Reply-To").unwrap();
        let token_address = format!("support+{}@shop.example", reply_token(&reply_to));
        let answer = mail(
            &[
                ("From", "ann@example.com"),
                ("To", &token_address),
                ("Subject", "Re: Your chat with Acme Support"),
            ],
            "Great, ordering now!",
        );
        delivers(&app, &answer, "ann@example.com", &token_address).await;
        eventually("the mailed answer joins the chat", || async {
            messages(&app, &conversation)
                .await
                .iter()
                .any(|m| m["body"].as_str().unwrap_or("").contains("ordering now"))
        })
        .await;
        let note = messages(&app, &conversation)
            .await
            .into_iter()
            .find(|m| m["private"] == true && m["sender_type"] == "system")
            .expect("a note says where replies go");
        assert!(
            note["body"].as_str().unwrap().contains("ann@example.com"),
            "{note}"
        );

        // The transcript: everything said publicly, as text.
        let (s, v) = as_shopper(&app, &token, "/api/widget/v1/transcript", json!({})).await;
        assert_eq!(s, StatusCode::ACCEPTED, "{v}");
        assert_eq!(v["email"], "ann@example.com");
        assert_eq!(v["status"], "queued");
        let transcript = loop {
            let m = sink.next().await;
            if m.header("Subject").as_deref() == Some("Your chat with Acme Support") {
                break m;
            }
        };
        let text = transcript.text();
        assert!(
            text.contains("You wrote, ") && text.contains("> Do you ship to Norway? <b>thanks</b>"),
            "the shopper's words are quoted as hers: {text}"
        );
        assert!(
            text.contains("&lt;b&gt;thanks&lt;/b&gt;"),
            "the HTML part escapes: {text}"
        );
        assert!(text.contains("3-5 days to Norway"), "{text}");
        assert!(text.contains("ordering now"), "{text}");
        assert!(
            !text.contains("asked for replies by email"),
            "private notes stay private"
        );
        sink.stop().await;
        app.stop().await;
    }
);
