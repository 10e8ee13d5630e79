//! The outbox state machine driven end to end: in-memory store, scripted server, settable clock.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::pin::pin;

use common::{Gate, Step, T0, TestRng, World, poll_once, run};
use veil_consent::{Purpose, PurposeScope, ResearchTier};
use veil_outbox::Coded;
use veil_outbox::retry::MAX_BACKOFF_MS;
use veil_outbox::{
    ControlKind, ControlMessage, ErasedPseudonym, Event, ItemState, OutboxItem, OutboxStore,
    Verdict,
};

fn research() -> PurposeScope {
    PurposeScope::research(ResearchTier::ThisStudy)
}

fn treatment() -> PurposeScope {
    PurposeScope::plain(Purpose::Treatment)
}

fn item(world: &World, id: &str) -> OutboxItem {
    run(world.store.item(id))
        .unwrap()
        .expect("the item is stored")
}

fn state(world: &World, id: &str) -> &'static str {
    item(world, id).state.id()
}

fn controls(world: &World) -> Vec<ControlMessage> {
    run(world.outbox().controls()).unwrap()
}

fn has_envelope(world: &World, id: &str) -> bool {
    run(world.store.envelope(id)).unwrap().is_some()
}

fn flush(world: &World) -> Vec<Event> {
    run(world.outbox().flush()).unwrap().events
}

/// Every stored body was stored as a new artifact exactly once.
fn assert_stored_once(world: &World, ids: &[&str]) {
    let server = world.server.borrow();
    for id in ids {
        assert!(server.stored.contains_key(*id), "{id} is stored");
        assert_eq!(server.copies.get(*id), Some(&1), "{id} stored exactly once");
    }
    assert!(
        server.copies.values().all(|c| *c == 1),
        "no body stored twice"
    );
}

fn sent(world: &World, key: &str) -> u32 {
    world.server.borrow().sent.get(key).copied().unwrap_or(0)
}

#[test]
fn a_good_network_delivers_each_item_once_in_order() {
    let mut world = World::new();
    let ids: Vec<String> = (0..3).map(|_| world.queue(treatment(), "p1")).collect();
    let listed: Vec<String> = run(world.outbox().items())
        .unwrap()
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(
        listed,
        ids.iter().rev().cloned().collect::<Vec<_>>(),
        "newest first"
    );

    let report = run(world.outbox().flush()).unwrap();
    assert_eq!(report.delivered(), 3);
    let uploads: Vec<String> = ids.iter().map(|id| format!("upload {id}")).collect();
    assert_eq!(world.server.borrow().log, uploads, "oldest first");
    for id in &ids {
        assert_eq!(
            item(&world, id).state,
            ItemState::Delivered { at_ms: world.now() }
        );
        assert!(!has_envelope(&world, id), "a delivered envelope is dropped");
    }
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert_stored_once(&world, &refs);

    world.later();
    assert!(flush(&world).is_empty(), "nothing is sent twice");
    assert!(ids.iter().all(|id| sent(&world, id) == 1));
}

#[test]
fn offline_keeps_items_queued_and_waits_before_trying_again() {
    let mut world = World::with_rng(TestRng::Top);
    let id = world.queue(treatment(), "p1");
    world.script([Step::Offline]);
    let events = flush(&world);
    assert!(matches!(
        &events[..],
        [Event::Upload { verdict: Verdict::Retry { reason }, .. }] if reason == "offline"
    ));
    let queued = item(&world, &id);
    assert_eq!((queued.state.id(), queued.attempts), ("queued", 1));
    assert!(queued.next_at_ms > world.now() + 999.0 && queued.next_at_ms <= world.now() + 1000.0);
    assert!(has_envelope(&world, &id));

    // Not due yet: nothing is sent.
    world.advance(500.0);
    assert!(flush(&world).is_empty());
    assert_eq!(sent(&world, &id), 1);
    world.advance(500.0);
    assert_eq!(run(world.outbox().flush()).unwrap().delivered(), 1);
    assert_eq!(item(&world, &id).attempts, 2);
    assert_stored_once(&world, &[&id]);
}

