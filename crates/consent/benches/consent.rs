//! Decision, replay and FHIR costs on large ledgers (`cargo bench -p veil-consent`).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use veil_consent::{
    Channel, ConsentEvent, ConsentLedger, DecisionRequest, EventKind, Jurisdiction, Purpose,
    PurposeScope, ResearchTier, Subject, Timestamp, decide, export_bundle, import_bundle,
};

fn ledger(n: usize) -> ConsentLedger {
    let mut l = ConsentLedger::new("p-bench").unwrap();
    let scopes = [
        PurposeScope::research(ResearchTier::ThisStudy),
        PurposeScope::research(ResearchTier::AnyResearch),
        PurposeScope::plain(Purpose::Marketing),
        PurposeScope::plain(Purpose::AiTraining),
    ];
    for i in 0..n {
        let kind = if i % 3 == 2 {
            EventKind::Withdrawn
        } else {
            EventKind::Given
        };
        let e = ConsentEvent::new(
            kind,
            scopes[i % 4].clone(),
            Timestamp(1_700_000_000 + i as i64 * 60),
            Channel::OwnDevice,
        );
        l.append(e).unwrap();
    }
    l
}

fn benches(c: &mut Criterion) {
    let req = DecisionRequest {
        subject: Subject {
            jurisdictions: vec![
                Jurisdiction::parse("DE").unwrap(),
                Jurisdiction::parse("US-CA").unwrap(),
            ],
            age: 40,
            guardian_consent: false,
        },
        scope: PurposeScope::research(ResearchTier::ThisStudy),
        at: Timestamp(1_900_000_000),
        waiver: None,
    };
    let mut g = c.benchmark_group("consent");
    g.measurement_time(Duration::from_secs(3)).sample_size(20);
    for n in [10usize, 1_000, 10_000] {
        let l = ledger(n);
        g.bench_with_input(BenchmarkId::new("decide DE+US-CA", n), &l, |b, l| {
            b.iter(|| decide(&req, Some(l)).unwrap())
        });
        let bundle = serde_json::to_vec(&export_bundle(&l, None)).unwrap();
        g.bench_with_input(BenchmarkId::new("export_bundle", n), &l, |b, l| {
            b.iter(|| export_bundle(l, None))
        });
        g.bench_with_input(BenchmarkId::new("import_bundle", n), &bundle, |b, x| {
            b.iter(|| import_bundle(x).unwrap())
        });
    }
    g.finish();
}

criterion_group!(consent, benches);
criterion_main!(consent);
