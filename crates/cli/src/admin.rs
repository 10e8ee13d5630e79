//! `veil admin`: the operator's commands over an ingest server's metadata database: who may
//! upload (issue 14, "Who may upload"; `docs/ingest.md`, "Enrolment").
//!
//! - `veil admin invite (--database URL | --data DIR) [--name NAME] [--uses N] [--expires DURATION]`
//!   creates an invitation and prints it once as one JSON line
//!   `{"code", "expires", "name", "uses"}`; the database keeps only the code's SHA-256.
//! - `veil admin clients list (--database URL | --data DIR)` prints one JSON line per enrolled
//!   client, oldest first: `{"client_kid", "client_key", "name", "enrolled", "invite_name", "revoked"}`.
//! - `veil admin clients revoke KID (--database URL | --data DIR)` revokes a client (its later
//!   uploads and requests are refused `unknown-client`; what it delivered stays) and prints
//!   `{"client_kid", "revoked"}`; revoking it again prints the first revocation's time.
//!
//! - `veil admin users add --role clinician|researcher|auditor|operator [--purposes P,...]
//!   --key KEY.pem --name NAME (--database URL | --data DIR)` adds a recipient user (issue 19):
//!   a service account authenticated by the ES256 key in KEY.pem (a public key, or a private key
//!   whose public half is taken), reading only for the purposes given, which must be among its
//!   role's (clinician: treatment, care-operations; researcher: research, ai-training; auditor
//!   and operator read no contents). Prints `{"user_kid", "name", "role", "purposes", "created"}`.
//! - `veil admin users add --passkey --role ... --purposes ... --name NAME [--code-expires 1d]
//!   [--origin URL]` adds a person who signs in with a passkey instead: the line also carries
//!   `"registration": {"code", "link", "expires"}`, a one-time code (only its hash is stored) to
//!   register the passkey on the server's `/recipient/` page (the link fills it in).
//!   `veil admin users passkey-code KID` makes a new one (another device, a lost code).
//! - `veil admin users list` prints one such line per user (with `"disabled"`); `veil admin users
//!   disable KID` disables one (its later requests are refused `unknown-user`).
//!
//! They work on the database directly, through veil-ingest's store (the same code and SQL the
//! server runs), so they need no running server, and every instance sharing that database sees
//! the change at once. Times are RFC 3339 in UTC, to the second; durations are `<n>m`, `<n>h`,
//! `<n>d` or `<n>w`. A failure is veil-ingest's code (`storage`, `unknown-client`, ...) or the
//! CLI's `usage`.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Args, Subcommand};
use serde::Serialize;
use veil_ingest::store::ClientRecord;
use veil_ingest::{ApiError, ArtifactStore, DatabaseLocation, IngestConfig};

use crate::failure::{self, Failure};

/// The subcommands of `veil admin`.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an invitation code a client enrols its key with (printed once).
    Invite(InviteArgs),
    /// List or revoke enrolled clients.
    #[command(subcommand)]
    Clients(ClientsCommand),
    /// Add, list or disable recipient users (who may read stored artifacts, and for what).
    #[command(subcommand)]
    Users(UsersCommand),
}

/// The subcommands of `veil admin users`.
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Add a recipient user with a role, purposes and an ES256 key.
    Add(UserAddArgs),
    /// Print every user (disabled ones too), one JSON line each.
    List(DatabaseArgs),
    /// Disable a user: its later requests are refused.
    Disable(RevokeArgs),
    /// A new one-time passkey registration code for a passkey user (another device, a lost code).
    PasskeyCode(PasskeyCodeArgs),
}

/// Arguments of `veil admin users passkey-code`.
#[derive(Debug, Args)]
pub struct PasskeyCodeArgs {
    /// The user's id (64 hex digits, as `users list` shows it).
    #[arg(value_name = "KID", value_parser = parse_kid)]
    kid: String,
    /// How long the code works: <n>m, <n>h, <n>d or <n>w.
    #[arg(long, value_name = "DURATION", default_value = "1d", value_parser = parse_duration)]
    code_expires: u64,
    /// The server's public origin, to print the registration link in full.
    #[arg(long, value_name = "URL")]
    origin: Option<String>,
    #[command(flatten)]
    db: DatabaseArgs,
}

