//! The Devices page: pair Bluetooth health devices, see who certified them, take readings and
//! see each one's verdict.
//!
//! Components only; the exchange with a device is in [`session`] (and, for standard devices,
//! [`standard`]), verification and decoding in `veil-trust`, persistence (counters, verified
//! readings, trust store) in `platform::storage`. Browsers without Web Bluetooth get an
//! explanation and the file import of [`import`].

pub(crate) mod format;
mod import;
mod session;
mod standard;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::components::ErrorText;
use import::{ImportReadings, ImportedRow};
use session::{Connection, PairedDevice, ReadingRow, Trust};
use standard::DeviceInfo;

/// The paired devices of this app session, kept outside the page so that they stay paired and
/// connected (with their readings) while the person visits other pages, e.g. Settings to trust
/// a manufacturer.
#[derive(Clone)]
struct Registry {
    /// Owns every device's signals; a child of the app's root owner, never cleaned up.
    owner: Owner,
    devices: RwSignal<Vec<PairedDevice>>,
    /// Readings imported from files (UNVERIFIED).
    imported: RwSignal<Vec<ImportedRow>>,
}

thread_local! {
    static REGISTRY: std::cell::OnceCell<Registry> = const { std::cell::OnceCell::new() };
}

fn registry() -> Registry {
    REGISTRY.with(|cell| {
        cell.get_or_init(|| {
            // A child of the root owner: route changes clean up the pages' owners, not this one.
            let mut root = Owner::current();
            while let Some(parent) = root.as_ref().and_then(Owner::parent) {
                root = Some(parent);
            }
            let owner = root.map(|r| r.child()).unwrap_or_default();
            let (devices, imported) =
                owner.with(|| (RwSignal::new(Vec::new()), RwSignal::new(Vec::new())));
            Registry {
                owner,
                devices,
                imported,
            }
        })
        .clone()
    })
}

/// Devices: pair cuffs, thermometers and oximeters over Bluetooth, check each device's
/// manufacturer certificate, and verify every reading in this browser.
#[component]
pub fn Devices() -> impl IntoView {
    let Registry {
        owner,
        devices,
        imported,
    } = registry();
    let bluetooth = crate::platform::bluetooth::bluetooth().is_ok();
    let remove = Callback::new(move |id: String| {
        devices.update(|list| {
            if let Some(pos) = list.iter().position(|d| d.id.get_value() == id) {
                list.remove(pos).forget();
            }
        });
    });
    view! {
        <section aria-labelledby="devices-title" data-testid="page-devices">
            <h1 id="devices-title">"Devices"</h1>
            <p>"Pair blood-pressure cuffs, thermometers and oximeters over Bluetooth. Each device's manufacturer certificate is checked here, every reading's signature and freshness are verified in this browser, and each reading is marked verified, unverified or rejected with the reason."</p>
            <Show when=move || !bluetooth>
                <div class="card notice" role="note" data-testid="no-bluetooth">
                    <p><strong>"This browser cannot talk to Bluetooth devices."</strong>" Web Bluetooth is offered by Chrome, Edge and Opera on computers and Android; Firefox, Safari and every browser on iPhone and iPad do not have it."</p>
                    <p>"You can open Veil in one of those browsers to pair a device, or import the readings file your device's own app exports, below. Imported readings are marked UNVERIFIED."</p>
                </div>
            </Show>
            <PairButton devices=devices owner=owner/>
            <Show when=move || devices.with(Vec::is_empty)>
                <p class="empty" data-testid="device-empty">"No device paired yet."</p>
            </Show>
            <ul class="device-list" data-testid="device-list">
                <For each=move || devices.get() key=|d| d.id.get_value() let:device>
                    <DeviceCard device=device on_remove=remove/>
                </For>
            </ul>
            <ImportReadings rows=imported/>
        </section>
    }
}

/// The Pair button. `requestDevice` is called synchronously in the click handler (it needs the
/// click's user activation); the chosen device is then connected and identified.
#[component]
fn PairButton(
    /// The paired devices; a newly chosen one is added (or, if already there, identified again).
    devices: RwSignal<Vec<PairedDevice>>,
    /// The owner a new device's signals are created under.
    owner: Owner,
) -> impl IntoView {
    let status = RwSignal::new(None::<String>);
    let on_click = move |_| {
        let promise = match session::request() {
            Ok(p) => p,
            Err(e) => {
                status.set(Some(e.to_string()));
                return;
            }
        };
        status.set(Some("Choose a device in the browser's list…".into()));
        let owner = owner.clone();
        spawn_local(async move {
            let device = match promise.await {
                Ok(d) => d,
                Err(e) => {
                    let e = crate::platform::bluetooth::BluetoothError::from(e);
                    status.set(Some(if e.is_cancelled() {
                        "No device chosen.".into()
                    } else {
                        e.to_string()
                    }));
                    return;
                }
            };
            status.set(None);
            let id = device.id();
            let existing = devices
                .with_untracked(|list| list.iter().copied().find(|d| d.id.get_value() == id));
            let entry = match existing {
                Some(entry) => entry,
                None => {
                    let entry = owner.with(|| PairedDevice::new(device));
                    devices.update(|list| list.push(entry));
                    entry
                }
            };
            entry.setup().await;
        });
    };
    view! {
        <div class="pair">
            <button type="button" class="primary" data-testid="device-pair" on:click=on_click>
                "Pair a device"
            </button>
            <p class="pair-status" role="status" aria-live="polite" data-testid="pair-status">
                {move || status.get().unwrap_or_default()}
            </p>
        </div>
    }
}

