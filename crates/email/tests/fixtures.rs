//! Real mail from real clients and libraries' test suites (`fixtures/email`, see
//! SOURCES.md there), read the way the intake reads it: each parses, and what the upstream
//! project's own tests assert about it (its `*.expected.json`) holds for us too, where it
//! describes the mail rather than that library's quirks. The few places we differ on
//! purpose are named below, with what we do instead.

use concierge_domain::mail::MailKind;
use concierge_email::mime::{read, recorded_type, Mail};
use concierge_email::quotes;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The fixtures, which the repository carries.
fn fixtures() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/email");
    assert!(dir.is_dir(), "{} is missing", dir.display());
    dir
}

fn mail(dir: &Path, name: &str) -> Mail {
    let raw = std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    read(&raw).unwrap_or_else(|e| panic!("{name} does not parse: {e}"))
}

fn expected(dir: &Path, name: &str) -> Value {
    let path = dir.join(name.replace(".eml", ".expected.json"));
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

/// What the agent sees of a mail: its new text.
fn visible(m: &Mail) -> String {
    match (&m.text, &m.html) {
        (Some(t), _) => quotes::split(t).visible,
        (None, Some(h)) => quotes::split_html(h).visible,
        _ => String::new(),
    }
}

fn names(m: &Mail) -> Vec<&str> {
    m.files.iter().map(|f| f.filename.as_str()).collect()
}

#[test]
fn every_fixture_mail_parses() {
    let dir = fixtures();
    let mut seen = 0;
    for folder in ["parsing", "eml", "reply_stripping"] {
        for entry in std::fs::read_dir(dir.join(folder)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "eml") {
                let raw = std::fs::read(&path).unwrap();
                let m = read(&raw).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                // Every mail has some text or some file for the agent.
                assert!(
                    m.text.is_some() || m.html.is_some() || !m.files.is_empty(),
                    "{} has nothing to show",
                    path.display()
                );
                seen += 1;
            }
        }
    }
    assert!(seen >= 50, "only {seen} mails found");
}

#[test]
fn charsets_and_encoded_words_decode() {
    let dir = fixtures();
    let d = dir.join("parsing");
    let cases = [
        (
            "django_helpdesk__all-special-chars.eml",
            "Testovácí email",
            "íářčšáíéřášč",
        ),
        (
            "django_helpdesk__quoted_printable.eml",
            "Český test",
            "Tohle je test českých písmen odeslaných z gmailu.",
        ),
        ("mikel_mail__ks_c_5601-1987.eml", "test", "스티해"),
        ("mikel_mail__japanese.eml", "まみむめも", "かきくえこ"),
        ("mikel_mail__utf8_headers.eml", "Säying Hello", "body"),
    ];
    for (name, subject, text) in cases {
        let m = mail(&d, name);
        assert_eq!(m.subject.as_deref(), Some(subject), "{name}");
        assert_eq!(visible(&m), text, "{name}");
    }
    let m = mail(&d, "django_helpdesk__quoted_printable.eml");
    assert!(m
        .html
        .unwrap()
        .contains("<div dir=\"ltr\">Tohle je test českých písmen odeslaných z gmailu.</div>"));
    let m = mail(&d, "mikel_mail__utf8_headers.eml");
    let from = m.from.unwrap();
    assert_eq!(
        (from.name.as_deref(), from.address.as_str()),
        (Some("Jöhn Doe"), "jdöe@mächine.example")
    );
    // Shift_JIS in 8 bits, ISO-2022-JP in an encoded word, Hebrew in ISO-8859-8-i.
    assert!(visible(&mail(&d, "mikel_mail__japanese_shift_jis.eml")).starts_with("あいうえお"));
    for (name, key) in [
        ("php_mime__issue116.eml", "subject"),
        ("php_mime__issue149.eml", "subject"),
    ] {
        let want = &expected(&d, name)["expected"];
        let want = want
            .get(key)
            .or_else(|| want["assertions"].get("getHeader('subject')"))
            .unwrap();
        assert_eq!(mail(&d, name).subject.as_deref(), want.as_str(), "{name}");
    }
    // A gb2312 bounce whose quoted-printable part is cut off: decoded as far as it goes
    // (upstream expects the same text, with "?" where the charset has no character).
    let m = mail(&d, "php_mime__failure.eml");
    assert!(m.damaged);
    assert!(
        m.text.unwrap().contains("次の受信者"),
        "decoded despite the cut"
    );
}

