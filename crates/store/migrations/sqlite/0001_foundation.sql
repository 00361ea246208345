-- Concierge foundation schema (SQLite). Timestamps are INTEGER microseconds since the Unix
-- epoch (UTC); money is TEXT holding an exact decimal; ids are opaque TEXT.

CREATE TABLE customers (
    id          TEXT PRIMARY KEY,
    name        TEXT,
    email       TEXT,
    phone       TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- Each handle belongs to exactly one customer: how one shopper stays one customer.
CREATE TABLE customer_identities (
    kind        TEXT NOT NULL CHECK (kind IN ('email', 'phone', 'external')),
    value       TEXT NOT NULL,
    customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
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
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

CREATE TABLE teams (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

CREATE TABLE team_members (
    team_id  TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    PRIMARY KEY (team_id, agent_id)
);

CREATE TABLE tags (
    name       TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL
);

CREATE TABLE conversations (
    seq               INTEGER PRIMARY KEY,
    id                TEXT NOT NULL UNIQUE,
    customer_id       TEXT NOT NULL REFERENCES customers(id),
    channel           TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('open', 'pending', 'snoozed', 'resolved', 'closed')),
    priority          TEXT NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    assignee_id       TEXT REFERENCES agents(id),
    team_id           TEXT REFERENCES teams(id),
    subject           TEXT,
    intent            TEXT,
    intent_confidence REAL,
    snooze_until      INTEGER,
    first_response_at INTEGER,
    resolved_at       INTEGER,
    waiting_since     INTEGER,
    last_activity_at  INTEGER NOT NULL,
    message_count     INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
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
    seq             INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    sender_type     TEXT NOT NULL CHECK (sender_type IN ('customer', 'agent', 'bot', 'system')),
    agent_id        TEXT REFERENCES agents(id),
    body            TEXT NOT NULL,
    body_html       TEXT,
    private         BOOLEAN NOT NULL DEFAULT FALSE,
    delivery_status TEXT CHECK (delivery_status IN ('pending', 'sent', 'delivered', 'failed')),
    created_at      INTEGER NOT NULL
);
CREATE INDEX messages_conversation ON messages(conversation_id, seq);

CREATE TABLE attachments (
    id           TEXT PRIMARY KEY,
    message_id   TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    filename     TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes   INTEGER NOT NULL,
    storage_key  TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX attachments_message ON attachments(message_id);

-- Full-text search: FTS5 indexes over the rows above (external content, kept by triggers).
CREATE VIRTUAL TABLE messages_fts USING fts5(
    body, content = 'messages', content_rowid = 'seq', tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts(rowid, body) VALUES (new.seq, new.body);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.seq, old.body);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.seq, old.body);
    INSERT INTO messages_fts(rowid, body) VALUES (new.seq, new.body);
END;

CREATE VIRTUAL TABLE conversations_fts USING fts5(
    subject, content = 'conversations', content_rowid = 'seq', tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER conversations_fts_insert AFTER INSERT ON conversations BEGIN
    INSERT INTO conversations_fts(rowid, subject) VALUES (new.seq, coalesce(new.subject, ''));
END;
CREATE TRIGGER conversations_fts_delete AFTER DELETE ON conversations BEGIN
    INSERT INTO conversations_fts(conversations_fts, rowid, subject) VALUES ('delete', old.seq, coalesce(old.subject, ''));
END;
CREATE TRIGGER conversations_fts_update AFTER UPDATE OF subject ON conversations BEGIN
    INSERT INTO conversations_fts(conversations_fts, rowid, subject) VALUES ('delete', old.seq, coalesce(old.subject, ''));
    INSERT INTO conversations_fts(rowid, subject) VALUES (new.seq, coalesce(new.subject, ''));
END;

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
    shipping_address   TEXT,
    placed_at          INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    UNIQUE (source, external_id)
);
CREATE INDEX orders_number ON orders(number);
CREATE INDEX orders_customer ON orders(customer_id, placed_at DESC);

CREATE TABLE line_items (
    id       TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    sku      TEXT,
    title    TEXT NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity > 0),
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
    estimated_delivery INTEGER,
    last_event_at      INTEGER,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);
CREATE INDEX shipments_order ON shipments(order_id, created_at);
CREATE INDEX shipments_tracking ON shipments(tracking_number);

CREATE TABLE tracking_events (
    id          TEXT PRIMARY KEY,
    shipment_id TEXT NOT NULL REFERENCES shipments(id) ON DELETE CASCADE,
    status      TEXT NOT NULL,
    occurred_at INTEGER NOT NULL,
    location    TEXT,
    message     TEXT,
    created_at  INTEGER NOT NULL
);
CREATE INDEX tracking_events_shipment ON tracking_events(shipment_id, occurred_at);

CREATE TABLE articles (
    seq           INTEGER PRIMARY KEY,
    id            TEXT NOT NULL UNIQUE,
    slug          TEXT NOT NULL,
    locale        TEXT NOT NULL,
    title         TEXT NOT NULL,
    body_markdown TEXT NOT NULL,
    body_html     TEXT NOT NULL,
    category      TEXT,
    published     BOOLEAN NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    UNIQUE (locale, slug)
);

CREATE VIRTUAL TABLE articles_fts USING fts5(
    title, body, content = 'articles', content_rowid = 'seq', tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
    INSERT INTO articles_fts(rowid, title, body) VALUES (new.seq, new.title, new.body_markdown);
END;
CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
    INSERT INTO articles_fts(articles_fts, rowid, title, body) VALUES ('delete', old.seq, old.title, old.body_markdown);
END;
CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, body_markdown ON articles BEGIN
    INSERT INTO articles_fts(articles_fts, rowid, title, body) VALUES ('delete', old.seq, old.title, old.body_markdown);
    INSERT INTO articles_fts(rowid, title, body) VALUES (new.seq, new.title, new.body_markdown);
END;

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('admin', 'agent')),
    token_hash   TEXT NOT NULL UNIQUE,
    token_prefix TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);

CREATE TABLE audit_log (
    seq          INTEGER PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    actor_type   TEXT NOT NULL,
    actor_id     TEXT,
    action       TEXT NOT NULL,
    subject_type TEXT NOT NULL,
    subject_id   TEXT,
    details      TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX audit_log_subject ON audit_log(subject_type, subject_id);

-- The durable job queue (outbox): claimed with a lease, retried with backoff, dead-lettered.
CREATE TABLE jobs (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'dead')),
    run_at       INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    locked_until INTEGER,
    locked_by    TEXT,
    last_error   TEXT,
    dedupe_key   TEXT UNIQUE,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX jobs_due ON jobs(status, run_at);
