//! Where inbound mail arrives, from the SMTP listener and the raw-MIME webhook alike. Each
//! mail is read, its bytes and files stored, its new text cut from the quoted history, an
//! acknowledgement prepared when it may get one — then the store threads it, exactly once,
//! in one transaction. Only after that does the caller answer the sender.

use crate::mime::{self, Mail};
use crate::{html, quotes};
use concierge_domain::contact::EmailAddress;
use concierge_domain::conversation::{Channel, SenderType};
use concierge_domain::ids::AttachmentId;
use concierge_domain::mail::{is_robot_address, recipient, MailKind, Recipient, ReplyToken};
use concierge_domain::replies::{check_variables, fill, first_name};
use concierge_domain::text::{MessageBody, PersonName, Subject, MAX_BODY_CHARS};
use concierge_domain::Invalid;
use concierge_store::conversations::{NewAttachment, NewMessage};
use concierge_store::customers::CustomerRef;
use concierge_store::files::{content_key, FileStore};
use concierge_store::inbound::Inbound;
use concierge_store::mail::{InboundEmail, Receipt};
use concierge_store::{Store, StoreError};
use std::sync::Arc;
use tokio::sync::Notify;

/// Above this size a mail is parsed on a blocking thread, so a 25 MB message does not hold
/// up the other sessions on its async worker.
const PARSE_INLINE_BYTES: usize = 256 * 1024;

/// The variables an acknowledgement may use.
pub const ACKNOWLEDGEMENT_VARIABLES: &[(&str, &str)] = &[
    ("customer.name", "the sender's name as their mail gives it"),
    (
        "customer.first_name",
        "the first word of it (\"there\" when the mail gives no name)",
    ),
    ("customer.email", "the sender's address"),
    ("conversation.subject", "the mail's subject"),
    (
        "shop.name",
        "the support display name (CONCIERGE_SUPPORT_NAME)",
    ),
    ("shop.email", "the support address"),
];

/// The acknowledgement sent when nothing else is configured.
pub const DEFAULT_ACKNOWLEDGEMENT: &str = "Hi {{customer.first_name}},\n\n\
Thanks for your message. We have received it, and someone from our team will get back to \
you as soon as possible. If you have anything to add, just reply to this email.\n\n\
{{shop.name}}";

/// Checks an acknowledgement template: every `{{…}}` must name one of
/// [`ACKNOWLEDGEMENT_VARIABLES`].
pub fn check_acknowledgement(template: &str) -> Result<(), Invalid> {
    check_variables(template, ACKNOWLEDGEMENT_VARIABLES)
}

/// What the mail channel is configured with.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// Mail to it (and its plus forms) is the shop's; mail from us comes from it.
    pub support_address: EmailAddress,
    /// The display name on mail we send.
    pub support_name: String,
    /// The acknowledgement for new email conversations; `None` sends none.
    pub acknowledgement: Option<String>,
    /// The largest mail accepted, in bytes.
    pub max_message_bytes: usize,
}

/// Where an SMTP transaction said the mail goes; empty for the webhook.
#[derive(Debug, Clone, Default)]
pub struct Envelope {
    /// The MAIL FROM address (empty for bounces).
    pub mail_from: Option<String>,
    pub recipients: Vec<String>,
}

/// Why a mail was not taken.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// It will never be taken as it is; the sender is told why.
    #[error("{0}")]
    Refused(String),
    #[error("the message is larger than the limit of {0} bytes")]
    TooLarge(usize),
    /// Storage failed; nothing was kept, and the sender should try again later.
    #[error("{0}")]
    Unavailable(String),
}

impl From<StoreError> for IntakeError {
    fn from(e: StoreError) -> Self {
        // Whatever went wrong in storage, the sender keeps the mail and retries: bouncing
        // it would lose the shopper's words over a problem on our side.
        tracing::error!(error = %e, "an inbound mail could not be stored");
        IntakeError::Unavailable("the message could not be stored; try again later".into())
    }
}

