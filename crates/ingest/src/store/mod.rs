//! Where verified artifacts land: the envelope and the verified manifest as objects (through the
//! `object_store` crate: the local filesystem by default, an S3-compatible bucket by
//! configuration), and the metadata in a [`Database`] (SQLite in the data directory by default;
//! every query goes through the backend-neutral [`sql`] layer).
//!
//! Atomicity. Each upload attempt writes its two objects under a staging key of its own
//! (`staging/<id>/<token>/…`; object_store's `LocalFileSystem` writes a temporary file and renames
//! it into place, an S3 `PUT` is atomic by itself), fsynced on the local filesystem. Then one
//! serializable transaction ([`Database::transaction`]) inserts the artifact row, its device counters
//! and the per-device last counter: that commit is what makes an artifact exist, and it decides
//! the winner among uploads of one id (an insert that does nothing when the id is there, never an
//! upsert). Only the winner then moves its staged objects to the artifact's keys
//! (`artifacts/<id[..2]>/<id>/…`); a loser deletes its staged objects and never writes anything
//! the winner stored. A crash before the commit leaves only staging objects, which the sweep
//! deletes once they are older than the staging lease; a crash between the commit and the move is
//! completed by the next sweep on any instance ([`ArtifactStore::recover_staged`]), or sooner by
//! a concurrent store of the same upload, which finds the artifact committed and fills in what is
//! missing from its own copy of the same bytes.
//!
//! Many instances. With PostgreSQL for the metadata and one S3 bucket for the objects any number
//! of instances serve together: the serializable commit decides every race between them, no
//! instance deletes anything outside the staging prefix, and one instance at a time sweeps (at
//! start and every quarter lease, under [`Database::try_sweep_lock`]).
//!
//! Replay. The transaction also refuses a (device, counter) already accepted and a signed
//! artifact already delivered under another envelope, so two concurrent uploads cannot both win.

pub(crate) mod access_log;
pub(crate) mod clients;
pub(crate) mod controls;
pub mod database;
pub(crate) mod passkeys;
pub mod postgres;
pub(crate) mod rest_keys;
pub mod schema;
pub mod sql;
mod sqlite;
pub(crate) mod users;

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

pub use clients::{ClientRecord, Enrolment, Invitation, normalise_code};
pub use controls::{ControlAction, ControlAnswer};
pub use database::{Database, SweepLock};
pub use sql::{Row, Tx, Value};
pub use users::UserRecord;

use crate::at_rest::ArtifactKey;
use crate::config::{IngestConfig, OBJECTS_DIR, ObjectStoreLocation};
use crate::verify::VerifiedUpload;
use crate::{ApiError, ServeError};

/// Where each upload attempt writes its objects before its metadata commit decides whether it
/// is the artifact's (then they are moved to the artifact's keys) or not (then they are deleted).
pub const STAGING_PREFIX: &str = "staging";

/// The default staging lease (`--staging-lease`): an upload attempt finishes (commits and moves
/// its objects, or deletes them) well within it, so a staging object older than this is abandoned
/// (a crash or a lost connection before the commit) and the sweep deletes it, unless its artifact
/// was committed (then it is moved into place). The store uses the larger of the configured
/// lease and twice the request timeout.
pub const STAGING_LEASE: std::time::Duration = crate::config::DEFAULT_STAGING_LEASE;

/// A counter as fixed-width decimal text: SQLite integers are signed 64-bit, counters are u64,
/// and 20 digits keep `MAX()` and ordering right.
fn counter_text(counter: u64) -> String {
    format!("{counter:020}")
}

fn ms_u64(ms: i64) -> u64 {
    u64::try_from(ms).unwrap_or(0)
}

fn obj_err(e: object_store::Error) -> ApiError {
    ApiError::Storage(format!("object store: {e}"))
}

/// What the store knows of a delivered artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactRecord {
    /// The artifact id (hex).
    pub id: String,
    /// When it was stored, ms since the epoch.
    pub received_ms: u64,
    /// When consent for it was withdrawn, if it was.
    pub revoked_ms: Option<u64>,
    /// When its subject's identity layer was erased, if it was.
    pub subject_erased_ms: Option<u64>,
    /// The purpose it was delivered for.
    pub purpose: String,
    /// The client key that signed it (uncompressed SEC1, hex).
    pub client_key: String,
}

