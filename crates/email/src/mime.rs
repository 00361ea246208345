//! Reading an inbound mail: its bytes through a mature MIME parser (`mail-parser`, which
//! decodes every charset and transfer encoding and recovers what it can of broken
//! structures), reduced to what the help desk keeps — who wrote, what they answer, the text
//! they wrote, sanitised HTML, files — and whether a machine wrote it.
//!
//! Nothing here touches storage: this is a pure function of the bytes.

use crate::parts;
use base64::Engine;
use concierge_domain::mail::MailKind;
use mail_parser::{Message, MessageParser, MimeHeaders, PartType};

/// The longest Message-ID we keep; longer ones are cut (RFC 5322 lines stop at 998).
const MAX_ID_LEN: usize = 500;

/// How many Message-IDs of a References header are kept for threading and for the
/// References of our answer (the newest ones).
const MAX_REFERENCES: usize = 30;

/// An inbound mail, read.
#[derive(Debug, Clone)]
pub struct Mail {
    /// Its Message-ID without angle brackets.
    pub message_id: Option<String>,
    /// In-Reply-To's ids.
    pub in_reply_to: Vec<String>,
    /// References' ids, oldest first (at most [`MAX_REFERENCES`], the newest).
    pub references: Vec<String>,
    pub from: Option<Sender>,
    /// The first Reply-To address, if any.
    pub reply_to: Option<String>,
    /// Every address it was delivered to as far as its headers say (To, Cc, Delivered-To,
    /// X-Original-To), for reply tokens.
    pub recipients: Vec<String>,
    pub subject: Option<String>,
    /// Its text/plain body parts, joined.
    pub text: Option<String>,
    /// Its first text/html body part.
    pub html: Option<String>,
    pub files: Vec<File>,
    pub kind: MailKind,
    /// The sender asked not to be answered automatically (`X-Auto-Response-Suppress`), or
    /// the mail went to a list.
    pub no_auto_answer: bool,
    /// Some part could not be decoded as declared (a wrong transfer encoding, a truncated
    /// part); what could be read is kept, and the original is there to look at.
    pub damaged: bool,
    /// Why the mail was not taken apart, when it has more parts than [`MAX_PARTS`] or nests
    /// them deeper than [`MAX_DEPTH`]: then `files` is empty, and the text and HTML are what
    /// its first parts hold.
    pub kept_whole: Option<KeptWhole>,
}

/// The most parts (bodies, files, the multiparts around them, mails inside the mail) a mail
/// is taken apart into. Real mail has a few, a long thread forwarded with its attachments
/// a few dozen.
pub const MAX_PARTS: usize = 500;

/// The deepest a mail's parts are taken apart when they nest (a multipart in a multipart, a
/// mail in a mail). Real mail nests four or five deep, a forward of a forward a few more.
pub const MAX_DEPTH: usize = 20;

/// Why a mail was kept whole rather than taken apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeptWhole {
    /// It has more than [`MAX_PARTS`] parts.
    TooManyParts,
    /// Its parts nest more than [`MAX_DEPTH`] deep.
    TooDeep,
}

impl std::fmt::Display for KeptWhole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeptWhole::TooManyParts => write!(f, "it has more than {MAX_PARTS} parts"),
            KeptWhole::TooDeep => write!(f, "its parts nest more than {MAX_DEPTH} deep"),
        }
    }
}

/// Who a mail says it is from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    pub name: Option<String>,
    pub address: String,
}

/// An attached file or inline image.
#[derive(Debug, Clone)]
pub struct File {
    pub filename: String,
    /// `type/subtype`, lower case: what its bytes are (see [`recorded_type`]), not what the
    /// mail says they are.
    pub content_type: String,
    pub bytes: Vec<u8>,
    /// Its Content-ID without angle brackets, which the HTML refers to as `cid:…`.
    pub content_id: Option<String>,
}

/// Why some bytes are not a mail we can take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unreadable(pub String);

