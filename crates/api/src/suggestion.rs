//! Reply suggestions: which answer to suggest to the agent for the shopper's open question. A canned reply
//! that answers the question's intent comes first; otherwise the route asks the help center
//! for its best article, worded here as a reply. Pure: the route reads the records, fills the
//! canned reply's variables and searches the articles.

use concierge_domain::conversation::SenderType;
use concierge_domain::intents::Intent;
use concierge_domain::replies::{self, first_name};
use concierge_intents::features::tokens;
use concierge_store::conversations::Message;
use concierge_store::replies::CannedReply;
use std::collections::HashSet;

/// The shopper's message the team still owes an answer: the latest public message from the
/// customer, unless an agent has answered publicly since. Private notes and the assistant's
/// and the system's messages neither ask nor answer, so they are passed over: a chat the
/// assistant handed to the team still has the shopper's question open.
pub(crate) fn open_question(messages: &[Message]) -> Option<&Message> {
    messages
        .iter()
        .rev()
        .find(|m| !m.private && matches!(m.sender_type, SenderType::Customer | SenderType::Agent))
        .filter(|m| m.sender_type == SenderType::Customer)
}

/// What the question asks, as the model read it when the message was stored (or reads it now,
/// for a message stored before intents were); `None` when the model could not tell, and then
/// nothing is suggested: a guess would put the wrong answer in front of the agent.
pub(crate) fn intent_of(question: &Message) -> Option<Intent> {
    let reading = question
        .intent
        .unwrap_or_else(|| concierge_intents::read(&question.body));
    reading.intent.is_known().then_some(reading.intent)
}

/// The intent a canned reply answers. Titles name the question a reply is for ("Where is my
/// order"), in the shopper's words the model was trained on, so the title alone is read
/// first; the body, in the agent's words, only when the title says nothing clearly.
fn answers(reply: &CannedReply) -> Intent {
    let by_title = concierge_intents::classify(&reply.title);
    if by_title.intent.is_known() {
        return by_title.intent;
    }
    // Filling every variable with nothing leaves the template's own words.
    let words = replies::fill(&reply.body, |_| None).text;
    concierge_intents::classify(&format!("{}. {words}", reply.title)).intent
}

/// The canned reply for a question of this intent: among those that answer the same intent,
/// the one sharing the most words with the question (the first by shortcut on a tie).
/// Replies are classified on each call: tens of microseconds each, and an edited reply is
/// never judged by its old text.
pub(crate) fn canned_reply_for<'r>(
    question: &str,
    intent: Intent,
    replies: &'r [CannedReply],
) -> Option<&'r CannedReply> {
    let asked = words(question);
    replies
        .iter()
        .filter(|r| answers(r) == intent)
        .map(|r| {
            let shared = words(&format!("{} {}", r.title, r.body))
                .intersection(&asked)
                .count();
            (r, shared)
        })
        // `max_by_key` keeps the last of equals; reversed, that is the first by shortcut.
        .rev()
        .max_by_key(|(_, shared)| *shared)
        .map(|(r, _)| r)
}

/// The words of a text that can tell two answers apart: nothing shorter than three letters
/// ("is", "my"), which also leaves out numbers (the model's words mask them as `0`).
fn words(text: &str) -> HashSet<String> {
    tokens(text)
        .into_iter()
        .filter(|w| w.chars().count() >= 3)
        .collect()
}