/// The outcome of storing a verified upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Committed {
    /// Stored now.
    Created(ArtifactRecord),
    /// Already stored (a retry); nothing was written.
    Existing(ArtifactRecord),
}

/// Where [`ArtifactStore::complete`] takes a missing envelope from.
#[derive(Clone, Copy)]
enum Source<'a> {
    /// The envelope as this attempt received it.
    Plain(&'a [u8]),
    /// An attempt's staged object (encrypted at rest under that attempt's key).
    Staged(&'a ObjectPath),
}

/// The object keys of one artifact.
fn object_paths(id: &str) -> (ObjectPath, ObjectPath) {
    let shard = id.get(..2).unwrap_or("xx");
    let base = format!("artifacts/{shard}/{id}");
    (
        ObjectPath::from(format!("{base}/envelope.veil")),
        ObjectPath::from(format!("{base}/manifest.json")),
    )
}

/// The staging keys of one attempt to store artifact `id`.
fn staging_paths(id: &str, token: &str) -> (ObjectPath, ObjectPath) {
    let base = format!("{STAGING_PREFIX}/{id}/{token}");
    (
        ObjectPath::from(format!("{base}/envelope.veil")),
        ObjectPath::from(format!("{base}/manifest.json")),
    )
}

/// A token no other attempt uses: the time, the process and a per-process sequence number.
fn staging_token(now_ms: u64) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    format!("{now_ms}-{nanos:09}-{}-{seq}", std::process::id())
}

/// The artifact id and file name of a staging key (`staging/<id>/<token>/<name>`).
fn staged_of_object(path: &ObjectPath) -> Option<(String, String)> {
    let parts: Vec<_> = path.parts().collect();
    match parts.as_slice() {
        [a, id, _, name] if a.as_ref() == STAGING_PREFIX => {
            Some((id.as_ref().to_owned(), name.as_ref().to_owned()))
        }
        _ => None,
    }
}

/// The artifact store: objects plus metadata.
#[derive(Debug, Clone)]
pub struct ArtifactStore {
    objects: Arc<dyn ObjectStore>,
    /// The directory of a local object store, to fsync what was written.
    local_root: Option<PathBuf>,
    db: Database,
    /// How old a staging object must be before the sweep deletes it.
    staging_lease: std::time::Duration,
    /// Stored envelope bytes allowed per client (0: no quota).
    client_quota: u64,
}

impl ArtifactStore {
    /// Open (creating if needed) the store configured in `config`.
    pub fn open(config: &IngestConfig) -> Result<Self, ServeError> {
        crate::config::create_private_dir(&config.data_dir)?;
        let (objects, local_root): (Arc<dyn ObjectStore>, Option<PathBuf>) =
            match &config.object_store {
                ObjectStoreLocation::DataDir => {
                    let dir = config.data_dir.join(OBJECTS_DIR);
                    (local_store(&dir)?, Some(dir))
                }
                ObjectStoreLocation::Local(dir) => (local_store(dir)?, Some(dir.clone())),
                ObjectStoreLocation::S3Url(url) => (s3_store(url)?, None),
            };
        let db = Database::open(&config.database, &config.data_dir)?;
        Ok(ArtifactStore {
            objects,
            local_root,
            db,
            staging_lease: config
                .staging_lease
                .max(config.limits.request_timeout.saturating_mul(2)),
            client_quota: config.limits.client_quota,
        })
    }

    /// Open only the metadata `config` names (no object store, no sweep): for operator tools
    /// (`veil admin`) that manage clients and invitations. Its object operations see an empty
    /// in-memory store, so it must not be used to store or sweep artifacts. Blocking.
    pub fn open_metadata(config: &IngestConfig) -> Result<Self, ServeError> {
        if config.database == crate::config::DatabaseLocation::Sqlite {
            crate::config::create_private_dir(&config.data_dir)?;
        }
        let db = Database::open(&config.database, &config.data_dir)?;
        Ok(ArtifactStore {
            objects: Arc::new(object_store::memory::InMemory::new()),
            local_root: None,
            db,
            staging_lease: config.staging_lease,
            client_quota: config.limits.client_quota,
        })
    }

