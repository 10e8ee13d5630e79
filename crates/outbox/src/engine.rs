//! The outbox engine: [`Outbox`] over a store, a transport, a jitter generator and a clock.
//!
//! Every change of an entry is one atomic [`OutboxStore`] update whose condition is the state the
//! change starts from: a flush only starts what is still pending and due, only settles what it
//! started and is still `uploading`, a withdrawal only cancels what has not been delivered. So a
//! withdrawal and a flush may interleave freely (the browser runs them as separate tasks) and the
//! outcome is one of the orders in which they could have run whole.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::BTreeSet;

use rand_core::RngCore;
use veil_consent::PurposeScope;

use crate::control::{
    ControlKind, ControlMessage, ErasedPseudonym, MAX_FIELD_BYTES, MAX_REASON_BYTES, NONCE_BYTES,
    clip,
};
use crate::error::OutboxError;
use crate::item::{ItemState, NewItem, OutboxItem};
use crate::retry::{self, Answer, Verdict, backoff_ms, classify};
use crate::store::OutboxStore;

/// The time, ms since the epoch (a JS number in the browser).
pub trait Clock {
    /// Now.
    fn now_ms(&self) -> f64;
}

impl<F: Fn() -> f64> Clock for F {
    fn now_ms(&self) -> f64 {
        self()
    }
}

/// Sends one request to the ingest server and says how it ended. Never retries by itself: the
/// outbox decides that.
#[allow(async_fn_in_trait)]
pub trait Transport<E: ?Sized> {
    /// `POST /v1/artifacts` with `envelope` as the body and `id` as the `Idempotency-Key`.
    async fn upload(&self, id: &str, envelope: &E) -> Answer;
    /// `POST` [`ControlMessage::body`] to [`ControlMessage::path`], signed by the client key, with
    /// [`ControlMessage::id`] as the `Idempotency-Key`.
    async fn control(&self, message: &ControlMessage) -> Answer;
}

/// The reason an item is cancelled with when the consent it was sealed under expired before it
/// left (the service worker writes the same words).
pub const CONSENT_EXPIRED: &str = "the consent it was sealed under expired before it left";

/// One attempt of a flush: the entry as it is after the attempt, and what the answer meant.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// An upload. The item is `cancelled` (with a `Delivered` verdict) when consent was withdrawn
    /// while it was leaving; a revocation follows it.
    Upload {
        /// The item after the attempt.
        item: OutboxItem,
        /// What the answer meant.
        verdict: Verdict,
    },
    /// A control message.
    Control {
        /// The message after the attempt.
        message: ControlMessage,
        /// What the answer meant.
        verdict: Verdict,
    },
}

/// What one flush did, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FlushReport {
    /// Every attempt.
    pub events: Vec<Event>,
}

impl FlushReport {
    /// How many uploads the server now holds that it did not before this flush told us so.
    #[must_use]
    pub fn delivered(&self) -> usize {
        self.events
            .iter()
            .filter(|e| {
                matches!(
                    e,
                    Event::Upload {
                        verdict: Verdict::Delivered,
                        ..
                    }
                )
            })
            .count()
    }

    /// How many entries the server refused as coming from an unknown client (401
    /// `unknown-client`): they wait for [`Outbox::on_enrolled`].
    #[must_use]
    pub fn awaiting_enrolment(&self) -> usize {
        self.events
            .iter()
            .filter(|e| {
                matches!(
                    e,
                    Event::Upload {
                        verdict: Verdict::AwaitingEnrolment { .. },
                        ..
                    } | Event::Control {
                        verdict: Verdict::AwaitingEnrolment { .. },
                        ..
                    }
                )
            })
            .count()
    }
}

/// What a withdrawal did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Withdrawal {
    /// Items cancelled (they will not be sent).
    pub cancelled: Vec<String>,
    /// Revocations queued (or found already queued): for the delivered items, and one "if stored"
    /// per cancelled item that may have reached the server.
    pub revocations: Vec<ControlMessage>,
}

/// The outbox engine. Build one whenever convenient (it holds no state of its own beyond its
/// parts): everything is in the store.
///
/// The generator draws the retry jitter and the control messages' nonces: give it the operating
/// system's generator (the browser's `crypto.getRandomValues`) outside tests.
#[derive(Debug)]
pub struct Outbox<S, T, R, C> {
    store: S,
    transport: T,
    rng: RefCell<R>,
    clock: C,
}