/// The intake for inbound mail. Cheap to share behind an `Arc`.
pub struct Mailroom {
    store: Store,
    files: Arc<dyn FileStore>,
    settings: MailSettings,
    worker: Option<Arc<Notify>>,
}

impl Mailroom {
    pub fn new(store: Store, files: Arc<dyn FileStore>, settings: MailSettings) -> Self {
        Mailroom {
            store,
            files,
            settings,
            worker: None,
        }
    }

    /// Pokes `worker` when a mail queued work that is due now (an acknowledgement), so it is
    /// sent without waiting for the worker's next look at the queue.
    pub fn with_worker(mut self, worker: Arc<Notify>) -> Self {
        self.worker = Some(worker);
        self
    }

    pub fn settings(&self) -> &MailSettings {
        &self.settings
    }

    /// Whether mail for `address` is ours: the support address or one of its plus forms.
    pub fn accepts(&self, address: &str) -> bool {
        recipient(&self.settings.support_address, address).is_some()
    }

    /// Takes one mail: returns once it is stored (or was stored before), and only then may
    /// the sender be told it was accepted.
    pub async fn receive(&self, raw: Vec<u8>, envelope: &Envelope) -> Result<Receipt, IntakeError> {
        if raw.len() > self.settings.max_message_bytes {
            return Err(IntakeError::TooLarge(self.settings.max_message_bytes));
        }
        let (raw, read) = if raw.len() > PARSE_INLINE_BYTES {
            tokio::task::spawn_blocking(move || {
                let read = read(&raw);
                (raw, read)
            })
            .await
            .map_err(|e| IntakeError::Unavailable(format!("the parser stopped: {e}")))?
        } else {
            let read = read(&raw);
            (raw, read)
        };
        let read = read.map_err(|e| IntakeError::Refused(e.0))?;
        let inbound = self.prepare(raw, read, envelope).await?;
        let receipt = self.store.receive_email(inbound).await?;
        if let (
            Receipt::Opened {
                acknowledged: true, ..
            },
            Some(worker),
        ) = (&receipt, &self.worker)
        {
            worker.notify_one();
        }
        Ok(receipt)
    }

