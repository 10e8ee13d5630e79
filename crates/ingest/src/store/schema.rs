//! The metadata schema, in the one place both backends read it from: portable DDL (`TEXT` and
//! `BIGINT` only, bytes as hex text, no autoincrement), each statement idempotent
//! (`IF NOT EXISTS`), run in order in one transaction every time a store opens. A new table or
//! index is appended at the end; an existing statement is never edited (databases created by an
//! earlier version already ran it).

/// The schema statements, in order.
pub const SCHEMA: &[&str] = &[
    // One row per stored artifact: its commit is what makes the artifact exist.
    "CREATE TABLE IF NOT EXISTS artifacts (
        id                TEXT PRIMARY KEY,
        tbs_sha256        TEXT NOT NULL UNIQUE,
        client_kid        TEXT NOT NULL,
        client_key        TEXT NOT NULL,
        pseudonym         TEXT NOT NULL,
        purpose           TEXT NOT NULL,
        recipient         TEXT NOT NULL,
        consent_decision  TEXT NOT NULL,
        consent_event     TEXT,
        created_ms        BIGINT NOT NULL,
        received_ms       BIGINT NOT NULL,
        envelope_size     BIGINT NOT NULL,
        envelope_path     TEXT NOT NULL,
        manifest_path     TEXT NOT NULL,
        manifest_json     TEXT NOT NULL,
        revoked_ms        BIGINT,
        revocation_reason TEXT,
        subject_erased_ms BIGINT
    )",
    "CREATE INDEX IF NOT EXISTS artifacts_by_pseudonym ON artifacts (pseudonym)",
    // Every accepted device reading, by (device, counter): a second use is a replay. Counters are
    // u64, so they are fixed-width decimal text (ordering and MAX stay numeric).
    "CREATE TABLE IF NOT EXISTS readings (
        device      TEXT NOT NULL,
        counter     TEXT NOT NULL,
        artifact_id TEXT NOT NULL REFERENCES artifacts (id),
        ts          BIGINT NOT NULL,
        PRIMARY KEY (device, counter)
    )",
    // The per-device high-water mark.
    "CREATE TABLE IF NOT EXISTS devices (
        device       TEXT PRIMARY KEY,
        last_counter TEXT NOT NULL,
        last_seen_ms BIGINT NOT NULL
    )",
    // Signed revocation and erasure requests, in arrival order (`seq` is computed in the
    // inserting transaction: MAX + 1).
    "CREATE TABLE IF NOT EXISTS revocations (
        seq         BIGINT PRIMARY KEY,
        received_ms BIGINT NOT NULL,
        client_kid  TEXT NOT NULL,
        body        TEXT NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS erasures (
        seq          BIGINT PRIMARY KEY,
        received_ms  BIGINT NOT NULL,
        erased_at_ms BIGINT NOT NULL,
        client_kid   TEXT NOT NULL,
        body         TEXT NOT NULL
    )",
];