/// Reads a mail from its bytes.
pub fn read(raw: &[u8]) -> Result<Mail, Unreadable> {
    if !has_header_section(raw) {
        return Err(Unreadable(
            "the message has no header section (RFC 5322 header fields, then an empty line)".into(),
        ));
    }
    // Past the limit only the start of the mail is parsed (its header, its first parts),
    // so what parsing costs is bounded by the limit, not by what the sender made of it.
    let count = parts::count(raw, MAX_PARTS);
    let (parsed_bytes, mut kept_whole) = match count.over_at {
        // The mail's own header is always read: who wrote, what about, what it answers.
        Some(at) => (
            &raw[..at.max(header_end(raw))],
            Some(KeptWhole::TooManyParts),
        ),
        None => (raw, None),
    };
    // The parser asserts its own invariants in debug builds, and a mail that trips one must
    // be refused like any unreadable mail, not take the session down.
    let parsed = std::panic::catch_unwind(|| MessageParser::default().parse(parsed_bytes));
    let message = parsed
        .ok()
        .flatten()
        .ok_or_else(|| Unreadable("the message could not be parsed as RFC 5322".into()))?;
    if kept_whole.is_none() {
        let shape = Shape::of(&message);
        // The count is an upper bound; this is the parser's own result, to the part.
        if shape.parts > MAX_PARTS {
            kept_whole = Some(KeptWhole::TooManyParts);
        } else if shape.depth > MAX_DEPTH {
            kept_whole = Some(KeptWhole::TooDeep);
        }
    }
    let from = message
        .from()
        .and_then(|a| a.first())
        .and_then(|a| {
            Some(Sender {
                name: a
                    .name
                    .as_deref()
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(str::to_owned),
                address: a.address.as_deref()?.trim().to_owned(),
            })
        })
        .filter(|s| !s.address.is_empty());
    let reply_to = message
        .reply_to()
        .and_then(|a| a.first())
        .and_then(|a| a.address.as_deref())
        .map(|a| a.trim().to_owned())
        .filter(|a| !a.is_empty());
    let mut recipients: Vec<String> = message
        .all_to()
        .chain(message.all_cc())
        .flat_map(|a| a.iter())
        .filter_map(|a| a.address.as_deref().map(str::to_owned))
        .collect();
    for name in ["Delivered-To", "X-Original-To", "Envelope-To"] {
        for value in message.header_values(name) {
            if let Some(text) = value.as_text() {
                recipients.push(text.trim().to_owned());
            }
        }
    }
    let mut references = ids(message.header_raw("References"));
    if references.len() > MAX_REFERENCES {
        references.drain(..references.len() - MAX_REFERENCES);
    }
    let mut text: Vec<String> = message
        .text_bodies()
        .filter_map(|p| match &p.body {
            PartType::Text(t) if p.is_encoding_problem => Some(recovered(p, t)),
            PartType::Text(t) => Some(t.to_string()),
            _ => None,
        })
        .filter(|t| !t.trim().is_empty())
        .collect();
    let cut_body = text.is_empty();
    if cut_body {
        // A text part cut off before its end is filed with the attachments by the parser;
        // when it is all the text there is, it is the body.
        text = message
            .attachments()
            .filter(|p| is_cut_body(p))
            .filter_map(|p| match &p.body {
                PartType::Text(t) => Some(recovered(p, t)),
                _ => None,
            })
            .filter(|t| !t.trim().is_empty())
            .collect();
    }
    let html = message.html_bodies().find_map(|p| match &p.body {
        PartType::Html(h) => Some(h.to_string()),
        _ => None,
    });
    let (kind, no_auto_answer) = classify(&message, from.as_ref());
    Ok(Mail {
        message_id: message.message_id().and_then(clean_id),
        in_reply_to: ids(message.header_raw("In-Reply-To")),
        references,
        from,
        reply_to,
        recipients,
        subject: message
            .subject()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty()),
        text: (!text.is_empty()).then(|| text.join("\n\n")),
        html,
        files: match kept_whole {
            Some(_) => Vec::new(),
            None => files(&message, cut_body),
        },
        kind,
        no_auto_answer,
        // A mail cut short on purpose is not damaged; the agent is told why it was kept.
        damaged: kept_whole.is_none() && message.parts.iter().any(|p| p.is_encoding_problem),
        kept_whole,
    })
}

/// How many parts a parsed mail has, those of the mails inside it included, and how deep
/// they nest.
struct Shape {
    parts: usize,
    depth: usize,
}

