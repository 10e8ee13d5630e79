//! Where the outbox keeps its entries: the [`OutboxStore`] trait, and [`MemoryStore`].
//!
//! Three collections keyed by id: items ([`OutboxItem`]), their envelopes (opaque to the outbox:
//! bytes, or a browser `Uint8Array` that never has to be copied into wasm memory), and control
//! messages ([`ControlMessage`]). Entries only change through [`OutboxStore::update_item`] and
//! [`OutboxStore::update_control`], which read, change and write one entry atomically (one
//! IndexedDB transaction in the browser): a flush marking an item `uploading` and a withdrawal
//! cancelling it cannot both win, whatever the interleaving of their awaits.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::control::ControlMessage;
use crate::error::StoreError;
use crate::item::OutboxItem;

/// The result of an atomic update: the entry before, and after if it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Change<T> {
    /// The entry as it was read.
    pub before: T,
    /// The entry as written, when the change applied.
    pub after: Option<T>,
}

impl<T> Change<T> {
    /// The entry as it is now in the store.
    pub fn current(&self) -> &T {
        self.after.as_ref().unwrap_or(&self.before)
    }
}

/// Persistence for the outbox. Single-threaded callers (a browser page): the futures need not be
/// `Send`.
#[allow(async_fn_in_trait)]
pub trait OutboxStore {
    /// An envelope as the store keeps it.
    type Envelope;

    /// Every item, in no particular order. Entries that no longer parse may be skipped.
    async fn items(&self) -> Result<Vec<OutboxItem>, StoreError>;
    /// One item.
    async fn item(&self, id: &str) -> Result<Option<OutboxItem>, StoreError>;
    /// Add `item` unless an item with its id exists; whether it was added.
    async fn insert_item(&self, item: &OutboxItem) -> Result<bool, StoreError>;
    /// Read item `id`, let `change` modify it, and write it back if `change` returns `true`, as one
    /// atomic step. `None` if there is no such item (`change` is not called).
    async fn update_item<F>(
        &self,
        id: &str,
        change: F,
    ) -> Result<Option<Change<OutboxItem>>, StoreError>
    where
        F: FnOnce(&mut OutboxItem) -> bool + 'static;

    /// The envelope of item `id`.
    async fn envelope(&self, id: &str) -> Result<Option<Self::Envelope>, StoreError>;
    /// Keep the envelope of item `id`.
    async fn put_envelope(&self, id: &str, envelope: Self::Envelope) -> Result<(), StoreError>;
    /// Drop the envelope of item `id` (missing is not an error).
    async fn delete_envelope(&self, id: &str) -> Result<(), StoreError>;

    /// Every control message, in no particular order.
    async fn controls(&self) -> Result<Vec<ControlMessage>, StoreError>;
    /// One control message.
    async fn control(&self, id: &str) -> Result<Option<ControlMessage>, StoreError>;
    /// Add `message` unless one with its id exists; whether it was added.
    async fn insert_control(&self, message: &ControlMessage) -> Result<bool, StoreError>;
    /// [`OutboxStore::update_item`] for control messages.
    async fn update_control<F>(
        &self,
        id: &str,
        change: F,
    ) -> Result<Option<Change<ControlMessage>>, StoreError>
    where
        F: FnOnce(&mut ControlMessage) -> bool + 'static;
}

#[derive(Debug, Default)]
struct Entries {
    items: BTreeMap<String, OutboxItem>,
    envelopes: BTreeMap<String, Vec<u8>>,
    controls: BTreeMap<String, ControlMessage>,
}

/// An outbox store in memory. Clones share the same entries, so an outbox dropped mid-flush and
/// rebuilt over a clone sees what the first one left, as after a page reload.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    entries: Arc<Mutex<Entries>>,
}

impl MemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Entries> {
        // A panic elsewhere cannot leave an entry half-written: every change is one assignment.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn update<T: Clone>(
    map: &mut BTreeMap<String, T>,
    id: &str,
    change: impl FnOnce(&mut T) -> bool,
) -> Option<Change<T>> {
    let entry = map.get_mut(id)?;
    let before = entry.clone();
    let mut next = before.clone();
    let after = change(&mut next).then(|| {
        *entry = next.clone();
        next
    });
    Some(Change { before, after })
}

fn insert<T: Clone>(map: &mut BTreeMap<String, T>, id: &str, value: &T) -> bool {
    if map.contains_key(id) {
        return false;
    }
    map.insert(id.to_owned(), value.clone());
    true
}

impl OutboxStore for MemoryStore {
    type Envelope = Vec<u8>;

    async fn items(&self) -> Result<Vec<OutboxItem>, StoreError> {
        Ok(self.lock().items.values().cloned().collect())
    }

    async fn item(&self, id: &str) -> Result<Option<OutboxItem>, StoreError> {
        Ok(self.lock().items.get(id).cloned())
    }

    async fn insert_item(&self, item: &OutboxItem) -> Result<bool, StoreError> {
        Ok(insert(&mut self.lock().items, &item.id, item))
    }

    async fn update_item<F>(
        &self,
        id: &str,
        change: F,
    ) -> Result<Option<Change<OutboxItem>>, StoreError>
    where
        F: FnOnce(&mut OutboxItem) -> bool + 'static,
    {
        Ok(update(&mut self.lock().items, id, change))
    }

    async fn envelope(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.lock().envelopes.get(id).cloned())
    }

    async fn put_envelope(&self, id: &str, envelope: Vec<u8>) -> Result<(), StoreError> {
        self.lock().envelopes.insert(id.to_owned(), envelope);
        Ok(())
    }

    async fn delete_envelope(&self, id: &str) -> Result<(), StoreError> {
        self.lock().envelopes.remove(id);
        Ok(())
    }

    async fn controls(&self) -> Result<Vec<ControlMessage>, StoreError> {
        Ok(self.lock().controls.values().cloned().collect())
    }

    async fn control(&self, id: &str) -> Result<Option<ControlMessage>, StoreError> {
        Ok(self.lock().controls.get(id).cloned())
    }

    async fn insert_control(&self, message: &ControlMessage) -> Result<bool, StoreError> {
        Ok(insert(&mut self.lock().controls, &message.id, message))
    }

    async fn update_control<F>(
        &self,
        id: &str,
        change: F,
    ) -> Result<Option<Change<ControlMessage>>, StoreError>
    where
        F: FnOnce(&mut ControlMessage) -> bool + 'static,
    {
        Ok(update(&mut self.lock().controls, id, change))
    }
}