/// Arguments of `veil admin users add`.
#[derive(Debug, Args)]
pub struct UserAddArgs {
    /// clinician, researcher, auditor or operator.
    #[arg(long, value_name = "ROLE", value_parser = parse_role)]
    role: String,
    /// The purposes the user may read for, comma-separated (within the role's).
    #[arg(long, value_name = "P,...", value_delimiter = ',')]
    purposes: Vec<String>,
    /// The user's ES256 key (a service account): a PEM public key, or a PEM private key (only its
    /// public half is used).
    #[arg(
        long,
        value_name = "KEY.pem",
        required_unless_present = "passkey",
        conflicts_with = "passkey"
    )]
    key: Option<PathBuf>,
    /// A person who signs in with a passkey: prints a one-time registration code (and link) to
    /// register it on the server's /recipient/ page.
    #[arg(long)]
    passkey: bool,
    /// How long the registration code works: <n>m, <n>h, <n>d or <n>w.
    #[arg(long, value_name = "DURATION", default_value = "1d", value_parser = parse_duration)]
    code_expires: u64,
    /// The server's public origin (as given to `veil serve --public-origin`), to print the
    /// registration link in full.
    #[arg(long, value_name = "URL")]
    origin: Option<String>,
    /// Who the user is (a person or a service).
    #[arg(long, value_name = "NAME")]
    name: String,
    #[command(flatten)]
    db: DatabaseArgs,
}

fn parse_role(text: &str) -> Result<String, String> {
    veil_ingest::reads::Role::parse(text)
        .map(|r| r.as_str().to_owned())
        .ok_or_else(|| {
            format!("{text:?} is not a role: clinician, researcher, auditor or operator")
        })
}

/// The subcommands of `veil admin clients`.
#[derive(Debug, Subcommand)]
pub enum ClientsCommand {
    /// Print every enrolled client (revoked ones too), one JSON line each.
    List(DatabaseArgs),
    /// Revoke a client: its later uploads and requests are refused.
    Revoke(RevokeArgs),
}

/// Where the metadata database is: exactly one of `--database` and `--data`.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct DatabaseArgs {
    /// The server's PostgreSQL database (`postgres://user@host:port/db`), as given to `veil serve`.
    #[arg(long, value_name = "URL")]
    database: Option<String>,
    /// The server's data directory (its SQLite database `veil-ingest.sqlite3`), as given to
    /// `veil serve --data`.
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
}

/// Arguments of `veil admin invite`.
#[derive(Debug, Args)]
pub struct InviteArgs {
    #[command(flatten)]
    db: DatabaseArgs,
    /// A label for the invitation (a clinic, a kiosk, a patient's registration desk).
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// How many clients may enrol with the code.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..))]
    uses: u32,
    /// How long the code works: <n>m, <n>h, <n>d or <n>w.
    #[arg(long, value_name = "DURATION", default_value = "7d", value_parser = parse_duration)]
    expires: u64,
}

/// Arguments of `veil admin clients revoke`.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The client's key id (64 hex digits, as `clients list` shows it).
    #[arg(value_name = "KID", value_parser = parse_kid)]
    kid: String,
    #[command(flatten)]
    db: DatabaseArgs,
}

/// Parse `30m`, `12h`, `7d`, `2w` into seconds (positive, at most 100 years).
fn parse_duration(text: &str) -> Result<u64, String> {
    const MAX_SECS: u64 = 100 * 365 * 24 * 3600;
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (use e.g. 30m, 12h, 7d, 2w)"))?;
    let unit_secs = match unit {
        "m" => 60,
        "h" => 3600,
        "d" => 24 * 3600,
        "w" => 7 * 24 * 3600,
        _ => {
            return Err(format!(
                "{text:?}: the unit is m, h, d or w (e.g. 30m, 12h, 7d, 2w)"
            ));
        }
    };
    match n.checked_mul(unit_secs) {
        Some(0) => Err("the duration must be positive".into()),
        Some(secs) if secs <= MAX_SECS => Ok(secs),
        _ => Err(format!("{text:?} is longer than 100 years")),
    }
}

/// A client key id: 64 hex digits, lowercased.
fn parse_kid(text: &str) -> Result<String, String> {
    let t = text.trim();
    if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(t.to_ascii_lowercase())
    } else {
        Err(format!("{text:?} is not a client key id (64 hex digits)"))
    }
}

/// `invite`'s line.
#[derive(Debug, Serialize)]
struct InviteLine {
    code: String,
    expires: String,
    name: Option<String>,
    uses: u32,
}

/// A `clients list` line.
#[derive(Debug, Serialize)]
struct ClientLine {
    client_kid: String,
    client_key: String,
    name: Option<String>,
    enrolled: String,
    invite_name: Option<String>,
    revoked: Option<String>,
}

/// `clients revoke`'s line.
#[derive(Debug, Serialize)]
struct RevokedLine {
    client_kid: String,
    revoked: Option<String>,
}

