//! Durable background work: every kind of job there is, and the schedule of a failed job —
//! when it runs again and when it gives up.

use crate::vocabulary;
use chrono::Duration;

vocabulary! {
    /// Every kind of job the queue holds: the one registry. The store writes each kind's
    /// payload in the transaction of the change that causes it; each kind has one handler,
    /// which the binary checks at start (but for mail without a relay, see
    /// [`JobKind::sends_mail`]). The words are stored with queued jobs: renaming one needs a
    /// migration of the jobs already queued.
    pub enum JobKind {
        /// Wakes a snoozed conversation when its snooze ends.
        ConversationWake = "conversation.wake",
        /// Has the chat assistant answer a shopper's chat message.
        AssistantAnswer = "assistant.answer",
        /// Applies one stored webhook delivery from a store platform or a tracking service.
        WebhookApply = "webhook.apply",
        /// Opens (or adds to) the `delivery-issue` conversation for a parcel in trouble.
        DeliveryIssue = "delivery.issue",
        /// Sends an agent's email reply through the relay.
        EmailDeliver = "email.deliver",
        /// Sends an agent's chat answer to the shopper's email too.
        ChatEmail = "chat.email",
        /// Sends a shopper the chat so far, by email.
        ChatTranscript = "chat.transcript",
        /// Mails a link to confirm an address a shopper gave in a chat.
        ChatConfirmEmail = "chat.confirm_email",
        /// Sends a shopper one notice about their parcel.
        NoticeSend = "notice.send",
    }
}

impl JobKind {
    /// Whether jobs of this kind send mail through the shop's relay. Without a relay set up
    /// nothing can run them, and they wait in the queue, durable, until one is.
    pub fn sends_mail(self) -> bool {
        match self {
            JobKind::EmailDeliver
            | JobKind::ChatEmail
            | JobKind::ChatTranscript
            | JobKind::ChatConfirmEmail
            | JobKind::NoticeSend => true,
            JobKind::ConversationWake
            | JobKind::AssistantAnswer
            | JobKind::WebhookApply
            | JobKind::DeliveryIssue => false,
        }
    }
}

/// How many times a job is tried before it is dead-lettered, unless its kind says otherwise.
pub const DEFAULT_MAX_ATTEMPTS: i32 = 8;

/// How long a claimed job is leased to one worker; a worker that dies loses the lease and the
/// job is claimed again after it runs out.
pub fn lease() -> Duration {
    Duration::seconds(60)
}

/// Delay before attempt `attempt + 1` after `attempt` failures (1-based): exponential from
/// five seconds, capped at an hour, so a transient outage is retried quickly and a long one
/// does not spin.
pub fn retry_delay(attempts_so_far: i32) -> Duration {
    let exp = attempts_so_far.clamp(1, 20) - 1;
    let secs = 5i64.saturating_mul(1i64 << exp.min(12));
    Duration::seconds(secs.min(3600))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_kinds_travel_as_their_stored_words() {
        for kind in JobKind::ALL {
            assert_eq!(JobKind::parse(kind.as_str()), Ok(*kind));
        }
        assert_eq!(JobKind::EmailDeliver.as_str(), "email.deliver");
        assert_eq!(JobKind::AssistantAnswer.as_str(), "assistant.answer");
        assert!(
            JobKind::parse("assist.answer").is_err(),
            "the assistant's old word is migrated, not parsed"
        );
    }

    #[test]
    fn only_mail_kinds_need_the_relay() {
        let mail: Vec<&str> = JobKind::ALL
            .iter()
            .filter(|k| k.sends_mail())
            .map(|k| k.as_str())
            .collect();
        assert_eq!(
            mail,
            [
                "email.deliver",
                "chat.email",
                "chat.transcript",
                "chat.confirm_email",
                "notice.send"
            ]
        );
    }

    #[test]
    fn backoff_grows_then_caps() {
        assert_eq!(retry_delay(1), Duration::seconds(5));
        assert_eq!(retry_delay(2), Duration::seconds(10));
        assert_eq!(retry_delay(3), Duration::seconds(20));
        assert_eq!(retry_delay(30), Duration::seconds(3600));
        assert!(retry_delay(0) > Duration::zero());
    }
}
