//! Outbound mail: a public message on an email conversation — an agent's reply, an
//! acknowledgement — sent through the shop's relay by the [`Deliver`] job handler.
//!
//! Every mail goes from the support address, multipart (plain text and HTML), with a
//! Message-ID made from the message's id (so a resend after a crash carries the same id,
//! which mail systems recognise as the same mail), In-Reply-To and References pointing at
//! the shopper's newest mail, and a Reply-To carrying the conversation's reply token, so the
//! shopper's answer threads back even if their client drops the headers.
//!
//! Failures: a temporary one (a 4xx, a refused or timed-out connection) is retried with
//! backoff by the job queue, and after the last attempt the message is marked failed; a
//! permanent one (a 5xx) marks it failed at once, with the relay's words for the agent.
//! A message that is no longer pending (sent, or failed) is never sent again.

use crate::mailroom::MailSettings;
use concierge_domain::conversation::{Channel, DeliveryStatus, SenderType};
use concierge_domain::ids::{ChatSessionId, MessageId};
use concierge_domain::mail::{subject_key, ReplyToken};
use concierge_domain::text::escape_html as escape;
use concierge_jobs::{Handler, JobError};
use concierge_store::files::FileStore;
use concierge_store::jobs::payloads;
use concierge_store::jobs::Job;
use concierge_store::mail::OutboundEmail;
use concierge_store::Store;
use futures::future::BoxFuture;
use futures::FutureExt;
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// How long one conversation with the relay may take. It must stay well inside a job's
/// lease, or another worker could claim the job while this send is still running.
const RELAY_TIMEOUT: Duration = Duration::from_secs(30);

/// The shop's outbound relay.
#[derive(Clone)]
pub struct Relay {
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl Relay {
    /// A relay from its URL: `smtp://host:port` (plain, or `?tls=required` /
    /// `?tls=opportunistic` for STARTTLS) or `smtps://user:pass@host:port` (TLS from the
    /// start, with credentials).
    pub fn from_url(url: &str) -> Result<Relay, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("the relay URL is not usable: {e}"))?
            .timeout(Some(RELAY_TIMEOUT))
            .build();
        Ok(Relay { transport })
    }
}

/// A mail no conversation holds: a notice to a shopper about their parcel.
#[derive(Debug, Clone)]
pub struct Notice {
    pub to: String,
    pub to_name: Option<String>,
    pub subject: String,
    pub text: String,
    /// The link that stops these mails, also offered as `List-Unsubscribe` (RFC 8058 one
    /// click), so mail clients show their own button.
    pub unsubscribe_url: Option<String>,
    /// Unique per notice, so a resend after a crash carries the same Message-ID.
    pub key: String,
}

/// Why a notice was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Worth trying again later (a relay that is down, a 4xx).
    Temporary(String),
    /// Never going to work (a 5xx, an address that is not one).
    Permanent(String),
}

impl Relay {
    /// Sends a notice from the support address: plain text and its escaped HTML, marked
    /// automatic so auto-responders leave it alone.
    pub async fn send_notice(&self, settings: &MailSettings, n: &Notice) -> Result<(), SendError> {
        let to = Mailbox::new(
            n.to_name.as_deref().map(header_text),
            n.to.parse().map_err(|e| {
                SendError::Permanent(format!("the address {:?} is not usable: {e}", n.to))
            })?,
        );
        let from = Mailbox::new(
            Some(header_text(&settings.support_name)),
            settings.support_address.as_str().parse().map_err(|e| {
                SendError::Permanent(format!("the support address is not usable: {e}"))
            })?,
        );
        let mut builder = Message::builder()
            .from(from)
            .to(to)
            .subject(header_text(&n.subject))
            .message_id(Some(format!(
                "<{}@{}>",
                n.key,
                settings.support_address.domain()
            )))
            .header(AutoSubmitted);
        if let Some(url) = &n.unsubscribe_url {
            builder = builder
                .header(ListUnsubscribe(format!("<{}>", header_text(url))))
                .header(OneClick);
        }
        let mail = builder
            .multipart(
                MultiPart::alternative()
                    .singlepart(SinglePart::plain(n.text.clone()))
                    .singlepart(SinglePart::html(text_to_html(&n.text))),
            )
            .map_err(|e| SendError::Permanent(format!("the mail could not be built: {e}")))?;
        match self.transport.send(mail).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(SendError::Permanent(format!(
                "the relay refused the mail: {e}"
            ))),
            Err(e) => Err(SendError::Temporary(format!(
                "the relay could not take the mail: {e}"
            ))),
        }
    }
}