    /// The metadata database, for sibling modules' own transactions.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// The staging lease in force (the configured one, at least twice the request timeout).
    pub fn staging_lease(&self) -> std::time::Duration {
        self.staging_lease
    }

    /// The record of artifact `id` (hex), if stored.
    pub async fn get(&self, id: &str) -> Result<Option<ArtifactRecord>, ApiError> {
        let id = id.to_owned();
        self.db.transaction(move |tx| fetch(tx, &id)).await
    }

    /// Before writing anything: the existing record if `upload` is a retry, an error if it is a
    /// replay, `None` if it is new. (The commit checks again, atomically.)
    pub async fn precheck(
        &self,
        upload: &VerifiedUpload,
    ) -> Result<Option<ArtifactRecord>, ApiError> {
        let id = upload.id.to_hex();
        let signed = hex::encode(upload.tbs_sha256);
        let readings: Vec<(String, u64)> = upload
            .readings
            .iter()
            .map(|r| (r.device.clone(), r.counter))
            .collect();
        let (pseudonym, kid) = (upload.pseudonym.clone(), upload.client_kid.clone());
        self.db
            .transaction(move |tx| {
                if let Some(existing) = fetch(tx, &id)? {
                    return Ok(Some(existing));
                }
                clients::claim_pseudonym(tx, &pseudonym, &kid, false, 0)?;
                check_replays(tx, &signed, &readings)?;
                Ok(None)
            })
            .await
    }

    /// Store a verified upload. (1) Both objects are written durably under a staging key of
    /// this attempt alone (`staging/<id>/<token>/…`); (2) one transaction inserts the metadata,
    /// and that commit decides the winner among uploads of one id; (3) only the winner moves its
    /// staged objects to the artifact's keys. A loser (a retry, a racing duplicate) deletes its
    /// own staging objects and never writes to the artifact's keys, except to complete an
    /// artifact whose winner died between its commit and its move (then it writes the same
    /// envelope bytes and the manifest the winner committed, where nothing is).
    pub async fn store(
        &self,
        upload: VerifiedUpload,
        envelope: Bytes,
        now_ms: u64,
    ) -> Result<Committed, ApiError> {
        let id = upload.id.to_hex();
        let (envelope_path, manifest_path) = object_paths(&id);
        let (staged_envelope, staged_manifest) = staging_paths(&id, &staging_token(now_ms));
        // Compact: re-indenting a wide report multiplied what an upload made the server write.
        let manifest_text = serde_json::to_string(&upload.manifest_json)
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let envelope_size = envelope.len();
        // Encrypted at rest under this attempt's own key; the commit records the key of the
        // attempt that wins, so a loser's staged bytes decrypt under no committed key.
        let key = ArtifactKey::generate()?;
        let sealed = Bytes::from(key.seal(&id, &envelope)?);
        let key_hex = key.to_hex();
        drop(key);
        let staged = async {
            self.put_durable(&staged_envelope, sealed).await?;
            self.put_durable(&staged_manifest, Bytes::from(manifest_text.clone()))
                .await
        }
        .await;
        if let Err(e) = staged {
            self.discard(&[&staged_envelope, &staged_manifest]).await;
            return Err(e);
        }

        let (ep, mp) = (envelope_path.to_string(), manifest_path.to_string());
        let id_for_db = id.clone();
        let quota = self.client_quota;
        let outcome = self
            .db
            .transaction(move |tx| {
                commit(
                    tx,
                    &id_for_db,
                    key_hex.as_str(),
                    &upload,
                    envelope_size,
                    &ep,
                    &mp,
                    &manifest_text,
                    quota,
                    now_ms,
                )
            })
            .await;
        match &outcome {
            Ok(Committed::Created(_)) => {
                // Committed: the artifact exists. A failure here leaves the staged objects, which
                // the sweep promotes (`recover_staged`).
                self.promote(&staged_envelope, &envelope_path).await?;
                self.promote(&staged_manifest, &manifest_path).await?;
                self.prune_staging_dirs(&staged_envelope).await;
            }
            Ok(Committed::Existing(_)) => {
                // A retry after the winner's commit: if the winner died before moving its objects
                // into place (or is still moving them), complete the artifact from our copy of
                // the same bytes rather than leave it to the next sweep.
                self.complete(&id, Source::Plain(&envelope)).await?;
                self.discard(&[&staged_envelope, &staged_manifest]).await;
            }
            // A storage failure may have happened at the commit itself (a lost connection): the
            // artifact may exist, so our staged copy stays for the sweep, which moves it into
            // place if it was committed and deletes it after the lease otherwise.
            Err(ApiError::Storage(_) | ApiError::Internal(_)) => {}
            // Refused (a replay, a quota): our staged copy is nobody's.
            Err(_) => self.discard(&[&staged_envelope, &staged_manifest]).await,
        }
        outcome
    }

