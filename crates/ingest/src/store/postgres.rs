//! The PostgreSQL backend of [`Database`](super::database::Database): metadata shared by any number of
//! ingest instances.
//!
//! The synchronous `postgres` client (rust-postgres), used only on blocking threads (the SQL
//! layer runs every transaction in `spawn_blocking`), from a small pool of connections per
//! instance. Every transaction is `SERIALIZABLE`: PostgreSQL then guarantees the outcome of
//! concurrent transactions is that of some serial order, or it aborts one with SQLSTATE 40001,
//! which the SQL layer answers by running the closure again. That is what makes the store's
//! check-then-insert ("is this id or counter already there? if not, insert") correct across
//! instances without locks in the application. Statements are prepared once per connection and
//! cached.
//!
//! The connection string is a secret (it may carry a password): it is never logged or put in an
//! error; [`describe`] gives the user, host, port and database only.
//!
//! TLS. Connections use TLS as the URL's `sslmode` says (rust-postgres: `disable`, `prefer`, the
//! default, or `require`), through rustls, and a TLS connection always verifies the server's
//! certificate and name against the system's roots (or `SSL_CERT_FILE` / `SSL_CERT_DIR`): unlike
//! libpq, `prefer` and `require` are never unauthenticated encryption. A server with a certificate
//! nobody vouches for (Debian's default "snakeoil" one) needs its CA in `SSL_CERT_FILE`, or
//! `sslmode=disable` on a private network or Unix socket.

use std::collections::HashMap;
use std::error::Error as StdError;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use bytes::BytesMut;
use postgres::error::SqlState;
use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use postgres::{Client, Config, IsolationLevel, Statement};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::sql::{Attempt, Failures, Row, Tx, Value};
use crate::config::describe_postgres as describe;
use crate::{ApiError, ServeError};

/// Connections one instance keeps at most. Uploads hold a connection only for their metadata
/// commit (milliseconds), so a few serve many concurrent requests; two instances with the sweep's
/// own connection stay far below PostgreSQL's default `max_connections` (100).
pub const POOL_SIZE: usize = 8;
/// How long a transaction waits for a free connection before it fails (503-class: `storage`).
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(30);
/// Statements cached per connection before the cache is cleared.
const STATEMENT_CACHE: usize = 256;

/// The advisory lock key the orphan sweep holds (any fixed 64-bit number; "veil-swp").
const SWEEP_LOCK_KEY: i64 = 0x7665_696c_2d73_7770;
/// The advisory lock key schema creation holds, so instances starting together do not race on
/// `CREATE TABLE IF NOT EXISTS` ("veil-sch").
const SCHEMA_LOCK_KEY: i64 = 0x7665_696c_2d73_6368;

/// One pooled connection and its prepared statements.
struct Connection {
    client: Client,
    statements: HashMap<String, Statement>,
}

struct PoolState {
    idle: Vec<Connection>,
    /// Connections open (idle or checked out).
    open: usize,
}

/// The TLS connector: rustls with the ring provider (the one the workspace's HTTPS stack uses)
/// and the system's roots (`SSL_CERT_FILE` / `SSL_CERT_DIR` honoured).
fn tls() -> Result<MakeRustlsConnect, ServeError> {
    let mut roots = rustls::RootCertStore::empty();
    // Unreadable system certificates only mean fewer roots: a TLS connection then fails with
    // an unknown issuer, which says what to do.
    let (_, _) = roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| ServeError::Config(format!("TLS for the database: {e}")))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// A PostgreSQL database reached through a small connection pool.
pub(crate) struct Postgres {
    config: Config,
    tls: MakeRustlsConnect,
    state: Mutex<PoolState>,
    freed: Condvar,
}

/// A connection error as the API sees it: the server and the cause, never the password.
fn connect_err(config: &Config, e: &postgres::Error) -> ApiError {
    ApiError::Storage(format!("database {}: {e}", describe(config)))
}

/// A statement error as the API sees it: the SQLSTATE and the server's message (never the
/// statement's parameters; the detail is logged, never answered).
fn db_err(e: &postgres::Error) -> ApiError {
    match e.as_db_error() {
        Some(db) => ApiError::Storage(format!(
            "database: {} (SQLSTATE {})",
            db.message(),
            db.code().code()
        )),
        None => ApiError::Storage(format!("database: {e}")),
    }
}

/// A failure another transaction caused (or a dropped connection, before commit): worth running
/// the transaction again.
fn is_retryable(e: &postgres::Error) -> bool {
    e.is_closed()
        || matches!(
            e.code(),
            Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE
                || *c == SqlState::T_R_DEADLOCK_DETECTED
                || *c == SqlState::UNIQUE_VIOLATION
        )
}

