//! Random scripts of failures, reloads, withdrawals and a server that forgets and re-learns the
//! client: nothing is ever stored twice, nothing withdrawn leaves afterwards or stays unrevoked,
//! every control message is sent as one byte-identical body, and once the network is good and the
//! device enrolled everything else is delivered.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use common::{Step, World, run};
use proptest::prelude::*;
use veil_consent::{Purpose, PurposeScope, ResearchTier};
use veil_outbox::{Event, ItemState, OutboxStore, Verdict};

#[derive(Debug, Clone)]
enum Action {
    /// What happens to the next request.
    Next(Step),
    /// The page flushes (and reloads if a request hangs).
    Flush,
    /// Research consent is withdrawn.
    Withdraw,
    /// Time passes.
    Wait(u32),
    /// The server does not know the client (never enrolled, or forgotten): 401 `unknown-client`.
    Forget,
    /// The device is connected to a clinic: the server knows it, and the app releases what waited.
    Enrol,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => Just(Step::Offline),
        2 => prop::sample::select(vec![500u16, 502, 503, 408, 429]).prop_map(Step::Status),
        2 => Just(Step::Cut),
        1 => Just(Step::Ok),
        1 => any::<bool>().prop_map(|handled| Step::Hang { handled }),
    ]
}

fn action(refusals: bool, withdrawals: bool) -> impl Strategy<Value = Action> {
    let refuse = if refusals { 1 } else { 0 };
    let withdraw = if withdrawals { 1 } else { 0 };
    prop_oneof![
        6 => step().prop_map(Action::Next),
        refuse => Just(Action::Next(Step::Refuse(422, "bad-envelope"))),
        4 => Just(Action::Flush),
        withdraw => Just(Action::Withdraw),
        2 => (0u32..400_000).prop_map(Action::Wait),
        1 => Just(Action::Forget),
        1 => Just(Action::Enrol),
    ]
}

fn research() -> PurposeScope {
    PurposeScope::research(ResearchTier::ThisStudy)
}

struct Outcome {
    world: World,
    ids: Vec<(String, bool)>,
    /// Delivered verdicts reported per item, over every flush that finished.
    delivered_events: BTreeMap<String, u32>,
    /// Requests per withdrawn item when its withdrawal was made.
    sent_at_withdrawal: BTreeMap<String, u32>,
    withdrawn: bool,
}

/// Flush once; a hung request is a reload (the engine is dropped, the store stays).
fn flush(world: &World, delivered: &mut BTreeMap<String, u32>) {
    let mut outbox = world.outbox();
    if let Some(report) = veil_outbox::block_on_ready(outbox.flush()) {
        for event in report.unwrap().events {
            if let Event::Upload {
                item,
                verdict: Verdict::Delivered,
            } = event
            {
                *delivered.entry(item.id).or_default() += 1;
            }
        }
    }
}

/// The server learns the client; the app releases what waited for that.
fn enrol(world: &World) {
    world.server.borrow_mut().client_unknown = false;
    run(world.outbox().on_enrolled()).unwrap();
}

fn play(research_items: Vec<bool>, actions: Vec<Action>, seed: u64) -> Outcome {
    let mut world = World::with_rng(common::TestRng::seeded(seed));
    let ids: Vec<(String, bool)> = research_items
        .into_iter()
        .map(|r| {
            let scope = if r {
                research()
            } else {
                PurposeScope::plain(Purpose::Treatment)
            };
            (world.queue(scope, if r { "p2" } else { "p1" }), r)
        })
        .collect();
    let mut delivered_events = BTreeMap::new();
    let mut sent_at_withdrawal = BTreeMap::new();
    let mut withdrawn = false;
    for action in actions {
        match action {
            Action::Next(step) => world.script([step]),
            Action::Flush => flush(&world, &mut delivered_events),
            Action::Withdraw => {
                let w = run(world
                    .outbox()
                    .on_withdrawn(&research(), "consent withdrawn"))
                .unwrap();
                for id in w.cancelled {
                    let sent = world.server.borrow().sent.get(&id).copied().unwrap_or(0);
                    sent_at_withdrawal.insert(id, sent);
                }
                withdrawn = true;
            }
            Action::Wait(ms) => world.advance(f64::from(ms)),
            Action::Forget => world.server.borrow_mut().client_unknown = true,
            Action::Enrol => enrol(&world),
        }
    }
    enrol(&world);
    // The network is good from now on: what is left of the script is played out first (a hang is
    // one more reload), then the outbox settles.
    for _ in 0..200 {
        if world.server.borrow().script_is_empty() {
            break;
        }
        world.later();
        flush(&world, &mut delivered_events);
    }
    for _ in 0..2 {
        world.later();
        flush(&world, &mut delivered_events);
    }
    Outcome {
        world,
        ids,
        delivered_events,
        sent_at_withdrawal,
        withdrawn,
    }
}

