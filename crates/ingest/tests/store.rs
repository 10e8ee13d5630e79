//! The store's write path under duplicates (issue #14, finding 8): the metadata commit decides
//! which of two writes of one artifact id wins, and a loser never overwrites what the winner
//! stored.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use veil_ingest::{ArtifactStore, Committed, VerifiedUpload};

/// A verified upload of `envelope` whose metadata differs by `tag` (what a second verification of
/// the same bytes, at another time or on another instance, produces).
fn upload_of(envelope: &[u8], tag: &str) -> VerifiedUpload {
    VerifiedUpload {
        id: veil_seal::ArtifactId::of_envelope(envelope),
        tbs_sha256: [9u8; 32],
        client_kid: "aa".repeat(32),
        client_key: "04".repeat(65),
        pseudonym: "p".repeat(52),
        purpose: PURPOSE.into(),
        recipient: RECIPIENT_ID.into(),
        consent_decision: "allow".into(),
        consent_event: None,
        created_ms: 1,
        readings: vec![],
        manifest_json: serde_json::json!({ "tag": tag }),
    }
}

fn manifest_file(f: &Fixture, id: &str) -> std::path::PathBuf {
    f.config
        .data_dir
        .join(format!("objects/artifacts/{}/{id}/manifest.json", &id[..2]))
}