    /// Everything the store needs, with the mail's bytes and files stored first: a row may
    /// name them only once they are on disk.
    async fn prepare(
        &self,
        raw: Vec<u8>,
        read: Read,
        envelope: &Envelope,
    ) -> Result<InboundEmail, IntakeError> {
        let Read {
            mail,
            reply,
            html,
            file_ids,
        } = read;
        let support = &self.settings.support_address;
        let from = mail
            .from
            .as_ref()
            .and_then(|f| EmailAddress::parse(&f.address).ok())
            .or_else(|| {
                envelope
                    .mail_from
                    .as_deref()
                    .and_then(|a| EmailAddress::parse(a).ok())
            })
            .ok_or_else(|| {
                IntakeError::Refused("the message has no valid sender address (From)".into())
            })?;
        let from_name = mail
            .from
            .as_ref()
            .and_then(|f| f.name.as_deref())
            .and_then(|n| PersonName::parse(&one_line(n, PersonName::MAX_CHARS)).ok());
        let reply_address = mail
            .reply_to
            .as_deref()
            .and_then(|a| EmailAddress::parse(a).ok())
            .unwrap_or_else(|| from.clone());
        let tokens = envelope
            .recipients
            .iter()
            .chain(&mail.recipients)
            .filter_map(|r| match recipient(support, r) {
                Some(Recipient::Tagged(tag)) => ReplyToken::parse(&tag).ok(),
                _ => None,
            })
            .collect();
        let message_key = mail
            .message_id
            .clone()
            .unwrap_or_else(|| format!("sha256:{}", content_key(&raw)));
        let answers = mail
            .in_reply_to
            .iter()
            .chain(mail.references.iter().rev())
            .cloned()
            .collect();
        let reference_chain = mail
            .references
            .iter()
            .chain(&mail.message_id)
            .cloned()
            .collect::<Vec<_>>()
            .join(" ");
        let subject = mail
            .subject
            .as_deref()
            .and_then(|s| Subject::parse(&one_line(s, Subject::MAX_CHARS)).ok());

        let acknowledgement = self.acknowledgement(&mail, &from, from_name.as_ref());
        let raw_len = raw.len() as i64;
        let raw_key = self.files.put(raw).await?;
        let mut attachments = Vec::with_capacity(mail.files.len());
        if mail.kept_whole.is_some() {
            // Its one file is the whole mail: the bytes already stored as its original.
            attachments.push(NewAttachment {
                id: AttachmentId::generate(),
                filename: WHOLE_MAIL.to_owned(),
                content_type: "message/rfc822".to_owned(),
                size_bytes: raw_len,
                storage_key: raw_key.clone(),
            });
        }
        for (file, id) in mail.files.into_iter().zip(file_ids) {
            let size_bytes = file.bytes.len() as i64;
            let storage_key = self.files.put(file.bytes).await?;
            attachments.push(NewAttachment {
                id,
                filename: file.filename,
                content_type: file.content_type,
                size_bytes,
                storage_key,
            });
        }

        let mut visible = clean_text(&reply.visible);
        if visible.is_empty() {
            visible = if attachments.is_empty() {
                "(no text)".to_owned()
            } else {
                let names: Vec<&str> = attachments.iter().map(|a| a.filename.as_str()).collect();
                format!("(no text; attached: {})", names.join(", "))
            };
        }
        if let Some(why) = mail.kept_whole {
            visible.push_str(&format!(
                "\n\n[This mail was kept whole, not taken apart, because {why}: its text is \
                 shown as far as it was read, and all of it is in {WHOLE_MAIL}.]"
            ));
        }
        if mail.damaged {
            visible.push_str(
                "\n\n[Part of this mail could not be decoded as its sender declared it; \
                 the original is kept as it arrived.]",
            );
        }
        let body = MessageBody::parse(&truncate(&visible, MAX_BODY_CHARS))
            .map_err(|e| IntakeError::Refused(format!("the message text: {e}")))?;
        let quoted = Some(clean_text(&reply.quoted)).filter(|q| !q.is_empty());

        let message = NewMessage {
            body_html: html,
            attachments,
            quoted,
            sender_address: Some(from.as_str().to_owned()),
            ..NewMessage::text(SenderType::Customer, body)
        }
        .read_with(concierge_intents::read);
        Ok(InboundEmail {
            inbound: Inbound {
                channel: Channel::Email,
                from: CustomerRef {
                    name: from_name,
                    email: Some(from.clone()),
                    ..CustomerRef::default()
                },
                key: Some(message_key),
                subject,
                message,
            },
            from,
            answers,
            tokens,
            reply_address,
            reference_chain,
            kind: mail.kind,
            raw_key,
            acknowledgement,
        })
    }

    /// The acknowledgement for a mail that opens a conversation, unless it must get none: a
    /// machine wrote it, its sender asked for none, it came from a robot address or from the
    /// support address itself. (One more rule waits for the write: at most one per sender in
    /// `acknowledgement_interval`, which the store checks and records at once.)
    fn acknowledgement(
        &self,
        mail: &Mail,
        from: &EmailAddress,
        name: Option<&PersonName>,
    ) -> Option<MessageBody> {
        let template = self.settings.acknowledgement.as_deref()?;
        if mail.kind != MailKind::Personal
            || mail.no_auto_answer
            || is_robot_address(from)
            || recipient(&self.settings.support_address, from.as_str()).is_some()
        {
            return None;
        }
        let filled = fill(template, |var| match var {
            "customer.name" => name.map(|n| n.as_str().to_owned()),
            "customer.first_name" => {
                Some(name.map_or("there", |n| first_name(n.as_str())).to_owned())
            }
            "customer.email" => Some(from.as_str().to_owned()),
            "conversation.subject" => mail.subject.clone(),
            "shop.name" => Some(self.settings.support_name.clone()),
            "shop.email" => Some(self.settings.support_address.as_str().to_owned()),
            _ => None,
        });
        MessageBody::parse(&truncate(&filled.text, MAX_BODY_CHARS)).ok()
    }
}