fn check(outcome: &Outcome, refusals: bool) -> Result<(), TestCaseError> {
    let world = &outcome.world;
    let server = world.server.borrow();
    prop_assert!(
        server.copies.values().all(|c| *c == 1),
        "stored twice: {:?}",
        server.copies
    );
    prop_assert!(
        server.applied.values().all(|c| *c == 1),
        "applied twice: {:?}",
        server.applied
    );
    prop_assert!(
        server.bodies.values().all(|b| b.len() == 1),
        "a control message sent with two bodies: {:?}",
        server.bodies
    );
    for (id, is_research) in &outcome.ids {
        let item = run(world.store.item(id)).unwrap().unwrap();
        let stored = server.stored.contains_key(id);
        let sent = server.sent.get(id).copied().unwrap_or(0);
        prop_assert!(!item.state.is_pending(), "{id} settled: {:?}", item.state);
        prop_assert!(outcome.delivered_events.get(id).copied().unwrap_or(0) <= 1);
        prop_assert_eq!(sent, item.attempts, "one request per attempt");
        if *is_research && outcome.withdrawn {
            if let Some(before) = outcome.sent_at_withdrawal.get(id) {
                prop_assert_eq!(sent, *before, "{} left after its withdrawal", id);
            }
            prop_assert!(
                !stored || server.revoked.contains(id),
                "{id} stored, not revoked"
            );
            continue;
        }
        match &item.state {
            ItemState::Delivered { .. } => prop_assert!(stored),
            ItemState::Failed { reason } => {
                prop_assert!(refusals, "only a refusal fails an item");
                prop_assert!(!reason.starts_with("unknown-client"), "{reason}");
                prop_assert!(!stored, "a failed item was never stored");
            }
            other => prop_assert!(false, "{id} ended {other:?}"),
        }
    }
    for message in run(world.outbox().controls()).unwrap() {
        prop_assert_eq!(message.state.id(), "delivered", "{:?}", message);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Failures, cuts and reloads only: every item is delivered, exactly once.
    #[test]
    fn failures_never_deliver_twice_and_a_good_network_delivers_everything(
        items in prop::collection::vec(any::<bool>(), 1..5),
        actions in prop::collection::vec(action(false, false), 0..40),
        seed in any::<u64>(),
    ) {
        let outcome = play(items, actions, seed);
        check(&outcome, false)?;
        for (id, _) in &outcome.ids {
            let item = run(outcome.world.store.item(id)).unwrap().unwrap();
            prop_assert_eq!(item.state.id(), "delivered");
        }
    }

    /// With refusals and withdrawals too: nothing stored twice, nothing withdrawn left after its
    /// withdrawal or stays unrevoked, everything else delivered or refused.
    #[test]
    fn withdrawals_and_refusals_keep_every_guarantee(
        items in prop::collection::vec(any::<bool>(), 1..5),
        actions in prop::collection::vec(action(true, true), 0..40),
        seed in any::<u64>(),
    ) {
        let outcome = play(items, actions, seed);
        check(&outcome, true)?;
    }
}