    /// Move a staged object to its artifact key (a rename on the local filesystem, then fsync).
    async fn promote(&self, from: &ObjectPath, to: &ObjectPath) -> Result<(), ApiError> {
        self.objects.rename(from, to).await.map_err(obj_err)?;
        self.sync_local(to).await
    }

    /// Make sure committed artifact `id` has both its objects: write whichever is missing, the
    /// envelope from `source` (an upload attempt's copy: the plaintext it received, or its staged
    /// object, which must decrypt under the committed key), checked against the id and encrypted
    /// under the committed key, and the manifest from the text its commit recorded. Returns
    /// whether anything was written; a staged object that is gone (another instance completed the
    /// artifact and removed it), or encrypted under another attempt's key, writes nothing, and
    /// nothing is written for an artifact whose key was destroyed.
    async fn complete(&self, id: &str, source: Source<'_>) -> Result<bool, ApiError> {
        let (envelope_path, manifest_path) = object_paths(id);
        let envelope_missing = self.is_missing(&envelope_path).await?;
        let manifest_missing = self.is_missing(&manifest_path).await?;
        if !envelope_missing && !manifest_missing {
            return Ok(false);
        }
        let id_for_db = id.to_owned();
        let Some((manifest_text, dek)) = self
            .db
            .transaction(move |tx| committed_manifest(tx, &id_for_db))
            .await?
        else {
            return Ok(false);
        };
        if envelope_missing {
            // A destroyed key: the artifact's contents are gone for good, nothing to restore.
            let Some(dek) = dek else {
                return Ok(false);
            };
            let key = ArtifactKey::from_hex(&dek)?;
            drop(dek);
            let plain = match source {
                Source::Plain(bytes) => zeroize::Zeroizing::new(bytes.to_vec()),
                Source::Staged(staged) => {
                    let bytes = match self.object_bytes(staged).await {
                        Ok(bytes) => bytes,
                        Err(_) if self.is_missing(staged).await? => return Ok(false),
                        Err(e) => return Err(e),
                    };
                    match key.open(id, &bytes)? {
                        Some(plain) => plain,
                        None => return Ok(false),
                    }
                }
            };
            if veil_seal::ArtifactId::of_envelope(&plain).to_hex() != id {
                return Ok(false);
            }
            let sealed = Bytes::from(key.seal(id, &plain)?);
            self.put_durable(&envelope_path, sealed).await?;
        }
        if manifest_missing {
            self.put_durable(&manifest_path, Bytes::from(manifest_text))
                .await?;
        }
        Ok(true)
    }

    /// Whether no object is at `path` (other errors are errors).
    async fn is_missing(&self, path: &ObjectPath) -> Result<bool, ApiError> {
        match self.objects.head(path).await {
            Ok(_) => Ok(false),
            Err(object_store::Error::NotFound { .. }) => Ok(true),
            Err(e) => Err(obj_err(e)),
        }
    }

    /// Delete objects of a failed or lost attempt, best effort (what remains is staging, which
    /// the sweep removes once its lease has passed).
    async fn discard(&self, paths: &[&ObjectPath]) {
        for path in paths {
            let _ = self.objects.delete(path).await;
        }
        if let Some(path) = paths.first() {
            self.prune_staging_dirs(path).await;
        }
    }

    /// On the local filesystem, remove the (now empty) directories of a staging key: its token
    /// directory and, if no other attempt is under way, its id directory. Best effort.
    async fn prune_staging_dirs(&self, staged: &ObjectPath) {
        let Some(root) = &self.local_root else {
            return;
        };
        let file = root.join(staged.as_ref());
        let _ = tokio::task::spawn_blocking(move || {
            let token_dir = file.parent();
            for dir in [token_dir, token_dir.and_then(|d| d.parent())]
                .into_iter()
                .flatten()
            {
                // remove_dir fails on a non-empty directory, which is what keeps the others.
                if std::fs::remove_dir(dir).is_err() {
                    break;
                }
            }
        })
        .await;
    }

