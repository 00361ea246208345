//! A conversation's vocabulary and lifecycle: which statuses exist, what a new message or a
//! status change does to the clocks (first response, waiting since, resolution), and which
//! moves are refused.

use crate::vocabulary;
use chrono::{DateTime, Utc};

vocabulary! {
    /// Where a conversation happens. One conversation stays on one channel.
    pub enum Channel {
        Email = "email",
        Chat = "chat",
        Sms = "sms",
        Whatsapp = "whatsapp",
        Messenger = "messenger",
        Instagram = "instagram",
        Phone = "phone",
        Api = "api",
    }
}

vocabulary! {
    pub enum ConversationStatus {
        /// Needs the team.
        Open = "open",
        /// Waiting on the shopper; reopens when they write.
        Pending = "pending",
        /// Out of sight until `snooze_until`, or until the shopper writes.
        Snoozed = "snoozed",
        /// Done; reopens when the shopper writes.
        Resolved = "resolved",
        /// Archived for good: takes notes, but no new public messages.
        Closed = "closed",
    }
}

vocabulary! {
    pub enum Priority {
        Low = "low",
        Normal = "normal",
        High = "high",
        Urgent = "urgent",
    }
}

vocabulary! {
    /// Who wrote a message.
    pub enum SenderType {
        Customer = "customer",
        Agent = "agent",
        Bot = "bot",
        System = "system",
    }
}

vocabulary! {
    /// How far an outbound message has got towards the shopper.
    pub enum DeliveryStatus {
        Pending = "pending",
        Sent = "sent",
        Delivered = "delivered",
        Failed = "failed",
    }
}

impl DeliveryStatus {
    /// Whether a message's delivery may move from `self` to `next`: only forward
    /// (`pending → sent → delivered`), to `failed` from any other status (a bounce can come
    /// after the relay took the mail), and from `failed` back to `pending` when the team
    /// sends it again. A late report of an earlier step changes nothing.
    pub fn moves_to(self, next: DeliveryStatus) -> bool {
        use DeliveryStatus::*;
        matches!(
            (self, next),
            (Pending, Sent | Delivered)
                | (Sent, Delivered)
                | (Pending | Sent | Delivered, Failed)
                | (Failed, Pending)
        )
    }
}

vocabulary! {
    /// What changed, as the live event log names it for open views.
    pub enum EventKind {
        ConversationCreated = "conversation.created",
        ConversationUpdated = "conversation.updated",
        MessageCreated = "message.created",
        /// A message's delivery status moved on.
        MessageUpdated = "message.updated",
    }
}

impl EventKind {
    /// Whether the change added or changed messages (a conversation is created with its
    /// first messages).
    pub fn touches_messages(self) -> bool {
        matches!(
            self,
            EventKind::ConversationCreated | EventKind::MessageCreated | EventKind::MessageUpdated
        )
    }
}

/// How the team's messages reach the shopper on a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// The shopper's side reads them from us (the chat widget, an API client): they are
    /// sent once stored.
    Read,
    /// A transport takes them from the outbox (email): they wait there as `pending`.
    Outbox,
    /// Nothing can carry them yet (this build has no transport for the channel): they fail
    /// at once, saying so, rather than wait for ever.
    Unavailable,
}

impl Channel {
    /// How messages to the shopper on this channel reach them.
    pub fn delivery(self) -> Delivery {
        match self {
            Channel::Api | Channel::Chat => Delivery::Read,
            Channel::Email => Delivery::Outbox,
            Channel::Sms
            | Channel::Whatsapp
            | Channel::Messenger
            | Channel::Instagram
            | Channel::Phone => Delivery::Unavailable,
        }
    }

    /// The channel's name as people write it.
    pub fn name(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Chat => "chat",
            Channel::Sms => "SMS",
            Channel::Whatsapp => "WhatsApp",
            Channel::Messenger => "Messenger",
            Channel::Instagram => "Instagram",
            Channel::Phone => "phone",
            Channel::Api => "API",
        }
    }
}

/// Why a lifecycle move was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    #[error("the conversation is closed; it takes private notes only")]
    Closed,
    #[error("snooze_until must be in the future")]
    SnoozeNotInFuture,
    #[error("snoozing needs snooze_until")]
    SnoozeWithoutTime,
    #[error("snooze_until is only allowed with status snoozed")]
    SnoozeTimeWithoutSnooze,
}

