//! How a shopper the shop has not vouched for proves an order is theirs: its number, with the
//! email address or the postcode it was placed with, in one message ("#1042, ana@example.com",
//! "order 1042 and my postcode is SW1A 1AA").

use concierge_domain::contact::EmailAddress;

/// What a message offers as proof of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// Numbers that may be order numbers, without `#`, in the order written.
    pub numbers: Vec<String>,
    pub email: Option<EmailAddress>,
    /// Every word and pair of adjacent words, upper-cased without spaces: where a postcode
    /// ("10115", "SW1A 1AA") is looked for.
    words: Vec<String>,
}

impl Claim {
    /// The claim in a message; `None` when it names no number that could be an order's.
    pub fn read(text: &str) -> Option<Claim> {
        let tokens: Vec<&str> = text
            .split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '(' | ')' | ':'))
            .map(|t| t.trim_matches(|c: char| matches!(c, '.' | '!' | '?' | '"' | '\'')))
            .filter(|t| !t.is_empty())
            .collect();
        let email = tokens
            .iter()
            .filter(|t| t.contains('@'))
            .find_map(|t| EmailAddress::parse(t).ok());
        let numbers: Vec<String> = tokens
            .iter()
            .map(|t| t.trim_start_matches('#'))
            .filter(|t| t.len() >= 3 && t.len() <= 12 && t.bytes().all(|b| b.is_ascii_digit()))
            .map(str::to_owned)
            .collect();
        if numbers.is_empty() {
            return None;
        }
        let plain: Vec<String> = tokens
            .iter()
            .filter(|t| !t.contains('@'))
            .map(|t| normalise(t))
            .collect();
        let mut words = plain.clone();
        words.extend(plain.windows(2).map(|w| format!("{}{}", w[0], w[1])));
        Some(Claim {
            numbers,
            email,
            words,
        })
    }

    /// Whether the message names this postcode, other than as the order number itself.
    pub fn names_postcode(&self, postcode: &str, order_number: &str) -> bool {
        let postcode = normalise(postcode);
        let number = normalise(order_number.trim_start_matches('#'));
        !postcode.is_empty() && postcode != number && self.words.contains(&postcode)
    }

    /// What the message claimed, as throttling counts it: the email and each number, so
    /// that guessing numbers for one address, or addresses for one number, is slowed alike.
    pub fn claims(&self) -> Vec<String> {
        let mut out: Vec<String> = self.numbers.iter().map(|n| format!("order:{n}")).collect();
        if let Some(e) = &self.email {
            out.push(format!("email:{}", e.as_str().to_lowercase()));
        }
        out
    }
}

/// Upper case, letters and digits only: "sw1a-1aa" and "SW1A 1AA" read alike.
fn normalise(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// The postcode an order ships to, as its platform names it (Shopify `zip`, WooCommerce
/// `postcode`).
pub fn postcode_of(shipping_address: Option<&serde_json::Value>) -> Option<&str> {
    let a = shipping_address?;
    a.get("zip")
        .or_else(|| a.get("postcode"))
        .and_then(serde_json::Value::as_str)
        .filter(|z| !z.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_number_and_the_email_or_postcode() {
        let c = Claim::read("It's #1042, ana@example.com.").unwrap();
        assert_eq!(c.numbers, ["1042"]);
        assert_eq!(c.email.unwrap().as_str(), "ana@example.com");

        let c = Claim::read("order 1042 and my postcode is SW1A 1AA").unwrap();
        assert!(c.names_postcode("sw1a 1aa", "#1042"));
        assert!(!c.names_postcode("SW1A 2AA", "#1042"));

        let c = Claim::read("1042 (10115)").unwrap();
        assert!(c.names_postcode("10115", "#1042"));
        // The order number is not its own postcode.
        assert!(!c.names_postcode("1042", "#1042"));
    }

    #[test]
    fn no_number_no_claim() {
        assert_eq!(Claim::read("where is my order?"), None);
        assert_eq!(Claim::read("I ordered 2 shirts"), None);
    }

    #[test]
    fn throttling_counts_the_address_and_the_numbers() {
        let c = Claim::read("#1042 Ana@Example.com").unwrap();
        assert_eq!(c.claims(), ["order:1042", "email:ana@example.com"]);
    }

    #[test]
    fn platforms_name_the_postcode_differently() {
        let shopify = serde_json::json!({"zip": "10115"});
        let woo = serde_json::json!({"postcode": "SW1A 1AA"});
        assert_eq!(postcode_of(Some(&shopify)), Some("10115"));
        assert_eq!(postcode_of(Some(&woo)), Some("SW1A 1AA"));
        assert_eq!(postcode_of(None), None);
    }
}
