//! What each kind of job carries: one typed payload per [`JobKind`], written by the store in
//! the transaction of the change that causes the job, and read back by the kind's handler
//! (the worker refuses, for good, a payload that does not parse).
//!
//! The payloads are stored as JSON with the queued jobs, so a field's name and how its value
//! is written (an id's or a word's text) must stay as they are: jobs queued by an older
//! version still run after an upgrade. Fields a handler does not read are kept for the same
//! reason, and for whoever inspects a job.

use concierge_domain::commerce::{NoticeKind, Platform};
use concierge_domain::contact::EmailAddress;
use concierge_domain::ids::{ChatSessionId, ConversationId, MessageId, ShipmentId};
use concierge_domain::jobs::JobKind;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A job's payload, tied to its kind: enqueuing one queues a job of [`Payload::KIND`], and
/// the handler of that kind reads it back.
///
/// Implementations are structs of plain fields, which always serialize.
pub trait Payload: Serialize + DeserializeOwned + Send + 'static {
    /// The kind of job that carries this payload.
    const KIND: JobKind;
}

/// Wakes a snoozed conversation when its snooze ends; run by `concierge_jobs::WakeSnoozed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationWake {
    #[serde(with = "text")]
    pub conversation_id: ConversationId,
}

impl Payload for ConversationWake {
    const KIND: JobKind = JobKind::ConversationWake;
}

/// Has the assistant answer a shopper's chat message; run by `concierge_assistant::Answer`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssistantAnswer {
    #[serde(with = "text")]
    pub session_id: ChatSessionId,
    #[serde(with = "text")]
    pub message_id: MessageId,
}

impl Payload for AssistantAnswer {
    const KIND: JobKind = JobKind::AssistantAnswer;
}

/// Applies one stored webhook delivery, known by its platform and the platform's id for it;
/// run by `concierge_commerce::apply::ApplyDelivery`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookApply {
    #[serde(with = "text")]
    pub platform: Platform,
    /// The platform's id for the delivery.
    pub delivery_id: String,
}

impl Payload for WebhookApply {
    const KIND: JobKind = JobKind::WebhookApply;
}

/// Opens (or adds to) the `delivery-issue` conversation for a late or troubled parcel; run
/// by `concierge_commerce::notices::OpenDeliveryIssue`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryIssue {
    #[serde(with = "text")]
    pub shipment_id: ShipmentId,
    /// The notice that told of the trouble (`late`, or a problem the carrier reported).
    #[serde(with = "text")]
    pub kind: NoticeKind,
}

impl Payload for DeliveryIssue {
    const KIND: JobKind = JobKind::DeliveryIssue;
}

/// Sends an agent's email reply through the relay; run by `concierge_email::outbound::Deliver`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailDeliver {
    #[serde(with = "text")]
    pub message_id: MessageId,
    #[serde(with = "text")]
    pub conversation_id: ConversationId,
}

impl Payload for EmailDeliver {
    const KIND: JobKind = JobKind::EmailDeliver;
}

/// Sends an agent's chat answer to the shopper's email too; run by
/// `concierge_email::outbound::EmailChatAnswer`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatEmail {
    #[serde(with = "text")]
    pub message_id: MessageId,
}

impl Payload for ChatEmail {
    const KIND: JobKind = JobKind::ChatEmail;
}

/// Sends a shopper their chat so far, by email; run by
/// `concierge_email::outbound::SendTranscript`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatTranscript {
    #[serde(with = "text")]
    pub session_id: ChatSessionId,
}

impl Payload for ChatTranscript {
    const KIND: JobKind = JobKind::ChatTranscript;
}

/// Mails the link that confirms an address a shopper gave in a chat; run by
/// `concierge_email::outbound::ConfirmChatEmail`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatConfirmEmail {
    #[serde(with = "text")]
    pub session_id: ChatSessionId,
    #[serde(with = "text")]
    pub email: EmailAddress,
    /// The secret the link carries (only its digest is stored elsewhere).
    pub token: String,
}

