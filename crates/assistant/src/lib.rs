//! The virtual assistant in a chat. When a shopper writes in a chat the assistant still
//! answers, the message's `assistant.answer` job (written with the message) runs [`Answer`]:
//! it reads the intent the model found, answers from the shopper's own orders — only for a
//! session the shop verified, or an order the shopper proved with its number and email or
//! postcode ([`proof`], throttled) — or from the help center's best article, and hands the
//! chat to the team, with a private note of the whole story and an honest word on the wait,
//! when the shopper asks for a person, complains, sounds angry, wants an order that has not
//! shipped cancelled or changed, or the assistant could not help twice in a row.
//!
//! What it says is in [`words`], one place: the shop may word each reply to shoppers its own
//! way, with `{{variables}}` ([`words::Reply`]), read again for every answer.

pub mod llm;
pub mod proof;
pub mod words;

use concierge_commerce::variables::order_in_question;
use concierge_domain::access::Actor;
use concierge_domain::assistant::{Handover, OrderQuestion, Route, MISSES_BEFORE_HANDOVER};
use concierge_domain::chat::OrderProof;
use concierge_domain::commerce::Arrival;
use concierge_domain::contact::Identity;
use concierge_domain::conversation::{ConversationStatus, Priority, SenderType};
use concierge_domain::dates::Calendar;
use concierge_domain::ids::{ChatSessionId, MessageId};
use concierge_domain::intents::Intent;
use concierge_domain::text::MessageBody;
use concierge_jobs::{Handler, JobError};
use concierge_knowledge::{Library, Search};
use concierge_store::chat::{AssistantMemory, ChatSession};
use concierge_store::commerce::{Order, OrderFilter};
use concierge_store::conversations::{Conversation, ConversationPatch, NewMessage};
use concierge_store::customers::CustomerSummary;
use concierge_store::jobs::{payloads, Job};
use concierge_store::{PageRequest, Store};
use futures::future::BoxFuture;
use futures::FutureExt;
use std::sync::Arc;
use words::{Voice, Wording};

/// Failed order proofs a chat may make; the next hands it to a person.
const CHECKS_PER_CHAT: i64 = 3;

/// Failed proofs claiming one email or one order number, in any chat, within
/// [`CHECK_WINDOW`], after which that email or number is not checked again until the window
/// passes: guessing is slowed even across new chats.
const CHECKS_PER_CLAIM: i64 = 5;
const CHECK_WINDOW: chrono::Duration = chrono::Duration::hours(1);

/// Failed proofs from chats opened from one client address within [`CHECK_WINDOW`]: one
/// source sweeping order numbers is stopped however many chats it opens.
const CHECKS_PER_SOURCE: i64 = 10;

/// Failed proofs in the whole shop within [`CHECK_WINDOW`], past which no proof is checked
/// until the window passes (shoppers are handed to a person instead): many sources together
/// cannot sweep the order numbers either.
pub const CHECKS_PER_SHOP: i64 = 200;

/// What failed proofs of every chat are counted against, shop-wide.
pub const SHOP_WIDE_CLAIM: &str = "shop";

/// The `assistant.answer` job ([`payloads::AssistantAnswer`]).
pub struct Answer {
    store: Store,
    library: Option<Arc<Library>>,
    public_url: String,
    shop_name: String,
    rephraser: Option<llm::Rephraser>,
}

impl Answer {
    /// `public_url`: the base of links to the help center, without a trailing slash;
    /// `shop_name`: what `{{shop.name}}` says.
    pub fn new(
        store: Store,
        library: Option<Arc<Library>>,
        public_url: String,
        shop_name: String,
    ) -> Self {
        Answer {
            store,
            library,
            public_url,
            shop_name,
            rephraser: None,
        }
    }

    /// Has a language model reword its answers (never its decisions).
    pub fn with_rephraser(mut self, rephraser: llm::Rephraser) -> Self {
        self.rephraser = Some(rephraser);
        self
    }
}

/// What an order proof in a message came to.
enum Proved {
    /// The message holds no proof.
    Nothing,
    Order(Box<Order>),
    Failed,
    /// Too many failed proofs, in this chat or claiming the same email or number.
    TooMany,
}

/// What the assistant decided to do about one message.
struct Decision {
    reply: String,
    /// What the reply was made from, when a language model may reword it (see [`llm`]).
    facts: Option<String>,
    handover: Option<Handover>,
    /// Orders it looked at, attached to the conversation for the team.
    orders: Vec<Order>,
    /// What it remembers for the next message.
    memory: AssistantMemory,
}

impl Handler for Answer {
    type Payload = payloads::AssistantAnswer;

