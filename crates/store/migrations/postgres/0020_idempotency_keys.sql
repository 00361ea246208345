-- Requests made under an Idempotency-Key, by a digest of the caller's credential and the
-- key: what the request asked (a digest), and its answer once it has one. Kept a day.
CREATE TABLE idempotency_keys (
    scope_digest TEXT NOT NULL,
    key          TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    status       BIGINT,
    content_type TEXT,
    body         TEXT,
    created_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (scope_digest, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
