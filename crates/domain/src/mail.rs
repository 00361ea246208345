//! Email's pure rules: which recipients are the shop's support address, the reply token a
//! plus-address carries back to its conversation, how a mail finds its thread (the order of
//! the ways, the subject key that lets a reply without threading headers find it), which
//! senders are machines that must never be answered automatically, and how often one sender
//! is acknowledged.

use crate::contact::EmailAddress;
use crate::conversation::ConversationStatus;
use crate::Invalid;
use chrono::Duration;

/// Who wrote a mail, as its headers tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailKind {
    /// A person.
    Personal,
    /// An automatic reply (out of office, "we got your mail"): stored, never answered.
    AutoReply,
    /// A report that a mail could not be delivered. `original` holds the Message-IDs of the
    /// mail it reports on, `reason` what the receiving server said.
    Bounce {
        original: Vec<String>,
        reason: String,
    },
}

impl MailKind {
    /// Whether a mail of this kind that opens a conversation may be acknowledged: only a
    /// person's (machines answering machines never stop).
    pub fn may_be_acknowledged(&self) -> bool {
        *self == MailKind::Personal
    }

    /// The tag a conversation opened by a machine's mail carries, so the team can file it.
    pub fn tag(&self) -> Option<&'static str> {
        match self {
            MailKind::Personal => None,
            MailKind::AutoReply => Some("auto-reply"),
            MailKind::Bounce { .. } => Some("bounce"),
        }
    }
}

/// At most one acknowledgement to one sender within this time, so two auto-responders
/// cannot keep each other busy.
pub fn acknowledgement_interval() -> Duration {
    Duration::hours(1)
}

/// How a mail found its conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadedBy {
    /// A Message-ID it answers (In-Reply-To, then References) is one we stored or sent.
    Headers,
    /// A reply token in one of its recipients' plus tags names the conversation.
    Token,
    /// The same sender's open conversation on email, active within [`subject_window`],
    /// has the same [`subject_key`].
    Subject,
}

impl ThreadedBy {
    /// The ways a mail finds its thread, surest first: the first that finds one decides.
    pub const ORDER: [ThreadedBy; 3] =
        [ThreadedBy::Headers, ThreadedBy::Token, ThreadedBy::Subject];
}

/// Of the Message-IDs a mail answers (`answers`, In-Reply-To first), the first that is
/// `known`: a mail that answers several of ours belongs with the one it answers directly.
pub fn first_answered<'a>(answers: &[&'a str], known: &[&str]) -> Option<&'a str> {
    answers.iter().copied().find(|a| known.contains(a))
}

/// Whether mail that threads into a conversation in `status` joins it. A closed one is not
/// written to again: the mail opens a new conversation.
pub fn joins(status: ConversationStatus) -> bool {
    status != ConversationStatus::Closed
}

/// How a recipient of inbound mail relates to the shop's support address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    /// The support address itself.
    Support,
    /// A plus-addressed form of it, `support+TAG@domain`, carrying `TAG` (often a
    /// conversation's [`ReplyToken`]).
    Tagged(String),
}

/// Whether `address` is the support address or one of its plus-addressed forms. Local parts
/// and domains compare without regard to case, as every mail provider treats them.
pub fn recipient(support: &EmailAddress, address: &str) -> Option<Recipient> {
    let address = address.trim().trim_start_matches('<').trim_end_matches('>');
    let (local, domain) = address.rsplit_once('@')?;
    if !domain.eq_ignore_ascii_case(support.domain()) {
        return None;
    }
    let support_local = support.as_str().rsplit_once('@').map_or("", |(l, _)| l);
    let (base, tag) = match local.split_once('+') {
        Some((base, tag)) => (base, Some(tag)),
        None => (local, None),
    };
    if !base.eq_ignore_ascii_case(support_local) {
        return None;
    }
    Some(match tag {
        Some(tag) => Recipient::Tagged(tag.to_ascii_lowercase()),
        None => Recipient::Support,
    })
}

/// A conversation's reply token: what follows `+` in the Reply-To address of the mail we
/// send for it, so a reply whose threading headers were lost still finds its thread. It is
/// random (80 bits), so nobody can write their way into another shopper's conversation by
/// guessing it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReplyToken(String);

impl ReplyToken {
    const LEN: usize = 20;

    pub fn generate() -> Self {
        let random = uuid::Uuid::new_v4().simple().to_string();
        ReplyToken(random[..Self::LEN].to_owned())
    }