    /// Write one object and, on the local filesystem, fsync the file and its directory so the
    /// metadata commit never refers to bytes a crash could lose.
    async fn put_durable(&self, path: &ObjectPath, bytes: Bytes) -> Result<(), ApiError> {
        self.objects
            .put(path, PutPayload::from(bytes))
            .await
            .map_err(obj_err)?;
        self.sync_local(path).await
    }

    /// On the local filesystem, fsync the file at `path` and its directory.
    async fn sync_local(&self, path: &ObjectPath) -> Result<(), ApiError> {
        if let Some(root) = &self.local_root {
            let file = root.join(path.as_ref());
            tokio::task::spawn_blocking(move || -> std::io::Result<()> {
                std::fs::File::open(&file)?.sync_all()?;
                if let Some(dir) = file.parent() {
                    std::fs::File::open(dir)?.sync_all()?;
                }
                Ok(())
            })
            .await
            .map_err(|e| ApiError::Internal(format!("fsync task: {e}")))?
            .map_err(|e| ApiError::Storage(format!("fsync: {e}")))?;
        }
        Ok(())
    }

    /// Number of stored artifacts.
    pub async fn artifact_count(&self) -> Result<u64, ApiError> {
        self.db
            .transaction(|tx| {
                let row = tx
                    .query_opt("SELECT COUNT(*) FROM artifacts", &[])?
                    .ok_or_else(|| ApiError::Internal("COUNT returned no row".into()))?;
                Ok(ms_u64(row.int(0)?))
            })
            .await
    }

    /// The last accepted counter of a device (`<root fingerprint>/<serial>`).
    pub async fn last_counter(&self, device: &str) -> Result<Option<u64>, ApiError> {
        let device = device.to_owned();
        self.db
            .transaction(move |tx| {
                let row = tx.query_opt(
                    "SELECT last_counter FROM devices WHERE device = $1",
                    &[(&device).into()],
                )?;
                Ok(match row {
                    Some(row) => row.text(0)?.parse().ok(),
                    None => None,
                })
            })
            .await
    }

    /// Every object key in the store (for operators and tests).
    pub async fn list_objects(&self) -> Result<Vec<String>, ApiError> {
        let metas: Vec<_> = self
            .objects
            .list(None)
            .try_collect()
            .await
            .map_err(obj_err)?;
        let mut keys: Vec<String> = metas.into_iter().map(|m| m.location.to_string()).collect();
        keys.sort();
        Ok(keys)
    }

    /// The stored bytes of an artifact's envelope object: encrypted at rest under the artifact's
    /// key ([`crate::at_rest`]); [`ArtifactStore::open_envelope`] decrypts it.
    pub async fn envelope(&self, id: &str) -> Result<Bytes, ApiError> {
        let (envelope, _) = object_paths(id);
        self.object_bytes(&envelope).await
    }

    /// The envelope of artifact `id` as uploaded, decrypted with its key at rest; `None` when
    /// the key was destroyed (consent withdrawn, subject erased) or the object does not decrypt.
    /// An object stored before encryption at rest is returned as stored.
    pub async fn open_envelope(
        &self,
        id: &str,
    ) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>, ApiError> {
        let stored = self.envelope(id).await?;
        if !crate::at_rest::is_sealed_at_rest(&stored) {
            return Ok(Some(zeroize::Zeroizing::new(stored.to_vec())));
        }
        let id_for_db = id.to_owned();
        let dek = self
            .db
            .transaction(move |tx| rest_keys::key_of(tx, &id_for_db))
            .await?;
        let Some(dek) = dek else {
            return Ok(None);
        };
        ArtifactKey::from_hex(&dek)?.open(id, &stored)
    }

    /// The bytes of one object.
    async fn object_bytes(&self, path: &ObjectPath) -> Result<Bytes, ApiError> {
        self.objects
            .get(path)
            .await
            .map_err(obj_err)?
            .bytes()
            .await
            .map_err(obj_err)
    }