/// php-mime-mail-parser's expectations are data: subject, sender, a needle in the text,
/// attachments with their names, sizes and types.
#[test]
fn php_mime_mail_parser_expectations_hold() {
    let dir = fixtures();
    let d = dir.join("parsing");
    let mut checked = 0;
    for name in [
        "php_mime__m0001.eml",
        "php_mime__m0008.eml",
        "php_mime__m0018.eml",
        "php_mime__m0022.eml",
        "php_mime__m0023.eml",
        "php_mime__issue149.eml",
    ] {
        let m = mail(&d, name);
        let want = &expected(&d, name)["expected"];
        assert_eq!(m.subject.as_deref(), want["subject"].as_str(), "{name}");
        let from = m.from.as_ref().unwrap();
        assert_eq!(
            Some(from.address.as_str()),
            want["from"][0]["address"].as_str(),
            "{name}"
        );
        let display = want["from"][0]["display"].as_str().unwrap();
        if display != from.address {
            assert_eq!(from.name.as_deref(), Some(display), "{name}");
        }
        let text = want["text"].as_array().unwrap();
        if text[0] == "COUNT" {
            let needle = text[2].as_str().unwrap();
            assert!(
                m.text.as_deref().unwrap_or("").contains(needle),
                "{name}: {needle}"
            );
        }
        let files: Vec<(&str, usize, &str)> = m
            .files
            .iter()
            .map(|f| {
                (
                    f.filename.as_str(),
                    f.bytes.len(),
                    f.content_type.split(';').next().unwrap(),
                )
            })
            .collect();
        // A file's type is what its bytes are, not what the mail claims: php_mime__m0008.eml
        // calls its two JPEGs GIFs, and php_mime__m0018.eml's "JPEG" is base64 text.
        let recorded: Vec<String> = want["attachments"]
            .as_array()
            .unwrap()
            .iter()
            .zip(&m.files)
            .map(|(a, f)| recorded_type(&f.bytes, a[4].as_str().unwrap().to_owned()))
            .collect();
        let want_files: Vec<(&str, usize, &str)> = want["attachments"]
            .as_array()
            .unwrap()
            .iter()
            .zip(&recorded)
            .map(|(a, t)| {
                (
                    a[0].as_str().unwrap(),
                    a[1].as_u64().unwrap() as usize,
                    t.as_str(),
                )
            })
            .collect();
        assert_eq!(files, want_files, "{name}");
        checked += 1;
    }
    assert_eq!(checked, 6);
}

#[test]
fn attachments_keep_their_names_and_forwarded_mail_stays_whole() {
    let dir = fixtures();
    let d = dir.join("parsing");
    assert_eq!(
        names(&mail(&d, "mikel_mail__attachment_nonascii_filename.eml")),
        ["ciële.txt"]
    );
    assert_eq!(
        names(&mail(
            &d,
            "mikel_mail__attachment_with_base64_encoded_name.eml"
        )),
        ["This is a test.pdf"]
    );
    assert_eq!(
        names(&mail(
            &d,
            "mikel_mail__raw_email_with_nested_attachment.eml"
        )),
        ["truncated.png", "smime.p7s"]
    );
    // Upstream counts the PDF inside a forwarded mail as a second attachment; we keep the
    // forwarded mail whole, as one `.eml` the agent opens (with its PDF inside).
    let m = mail(&d, "mikel_mail__attachment_message_rfc822.eml");
    assert_eq!(m.files.len(), 1);
    assert_eq!(m.files[0].content_type, "message/rfc822");
    let inner = read(&m.files[0].bytes).unwrap();
    assert_eq!(
        inner
            .files
            .iter()
            .filter(|f| f.content_type == "application/pdf")
            .count(),
        1
    );
    // An inline text part (upstream: one attachment, not the body).
    assert_eq!(mail(&d, "spamscope__mail_test_3.eml").files.len(), 1);
    // A forwarded message's own text is the new text; the forwarded one is behind it.
    let m = mail(&d, "django_helpdesk__forwarded-message.eml");
    assert_eq!(visible(&m), "This is email body");
    let split = quotes::split(m.text.as_deref().unwrap());
    assert!(split.quoted.contains("Hello there!"), "{}", split.quoted);
}

