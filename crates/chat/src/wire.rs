//! Wire types of the chat widget's API (`/api/widget/v1/*`): what a shopper's browser sends
//! and is sent, over REST and as the socket's frames. Each is in the OpenAPI document, the
//! socket's frames as the schemas [`ClientFrame`], [`ChatMessageOut`] and [`ChatFrame`].

use chrono::{DateTime, Utc};
use concierge_api::schema;
use concierge_store::conversations::Message;
use serde::{Deserialize, Serialize};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{IntoParams, ToSchema};

/// A chat message's text: at most [`crate::MAX_CHAT_CHARS`] characters.
fn chat_body() -> RefOr<Schema> {
    schema::text(crate::MAX_CHAT_CHARS, false).into()
}

/// `POST /api/widget/v1/sessions`: who is chatting, as far as the shopper says (or the shop
/// vouches with `identity`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenChatSession {
    #[schema(schema_with = schema::person_name_or_blank)]
    pub name: Option<String>,
    #[schema(schema_with = schema::email_or_blank)]
    pub email: Option<String>,
    /// A logged-in store customer, vouched for by the shop.
    pub identity: Option<SignedIdentity>,
}

/// The shop's word for who is chatting: the customer's email and the hex HMAC-SHA256 of it
/// under the shared secret (`CONCIERGE_WIDGET_IDENTITY_SECRET`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignedIdentity {
    #[schema(schema_with = schema::email_address)]
    pub email: String,
    pub signature: String,
}

/// A chat session: its token is shown this once.
#[derive(Serialize, ToSchema)]
pub struct ChatSessionOut {
    /// Send as `Authorization: Bearer …` (or `?token=` on the socket).
    pub session_token: String,
    /// The conversation the chat becomes with its first message.
    pub conversation_id: String,
    /// Whether the shop vouched for the shopper (`identity`).
    pub verified: bool,
}

/// `POST /api/widget/v1/messages`: a shopper's message.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SayInChat {
    /// At most 4,000 characters.
    #[schema(schema_with = chat_body)]
    pub body: String,
    /// Any string up to 64 characters: sending again with the same one (after a lost
    /// answer) stores the message once.
    #[schema(max_length = 64)]
    pub client_id: Option<String>,
}

/// `?after=`: the last message id the widget has.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChatAfter {
    /// Only messages after this one are sent; an id not of this chat sends them all.
    pub after: Option<String>,
}

/// `?filename=&client_id=` of a file sent into a chat.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChatFileQuery {
    #[param(max_length = 200)]
    pub filename: String,
    /// As for a message.
    #[param(max_length = 64)]
    pub client_id: Option<String>,
}

/// `?token=&after=` of the widget's socket.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChatSocketQuery {
    /// The chat session's token (browsers cannot set headers on a WebSocket).
    #[allow(dead_code)] // read by `Shopper`, which every widget route shares
    pub token: Option<String>,
    /// The last message id the widget has.
    pub after: Option<String>,
}

/// A file a message carries, as the shopper's widget sees it.
#[derive(Serialize, ToSchema)]
pub struct ChatFileOut {
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
}

/// A message as the widget shows it: over REST, and as the socket's `message` frame.
#[derive(Serialize, ToSchema)]
pub struct ChatMessageOut {
    /// Always `message`: the socket's frames say what they are.
    #[serde(rename = "type")]
    #[schema(inline)]
    pub frame: MessageFrame,
    pub id: String,
    #[schema(inline)]
    pub sender_type: SenderKind,
    pub body: String,
    pub created_at: DateTime<Utc>,
    /// The `client_id` it was sent with, echoed to the sender.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<ChatFileOut>,
}

/// The `type` of a message frame.
#[derive(Serialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum MessageFrame {
    Message,
}

/// Who wrote a message.
#[derive(Serialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum SenderKind {
    Customer,
    Agent,
    Bot,
    System,
}

impl From<concierge_domain::conversation::SenderType> for SenderKind {
    fn from(s: concierge_domain::conversation::SenderType) -> Self {
        use concierge_domain::conversation::SenderType;
        match s {
            SenderType::Customer => SenderKind::Customer,
            SenderType::Agent => SenderKind::Agent,
            SenderType::Bot => SenderKind::Bot,
            SenderType::System => SenderKind::System,
        }
    }
}

impl ChatMessageOut {
    /// `m` as the widget shows it; `client_id` is echoed to the shopper who sent it.
    pub fn new(m: &Message, client_id: Option<&str>) -> Self {
        ChatMessageOut {
            frame: MessageFrame::Message,
            id: m.id.as_str().to_owned(),
            sender_type: m.sender_type.into(),
            body: m.body.clone(),
            created_at: m.created_at,
            client_id: client_id.map(str::to_owned),
            attachments: m
                .attachments
                .iter()
                .map(|a| ChatFileOut {
                    filename: a.filename.clone(),
                    content_type: a.content_type.clone(),
                    size_bytes: a.size_bytes,
                })
                .collect(),
        }
    }
}

/// Where a chat stands: `new` until its first message, then its conversation's status.
#[derive(Serialize, ToSchema, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
pub enum ChatStatus {
    New,
    Open,
    Pending,
    Snoozed,
    Resolved,
    Closed,
}