/// The part of a conversation its rules act on: status and clocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lifecycle {
    pub status: ConversationStatus,
    pub snooze_until: Option<DateTime<Utc>>,
    /// When a person on the team first answered the shopper in public.
    pub first_response_at: Option<DateTime<Utc>>,
    /// When the conversation was last resolved; cleared when it reopens.
    pub resolved_at: Option<DateTime<Utc>>,
    /// Since when the oldest unanswered shopper message has waited; `None` when nobody waits.
    pub waiting_since: Option<DateTime<Utc>>,
    /// Last public message in either direction: the inbox's "newest activity" order.
    pub last_activity_at: DateTime<Utc>,
}

/// The effect of recording a message, for the caller to persist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    /// Set for outbound public messages: where delivery starts.
    pub delivery: Option<DeliveryStatus>,
    /// Whether the message must be handed to the channel's transport.
    pub needs_delivery: bool,
}

impl Lifecycle {
    /// A conversation that starts now. A shopper who opens it is waiting from that moment.
    pub fn start(opened_by: SenderType, at: DateTime<Utc>) -> Self {
        Lifecycle {
            status: ConversationStatus::Open,
            snooze_until: None,
            first_response_at: None,
            resolved_at: None,
            waiting_since: (opened_by == SenderType::Customer).then_some(at),
            last_activity_at: at,
        }
    }

    /// Applies a new message to the clocks and status.
    pub fn record_message(
        &mut self,
        channel: Channel,
        sender: SenderType,
        private: bool,
        at: DateTime<Utc>,
    ) -> Result<Recorded, LifecycleError> {
        let silent = Recorded {
            delivery: None,
            needs_delivery: false,
        };
        if private || sender == SenderType::System {
            // Notes and system events are for the team; they move no clock.
            return Ok(silent);
        }
        if self.status == ConversationStatus::Closed {
            return Err(LifecycleError::Closed);
        }
        self.last_activity_at = self.last_activity_at.max(at);
        match sender {
            SenderType::Customer => {
                if self.status != ConversationStatus::Open {
                    self.reopen();
                }
                self.waiting_since.get_or_insert(at);
                Ok(silent)
            }
            SenderType::Agent | SenderType::Bot => {
                if sender == SenderType::Agent {
                    self.first_response_at.get_or_insert(at);
                    self.waiting_since = None;
                }
                let delivery = match channel.delivery() {
                    Delivery::Read => DeliveryStatus::Sent,
                    Delivery::Outbox => DeliveryStatus::Pending,
                    Delivery::Unavailable => DeliveryStatus::Failed,
                };
                let needs_delivery = channel.delivery() == Delivery::Outbox;
                Ok(Recorded {
                    delivery: Some(delivery),
                    needs_delivery,
                })
            }
            SenderType::System => Ok(silent),
        }
    }

