//! Telling shoppers where their parcel is before they ask.
//!
//! The store queues a notice (once per shipment and kind) in the transaction that moved the
//! shipment; [`SendNotice`] (jobs `notice.send`) sends it by email in the shop's wording, or
//! ours ([`default_wording`]), unless the shopper unsubscribed. A delay or an exception also
//! queues [`OpenDeliveryIssue`] (jobs `delivery.issue`), which puts the parcel in front of
//! the team as a `delivery-issue` conversation whether or not a mail can go out.
//! [`check_late`] finds parcels that stalled or missed their date, on a clock the caller
//! passes in, and [`keep_checking_late`] runs it periodically.

use crate::variables::{Context, NOTICE_VARIABLES};
use chrono::{DateTime, Duration, Utc};
use concierge_domain::commerce::{Arrival, NoticeKind};
use concierge_domain::dates::Language;
use concierge_domain::replies::{check_variables, fill};
use concierge_domain::text::{MessageBody, Subject};
use concierge_domain::Invalid;
use concierge_email::outbound::{Notice, Relay, SendError};
use concierge_email::MailSettings;
use concierge_jobs::{Handler, JobError};
use concierge_store::customers::CustomerSummary;
use concierge_store::jobs::{payloads, Job};
use concierge_store::notices::NoticeStatus;
use concierge_store::{Store, StoreError};
use futures::future::BoxFuture;
use futures::FutureExt;
use std::sync::Arc;
use tokio::sync::watch;

/// Our wording for each kind: (subject, body).
pub fn default_wording(kind: NoticeKind) -> (&'static str, &'static str) {
    match kind {
        NoticeKind::Shipped => (
            "Your order {{order.number}} is on its way",
            "Hi {{customer.first_name}},\n\nGood news: your order {{order.number}} has shipped with {{shipment.carrier}}.\n\nTracking number: {{shipment.tracking_number}}\nFollow it here: {{shipment.tracking_page}}\n\n{{shop.name}}",
        ),
        NoticeKind::OutForDelivery => (
            "Your order {{order.number}} is out for delivery",
            "Hi {{customer.first_name}},\n\nYour parcel for order {{order.number}} is out for delivery today.\n\nFollow it here: {{shipment.tracking_page}}\n\n{{shop.name}}",
        ),
        NoticeKind::Delivered => (
            "Your order {{order.number}} has been delivered",
            "Hi {{customer.first_name}},\n\n{{shipment.carrier}} says your parcel for order {{order.number}} has been delivered. If anything is wrong with it, just reply to this email.\n\n{{shop.name}}",
        ),
        NoticeKind::AttemptFailed => (
            "We missed you: order {{order.number}}",
            "Hi {{customer.first_name}},\n\n{{shipment.carrier}} tried to deliver your parcel for order {{order.number}} but could not. See what happens next: {{shipment.tracking_page}}\n\n{{shop.name}}",
        ),
        NoticeKind::Exception => (
            "A problem with the delivery of order {{order.number}}",
            "Hi {{customer.first_name}},\n\n{{shipment.carrier}} reported a problem delivering your parcel for order {{order.number}}. We're looking into it and will get back to you; there is nothing you need to do.\n\nTracking: {{shipment.tracking_page}}\n\n{{shop.name}}",
        ),
        NoticeKind::Late => (
            "Your order {{order.number}} is taking longer than expected",
            "Hi {{customer.first_name}},\n\nYour parcel for order {{order.number}} is taking longer than it should. We're looking into it with {{shipment.carrier}} and will let you know as soon as we hear more.\n\nTracking: {{shipment.tracking_page}}\n\n{{shop.name}}",
        ),
    }
}

/// The wording in effect for one kind of notice: the shop's where it changed ours.
#[derive(Debug, Clone)]
pub struct Wording {
    pub kind: NoticeKind,
    pub subject: String,
    pub body: String,
    /// Whether this is the shop's wording rather than ours.
    pub customized: bool,
    pub updated_at: Option<DateTime<Utc>>,
}

/// The wording in effect for every kind of notice, in [`NoticeKind::ALL`]'s order.
pub async fn wordings(store: &Store) -> Result<Vec<Wording>, StoreError> {
    let stored = store.notice_templates().await?;
    Ok(NoticeKind::ALL
        .iter()
        .map(|&kind| match stored.iter().find(|t| t.kind == kind) {
            Some(t) => Wording {
                kind,
                subject: t.subject.clone(),
                body: t.body.clone(),
                customized: true,
                updated_at: Some(t.updated_at),
            },
            None => {
                let (subject, body) = default_wording(kind);
                Wording {
                    kind,
                    subject: subject.to_owned(),
                    body: body.to_owned(),
                    customized: false,
                    updated_at: None,
                }
            }
        })
        .collect())
}