#[test]
fn server_failures_timeouts_and_rate_limits_are_retried_with_a_doubling_capped_wait() {
    let mut world = World::with_rng(TestRng::Top);
    let id = world.queue(treatment(), "p1");
    let failures = [500, 503, 408, 429, 502, 500, 500, 500, 500, 500, 500];
    world.script(failures.map(Step::Status));
    for (n, status) in failures.iter().enumerate() {
        let events = flush(&world);
        assert_eq!(events.len(), 1, "one attempt per flush");
        let after = item(&world, &id);
        assert_eq!(after.state, ItemState::Queued, "{status} is retried");
        assert_eq!(after.attempts as usize, n + 1);
        // Full jitter at the top of its range: just under the ceiling, 1 s doubling to 5 min.
        let ceiling = (1000.0 * 2f64.powi(n as i32)).min(MAX_BACKOFF_MS);
        let wait = after.next_at_ms - world.now();
        assert!(
            wait <= ceiling && wait > ceiling - 1.0,
            "after {status}: {wait} vs {ceiling}"
        );
        world.advance(wait);
    }
    assert_eq!(run(world.outbox().flush()).unwrap().delivered(), 1);
    assert_eq!(
        world.server.borrow().received[&id],
        1,
        "failures stored nothing"
    );
    assert_stored_once(&world, &[&id]);
}

#[test]
fn a_refusal_is_final_and_never_sent_again() {
    let mut world = World::new();
    let id = world.queue(treatment(), "p1");
    world.script([Step::Refuse(403, "consent-not-granted")]);
    flush(&world);
    assert_eq!(
        item(&world, &id).state,
        ItemState::Failed {
            reason: "consent-not-granted: scripted".into()
        }
    );
    world.later();
    assert!(flush(&world).is_empty());
    assert_eq!(sent(&world, &id), 1);
    assert!(world.server.borrow().stored.is_empty());
    // A failed item can be cancelled; it never reached the server, so nothing is revoked.
    let cancelled = run(world.outbox().cancel(&id, "cancelled by you")).unwrap();
    assert_eq!(cancelled.state.id(), "cancelled");
    assert!(controls(&world).is_empty());
    assert!(!has_envelope(&world, &id));
}

#[test]
fn a_connection_cut_after_the_server_stored_is_retried_with_the_same_key_and_stored_once() {
    let mut world = World::new();
    let id = world.queue(treatment(), "p1");
    world.script([Step::Cut]);
    flush(&world);
    assert_eq!(state(&world, &id), "queued");
    assert_eq!(
        world.server.borrow().copies.get(&id),
        Some(&1),
        "the server has it"
    );
    world.later();
    let events = flush(&world);
    assert!(matches!(
        &events[..],
        [Event::Upload {
            verdict: Verdict::Delivered,
            ..
        }]
    ));
    let delivered = item(&world, &id);
    assert_eq!((delivered.state.id(), delivered.attempts), ("delivered", 2));
    assert_eq!(world.server.borrow().received[&id], 2, "received twice");
    assert_stored_once(&world, &[&id]);
}

#[test]
fn a_reload_while_uploading_sends_again_with_the_same_key() {
    for handled in [true, false] {
        let mut world = World::new();
        let first = world.queue(treatment(), "p1");
        let second = world.queue(treatment(), "p1");
        world.script([Step::Ok, Step::Hang { handled }]);
        {
            let outbox = world.outbox();
            let mut outbox = outbox;
            let flushing = pin!(outbox.flush());
            assert!(poll_once(flushing).is_none(), "the second upload is out");
            // The page goes away: the flush and the engine are dropped mid-upload.
        }
        assert_eq!(state(&world, &first), "delivered");
        assert_eq!(state(&world, &second), "uploading");
        assert_eq!(
            world.server.borrow().stored.contains_key(&second),
            handled,
            "the server got it before the reload: {handled}"
        );

        // The reloaded page builds a new engine over the same store; no wait is needed.
        let events = flush(&world);
        assert_eq!(
            events.len(),
            1,
            "only the one caught uploading is sent again"
        );
        let after = item(&world, &second);
        assert_eq!((after.state.id(), after.attempts), ("delivered", 2));
        assert_eq!(sent(&world, &first), 1);
        assert_stored_once(&world, &[&first, &second]);
    }
}

#[test]
fn withdrawal_cancels_queued_items_before_they_leave() {
    let mut world = World::new();
    let kept = world.queue(treatment(), "p1");
    let a = world.queue(research(), "p2");
    let b = world.queue(PurposeScope::research(ResearchTier::AnyResearch), "p2");
    let withdrawal = run(world
        .outbox()
        .on_withdrawn(&research(), "consent withdrawn"))
    .unwrap();
    assert_eq!(withdrawal.cancelled.len(), 2);
    assert!(withdrawal.revocations.is_empty(), "nothing had left");
    for id in [&a, &b] {
        assert_eq!(
            item(&world, id).state,
            ItemState::Cancelled {
                reason: "consent withdrawn".into()
            }
        );
        assert!(!has_envelope(&world, id));
    }
    world.later();
    assert_eq!(run(world.outbox().flush()).unwrap().delivered(), 1);
    assert_eq!(state(&world, &kept), "delivered");
    let server = world.server.borrow();
    assert_eq!(
        server.log,
        [format!("upload {kept}")],
        "nothing withdrawn left"
    );
    drop(server);
    let again = run(world.outbox().cancel(&a, "x")).unwrap_err();
    assert_eq!(again.code(), "not-cancellable");
    assert_eq!(
        run(world.outbox().cancel("nope", "x")).unwrap_err().code(),
        "unknown-item"
    );
    let delivered = run(world.outbox().cancel(&kept, "x")).unwrap_err();
    assert_eq!(delivered.code(), "not-cancellable");
}