impl From<concierge_domain::conversation::ConversationStatus> for ChatStatus {
    fn from(s: concierge_domain::conversation::ConversationStatus) -> Self {
        use concierge_domain::conversation::ConversationStatus as S;
        match s {
            S::Open => ChatStatus::Open,
            S::Pending => ChatStatus::Pending,
            S::Snoozed => ChatStatus::Snoozed,
            S::Resolved => ChatStatus::Resolved,
            S::Closed => ChatStatus::Closed,
        }
    }
}

/// The chat so far, and where it stands.
#[derive(Serialize, ToSchema)]
pub struct ChatTranscript {
    /// Oldest first; public messages only.
    pub items: Vec<ChatMessageOut>,
    pub status: ChatStatus,
}

/// Whether anyone can answer the chat now.
#[derive(Serialize, ToSchema)]
pub struct ChatTeamOut {
    /// Within business hours, with an agent online.
    pub online: bool,
    /// Within business hours.
    pub open: bool,
    /// When the team is next in, while closed.
    pub opens_at: Option<DateTime<Utc>>,
    /// `opens_at` as the widget shows it: the shop's day and time in its time zone.
    pub opens: Option<String>,
    /// The usual wait for a first answer, in whole minutes (at least 1).
    #[schema(minimum = 1)]
    pub typical_wait_minutes: Option<i64>,
}

/// `POST /api/widget/v1/email`: the address the team's answers are mailed to as well.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RepliesByEmail {
    /// Ignored when the shop vouched for the shopper: theirs is used.
    #[schema(schema_with = schema::email_address)]
    pub email: String,
}

/// What became of asking for replies by email.
#[derive(Serialize, ToSchema)]
pub struct RepliesByEmailOut {
    pub email: String,
    /// Whether answers are mailed from now on (the address is proved the shopper's).
    pub replies_by_email: bool,
    /// Whether a link was mailed first, to prove the address is the shopper's.
    pub confirmation_sent: bool,
}

/// What became of asking for the chat's transcript.
#[derive(Serialize, ToSchema)]
pub struct TranscriptMailOut {
    pub email: String,
    #[schema(inline)]
    pub status: TranscriptMailStatus,
}

/// `queued`, or `confirmation_sent` when the address must first be proved the shopper's.
#[derive(Serialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum TranscriptMailStatus {
    Queued,
    ConfirmationSent,
}

/// A frame the widget sends on its socket.
#[derive(Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// A shopper's message, as `POST /api/widget/v1/messages` takes it.
    Message {
        #[schema(schema_with = chat_body)]
        body: String,
        /// As for a message sent without the socket.
        #[schema(max_length = 64)]
        client_id: Option<String>,
    },
    /// The shopper is typing (agents are told at most every two seconds).
    Typing,
}

/// A frame the socket sends the widget besides its messages (those are `ChatMessageOut`,
/// whose `type` is `message`).
#[derive(Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChatFrame {
    /// An agent started or stopped typing in the chat.
    Typing {
        #[schema(inline)]
        sender_type: SenderKind,
        active: bool,
    },
    /// Where the chat stands now.
    Status { status: ChatStatus },
    /// A frame from the widget was refused; the socket stays open.
    Error {
        #[schema(inline)]
        code: FrameRefusal,
        message: String,
    },
}

/// Why the socket refused a frame from the widget.
#[derive(Serialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum FrameRefusal {
    /// Not a frame this socket understands.
    InvalidFrame,
    /// The chat's messages come too fast.
    RateLimited,
    /// The message is not acceptable (too long, empty, a bad `client_id`).
    ValidationFailed,
    /// The message could not be stored; sending it again is safe.
    NotStored,
}

#[cfg(test)]
mod tests {
    use super::*;
    use concierge_domain::conversation::ConversationStatus;
    use serde_json::{json, to_value};

    #[test]
    fn the_sockets_frames_say_what_they_are() {
        let typing = ChatFrame::Typing {
            sender_type: SenderKind::Agent,
            active: true,
        };
        assert_eq!(
            to_value(typing).unwrap(),
            json!({"type": "typing", "sender_type": "agent", "active": true})
        );
        let status = ChatFrame::Status {
            status: ChatStatus::Pending,
        };
        assert_eq!(
            to_value(status).unwrap(),
            json!({"type": "status", "status": "pending"})
        );
        let refused = ChatFrame::Error {
            code: FrameRefusal::NotStored,
            message: "send it again".into(),
        };
        assert_eq!(
            to_value(refused).unwrap(),
            json!({"type": "error", "code": "not_stored", "message": "send it again"})
        );
    }

    #[test]
    fn a_chat_says_its_conversations_status_in_the_domains_words() {
        for status in ConversationStatus::ALL {
            assert_eq!(
                to_value(ChatStatus::from(*status)).unwrap(),
                status.as_str()
            );
        }
        assert_eq!(to_value(ChatStatus::New).unwrap(), "new");
    }

    #[test]
    fn the_widgets_frames_are_read_by_their_type() {
        let frame = serde_json::from_str(r#"{"type": "message", "body": "hi", "client_id": "a"}"#);
        assert!(matches!(
            frame,
            Ok(ClientFrame::Message { body, client_id: Some(c) }) if body == "hi" && c == "a"
        ));
        let frame = serde_json::from_str(r#"{"type": "typing"}"#);
        assert!(matches!(frame, Ok(ClientFrame::Typing)));
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type": "shout"}"#).is_err());
    }
}