/// `List-Unsubscribe: <url>` (RFC 2369).
#[derive(Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribe(s.to_owned()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058).
#[derive(Clone)]
struct OneClick;

impl Header for OneClick {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(OneClick)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_owned())
    }
}

/// `Auto-Submitted: auto-replied` (RFC 3834) on mail no person wrote, so other systems'
/// auto-responders leave it unanswered.
#[derive(Clone)]
struct AutoSubmitted;

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "auto-replied".to_owned())
    }
}

/// Sends email conversations' outbound messages (jobs of kind `email.deliver`).
pub struct Deliver {
    store: Store,
    files: Arc<dyn FileStore>,
    relay: Relay,
    settings: MailSettings,
}

impl Deliver {
    pub fn new(
        store: Store,
        files: Arc<dyn FileStore>,
        relay: Relay,
        settings: MailSettings,
    ) -> Self {
        Deliver {
            store,
            files,
            relay,
            settings,
        }
    }

    async fn deliver(&self, job: &Job, id: MessageId) -> Result<(), JobError> {
        let out = self.store.outbound_email(&id).await?;
        if out.message.delivery_status != Some(DeliveryStatus::Pending) {
            // Sent (or given up on) by an earlier run of this job.
            return Ok(());
        }
        if out.channel != Channel::Email {
            return Err(JobError::Permanent(format!(
                "message {id} is on the {} channel, not email",
                out.channel
            )));
        }
        let (mail, message_key) = match self.compose(&out).await {
            Ok(composed) => composed,
            Err(reason) => return self.give_up(&id, &reason).await,
        };
        let raw = mail.formatted();
        // Kept before sending: once the relay has the mail, the only write left is the one
        // that records it, so little can stand between a send and its record.
        let raw_key = match self.files.put(raw.clone()).await {
            Ok(key) => Some(key),
            Err(e) => {
                tracing::warn!(error = %e, "cannot keep a copy of an outbound mail");
                None
            }
        };
        match self.relay.transport.send_raw(mail.envelope(), &raw).await {
            Ok(_) => {
                self.record_sent(&id, &message_key, raw_key.as_deref())
                    .await
            }
            Err(e) if e.is_permanent() => {
                let reason = format!("the relay refused the mail: {e}");
                self.give_up(&id, &reason).await
            }
            Err(e) => {
                let reason = format!("the relay could not take the mail yet: {e}");
                if job.attempts >= job.max_attempts {
                    self.store
                        .record_delivery(&id, DeliveryStatus::Failed, Some(&reason))
                        .await?;
                }
                Err(JobError::Retry(reason))
            }
        }
    }

    /// Marks the message failed for good, with `reason` for the agent.
    async fn give_up(&self, id: &MessageId, reason: &str) -> Result<(), JobError> {
        self.store
            .record_delivery(id, DeliveryStatus::Failed, Some(reason))
            .await?;
        Err(JobError::Permanent(reason.to_owned()))
    }

    /// Records a sent mail. The relay has it now, so running the job again would send it
    /// twice: the record is retried here a few times before the job is let fail.
    async fn record_sent(
        &self,
        id: &MessageId,
        message_key: &str,
        raw_key: Option<&str>,
    ) -> Result<(), JobError> {
        let mut last = None;
        for pause in [0, 100, 500, 2000] {
            tokio::time::sleep(Duration::from_millis(pause)).await;
            match self.store.email_sent(id, message_key, raw_key).await {
                Ok(()) => return Ok(()),
                Err(e) => {
                    tracing::warn!(error = %e, message = %id, "a sent mail could not be recorded yet");
                    last = Some(e);
                }
            }
        }
        Err(last.map_or_else(|| JobError::Retry("not recorded".into()), JobError::from))
    }