#[test]
fn an_item_whose_consent_expired_is_cancelled_at_the_next_flush_and_never_leaves() {
    let mut world = World::new();
    let (new, envelope) = world.seal(research(), "p1");
    let until = world.now() + 60_000.0;
    let expiring = run(world.outbox().enqueue(new.until(Some(until)), envelope))
        .unwrap()
        .id;
    assert_eq!(
        item(&world, &expiring).consent_until_ms,
        Some(until),
        "kept"
    );
    let kept = world.queue(treatment(), "p1");
    // Offline until after the expiry: the first attempt fails, the second comes too late.
    world.script([Step::Offline, Step::Offline]);
    flush(&world);
    assert_eq!(state(&world, &expiring), "queued");
    assert_eq!(state(&world, &kept), "queued");
    world.advance(61_000.0);
    world.later();
    let report = run(world.outbox().flush()).unwrap();
    assert_eq!(report.delivered(), 1);
    assert_eq!(
        item(&world, &expiring).state,
        ItemState::Cancelled {
            reason: veil_outbox::CONSENT_EXPIRED.into()
        }
    );
    assert_eq!(state(&world, &kept), "delivered");
    assert!(!world.server.borrow().stored.contains_key(&expiring));
    // One caught uploading by a page that went away is cancelled too, not sent again.
    let (new, envelope) = world.seal(research(), "p2");
    let until = world.now() + 1_000.0;
    let caught = run(world.outbox().enqueue(new.until(Some(until)), envelope))
        .unwrap()
        .id;
    world.script([Step::Hang { handled: false }]);
    {
        let mut outbox = world.outbox();
        let mut leaving = pin!(outbox.flush());
        assert!(
            poll_once(leaving.as_mut()).is_none(),
            "the upload is in flight"
        );
        // The page goes away mid-upload: the flush is dropped, the item stays uploading.
    }
    assert_eq!(state(&world, &caught), "uploading");
    world.advance(2_000.0);
    flush(&world);
    assert_eq!(
        item(&world, &caught).state,
        ItemState::Cancelled {
            reason: veil_outbox::CONSENT_EXPIRED.into()
        }
    );
    // It had been tried once (offline, nothing stored): a revocation is queued, as for a withdrawal.
    assert!(
        controls(&world)
            .iter()
            .any(|m| matches!(m.kind, ControlKind::Revocation { .. })),
        "{:?}",
        controls(&world)
    );
}

#[test]
fn withdrawal_revokes_delivered_items_through_a_queued_retried_control_message() {
    let mut world = World::new();
    let a = world.queue(research(), "p2");
    let b = world.queue(research(), "p2");
    let other = world.queue(treatment(), "p1");
    assert_eq!(run(world.outbox().flush()).unwrap().delivered(), 3);

    let withdrawal = run(world
        .outbox()
        .on_withdrawn(&research(), "consent withdrawn"))
    .unwrap();
    assert!(withdrawal.cancelled.is_empty());
    let [revocation] = &withdrawal.revocations[..] else {
        panic!("one revocation: {withdrawal:?}");
    };
    let mut expected = vec![a.clone(), b.clone()];
    expected.sort();
    assert!(matches!(&revocation.kind,
        ControlKind::Revocation { artifacts, purpose, if_stored: false, .. }
            if *artifacts == expected && purpose == "research"));

    // Offline, then a server error, then a reload: it waits, persisted, and goes out once.
    world.script([Step::Offline, Step::Status(503)]);
    flush(&world);
    world.later();
    flush(&world);
    assert_eq!(controls(&world)[0].state, ItemState::Queued);
    assert_eq!(controls(&world)[0].attempts, 2);
    assert!(world.server.borrow().revoked.is_empty());
    world.later();
    let events = flush(&world);
    assert!(matches!(
        &events[..],
        [Event::Control {
            verdict: Verdict::Delivered,
            ..
        }]
    ));
    let server = world.server.borrow();
    assert_eq!(server.revoked, [a.clone(), b.clone()].into_iter().collect());
    assert_eq!(server.applied.get(&revocation.id), Some(&1));
    drop(server);

    // Withdrawn again later (after consent was given again): the same request, not sent again.
    let again = run(world
        .outbox()
        .on_withdrawn(&research(), "consent withdrawn"))
    .unwrap();
    assert_eq!(again.revocations[0].id, revocation.id);
    assert_eq!(again.revocations[0].state.id(), "delivered");
    world.later();
    assert!(flush(&world).is_empty());
    assert_eq!(sent(&world, &revocation.id), 3);
    assert!(!world.server.borrow().revoked.contains(&other));
}

