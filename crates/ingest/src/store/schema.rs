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
    // Invitations: only the SHA-256 of the normalised code is kept (`store::clients`).
    "CREATE TABLE IF NOT EXISTS invites (
        code_sha256 TEXT PRIMARY KEY,
        name        TEXT,
        uses_left   BIGINT NOT NULL,
        expires_ms  BIGINT NOT NULL,
        created_ms  BIGINT NOT NULL
    )",
    // Enrolled client keys; a revoked one keeps its row (what it delivered stays attributable).
    "CREATE TABLE IF NOT EXISTS clients (
        client_kid  TEXT PRIMARY KEY,
        client_key  TEXT NOT NULL,
        name        TEXT,
        invite_name TEXT,
        enrolled_ms BIGINT NOT NULL,
        revoked_ms  BIGINT
    )",
    // The keys each pseudonym belongs to: its first user and the keys it delegated to.
    "CREATE TABLE IF NOT EXISTS pseudonym_keys (
        pseudonym  TEXT NOT NULL,
        client_kid TEXT NOT NULL,
        added_ms   BIGINT NOT NULL,
        added_by   TEXT NOT NULL,
        PRIMARY KEY (pseudonym, client_kid)
    )",
    // Signed control requests (revocations, erasures, delegations), byte-exact with their
    // signature and the answer given, keyed by the SHA-256 of the body (`store::controls`).
    "CREATE TABLE IF NOT EXISTS controls (
        body_sha256  TEXT PRIMARY KEY,
        kind         TEXT NOT NULL,
        client_kid   TEXT NOT NULL,
        nonce        TEXT NOT NULL,
        timestamp_ms BIGINT NOT NULL,
        received_ms  BIGINT NOT NULL,
        body         TEXT NOT NULL,
        signature    TEXT NOT NULL,
        answer       TEXT NOT NULL,
        UNIQUE (client_kid, nonce)
    )",
    "CREATE INDEX IF NOT EXISTS artifacts_by_client ON artifacts (client_kid)",
    // The data-encryption key of each stored envelope object (`at_rest`): committed with the
    // artifact, overwritten with NULL when consent is withdrawn or the subject erased.
    "CREATE TABLE IF NOT EXISTS artifact_keys (
        artifact_id  TEXT PRIMARY KEY,
        dek          TEXT,
        created_ms   BIGINT NOT NULL,
        destroyed_ms BIGINT,
        destroyed_by TEXT
    )",
    // Recipient users (`store::users`): operator-created, a role and the purposes it may read for,
    // authenticated by an enrolled ES256 key.
    "CREATE TABLE IF NOT EXISTS users (
        user_kid    TEXT PRIMARY KEY,
        user_key    TEXT NOT NULL,
        name        TEXT NOT NULL,
        role        TEXT NOT NULL,
        purposes    TEXT NOT NULL,
        created_ms  BIGINT NOT NULL,
        disabled_ms BIGINT
    )",
    // Nonces of users' signed read requests: each accepted once.
    "CREATE TABLE IF NOT EXISTS user_nonces (
        user_kid    TEXT NOT NULL,
        nonce       TEXT NOT NULL,
        received_ms BIGINT NOT NULL,
        PRIMARY KEY (user_kid, nonce)
    )",
    // The access log: every read decision as a signed, hash-chained `veil_audit` entry (JSON).
    "CREATE TABLE IF NOT EXISTS access_log (
        seq         BIGINT PRIMARY KEY,
        subject     TEXT,
        artifact_id TEXT,
        entry       TEXT NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS access_log_by_subject ON access_log (subject)",
    // Passkeys of recipient users (`store::passkeys`): one-time registration codes (only their
    // SHA-256 kept), registered credentials (ES256 key and signature counter), the single-use
    // challenges the server issued (only their SHA-256 kept; expired ones are deleted when new
    // ones are issued) and sign-in sessions (only the token's SHA-256 kept).
    "CREATE TABLE IF NOT EXISTS passkey_codes (
        code_sha256 TEXT PRIMARY KEY,
        user_kid    TEXT NOT NULL,
        created_ms  BIGINT NOT NULL,
        expires_ms  BIGINT NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS passkeys (
        credential_id TEXT PRIMARY KEY,
        user_kid      TEXT NOT NULL,
        public_key    TEXT NOT NULL,
        sign_count    BIGINT NOT NULL,
        created_ms    BIGINT NOT NULL,
        last_used_ms  BIGINT
    )",
    "CREATE TABLE IF NOT EXISTS webauthn_challenges (
        challenge_sha256 TEXT PRIMARY KEY,
        ceremony         TEXT NOT NULL,
        code_sha256      TEXT,
        created_ms       BIGINT NOT NULL,
        expires_ms       BIGINT NOT NULL
    )",
    // The backup eligibility (WebAuthn BE flag) each passkey was registered with, which every
    // assertion must repeat (L3 §7.2). A table of its own rather than a column of `passkeys`:
    // statements here are portable and idempotent, and SQLite has no `ADD COLUMN IF NOT EXISTS`.
    // A passkey registered before this table existed has no row; its next sign-in records it.
    "CREATE TABLE IF NOT EXISTS passkey_backup (
        credential_id   TEXT PRIMARY KEY,
        backup_eligible BIGINT NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS user_sessions (
        token_sha256 TEXT PRIMARY KEY,
        user_kid     TEXT NOT NULL,
        credential_id TEXT NOT NULL,
        created_ms   BIGINT NOT NULL,
        expires_ms   BIGINT NOT NULL
    )",
    // Nonces of clients' signed read requests (a patient's access log): each accepted once, kept
    // only as long as a request with it could still be fresh.
    "CREATE TABLE IF NOT EXISTS client_read_nonces (
        client_kid  TEXT NOT NULL,
        nonce       TEXT NOT NULL,
        received_ms BIGINT NOT NULL,
        PRIMARY KEY (client_kid, nonce)
    )",
];
