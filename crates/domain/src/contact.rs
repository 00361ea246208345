//! How a shopper can be reached and recognised: email addresses, phone numbers and external
//! ids. Each is normalised when parsed, so one shopper writing as `Ann@Example.com` and
//! `ann@example.com` is one customer.

use crate::{vocabulary, Invalid};
use std::fmt;

/// An email address, trimmed, with the domain lower-cased. The local part keeps its case
/// (RFC 5321 says it may matter) but identities compare on the fully lower-cased form; see
/// [`Identity::key`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let s = input.trim();
        if s.len() > 254 {
            return Err(Invalid::new("email address is longer than 254 characters"));
        }
        let (local, domain) = s
            .rsplit_once('@')
            .ok_or_else(|| Invalid::new("email address must contain @"))?;
        if local.is_empty() || local.len() > 64 {
            return Err(Invalid::new(
                "email address has an empty or overlong local part",
            ));
        }
        if local.chars().any(|c| {
            c.is_whitespace()
                || c.is_control()
                || matches!(
                    c,
                    '<' | '>' | '(' | ')' | ',' | ';' | ':' | '\\' | '"' | '[' | ']' | '@'
                )
        }) {
            return Err(Invalid::new(
                "email address has a character not allowed in its local part",
            ));
        }
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return Err(Invalid::new(
                "email address has a misplaced dot in its local part",
            ));
        }
        if domain.is_empty()
            || domain.split('.').any(|label| {
                label.is_empty()
                    || label.len() > 63
                    || label.starts_with('-')
                    || label.ends_with('-')
                    || !label.chars().all(|c| c.is_alphanumeric() || c == '-')
            })
        {
            return Err(Invalid::new("email address has an invalid domain"));
        }
        Ok(EmailAddress(format!("{local}@{}", domain.to_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for EmailAddress {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// A phone number in E.164 form (`+` and 8 to 15 digits). Spaces, dots, dashes and brackets
/// are dropped; a leading `00` becomes `+`; `whatsapp:` prefixes are removed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let s = input.trim();
        let s = s.strip_prefix("whatsapp:").unwrap_or(s).trim();
        let mut digits = String::with_capacity(16);
        let mut plus = false;
        for (i, c) in s.chars().enumerate() {
            match c {
                '+' if i == 0 => plus = true,
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => return Err(Invalid::new("phone number may contain only digits, spaces, dashes, dots, brackets and a leading +")),
            }
        }
        if !plus {
            match digits.strip_prefix("00") {
                Some(rest) => digits = rest.to_owned(),
                None => return Err(Invalid::new("phone number must be in international form, starting with + and the country code")),
            }
        }
        if !(8..=15).contains(&digits.len()) || digits.starts_with('0') {
            return Err(Invalid::new(
                "phone number must have a country code and 8 to 15 digits",
            ));
        }
        Ok(PhoneNumber(format!("+{digits}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

vocabulary! {
    /// What kind of handle an identity is.
    pub enum IdentityKind {
        Email = "email",
        Phone = "phone",
        /// An id the store platform or a social network gave the shopper (`shopify:123`).
        External = "external",
    }
}

/// One way a shopper is known. A customer has several; each identity belongs to exactly one
/// customer, which is how one shopper stays one customer across channels.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Identity {
    Email(EmailAddress),
    Phone(PhoneNumber),
    /// `source` names the system (`shopify`, `woocommerce`, `messenger`), `id` its id there.
    External {
        source: String,
        id: String,
    },
}

impl Identity {
    pub fn kind(&self) -> IdentityKind {
        match self {
            Identity::Email(_) => IdentityKind::Email,
            Identity::Phone(_) => IdentityKind::Phone,
            Identity::External { .. } => IdentityKind::External,
        }
    }

    /// The value identities are matched on: emails compare case-insensitively in practice
    /// (every major provider ignores local-part case), so the key is lower-cased.
    pub fn key(&self) -> String {
        match self {
            Identity::Email(e) => e.as_str().to_lowercase(),
            Identity::Phone(p) => p.as_str().to_owned(),
            Identity::External { source, id } => format!("{source}:{id}"),
        }
    }

    /// Parses a stored or submitted identity back from its kind and key.
    pub fn parse(kind: IdentityKind, value: &str) -> Result<Self, Invalid> {
        match kind {
            IdentityKind::Email => EmailAddress::parse(value).map(Identity::Email),
            IdentityKind::Phone => PhoneNumber::parse(value).map(Identity::Phone),
            IdentityKind::External => {
                let (source, id) = value
                    .split_once(':')
                    .ok_or_else(|| Invalid::new("external identity must look like source:id"))?;
                if source.is_empty() || id.is_empty() || value.len() > 200 {
                    return Err(Invalid::new("external identity must look like source:id"));
                }
                Ok(Identity::External {
                    source: source.to_owned(),
                    id: id.to_owned(),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_domain_is_lowercased_and_key_fully() {
        let e = EmailAddress::parse("  Ann.Lee+shop@Example.COM ").unwrap();
        assert_eq!(e.as_str(), "Ann.Lee+shop@example.com");
        assert_eq!(Identity::Email(e).key(), "ann.lee+shop@example.com");
    }

    #[test]
    fn email_rejects_garbage() {
        for bad in [
            "",
            "ann",
            "@example.com",
            "ann@",
            "ann@@example.com",
            "a b@example.com",
            "ann@exa mple.com",
            "ann@-example.com",
            "ann..lee@example.com",
            "<script>@x.com",
        ] {
            assert!(
                EmailAddress::parse(bad).is_err(),
                "{bad:?} should be refused"
            );
        }
        assert!(EmailAddress::parse("support@localhost").is_ok());
        assert!(EmailAddress::parse("jörg@müller.de").is_ok());
    }

    #[test]
    fn phone_normalises_to_e164() {
        assert_eq!(
            PhoneNumber::parse("+1 (415) 555-0100").unwrap().as_str(),
            "+14155550100"
        );
        assert_eq!(
            PhoneNumber::parse("0044 20 7946 0958").unwrap().as_str(),
            "+442079460958"
        );
        assert_eq!(
            PhoneNumber::parse("whatsapp:+14155238886")
                .unwrap()
                .as_str(),
            "+14155238886"
        );
        assert!(PhoneNumber::parse("555-0100").is_err());
        assert!(PhoneNumber::parse("+1 415 CALL-NOW").is_err());
        assert!(PhoneNumber::parse("+1234").is_err());
    }

    #[test]
    fn external_identity_round_trips() {
        let id = Identity::parse(IdentityKind::External, "shopify:207119551").unwrap();
        assert_eq!(id.key(), "shopify:207119551");
        assert!(Identity::parse(IdentityKind::External, "nocolon").is_err());
    }
}