/// Checks the shop's wording for a notice: every `{{…}}` must be one of the notice
/// variables, the subject one short line, the body not empty.
pub fn check_wording(subject: &str, body: &str) -> Result<(), (&'static str, Invalid)> {
    if subject.trim().is_empty() || subject.chars().count() > 200 || subject.contains(['\r', '\n'])
    {
        return Err((
            "subject",
            Invalid::new("the subject is one line of 1 to 200 characters"),
        ));
    }
    if body.trim().is_empty() || body.len() > 20_000 {
        return Err(("body", Invalid::new("the body is 1 to 20000 characters")));
    }
    check_variables(subject, NOTICE_VARIABLES).map_err(|e| ("subject", e))?;
    check_variables(body, NOTICE_VARIABLES).map_err(|e| ("body", e))?;
    Ok(())
}

/// What links in notices point at.
#[derive(Clone)]
pub struct NoticeSettings {
    pub public_url: String,
    pub mail: MailSettings,
}

/// Sends notices by email (jobs `notice.send`).
pub struct SendNotice {
    store: Store,
    relay: Relay,
    settings: NoticeSettings,
}

impl SendNotice {
    pub fn new(store: Store, relay: Relay, settings: NoticeSettings) -> Self {
        SendNotice {
            store,
            relay,
            settings,
        }
    }

    async fn send(&self, job: &Job, payload: payloads::NoticeSend) -> Result<(), JobError> {
        let payloads::NoticeSend { shipment_id, kind } = payload;
        let notice = self.store.notice(&shipment_id, kind).await?;
        if notice.status != NoticeStatus::Queued {
            return Ok(());
        }
        let shipment = self.store.shipment(&shipment_id).await?;
        let order = self.store.order(&shipment.order_id).await?;
        let customer = self.store.customer(&order.customer_id).await?;
        let (token, off) = self.store.notices_token(&customer.id).await?;
        if off {
            self.store
                .finish_notice(
                    &shipment_id,
                    kind,
                    NoticeStatus::Skipped,
                    None,
                    Some("the shopper unsubscribed from notices"),
                )
                .await?;
            return Ok(());
        }
        let Some(to) = customer.email.clone() else {
            self.store
                .finish_notice(
                    &shipment_id,
                    kind,
                    NoticeStatus::Skipped,
                    None,
                    Some("the shopper has no email address"),
                )
                .await?;
            return Ok(());
        };
        let summary = CustomerSummary {
            id: customer.id.clone(),
            name: customer.name.clone(),
            email: customer.email.clone(),
            phone: customer.phone.clone(),
        };
        let public = self.settings.public_url.trim_end_matches('/');
        let unsubscribe = format!("{public}/notices/unsubscribe/{token}");
        let wording = wordings(&self.store)
            .await?
            .into_iter()
            .find(|w| w.kind == kind)
            .ok_or_else(|| JobError::Permanent(format!("no wording for {kind}")))?;
        // Dates in the language of the words around them: the shop's for its own wording,
        // English for ours.
        let mut calendar = self.store.shop_calendar().await?;
        if !wording.customized {
            calendar = calendar.in_language(Language::English);
        }
        let ctx = Context {
            customer: Some(&summary),
            order: Some(&order),
            shipment: Some(&shipment),
            public_url: public,
            shop_name: &self.settings.mail.support_name,
            calendar: &calendar,
        };
        let (subject, body) = (wording.subject.as_str(), wording.body.as_str());
        let value = |name: &str| match name {
            "unsubscribe_url" => Some(unsubscribe.clone()),
            other => ctx.value(other),
        };
        let subject = fill(subject, value).text;
        let mut text = fill(body, value).text;
        if !body.contains("{{unsubscribe_url}}") {
            text.push_str(&format!(
                "\n\n--\nNo more delivery updates: {unsubscribe}\n"
            ));
        }
        let mail = Notice {
            to: to.clone(),
            to_name: customer.name.clone(),
            subject,
            text,
            unsubscribe_url: Some(unsubscribe),
            key: notice.id.to_string(),
        };
        match self.relay.send_notice(&self.settings.mail, &mail).await {
            Ok(()) => {
                self.store
                    .finish_notice(&shipment_id, kind, NoticeStatus::Sent, Some(&to), None)
                    .await?;
                Ok(())
            }
            Err(SendError::Permanent(why)) => {
                self.store
                    .finish_notice(
                        &shipment_id,
                        kind,
                        NoticeStatus::Failed,
                        Some(&to),
                        Some(&why),
                    )
                    .await?;
                Ok(())
            }
            Err(SendError::Temporary(why)) => {
                if job.attempts >= job.max_attempts {
                    self.store
                        .finish_notice(
                            &shipment_id,
                            kind,
                            NoticeStatus::Failed,
                            Some(&to),
                            Some(&why),
                        )
                        .await?;
                }
                Err(JobError::Retry(why))
            }
        }
    }
}