/// Withdraw while the upload is out, then let the server answer as `answer`.
fn withdraw_during_upload(answer: Step) -> (World, String, Vec<Event>) {
    let mut world = World::new();
    let id = world.queue(research(), "p2");
    let gate = Gate::new();
    world.script([Step::Hold(gate.clone(), Box::new(answer))]);
    let mut outbox = world.outbox();
    let mut flushing = pin!(outbox.flush());
    assert!(poll_once(flushing.as_mut()).is_none());
    assert_eq!(state(&world, &id), "uploading");

    // The consent page, another task with its own engine over the same store.
    let withdrawal = run(world
        .outbox()
        .on_withdrawn(&research(), "consent withdrawn"))
    .unwrap();
    assert_eq!(withdrawal.cancelled, std::slice::from_ref(&id));
    assert!(matches!(
        &withdrawal.revocations[..],
        [ControlMessage {
            kind: ControlKind::Revocation {
                if_stored: true,
                ..
            },
            ..
        }]
    ));
    assert!(
        world.server.borrow().log.is_empty(),
        "nothing reached the server yet"
    );

    gate.open();
    let events = poll_once(flushing).expect("the flush ends").unwrap().events;
    (world, id, events)
}

#[test]
fn withdrawal_during_an_upload_the_server_stores_revokes_it_after_the_answer() {
    for answer in [Step::Ok, Step::Cut] {
        let (world, id, events) = withdraw_during_upload(answer.clone());
        assert_eq!(state(&world, &id), "cancelled", "{answer:?}");
        let server = world.server.borrow();
        assert_eq!(server.log[0], format!("upload {id}"));
        assert!(
            server.log[1].starts_with("revocation "),
            "revoked after: {:?}",
            server.log
        );
        assert!(server.revoked.contains(&id), "{answer:?}");
        assert_eq!(server.copies[&id], 1);
        assert!(matches!(
            events.last(),
            Some(Event::Control {
                verdict: Verdict::Delivered,
                ..
            })
        ));
    }
    let (_, id, events) = withdraw_during_upload(Step::Ok);
    assert!(matches!(&events[0],
        Event::Upload { item, verdict: Verdict::Delivered } if item.id == id && item.state.id() == "cancelled"));
}

#[test]
fn withdrawal_during_an_upload_the_server_refuses_has_nothing_to_revoke() {
    let (world, id, events) = withdraw_during_upload(Step::Refuse(422, "bad-envelope"));
    assert_eq!(state(&world, &id), "cancelled");
    // "Unknown" is final only once the grace has passed (see `grace_...` below).
    assert!(matches!(&events[..], [
        Event::Upload { verdict: Verdict::Refused { .. }, .. },
        Event::Control { verdict: Verdict::Retry { .. }, message },
    ] if message.state.id() == "queued"));
    world.later();
    assert!(matches!(&flush(&world)[..], [
        Event::Control { verdict: Verdict::NothingToRevoke, message },
    ] if message.state.id() == "delivered"));
    assert!(world.server.borrow().stored.is_empty());
    assert!(world.server.borrow().revoked.is_empty());
    // Settled: nothing more goes out.
    world.later();
    assert!(flush(&world).is_empty());
}

#[test]
fn an_item_caught_uploading_by_a_reload_and_then_withdrawn_is_revoked_if_the_server_has_it() {
    for handled in [true, false] {
        let mut world = World::new();
        let id = world.queue(research(), "p2");
        world.script([Step::Hang { handled }]);
        {
            let mut outbox = world.outbox();
            let flushing = pin!(outbox.flush());
            assert!(poll_once(flushing).is_none());
        }
        let withdrawal = run(world
            .outbox()
            .on_withdrawn(&research(), "consent withdrawn"))
        .unwrap();
        assert_eq!(withdrawal.revocations.len(), 1);
        let mut events = flush(&world);
        assert_eq!(
            events.len(),
            1,
            "the item is not sent again, only the revocation"
        );
        if !handled {
            assert!(matches!(
                &events[0],
                Event::Control {
                    verdict: Verdict::Retry { .. },
                    ..
                }
            ));
            world.later();
            events = flush(&world);
        }
        let server = world.server.borrow();
        assert_eq!(
            server.received.get(&id).copied().unwrap_or(0),
            u32::from(handled)
        );
        assert_eq!(server.revoked.contains(&id), handled);
        let expected = if handled {
            Verdict::Delivered
        } else {
            Verdict::NothingToRevoke
        };
        assert!(matches!(&events[0], Event::Control { verdict, .. } if *verdict == expected));
    }
}