impl Shape {
    fn of(message: &Message) -> Shape {
        let mut shape = Shape {
            parts: message.parts.len(),
            depth: 0,
        };
        // Walked with a stack of its own: how deep a mail nests is what is being found out.
        let mut todo = vec![(message, 0usize, 1usize)];
        while let Some((message, id, depth)) = todo.pop() {
            shape.depth = shape.depth.max(depth);
            match message.parts.get(id).map(|p| &p.body) {
                Some(PartType::Multipart(children)) => todo.extend(
                    children
                        .iter()
                        .map(|&c| c as usize)
                        // Children come after their parent; anything else is no tree.
                        .filter(|&c| c > id)
                        .map(|c| (message, c, depth + 1)),
                ),
                Some(PartType::Message(inner)) => {
                    shape.parts += inner.parts.len();
                    todo.push((inner, 0, depth + 1));
                }
                _ => {}
            }
        }
        shape
    }
}

/// Whether the bytes start with a header section: one of its first lines shaped like a
/// header field (`Name: value`), before any empty line. That is the least a mail must have;
/// without this check any bytes at all would "parse" as a mail with an empty header. A
/// damaged first line (real mail has them) is forgiven when the next ones are fields.
fn has_header_section(raw: &[u8]) -> bool {
    raw.split(|&b| b == b'\n')
        .take(20)
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .take_while(|line| !line.is_empty())
        .any(|line| {
            let name_end = line.iter().position(|&b| b == b':');
            name_end.is_some_and(|i| {
                i > 0 && line[..i].iter().all(|&b| b.is_ascii_graphic() && b != b':')
            })
        })
}

/// Where the mail's own header section ends (after its empty line), or the end of `raw`.
fn header_end(raw: &[u8]) -> usize {
    let mut line_start = 0;
    while let Some(len) = raw[line_start..].iter().position(|&b| b == b'\n') {
        let line = &raw[line_start..line_start + len];
        line_start += len + 1;
        if line.strip_suffix(b"\r").unwrap_or(line).is_empty() {
            return line_start;
        }
    }
    raw.len()
}

/// Whether a part is body text that was cut off: text, undecodable to its end, and neither
/// named nor marked as an attachment.
fn is_cut_body(part: &mail_parser::MessagePart) -> bool {
    part.is_encoding_problem
        && matches!(part.body, PartType::Text(_))
        && part.attachment_name().is_none()
        && !part
            .content_disposition()
            .is_some_and(|d| d.is_attachment())
}

/// The text of a body part that did not decode as declared to its end (a truncated part, a
/// missing boundary): the parser keeps such a part as it stands. Quoted-printable is decoded
/// anyway (plain text survives it), and base64 when every character is base64 (text that is
/// not is taken as it stands: a wrong label, not a cut); then the declared charset applies.
fn recovered(part: &mail_parser::MessagePart, text: &str) -> String {
    let encoding = part
        .content_transfer_encoding()
        .map(|e| e.trim().to_ascii_lowercase());
    let bytes = match encoding.as_deref() {
        Some("quoted-printable") => {
            quoted_printable::decode(text.as_bytes(), quoted_printable::ParseMode::Robust).ok()
        }
        Some("base64") => {
            let clean: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
            let alphabet = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=');
            if clean.iter().all(alphabet) {
                let data: Vec<u8> = clean.into_iter().filter(|&b| b != b'=').collect();
                let whole = data.len() / 4 * 4;
                base64::engine::general_purpose::STANDARD_NO_PAD
                    .decode(&data[..whole])
                    .ok()
            } else {
                None
            }
        }
        _ => None,
    };
    let Some(bytes) = bytes else {
        return text.to_owned();
    };
    let charset = part
        .content_type()
        .and_then(|ct| ct.attribute("charset"))
        .unwrap_or("utf-8");
    let encoding =
        encoding_rs::Encoding::for_label(charset.as_bytes()).unwrap_or(encoding_rs::UTF_8);
    encoding.decode(&bytes).0.into_owned()
}

/// The Message-IDs of an id-list header (In-Reply-To, References), without angle brackets:
/// every `<…>` in it, or, from clients that leave the brackets out, every word with an `@`.
/// Read from the raw header, since real ids break the RFC's grammar (`<tickets/1@host>`)
/// and a strict parser would drop them, and with them the thread.
fn ids(raw: Option<&str>) -> Vec<String> {
    let Some(raw) = raw else { return vec![] };
    let mut out = Vec::new();
    let mut rest = raw;
    while let Some(start) = rest.find('<') {
        let Some(len) = rest[start + 1..].find('>') else {
            break;
        };
        out.extend(clean_id(&rest[start + 1..start + 1 + len]));
        rest = &rest[start + 2 + len..];
    }
    if out.is_empty() {
        out.extend(
            raw.split_whitespace()
                .filter(|w| w.contains('@'))
                .filter_map(clean_id),
        );
    }
    out
}

