//! The virtual assistant in a chat. When a shopper writes in a chat the assistant still
//! answers, the message's `assist.answer` job (written with the message) runs [`Answer`]:
//! it reads the intent the model found, answers from the shopper's own orders (only for a
//! session the shop verified) or the help center's best article, and hands the chat to the
//! team — with a private note of the whole story — when the shopper asks for a person,
//! complains, or the assistant could not help twice in a row.
//!
//! What it says is in [`words`], one place.

pub mod words;

use concierge_domain::access::Actor;
use concierge_domain::conversation::{ConversationStatus, Priority, SenderType};
use concierge_domain::ids::{ChatSessionId, MessageId};
use concierge_domain::text::MessageBody;
use concierge_jobs::{Handler, JobError};
use concierge_knowledge::{Library, Search};
use concierge_store::chat::{ChatSession, ANSWER_JOB};
use concierge_store::commerce::{Order, OrderFilter};
use concierge_store::conversations::{Conversation, ConversationPatch, NewMessage};
use concierge_store::jobs::Job;
use concierge_store::{PageRequest, Store};
use futures::future::BoxFuture;
use futures::FutureExt;
use std::sync::Arc;

/// Intents the help center answers best: the shop's policies and options.
const ARTICLE_INTENTS: &[&str] = &[
    "check_refund_policy",
    "delivery_options",
    "delivery_period",
    "check_payment_methods",
    "check_cancellation_fee",
    "place_order",
    "get_invoice",
    "check_invoice",
    "newsletter_subscription",
    "create_account",
    "delete_account",
    "edit_account",
    "recover_password",
    "registration_problems",
    "switch_account",
    "set_up_shipping_address",
    "review",
    "contact_customer_service",
];

/// Intents that need a person to act on an order (cancel it, change it, refund it): the
/// assistant hands them over with the order in the note.
const ORDER_CHANGES: &[&str] = &[
    "cancel_order",
    "change_order",
    "change_shipping_address",
    "get_refund",
    "payment_issue",
];

/// The `assist.answer` job.
pub struct Answer {
    store: Store,
    library: Option<Arc<Library>>,
    public_url: String,
}

impl Answer {
    /// `public_url`: the base of links to the help center, without a trailing slash.
    pub fn new(store: Store, library: Option<Arc<Library>>, public_url: String) -> Self {
        Answer {
            store,
            library,
            public_url,
        }
    }
}

/// Why the assistant hands a chat over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handover {
    Asked,
    Complaint,
    OrderChange,
    CouldNotHelp,
}

/// What the assistant decided to do about one message.
struct Decision {
    reply: String,
    handover: Option<Handover>,
    /// Whether the reply answered nothing (a second one in a row hands over).
    miss: bool,
    /// Orders it looked at, attached to the conversation for the team.
    orders: Vec<Order>,
}

impl Handler for Answer {
    fn kind(&self) -> &'static str {
        ANSWER_JOB
    }

    fn run<'a>(&'a self, job: &'a Job) -> BoxFuture<'a, Result<(), JobError>> {
        async move {
            let field = |name: &str| {
                job.payload
                    .get(name)
                    .and_then(serde_json::Value::as_str)
                    .ok_or_else(|| JobError::Permanent(format!("payload has no {name}")))
            };
            let session = ChatSessionId::parse(field("session_id")?)
                .map_err(|e| JobError::Permanent(format!("payload session_id: {e}")))?;
            let message = MessageId::parse(field("message_id")?)
                .map_err(|e| JobError::Permanent(format!("payload message_id: {e}")))?;
            self.answer(&session, &message).await
        }
        .boxed()
    }
}

impl Answer {
    async fn answer(&self, session: &ChatSessionId, message: &MessageId) -> Result<(), JobError> {
        let session = self.store.chat_session_by_id(session).await?;
        if !session.assistant {
            // Handed over (or taken by an agent) since the message came in.
            return Ok(());
        }
        let asked = self.store.message(message).await?;
        let conversation = self.store.conversation(&session.conversation_id).await?;
        let intent = asked
            .intent
            .as_ref()
            .map_or(concierge_assist::intents::UNKNOWN, |i| i.name.as_str());
        let decision = self
            .decide(&session, &conversation, intent, &asked.body)
            .await?;
        for order in &decision.orders {
            self.store.link_order(&conversation.id, &order.id).await?;
        }
        // Keyed by the message it answers: a job run again says nothing twice.
        let body = MessageBody::parse(&decision.reply)
            .map_err(|e| JobError::Permanent(format!("the answer: {e}")))?;
        let key = format!("answer:{message}");
        self.store
            .chat_say(&session, SenderType::Bot, body, Some(&key))
            .await?;
        match decision.handover {
            Some(why) => self.hand_over(&session, &conversation, why).await,
            None => {
                let misses = if decision.miss { session.misses + 1 } else { 0 };
                self.store
                    .set_chat_assistant(&session.id, true, misses)
                    .await?;
                Ok(())
            }
        }
    }

