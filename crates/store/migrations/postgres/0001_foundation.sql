-- Concierge foundation schema (PostgreSQL). Timestamps are TIMESTAMPTZ; money is TEXT
-- holding an exact decimal (parsed by the domain, never a float); ids are opaque TEXT.

CREATE TABLE customers (
    id          TEXT PRIMARY KEY,
    name        TEXT,
    email       TEXT,
    phone       TEXT,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

-- Each handle belongs to exactly one customer: how one shopper stays one customer.
CREATE TABLE customer_identities (
    kind        TEXT NOT NULL CHECK (kind IN ('email', 'phone', 'external')),
    value       TEXT NOT NULL,
    customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (kind, value)
);
CREATE INDEX customer_identities_customer ON customer_identities(customer_id);

CREATE TABLE agents (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'agent')),
    password_hash TEXT NOT NULL,
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE teams (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE team_members (
    team_id  TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    PRIMARY KEY (team_id, agent_id)
);

CREATE TABLE tags (
    name       TEXT PRIMARY KEY,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE conversations (
    seq               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id                TEXT NOT NULL UNIQUE,
    customer_id       TEXT NOT NULL REFERENCES customers(id),
    channel           TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('open', 'pending', 'snoozed', 'resolved', 'closed')),
    priority          TEXT NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    assignee_id       TEXT REFERENCES agents(id),
    team_id           TEXT REFERENCES teams(id),
    subject           TEXT,
    intent            TEXT,
    intent_confidence DOUBLE PRECISION,
    snooze_until      TIMESTAMPTZ,
    first_response_at TIMESTAMPTZ,
    resolved_at       TIMESTAMPTZ,
    waiting_since     TIMESTAMPTZ,
    last_activity_at  TIMESTAMPTZ NOT NULL,
    message_count     BIGINT NOT NULL DEFAULT 0,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL
);
ALTER TABLE conversations ADD COLUMN search tsvector GENERATED ALWAYS AS (to_tsvector('english', coalesce(subject, ''))) STORED;
CREATE INDEX conversations_search ON conversations USING GIN (search);
CREATE INDEX conversations_activity ON conversations(last_activity_at DESC, id DESC);
CREATE INDEX conversations_status_activity ON conversations(status, last_activity_at DESC, id DESC);
CREATE INDEX conversations_customer ON conversations(customer_id, last_activity_at DESC);
CREATE INDEX conversations_assignee ON conversations(assignee_id, last_activity_at DESC);

CREATE TABLE conversation_tags (
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    tag             TEXT NOT NULL REFERENCES tags(name),
    PRIMARY KEY (conversation_id, tag)
);
CREATE INDEX conversation_tags_tag ON conversation_tags(tag, conversation_id);

CREATE TABLE messages (
    seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    sender_type     TEXT NOT NULL CHECK (sender_type IN ('customer', 'agent', 'bot', 'system')),
    agent_id        TEXT REFERENCES agents(id),
    body            TEXT NOT NULL,
    body_html       TEXT,
    private         BOOLEAN NOT NULL DEFAULT FALSE,
    delivery_status TEXT CHECK (delivery_status IN ('pending', 'sent', 'delivered', 'failed')),
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX messages_conversation ON messages(conversation_id, seq);
-- Full-text search: a generated tsvector per row with a GIN index.
ALTER TABLE messages ADD COLUMN search tsvector GENERATED ALWAYS AS (to_tsvector('english', body)) STORED;
CREATE INDEX messages_search ON messages USING GIN (search);

CREATE TABLE attachments (
    id           TEXT PRIMARY KEY,
    message_id   TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    filename     TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes   BIGINT NOT NULL,
    storage_key  TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX attachments_message ON attachments(message_id);

CREATE TABLE orders (
    id                 TEXT PRIMARY KEY,
    source             TEXT NOT NULL,
    external_id        TEXT NOT NULL,
    number             TEXT NOT NULL,
    customer_id        TEXT NOT NULL REFERENCES customers(id),
    status             TEXT NOT NULL,
    financial_status   TEXT NOT NULL,
    fulfillment_status TEXT NOT NULL,
    currency           TEXT NOT NULL,
    total              TEXT NOT NULL,
    shipping_address   JSONB,
    placed_at          TIMESTAMPTZ NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    UNIQUE (source, external_id)
);
CREATE INDEX orders_number ON orders(number);
CREATE INDEX orders_customer ON orders(customer_id, placed_at DESC);

CREATE TABLE line_items (
    id       TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    sku      TEXT,
    title    TEXT NOT NULL,
    quantity BIGINT NOT NULL CHECK (quantity > 0),
    price    TEXT NOT NULL
);
CREATE INDEX line_items_order ON line_items(order_id, position);

CREATE TABLE shipments (
    id                 TEXT PRIMARY KEY,
    order_id           TEXT NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    carrier            TEXT NOT NULL,
    tracking_number    TEXT NOT NULL,
    tracking_url       TEXT,
    status             TEXT NOT NULL,
    estimated_delivery TIMESTAMPTZ,
    last_event_at      TIMESTAMPTZ,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX shipments_order ON shipments(order_id, created_at);
CREATE INDEX shipments_tracking ON shipments(tracking_number);

CREATE TABLE tracking_events (
    id          TEXT PRIMARY KEY,
    shipment_id TEXT NOT NULL REFERENCES shipments(id) ON DELETE CASCADE,
    status      TEXT NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    location    TEXT,
    message     TEXT,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX tracking_events_shipment ON tracking_events(shipment_id, occurred_at);

CREATE TABLE articles (
    seq           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id            TEXT NOT NULL UNIQUE,
    slug          TEXT NOT NULL,
    locale        TEXT NOT NULL,
    title         TEXT NOT NULL,
    body_markdown TEXT NOT NULL,
    body_html     TEXT NOT NULL,
    category      TEXT,
    published     BOOLEAN NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    UNIQUE (locale, slug),
    search        tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', body_markdown), 'B')
    ) STORED
);
CREATE INDEX articles_search ON articles USING GIN (search);

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('admin', 'agent')),
    token_hash   TEXT NOT NULL UNIQUE,
    token_prefix TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);

CREATE TABLE audit_log (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    actor_type   TEXT NOT NULL,
    actor_id     TEXT,
    action       TEXT NOT NULL,
    subject_type TEXT NOT NULL,
    subject_id   TEXT,
    details      JSONB NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX audit_log_subject ON audit_log(subject_type, subject_id);

-- The durable job queue (outbox): claimed with a lease, retried with backoff, dead-lettered.
CREATE TABLE jobs (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    payload      JSONB NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'dead')),
    run_at       TIMESTAMPTZ NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    locked_until TIMESTAMPTZ,
    locked_by    TEXT,
    last_error   TEXT,
    dedupe_key   TEXT UNIQUE,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX jobs_due ON jobs(status, run_at);
