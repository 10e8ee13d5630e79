//! The recipient users' page, `/recipient/`: a small HTML and JavaScript page (no framework, no
//! inline script or style, so the server's strict CSP holds) on which a person the operator added
//! with `veil admin users add --passkey` registers a passkey with their one-time code, signs in
//! with it, and lists and reads what their role and purposes allow through the same API, decision
//! and access log as service accounts (`crate::passkeys`, `/v1/reads/*`). The files are compiled
//! into the server, so it needs no `dist/` of its own.

use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;

const INDEX: &str = include_str!("recipient_page/index.html");
const SCRIPT: &str = include_str!("recipient_page/recipient.js");
const STYLE: &str = include_str!("recipient_page/recipient.css");

/// The page's routes.
pub(crate) fn router() -> Router {
    Router::new()
        .route(
            "/recipient",
            get(|| async { Redirect::permanent("/recipient/") }),
        )
        .route(
            "/recipient/",
            get(|| async { ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], INDEX) }),
        )
        .route(
            "/recipient/recipient.js",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
                    SCRIPT,
                )
                    .into_response()
            }),
        )
        .route(
            "/recipient/recipient.css",
            get(|| async { ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE) }),
        )
}