impl Handler for SendNotice {
    type Payload = payloads::NoticeSend;

    fn run<'a>(
        &'a self,
        job: &'a Job,
        payload: payloads::NoticeSend,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        self.send(job, payload).boxed()
    }
}

/// Opens (or adds to) the `delivery-issue` conversation for a late or troubled parcel (jobs
/// `delivery.issue`).
pub struct OpenDeliveryIssue {
    store: Store,
}

impl OpenDeliveryIssue {
    pub fn new(store: Store) -> Self {
        OpenDeliveryIssue { store }
    }

    async fn open(&self, payload: payloads::DeliveryIssue) -> Result<(), JobError> {
        let payloads::DeliveryIssue { shipment_id, kind } = payload;
        let shipment = self.store.shipment(&shipment_id).await?;
        let order = self.store.order(&shipment.order_id).await?;
        let carrier = if shipment.carrier.is_empty() {
            "the carrier"
        } else {
            shipment.carrier.as_str()
        };
        // For the team, in the shop's time.
        let calendar = self.store.calendar(Language::English).await?;
        let last = shipment.events.iter().max_by_key(|e| e.occurred_at);
        let last_word = match last {
            Some(e) => format!(
                "Last scan: {} on {}{}{}.",
                e.status.as_str().replace('_', " "),
                calendar.date_time(e.occurred_at),
                e.location
                    .as_deref()
                    .map(|l| format!(" at {l}"))
                    .unwrap_or_default(),
                e.message
                    .as_deref()
                    .map(|m| format!(" ({m})"))
                    .unwrap_or_default(),
            ),
            None => "No scan from the carrier yet.".to_owned(),
        };
        let eta = match shipment.arrival() {
            Some(Arrival::Expected(at)) => format!(" Expected by {}.", calendar.day(at)),
            _ => String::new(),
        };
        let what = match kind {
            NoticeKind::Late => format!(
                "Order {}: the parcel with {carrier} ({}) is late.",
                order.number, shipment.tracking_number
            ),
            _ => format!(
                "Order {}: {carrier} reported a problem with the parcel ({}).",
                order.number, shipment.tracking_number
            ),
        };
        let note = format!("{what} {last_word}{eta} The shopper is sent the \"{}\" notice unless they unsubscribed.", kind.as_str().replace('_', " "));
        let subject = match kind {
            NoticeKind::Late => format!("Delivery delayed: order {}", order.number),
            _ => format!("Delivery problem: order {}", order.number),
        };
        let subject = Subject::parse(&subject).map_err(|e| JobError::Permanent(e.0))?;
        let note = MessageBody::parse(&note).map_err(|e| JobError::Permanent(e.0))?;
        self.store
            .open_delivery_issue(&shipment_id, kind, subject, note)
            .await?;
        Ok(())
    }
}

impl Handler for OpenDeliveryIssue {
    type Payload = payloads::DeliveryIssue;

    fn run<'a>(
        &'a self,
        _job: &'a Job,
        payload: payloads::DeliveryIssue,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        self.open(payload).boxed()
    }
}

/// Queues `late` notices for parcels late at `now`; see [`concierge_domain::commerce::is_late`].
pub async fn check_late(store: &Store, now: DateTime<Utc>, stall: Duration) -> usize {
    match store.queue_late_notices(now, stall).await {
        Ok(n) => {
            if n > 0 {
                tracing::info!(late = n, "late shipments found");
            }
            n
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot check for late shipments; trying again later");
            0
        }
    }
}

/// Runs [`check_late`] every `every` on `clock` until `shutdown` holds `true`, poking the
/// worker when it queued something.
pub async fn keep_checking_late(
    store: Store,
    every: std::time::Duration,
    stall: Duration,
    clock: Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>,
    worker: Arc<tokio::sync::Notify>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        if check_late(&store, clock(), stall).await > 0 {
            worker.notify_one();
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    break;
                }
            }
        }
    }
}