#[test]
fn cancelling_an_item_whose_answer_was_lost_revokes_it_if_stored() {
    let mut world = World::new();
    let id = world.queue(research(), "p2");
    world.script([Step::Cut]);
    flush(&world);
    let cancelled = run(world.outbox().cancel(&id, "cancelled by you")).unwrap();
    assert_eq!(cancelled.state.id(), "cancelled");
    let [revocation] = &controls(&world)[..] else {
        panic!("one revocation")
    };
    assert!(matches!(&revocation.kind,
        ControlKind::Revocation { reason, if_stored: true, .. } if reason == "cancelled by you"));
    world.later();
    flush(&world);
    assert!(world.server.borrow().revoked.contains(&id));
    assert_eq!(
        world.server.borrow().received[&id],
        1,
        "the item was not sent again"
    );
}

#[test]
fn a_revocation_sent_by_another_tab_during_the_upload_is_followed_by_another() {
    let mut world = World::new();
    let id = world.queue(research(), "p2");
    let gate = Gate::new();
    // This tab's upload is held before it reaches the server; the other tab's revocation goes
    // through at once, finds nothing, and only then is the upload stored.
    world.script([Step::Hold(gate.clone(), Box::new(Step::Ok))]);
    let mut outbox = world.outbox();
    let mut flushing = pin!(outbox.flush());
    assert!(poll_once(flushing.as_mut()).is_none());
    run(world
        .outbox()
        .on_withdrawn(&research(), "consent withdrawn"))
    .unwrap();
    let other_tab = flush(&world);
    assert!(matches!(
        &other_tab[..],
        [Event::Control {
            verdict: Verdict::Retry { .. },
            ..
        }]
    ));
    gate.open();
    poll_once(flushing).expect("the flush ends").unwrap();
    let server = world.server.borrow();
    assert!(server.stored.contains_key(&id));
    assert!(
        server.revoked.contains(&id),
        "revoked after it was stored: {:?}",
        server.log
    );
}

/// A revocation "if stored" that the server answers `unknown-artifact` before an upload sent
/// earlier is committed (the uploading page went away; its request was still in the server's
/// queue, or on another instance) asks again when the grace ends, and revokes what was stored
/// meanwhile. Taken as final at once, the withdrawn artifact would stay stored.
#[test]
fn grace_a_late_commit_after_an_unknown_answer_is_still_revoked() {
    let mut world = World::new();
    let id = world.queue(research(), "p2");
    world.script([Step::Hang { handled: false }]);
    {
        let mut outbox = world.outbox();
        let flushing = pin!(outbox.flush());
        assert!(poll_once(flushing).is_none());
    }
    run(world
        .outbox()
        .on_withdrawn(&research(), "consent withdrawn"))
    .unwrap();
    assert!(matches!(
        &flush(&world)[..],
        [Event::Control { verdict: Verdict::Retry { .. }, message }] if message.state.id() == "queued"
    ));
    // Before the grace ends nothing more is sent.
    assert!(flush(&world).is_empty());
    // The server commits the upload it received before the withdrawal.
    world
        .server
        .borrow_mut()
        .stored
        .insert(id.clone(), "p2".into());
    world.later();
    flush(&world);
    let server = world.server.borrow();
    assert!(server.revoked.contains(&id), "{:?}", server.log);
    drop(server);
    assert!(controls(&world).iter().all(|m| m.state.id() == "delivered"));
}