    /// Every object under [`STAGING_PREFIX`].
    async fn staged_objects(&self) -> Result<Vec<object_store::ObjectMeta>, ApiError> {
        self.objects
            .list(Some(&ObjectPath::from(STAGING_PREFIX)))
            .try_collect()
            .await
            .map_err(obj_err)
    }

    /// Finish the stores a crash interrupted between their metadata commit and moving their
    /// staged objects into place: for every staged envelope of a committed artifact whose
    /// objects are missing, write the envelope (its bytes checked against the id) and the
    /// manifest the commit recorded. Returns how many artifacts were completed.
    pub async fn recover_staged(&self) -> Result<usize, ApiError> {
        let metas = self.staged_objects().await?;
        let mut recovered = 0;
        let mut seen = std::collections::HashSet::new();
        for meta in metas {
            let Some((id, name)) = staged_of_object(&meta.location) else {
                continue;
            };
            // Each attempt once, whichever of its objects is left: a crash between moving the
            // envelope and the manifest leaves only the staged manifest.
            let location = meta.location.to_string();
            let Some(attempt) = location.strip_suffix(name.as_str()) else {
                continue;
            };
            let staged_envelope = ObjectPath::from(format!("{attempt}envelope.veil"));
            if seen.insert(staged_envelope.clone())
                && self.complete(&id, Source::Staged(&staged_envelope)).await?
            {
                recovered += 1;
            }
        }
        Ok(recovered)
    }

    /// Clean up after interrupted uploads, if no other instance is doing it: returns how many
    /// objects were removed (0 when another instance holds the sweep lock).
    ///
    /// First completes what was committed ([`ArtifactStore::recover_staged`]). Then deletes only
    /// what is provably abandoned: staging objects (under [`STAGING_PREFIX`]) older than the
    /// lease (`--staging-lease`, at least twice the request timeout), which no upload attempt can
    /// still be using and whose artifact, if committed, was just completed. Objects under
    /// `artifacts/` are never deleted, even when the database does not know them: another
    /// instance with another database may share the object store.
    pub async fn sweep_orphans(&self) -> Result<usize, ApiError> {
        Ok(self.try_sweep().await?.unwrap_or(0))
    }

    /// [`ArtifactStore::sweep_orphans`], telling apart "another instance is sweeping" (`None`).
    /// One instance at a time holds the sweep lock ([`Database::try_sweep_lock`]) for the
    /// duration; the sweep is also correct without it (every step tolerates another instance
    /// doing the same), the lock only keeps instances from doing the work twice.
    pub async fn try_sweep(&self) -> Result<Option<usize>, ApiError> {
        let db = self.db.clone();
        let lock = tokio::task::spawn_blocking(move || db.try_sweep_lock())
            .await
            .map_err(|e| ApiError::Internal(format!("sweep lock task: {e}")))??;
        let Some(lock) = lock else {
            return Ok(None);
        };
        let removed = self.sweep_locked().await;
        // Closing a PostgreSQL session blocks briefly.
        let _ = tokio::task::spawn_blocking(move || drop(lock)).await;
        removed.map(Some)
    }

