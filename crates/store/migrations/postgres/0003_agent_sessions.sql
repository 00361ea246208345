-- Agents' browser sessions. The cookie's secret is stored only as its SHA-256 digest, like
-- API tokens; the CSRF token is not a credential on its own and is kept as it is.
CREATE TABLE agent_sessions (
    id           TEXT PRIMARY KEY,
    token_hash   TEXT NOT NULL UNIQUE,
    agent_id     TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    csrf_token   TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    revoked_at   TIMESTAMPTZ
);
CREATE INDEX agent_sessions_agent ON agent_sessions(agent_id);