#[tokio::test]
async fn a_losing_duplicate_write_never_overwrites_the_stored_manifest() {
    let f = Fixture::new();
    let (envelope, id) = upload_new(&f, 1).await;
    let first = std::fs::read(manifest_file(&f, &id)).unwrap();

    // The same id written again with other metadata (a retry whose answer was lost, re-verified).
    let store: &ArtifactStore = f.ingest.store();
    let again = store
        .store(upload_of(&envelope, "loser"), envelope.clone().into(), 2)
        .await
        .unwrap();
    assert!(matches!(again, Committed::Existing(_)), "{again:?}");
    assert!(
        std::fs::read(manifest_file(&f, &id)).unwrap() == first,
        "the losing write replaced the stored manifest"
    );
    assert_eq!(
        store.open_envelope(&id).await.unwrap().unwrap().as_slice(),
        envelope.as_slice()
    );
    assert_eq!(f.stored().await.0, 1);
    // Nothing of the loser is left behind.
    assert_eq!(store.list_objects().await.unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_writes_of_one_id_store_the_winners_manifest() {
    for round in 0..8u64 {
        let f = Fixture::new();
        let envelope = f.envelope(round + 1);
        let id = id_of(&envelope);
        let store = f.ingest.store().clone();
        let tasks: Vec<_> = ["a", "b", "c"]
            .into_iter()
            .map(|tag| {
                let store = store.clone();
                let envelope = envelope.clone();
                tokio::spawn(async move {
                    let outcome = store
                        .store(upload_of(&envelope, tag), envelope.clone().into(), 1)
                        .await
                        .unwrap();
                    (tag, outcome)
                })
            })
            .collect();
        let mut winners = vec![];
        for task in tasks {
            let (tag, outcome) = task.await.unwrap();
            if let Committed::Created(_) = outcome {
                winners.push(tag);
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
        let stored: serde_json::Value =
            serde_json::from_slice(&std::fs::read(manifest_file(&f, &id)).unwrap()).unwrap();
        assert_eq!(stored["tag"], winners[0], "round {round}");
        assert_eq!(
            store.list_objects().await.unwrap().len(),
            2,
            "round {round}"
        );
    }
}

#[tokio::test]
async fn a_crash_between_the_commit_and_moving_the_objects_is_completed_at_the_next_start() {
    let f = Fixture::new();
    let (envelope, id) = upload_new(&f, 1).await;
    let manifest = std::fs::read(manifest_file(&f, &id)).unwrap();
    // The state a crash right after the commit leaves: the objects still under their staging key.
    let objects = f.config.data_dir.join("objects");
    let staged = objects.join(format!("staging/{id}/1-crashed"));
    std::fs::create_dir_all(&staged).unwrap();
    let final_dir = objects.join(format!("artifacts/{}/{id}", &id[..2]));
    std::fs::rename(
        final_dir.join("envelope.veil"),
        staged.join("envelope.veil"),
    )
    .unwrap();
    std::fs::rename(
        final_dir.join("manifest.json"),
        staged.join("manifest.json"),
    )
    .unwrap();

    let (reopened, _) = veil_ingest::Ingest::open(&f.config).unwrap();
    assert_eq!(reopened.store().recover_staged().await.unwrap(), 1);
    assert_eq!(
        reopened
            .store()
            .open_envelope(&id)
            .await
            .unwrap()
            .unwrap()
            .as_slice(),
        envelope.as_slice()
    );
    assert!(std::fs::read(manifest_file(&f, &id)).unwrap() == manifest);
}

/// A crash after the envelope was moved into place but before the manifest was: only the staged
/// manifest is left, and the recovery writes the manifest the commit recorded.
#[tokio::test]
async fn a_crash_between_moving_the_envelope_and_the_manifest_is_completed() {
    let f = Fixture::new();
    let (_, id) = upload_new(&f, 1).await;
    let manifest = std::fs::read(manifest_file(&f, &id)).unwrap();
    let objects = f.config.data_dir.join("objects");
    let staged = objects.join(format!("staging/{id}/1-half-moved"));
    std::fs::create_dir_all(&staged).unwrap();
    std::fs::rename(manifest_file(&f, &id), staged.join("manifest.json")).unwrap();

    assert_eq!(f.ingest.store().recover_staged().await.unwrap(), 1);
    assert!(std::fs::read(manifest_file(&f, &id)).unwrap() == manifest);
    assert_eq!(f.ingest.store().recover_staged().await.unwrap(), 0);
}

/// Issue #14 (3): a second instance on the same object store, with a metadata database of its
/// own, deletes nothing the first stored; only staging objects older than the lease are cleaned.
#[tokio::test]
async fn a_second_instance_on_the_same_objects_deletes_nothing_it_does_not_know() {
    let f = Fixture::new();
    let (envelope, id) = upload_new(&f, 1).await;
    let objects = f.config.data_dir.join("objects");
    let before = f.ingest.store().list_objects().await.unwrap();
    assert_eq!(before.len(), 2);
    // An upload of the first instance in flight: staged, not yet committed, within the lease.
    let fresh = objects.join(format!("staging/{}/1-inflight", "1".repeat(64)));
    std::fs::create_dir_all(&fresh).unwrap();
    std::fs::write(fresh.join("envelope.veil"), b"in flight").unwrap();

    let mut second = f.config.clone();
    second.data_dir = f.dir.path().join("second");
    second.object_store = veil_ingest::ObjectStoreLocation::Local(objects.clone());
    let (other, _) = veil_ingest::Ingest::open(&second).unwrap();
    assert_eq!(other.store().sweep_orphans().await.unwrap(), 0);
    let mut expected = before.clone();
    expected.push(format!(
        "staging/{}/1-inflight/envelope.veil",
        "1".repeat(64)
    ));
    expected.sort();
    assert_eq!(other.store().list_objects().await.unwrap(), expected);
    assert_eq!(
        f.ingest
            .store()
            .open_envelope(&id)
            .await
            .unwrap()
            .unwrap()
            .as_slice(),
        envelope.as_slice()
    );

    // A staging object abandoned longer than the lease is provably nobody's: it is cleaned.
    let lease = veil_ingest::store::STAGING_LEASE + std::time::Duration::from_secs(60);
    let abandoned = objects.join(format!("staging/{}/1-crashed", "2".repeat(64)));
    std::fs::create_dir_all(&abandoned).unwrap();
    std::fs::write(abandoned.join("envelope.veil"), b"partial").unwrap();
    age_file(&abandoned.join("envelope.veil"), lease);
    assert_eq!(other.store().sweep_orphans().await.unwrap(), 1);
    assert_eq!(other.store().list_objects().await.unwrap(), expected);
    assert!(!abandoned.exists(), "its empty directory is left behind");
}

// ---- The same guarantees with several instances on one PostgreSQL database --------------------

mod services;

use veil_ingest::store::{Database, Value};
use veil_ingest::verify::AcceptedReading;
use veil_ingest::{ApiError, DatabaseLocation, IngestConfig, ObjectStoreLocation};

/// `count` ingest instances' stores on one PostgreSQL database and one object directory, each
/// with a data directory of its own.
fn postgres_instances(
    pg: &services::Postgres,
    db: &str,
    objects: &std::path::Path,
    count: usize,
) -> Vec<ArtifactStore> {
    pg.create_database(db);
    (0..count)
        .map(|i| {
            let mut config = IngestConfig::new(objects.with_file_name(format!("data-{db}-{i}")));
            config.database = DatabaseLocation::parse(&pg.url(db)).unwrap();
            config.object_store = ObjectStoreLocation::Local(objects.to_path_buf());
            ArtifactStore::open(&config).unwrap()
        })
        .collect()
}

/// A verified upload of arbitrary `envelope` bytes (the store checks only that its bytes hash to
/// the id), signed content `tbs`, carrying `readings`.
fn synthetic(envelope: &[u8], tbs: u8, readings: Vec<AcceptedReading>) -> VerifiedUpload {
    VerifiedUpload {
        tbs_sha256: [tbs; 32],
        readings,
        ..upload_of(envelope, "synthetic")
    }
}

fn reading(counter: u64) -> AcceptedReading {
    AcceptedReading {
        device: "root/serial-1".into(),
        counter,
        timestamp: 1,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_instances_racing_on_one_id_store_it_once() {
    if !services::available("postgres_instances_racing_on_one_id_store_it_once") {
        return;
    }
    let pg = services::Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let objects = dir.path().join("objects");
    let stores = postgres_instances(&pg, "race", &objects, 2);
    for round in 0..6u8 {
        let envelope = vec![round; 4096];
        let id = id_of(&envelope);
        let tasks: Vec<_> = (0..6)
            .map(|i| {
                let store = stores[i % 2].clone();
                let envelope = envelope.clone();
                tokio::spawn(async move {
                    store
                        .store(
                            synthetic(&envelope, round, vec![reading(u64::from(round))]),
                            envelope.clone().into(),
                            1,
                        )
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut created = 0;
        for task in tasks {
            created += usize::from(matches!(task.await.unwrap(), Committed::Created(_)));
        }
        assert_eq!(created, 1, "round {round}");
        for store in &stores {
            assert_eq!(
                store.open_envelope(&id).await.unwrap().unwrap().as_slice(),
                envelope.as_slice()
            );
        }
    }
    assert_eq!(stores[1].artifact_count().await.unwrap(), 6);
    assert_eq!(
        pg.query_strings("race", "SELECT COUNT(*) FROM artifacts"),
        ["6"]
    );
    // Two objects per artifact, nothing staged left.
    assert_eq!(stores[0].list_objects().await.unwrap().len(), 12);
}

/// Different artifacts carrying one device reading, on two instances at once: serializable
/// check-then-insert lets exactly one through, the others are replays.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_instances_accept_a_device_counter_once() {
    if !services::available("postgres_instances_accept_a_device_counter_once") {
        return;
    }
    let pg = services::Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let stores = postgres_instances(&pg, "counters", &dir.path().join("objects"), 2);
    let tasks: Vec<_> = (0..8u8)
        .map(|i| {
            let store = stores[usize::from(i % 2)].clone();
            tokio::spawn(async move {
                let envelope = vec![100 + i; 1024];
                store
                    .store(
                        synthetic(&envelope, 100 + i, vec![reading(42)]),
                        envelope.clone().into(),
                        1,
                    )
                    .await
            })
        })
        .collect();
    let (mut created, mut replayed) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(Committed::Created(_)) => created += 1,
            Err(ApiError::ReplayedCounter { counter: 42, .. }) => replayed += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((created, replayed), (1, 7));
    assert_eq!(
        stores[0].last_counter("root/serial-1").await.unwrap(),
        Some(42)
    );
    assert_eq!(stores[0].list_objects().await.unwrap().len(), 2);
}

/// `Database::transaction` re-runs a closure that lost a serialization race: concurrent
/// read-then-write increments from two instances lose no update.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_transactions_that_lose_a_race_are_run_again() {
    if !services::available("postgres_transactions_that_lose_a_race_are_run_again") {
        return;
    }
    let pg = services::Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let stores = postgres_instances(&pg, "retry", &dir.path().join("objects"), 2);
    let db: Database = stores[0].database().clone();
    db.transaction(|tx| {
        tx.execute(
            "CREATE TABLE IF NOT EXISTS tally (name TEXT PRIMARY KEY, n BIGINT NOT NULL)",
            &[],
        )?;
        tx.execute(
            "INSERT INTO tally (name, n) VALUES ($1, 0)",
            &["hits".into()],
        )
    })
    .await
    .unwrap();
    let runs = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let db = stores[i % 2].database().clone();
            let runs = runs.clone();
            tokio::spawn(async move {
                db.transaction(move |tx| {
                    runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let n = tx
                        .query_opt("SELECT n FROM tally WHERE name = $1", &["hits".into()])?
                        .unwrap()
                        .int(0)?;
                    tx.execute(
                        "UPDATE tally SET n = $1 WHERE name = $2",
                        &[Value::Int(n + 1), "hits".into()],
                    )
                })
                .await
                .unwrap()
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), 1);
    }
    let n = db
        .transaction(|tx| tx.query_opt("SELECT n FROM tally", &[])?.unwrap().int(0))
        .await
        .unwrap();
    assert_eq!(n, 40, "a lost update");
    // Some ran more than once: the race was real, and was retried.
    assert!(runs.load(std::sync::atomic::Ordering::Relaxed) > 40);
    // Whole NUMERICs (SUM of a BIGINT) read as integers on PostgreSQL as on SQLite.
    let sum = db
        .transaction(|tx| {
            tx.query_opt("SELECT SUM(n) FROM tally", &[])?
                .unwrap()
                .int(0)
        })
        .await
        .unwrap();
    assert_eq!(sum, 40);
}

/// One instance at a time sweeps: the PostgreSQL advisory lock (and, for SQLite, the lock file
/// in the data directory) admits one holder, and is free again once it is dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_lock_admits_one_instance_at_a_time() {
    let f = Fixture::new();
    let mut again = f.config.clone();
    again.object_store = ObjectStoreLocation::Local(f.config.data_dir.join("objects"));
    let other = ArtifactStore::open(&again).unwrap();
    let held = f.ingest.store().database().try_sweep_lock().unwrap();
    assert!(held.is_some());
    assert!(other.database().try_sweep_lock().unwrap().is_none());
    assert_eq!(other.try_sweep().await.unwrap(), None);
    drop(held);
    assert!(other.database().try_sweep_lock().unwrap().is_some());

    if !services::available("the_sweep_lock_admits_one_instance_at_a_time (PostgreSQL)") {
        return;
    }
    let pg = services::Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let stores = postgres_instances(&pg, "sweep", &dir.path().join("objects"), 2);
    let (a, b) = (stores[0].database().clone(), stores[1].database().clone());
    let held = tokio::task::spawn_blocking(move || a.try_sweep_lock().unwrap())
        .await
        .unwrap();
    assert!(held.is_some());
    assert_eq!(stores[1].try_sweep().await.unwrap(), None);
    drop(held);
    let b2 = b.clone();
    assert!(
        tokio::task::spawn_blocking(move || b2.try_sweep_lock().unwrap())
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(stores[1].try_sweep().await.unwrap(), Some(0));
}