/// A reply, in the agent's voice, that answers with a help-center article: a greeting, the
/// article's summary, and its link.
pub(crate) fn article_reply(
    customer_name: Option<&str>,
    title: &str,
    summary: &str,
    link: &str,
) -> String {
    let name = customer_name.map(first_name).unwrap_or("").trim();
    let mut reply = if name.is_empty() {
        "Hi there,\n\n".to_owned()
    } else {
        format!("Hi {name},\n\n")
    };
    let summary = summary.trim();
    if !summary.is_empty() {
        reply.push_str(summary);
        reply.push_str("\n\n");
    }
    reply.push_str(&format!(
        "You'll find all the details in our help article \"{title}\": {link}"
    ));
    reply
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use concierge_domain::ids::{CannedReplyId, ConversationId, MessageId};
    use concierge_domain::intents::IntentReading;

    fn message(sender_type: SenderType, private: bool, body: &str) -> Message {
        Message {
            id: MessageId::generate(),
            conversation_id: ConversationId::generate(),
            sender_type,
            agent_id: None,
            body: body.to_owned(),
            body_html: None,
            private,
            delivery_status: None,
            delivery_error: None,
            quoted: None,
            sender_address: None,
            intent: None,
            attachments: vec![],
            created_at: Utc::now(),
        }
    }

    fn reply(shortcut: &str, title: &str, body: &str) -> CannedReply {
        CannedReply {
            id: CannedReplyId::generate(),
            shortcut: shortcut.to_owned(),
            title: title.to_owned(),
            body: body.to_owned(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn the_open_question_is_the_shoppers_latest_unless_an_agent_answered() {
        use SenderType::*;
        let asked = message(Customer, false, "Where is my order?");
        let thread = vec![
            message(Customer, false, "Hello"),
            asked.clone(),
            message(Bot, false, "Passing you to a person."),
            message(System, true, "Handed over."),
            message(Agent, true, "Checking with DHL."),
        ];
        assert_eq!(open_question(&thread).map(|m| &m.id), Some(&asked.id));

        let mut answered = thread;
        answered.push(message(Agent, false, "It arrives tomorrow."));
        assert!(open_question(&answered).is_none());
        assert!(open_question(&[]).is_none());
    }

    #[test]
    fn a_question_the_model_cannot_read_asks_for_nothing() {
        let mut m = message(SenderType::Customer, false, "where is my order #1001?");
        assert_eq!(intent_of(&m), Some(Intent::TrackOrder));
        m.intent = Some(IntentReading {
            intent: Intent::Unknown,
            confidence: 0.3,
        });
        assert_eq!(intent_of(&m), None);
    }

    #[test]
    fn a_canned_reply_for_the_same_intent_is_chosen_by_shared_words() {
        let replies = vec![
            reply("refund", "Refund timing", "Refunds take 3 days."),
            reply(
                "wismo",
                "Where is my order",
                "Hi {{customer.first_name}}, it ships soon.",
            ),
            reply(
                "wismo-dhl",
                "Where is my order",
                "Hi {{customer.first_name}}, your DHL parcel {{order.number}} is on its way.",
            ),
            reply("thanks", "Thanks", "Thanks {{customer.first_name}}!"),
        ];
        let q = "Where is my order #1001? DHL says nothing.";
        let chosen = canned_reply_for(q, Intent::TrackOrder, &replies).map(|r| r.shortcut.as_str());
        assert_eq!(chosen, Some("wismo-dhl"));
        // Equal words: the first by shortcut.
        let chosen = canned_reply_for("where is it", Intent::TrackOrder, &replies);
        assert_eq!(chosen.map(|r| r.shortcut.as_str()), Some("wismo"));
        // No reply answers the intent: none, however many words it shares.
        assert!(
            canned_reply_for("where is my order refund", Intent::CancelOrder, &replies).is_none()
        );
    }

    #[test]
    fn an_article_reply_greets_quotes_and_links() {
        let text = article_reply(
            Some("Ann Lee"),
            "Returns policy",
            "You can return anything within 30 days.",
            "https://shop.example/help/articles/returns-policy",
        );
        assert_eq!(
            text,
            "Hi Ann,\n\nYou can return anything within 30 days.\n\nYou'll find all the details in \
             our help article \"Returns policy\": https://shop.example/help/articles/returns-policy"
        );
        let anonymous = article_reply(None, "Returns policy", " ", "https://x/help/articles/r");
        assert!(
            anonymous.starts_with("Hi there,\n\nYou'll find"),
            "{anonymous}"
        );
    }
}