    /// The mail for a message, and its Message-ID without brackets.
    async fn compose(&self, out: &OutboundEmail) -> Result<(Message, String), String> {
        let support = &self.settings.support_address;
        let domain = support.domain();
        let to_address = out
            .answering
            .as_ref()
            .and_then(|a| a.reply_address.clone())
            .or_else(|| out.customer_email.clone())
            .ok_or("the customer has no email address")?;
        let to = Mailbox::new(
            out.customer_name.as_deref().map(header_text),
            to_address
                .parse()
                .map_err(|e| format!("the customer's address {to_address:?} is not usable: {e}"))?,
        );
        let shop = header_text(&self.settings.support_name);
        let display = match (&out.agent_name, out.message.sender_type) {
            (Some(agent), SenderType::Agent) => format!("{} ({shop})", header_text(agent)),
            _ => shop,
        };
        let from = Mailbox::new(
            Some(display),
            support
                .as_str()
                .parse()
                .map_err(|e| format!("the support address is not usable: {e}"))?,
        );
        let reply_to = match &out.reply_token {
            Some(token) => reply_mailbox(token, support, &self.settings.support_name)?,
            None => from.clone(),
        };
        let message_key = format!("{}@{domain}", out.message.id);
        let subject = match out.subject.as_deref().map(header_text) {
            // Already a reply ("Re: …", "AW: …"): keep it as the shopper's client wrote it.
            Some(s)
                if subject_key(&s)
                    != s.split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ")
                        .to_lowercase() =>
            {
                s
            }
            Some(s) => format!("Re: {s}"),
            None => format!(
                "Your message to {}",
                header_text(&self.settings.support_name)
            ),
        };
        let mut builder = Message::builder()
            .from(from)
            .reply_to(reply_to)
            .to(to)
            .subject(subject)
            .message_id(Some(format!("<{message_key}>")))
            .date(SystemTime::from(out.message.created_at));
        if let Some(answering) = &out.answering {
            builder = builder.in_reply_to(format!("<{}>", answering.message_key));
            let references = answering
                .reference_chain
                .split_whitespace()
                .chain(std::iter::once(answering.message_key.as_str()))
                .collect::<Vec<_>>();
            // The shopper's chain already ends with their mail's id; don't repeat it.
            let mut seen = std::collections::HashSet::new();
            let references: Vec<String> = references
                .into_iter()
                .filter(|r| seen.insert(*r))
                .map(|r| format!("<{r}>"))
                .collect();
            builder = builder.references(references.join(" "));
        }
        if out.message.sender_type != SenderType::Agent {
            builder = builder.header(AutoSubmitted);
        }
        let text = out.message.body.clone();
        let body = MultiPart::alternative()
            .singlepart(SinglePart::plain(text.clone()))
            .singlepart(SinglePart::html(text_to_html(&text)));
        let mail = if out.message.attachments.is_empty() {
            builder.multipart(body)
        } else {
            let mut mixed = MultiPart::mixed().multipart(body);
            for a in &out.message.attachments {
                let bytes = self
                    .files
                    .get(&a.storage_key)
                    .await
                    .map_err(|e| format!("attachment {} is missing: {e}", a.filename))?;
                let content_type = ContentType::parse(&a.content_type).unwrap_or(
                    ContentType::parse("application/octet-stream").expect("a valid type"),
                );
                mixed = mixed.singlepart(
                    Attachment::new(header_text(&a.filename)).body(bytes, content_type),
                );
            }
            builder.multipart(mixed)
        }
        .map_err(|e| format!("the mail could not be built: {e}"))?;
        Ok((mail, message_key))
    }
}

/// Where replies to a conversation's mail go: the support address with its reply token.
fn reply_mailbox(
    token: &ReplyToken,
    support: &concierge_domain::contact::EmailAddress,
    name: &str,
) -> Result<Mailbox, String> {
    let address = token.address(support);
    Ok(Mailbox::new(
        Some(header_text(name)),
        address
            .parse()
            .map_err(|e| format!("the reply address {address:?} is not usable: {e}"))?,
    ))
}

/// A value for a header: one line, so nothing in a name or subject can start a header of
/// its own (header injection), and of a sane length.
fn header_text(text: &str) -> String {
    text.split(|c: char| c.is_control())
        .flat_map(str::split_whitespace)
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(300)
        .collect()
}

/// The HTML part of an outbound mail: the plain text, escaped, its paragraphs and line
/// breaks kept.
fn text_to_html(text: &str) -> String {
    let mut html = String::from("<!DOCTYPE html><html><body>");
    for paragraph in text.split("\n\n").filter(|p| !p.trim().is_empty()) {
        html.push_str("<p>");
        let lines: Vec<String> = paragraph.lines().map(escape).collect();
        html.push_str(&lines.join("<br>\n"));
        html.push_str("</p>\n");
    }
    html.push_str("</body></html>\n");
    html
}

