//! Settings section: how long a clinic kiosk may stay unused before its patient session ends by
//! itself ([`crate::kiosk_idle`]). The deployment's setting, not a patient's: a wipe keeps it.

use leptos::prelude::*;

use crate::kiosk_idle::{MAX_IDLE_SECS, MIN_IDLE_SECS, idle_limit_secs, set_idle_limit_secs};

/// "Clinic kiosk": the idle wait, in minutes.
#[component]
pub fn KioskIdleSetting() -> impl IntoView {
    let minutes = RwSignal::new((idle_limit_secs() / 60).max(1).to_string());
    let status = RwSignal::new(None::<(bool, String)>);
    let save = move |_| {
        let text = minutes.get_untracked();
        let max = MAX_IDLE_SECS / 60;
        status.set(Some(match text.trim().parse::<u32>() {
            Ok(m) if (1..=max).contains(&m) => {
                if set_idle_limit_secs((m * 60).max(MIN_IDLE_SECS)) {
                    (
                        true,
                        format!("Saved: a kiosk patient session ends after {m} min without use."),
                    )
                } else {
                    (
                        false,
                        "The browser did not keep the setting (private mode or full storage)."
                            .into(),
                    )
                }
            }
            _ => (
                false,
                format!("Enter a whole number of minutes from 1 to {max}."),
            ),
        }));
    };
    view! {
        <section class="card" aria-labelledby="kiosk-idle-title" data-testid="kiosk-idle-setting">
            <h2 id="kiosk-idle-title">"Clinic kiosk"</h2>
            <p>"A kiosk patient session ends by itself when nobody has used the kiosk for this long, as if staff had ended it: everything about the patient is removed from this device. A warning counts down first."</p>
            <label for="kiosk-idle-minutes">"Minutes without use"</label>
            " "
            <input id="kiosk-idle-minutes" data-testid="kiosk-idle-minutes" type="number" min="1"
                max=MAX_IDLE_SECS / 60 step="1" inputmode="numeric"
                prop:value=move || minutes.get()
                on:input=move |ev| minutes.set(event_target_value(&ev))/>
            " "
            <button type="button" data-testid="kiosk-idle-save" on:click=save>"Save"</button>
            {move || status.get().map(|(ok, text)| view! {
                <p role="status" data-testid="kiosk-idle-status" data-state=if ok { "ok" } else { "error" }>{text}</p>
            })}
        </section>
    }
}
