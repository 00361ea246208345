-- Two-factor sign-in (TOTP, RFC 6238): the agent's shared secret (base32) once confirmed, the
-- one being enrolled until then, and the last time step a code was accepted for, so a code
-- cannot be used twice. Recovery codes are stored as SHA-256 digests, each good once.
ALTER TABLE agents ADD COLUMN totp_secret TEXT;
ALTER TABLE agents ADD COLUMN totp_pending TEXT;
ALTER TABLE agents ADD COLUMN totp_last_step BIGINT;

CREATE TABLE recovery_codes (
    agent_id  TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at   INTEGER,
    PRIMARY KEY (agent_id, code_hash)
);