#[test]
fn threading_headers_are_read() {
    let dir = fixtures();
    let d = dir.join("parsing");
    let m = mail(&d, "mikel_mail__raw_email_reply.eml");
    // Replying to it, upstream sets In-Reply-To to its id and References to its chain and id:
    // exactly what our answer will carry.
    let want = &expected(&d, "mikel_mail__raw_email_reply.eml")["expected"]["when_replying_to_it"];
    assert_eq!(m.message_id.as_deref(), want["reply.in_reply_to"].as_str());
    let mut chain = m.references.clone();
    chain.extend(m.message_id.clone());
    let want_chain: Vec<&str> = want["reply.references"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(chain, want_chain);
    // A support ticket reply that lost its threading headers: only its subject is left to
    // thread it by. The mail it forwards keeps its own, with an id outside the RFC's grammar
    // (`tickets/…@host`) that must still be read.
    let m = mail(&d, "stalwart__thirdparty_015.eml");
    assert_eq!(
        m.subject.as_deref(),
        Some("Re: (#5290765) Proxmox Shop E-Mails")
    );
    assert!(m.in_reply_to.is_empty() && m.references.is_empty());
    let forwarded = read(&m.files[0].bytes).unwrap();
    assert_eq!(
        forwarded.in_reply_to,
        ["tickets/35323930373635@pobo.intra.proxmox.com"]
    );
}

#[test]
fn bounces_are_recognised_with_what_they_report_on() {
    let dir = fixtures();
    let d = dir.join("parsing");
    for (name, original, reason) in [
        (
            "chatwoot__bounced_gmail.eml",
            Some("conversation/93775311-9416-4428-964b-862001f8a8b2/messages/27855337@gmail.com"),
            "Address not found",
        ),
        (
            "mikel_mail__report_422.eml",
            Some("15655788.13.1200472642578.JavaMail.Administrator@mail.ttttt.com.au"),
            "Mailbox full",
        ),
        (
            "spamscope__mail_malformed_2.eml",
            Some("004801d1fc84$01c934ac$b247f0b7$@infospacemail.com"),
            "mailbox full",
        ),
        ("php_mime__failure.eml", None, ""),
    ] {
        let m = mail(&d, name);
        let MailKind::Bounce {
            original: ids,
            reason: said,
        } = &m.kind
        else {
            panic!("{name} is a bounce, read as {:?}", m.kind);
        };
        assert_eq!(ids.first().map(String::as_str), original, "{name}");
        assert!(said.contains(reason), "{name}: {said}");
    }
    // A vacation reply in Hebrew is a person's mail by its headers (no Auto-Submitted).
    assert_eq!(mail(&d, "php_mime__issue149.eml").kind, MailKind::Personal);
}

/// talon's own client samples, whole mails: the reply is "Hello" in each.
#[test]
fn replies_from_common_clients_show_only_the_new_text() {
    let dir = fixtures();
    let d = dir.join("reply_stripping");
    for client in [
        "android",
        "apple_mail",
        "gmail",
        "hotmail",
        "iphone",
        "outlook",
        "yahoo",
    ] {
        let name = format!("talon__{client}.eml");
        let want = expected(&d, &name)["expected_reply"]
            .as_str()
            .unwrap()
            .to_owned();
        let m = mail(&d, &name);
        // talon keeps "Sent from my iPhone"; we cut that footer too (quotes' DEVIATIONS).
        let want = want.trim().trim_end_matches("Sent from my iPhone").trim();
        assert_eq!(visible(&m), want, "{name}");
    }
}

#[test]
fn malformed_structures_are_read_as_far_as_they_go() {
    let dir = fixtures();
    let d = dir.join("parsing");
    // A fuzzed mail whose first header line is broken: the rest is still a mail.
    let m = mail(&d, "stalwart__malformed_019.eml");
    assert_eq!(m.subject.as_deref(), Some("Sprint 3 multipart fixture"));
    let m = mail(&d, "mikel_mail__encoding_madness.eml");
    assert_eq!(visible(&m), "Body Text");
}