impl Handler for Deliver {
    type Payload = payloads::EmailDeliver;

    fn run<'a>(
        &'a self,
        job: &'a Job,
        payload: payloads::EmailDeliver,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        self.deliver(job, payload.message_id).boxed()
    }
}

/// Sends an agent's answer in a chat to the shopper's email as well, when they asked for
/// that ([`payloads::ChatEmail`] jobs): the conversation goes on by email, and a reply to the
/// mail comes back to it by its reply token. The chat's own delivery stays the record; a
/// shopper who no longer wants mail (no address on the session) gets none.
pub struct EmailChatAnswer {
    deliver: Deliver,
}

impl EmailChatAnswer {
    pub fn new(
        store: Store,
        files: Arc<dyn FileStore>,
        relay: Relay,
        settings: MailSettings,
    ) -> Self {
        EmailChatAnswer {
            deliver: Deliver::new(store, files, relay, settings),
        }
    }

    async fn send(&self, id: MessageId) -> Result<(), JobError> {
        let d = &self.deliver;
        let mut out = d.store.outbound_email(&id).await?;
        let session = d
            .store
            .chat_session_of(&out.message.conversation_id)
            .await?;
        let Some(email) = session.filter(|s| s.email_replies).and_then(|s| s.email) else {
            return Ok(());
        };
        out.customer_email = Some(email.as_str().to_owned());
        out.subject = Some(format!("Your chat with {}", d.settings.support_name));
        let (mail, _) = d.compose(&out).await.map_err(JobError::Permanent)?;
        send(&d.relay, &mail).await
    }
}

impl Handler for EmailChatAnswer {
    type Payload = payloads::ChatEmail;

    fn run<'a>(
        &'a self,
        _job: &'a Job,
        payload: payloads::ChatEmail,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        self.send(payload.message_id).boxed()
    }
}

/// Sends a shopper their chat so far, when they ask for it ([`payloads::ChatTranscript`]
/// jobs), replying to which continues the conversation.
pub struct SendTranscript {
    store: Store,
    relay: Relay,
    settings: MailSettings,
}

impl SendTranscript {
    pub fn new(store: Store, relay: Relay, settings: MailSettings) -> Self {
        SendTranscript {
            store,
            relay,
            settings,
        }
    }

    async fn send(&self, id: ChatSessionId) -> Result<(), JobError> {
        let chat = self.store.chat_transcript(&id).await?;
        let Some(email) = &chat.session.email else {
            return Err(JobError::Permanent("the chat has no email address".into()));
        };
        let shop = header_text(&self.settings.support_name);
        let text = transcript_text(&shop, &chat.messages);
        let from = shop_mailbox(&self.settings)?;
        let reply_to = match &chat.reply_token {
            Some(token) => reply_mailbox(
                token,
                &self.settings.support_address,
                &self.settings.support_name,
            )
            .map_err(JobError::Permanent)?,
            None => from.clone(),
        };
        let name = chat.session.name.as_ref().map(|n| header_text(n.as_str()));
        let mail = shop_mail(
            Message::builder().from(from).reply_to(reply_to),
            shopper_mailbox(name, email)?,
            format!("Your chat with {shop}"),
            &text,
        )?;
        send(&self.relay, &mail).await
    }
}

impl Handler for SendTranscript {
    type Payload = payloads::ChatTranscript;

    fn run<'a>(
        &'a self,
        _job: &'a Job,
        payload: payloads::ChatTranscript,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        self.send(payload.session_id).boxed()
    }
}

/// The [`payloads::ChatConfirmEmail`] job: mails a link to an address a shopper gave in a chat, to
/// prove it is theirs before anything else from the chat goes there. The mail is our words
/// alone: nothing the shopper typed (not even the name they gave) is in it.
pub struct ConfirmChatEmail {
    relay: Relay,
    settings: MailSettings,
    public_url: String,
}

impl ConfirmChatEmail {
    /// `public_url`: the base of the link, without a trailing slash.
    pub fn new(relay: Relay, settings: MailSettings, public_url: String) -> Self {
        ConfirmChatEmail {
            relay,
            settings,
            public_url,
        }
    }