fn clean_id(id: &str) -> Option<String> {
    let id = id
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim();
    if id.is_empty() || id.chars().any(char::is_control) {
        return None;
    }
    Some(id.chars().take(MAX_ID_LEN).collect())
}

fn header_text<'a>(message: &'a Message, name: &'a str) -> Option<&'a str> {
    message.header_raw(name).map(str::trim)
}

/// Whether a machine wrote the mail — an automatic reply or a bounce, which are stored and
/// never answered — and whether its sender asked not to be answered automatically.
fn classify(message: &Message, from: Option<&Sender>) -> (MailKind, bool) {
    let report = message.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
            && ct
                .attribute("report-type")
                .is_some_and(|r| r.eq_ignore_ascii_case("delivery-status"))
    });
    let from_daemon = from.is_some_and(|f| {
        let local = f
            .address
            .split('@')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        local == "mailer-daemon" || local == "postmaster"
    });
    let subject = message.subject().unwrap_or("").to_ascii_lowercase();
    let bounce_subject = [
        "undeliverable",
        "undelivered mail",
        "delivery status notification",
        "returned mail",
        "failure notice",
        "mail delivery failed",
        "delivery failure",
    ]
    .iter()
    .any(|s| subject.contains(s));
    if report || (from_daemon && bounce_subject) {
        return (
            MailKind::Bounce {
                original: bounced_ids(message),
                reason: bounce_reason(message),
            },
            true,
        );
    }
    let auto_submitted = header_text(message, "Auto-Submitted")
        .is_some_and(|v| !v.to_ascii_lowercase().starts_with("no"));
    let precedence = header_text(message, "Precedence").is_some_and(|v| {
        matches!(
            v.to_ascii_lowercase().as_str(),
            "bulk" | "junk" | "list" | "auto_reply" | "auto-reply"
        )
    });
    let flagged = ["X-Autoreply", "X-Autorespond", "X-Autogenerated"]
        .iter()
        .any(|h| header_text(message, h).is_some());
    let null_sender = header_text(message, "Return-Path").is_some_and(|v| v == "<>");
    let list = ["List-Id", "List-Unsubscribe"]
        .iter()
        .any(|h| header_text(message, h).is_some());
    let suppress = header_text(message, "X-Auto-Response-Suppress").is_some_and(|v| {
        let v = v.to_ascii_lowercase();
        v.contains("all") || v.contains("autoreply") || v.contains("oof")
    });
    if auto_submitted || precedence || flagged || null_sender || from_daemon {
        (MailKind::AutoReply, true)
    } else {
        (MailKind::Personal, suppress || list)
    }
}

/// The Message-IDs of the mail a bounce reports on: the headers of the returned message (a
/// `message/rfc822` or `text/rfc822-headers` part).
fn bounced_ids(message: &Message) -> Vec<String> {
    let mut out = Vec::new();
    for part in &message.parts {
        match &part.body {
            PartType::Message(inner) => {
                out.extend(inner.message_id().and_then(clean_id));
            }
            _ if part.content_type().is_some_and(|ct| {
                ct.subtype()
                    .is_some_and(|s| s.eq_ignore_ascii_case("rfc822-headers"))
            }) =>
            {
                let text = String::from_utf8_lossy(part.contents());
                out.extend(
                    text.lines()
                        .filter_map(|l| {
                            let (name, value) = l.split_once(':')?;
                            name.trim()
                                .eq_ignore_ascii_case("message-id")
                                .then(|| clean_id(value))
                                .flatten()
                        })
                        .take(1),
                );
            }
            _ => {}
        }
    }
    out
}

