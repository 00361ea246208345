//! Who may do what: roles of agents and API tokens, and who an action is recorded against.

use crate::ids::{AgentId, TokenId};
use crate::vocabulary;

vocabulary! {
    pub enum Role {
        /// Manages agents, tokens and settings, and does everything an agent does.
        Admin = "admin",
        /// Works conversations.
        Agent = "agent",
    }
}

impl Role {
    pub fn is_admin(self) -> bool {
        self == Role::Admin
    }

    /// Whether the role changes what shoppers read in the help center: articles (drafts
    /// too, since publishing is one field away), their files, categories and synonyms.
    /// Admins do; agents read and search articles and put them in their replies.
    pub fn edits_help_center(self) -> bool {
        self.is_admin()
    }
}

/// The address a client is counted by in limits and throttles: an IPv4 address as it is, an
/// IPv6 one by its /64 network, since one host is usually given a whole /64 and could take a
/// new address for every request (an IPv4 address written as IPv6 is the IPv4 one).
pub fn counted_address(peer: std::net::IpAddr) -> std::net::IpAddr {
    use std::net::{IpAddr, Ipv6Addr};
    match peer {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let network = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(network))
            }
        },
    }
}

/// Who did something, as the audit log records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Agent(AgentId),
    Token(TokenId),
    /// The service itself: background jobs, the demo seeder, the CLI.
    System,
}

impl Actor {
    pub fn kind(&self) -> &'static str {
        match self {
            Actor::Agent(_) => "agent",
            Actor::Token(_) => "token",
            Actor::System => "system",
        }
    }

    pub fn id(&self) -> Option<&str> {
        match self {
            Actor::Agent(id) => Some(id.as_str()),
            Actor::Token(id) => Some(id.as_str()),
            Actor::System => None,
        }
    }
}

/// The smallest password we accept for an agent. Longer is better; composition rules are not
/// (NIST SP 800-63B).
pub const MIN_PASSWORD_CHARS: usize = 10;

pub fn check_password_strength(password: &str) -> Result<(), crate::Invalid> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(crate::Invalid(format!(
            "password must be at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    if password.len() > 1024 {
        return Err(crate::Invalid::new("password must be at most 1024 bytes"));
    }
    Ok(())
}

#[cfg(test)]
mod counted_address_tests {
    use super::counted_address;
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_network() {
        assert_eq!(counted_address(ip("192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(
            counted_address(ip("2001:db8::3")),
            counted_address(ip("2001:db8::ffff:1"))
        );
        assert_ne!(
            counted_address(ip("2001:db8::3")),
            counted_address(ip("2001:db8:0:1::3"))
        );
        assert_eq!(counted_address(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(
            counted_address(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd")),
            ip("2001:db8:1:2::")
        );
    }
}