/// The name of the one file of a mail kept whole: the mail itself.
const WHOLE_MAIL: &str = "message.eml";

/// The largest HTML body rendered as text and sanitised, in bytes. Real mail is far smaller;
/// past this the agent sees the start, and the whole mail stays in the original.
const MAX_HTML: usize = 2 * 1024 * 1024;

/// A mail read: parsed, its new text cut from the rest, its HTML sanitised, and ids chosen
/// for its files (so the HTML can point at them before they are stored). All CPU work, none
/// of it I/O, so a large mail can be read on a blocking thread.
struct Read {
    mail: Mail,
    reply: quotes::Reply,
    html: Option<String>,
    file_ids: Vec<AttachmentId>,
}

fn read(raw: &[u8]) -> Result<Read, mime::Unreadable> {
    let mut mail = mime::read(raw)?;
    if let Some(html) = &mut mail.html {
        if html.len() > MAX_HTML {
            let mut cut = MAX_HTML;
            while !html.is_char_boundary(cut) {
                cut -= 1;
            }
            html.truncate(cut);
        }
    }
    let (inline, file_ids) = html::InlineImages::for_files(&mail.files);
    let reply = match (&mail.text, &mail.html) {
        (Some(text), _) => quotes::split(text),
        (None, Some(html)) => quotes::split_html(html),
        (None, None) => quotes::Reply::default(),
    };
    let html = mail.html.as_deref().map(|h| html::sanitise(h, &inline));
    Ok(Read {
        mail,
        reply,
        html,
        file_ids,
    })
}

/// Text as the store takes it: line ends as `\n`, no control characters but line breaks and
/// tabs (mail may carry NUL and worse), trimmed.
fn clean_text(text: &str) -> String {
    text.replace("\r\n", "\n")
        .chars()
        .map(|c| match c {
            '\r' => '\n',
            c if c.is_control() && c != '\n' && c != '\t' => ' ',
            c => c,
        })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// A header value as one line of at most `max` characters.
fn one_line(text: &str, max: usize) -> String {
    text.split(|c: char| c.is_control())
        .flat_map(str::split_whitespace)
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(max)
        .collect()
}

/// At most `max` characters; a cut text says where the rest is.
fn truncate(text: &str, max: usize) -> String {
    const MORE: &str = "\n\n[…the rest is in the original mail.]";
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let keep = max - MORE.chars().count();
    let mut out: String = text.chars().take(keep).collect();
    out.push_str(MORE);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_loses_control_characters_but_keeps_lines() {
        assert_eq!(clean_text("a\0b\r\nc\u{7}\td\r"), "a b\nc \td");
    }

    #[test]
    fn header_values_become_one_bounded_line() {
        assert_eq!(
            one_line("Ann\r\nBcc: x@evil.example", 200),
            "Ann Bcc: x@evil.example"
        );
        assert_eq!(one_line("é".repeat(600).as_str(), 500).chars().count(), 500);
    }

    #[test]
    fn long_text_is_cut_within_the_limit() {
        let cut = truncate(&"x".repeat(MAX_BODY_CHARS + 10), MAX_BODY_CHARS);
        assert_eq!(cut.chars().count(), MAX_BODY_CHARS);
        assert!(cut.ends_with("original mail.]"));
        assert!(MessageBody::parse(&cut).is_ok());
    }

    #[test]
    fn acknowledgement_templates_name_known_variables() {
        assert!(check_acknowledgement(DEFAULT_ACKNOWLEDGEMENT).is_ok());
        assert!(check_acknowledgement("Hi {{order.number}}").is_err());
        assert!(check_acknowledgement("Hi {{customer.name").is_err());
    }
}