/// One paired device: name, connection, identity or why it is not trusted, actions, readings.
#[component]
fn DeviceCard(
    /// The device.
    device: PairedDevice,
    /// Called with the device id when the person removes it.
    on_remove: Callback<String>,
) -> impl IntoView {
    let id = device.id.get_value();
    let readable = move || {
        !device.busy.get()
            && matches!(
                device.trust.get(),
                Trust::Trusted(_) | Trust::Untrusted { .. }
            )
    };
    let standard = move || device.trust.get() == Trust::StandardOnly;
    let on_fetch = move |_| spawn_local(device.fetch_records());
    let on_read = move |_| spawn_local(device.take_reading());
    let on_reconnect = move |_| spawn_local(device.reconnect());
    let remove_id = id.clone();
    view! {
        <li class="card device-card" data-testid="device-card" data-device-id=id
            aria-busy=move || device.busy.get().to_string()>
            <div class="device-head">
                <h2 data-testid="device-name">{move || device.name.get()}</h2>
                <ConnectionBadge connection=device.connection/>
            </div>
            <TrustPanel trust=device.trust/>
            <Show when=standard>
                <StandardPanel device=device/>
            </Show>
            <div class="device-actions">
                <Show when=move || !standard()>
                    <button type="button" class="primary" data-testid="device-read"
                        disabled=move || !readable() on:click=on_read>
                        "Take a reading"
                    </button>
                </Show>
                <Show when=move || standard() && device.storage.get()>
                    <button type="button" data-testid="device-fetch-records"
                        disabled=move || device.busy.get() || device.connection.get() != Connection::Connected
                        on:click=on_fetch>
                        "Fetch stored records"
                    </button>
                </Show>
                <Show when=move || device.connection.get() == Connection::Disconnected>
                    <button type="button" data-testid="device-reconnect" on:click=on_reconnect>"Reconnect"</button>
                </Show>
                <button type="button" data-testid="device-remove"
                    on:click=move |_| on_remove.run(remove_id.clone())>
                    "Remove"
                </button>
            </div>
            <Show when=move || device.problem.with(Option::is_some)>
                <p class="problem" role="alert" data-testid="device-problem"
                    data-code=move || device.problem.with(|p| p.as_ref().map(|e| e.code))>
                    {move || device.problem.get().map(|error| view! { <ErrorText error/> })}
                </p>
            </Show>
            <ReadingList readings=device.readings/>
        </li>
    }
}