/// Whether an entry waiting until `next_at_ms` may go at `now` (an unreadable time: yes).
fn is_due(next_at_ms: f64, now: f64) -> bool {
    next_at_ms.partial_cmp(&now) != Some(Ordering::Greater)
}

/// What an attempt changes: an item's or a control message's state, attempts and next time.
trait Attempted {
    fn progress(&mut self) -> (&mut ItemState, &mut u32, &mut f64);
}

impl Attempted for OutboxItem {
    fn progress(&mut self) -> (&mut ItemState, &mut u32, &mut f64) {
        (&mut self.state, &mut self.attempts, &mut self.next_at_ms)
    }
}

impl Attempted for ControlMessage {
    fn progress(&mut self) -> (&mut ItemState, &mut u32, &mut f64) {
        (&mut self.state, &mut self.attempts, &mut self.next_at_ms)
    }
}

/// The start of an attempt: pending and due becomes `uploading`, one more attempt.
fn start(entry: &mut impl Attempted, now: f64) -> bool {
    let (state, attempts, next_at_ms) = entry.progress();
    if !state.is_pending() || !is_due(*next_at_ms, now) {
        return false;
    }
    *state = ItemState::Uploading;
    *attempts = attempts.saturating_add(1);
    true
}

/// The end of an attempt, if the entry is still `uploading` (not cancelled meanwhile, nor settled
/// by another flush): `at` is when the answer came, `wait` the backoff if it is retried.
fn settle(entry: &mut impl Attempted, verdict: Verdict, at: f64, wait: f64) -> bool {
    let (state, _, next_at_ms) = entry.progress();
    if *state != ItemState::Uploading {
        return false;
    }
    *state = match verdict {
        Verdict::Delivered | Verdict::NothingToRevoke => ItemState::Delivered { at_ms: at },
        Verdict::Refused { reason } => ItemState::Failed { reason },
        Verdict::AwaitingEnrolment { reason } => ItemState::AwaitingEnrolment { reason },
        Verdict::Retry { .. } => {
            *next_at_ms = at + wait;
            ItemState::Queued
        }
    };
    true
}

/// How long after a withdrawal a revocation "if stored" keeps asking when the server does not know
/// the artifact: longer than an upload sent before the withdrawal can take to be committed (the
/// reference server gives up on a request after 120 s; its commit follows at once).
pub const REVOCATION_GRACE_MS: f64 = 5.0 * 60.0 * 1000.0;

/// Oldest first, then by id: the order entries are sent in.
fn by_age(a: (f64, &str), b: (f64, &str)) -> Ordering {
    a.0.total_cmp(&b.0).then_with(|| a.1.cmp(b.1))
}