/// A `users` line.
#[derive(Debug, Serialize)]
struct UserLine {
    user_kid: String,
    name: String,
    role: String,
    purposes: Vec<String>,
    /// `es256` (a service account's key) or `passkey` (a person).
    auth: &'static str,
    created: String,
    disabled: Option<String>,
    /// A passkey user's one-time registration code, when one was just made.
    #[serde(skip_serializing_if = "Option::is_none")]
    registration: Option<RegistrationLine>,
}

/// A one-time passkey registration code and where to use it.
#[derive(Debug, Serialize)]
struct RegistrationLine {
    code: String,
    link: String,
    expires: String,
}

fn registration_line(
    invitation: &veil_ingest::passkeys::PasskeyInvitation,
    origin: Option<&str>,
) -> Result<RegistrationLine, Failure> {
    let origin = origin.unwrap_or("").trim_end_matches('/');
    Ok(RegistrationLine {
        link: format!("{origin}/recipient/#code={}", invitation.code),
        code: invitation.code.clone(),
        expires: rfc3339(invitation.expires_ms)?,
    })
}

fn user_line(u: veil_ingest::UserRecord) -> Result<UserLine, Failure> {
    Ok(UserLine {
        auth: if u.user_key.is_empty() {
            "passkey"
        } else {
            "es256"
        },
        registration: None,
        created: rfc3339(u.created_ms)?,
        disabled: u.disabled_ms.map(rfc3339).transpose()?,
        user_kid: u.user_kid,
        name: u.name,
        role: u.role,
        purposes: u.purposes,
    })
}

/// The public key in a PEM file: a public key, or the public half of a private key.
fn user_key(path: &std::path::Path) -> Result<[u8; 65], Failure> {
    let pem = std::fs::read_to_string(path).map_err(|e| Failure::io(path, &e))?;
    let key = match veil_seal::verifying_key_from_pem(&pem) {
        Ok(key) => key,
        Err(_) => *veil_seal::signing_key_from_pem(&pem)
            .map_err(|e| Failure::from(e).context(path.display()))?
            .verifying_key(),
    };
    let point = key.to_encoded_point(false);
    point
        .as_bytes()
        .try_into()
        .map_err(|_| Failure::usage(format!("{}: not a P-256 key", path.display())))
}

async fn add_user(args: UserAddArgs) -> Result<(), Failure> {
    let mut purposes: Vec<String> = Vec::new();
    for p in args.purposes {
        let p = p.trim().to_owned();
        if !p.is_empty() && !purposes.contains(&p) {
            purposes.push(p);
        }
    }
    let Some(key) = args.key.filter(|_| !args.passkey) else {
        let store = open(args.db).await?;
        let invitation = store
            .add_passkey_user(
                veil_ingest::UserRecord {
                    user_kid: String::new(),
                    user_key: String::new(),
                    name: args.name,
                    role: args.role,
                    purposes,
                    created_ms: now_ms(),
                    disabled_ms: None,
                },
                args.code_expires.saturating_mul(1000),
                now_ms(),
            )
            .await?;
        let mut line = user_line(invitation.user.clone())?;
        line.registration = Some(registration_line(&invitation, args.origin.as_deref())?);
        return print_json(&line);
    };
    let sec1 = user_key(&key)?;
    let store = open(args.db).await?;
    let user = store
        .add_user(veil_ingest::UserRecord {
            user_kid: veil_seal::KeyId::of_sec1(&sec1).to_hex(),
            user_key: hex::encode(sec1),
            name: args.name,
            role: args.role,
            purposes,
            created_ms: now_ms(),
            disabled_ms: None,
        })
        .await?;
    print_json(&user_line(user)?)
}

async fn list_users(db: DatabaseArgs) -> Result<(), Failure> {
    let store = open(db).await?;
    for user in store.users().await? {
        print_json(&user_line(user)?)?;
    }
    Ok(())
}

async fn disable_user(args: RevokeArgs) -> Result<(), Failure> {
    let store = open(args.db).await?;
    let user = store
        .disable_user(&args.kid, now_ms())
        .await?
        .ok_or_else(|| ApiError::UnknownUser {
            kid: args.kid.clone(),
        })?;
    print_json(&user_line(user)?)
}

async fn passkey_code(args: PasskeyCodeArgs) -> Result<(), Failure> {
    let store = open(args.db).await?;
    let invitation = store
        .new_passkey_code(&args.kid, args.code_expires.saturating_mul(1000), now_ms())
        .await?;
    let mut line = user_line(invitation.user.clone())?;
    line.registration = Some(registration_line(&invitation, args.origin.as_deref())?);
    print_json(&line)
}