    async fn decide(
        &self,
        session: &ChatSession,
        conversation: &Conversation,
        intent: &str,
        text: &str,
    ) -> Result<Decision, JobError> {
        let decision = |reply: String, handover, miss, orders| Decision {
            reply,
            handover,
            miss,
            orders,
        };
        match intent {
            "contact_human_agent" => Ok(decision(
                words::handing_over(Handover::Asked),
                Some(Handover::Asked),
                false,
                vec![],
            )),
            "complaint" => Ok(decision(
                words::handing_over(Handover::Complaint),
                Some(Handover::Complaint),
                false,
                vec![],
            )),
            "track_order" | "track_refund" if !session.verified => {
                Ok(decision(words::ask_to_sign_in(), None, false, vec![]))
            }
            "track_order" | "track_refund" => {
                let orders = self.orders_of(conversation).await?;
                let Some(latest) = orders.first().cloned() else {
                    let email = session.email.as_ref().map(|e| e.as_str()).unwrap_or("");
                    return Ok(decision(words::no_orders(email), None, true, vec![]));
                };
                let reply = if intent == "track_order" {
                    words::order_status(&latest, &self.public_url)
                } else {
                    words::refund_status(&latest)
                };
                Ok(decision(reply, None, false, vec![latest]))
            }
            i if ORDER_CHANGES.contains(&i) => {
                let orders = if session.verified {
                    self.orders_of(conversation).await?
                } else {
                    vec![]
                };
                let latest: Vec<Order> = orders.into_iter().take(1).collect();
                Ok(decision(
                    words::handing_over(Handover::OrderChange),
                    Some(Handover::OrderChange),
                    false,
                    latest,
                ))
            }
            i if ARTICLE_INTENTS.contains(&i) => match self.article(text) {
                Some((title, summary, slug)) => Ok(decision(
                    words::article(
                        &title,
                        &summary,
                        &format!("{}/help/articles/{slug}", self.public_url),
                    ),
                    None,
                    false,
                    vec![],
                )),
                None => Ok(self.missed(session)),
            },
            _ => Ok(self.missed(session)),
        }
    }

    /// What the assistant says when it could not help: ask again, or, the second time in a
    /// row, hand over.
    fn missed(&self, session: &ChatSession) -> Decision {
        if session.misses >= 1 {
            Decision {
                reply: words::handing_over(Handover::CouldNotHelp),
                handover: Some(Handover::CouldNotHelp),
                miss: true,
                orders: vec![],
            }
        } else {
            Decision {
                reply: words::did_not_understand(),
                handover: None,
                miss: true,
                orders: vec![],
            }
        }
    }

    async fn orders_of(&self, conversation: &Conversation) -> Result<Vec<Order>, JobError> {
        let filter = OrderFilter {
            customer_id: Some(conversation.customer.id.clone()),
            ..Default::default()
        };
        let page = PageRequest {
            limit: Some(3),
            cursor: None,
        };
        Ok(self.store.orders(&filter, &page).await?.items)
    }

    /// The best published article for the question: its title, summary and slug.
    fn article(&self, text: &str) -> Option<(String, String, String)> {
        let library = self.library.as_ref()?;
        let hits = library
            .search(&Search {
                text,
                locale: None,
                published_only: true,
                limit: 1,
                offset: 0,
            })
            .ok()?;
        let hit = hits.into_iter().next()?;
        Some((hit.title, hit.summary, hit.slug))
    }

    /// Gives the chat to the team: the assistant stops, the conversation is open (urgent for a
    /// complaint) and a private note tells the story.
    async fn hand_over(
        &self,
        session: &ChatSession,
        conversation: &Conversation,
        why: Handover,
    ) -> Result<(), JobError> {
        self.store.set_chat_assistant(&session.id, false, 0).await?;
        let priority = match why {
            Handover::Complaint => Priority::High.max(conversation.priority),
            _ => conversation.priority,
        };
        let patch = ConversationPatch {
            status: Some(ConversationStatus::Open),
            priority: Some(priority),
            ..Default::default()
        };
        self.store
            .update_conversation(&conversation.id, patch, &Actor::System)
            .await?;
        // The note comes last: once the team sees it, the rest is done.
        let messages = self.store.messages(&conversation.id).await?;
        let mut orders = Vec::new();
        for id in self.store.conversation_orders(&conversation.id).await? {
            orders.push(self.store.order(&id).await?);
        }
        let note = words::story(why, &messages, &orders);
        let note =
            MessageBody::parse(&note).map_err(|e| JobError::Permanent(format!("the note: {e}")))?;
        let mut note = NewMessage::text(SenderType::System, note);
        note.private = true;
        self.store.append_message(&conversation.id, note).await?;
        Ok(())
    }
}