#[test]
fn erasure_is_queued_persisted_retried_and_applied_once() {
    let mut world = World::new();
    let a = world.queue(treatment(), "p1");
    let b = world.queue(research(), "p2");
    flush(&world);
    let entries = vec![
        ErasedPseudonym {
            recipient: "veil-ingest".into(),
            purpose: "treatment".into(),
            pseudonym: "p1".into(),
        },
        ErasedPseudonym {
            recipient: "veil-ingest".into(),
            purpose: "research".into(),
            pseudonym: "p2".into(),
        },
    ];
    let queued = run(world.outbox().queue_erasure(entries.clone())).unwrap();
    assert_eq!(queued.len(), 1);
    world.script([Step::Offline, Step::Status(500), Step::Cut]);
    for _ in 0..3 {
        flush(&world);
        assert_eq!(controls(&world)[0].state.id(), "queued");
        world.later();
    }
    // The cut came after the server applied it: the retry is recognised by its key.
    assert_eq!(world.server.borrow().applied[&queued[0].id], 1);
    flush(&world);
    assert_eq!(controls(&world)[0].state.id(), "delivered");
    assert_eq!(controls(&world)[0].attempts, 4);
    let server = world.server.borrow();
    assert_eq!(server.erased, [a, b].into_iter().collect());
    assert_eq!(server.applied[&queued[0].id], 1);
    drop(server);

    // The same erasure again is the same request: not queued or sent twice.
    let again = run(world.outbox().queue_erasure(entries)).unwrap();
    assert_eq!(again[0].id, queued[0].id);
    world.later();
    assert!(flush(&world).is_empty());
    assert!(
        run(world.outbox().queue_erasure(vec![]))
            .unwrap()
            .is_empty()
    );
    let bad = ErasedPseudonym {
        recipient: String::new(),
        purpose: "treatment".into(),
        pseudonym: "p1".into(),
    };
    let e = run(world.outbox().queue_erasure(vec![bad])).unwrap_err();
    assert_eq!(e.code(), "bad-erasure-entry");
}

#[test]
fn an_erasure_waits_for_older_uploads_under_its_pseudonyms() {
    let mut world = World::new();
    let pending = world.queue(research(), "p2");
    let erase = |purpose: &str, pseudonym: &str| ErasedPseudonym {
        recipient: "veil-ingest".into(),
        purpose: purpose.into(),
        pseudonym: pseudonym.into(),
    };
    let held = run(world.outbox().queue_erasure(vec![erase("research", "p2")])).unwrap();
    let free = run(world.outbox().queue_erasure(vec![erase("treatment", "p1")])).unwrap();
    world.script([Step::Offline]);
    let events = flush(&world);
    // The upload failed, so the erasure under its pseudonym waits; the other one goes.
    assert_eq!(events.len(), 2);
    assert!(matches!(&events[1], Event::Control { message, .. } if message.id == free[0].id));
    assert_eq!(sent(&world, &held[0].id), 0);
    world.later();
    flush(&world);
    let server = world.server.borrow();
    let order: Vec<&str> = server.log.iter().map(String::as_str).collect();
    assert_eq!(order[0], format!("erasure {}", free[0].id));
    assert_eq!(order[1], format!("upload {pending}"));
    assert_eq!(order[2], format!("erasure {}", held[0].id));
    assert!(
        server.erased.contains(&pending),
        "the erasure reached the artifact"
    );
}

