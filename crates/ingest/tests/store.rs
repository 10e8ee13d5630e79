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
        store.envelope(&id).await.unwrap().as_ref(),
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
        reopened.store().envelope(&id).await.unwrap().as_ref(),
        envelope.as_slice()
    );
    assert!(std::fs::read(manifest_file(&f, &id)).unwrap() == manifest);
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
        f.ingest.store().envelope(&id).await.unwrap().as_ref(),
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
