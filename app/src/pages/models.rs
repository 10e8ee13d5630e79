//! The Models page.

use leptos::prelude::*;

/// Models: Open a 3D model (STL, OBJ or PLY). It is de-identified in this browser: metadata removed, scanner frame removed, face removed from head models, surface detail masked. A report shows how much the geometry changed before you download or send it.
#[component]
pub fn Models() -> impl IntoView {
    view! {
        <section aria-labelledby="models-title" data-testid="page-models">
            <h1 id="models-title">"Models"</h1>
            <p>"Open a 3D model (STL, OBJ or PLY). It is de-identified in this browser: metadata removed, scanner frame removed, face removed from head models, surface detail masked. A report shows how much the geometry changed before you download or send it."</p>
        </section>
    }
}