    async fn send(&self, confirm: payloads::ChatConfirmEmail) -> Result<(), JobError> {
        let payloads::ChatConfirmEmail { email, token, .. } = confirm;
        let shop = header_text(&self.settings.support_name);
        let text = format!(
            "Hello,\n\nIn a chat with {shop}, this address was given for email about the chat. \
             To confirm it is yours, open this link and press the button:\n\n\
             {}/chat/confirm/{token}\n\n\
             If it wasn't you, ignore this email: nothing more will be sent.\n\n{shop}\n",
            self.public_url
        );
        let mail = shop_mail(
            Message::builder().from(shop_mailbox(&self.settings)?),
            shopper_mailbox(None, &email)?,
            format!("Confirm your email address for {shop}"),
            &text,
        )?;
        send(&self.relay, &mail).await
    }
}

impl Handler for ConfirmChatEmail {
    type Payload = payloads::ChatConfirmEmail;

    fn run<'a>(
        &'a self,
        _job: &'a Job,
        payload: payloads::ChatConfirmEmail,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        self.send(payload).boxed()
    }
}

/// The shop as a mail's sender: its name on the support address.
fn shop_mailbox(settings: &MailSettings) -> Result<Mailbox, JobError> {
    Ok(Mailbox::new(
        Some(header_text(&settings.support_name)),
        settings
            .support_address
            .as_str()
            .parse()
            .map_err(|e| JobError::Permanent(format!("the support address: {e}")))?,
    ))
}

fn shopper_mailbox(
    name: Option<String>,
    email: &concierge_domain::contact::EmailAddress,
) -> Result<Mailbox, JobError> {
    Ok(Mailbox::new(
        name,
        email
            .as_str()
            .parse()
            .map_err(|e| JobError::Permanent(format!("the shopper's address: {e}")))?,
    ))
}

/// A mail from the shop that no conversation holds (a transcript, a link to confirm an
/// address): automatic, as text and the same text as HTML.
fn shop_mail(
    builder: lettre::message::MessageBuilder,
    to: Mailbox,
    subject: String,
    text: &str,
) -> Result<Message, JobError> {
    builder
        .to(to)
        .subject(subject)
        .header(AutoSubmitted)
        .multipart(
            MultiPart::alternative()
                .singlepart(SinglePart::plain(text.to_owned()))
                .singlepart(SinglePart::html(text_to_html(text))),
        )
        .map_err(|e| JobError::Permanent(format!("the mail could not be built: {e}")))
}

/// A chat as plain text: who said what, when (UTC). What the shopper wrote is quoted and
/// said to be theirs, so that nothing they typed reads as the shop's words.
fn transcript_text(shop: &str, messages: &[concierge_store::conversations::Message]) -> String {
    let mut out = format!("Here is your chat with {shop}.\n");
    for m in messages {
        let when = m.created_at.format("%-d %B %Y %H:%M UTC");
        match m.sender_type {
            SenderType::Customer => {
                out.push_str(&format!("\nYou wrote, {when}:\n"));
                for line in m.body.lines() {
                    out.push_str("> ");
                    out.push_str(line);
                    out.push('\n');
                }
            }
            SenderType::Bot => out.push_str(&format!("\nAssistant, {when}:\n{}\n", m.body)),
            SenderType::Agent => out.push_str(&format!("\n{shop}, {when}:\n{}\n", m.body)),
            SenderType::System => {}
        }
    }
    out.push_str("\nReply to this email to go on with the conversation.\n");
    out
}

/// Hands a mail no message records to the relay: a temporary refusal is retried by the
/// queue, a permanent one is not.
async fn send(relay: &Relay, mail: &Message) -> Result<(), JobError> {
    match relay
        .transport
        .send_raw(mail.envelope(), &mail.formatted())
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.is_permanent() => Err(JobError::Permanent(format!(
            "the relay refused the mail: {e}"
        ))),
        Err(e) => Err(JobError::Retry(format!(
            "the relay could not take the mail yet: {e}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_cannot_start_new_headers() {
        assert_eq!(
            header_text("Where is it?\r\nBcc: everyone@example.com"),
            "Where is it? Bcc: everyone@example.com"
        );
        assert_eq!(header_text("Ann\nLee\0"), "Ann Lee");
    }

    #[test]
    fn the_html_part_is_the_escaped_text() {
        let html = text_to_html("Hi <b>Ann</b>,\n\nline one\nline & two");
        assert!(html.contains("<p>Hi &lt;b&gt;Ann&lt;/b&gt;,</p>"));
        assert!(html.contains("line one<br>\nline &amp; two"));
    }
}