/// What the receiving server said, from the delivery-status part (its Diagnostic-Code, else
/// its Status), else the first lines of the bounce's text.
fn bounce_reason(message: &Message) -> String {
    let status = message.parts.iter().find(|p| {
        p.content_type().is_some_and(|ct| {
            ct.subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("delivery-status"))
        })
    });
    if let Some(part) = status {
        let text = String::from_utf8_lossy(part.contents()).into_owned();
        for field in ["diagnostic-code", "status"] {
            let found = text.lines().find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.trim()
                    .eq_ignore_ascii_case(field)
                    .then(|| value.trim().to_owned())
            });
            if let Some(v) = found.filter(|v| !v.is_empty()) {
                return v.chars().take(500).collect();
            }
        }
    }
    message
        .body_text(0)
        .map(|t| {
            t.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
                .chars()
                .take(500)
                .collect()
        })
        .filter(|t: &String| !t.is_empty())
        .unwrap_or_else(|| "the receiving server gave no reason".to_owned())
}

/// The mail's attachments and inline images, with names for those that have none; without
/// the cut-off text parts when they became the body.
fn files(message: &Message, cut_body: bool) -> Vec<File> {
    message
        .attachments()
        .filter(|p| !(cut_body && is_cut_body(p)))
        .enumerate()
        .filter_map(|(i, part)| {
            let (ctype, subtype) = part
                .content_type()
                .map(|ct| {
                    (
                        ct.ctype().to_ascii_lowercase(),
                        ct.subtype().unwrap_or("octet-stream").to_ascii_lowercase(),
                    )
                })
                .unwrap_or_else(|| ("application".into(), "octet-stream".into()));
            let (content_type, bytes) = match &part.body {
                PartType::Multipart(_) => return None,
                PartType::Message(inner) => {
                    ("message/rfc822".to_owned(), inner.raw_message().to_vec())
                }
                // Text parts arrive decoded to UTF-8, so they are stored as UTF-8.
                PartType::Text(t) | PartType::Html(t) => (
                    format!("{ctype}/{subtype}; charset=utf-8"),
                    t.as_bytes().to_vec(),
                ),
                PartType::Binary(b) | PartType::InlineBinary(b) => {
                    (format!("{ctype}/{subtype}"), b.to_vec())
                }
            };
            let filename = part
                .attachment_name()
                .map(clean_filename)
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| {
                    let ext = match (ctype.as_str(), subtype.as_str()) {
                        ("message", "rfc822") => "eml",
                        ("text", "plain") => "txt",
                        ("text", "html") => "html",
                        ("image", s) => match s {
                            "jpeg" => "jpg",
                            "png" | "gif" | "webp" => s,
                            _ => "img",
                        },
                        (_, "pdf") => "pdf",
                        _ => "bin",
                    };
                    format!("attachment-{}.{ext}", i + 1)
                });
            Some(File {
                filename,
                content_type: recorded_type(&bytes, content_type),
                bytes,
                content_id: part.content_id().and_then(clean_id),
            })
        })
        .collect()
}

/// The type a file is recorded as, from its bytes rather than from what the mail claims:
/// the type its magic numbers show, when they show one (with the claim's parameters when
/// they agree); a claim no magic number can check (text, a mail, SVG) as claimed, which
/// never makes a file shown in a page; and `application/octet-stream` for a claim its bytes
/// disprove, such as a page that says it is a PNG.
pub fn recorded_type(bytes: &[u8], claimed: String) -> String {
    let essence = claimed.split(';').next().unwrap_or("").trim();
    match infer::get(bytes).map(|t| t.mime_type()) {
        Some(sniffed) if sniffed == essence => claimed,
        Some(sniffed) => sniffed.to_owned(),
        None if infer::is_mime_supported(essence) => "application/octet-stream".to_owned(),
        None => claimed,
    }
}