impl Postgres {
    /// Connect once (so a wrong URL, password or an unreachable server fails at start) and create
    /// the schema. Blocking: call it where blocking is allowed (see `Database::open`).
    pub fn open(config: Config) -> Result<Self, ServeError> {
        let tls = tls()?;
        let client = config.connect(tls.clone()).map_err(|e| {
            let hint = if e.to_string().contains("TLS") {
                " (the server's certificate is verified against the system's roots or \
                 SSL_CERT_FILE; sslmode=disable connects without TLS)"
            } else {
                ""
            };
            ServeError::Storage(format!(
                "cannot connect to database {}: {e}{hint}",
                describe(&config)
            ))
        })?;
        Ok(Postgres {
            config,
            tls,
            state: Mutex::new(PoolState {
                idle: vec![Connection {
                    client,
                    statements: HashMap::new(),
                }],
                open: 1,
            }),
            freed: Condvar::new(),
        })
    }

    /// `user@host:port/dbname`.
    pub fn describe(&self) -> String {
        describe(&self.config)
    }

    /// A connection of the pool (opening one if fewer than [`POOL_SIZE`] are open), waiting up to
    /// [`CHECKOUT_TIMEOUT`] for one to be freed.
    fn checkout(&self) -> Result<Connection, ApiError> {
        let poisoned = || ApiError::Internal("database pool lock poisoned".into());
        let mut state = self.state.lock().map_err(|_| poisoned())?;
        let deadline = std::time::Instant::now() + CHECKOUT_TIMEOUT;
        loop {
            while let Some(conn) = state.idle.pop() {
                if !conn.client.is_closed() {
                    return Ok(conn);
                }
                state.open -= 1;
            }
            if state.open < POOL_SIZE {
                state.open += 1;
                drop(state);
                return match self.config.connect(self.tls.clone()) {
                    Ok(client) => Ok(Connection {
                        client,
                        statements: HashMap::new(),
                    }),
                    Err(e) => {
                        let mut state = self.state.lock().map_err(|_| poisoned())?;
                        state.open -= 1;
                        self.freed.notify_one();
                        Err(connect_err(&self.config, &e))
                    }
                };
            }
            let now = std::time::Instant::now();
            if now >= deadline {
                return Err(ApiError::Storage(
                    "database: no free connection in the pool".into(),
                ));
            }
            state = self
                .freed
                .wait_timeout(state, deadline - now)
                .map_err(|_| poisoned())?
                .0;
        }
    }

    /// Return a connection to the pool (a closed one is dropped).
    fn checkin(&self, conn: Connection) {
        if let Ok(mut state) = self.state.lock() {
            if conn.client.is_closed() {
                state.open -= 1;
            } else {
                state.idle.push(conn);
            }
            self.freed.notify_one();
        }
    }

    /// Run `f` once in a `SERIALIZABLE` transaction.
    pub fn attempt<T>(&self, f: &dyn Fn(&mut dyn Tx) -> Result<T, ApiError>) -> Attempt<T> {
        let mut conn = match self.checkout() {
            Ok(conn) => conn,
            // The server may be restarting: the transaction never started, try again.
            Err(e) => return Attempt::Retry(e),
        };
        let outcome = run_serializable(&mut conn, f);
        self.checkin(conn);
        outcome
    }

    /// Create the schema, one instance at a time (a transaction-scoped advisory lock: concurrent
    /// `CREATE TABLE IF NOT EXISTS` can otherwise fail on PostgreSQL's catalog).
    pub fn lock_schema(tx: &mut dyn Tx) -> Result<(), ApiError> {
        tx.query(
            "SELECT pg_advisory_xact_lock($1)",
            &[SCHEMA_LOCK_KEY.into()],
        )?;
        Ok(())
    }

    /// Try to take the sweep's session advisory lock on a connection of its own (not the pool's:
    /// a session lock lives as long as its connection). `None` when another instance holds it.
    pub fn try_sweep_lock(&self) -> Result<Option<SweepSession>, ApiError> {
        let mut client = self
            .config
            .connect(self.tls.clone())
            .map_err(|e| connect_err(&self.config, &e))?;
        let row = client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&SWEEP_LOCK_KEY])
            .map_err(|e| db_err(&e))?;
        let locked: bool = row.try_get(0).map_err(|e| db_err(&e))?;
        if locked {
            Ok(Some(SweepSession {
                client: Some(client),
            }))
        } else {
            close_off_runtime(client);
            Ok(None)
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if let Ok(state) = self.state.get_mut() {
            close_off_runtime(std::mem::take(&mut state.idle));
        }
    }
}

/// Close connections on a thread of their own: rust-postgres' blocking client closes through its
/// own runtime, which must not run on a thread driving async tasks (where the last handle to a
/// store may well be dropped).
fn close_off_runtime<T: Send>(connections: T) {
    std::thread::scope(|s| {
        s.spawn(move || drop(connections));
    });
}

