//! The words of the private notes the service writes into a conversation on its own, for the
//! team: one place for every sentence of them, so the store that writes a note authors none.

use crate::contact::EmailAddress;
use crate::conversation::Channel;
use crate::text::MessageBody;

/// On the conversation another was merged into. `subject` is the merged conversation's, or
/// else its id names it.
pub fn merged(subject: Option<&str>, id: &str) -> MessageBody {
    let what = subject.map_or_else(|| format!("conversation {id}"), |s| format!("“{s}”"));
    written(format!("Merged {what} into this conversation."))
}

/// A mail we sent bounced; `reason` is what the bounce said.
pub fn bounced(to: &str, reason: &str) -> MessageBody {
    MessageBody::parse(&format!(
        "The mail to {to} could not be delivered: {reason}"
    ))
    .unwrap_or_else(|_| written("A mail we sent could not be delivered.".to_owned()))
}

/// A shopper in a chat asked for the answers by email too.
pub fn chat_replies_by_email(email: &EmailAddress) -> MessageBody {
    written(format!(
        "The shopper asked for replies by email too, at {email}. \
         Your answers in this chat are sent there as well."
    ))
}

/// A shopper proved a chat's address theirs, by the link mailed to it; what that address
/// gets now: the chat's answers, the transcript so far, or both.
pub fn chat_email_confirmed(email: &EmailAddress, replies: bool, transcript: bool) -> MessageBody {
    let said = match (replies, transcript) {
        (true, true) => {
            "Your answers in this chat are sent there as well, and the chat so far was sent there."
        }
        (true, false) => "Your answers in this chat are sent there as well.",
        _ => "The chat so far was sent there.",
    };
    written(format!(
        "The shopper proved {email} is theirs (they followed the link mailed to it). {said}"
    ))
}

/// Why a reply was not sent: nothing carries the channel's messages yet (shown to the agent
/// beside the reply).
pub fn undeliverable(channel: Channel) -> String {
    format!(
        "Concierge cannot send {} messages yet, so this one was not sent: answer the customer \
         another way (email, or chat when they are on the site).",
        channel.name()
    )
}

/// Our own sentence, short enough for any message, around at most one address or subject.
fn written(text: String) -> MessageBody {
    MessageBody::parse(&text).expect("a note's words are a valid message body")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_say_what_happened() {
        assert_eq!(
            merged(Some("Late parcel"), "cnv_1").as_str(),
            "Merged “Late parcel” into this conversation."
        );
        assert_eq!(
            merged(None, "cnv_1").as_str(),
            "Merged conversation cnv_1 into this conversation."
        );
        let email = EmailAddress::parse("ana@example.com").unwrap();
        assert!(chat_email_confirmed(&email, false, true)
            .as_str()
            .ends_with("The chat so far was sent there."));
        let long = "x".repeat(crate::text::MAX_BODY_CHARS);
        assert_eq!(
            bounced("ana@example.com", &long).as_str(),
            "A mail we sent could not be delivered."
        );
    }
}