/// A file name safe to show and to offer as a download: no path, no control characters,
/// at most 200 characters.
fn clean_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    base.chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect::<String>()
        .trim()
        .trim_start_matches('.')
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_reply_is_read_with_its_threading_headers() {
        let raw = b"From: \"Ann Lee\" <ann@example.com>\r\nTo: support@shop.example\r\n\
Subject: Re: Order 1001\r\nMessage-ID: <b@example.com>\r\nIn-Reply-To: <a@shop.example>\r\n\
References: <x@shop.example> <a@shop.example>\r\n\r\nThanks!\r\n";
        let m = read(raw).unwrap();
        assert_eq!(m.message_id.as_deref(), Some("b@example.com"));
        assert_eq!(m.in_reply_to, ["a@shop.example"]);
        assert_eq!(m.references, ["x@shop.example", "a@shop.example"]);
        assert_eq!(ids(Some("<tickets/1@host> junk")), ["tickets/1@host"]);
        assert_eq!(ids(Some(" bare@id.example ")), ["bare@id.example"]);
        assert!(ids(Some("no ids here")).is_empty());
        assert_eq!(
            m.from,
            Some(Sender {
                name: Some("Ann Lee".into()),
                address: "ann@example.com".into()
            })
        );
        assert_eq!(m.recipients, ["support@shop.example"]);
        assert_eq!(m.text.as_deref().map(str::trim), Some("Thanks!"));
        assert_eq!(m.kind, MailKind::Personal);
        assert!(!m.damaged);
    }

    #[test]
    fn bytes_without_a_header_section_are_refused() {
        for raw in [
            &b""[..],
            b"hello there",
            b"\x00\x01\x02",
            b": no name\r\n\r\nbody",
            b"\r\nFrom: after the end of the header\r\n",
        ] {
            assert!(read(raw).is_err(), "{raw:?}");
        }
    }

    #[test]
    fn a_damaged_first_line_is_forgiven() {
        let raw = b"Fro :m broken\r\nFrom: ann@example.com\r\nSubject: Hi\r\n\r\nBody\r\n";
        assert_eq!(read(raw).unwrap().subject.as_deref(), Some("Hi"));
    }

    #[test]
    fn a_cut_off_part_is_decoded_as_far_as_it_goes() {
        let qp =
            b"From: a@x.example\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
Gr=FC=DFe aus K=F6ln, mit einem langen Satz der wei=\r\nter geht\r\n";
        let m = read(qp).unwrap();
        assert!(m.damaged);
        assert_eq!(
            m.text.as_deref().map(str::trim),
            Some("Grüße aus Köln, mit einem langen Satz der weiter geht")
        );
        // Text labelled base64 that is not base64 stays as it is.
        let wrong = b"From: a@x.example\r\nContent-Transfer-Encoding: base64\r\n\r\nNot base64, plainly!\r\n";
        assert_eq!(
            read(wrong).unwrap().text.as_deref().map(str::trim),
            Some("Not base64, plainly!")
        );
    }

    #[test]
    fn auto_replies_and_lists_are_recognised() {
        let ooo = b"From: ann@example.com\r\nAuto-Submitted: auto-replied\r\nSubject: Out of office\r\n\r\nAway.\r\n";
        assert_eq!(read(ooo).unwrap().kind, MailKind::AutoReply);
        let no = b"From: ann@example.com\r\nAuto-Submitted: no\r\n\r\nHi\r\n";
        assert_eq!(read(no).unwrap().kind, MailKind::Personal);
        let bulk = b"From: news@example.com\r\nPrecedence: bulk\r\n\r\nHi\r\n";
        assert_eq!(read(bulk).unwrap().kind, MailKind::AutoReply);
        let list = b"From: ann@example.com\r\nList-Id: <x.lists.example>\r\n\r\nHi\r\n";
        let list = read(list).unwrap();
        assert_eq!(list.kind, MailKind::Personal);
        assert!(list.no_auto_answer);
    }

    /// A multipart/mixed mail: a text part, then `files` tiny files.
    fn many_parts(files: usize) -> Vec<u8> {
        let mut raw = b"From: a@x.example\r\nSubject: Pages\r\n\
Content-Type: multipart/mixed; boundary=\"P\"\r\n\r\n\
--P\r\nContent-Type: text/plain\r\n\r\nSee the pages.\r\n"
            .to_vec();
        for i in 0..files {
            raw.extend_from_slice(
                format!("--P\r\nContent-Type: application/octet-stream\r\n\r\n{i}\r\n").as_bytes(),
            );
        }
        raw.extend_from_slice(b"--P--\r\n");
        raw
    }

    #[test]
    fn mail_of_many_parts_is_taken_apart_up_to_the_limit_and_kept_whole_past_it() {
        let m = read(&many_parts(MAX_PARTS - 10)).unwrap();
        assert_eq!(m.kept_whole, None);
        assert_eq!(m.files.len(), MAX_PARTS - 10);
        let m = read(&many_parts(60_000)).unwrap();
        assert_eq!(m.kept_whole, Some(KeptWhole::TooManyParts));
        assert!(m.files.is_empty());
        assert_eq!(m.text.as_deref().map(str::trim), Some("See the pages."));
        assert_eq!(m.subject.as_deref(), Some("Pages"));
        assert!(!m.damaged, "cut short on purpose, not damaged");
    }

    #[test]
    fn mail_nested_past_the_limit_is_kept_whole() {
        let mut raw = b"From: a@x.example\r\n".to_vec();
        for level in 0..MAX_DEPTH + 5 {
            raw.extend_from_slice(
                format!(
                    "Content-Type: multipart/mixed; boundary=\"L{level}\"\r\n\r\n--L{level}\r\n"
                )
                .as_bytes(),
            );
        }
        raw.extend_from_slice(b"Content-Type: text/plain\r\n\r\nDeep down.\r\n");
        let m = read(&raw).unwrap();
        assert_eq!(m.kept_whole, Some(KeptWhole::TooDeep));
        assert_eq!(m.text.as_deref().map(str::trim), Some("Deep down."));
    }

    /// `depth` mails, each the only part of the one around it, as a header line each;
    /// base64-encoded as a whole when `encoded`.
    fn mails_in_mails(depth: usize) -> Vec<u8> {
        let mut raw = b"From: a@x.example\r\nSubject: Nested\r\n".to_vec();
        for _ in 0..depth {
            raw.extend_from_slice(b"Content-Type: message/rfc822\r\n\r\n");
        }
        raw.extend_from_slice(b"Subject: inside\r\n\r\nhello\r\n");
        raw
    }

    #[test]
    fn a_hundred_thousand_mails_in_a_mail_are_counted_not_parsed() {
        // Parsed, they once overflowed the stack and took the process down.
        let m = read(&mails_in_mails(100_000)).unwrap();
        assert!(m.kept_whole.is_some());
        assert_eq!(m.subject.as_deref(), Some("Nested"));
        assert!(m.files.is_empty());
        assert_eq!(read(&mails_in_mails(3)).unwrap().kept_whole, None);
    }

    #[test]
    fn parts_inside_an_encoded_mail_are_counted_too() {
        let inner = base64::engine::general_purpose::STANDARD.encode(many_parts(60_000));
        let lines: Vec<&str> = inner
            .as_bytes()
            .chunks(76)
            .map(|l| std::str::from_utf8(l).unwrap())
            .collect();
        let raw = format!(
            "From: a@x.example\r\nSubject: Forward\r\nContent-Type: multipart/mixed; boundary=\"F\"\r\n\r\n\
--F\r\nContent-Type: text/plain\r\n\r\nForwarding this.\r\n\
--F\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--F--\r\n",
            lines.join("\r\n")
        );
        let m = read(raw.as_bytes()).unwrap();
        assert_eq!(m.kept_whole, Some(KeptWhole::TooManyParts));
        assert_eq!(m.text.as_deref().map(str::trim), Some("Forwarding this."));
        let deep = base64::engine::general_purpose::STANDARD.encode(mails_in_mails(100_000));
        let raw = format!(
            "From: a@x.example\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n{deep}\r\n"
        );
        assert!(read(raw.as_bytes()).unwrap().kept_whole.is_some());
    }

    #[test]
    fn files_are_recorded_as_what_their_bytes_are() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01";
        let page = b"<html><script>alert(1)</script></html>";
        assert_eq!(recorded_type(png, "image/png".into()), "image/png");
        assert_eq!(recorded_type(png, "image/jpeg".into()), "image/png");
        assert_eq!(recorded_type(png, "text/plain".into()), "image/png");
        assert_eq!(recorded_type(page, "image/png".into()), "text/html");
        assert_eq!(
            recorded_type(b"not a picture", "image/png".into()),
            "application/octet-stream"
        );
        assert_eq!(
            recorded_type(b"Hello", "text/plain; charset=utf-8".into()),
            "text/plain; charset=utf-8"
        );
        assert_eq!(
            recorded_type(b"<svg/>", "image/svg+xml".into()),
            "image/svg+xml"
        );
    }

    #[test]
    fn file_names_lose_paths_and_control_characters() {
        assert_eq!(clean_filename("../../etc/passwd"), "passwd");
        assert_eq!(
            clean_filename("C:\\Users\\ann\\r\u{7}eceipt.pdf"),
            "receipt.pdf"
        );
        assert_eq!(clean_filename(".hidden"), "hidden");
    }
}