impl<S, T, R, C> Outbox<S, T, R, C>
where
    S: OutboxStore,
    T: Transport<S::Envelope>,
    R: RngCore,
    C: Clock,
{
    /// An outbox over `store`, sending through `transport`, drawing jitter from `rng`.
    pub fn new(store: S, transport: T, rng: R, clock: C) -> Self {
        Self {
            store,
            transport,
            rng: RefCell::new(rng),
            clock,
        }
    }

    /// Fresh random bytes for a nonce; all zero if the generator fails (the nonce made from them
    /// still differs between messages: it hashes in the message's id).
    fn random_nonce(&self) -> [u8; NONCE_BYTES] {
        let mut random = [0u8; NONCE_BYTES];
        if self.rng.borrow_mut().try_fill_bytes(&mut random).is_err() {
            random = [0; NONCE_BYTES];
        }
        random
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// Queue a sealed envelope. Queueing an id already known returns the item as it is (same id,
    /// same bytes: it is the same artifact) and keeps nothing new.
    ///
    /// # Errors
    /// [`OutboxError::BadArtifactId`], [`OutboxError::BadItem`], [`OutboxError::Store`].
    pub async fn enqueue(
        &self,
        new: NewItem,
        envelope: S::Envelope,
    ) -> Result<OutboxItem, OutboxError> {
        let item = new.into_item(self.clock.now_ms())?;
        if let Some(existing) = self.store.item(&item.id).await? {
            return Ok(existing);
        }
        // The envelope first: an item is never seen without it.
        self.store.put_envelope(&item.id, envelope).await?;
        if self.store.insert_item(&item).await? {
            return Ok(item);
        }
        self.store
            .item(&item.id)
            .await?
            .ok_or(OutboxError::UnknownItem(item.id))
    }

    /// Every item, newest first.
    ///
    /// # Errors
    /// [`OutboxError::Store`].
    pub async fn items(&self) -> Result<Vec<OutboxItem>, OutboxError> {
        let mut items = self.store.items().await?;
        items.sort_by(|a, b| by_age((b.created_ms, &a.id), (a.created_ms, &b.id)));
        Ok(items)
    }

    /// Every control message, newest first.
    ///
    /// # Errors
    /// [`OutboxError::Store`].
    pub async fn controls(&self) -> Result<Vec<ControlMessage>, OutboxError> {
        let mut controls = self.store.controls().await?;
        controls.sort_by(|a, b| by_age((b.created_ms, &a.id), (a.created_ms, &b.id)));
        Ok(controls)
    }

    /// Cancel a queued, failed or enrolment-awaiting item: it will not be sent, its envelope is
    /// dropped, and if an earlier attempt may have reached the server, a revocation "if stored" is
    /// queued.
    ///
    /// # Errors
    /// [`OutboxError::UnknownItem`], [`OutboxError::NotCancellable`] (delivered, being sent, or
    /// cancelled already), [`OutboxError::Store`].
    pub async fn cancel(&self, id: &str, reason: &str) -> Result<OutboxItem, OutboxError> {
        let reason = clip(reason, MAX_REASON_BYTES);
        let cancelled = ItemState::Cancelled {
            reason: reason.clone(),
        };
        let change = self
            .store
            .update_item(id, move |item| {
                let open = matches!(
                    item.state,
                    ItemState::Queued
                        | ItemState::Failed { .. }
                        | ItemState::AwaitingEnrolment { .. }
                );
                if open {
                    item.state = cancelled;
                }
                open
            })
            .await?
            .ok_or_else(|| OutboxError::UnknownItem(id.to_owned()))?;
        let Some(after) = change.after else {
            return Err(OutboxError::NotCancellable {
                id: id.to_owned(),
                state: change.before.state.id(),
            });
        };
        self.after_cancel(&change.before, &reason).await?;
        Ok(after)
    }

    /// Cancel an unsent item whose consent expired ([`CONSENT_EXPIRED`]), whatever attempt it
    /// was caught in, and revoke it "if stored" when it may have left.
    async fn expire(&self, id: &str) -> Result<(), OutboxError> {
        let reason = CONSENT_EXPIRED.to_owned();
        let cancelled = ItemState::Cancelled {
            reason: reason.clone(),
        };
        let change = self
            .store
            .update_item(id, move |item| {
                let open = matches!(
                    item.state,
                    ItemState::Queued | ItemState::Uploading | ItemState::AwaitingEnrolment { .. }
                );
                if open {
                    item.state = cancelled;
                }
                open
            })
            .await?;
        if let Some(change) = change
            && change.after.is_some()
        {
            self.after_cancel(&change.before, &reason).await?;
        }
        Ok(())
    }

    /// Drop a cancelled item's envelope; revoke it "if stored" when it may have left.
    async fn after_cancel(
        &self,
        before: &OutboxItem,
        reason: &str,
    ) -> Result<Option<ControlMessage>, OutboxError> {
        self.store.delete_envelope(&before.id).await?;
        if !before.may_have_left() {
            return Ok(None);
        }
        let message = ControlMessage::revocation_if_stored(
            &before.id,
            before.scope.purpose.id(),
            reason,
            "",
            self.clock.now_ms(),
        );
        self.queue(message).await.map(Some)
    }

    /// Queue `message` unless it is queued already; the message as stored. Its nonce is drawn
    /// here, once: a message queued again keeps the nonce (and the time) it was first stored with.
    async fn queue(&self, mut message: ControlMessage) -> Result<ControlMessage, OutboxError> {
        message.set_nonce(&self.random_nonce());
        if self.store.insert_control(&message).await? {
            return Ok(message);
        }
        Ok(self.store.control(&message.id).await?.unwrap_or(message))
    }

    /// Consent for `scope` was withdrawn: cancel every item for it (or for a scope it covers, or
    /// that covers it) that is not delivered, before it leaves, and queue revocations for the
    /// delivered ones and "if stored" revocations for those that may have left (an earlier attempt
    /// without a clear answer, or one in flight now: the revocation is sent after it ends).
    ///
    /// # Errors
    /// [`OutboxError::Store`]; what was done before the failure stays done, and calling again
    /// finishes it.
    pub async fn on_withdrawn(
        &self,
        scope: &PurposeScope,
        reason: &str,
    ) -> Result<Withdrawal, OutboxError> {
        let reason = clip(reason, MAX_REASON_BYTES);
        let mut withdrawal = Withdrawal::default();
        let mut delivered = Vec::new();
        for item in self.items().await? {
            if !(scope.covers(&item.scope) || item.scope.covers(scope)) {
                continue;
            }
            let cancelled = ItemState::Cancelled {
                reason: reason.clone(),
            };
            let Some(change) = self
                .store
                .update_item(&item.id, move |item| {
                    let open = !matches!(
                        item.state,
                        ItemState::Delivered { .. } | ItemState::Cancelled { .. }
                    );
                    if open {
                        item.state = cancelled;
                    }
                    open
                })
                .await?
            else {
                continue;
            };
            if change.after.is_some() {
                withdrawal.cancelled.push(item.id);
                if let Some(revocation) = self.after_cancel(&change.before, &reason).await? {
                    withdrawal.revocations.push(revocation);
                }
            } else if matches!(change.before.state, ItemState::Delivered { .. }) {
                delivered.push(item.id);
            }
        }
        let now = self.clock.now_ms();
        for message in ControlMessage::revocations(delivered, scope.purpose.id(), &reason, now) {
            withdrawal.revocations.push(self.queue(message).await?);
        }
        Ok(withdrawal)
    }

    /// The identity layer was destroyed: queue the erasure of `pseudonyms` (split when more than
    /// the server takes in one request). Nothing to tell: nothing queued.
    ///
    /// # Errors
    /// [`OutboxError::BadErasureEntry`], [`OutboxError::Store`].
    pub async fn queue_erasure(
        &self,
        pseudonyms: Vec<ErasedPseudonym>,
    ) -> Result<Vec<ControlMessage>, OutboxError> {
        let bad = |s: &str| s.is_empty() || s.len() > MAX_FIELD_BYTES;
        if pseudonyms
            .iter()
            .any(|p| bad(&p.recipient) || bad(&p.purpose) || bad(&p.pseudonym))
        {
            return Err(OutboxError::BadErasureEntry {
                max_bytes: MAX_FIELD_BYTES,
            });
        }
        let mut queued = Vec::new();
        for message in ControlMessage::erasures(pseudonyms, self.clock.now_ms()) {
            queued.push(self.queue(message).await?);
        }
        Ok(queued)
    }

    /// The device was enrolled (connected to a clinic): every entry the server refused as coming
    /// from an unknown client is queued again, due now, keeping its attempts (and a control
    /// message its time and nonce). How many were released.
    ///
    /// Call it once the enrolment succeeded, with no flush running (a flush already out may park
    /// an entry it sent before the enrolment after this ran; the app holds its flush lock).
    ///
    /// # Errors
    /// [`OutboxError::Store`]; what was released before the failure stays released.
    pub async fn on_enrolled(&self) -> Result<usize, OutboxError> {
        fn release(state: &mut ItemState, next_at_ms: &mut f64) -> bool {
            if !matches!(state, ItemState::AwaitingEnrolment { .. }) {
                return false;
            }
            *state = ItemState::Queued;
            *next_at_ms = 0.0;
            true
        }
        let mut released = 0;
        for item in self.store.items().await? {
            if matches!(item.state, ItemState::AwaitingEnrolment { .. }) {
                let change = self
                    .store
                    .update_item(&item.id, |i| release(&mut i.state, &mut i.next_at_ms))
                    .await?;
                released += usize::from(change.is_some_and(|c| c.after.is_some()));
            }
        }
        for message in self.store.controls().await? {
            if matches!(message.state, ItemState::AwaitingEnrolment { .. }) {
                let change = self
                    .store
                    .update_control(&message.id, |m| release(&mut m.state, &mut m.next_at_ms))
                    .await?;
                released += usize::from(change.is_some_and(|c| c.after.is_some()));
            }
        }
        Ok(released)
    }

    /// One pass: send every due entry (uploads and control messages, oldest first) once, then the
    /// control messages queued while the pass ran (a withdrawal during an upload). An entry is
    /// marked `uploading` before it is sent, so one found so after a reload is sent again, with the
    /// same key.
    ///
    /// Call one flush at a time per store (see the crate docs).
    ///
    /// # Errors
    /// [`OutboxError::Store`]: the pass stops there; the next one resumes.
    pub async fn flush(&mut self) -> Result<FlushReport, OutboxError> {
        let now = self.clock.now_ms();
        let mut due: Vec<(f64, bool, String)> = Vec::new();
        for item in self.store.items().await? {
            // Never sent once the consent it was sealed under has expired: cancelled, as a
            // withdrawal cancels it (what may have left is revoked). An item still marked
            // uploading here was caught leaving by a page that went away (flushes do not overlap),
            // so it is cancelled too rather than sent again.
            if matches!(
                item.state,
                ItemState::Queued | ItemState::Uploading | ItemState::AwaitingEnrolment { .. }
            ) && item.consent_ended(now)
            {
                self.expire(&item.id).await?;
                continue;
            }
            if item.state.is_pending() && is_due(item.next_at_ms, now) {
                due.push((item.created_ms, false, item.id));
            }
        }
        for message in self.store.controls().await? {
            if message.state.is_pending() && is_due(message.next_at_ms, now) {
                due.push((message.created_ms, true, message.id));
            }
        }
        due.sort_by(|a, b| by_age((a.0, &a.2), (b.0, &b.2)).then(a.1.cmp(&b.1)));
        let mut report = FlushReport::default();
        let mut tried = BTreeSet::new();
        for (_, control, id) in due {
            if control {
                self.send_control(&id, now, &mut report).await?;
                tried.insert(id);
            } else {
                self.send_item(&id, now, &mut report).await?;
            }
        }
        let now = self.clock.now_ms();
        let mut late: Vec<ControlMessage> = self
            .store
            .controls()
            .await?
            .into_iter()
            .filter(|m| m.state.is_pending() && is_due(m.next_at_ms, now) && !tried.contains(&m.id))
            .collect();
        late.sort_by(|a, b| by_age((a.created_ms, &a.id), (b.created_ms, &b.id)));
        for message in late {
            self.send_control(&message.id, now, &mut report).await?;
        }
        Ok(report)
    }

    async fn send_item(
        &mut self,
        id: &str,
        now: f64,
        report: &mut FlushReport,
    ) -> Result<(), OutboxError> {
        let Some(started) = self
            .store
            .update_item(id, move |i| start(i, now))
            .await?
            .and_then(|change| change.after)
        else {
            return Ok(());
        };
        let verdict = match self.store.envelope(id).await? {
            Some(envelope) => classify(&self.transport.upload(id, &envelope).await),
            None => Verdict::Refused {
                reason: "the sealed envelope is no longer kept here".into(),
            },
        };
        let (at, wait) = self.answered(&verdict, started.attempts);
        let outcome = verdict.clone();
        let Some(change) = self
            .store
            .update_item(id, move |i| settle(i, outcome, at, wait))
            .await?
        else {
            return Ok(());
        };
        let item = change.current().clone();
        match &item.state {
            ItemState::Delivered { .. } if change.after.is_some() => {
                // Delivered is final: the envelope has no further use here.
                self.store.delete_envelope(id).await?;
            }
            ItemState::Cancelled { reason }
                if matches!(verdict, Verdict::Delivered | Verdict::Retry { .. }) =>
            {
                self.revoke_after_attempt(&item, reason).await?;
            }
            _ => {}
        }
        report.events.push(Event::Upload { item, verdict });
        Ok(())
    }

    /// An item was cancelled while this flush was sending it, and the answer says the server has
    /// it or may have it: make sure a revocation is sent after this answer. The withdrawal queued
    /// one; if another flush (another tab) already sent that one, perhaps before this upload was
    /// stored, queue another.
    async fn revoke_after_attempt(
        &self,
        item: &OutboxItem,
        reason: &str,
    ) -> Result<(), OutboxError> {
        let now = self.clock.now_ms();
        let purpose = item.scope.purpose.id();
        let first = ControlMessage::revocation_if_stored(&item.id, purpose, reason, "", now);
        match self.store.control(&first.id).await? {
            Some(queued) if queued.attempts == 0 && queued.state.is_pending() => {}
            None => {
                self.queue(first).await?;
            }
            Some(_) => {
                let salt = format!("after-attempt-{}", item.attempts);
                let again =
                    ControlMessage::revocation_if_stored(&item.id, purpose, reason, &salt, now);
                self.queue(again).await?;
            }
        }
        Ok(())
    }

    async fn send_control(
        &mut self,
        id: &str,
        now: f64,
        report: &mut FlushReport,
    ) -> Result<(), OutboxError> {
        let Some(message) = self.store.control(id).await? else {
            return Ok(());
        };
        if self.erasure_waits(&message).await? {
            return Ok(());
        }
        // A message stored before nonces existed gets its nonce now, in the same write that marks
        // it sent, so every attempt from this one on sends the same bytes.
        let random = self.random_nonce();
        let Some(started) = self
            .store
            .update_control(id, move |m| {
                if !m.has_nonce() {
                    m.set_nonce(&random);
                }
                start(m, now)
            })
            .await?
            .and_then(|change| change.after)
        else {
            return Ok(());
        };
        let answer = self.transport.control(&started).await;
        // Until the grace has passed, "unknown" may mean "not stored yet": an upload sent before
        // the withdrawal can still be committed by a server that received it (a lost answer, a
        // request still in its queue, another instance). Ask again when the grace ends.
        let mut ask_again_at = None;
        let verdict = match (classify(&answer), &started.kind, &answer) {
            (
                Verdict::Refused { .. },
                ControlKind::Revocation {
                    if_stored: true,
                    withdrawn_at_ms,
                    ..
                },
                Answer::Answered { status: 404, body },
            ) if retry::error_code(body).as_deref() == Some("unknown-artifact") => {
                let grace_ends = *withdrawn_at_ms as f64 + REVOCATION_GRACE_MS;
                if now < grace_ends {
                    ask_again_at = Some(grace_ends);
                    Verdict::Retry {
                        reason: "unknown-artifact: not stored yet, or not at all; asked again once an upload still on its way would have been stored".into(),
                    }
                } else {
                    Verdict::NothingToRevoke
                }
            }
            (verdict, ..) => verdict,
        };
        let (at, mut wait) = self.answered(&verdict, started.attempts);
        if let Some(t) = ask_again_at {
            wait = (t - at).max(0.0);
        }
        let outcome = verdict.clone();
        if let Some(change) = self
            .store
            .update_control(id, move |m| settle(m, outcome, at, wait))
            .await?
        {
            report.events.push(Event::Control {
                message: change.current().clone(),
                verdict,
            });
        }
        Ok(())
    }

    /// Whether `message` is an erasure that must wait: an older upload under one of its
    /// pseudonyms (same recipient and purpose) may still be sent (pending, or waiting for the
    /// device's enrolment). Sent first, the erasure would miss that artifact when it arrives.
    async fn erasure_waits(&self, message: &ControlMessage) -> Result<bool, OutboxError> {
        let ControlKind::Erasure { pseudonyms, .. } = &message.kind else {
            return Ok(false);
        };
        Ok(self.store.items().await?.iter().any(|item| {
            item.state.is_unsettled()
                && item.created_ms <= message.created_ms
                && pseudonyms
                    .iter()
                    .any(|p| p.recipient == item.recipient && p.purpose == item.scope.purpose.id())
        }))
    }

    /// When the answer came, and the backoff before the next attempt if it is to be retried.
    fn answered(&mut self, verdict: &Verdict, attempts: u32) -> (f64, f64) {
        let wait = match verdict {
            Verdict::Retry { .. } => backoff_ms(attempts, self.rng.get_mut()),
            _ => 0.0,
        };
        (self.clock.now_ms(), wait)
    }
}