/// A standard device: what it says about itself (unverified), its clock, what the page listens
/// to, the live value and the stored-records transfer.
#[component]
fn StandardPanel(
    /// The device.
    device: PairedDevice,
) -> impl IntoView {
    let subscribed = move || {
        device
            .subscribed
            .get()
            .iter()
            .map(|c| format!("0x{c:04X}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    view! {
        <div class="standard" data-testid="device-standard" data-subscribed=subscribed>
            {move || device.info.get().map(|info| view! { <StandardIdentity info/> })}
            <p class="hint" data-testid="device-waiting">
                "Readings arrive here when you measure on the device (it sends them; there is nothing to press)."
            </p>
            <Show when=move || device.live.with(Option::is_some)>
                <p class="live" role="status" aria-live="polite" data-testid="device-live">
                    "Measuring: "{move || device.live.get().unwrap_or_default()}
                </p>
            </Show>
            <Show when=move || device.records.with(Option::is_some)>
                <p class="records" role="status" data-testid="device-records">
                    {move || device.records.get().unwrap_or_default()}
                </p>
            </Show>
        </div>
    }
}

/// What a standard device's Device Information says: shown as its own claim, unverified.
#[component]
fn StandardIdentity(
    /// The information read.
    info: DeviceInfo,
) -> impl IntoView {
    let (time_state, time_text) = info.time.label();
    let strings = info.strings.clone();
    let test_id = |label: &str| format!("device-info-{}", label.to_lowercase());
    view! {
        <dl class="identity unverified" data-testid="device-info" data-verified="false">
            <dt>"Kind"</dt><dd data-testid="device-info-kind">{info.kind}</dd>
            {strings.into_iter().map(|(label, value)| view! {
                <dt>{label}" (as the device states it, unverified)"</dt>
                <dd data-testid=test_id(label)>{value}</dd>
            }).collect_view()}
            {info.features.map(|f| view! { <dt>"Supports"</dt><dd data-testid="device-info-features">{f}</dd> })}
            <dt>"Clock"</dt><dd data-testid="device-time" data-state=time_state>{time_text}</dd>
        </dl>
    }
}

/// The connection state, announced politely.
#[component]
fn ConnectionBadge(
    /// The connection to show.
    connection: RwSignal<Connection>,
) -> impl IntoView {
    view! {
        <p class="connection" role="status" aria-live="polite" data-testid="device-connection"
            data-state=move || connection.get().label().0>
            {move || connection.get().label().1}
        </p>
    }
}

/// What a rejection code means for a device at pairing, in words.
fn untrusted_reason(code: &str) -> &'static str {
    match code {
        "untrusted-chain" => {
            "Its certificate does not lead to a manufacturer you trust (see Settings)."
        }
        "expired-certificate" => "Its certificate is expired or not yet valid.",
        "revoked" => "Its certificate has been revoked.",
        "unsupported-algorithm" => "Its certificate uses an algorithm Veil does not accept.",
        _ => "Its certificate chain could not be read.",
    }
}

/// The device's identity, as its manufacturer's certificate chain proves it, or why not.
#[component]
fn TrustPanel(
    /// What the chain says.
    trust: RwSignal<Trust>,
) -> impl IntoView {
    move || {
        match trust.get() {
        Trust::Checking => view! {
            <p class="trust" data-testid="device-trust" data-state="checking">"Checking the device's certificate…"</p>
        }
        .into_any(),
        Trust::Trusted(id) => view! { <Identity identity=id/> }.into_any(),
        Trust::Untrusted { code, detail } => view! {
            <div class="trust untrusted" data-testid="device-trust" data-state="untrusted" data-reason=code>
                <p><strong>"Not trusted. "</strong>{untrusted_reason(code)}</p>
                <p class="detail" data-testid="device-untrusted-reason">{format!("{code}: {detail}")}</p>
                <p>"Its readings will be rejected."</p>
            </div>
        }
        .into_any(),
        Trust::StandardOnly => view! {
            <p class="trust standard" data-testid="device-trust" data-state="standard">
                "Standard Bluetooth device without a manufacturer certificate: nothing proves who made it or its readings. Its identity below is what it says about itself, and its readings are shown as UNVERIFIED, never treated as verified."
            </p>
        }
        .into_any(),
        Trust::Unsupported => view! {
            <p class="trust untrusted" data-testid="device-trust" data-state="unsupported">
                "This device offers no measurement Veil can read."
            </p>
        }
        .into_any(),
    }
    }
}

/// A verified device identity.
#[component]
fn Identity(
    /// The identity from the validated chain.
    identity: veil_trust::DeviceIdentity,
) -> impl IntoView {
    let validity = format!(
        "{} to {}",
        format::unix_time(identity.not_before),
        format::unix_time(identity.not_after)
    );
    view! {
        <div class="trust trusted" data-testid="device-trust" data-state="trusted">
            <p><strong>"Certified device."</strong>" Its manufacturer's certificate chain checks out."</p>
            <dl class="identity" data-testid="device-identity">
                <dt>"Manufacturer"</dt><dd data-testid="device-manufacturer">{identity.manufacturer}</dd>
                <dt>"Model"</dt><dd data-testid="device-model">{identity.model.unwrap_or_else(|| "not stated".into())}</dd>
                <dt>"Serial"</dt><dd data-testid="device-serial">{identity.serial}</dd>
                <dt>"Certificate fingerprint (SHA-256)"</dt>
                <dd class="fingerprint" data-testid="device-fingerprint" data-fingerprint=identity.fingerprint.clone()>
                    {format::fingerprint(&identity.fingerprint)}
                </dd>
                <dt>"Valid"</dt><dd data-testid="device-validity">{validity}</dd>
            </dl>
        </div>
    }
}

/// The readings taken from one device, newest first, each with its badge.
#[component]
fn ReadingList(
    /// The rows.
    readings: RwSignal<Vec<ReadingRow>>,
) -> impl IntoView {
    view! {
        <Show when=move || readings.with(|r| !r.is_empty())>
            <table class="readings" data-testid="reading-list">
                <thead><tr><th scope="col">"Status"</th><th scope="col">"Reading"</th><th scope="col">"Details"</th><th scope="col">"Taken"</th></tr></thead>
                <tbody>
                    <For each=move || readings.get() key=|r| r.seq let:row>
                        <ReadingItem row=row/>
                    </For>
                </tbody>
            </table>
        </Show>
    }
}

/// One reading row.
#[component]
fn ReadingItem(
    /// The reading.
    row: ReadingRow,
) -> impl IntoView {
    let class = format!("badge {}", row.verdict.class());
    view! {
        <tr data-testid="reading" data-status=row.verdict.class() data-reason=row.verdict.reason()
            data-counter=row.counter.map(|c| c.to_string()).unwrap_or_default()>
            <td><span class=class data-testid="reading-badge">{row.verdict.badge()}</span></td>
            <td data-testid="reading-value">{row.headline}</td>
            <td class="detail" data-testid="reading-detail">{row.detail}</td>
            <td>{row.taken_at}</td>
        </tr>
    }
}