    /// Parses a token as it comes back in a recipient's plus tag.
    pub fn parse(tag: &str) -> Result<Self, Invalid> {
        let tag = tag.trim().to_ascii_lowercase();
        if tag.len() == Self::LEN && tag.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(ReplyToken(tag))
        } else {
            Err(Invalid::new("not a reply token"))
        }
    }

    /// Wraps a token read back from our own storage.
    pub fn from_trusted(s: String) -> Self {
        ReplyToken(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The support address with this token as its plus tag: where replies to a
    /// conversation's mail go.
    pub fn address(&self, support: &EmailAddress) -> String {
        match support.as_str().rsplit_once('@') {
            Some((local, domain)) => format!("{local}+{}@{domain}", self.0),
            None => support.as_str().to_owned(),
        }
    }
}

/// How long after a conversation's last activity a mail with the same subject from the same
/// sender, and no threading headers, is still taken as part of it. Short, because subjects
/// like "Order question" recur: past this a new mail is a new conversation.
pub fn subject_window() -> Duration {
    Duration::hours(24)
}

/// Reply and forward prefixes in the languages mail clients write them in, lower case and
/// without their colon: `Re:`, `Fwd:`, German `AW:`/`WG:`, Nordic `SV:`/`VS:`/`VB:`, Dutch
/// `Antw:`, Italian `R:`/`Rif:`, French `TR:`, Polish `Odp:`, Portuguese `Res:`/`Enc:`,
/// Spanish `RV:`, Turkish `YNT:`, Greek `ΑΠ:`/`ΣΧΕΤ:`/`ΠΡΘ:`, Russian `Ответ:`, Chinese `回复:`/`回覆:`/`答复:`/`转发:`/`轉寄:`.
const PREFIXES: &[&str] = &[
    "re",
    "fw",
    "fwd",
    "aw",
    "wg",
    "sv",
    "vs",
    "vb",
    "antw",
    "doorst",
    "r",
    "rif",
    "i",
    "tr",
    "odp",
    "pd",
    "res",
    "enc",
    "rv",
    "ynt",
    "ilt",
    "απ",
    "σχετ",
    "πρθ",
    "ответ",
    "回复",
    "回覆",
    "答复",
    "转发",
    "轉寄",
];

/// The subject without reply and forward prefixes (also `Re[2]:` and `RE :` forms, and
/// repeated ones), with case and spacing folded: two mails whose keys match are about the
/// same thing. Empty when nothing but prefixes is left.
pub fn subject_key(subject: &str) -> String {
    let mut rest = subject.trim();
    'strip: loop {
        // A prefix is a known word, an optional `[n]` or `(n)` count, optional spaces, then a
        // colon (ASCII or full-width).
        let word_end = rest
            .char_indices()
            .find(|(_, c)| !c.is_alphabetic())
            .map_or(rest.len(), |(i, _)| i);
        let word = rest[..word_end].to_lowercase();
        if word.is_empty() || !PREFIXES.contains(&word.as_str()) {
            break;
        }
        let mut after = &rest[word_end..];
        if let Some(inner) = after.strip_prefix('[').or_else(|| after.strip_prefix('(')) {
            let digits = inner.bytes().take_while(u8::is_ascii_digit).count();
            let close = inner[digits..].chars().next();
            if digits == 0 || !matches!(close, Some(']' | ')')) {
                break;
            }
            after = &inner[digits + 1..];
        }
        let after = after.trim_start();
        for colon in [':', '：'] {
            if let Some(tail) = after.strip_prefix(colon) {
                rest = tail.trim_start();
                continue 'strip;
            }
        }
        break;
    }
    rest.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Whether mail from `address` is from a machine (bounces, postmasters, no-reply senders):
/// an automatic answer to it would at best be lost and at worst start a mail loop.
pub fn is_robot_address(address: &EmailAddress) -> bool {
    let local = address
        .as_str()
        .rsplit_once('@')
        .map_or("", |(l, _)| l)
        .to_ascii_lowercase();
    let local = local.split('+').next().unwrap_or("");
    matches!(
        local,
        "mailer-daemon" | "postmaster" | "mail-daemon" | "mailerdaemon" | "bounce" | "bounces"
    ) || [
        "noreply",
        "no-reply",
        "no_reply",
        "donotreply",
        "do-not-reply",
        "do_not_reply",
    ]
    .iter()
    .any(|p| local.starts_with(p))
        || local.starts_with("bounce-")
        || local.starts_with("bounces-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threading_prefers_the_mail_answered_directly_and_skips_closed_threads() {
        assert_eq!(
            first_answered(&["b", "a"], &["a", "b"]),
            Some("b"),
            "In-Reply-To comes before References"
        );
        assert_eq!(first_answered(&["x", "a"], &["a"]), Some("a"));
        assert_eq!(first_answered(&["x"], &["a"]), None);
        assert_eq!(ThreadedBy::ORDER[0], ThreadedBy::Headers);
        assert!(joins(ConversationStatus::Resolved));
        assert!(joins(ConversationStatus::Snoozed));
        assert!(!joins(ConversationStatus::Closed));
    }

    #[test]
    fn only_a_persons_mail_is_acknowledged_and_machines_mail_is_tagged() {
        let bounce = MailKind::Bounce {
            original: vec![],
            reason: "550".into(),
        };
        assert!(MailKind::Personal.may_be_acknowledged());
        assert!(!MailKind::AutoReply.may_be_acknowledged());
        assert!(!bounce.may_be_acknowledged());
        assert_eq!(MailKind::Personal.tag(), None);
        assert_eq!(MailKind::AutoReply.tag(), Some("auto-reply"));
        assert_eq!(bounce.tag(), Some("bounce"));
    }

    fn support() -> EmailAddress {
        EmailAddress::parse("Support@Shop.example").unwrap()
    }

    #[test]
    fn the_support_address_and_its_plus_forms_are_ours() {
        let s = support();
        assert_eq!(
            recipient(&s, "support@shop.example"),
            Some(Recipient::Support)
        );
        assert_eq!(
            recipient(&s, "<SUPPORT@SHOP.EXAMPLE>"),
            Some(Recipient::Support)
        );
        assert_eq!(
            recipient(&s, "support+ABC123@shop.example"),
            Some(Recipient::Tagged("abc123".into()))
        );
        assert_eq!(recipient(&s, "sales@shop.example"), None);
        assert_eq!(recipient(&s, "support@other.example"), None);
        assert_eq!(recipient(&s, "supportx@shop.example"), None);
        assert_eq!(recipient(&s, "not an address"), None);
    }

    #[test]
    fn reply_tokens_round_trip_through_the_reply_address() {
        let t = ReplyToken::generate();
        assert_ne!(t, ReplyToken::generate());
        let address = t.address(&support());
        let Some(Recipient::Tagged(tag)) = recipient(&support(), &address) else {
            panic!("{address} is not ours");
        };
        assert_eq!(ReplyToken::parse(&tag).unwrap(), t);
        assert!(ReplyToken::parse("orders").is_err());
        assert!(ReplyToken::parse(&"g".repeat(20)).is_err());
    }

    #[test]
    fn subject_keys_drop_reply_and_forward_prefixes_in_many_languages() {
        let key = subject_key("Where is my order #1001?");
        for s in [
            "Re: Where is my order #1001?",
            "RE: RE: Where is my order #1001?",
            "Fwd: Re: where is my  order #1001?",
            "AW: WG: Where is my order #1001?",
            "SV: Where is my order #1001?",
            "Re[2]: Where is my order #1001?",
            "RE : Where is my order #1001?",
            "回复：Where is my order #1001?",
            "Ответ: Where is my order #1001?",
            "  re:where is my order #1001?  ",
        ] {
            assert_eq!(subject_key(s), key, "{s}");
        }
        assert_eq!(key, "where is my order #1001?");
        // A word that merely starts like a prefix stays.
        assert_eq!(subject_key("Refund please"), "refund please");
        assert_eq!(subject_key("Re:"), "");
        assert_eq!(
            subject_key("Return: label missing"),
            "return: label missing"
        );
    }

    #[test]
    fn machines_are_recognised_by_their_addresses() {
        for robot in [
            "MAILER-DAEMON@mx.example",
            "postmaster@example.com",
            "noreply@shop.example",
            "no-reply+x@shop.example",
            "do-not-reply@bank.example",
            "bounces-123@lists.example",
        ] {
            assert!(
                is_robot_address(&EmailAddress::parse(robot).unwrap()),
                "{robot}"
            );
        }
        for person in [
            "ann@example.com",
            "norah@example.com",
            "bouncer@club.example",
        ] {
            assert!(
                !is_robot_address(&EmailAddress::parse(person).unwrap()),
                "{person}"
            );
        }
    }
}
