//! A clinic kiosk's patient session ends by itself when nobody has used the kiosk for a while,
//! exactly as if staff had pressed "End patient session" (every patient store wiped, a clean start
//! page): a kiosk left alone must not keep one patient's consent, pseudonym and data for the next
//! person to act under. For the last part of the wait a warning counts down, with a button to go
//! on. The wait is the deployment's setting (Settings, `veil.config.kiosk-idle-seconds`, outside
//! the patient prefix so a wipe keeps it); only sessions started as kiosk sessions end this way.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;

use crate::error::AppError;
use crate::platform::patient;

/// Where the wait is kept, in seconds.
const KEY: &str = "veil.config.kiosk-idle-seconds";
/// The wait when none is set: ten minutes.
pub const DEFAULT_IDLE_SECS: u32 = 600;
/// The shortest wait accepted.
pub const MIN_IDLE_SECS: u32 = 20;
/// The longest wait accepted: four hours.
pub const MAX_IDLE_SECS: u32 = 4 * 3600;
/// What counts as someone using the kiosk (a pointer merely moving does not).
const ACTIVITY: [&str; 5] = ["pointerdown", "keydown", "wheel", "touchstart", "input"];

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// The wait set for this kiosk, in seconds (the default when none or an unusable one is set).
pub fn idle_limit_secs() -> u32 {
    local_storage()
        .and_then(|s| s.get_item(KEY).ok().flatten())
        .and_then(|v| v.trim().parse::<u32>().ok())
        .map_or(DEFAULT_IDLE_SECS, |s| s.clamp(MIN_IDLE_SECS, MAX_IDLE_SECS))
}

/// Keep the wait (clamped to the accepted range); `false` when the browser refused.
pub fn set_idle_limit_secs(secs: u32) -> bool {
    let secs = secs.clamp(MIN_IDLE_SECS, MAX_IDLE_SECS);
    local_storage().is_some_and(|s| s.set_item(KEY, &secs.to_string()).is_ok())
}

/// How long before the end the warning shows: a third of the wait, at most a minute.
fn warning_secs(limit: u32) -> u32 {
    (limit / 3).min(60)
}

/// What the watch does after `idle` seconds without activity under a wait of `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Nothing,
    Warn { left: u32 },
    End,
}

fn step(idle: f64, limit: u32) -> Step {
    let limit_f = f64::from(limit);
    if idle >= limit_f {
        Step::End
    } else if idle >= limit_f - f64::from(warning_secs(limit)) {
        // Whole seconds left, rounded up: the count never shows 0 before the end.
        Step::Warn {
            left: (limit_f - idle).ceil().max(1.0) as u32,
        }
    } else {
        Step::Nothing
    }
}

/// Whether the stored patient session is a kiosk session.
fn kiosk_session() -> bool {
    crate::patient_session::load().is_some_and(|s| s.kiosk_staff.is_some())
}

/// Watches for activity while the app runs and ends an idle kiosk session; shows the countdown.
#[component]
pub fn KioskIdle() -> impl IntoView {
    let last = Rc::new(Cell::new(js_sys::Date::now()));
    let left = RwSignal::new(None::<u32>);
    let problem = RwSignal::new(None::<AppError>);
    if let Some(window) = web_sys::window() {
        let seen = last.clone();
        let on_activity = Closure::<dyn Fn()>::new(move || seen.set(js_sys::Date::now()));
        for kind in ACTIVITY {
            // Capture phase: a page that stops an event's propagation still counts as used.
            let _ = window.add_event_listener_with_callback_and_bool(
                kind,
                on_activity.as_ref().unchecked_ref(),
                true,
            );
        }
        // The listeners live as long as the app.
        on_activity.forget();
    }
    let ending = Rc::new(Cell::new(false));
    let tick = move || {
        if ending.get() {
            return;
        }
        let idle = (js_sys::Date::now() - last.get()) / 1000.0;
        // The session is read only once the wait is nearly over, not every second.
        match step(idle, idle_limit_secs()) {
            Step::Nothing => left.set(None),
            _ if !kiosk_session() => left.set(None),
            Step::Warn { left: s } => left.set(Some(s)),
            Step::End => {
                ending.set(true);
                let ending = ending.clone();
                spawn_local(async move {
                    if let Err(e) = patient::end_kiosk_session().await {
                        ending.set(false);
                        problem.set(Some(e.context("The idle kiosk session could not be wiped")));
                    }
                });
            }
        }
    };
    // The interval lives as long as the app; its handle is never cleared.
    let _ = set_interval_with_handle(tick, Duration::from_secs(1));
    let go_on = move |_| left.set(None);
    view! {
        {move || left.get().map(|s| view! {
            <div class="update-prompt kiosk-idle" role="alertdialog" aria-labelledby="kiosk-idle-text"
                data-testid="kiosk-idle" data-left=s>
                <span id="kiosk-idle-text" aria-live="assertive">
                    {format!("Nobody has used this kiosk for a while. The patient session ends in {s} s, and everything about this patient will be removed from this device.")}
                </span>
                <button type="button" data-testid="kiosk-idle-continue" on:click=go_on>
                    "Continue the session"
                </button>
            </div>
        })}
        {move || problem.get().map(|e| view! {
            <div class="update-prompt" role="alert" data-testid="kiosk-idle-problem">
                <crate::components::ErrorText error=e/>
            </div>
        })}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn the_warning_takes_the_last_third_of_the_wait_and_at_most_a_minute() {
        assert_eq!(step(0.0, 600), Step::Nothing);
        assert_eq!(step(539.9, 600), Step::Nothing);
        assert_eq!(step(540.0, 600), Step::Warn { left: 60 });
        assert_eq!(step(599.2, 600), Step::Warn { left: 1 });
        assert_eq!(step(600.0, 600), Step::End);
        assert_eq!(step(13.0, 20), Step::Nothing);
        assert_eq!(step(14.0, 20), Step::Warn { left: 6 });
        assert_eq!(step(25.0, 20), Step::End);
    }
}