impl Payload for ChatConfirmEmail {
    const KIND: JobKind = JobKind::ChatConfirmEmail;
}

/// Sends a shopper one notice about their parcel; run by
/// `concierge_commerce::notices::SendNotice`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeSend {
    #[serde(with = "text")]
    pub shipment_id: ShipmentId,
    #[serde(with = "text")]
    pub kind: NoticeKind,
}

impl Payload for NoticeSend {
    const KIND: JobKind = JobKind::NoticeSend;
}

/// A domain value (an id, an address, a word of a vocabulary) in a payload: written as its
/// text, read back by its own parser. The domain has no serde of its own.
mod text {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::fmt::Display;
    use std::str::FromStr;

    pub fn serialize<T: Display, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(value)
    }

    pub fn deserialize<'de, T, D>(d: D) -> Result<T, D::Error>
    where
        T: FromStr,
        T::Err: Display,
        D: Deserializer<'de>,
    {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A payload as the store writes it.
    fn stored<P: Payload>(p: &P) -> String {
        serde_json::to_value(p).unwrap().to_string()
    }

    #[test]
    fn payloads_are_stored_as_before_they_were_typed() {
        let conversation = ConversationId::generate();
        let message = MessageId::generate();
        let session = ChatSessionId::generate();
        let shipment = ShipmentId::generate();
        let email = EmailAddress::parse("ann@shop.example").unwrap();
        // Each beside the `json!` the store wrote before, as the queue holds it.
        let pairs = [
            (
                stored(&ConversationWake {
                    conversation_id: conversation.clone(),
                }),
                json!({ "conversation_id": conversation.as_str() }),
            ),
            (
                stored(&AssistantAnswer {
                    session_id: session.clone(),
                    message_id: message.clone(),
                }),
                json!({ "session_id": session.as_str(), "message_id": message.as_str() }),
            ),
            (
                stored(&WebhookApply {
                    platform: Platform::Shopify,
                    delivery_id: "d-1".into(),
                }),
                json!({ "platform": "shopify", "delivery_id": "d-1" }),
            ),
            (
                stored(&DeliveryIssue {
                    shipment_id: shipment.clone(),
                    kind: NoticeKind::Late,
                }),
                json!({ "shipment_id": shipment.as_str(), "kind": "late" }),
            ),
            (
                stored(&EmailDeliver {
                    message_id: message.clone(),
                    conversation_id: conversation.clone(),
                }),
                json!({ "message_id": message.as_str(), "conversation_id": conversation.as_str() }),
            ),
            (
                stored(&ChatEmail {
                    message_id: message.clone(),
                }),
                json!({ "message_id": message.as_str() }),
            ),
            (
                stored(&ChatTranscript {
                    session_id: session.clone(),
                }),
                json!({ "session_id": session.as_str() }),
            ),
            (
                stored(&ChatConfirmEmail {
                    session_id: session.clone(),
                    email: email.clone(),
                    token: "cmc_secret".into(),
                }),
                json!({ "session_id": session.as_str(), "email": email.as_str(), "token": "cmc_secret" }),
            ),
            (
                stored(&NoticeSend {
                    shipment_id: shipment.clone(),
                    kind: NoticeKind::Shipped,
                }),
                json!({ "shipment_id": shipment.as_str(), "kind": "shipped" }),
            ),
        ];
        for (typed, before) in pairs {
            assert_eq!(typed, before.to_string());
        }
    }

    #[test]
    fn a_payload_reads_back_as_written_and_refuses_a_bad_value() {
        let wake = ConversationWake {
            conversation_id: ConversationId::generate(),
        };
        let back: ConversationWake = serde_json::from_str(&stored(&wake)).unwrap();
        assert_eq!(back, wake);
        let bad = serde_json::from_value::<ConversationWake>(json!({ "conversation_id": "nope" }));
        assert!(bad.unwrap_err().to_string().contains("not a valid cnv id"));
        let missing = serde_json::from_value::<NoticeSend>(json!({ "kind": "late" }));
        assert!(missing.unwrap_err().to_string().contains("shipment_id"));
    }
}
