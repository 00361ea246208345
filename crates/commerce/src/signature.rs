//! Webhook signatures. Shopify (`X-Shopify-Hmac-Sha256`), WooCommerce
//! (`X-WC-Webhook-Signature`) and AfterShip (`aftership-hmac-sha256`) all sign the same way:
//! base64 of HMAC-SHA256 over the raw body, keyed with the shared secret. The check runs on
//! the bytes as received, before any parsing, and compares in constant time.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The signature a platform would send for `body`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(mac(secret, body).finalize().into_bytes())
}

/// The same signature in hex, as a shop signs a logged-in customer's email for the chat
/// widget (the way Intercom's and Chatwoot's identity checks do).
pub fn sign_hex(secret: &[u8], body: &[u8]) -> String {
    hex::encode(mac(secret, body).finalize().into_bytes())
}

/// Whether `given` is the hex HMAC-SHA256 of `body` under `secret`, in constant time.
pub fn verify_hex(secret: &[u8], body: &[u8], given: &str) -> bool {
    let Ok(given) = hex::decode(given.trim()) else {
        return false;
    };
    mac(secret, body).verify_slice(&given).is_ok()
}

fn mac(secret: &[u8], body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    mac
}

/// Whether `header` is the base64 HMAC-SHA256 of `body` under `secret`. A missing, empty or
/// undecodable header is simply wrong.
pub fn verify(secret: &[u8], body: &[u8], header: Option<&str>) -> bool {
    let Some(header) = header.map(str::trim).filter(|h| !h.is_empty()) else {
        return false;
    };
    let Ok(given) = base64::engine::general_purpose::STANDARD.decode(header) else {
        return false;
    };
    // `verify_slice` compares in constant time.
    mac(secret, body).verify_slice(&given).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hex_signature_verifies_only_for_its_body_and_secret() {
        let sig = sign_hex(b"hush", b"ann@example.com");
        assert_eq!(sig.len(), 64);
        assert!(verify_hex(b"hush", b"ann@example.com", &sig));
        assert!(!verify_hex(b"hush", b"bob@example.com", &sig));
        assert!(!verify_hex(b"other", b"ann@example.com", &sig));
        assert!(!verify_hex(b"hush", b"ann@example.com", "zz"));
        assert!(!verify_hex(b"hush", b"ann@example.com", ""));
    }

    #[test]
    fn a_signature_verifies_only_for_its_body_and_secret() {
        let body = br#"{"id":450789469}"#;
        let sig = sign(b"hush", body);
        assert!(verify(b"hush", body, Some(&sig)));
        assert!(!verify(b"hush", br#"{"id":450789460}"#, Some(&sig)));
        assert!(!verify(b"other", body, Some(&sig)));
        assert!(!verify(b"hush", body, None));
        assert!(!verify(b"hush", body, Some("")));
        assert!(!verify(b"hush", body, Some("not base64 at all!")));
        assert!(!verify(b"hush", body, Some(&sig[..sig.len() - 4])));
    }

    /// RFC 4231 test case 2, as base64: the HMAC itself is the standard one.
    #[test]
    fn matches_the_rfc_4231_vector() {
        let sig = sign(b"Jefe", b"what do ya want for nothing?");
        let expected =
            hex::decode("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
                .unwrap();
        assert_eq!(
            sig,
            base64::engine::general_purpose::STANDARD.encode(expected)
        );
    }
}