    async fn sweep_locked(&self) -> Result<usize, ApiError> {
        self.recover_staged().await?;
        let metas = self.staged_objects().await?;
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let lease_ms = i64::try_from(self.staging_lease.as_millis()).unwrap_or(i64::MAX);
        let mut removed = 0;
        for meta in metas {
            // A time in the future (clock skew between instances) is never abandoned.
            let age_ms = now_ms.saturating_sub(meta.last_modified.timestamp_millis());
            if age_ms > lease_ms {
                match self.objects.delete(&meta.location).await {
                    // Gone already: its upload finished, or another instance swept it.
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(obj_err(e)),
                }
                self.prune_staging_dirs(&meta.location).await;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Sweep every quarter of the staging lease (the first a quarter lease from now: `serve`
    /// sweeps once before it listens), for as long as the returned task runs (abort it to stop).
    /// Each round is skipped when another instance holds the sweep lock; a failed round is
    /// reported on stderr and tried again at the next.
    pub fn spawn_sweeper(&self) -> tokio::task::JoinHandle<()> {
        let store = self.clone();
        let every = (self.staging_lease / 4).max(std::time::Duration::from_secs(1));
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                match store.try_sweep().await {
                    Ok(Some(removed)) if removed > 0 => println!(
                        "Removed {removed} abandoned staging object(s) left by interrupted uploads (older than the lease)"
                    ),
                    Ok(_) => {}
                    Err(e) => eprintln!("veil serve: sweep failed: {}", sql::detail(&e)),
                }
            }
        })
    }
}

fn local_store(dir: &std::path::Path) -> Result<Arc<dyn ObjectStore>, ServeError> {
    std::fs::create_dir_all(dir)?;
    let store =
        LocalFileSystem::new_with_prefix(dir).map_err(|e| ServeError::Storage(e.to_string()))?;
    Ok(Arc::new(store))
}

/// An S3-compatible bucket, `s3://bucket/optional/prefix`; endpoint, region and credentials from
/// the `AWS_*` environment variables (object_store's `AmazonS3Builder::from_env`).
fn s3_store(url: &str) -> Result<Arc<dyn ObjectStore>, ServeError> {
    use object_store::aws::AmazonS3Builder;
    use object_store::prefix::PrefixStore;
    let rest = url
        .strip_prefix("s3://")
        .ok_or_else(|| ServeError::Config(format!("object store {url:?} is not an s3:// URL")))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(ServeError::Config("s3:// URL without a bucket".into()));
    }
    let store = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .build()
        .map_err(|e| ServeError::Storage(e.to_string()))?;
    let prefix = prefix.trim_matches('/');
    if prefix.is_empty() {
        Ok(Arc::new(store))
    } else {
        Ok(Arc::new(PrefixStore::new(store, prefix)))
    }
}

fn fetch(tx: &mut dyn Tx, id: &str) -> Result<Option<ArtifactRecord>, ApiError> {
    let Some(r) = tx.query_opt(
        "SELECT id, received_ms, revoked_ms, subject_erased_ms, purpose, client_key
         FROM artifacts WHERE id = $1",
        &[id.into()],
    )?
    else {
        return Ok(None);
    };
    Ok(Some(ArtifactRecord {
        id: r.text(0)?,
        received_ms: ms_u64(r.int(1)?),
        revoked_ms: r.opt_int(2)?.map(ms_u64),
        subject_erased_ms: r.opt_int(3)?.map(ms_u64),
        purpose: r.text(4)?,
        client_key: r.text(5)?,
    }))
}

/// The manifest text the commit of artifact `id` recorded and its key at rest (`None` when
/// destroyed), if it is committed here.
#[allow(clippy::type_complexity)]
fn committed_manifest(
    tx: &mut dyn Tx,
    id: &str,
) -> Result<Option<(String, Option<zeroize::Zeroizing<String>>)>, ApiError> {
    let Some(row) = tx.query_opt(
        "SELECT manifest_json FROM artifacts WHERE id = $1",
        &[id.into()],
    )?
    else {
        return Ok(None);
    };
    Ok(Some((row.text(0)?, rest_keys::key_of(tx, id)?)))
}

fn check_replays(
    tx: &mut dyn Tx,
    tbs_sha256: &str,
    readings: &[(String, u64)],
) -> Result<(), ApiError> {
    if let Some(row) = tx.query_opt(
        "SELECT id FROM artifacts WHERE tbs_sha256 = $1",
        &[tbs_sha256.into()],
    )? {
        return Err(ApiError::ReplayedArtifact {
            original: row.text(0)?,
        });
    }
    for (device, counter) in readings {
        if let Some(row) = tx.query_opt(
            "SELECT artifact_id FROM readings WHERE device = $1 AND counter = $2",
            &[device.into(), counter_text(*counter).into()],
        )? {
            return Err(ApiError::ReplayedCounter {
                device: device.clone(),
                counter: *counter,
                artifact: row.text(0)?,
            });
        }
    }
    Ok(())
}

