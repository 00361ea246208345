-- The shop's business hours (concierge_domain::hours), at most one row: its IANA time zone,
-- the week as seven lists of spans, Monday first (JSON: [["09:00-17:00"], [], …]), and the
-- dates it is closed (JSON: ["2026-12-25"]). No row: always open.
CREATE TABLE business_hours (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    timezone     TEXT NOT NULL,
    week         TEXT NOT NULL,
    closed_dates TEXT NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