#[test]
fn control_messages_go_in_order_with_uploads() {
    let mut world = World::new();
    let first = world.queue(treatment(), "p1");
    flush(&world);
    let older = world.queue(research(), "p2");
    run(world
        .outbox()
        .on_withdrawn(&treatment(), "consent withdrawn"))
    .unwrap();
    world.advance(1.0);
    let newer = world.queue(research(), "p2");
    flush(&world);
    let server = world.server.borrow();
    let kinds: Vec<String> = server
        .log
        .iter()
        .map(|l| l.split(' ').next().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(kinds, ["upload", "upload", "revocation", "upload"]);
    assert_eq!(server.log[1], format!("upload {older}"));
    assert_eq!(server.log[3], format!("upload {newer}"));
    assert!(server.revoked.contains(&first));
}

#[test]
fn an_item_whose_envelope_is_gone_fails_without_a_request() {
    let mut world = World::new();
    let id = world.queue(treatment(), "p1");
    run(world.store.delete_envelope(&id)).unwrap();
    let events = flush(&world);
    assert!(matches!(
        &events[..],
        [Event::Upload {
            verdict: Verdict::Refused { .. },
            ..
        }]
    ));
    assert_eq!(state(&world, &id), "failed");
    assert_eq!(sent(&world, &id), 0);
}

#[test]
fn queueing_the_same_artifact_twice_keeps_one_item() {
    let mut world = World::new();
    let (new, envelope) = world.seal(treatment(), "p1");
    let first = run(world.outbox().enqueue(new.clone(), envelope.clone())).unwrap();
    world.advance(10.0);
    let second = run(world.outbox().enqueue(new.clone(), envelope.clone())).unwrap();
    assert_eq!(first, second);
    assert_eq!(first.created_ms, T0);
    flush(&world);
    let third = run(world.outbox().enqueue(new, envelope)).unwrap();
    assert_eq!(
        third.state.id(),
        "delivered",
        "a delivered item is not queued again"
    );
    assert!(!has_envelope(&world, &third.id));
    assert_eq!(run(world.outbox().items()).unwrap().len(), 1);

    let (mut bad, envelope) = world.seal(treatment(), "p1");
    bad.id = bad.id.to_uppercase();
    let e = run(world.outbox().enqueue(bad, envelope)).unwrap_err();
    assert_eq!(e.code(), "bad-artifact-id");
}

fn erased(purpose: &str, pseudonym: &str) -> ErasedPseudonym {
    ErasedPseudonym {
        recipient: "veil-ingest".into(),
        purpose: purpose.into(),
        pseudonym: pseudonym.into(),
    }
}

#[test]
fn an_unknown_client_waits_for_its_enrolment_then_everything_goes_once() {
    let mut world = World::with_rng(TestRng::Top);
    world.server.borrow_mut().client_unknown = true;
    let a = world.queue(research(), "p2");
    let report = run(world.outbox().flush()).unwrap();
    assert_eq!(report.awaiting_enrolment(), 1);
    assert_eq!(report.delivered(), 0);
    assert_eq!(
        item(&world, &a).state,
        ItemState::AwaitingEnrolment {
            reason: "unknown-client: scripted".into()
        }
    );
    assert!(has_envelope(&world, &a), "kept until it is delivered");
    assert!(world.server.borrow().stored.is_empty(), "nothing stored");

    // Parked, not retried: time alone sends nothing more.
    for _ in 0..3 {
        world.later();
        assert!(flush(&world).is_empty());
    }
    assert_eq!(sent(&world, &a), 1);

    // An erasure under a's pseudonym waits for a; one under another goes, and is parked too.
    let held = run(world.outbox().queue_erasure(vec![erased("research", "p2")])).unwrap();
    let other = run(world
        .outbox()
        .queue_erasure(vec![erased("care-operations", "p9")]))
    .unwrap();
    let events = flush(&world);
    assert!(matches!(&events[..],
        [Event::Control { message, verdict: Verdict::AwaitingEnrolment { .. } }]
            if message.id == other[0].id && message.state.id() == "awaiting-enrolment"));
    assert_eq!(sent(&world, &held[0].id), 0);
    assert_eq!(world.server.borrow().unknown_client_refusals, 2);

    // The device is connected to a clinic: what waited goes, in order, once.
    world.server.borrow_mut().client_unknown = false;
    assert_eq!(run(world.outbox().on_enrolled()).unwrap(), 2);
    assert_eq!(run(world.outbox().on_enrolled()).unwrap(), 0);
    let report = run(world.outbox().flush()).unwrap();
    assert_eq!(report.delivered(), 1);
    assert_eq!(report.awaiting_enrolment(), 0);
    let delivered = item(&world, &a);
    assert_eq!((delivered.state.id(), delivered.attempts), ("delivered", 2));
    assert!(controls(&world).iter().all(|m| m.state.id() == "delivered"));
    let server = world.server.borrow();
    assert_eq!(server.log[0], format!("upload {a}"));
    assert_eq!(server.log[1], format!("erasure {}", held[0].id));
    assert!(server.erased.contains(&a));
    assert_eq!(server.applied[&other[0].id], 1);
    // The parked erasure was sent twice, byte for byte the same.
    assert_eq!(server.bodies[&other[0].id].len(), 1);
    drop(server);
    assert_stored_once(&world, &[&a]);
}

#[test]
fn an_item_awaiting_enrolment_can_be_cancelled_or_withdrawn() {
    let mut world = World::new();
    world.server.borrow_mut().client_unknown = true;
    let a = world.queue(treatment(), "p1");
    let b = world.queue(research(), "p2");
    flush(&world);
    assert_eq!(state(&world, &a), "awaiting-enrolment");
    assert_eq!(state(&world, &b), "awaiting-enrolment");
    let cancelled = run(world.outbox().cancel(&a, "cancelled by you")).unwrap();
    assert_eq!(cancelled.state.id(), "cancelled");
    let withdrawal = run(world
        .outbox()
        .on_withdrawn(&research(), "consent withdrawn"))
    .unwrap();
    assert_eq!(withdrawal.cancelled, std::slice::from_ref(&b));
    assert!(!has_envelope(&world, &a) && !has_envelope(&world, &b));
    // Once connected, neither leaves; what was asked "if stored" finds nothing to revoke.
    world.server.borrow_mut().client_unknown = false;
    run(world.outbox().on_enrolled()).unwrap();
    flush(&world);
    world.later();
    flush(&world);
    assert_eq!(sent(&world, &a), 1);
    assert_eq!(sent(&world, &b), 1);
    assert!(world.server.borrow().stored.is_empty());
    assert!(controls(&world).iter().all(|m| m.state.id() == "delivered"));
}

#[test]
fn a_revoked_client_and_a_pseudonym_owned_by_another_are_final() {
    let mut world = World::new();
    let a = world.queue(treatment(), "p1");
    world.script([Step::Error(403, "client-revoked")]);
    flush(&world);
    assert_eq!(
        item(&world, &a).state,
        ItemState::Failed {
            reason: "client-revoked: scripted".into()
        }
    );
    let b = world.queue(treatment(), "p1");
    world.script([Step::Error(403, "pseudonym-not-owned")]);
    flush(&world);
    assert_eq!(state(&world, &b), "failed");
    let erasure = run(world
        .outbox()
        .queue_erasure(vec![erased("treatment", "p1")]))
    .unwrap();
    world.script([Step::Error(403, "pseudonym-not-owned")]);
    flush(&world);
    assert!(matches!(&controls(&world)[0].state,
        ItemState::Failed { reason } if reason.starts_with("pseudonym-not-owned")));
    // Enrolment releases only what waited for it.
    assert_eq!(run(world.outbox().on_enrolled()).unwrap(), 0);
    world.later();
    assert!(flush(&world).is_empty());
    assert_eq!((sent(&world, &a), sent(&world, &b)), (1, 1));
    assert_eq!(sent(&world, &erasure[0].id), 1);
}

#[test]
fn a_control_message_is_sent_byte_identical_and_its_replay_is_recognised() {
    let mut world = World::new();
    let a = world.queue(research(), "p2");
    flush(&world);
    let withdrawal = run(world
        .outbox()
        .on_withdrawn(&research(), "consent withdrawn"))
    .unwrap();
    let queued = withdrawal.revocations[0].clone();
    assert_eq!(queued.nonce.len(), 32);
    assert_eq!(queued.timestamp_ms, world.now() as u64);
    // Cut after the server applied it, then a 503, then through: three identical bodies.
    world.script([Step::Cut, Step::Status(503), Step::Ok]);
    for _ in 0..3 {
        flush(&world);
        world.later();
    }
    let after = &controls(&world)[0];
    assert_eq!((after.state.id(), after.attempts), ("delivered", 3));
    assert_eq!(after.nonce, queued.nonce, "the nonce is kept");
    let server = world.server.borrow();
    assert_eq!(server.applied[&queued.id], 1, "applied once");
    let bodies = &server.bodies[&queued.id];
    assert_eq!(bodies.len(), 1, "one body, sent three times: {bodies:?}");
    let body: serde_json::Value =
        serde_json::from_str(bodies.first().expect("a body")).expect("JSON");
    assert_eq!(body["nonce"], queued.nonce.as_str());
    assert_eq!(body["timestamp_ms"], queued.timestamp_ms);
    assert!(server.revoked.contains(&a));
}

#[test]
fn every_control_message_has_its_own_nonce_even_from_a_stuck_generator() {
    let world = World::with_rng(TestRng::Top);
    let mut nonces = std::collections::BTreeSet::new();
    for n in 0..20 {
        let queued = run(world
            .outbox()
            .queue_erasure(vec![erased("treatment", &format!("p{n}"))]))
        .unwrap();
        assert!(nonces.insert(queued[0].nonce.clone()));
    }
    // Queued again, a message keeps the nonce it was stored with.
    let again = run(world
        .outbox()
        .queue_erasure(vec![erased("treatment", "p0")]))
    .unwrap();
    assert!(nonces.contains(&again[0].nonce));
    assert_eq!(controls(&world).len(), 20);
}

#[test]
fn a_message_stored_before_nonces_gets_one_when_it_is_next_sent() {
    let world = World::new();
    let queued = run(world
        .outbox()
        .queue_erasure(vec![erased("treatment", "p1")]))
    .unwrap();
    // As an older app stored it: no time, no nonce.
    let mut old = serde_json::to_value(&queued[0]).unwrap();
    let map = old.as_object_mut().unwrap();
    map.remove("nonce");
    map.remove("timestamp_ms");
    let old: ControlMessage = serde_json::from_value(old).unwrap();
    run(world.store.update_control(&old.id.clone(), move |m| {
        *m = old;
        true
    }))
    .unwrap();
    assert!(!controls(&world)[0].has_nonce());
    world.script([Step::Offline]);
    flush(&world);
    let first = controls(&world)[0].clone();
    assert!(first.has_nonce(), "given its nonce as it was sent");
    assert_eq!(first.timestamp_ms, T0 as u64, "the time it was queued");
    world.later();
    flush(&world);
    let sent_once = controls(&world)[0].clone();
    assert_eq!(sent_once.state.id(), "delivered");
    assert_eq!(sent_once.nonce, first.nonce);
}
