-- What the assistant remembers about a chat between messages: the question waiting for the
-- shopper to prove an order is theirs (order number and its email or postcode), the order
-- they proved, and how many proofs failed (the third ends the checks in that chat).
ALTER TABLE chat_sessions ADD COLUMN awaiting TEXT;
ALTER TABLE chat_sessions ADD COLUMN order_id TEXT REFERENCES orders (id);
ALTER TABLE chat_sessions ADD COLUMN failed_checks BIGINT NOT NULL DEFAULT 0;

-- Failed order proofs by what was claimed (a digest of the email or postcode, never the
-- value), so that guessing across many chats is throttled as well.
CREATE TABLE order_check_failures (
    claim_digest TEXT NOT NULL,
    failed_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX order_check_failures_claim ON order_check_failures (claim_digest, failed_at);
-- Old failures are dropped as new ones come in.
CREATE INDEX order_check_failures_at ON order_check_failures (failed_at);

-- When an agent last had the workspace open: who is online, for what the assistant tells a
-- shopper it hands over to the team.
ALTER TABLE agents ADD COLUMN seen_at TIMESTAMPTZ;