/// The sweep's lock: held while this lives (closing the connection releases it, also when the
/// process dies).
pub struct SweepSession {
    client: Option<Client>,
}

impl Drop for SweepSession {
    fn drop(&mut self) {
        close_off_runtime(self.client.take());
    }
}

impl std::fmt::Debug for SweepSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SweepSession")
    }
}

impl SweepSession {
    /// Whether the lock is still held (its connection is open).
    pub fn is_held(&self) -> bool {
        self.client.as_ref().is_some_and(|c| !c.is_closed())
    }
}

fn run_serializable<T>(
    conn: &mut Connection,
    f: &dyn Fn(&mut dyn Tx) -> Result<T, ApiError>,
) -> Attempt<T> {
    let Connection { client, statements } = conn;
    let mut tx = match client
        .build_transaction()
        .isolation_level(IsolationLevel::Serializable)
        .start()
    {
        Ok(tx) => tx,
        Err(e) if is_retryable(&e) => return Attempt::Retry(db_err(&e)),
        Err(e) => return Attempt::Done(Err(db_err(&e))),
    };
    let mut handle = PgTx {
        tx: &mut tx,
        statements,
        failures: Failures::default(),
    };
    let result = f(&mut handle);
    let failures = handle.failures;
    match failures.verdict(result, true) {
        Attempt::Done(Ok(value)) => match tx.commit() {
            Ok(()) => Attempt::Done(Ok(value)),
            // A serialization failure at commit: nothing was committed.
            Err(e) if e.code().is_some() && is_retryable(&e) => Attempt::Retry(db_err(&e)),
            // A lost connection at commit: it may or may not have committed, so it is not run
            // again here; the caller sees a storage error (and a client's retry finds the
            // artifact committed, or not).
            Err(e) => Attempt::Done(Err(db_err(&e))),
        },
        // Dropping the transaction rolls it back.
        other => other,
    }
}

struct PgTx<'a, 'b> {
    tx: &'a mut postgres::Transaction<'b>,
    statements: &'a mut HashMap<String, Statement>,
    failures: Failures,
}

impl PgTx<'_, '_> {
    fn note(&mut self, e: &postgres::Error) -> ApiError {
        self.failures.failed = true;
        self.failures.retryable |= is_retryable(e);
        db_err(e)
    }

    fn statement(&mut self, sql: &str) -> Result<Statement, ApiError> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.tx.prepare(sql).map_err(|e| self.note(&e))?;
        if self.statements.len() >= STATEMENT_CACHE {
            self.statements.clear();
        }
        self.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }
}

impl Tx for PgTx<'_, '_> {
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, ApiError> {
        let statement = self.statement(sql)?;
        let refs: Vec<&(dyn ToSql + Sync)> =
            params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        let rows = self
            .tx
            .query(&statement, &refs)
            .map_err(|e| self.note(&e))?;
        rows.iter().map(row_of).collect()
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, ApiError> {
        let statement = self.statement(sql)?;
        let refs: Vec<&(dyn ToSql + Sync)> =
            params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        self.tx
            .execute(&statement, &refs)
            .map_err(|e| self.note(&e))
    }
}

/// A result row as [`Value`]s: `BIGINT`/`INTEGER`/`SMALLINT`, a whole `NUMERIC` that fits in 64
/// bits (what `SUM` of a `BIGINT` column gives) and `BOOLEAN` (0/1) as integers, the text types as
/// text; anything else is refused (cast it in the SQL).
fn row_of(row: &postgres::Row) -> Result<Row, ApiError> {
    let mut values = Vec::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        let ty = column.type_();
        let value = if *ty == Type::INT8 {
            row.try_get::<_, Option<i64>>(i).map(Value::from)
        } else if *ty == Type::INT4 {
            row.try_get::<_, Option<i32>>(i)
                .map(|v| Value::from(v.map(i64::from)))
        } else if *ty == Type::INT2 {
            row.try_get::<_, Option<i16>>(i)
                .map(|v| Value::from(v.map(i64::from)))
        } else if *ty == Type::NUMERIC {
            // `SUM` and `AVG` of BIGINT are NUMERIC in PostgreSQL (INTEGER in SQLite).
            row.try_get::<_, Option<WholeNumeric>>(i)
                .map(|v| Value::from(v.map(|n| n.0)))
        } else if *ty == Type::BOOL {
            row.try_get::<_, Option<bool>>(i)
                .map(|v| Value::from(v.map(i64::from)))
        } else if <&str as ToSql>::accepts(ty) {
            row.try_get::<_, Option<String>>(i).map(Value::from)
        } else if *ty == Type::VOID {
            // What a function called for its effect returns (`pg_advisory_xact_lock`).
            Ok(Value::Null)
        } else {
            return Err(ApiError::Storage(format!(
                "database: column {} is {ty}, not TEXT or BIGINT (cast it in the query)",
                column.name()
            )));
        };
        values.push(value.map_err(|e| db_err(&e))?);
    }
    Ok(Row(values))
}

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(v) if *ty == Type::INT8 => v.to_sql(ty, out),
            Value::Int(v) if *ty == Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
            Value::Int(v) if *ty == Type::INT2 => i16::try_from(*v)?.to_sql(ty, out),
            Value::Text(v) if <&str as ToSql>::accepts(ty) => v.as_str().to_sql(ty, out),
            Value::Int(_) => {
                Err(format!("an integer parameter where the statement wants {ty}").into())
            }
            Value::Text(_) => {
                Err(format!("a text parameter where the statement wants {ty}").into())
            }
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// A `NUMERIC` with no fractional part that fits in an `i64`.
struct WholeNumeric(i64);