    /// Moves to a new status as an agent or API client asked.
    pub fn change_status(
        &mut self,
        to: ConversationStatus,
        snooze_until: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(), LifecycleError> {
        if self.status == ConversationStatus::Closed && to != ConversationStatus::Closed {
            return Err(LifecycleError::Closed);
        }
        match (to, snooze_until) {
            (ConversationStatus::Snoozed, None) => return Err(LifecycleError::SnoozeWithoutTime),
            (ConversationStatus::Snoozed, Some(until)) if until <= now => {
                return Err(LifecycleError::SnoozeNotInFuture)
            }
            (ConversationStatus::Snoozed, Some(_)) => {}
            (_, Some(_)) => return Err(LifecycleError::SnoozeTimeWithoutSnooze),
            (_, None) => {}
        }
        match to {
            ConversationStatus::Open => {
                self.resolved_at = None;
                self.snooze_until = None;
            }
            ConversationStatus::Pending => {
                // The ball is in the shopper's court: nobody on the team owes an answer.
                self.resolved_at = None;
                self.snooze_until = None;
                self.waiting_since = None;
            }
            ConversationStatus::Snoozed => {
                self.snooze_until = snooze_until;
            }
            ConversationStatus::Resolved => {
                if self.status != ConversationStatus::Resolved {
                    self.resolved_at = Some(now);
                }
                self.snooze_until = None;
                self.waiting_since = None;
            }
            ConversationStatus::Closed => {
                self.resolved_at.get_or_insert(now);
                self.snooze_until = None;
                self.waiting_since = None;
            }
        }
        self.status = to;
        Ok(())
    }

    /// Wakes a snoozed conversation whose time has come. Returns whether it woke; a
    /// conversation re-snoozed to a later time, or already reopened, stays as it is.
    pub fn wake(&mut self, now: DateTime<Utc>) -> bool {
        match (self.status, self.snooze_until) {
            (ConversationStatus::Snoozed, Some(until)) if until <= now => {
                self.reopen();
                true
            }
            _ => false,
        }
    }

    fn reopen(&mut self) {
        self.status = ConversationStatus::Open;
        self.snooze_until = None;
        self.resolved_at = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_only_moves_forward_or_fails_or_is_sent_again() {
        use DeliveryStatus::*;
        let allowed = [
            (Pending, Sent),
            (Pending, Delivered),
            (Sent, Delivered),
            (Pending, Failed),
            (Sent, Failed),
            (Delivered, Failed),
            (Failed, Pending),
        ];
        for &from in DeliveryStatus::ALL {
            for &to in DeliveryStatus::ALL {
                assert_eq!(
                    from.moves_to(to),
                    allowed.contains(&(from, to)),
                    "{from} -> {to}"
                );
            }
        }
    }
    use chrono::{Duration, TimeZone};

    fn t(min: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 1, 9, 0, 0).unwrap() + Duration::minutes(min)
    }

    #[test]
    fn agent_reply_sets_first_response_once_and_stops_the_wait() {
        let mut l = Lifecycle::start(SenderType::Customer, t(0));
        assert_eq!(l.waiting_since, Some(t(0)));
        let r = l
            .record_message(Channel::Email, SenderType::Agent, false, t(5))
            .unwrap();
        assert_eq!(r.delivery, Some(DeliveryStatus::Pending));
        assert!(r.needs_delivery);
        assert_eq!(l.first_response_at, Some(t(5)));
        assert_eq!(l.waiting_since, None);
        l.record_message(Channel::Email, SenderType::Customer, false, t(7))
            .unwrap();
        l.record_message(Channel::Email, SenderType::Agent, false, t(9))
            .unwrap();
        assert_eq!(l.first_response_at, Some(t(5)));
        assert_eq!(l.last_activity_at, t(9));
    }

    #[test]
    fn waiting_since_keeps_the_oldest_unanswered_message() {
        let mut l = Lifecycle::start(SenderType::Customer, t(0));
        l.record_message(Channel::Chat, SenderType::Customer, false, t(3))
            .unwrap();
        assert_eq!(l.waiting_since, Some(t(0)));
    }

    #[test]
    fn bot_answers_do_not_count_as_first_response() {
        let mut l = Lifecycle::start(SenderType::Customer, t(0));
        l.record_message(Channel::Chat, SenderType::Bot, false, t(1))
            .unwrap();
        assert_eq!(l.first_response_at, None);
        assert_eq!(l.waiting_since, Some(t(0)));
    }

    #[test]
    fn api_and_chat_messages_need_no_transport() {
        for channel in [Channel::Api, Channel::Chat] {
            let mut l = Lifecycle::start(SenderType::Customer, t(0));
            for sender in [SenderType::Agent, SenderType::Bot] {
                let r = l.record_message(channel, sender, false, t(1)).unwrap();
                assert_eq!(r.delivery, Some(DeliveryStatus::Sent), "{channel:?}");
                assert!(!r.needs_delivery, "{channel:?}");
            }
        }
    }

    #[test]
    fn a_channel_nothing_can_carry_yet_fails_at_once() {
        for channel in [Channel::Sms, Channel::Whatsapp, Channel::Phone] {
            let mut l = Lifecycle::start(SenderType::Customer, t(0));
            let r = l
                .record_message(channel, SenderType::Agent, false, t(1))
                .unwrap();
            assert_eq!(r.delivery, Some(DeliveryStatus::Failed), "{channel:?}");
            assert!(!r.needs_delivery, "{channel:?}");
        }
    }

    #[test]
    fn notes_move_no_clock_and_are_allowed_when_closed() {
        let mut l = Lifecycle::start(SenderType::Customer, t(0));
        l.change_status(ConversationStatus::Closed, None, t(1))
            .unwrap();
        let before = l.clone();
        let r = l
            .record_message(Channel::Email, SenderType::Agent, true, t(2))
            .unwrap();
        assert_eq!(r.delivery, None);
        assert_eq!(l, before);
        assert_eq!(
            l.record_message(Channel::Email, SenderType::Agent, false, t(3)),
            Err(LifecycleError::Closed)
        );
    }

    #[test]
    fn shopper_message_reopens_resolved_pending_and_snoozed() {
        for status in [
            ConversationStatus::Resolved,
            ConversationStatus::Pending,
            ConversationStatus::Snoozed,
        ] {
            let mut l = Lifecycle::start(SenderType::Customer, t(0));
            let until = (status == ConversationStatus::Snoozed).then(|| t(60));
            l.change_status(status, until, t(1)).unwrap();
            l.record_message(Channel::Sms, SenderType::Customer, false, t(2))
                .unwrap();
            assert_eq!(l.status, ConversationStatus::Open, "from {status}");
            assert_eq!(l.snooze_until, None);
            assert_eq!(l.resolved_at, None);
            // A snoozed conversation's shopper was still waiting; the others were not.
            let expected = if status == ConversationStatus::Snoozed {
                t(0)
            } else {
                t(2)
            };
            assert_eq!(l.waiting_since, Some(expected), "from {status}");
        }
    }

    #[test]
    fn resolving_records_the_time_and_reopening_clears_it() {
        let mut l = Lifecycle::start(SenderType::Customer, t(0));
        l.change_status(ConversationStatus::Resolved, None, t(10))
            .unwrap();
        assert_eq!(l.resolved_at, Some(t(10)));
        assert_eq!(l.waiting_since, None);
        l.change_status(ConversationStatus::Resolved, None, t(20))
            .unwrap();
        assert_eq!(
            l.resolved_at,
            Some(t(10)),
            "resolving twice keeps the first time"
        );
        l.change_status(ConversationStatus::Open, None, t(30))
            .unwrap();
        assert_eq!(l.resolved_at, None);
    }

    #[test]
    fn snooze_rules() {
        let mut l = Lifecycle::start(SenderType::Customer, t(0));
        assert_eq!(
            l.change_status(ConversationStatus::Snoozed, None, t(1)),
            Err(LifecycleError::SnoozeWithoutTime)
        );
        assert_eq!(
            l.change_status(ConversationStatus::Snoozed, Some(t(1)), t(1)),
            Err(LifecycleError::SnoozeNotInFuture)
        );
        assert_eq!(
            l.change_status(ConversationStatus::Open, Some(t(9)), t(1)),
            Err(LifecycleError::SnoozeTimeWithoutSnooze)
        );
        l.change_status(ConversationStatus::Snoozed, Some(t(60)), t(1))
            .unwrap();
        assert!(!l.wake(t(59)));
        assert!(l.wake(t(60)));
        assert_eq!(l.status, ConversationStatus::Open);
        assert!(!l.wake(t(61)), "waking twice does nothing");
    }

    #[test]
    fn closed_is_final() {
        let mut l = Lifecycle::start(SenderType::Customer, t(0));
        l.change_status(ConversationStatus::Closed, None, t(1))
            .unwrap();
        assert_eq!(
            l.change_status(ConversationStatus::Open, None, t(2)),
            Err(LifecycleError::Closed)
        );
        assert!(l
            .change_status(ConversationStatus::Closed, None, t(2))
            .is_ok());
    }

    #[test]
    fn vocabulary_refuses_unknown_words_and_lists_the_known() {
        let err = ConversationStatus::parse("archived").unwrap_err();
        assert!(
            err.0.contains("open, pending, snoozed, resolved, closed"),
            "{err}"
        );
        assert_eq!(Channel::parse("whatsapp").unwrap(), Channel::Whatsapp);
        assert!(Channel::parse("WhatsApp").is_err());
    }
}