    fn run<'a>(
        &'a self,
        _job: &'a Job,
        payload: payloads::AssistantAnswer,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        async move { self.answer(&payload.session_id, &payload.message_id).await }.boxed()
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
        let intent = asked.intent.map_or(Intent::Unknown, |i| i.intent);
        let wording = Wording::load(&self.store).await?;
        let voice = Voice::new(
            &wording,
            shopper(&session, &conversation),
            &self.shop_name,
            &self.public_url,
            self.store.shop_calendar().await?,
        );
        let mut decision = self
            .decide(&voice, &session, &conversation, intent, &asked.body)
            .await?;
        for order in &decision.orders {
            self.store.link_order(&conversation.id, &order.id).await?;
        }
        if let (Some(llm), Some(facts)) = (&self.rephraser, &decision.facts) {
            if let Some(reworded) = llm.rephrase(&asked.body, facts, &decision.reply).await {
                decision.reply = reworded;
            }
        }
        if let Some(why) = decision.handover {
            let staffing = self.store.chat_staffing().await?;
            decision.reply.push_str("\n\n");
            decision.reply.push_str(&voice.wait(&staffing));
            tracing::info!(conversation = %conversation.id, reason = ?why, "the assistant hands a chat over");
        }
        // Keyed by the message it answers: a job run again says nothing twice.
        let body = MessageBody::parse(&decision.reply)
            .map_err(|e| JobError::Permanent(format!("the answer: {e}")))?;
        let key = format!("answer:{message}");
        self.store
            .chat_answer(&session, body, &key, &decision.memory)
            .await?;
        match decision.handover {
            Some(why) => self.hand_over(&session, &conversation, why).await,
            None => Ok(()),
        }
    }

    async fn decide(
        &self,
        voice: &Voice<'_>,
        session: &ChatSession,
        conversation: &Conversation,
        intent: Intent,
        text: &str,
    ) -> Result<Decision, JobError> {
        // By default it starts afresh: nothing missed, no question waiting.
        let memory = AssistantMemory {
            misses: 0,
            awaiting: None,
            ..session.memory.clone()
        };
        let hand_over = |why: Handover, orders: Vec<Order>| Decision {
            reply: voice.handing_over(why),
            facts: None,
            handover: Some(why),
            orders,
            memory: memory.clone(),
        };
        let answer = |reply: String, orders: Vec<Order>| Decision {
            reply,
            facts: None,
            handover: None,
            orders,
            memory: memory.clone(),
        };
        let route = Route::of(intent);
        match route {
            Route::Person(why) => return Ok(hand_over(why, vec![])),
            _ if concierge_intents::sentiment::upset(text) => {
                return Ok(hand_over(Handover::Upset, vec![]))
            }
            _ => {}
        }
        // The question an order proof answers: this one, or the one waiting for it.
        let question = match route {
            Route::Order(asked) => Some(asked),
            _ => match session.memory.awaiting.map(Route::of) {
                Some(Route::Order(waiting)) => Some(waiting),
                Some(_) => None,
                // An order number with nothing else recognisable ("#1042, ana@example.com"):
                // they want to know where it is.
                None if !intent.is_known() && proof::Claim::read(text).is_some() => {
                    Some(OrderQuestion::Track)
                }
                None => None,
            },
        };
        if let Some(question) = question {
            return self
                .order_question(voice, session, conversation, question, text, memory)
                .await;
        }
        if route == Route::Money {
            let orders = self.shoppers_order(session, conversation, text).await?;
            return Ok(hand_over(
                Handover::OrderChange,
                orders.into_iter().collect(),
            ));
        }
        if route == Route::Article {
            if let Some((title, summary, slug)) = self.article(text) {
                let url = format!("{}/help/articles/{slug}", self.public_url);
                let mut decision = answer(voice.article(&title, &summary, &url), vec![]);
                decision.facts = Some(format!(
                    "The shop's help article \"{title}\" ({url}): {summary}"
                ));
                return Ok(decision);
            }
        }
        Ok(missed(voice, session, memory, voice.did_not_understand()))
    }

    /// Where an order is, its refund, or a change to it: for the shopper's own order only —
    /// one of a verified shopper's, or one they proved with its email or postcode.
    async fn order_question(
        &self,
        voice: &Voice<'_>,
        session: &ChatSession,
        conversation: &Conversation,
        question: OrderQuestion,
        text: &str,
        mut memory: AssistantMemory,
    ) -> Result<Decision, JobError> {
        let order = if session.verified {
            let Some(order) = self.shoppers_order(session, conversation, text).await? else {
                return Ok(missed(voice, session, memory, voice.no_orders()));
            };
            order
        } else {
            match self.prove(session, text, &mut memory).await? {
                Proved::Order(order) => *order,
                Proved::Nothing => match &memory.order_id {
                    // Proved earlier in this chat.
                    Some(id) => self.store.order(id).await?,
                    None => {
                        memory.awaiting = Some(question.intent());
                        return Ok(Decision {
                            reply: voice.ask_for_proof(),
                            facts: None,
                            handover: None,
                            orders: vec![],
                            memory,
                        });
                    }
                },
                Proved::Failed => {
                    memory.awaiting = Some(question.intent());
                    return Ok(Decision {
                        reply: voice.proof_failed(),
                        facts: None,
                        handover: None,
                        orders: vec![],
                        memory,
                    });
                }
                Proved::TooMany => {
                    return Ok(Decision {
                        reply: voice.handing_over(Handover::NotVerified),
                        facts: None,
                        handover: Some(Handover::NotVerified),
                        orders: vec![],
                        memory,
                    })
                }
            }
        };
        // A postcode is easier to guess than an email address: who proved the order with one
        // is told its state, not where its parcels are.
        let brief = !session.verified && memory.order_proof != Some(OrderProof::Email);
        let (reply, handover) = match question {
            OrderQuestion::Track if brief => (voice.order_status_brief(&order), None),
            OrderQuestion::Track => (voice.order_status(&order), None),
            OrderQuestion::TrackRefund => (voice.refund_status(&order), None),
            OrderQuestion::Change(change) => match voice.change_refused(&order, change) {
                // Too late: it says why, and what can still be done.
                Some(why_not) => (why_not, None),
                None => (
                    voice.change_requested(&order, change),
                    Some(Handover::OrderChange),
                ),
            },
        };
        // An answer (not a request handed over) may be reworded, from the order's data; a
        // brief one is not, so that nothing held back can find its way in.
        let facts = (handover.is_none() && !brief).then(|| order_facts(&order, &voice.english()));
        Ok(Decision {
            reply,
            facts,
            handover,
            orders: vec![order],
            memory,
        })
    }

    /// Checks the order proof in a message, if it holds one; remembers a proved order and
    /// counts a failed proof.
    async fn prove(
        &self,
        session: &ChatSession,
        text: &str,
        memory: &mut AssistantMemory,
    ) -> Result<Proved, JobError> {
        let Some(claim) = proof::Claim::read(text) else {
            return Ok(Proved::Nothing);
        };
        // The order they proved already needs no proof again, unless they now prove it with
        // its email, which shows them more.
        if let Some(id) = &session.memory.order_id {
            let proved = self.store.order(id).await?;
            let stronger =
                claim.email.is_some() && session.memory.order_proof != Some(OrderProof::Email);
            if !stronger
                && claim
                    .numbers
                    .iter()
                    .any(|n| proved.number.trim_start_matches('#') == n)
            {
                return Ok(Proved::Order(Box::new(proved)));
            }
        }
        if session.memory.failed_checks >= CHECKS_PER_CHAT {
            return Ok(Proved::TooMany);
        }
        let since = chrono::Utc::now() - CHECK_WINDOW;
        let source = session
            .source_digest
            .as_ref()
            .map(|digest| format!("source:{digest}"));
        let mut limits: Vec<(String, i64)> = claim
            .claims()
            .into_iter()
            .map(|c| (c, CHECKS_PER_CLAIM))
            .collect();
        limits.extend(source.iter().map(|s| (s.clone(), CHECKS_PER_SOURCE)));
        limits.push((SHOP_WIDE_CLAIM.to_owned(), CHECKS_PER_SHOP));
        for (c, limit) in &limits {
            if self.store.order_check_failures(c, since).await? >= *limit {
                return Ok(Proved::TooMany);
            }
        }
        for number in &claim.numbers {
            let filter = OrderFilter {
                number: Some(number.clone()),
                ..Default::default()
            };
            let page = PageRequest {
                limit: Some(1),
                cursor: None,
            };
            let Some(order) = self.store.orders(&filter, &page).await?.items.pop() else {
                continue;
            };
            let customer = self.store.customer(&order.customer_id).await?;
            // An email address, when one is given, is the proof: a postcode beside it is not
            // tried as well (it is easier to guess).
            let proof = match &claim.email {
                Some(claimed) => customer
                    .identities
                    .iter()
                    .any(|i| match i {
                        Identity::Email(e) => e.as_str().eq_ignore_ascii_case(claimed.as_str()),
                        _ => false,
                    })
                    .then_some(OrderProof::Email),
                None => proof::postcode_of(order.shipping_address.as_ref())
                    .is_some_and(|p| claim.names_postcode(p, &order.number))
                    .then_some(OrderProof::Postcode),
            };
            if let Some(proof) = proof {
                memory.order_id = Some(order.id.clone());
                memory.order_proof = Some(proof);
                memory.awaiting = None;
                memory.failed_checks = 0;
                return Ok(Proved::Order(Box::new(order)));
            }
        }
        let mut counted = claim.claims();
        counted.extend(source);
        counted.push(SHOP_WIDE_CLAIM.to_owned());
        self.store.record_order_check_failure(&counted).await?;
        memory.failed_checks = session.memory.failed_checks + 1;
        if memory.failed_checks >= CHECKS_PER_CHAT {
            return Ok(Proved::TooMany);
        }
        Ok(Proved::Failed)
    }

    /// The verified shopper's order the message is about: the one whose number it names,
    /// else their latest. Never an order of anyone else, and nothing for an unverified
    /// shopper (unless they proved one).
    async fn shoppers_order(
        &self,
        session: &ChatSession,
        conversation: &Conversation,
        text: &str,
    ) -> Result<Option<Order>, JobError> {
        if !session.verified {
            return match &session.memory.order_id {
                Some(id) => Ok(Some(self.store.order(id).await?)),
                None => Ok(None),
            };
        }
        let orders = self.orders_of(conversation).await?;
        Ok(order_in_question(&orders, &[], &[text]).cloned())
    }

    async fn orders_of(&self, conversation: &Conversation) -> Result<Vec<Order>, JobError> {
        let filter = OrderFilter {
            customer_id: Some(conversation.customer.id.clone()),
            ..Default::default()
        };
        let page = PageRequest {
            limit: Some(20),
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
        self.store.set_chat_assistant(&session.id, false).await?;
        let priority = if why.urgent() {
            Priority::High.max(conversation.priority)
        } else {
            conversation.priority
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

/// What the assistant says when it could not help (`reply`: ask again, or say why), or, the
/// second time in a row, a handover.
fn missed(
    voice: &Voice<'_>,
    session: &ChatSession,
    mut memory: AssistantMemory,
    reply: String,
) -> Decision {
    memory.misses = session.memory.misses + 1;
    if memory.misses >= MISSES_BEFORE_HANDOVER {
        Decision {
            reply: voice.handing_over(Handover::CouldNotHelp),
            facts: None,
            handover: Some(Handover::CouldNotHelp),
            orders: vec![],
            memory,
        }
    } else {
        Decision {
            reply,
            facts: None,
            handover: None,
            orders: vec![],
            memory,
        }
    }
}

/// The shopper as `{{customer.*}}` knows them: what they told this chat. A stored customer's
/// name is used only for a session the shop vouched for: anyone may type an address into the
/// widget, and must not be greeted by its owner's name.
fn shopper(session: &ChatSession, conversation: &Conversation) -> CustomerSummary {
    let name = match &session.name {
        Some(name) => Some(name.as_str().to_owned()),
        None if session.verified => conversation.customer.name.clone(),
        None => None,
    };
    CustomerSummary {
        id: conversation.customer.id.clone(),
        name,
        email: session.email.as_ref().map(|e| e.as_str().to_owned()),
        phone: None,
    }
}

/// An order as facts for a language model to word an answer from: only what the shopper
/// may see about their own order, with dates as the answer writes them.
fn order_facts(order: &Order, calendar: &Calendar) -> String {
    let mut out = format!(
        "Order {} placed {}; status {}, payment {}, fulfilment {}; total {} {}",
        order.number,
        calendar.date(order.placed_at),
        order.status.as_str(),
        order.financial_status.as_str(),
        order.fulfillment_status.as_str(),
        order.total,
        order.currency
    );
    if let Some(r) = &order.refunded_total {
        out.push_str(&format!("; refunded {r} {}", order.currency));
    }
    for s in &order.shipments {
        out.push_str(&format!(
            "\nParcel {} {}: {}",
            s.carrier,
            s.tracking_number,
            s.status.as_str()
        ));
        match s.arrival() {
            Some(Arrival::Expected(at)) => {
                out.push_str(&format!(", expected {}", calendar.day(at)))
            }
            Some(Arrival::Delivered(at)) => {
                out.push_str(&format!(", delivered on {}", calendar.day(at)))
            }
            None => {}
        }
        if let Some(e) = s.events.last() {
            out.push_str(&format!(
                ", last scan {} {} {}",
                calendar.date_time(e.occurred_at),
                e.location.as_deref().unwrap_or(""),
                e.message.as_deref().unwrap_or("")
            ));
        }
    }
    out
}