impl<'a> postgres::types::FromSql<'a> for WholeNumeric {
    /// PostgreSQL's binary `NUMERIC`: digit count, weight (of the first base-10000 digit), sign,
    /// display scale, then the base-10000 digits (`numeric_send` in `utils/adt/numeric.c`).
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn StdError + Sync + Send>> {
        let word = |i: usize| -> Result<u16, Box<dyn StdError + Sync + Send>> {
            raw.get(2 * i..2 * i + 2)
                .map(|b| u16::from_be_bytes([b[0], b[1]]))
                .ok_or_else(|| "truncated NUMERIC".into())
        };
        let ndigits = usize::from(word(0)?);
        let weight = i64::from(word(1)? as i16);
        let sign = word(2)?;
        if raw.len() != 8 + 2 * ndigits {
            return Err("malformed NUMERIC".into());
        }
        let negative = match sign {
            0x0000 => false,
            0x4000 => true,
            _ => return Err("NUMERIC is NaN or infinite".into()),
        };
        let mut value: i64 = 0;
        for i in 0..ndigits {
            let digit = i64::from(word(4 + i)?);
            let position = i64::try_from(i).map_err(|_| "NUMERIC too long")?;
            if position > weight {
                // A fractional base-10000 digit.
                if digit != 0 {
                    return Err("NUMERIC has a fractional part".into());
                }
                continue;
            }
            value = value
                .checked_mul(10_000)
                .and_then(|v| v.checked_add(if negative { -digit } else { digit }))
                .ok_or("NUMERIC does not fit in 64 bits")?;
        }
        // Trailing zero digits are not sent: scale up to the weight.
        let sent = i64::try_from(ndigits).map_err(|_| "NUMERIC too long")?;
        for _ in sent..=weight {
            value = value
                .checked_mul(10_000)
                .ok_or("NUMERIC does not fit in 64 bits")?;
        }
        Ok(WholeNumeric(value))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::NUMERIC
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use postgres::types::FromSql;

    fn numeric(weight: i16, negative: bool, scale: u16, digits: &[u16]) -> Vec<u8> {
        let mut raw = vec![];
        for w in [
            u16::try_from(digits.len()).unwrap(),
            weight as u16,
            if negative { 0x4000 } else { 0 },
            scale,
        ]
        .into_iter()
        .chain(digits.iter().copied())
        {
            raw.extend_from_slice(&w.to_be_bytes());
        }
        raw
    }

    fn whole(raw: &[u8]) -> Result<i64, String> {
        WholeNumeric::from_sql(&Type::NUMERIC, raw)
            .map(|n| n.0)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn whole_numerics_decode_and_others_are_refused() {
        assert_eq!(whole(&numeric(0, false, 0, &[])), Ok(0));
        assert_eq!(whole(&numeric(0, false, 0, &[1234])), Ok(1234));
        // 10 GiB = 1 0737 4182 40 -> digits 107, 3741, 8240 at weight 2.
        assert_eq!(
            whole(&numeric(2, false, 0, &[107, 3741, 8240])),
            Ok(10_737_418_240)
        );
        // 20000 = 2 0000: the trailing zero digit is not sent.
        assert_eq!(whole(&numeric(1, false, 0, &[2])), Ok(20_000));
        assert_eq!(whole(&numeric(0, true, 0, &[7])), Ok(-7));
        assert_eq!(whole(&numeric(0, false, 2, &[5, 0])), Ok(5));
        assert!(whole(&numeric(0, false, 2, &[5, 2500])).is_err());
        assert!(whole(&numeric(5, false, 0, &[9999])).is_err());
        assert!(whole(&[0, 1, 0]).is_err());
        let mut nan = numeric(0, false, 0, &[]);
        nan[4] = 0xC0;
        assert!(whole(&nan).is_err());
    }
}
