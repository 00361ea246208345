//! The chat channel's rules: how a shopper proved an order theirs, what mail a chat may ask
//! for, and when the virtual assistant answers or steps aside for the team.

use crate::conversation::SenderType;
use crate::vocabulary;

vocabulary! {
    /// How a shopper proved an order is theirs.
    pub enum OrderProof {
        /// With the email address it was placed with.
        Email = "email",
        /// With the postcode it ships to: easier to guess, so the shopper is told less.
        Postcode = "postcode",
    }
}

vocabulary! {
    /// What a shopper asked mail from a chat for, once their address is proved.
    pub enum ChatMail {
        /// The team's answers by email too.
        Replies = "replies",
        /// The chat so far.
        Transcript = "transcript",
    }
}

impl ChatMail {
    /// The requests a confirmation carries, written as their words separated by spaces;
    /// words it does not know are passed over.
    pub fn read_all(words: &str) -> Vec<ChatMail> {
        words
            .split_whitespace()
            .filter_map(|w| ChatMail::parse(w).ok())
            .collect()
    }
}

/// Whether the virtual assistant (while it still has the chat) answers a message: the
/// shopper's words. A file says nothing it can answer, so it waits for the shopper's words.
pub fn assistant_answers(sender: SenderType, has_files: bool) -> bool {
    sender == SenderType::Customer && !has_files
}

/// Whether a message takes the chat from the virtual assistant: an agent's answer the
/// shopper sees. A private note does not.
pub fn takes_chat_from_assistant(sender: SenderType, private: bool) -> bool {
    sender == SenderType::Agent && !private
}

/// Whether a message in a chat also goes to the shopper by mail: a team answer they see,
/// when they asked for answers by email at an address proved theirs.
pub fn copied_by_email(sender: SenderType, private: bool, asked: bool, proved: bool) -> bool {
    takes_chat_from_assistant(sender, private) && asked && proved
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_confirmation_reads_back_the_requests_it_carries() {
        assert_eq!(
            ChatMail::read_all("replies transcript"),
            vec![ChatMail::Replies, ChatMail::Transcript]
        );
        assert_eq!(
            ChatMail::read_all(" transcript  bogus "),
            vec![ChatMail::Transcript]
        );
        assert!(ChatMail::read_all("").is_empty());
    }

    #[test]
    fn the_assistant_answers_only_the_shoppers_words() {
        assert!(assistant_answers(SenderType::Customer, false));
        assert!(!assistant_answers(SenderType::Customer, true));
        for sender in [SenderType::Agent, SenderType::Bot, SenderType::System] {
            assert!(!assistant_answers(sender, false), "{sender}");
        }
    }

    #[test]
    fn only_an_agents_public_answer_takes_the_chat_and_goes_by_mail() {
        assert!(takes_chat_from_assistant(SenderType::Agent, false));
        assert!(!takes_chat_from_assistant(SenderType::Agent, true));
        assert!(!takes_chat_from_assistant(SenderType::Bot, false));
        assert!(!takes_chat_from_assistant(SenderType::Customer, false));
        assert!(copied_by_email(SenderType::Agent, false, true, true));
        assert!(!copied_by_email(SenderType::Agent, false, true, false));
        assert!(!copied_by_email(SenderType::Agent, false, false, true));
        assert!(!copied_by_email(SenderType::Agent, true, true, true));
        assert!(!copied_by_email(SenderType::Bot, false, true, true));
    }
}
