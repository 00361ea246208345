//! An optional language model that rewords the assistant's answers more naturally, through
//! any OpenAI-compatible chat-completions endpoint (`CONCIERGE_LLM_BASE_URL`). It is given
//! only the facts the answer was made from — the order's data or the article — and the
//! answer itself, and its words are used only if they keep every link and number of the
//! answer; otherwise, or when it fails, is slow or declines, the answer goes out as made.
//! What the assistant decides (answer, ask, hand over) never depends on it.

use serde_json::{json, Value};
use std::time::Duration;

/// How long a shopper's answer may wait for the model before going out as made.
const TIMEOUT: Duration = Duration::from_secs(8);

const INSTRUCTIONS: &str = "You reword a shop's customer-service chat answers so they read \
naturally and warmly, in the same language as the shopper. Use only the facts given; add \
nothing else, promise nothing, invent no dates, prices or policies. Keep every link, order \
number and tracking number exactly as written. Keep it short. If the facts do not answer the \
shopper's message, reply with exactly: KEEP";

/// An OpenAI-compatible endpoint and the model to ask.
#[derive(Clone)]
pub struct Rephraser {
    client: reqwest::Client,
    /// The API's base, e.g. `https://api.openai.com/v1`, without a trailing slash.
    base_url: String,
    api_key: Option<String>,
    model: String,
}

impl Rephraser {
    pub fn new(base_url: &str, api_key: Option<String>, model: String) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .build()
            .map_err(|e| format!("cannot make an HTTP client: {e}"))?;
        Ok(Rephraser {
            client,
            base_url: base_url.trim_end_matches('/').to_owned(),
            api_key,
            model,
        })
    }

    /// The answer in the model's words, or `None` to send it as made.
    pub async fn rephrase(&self, asked: &str, facts: &str, answer: &str) -> Option<String> {
        let body = json!({
            "model": self.model,
            "temperature": 0.2,
            "max_tokens": 500,
            "messages": [
                {"role": "system", "content": INSTRUCTIONS},
                {"role": "user", "content": format!(
                    "The shopper wrote:\n{asked}\n\nFacts:\n{facts}\n\nThe answer to reword:\n{answer}"
                )},
            ],
        });
        let mut request = self
            .client
            .post(format!("{}/chat/completions", self.base_url))
            .json(&body);
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key);
        }
        let response = match request.send().await {
            Ok(r) if r.status().is_success() => r,
            Ok(r) => {
                tracing::warn!(status = %r.status(), "the language model refused; the answer goes as made");
                return None;
            }
            Err(e) => {
                tracing::warn!(error = %e, "the language model did not answer; the answer goes as made");
                return None;
            }
        };
        let v: Value = response.json().await.ok()?;
        let text = v["choices"][0]["message"]["content"].as_str()?.trim();
        keeps_the_facts(answer, text).then(|| text.to_owned())
    }
}

/// Whether reworded text may replace the answer: not empty, not declined, not much longer,
/// and every link and number of the answer still in it.
fn keeps_the_facts(answer: &str, reworded: &str) -> bool {
    if reworded.is_empty() || reworded == "KEEP" || reworded.len() > answer.len() * 2 + 200 {
        return false;
    }
    answer
        .split_whitespace()
        .map(|w| w.trim_end_matches(['.', ',', ')', '!', '?', ':']))
        .filter(|w| w.starts_with("http") || w.chars().any(|c| c.is_ascii_digit()))
        .all(|w| reworded.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reworded_text_must_keep_links_and_numbers() {
        let answer = "Your order #1042 is shipped. Follow it here: https://x.example/track/ab1.";
        assert!(keeps_the_facts(
            answer,
            "Good news! #1042 is on its way — https://x.example/track/ab1"
        ));
        assert!(!keeps_the_facts(answer, "Good news! #1042 is on its way."));
        assert!(!keeps_the_facts(
            answer,
            "Order #1043 is on its way: https://x.example/track/ab1"
        ));
        assert!(!keeps_the_facts(answer, "KEEP"));
        assert!(!keeps_the_facts(answer, ""));
    }
}