/// The metadata commit of one upload (run in a serializable transaction, so the check and the
/// insert are one step even across instances).
#[allow(clippy::too_many_arguments)]
fn commit(
    tx: &mut dyn Tx,
    id: &str,
    key_hex: &str,
    upload: &VerifiedUpload,
    envelope_size: usize,
    envelope_path: &str,
    manifest_path: &str,
    manifest_text: &str,
    client_quota: u64,
    now_ms: u64,
) -> Result<Committed, ApiError> {
    if let Some(existing) = fetch(tx, id)? {
        return Ok(Committed::Existing(existing));
    }
    // The pseudonym is this client's (or becomes its, as the first to use it), and the client
    // stays within its storage quota: both decided in the transaction that stores, so uploads
    // racing on several instances cannot get around either.
    clients::claim_pseudonym(tx, &upload.pseudonym, &upload.client_kid, true, now_ms)?;
    clients::check_quota(
        tx,
        &upload.client_kid,
        u64::try_from(envelope_size).unwrap_or(u64::MAX),
        client_quota,
    )?;
    let readings: Vec<(String, u64)> = upload
        .readings
        .iter()
        .map(|r| (r.device.clone(), r.counter))
        .collect();
    check_replays(tx, &hex::encode(upload.tbs_sha256), &readings)?;
    // Never an upsert: when the id is already there, this insert changes nothing and the
    // earlier commit stays the winner.
    let inserted = tx.execute(
        "INSERT INTO artifacts (id, tbs_sha256, client_kid, client_key, pseudonym, purpose, recipient,
             consent_decision, consent_event, created_ms, received_ms, envelope_size, envelope_path,
             manifest_path, manifest_json)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
         ON CONFLICT (id) DO NOTHING",
        &[
            id.into(),
            hex::encode(upload.tbs_sha256).into(),
            (&upload.client_kid).into(),
            (&upload.client_key).into(),
            (&upload.pseudonym).into(),
            (&upload.purpose).into(),
            (&upload.recipient).into(),
            (&upload.consent_decision).into(),
            upload.consent_event.clone().into(),
            upload.created_ms.into(),
            now_ms.into(),
            envelope_size.into(),
            envelope_path.into(),
            manifest_path.into(),
            manifest_text.into(),
        ],
    )?;
    if inserted == 0 {
        let existing =
            fetch(tx, id)?.ok_or_else(|| ApiError::Internal(format!("artifact {id} vanished")))?;
        return Ok(Committed::Existing(existing));
    }
    rest_keys::insert(tx, id, key_hex, now_ms)?;
    for r in &upload.readings {
        let counter = counter_text(r.counter);
        tx.execute(
            "INSERT INTO readings (device, counter, artifact_id, ts) VALUES ($1, $2, $3, $4)",
            &[
                (&r.device).into(),
                (&counter).into(),
                id.into(),
                r.timestamp.into(),
            ],
        )?;
        // The per-device high-water mark: readings may arrive out of order from an offline outbox,
        // so acceptance is decided by the exact (device, counter) set above; this records the last.
        tx.execute(
            "INSERT INTO devices (device, last_counter, last_seen_ms) VALUES ($1, $2, $3)
             ON CONFLICT (device) DO UPDATE SET
                 last_counter = CASE WHEN excluded.last_counter > devices.last_counter
                                     THEN excluded.last_counter ELSE devices.last_counter END,
                 last_seen_ms = excluded.last_seen_ms",
            &[(&r.device).into(), counter.into(), now_ms.into()],
        )?;
    }
    Ok(Committed::Created(ArtifactRecord {
        id: id.to_owned(),
        received_ms: now_ms,
        revoked_ms: None,
        subject_erased_ms: None,
        purpose: upload.purpose.clone(),
        client_key: upload.client_key.clone(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_sort_as_numbers() {
        assert!(counter_text(9) < counter_text(10));
        assert!(counter_text(u64::MAX - 1) < counter_text(u64::MAX));
        assert_eq!(counter_text(u64::MAX).len(), 20);
    }

    #[test]
    fn object_and_staging_keys_round_trip() {
        let id = "ab".repeat(32);
        let (e, m) = object_paths(&id);
        assert_eq!(e.to_string(), format!("artifacts/ab/{id}/envelope.veil"));
        assert_eq!(m.to_string(), format!("artifacts/ab/{id}/manifest.json"));
        let (se, sm) = staging_paths(&id, &staging_token(1));
        assert_ne!(staging_paths(&id, &staging_token(1)).0, se);
        assert_eq!(
            staged_of_object(&se),
            Some((id.clone(), "envelope.veil".into()))
        );
        assert_eq!(
            staged_of_object(&sm),
            Some((id.clone(), "manifest.json".into()))
        );
        assert_eq!(staged_of_object(&e), None);
        assert_eq!(staged_of_object(&ObjectPath::from("other/x")), None);
    }
}