/// Run `veil admin`.
pub fn run(command: AdminCommand) -> Result<(), Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::new(failure::IO, format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        match command {
            AdminCommand::Invite(args) => invite(args).await,
            AdminCommand::Clients(ClientsCommand::List(db)) => list(db).await,
            AdminCommand::Clients(ClientsCommand::Revoke(args)) => revoke(args).await,
            AdminCommand::Users(UsersCommand::Add(args)) => add_user(args).await,
            AdminCommand::Users(UsersCommand::List(db)) => list_users(db).await,
            AdminCommand::Users(UsersCommand::Disable(args)) => disable_user(args).await,
            AdminCommand::Users(UsersCommand::PasskeyCode(args)) => passkey_code(args).await,
        }
    })
}

/// Open the metadata database `db` names, through the server's own store.
async fn open(db: DatabaseArgs) -> Result<ArtifactStore, Failure> {
    let config = match (db.database, db.data) {
        (Some(url), None) => {
            let mut config = IngestConfig::new(PathBuf::new());
            config.database = DatabaseLocation::parse(&url)?;
            config
        }
        (None, Some(dir)) => IngestConfig::new(dir),
        _ => return Err(Failure::usage("give exactly one of --database and --data")),
    };
    let store = tokio::task::spawn_blocking(move || ArtifactStore::open_metadata(&config))
        .await
        .map_err(|e| Failure::new(failure::IO, format!("opening the database: {e}")))??;
    Ok(store)
}

async fn invite(args: InviteArgs) -> Result<(), Failure> {
    let store = open(args.db).await?;
    let now = now_ms();
    let expires_ms = now.saturating_add(args.expires.saturating_mul(1000));
    let invitation = store
        .create_invite(args.name, args.uses, expires_ms, now)
        .await?;
    print_json(&InviteLine {
        code: invitation.code,
        expires: rfc3339(invitation.expires_ms)?,
        name: invitation.name,
        uses: invitation.uses,
    })
}

async fn list(db: DatabaseArgs) -> Result<(), Failure> {
    let store = open(db).await?;
    for client in store.clients().await? {
        print_json(&client_line(client)?)?;
    }
    Ok(())
}

fn client_line(c: ClientRecord) -> Result<ClientLine, Failure> {
    Ok(ClientLine {
        enrolled: rfc3339(c.enrolled_ms)?,
        revoked: c.revoked_ms.map(rfc3339).transpose()?,
        client_kid: c.client_kid,
        client_key: c.client_key,
        name: c.name,
        invite_name: c.invite_name,
    })
}

async fn revoke(args: RevokeArgs) -> Result<(), Failure> {
    let store = open(args.db).await?;
    let record = store
        .revoke_client(&args.kid, now_ms())
        .await?
        .ok_or_else(|| ApiError::UnknownClient {
            kid: args.kid.clone(),
        })?;
    print_json(&RevokedLine {
        client_kid: record.client_kid,
        revoked: record.revoked_ms.map(rfc3339).transpose()?,
    })
}

fn print_json(line: &impl Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string(line)
        .map_err(|e| Failure::new(failure::IO, format!("cannot encode a line: {e}")))?;
    crate::print_line(text)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// RFC 3339 in UTC to the second (`2026-12-13T07:04:50Z`) of a time in ms since the epoch.
fn rfc3339(ms: u64) -> Result<String, Failure> {
    let secs = i64::try_from(ms / 1000).unwrap_or(i64::MAX);
    Ok(veil_consent::Timestamp::from_unix(secs)?.to_rfc3339())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_minutes_hours_days_or_weeks() {
        assert_eq!(parse_duration("30m"), Ok(1800));
        assert_eq!(parse_duration("12h"), Ok(12 * 3600));
        assert_eq!(parse_duration("7d"), Ok(7 * 86_400));
        assert_eq!(parse_duration("2w"), Ok(14 * 86_400));
        for bad in [
            "",
            "7",
            "d",
            "0d",
            "7s",
            "7D",
            "-1d",
            "1.5h",
            "7 d",
            "99999999999999w",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn kids_are_64_hex_digits_lowercased() {
        let kid = "AB".repeat(32);
        assert_eq!(parse_kid(&kid), Ok("ab".repeat(32)));
        assert!(parse_kid(&"ab".repeat(31)).is_err());
        assert!(parse_kid(&"zz".repeat(32)).is_err());
    }

    #[test]
    fn times_are_utc_to_the_second() {
        assert_eq!(rfc3339(0).unwrap(), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_797_145_490_999).unwrap(), "2026-12-13T07:04:50Z");
    }
}
