-- Store platforms and shipment tracking: webhook deliveries kept raw before they are applied,
-- the platforms' own clocks (an older update never overwrites a newer one), refunds,
-- shipments known by the platform's fulfillment id and by a public tracking token, scans
-- recognised when a carrier repeats them, notices to shoppers sent once per event, and the
-- orders a conversation is about.

CREATE TABLE webhook_deliveries (
    id          TEXT PRIMARY KEY,
    platform    TEXT NOT NULL,
    delivery_id TEXT NOT NULL,
    topic       TEXT NOT NULL,
    shop        TEXT,
    body        TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'applied', 'ignored', 'malformed', 'failed')),
    error       TEXT,
    received_at INTEGER NOT NULL,
    applied_at  INTEGER,
    UNIQUE (platform, delivery_id)
);
CREATE INDEX webhook_deliveries_status ON webhook_deliveries(status, received_at DESC);

ALTER TABLE orders ADD COLUMN source_updated_at INTEGER;
ALTER TABLE orders ADD COLUMN refunded_total TEXT;
ALTER TABLE orders ADD COLUMN shop TEXT;

CREATE TABLE refunds (
    id          TEXT PRIMARY KEY,
    order_id    TEXT NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    external_id TEXT NOT NULL,
    amount      TEXT NOT NULL,
    note        TEXT,
    created_at  INTEGER NOT NULL,
    UNIQUE (order_id, external_id)
);

ALTER TABLE shipments ADD COLUMN external_id TEXT;
ALTER TABLE shipments ADD COLUMN source_updated_at INTEGER;
ALTER TABLE shipments ADD COLUMN tracking_token TEXT;
UPDATE shipments SET tracking_token = lower(hex(randomblob(16)));
CREATE UNIQUE INDEX shipments_external ON shipments(order_id, external_id);
CREATE UNIQUE INDEX shipments_token ON shipments(tracking_token);
-- Shipments still on their way, for the late check.
CREATE INDEX shipments_open ON shipments(status, last_event_at);

ALTER TABLE tracking_events ADD COLUMN fingerprint TEXT;
CREATE UNIQUE INDEX tracking_events_fingerprint ON tracking_events(shipment_id, fingerprint);

CREATE TABLE notices (
    id              TEXT PRIMARY KEY,
    shipment_id     TEXT NOT NULL REFERENCES shipments(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'skipped', 'failed')),
    recipient       TEXT,
    detail          TEXT,
    conversation_id TEXT,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER,
    UNIQUE (shipment_id, kind)
);

CREATE TABLE notice_templates (
    kind       TEXT PRIMARY KEY,
    subject    TEXT NOT NULL,
    body       TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

ALTER TABLE customers ADD COLUMN notices_off_at INTEGER;
ALTER TABLE customers ADD COLUMN notices_token TEXT;
CREATE UNIQUE INDEX customers_notices_token ON customers(notices_token);

CREATE TABLE conversation_orders (
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    order_id        TEXT NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, order_id)
);
CREATE INDEX conversation_orders_order ON conversation_orders(order_id);
