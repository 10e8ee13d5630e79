//! The reference server behind `veil serve`: the PWA, and the ingest API that verifies, stores
//! and answers for sealed artifact uploads.
//!
//! It serves the built PWA (`dist/`) with the headers an offline-first medical app needs: a strict
//! Content-Security-Policy (scripts only from this origin, `wasm-unsafe-eval` for WebAssembly, nothing
//! inline), no caching of the service worker script so updates are seen, and long caching for Trunk's
//! content-hashed assets. Unknown paths that look like app routes fall back to `index.html` so that deep
//! links (`/consent`) work on reload.
//!
//! Under `/v1` it is the receiving side of Veil's uploads, which trusts nothing it cannot verify
//! itself ([`verify`]): it opens each `VEIL-1` envelope with its recipient key, verifies the client
//! signature and content hashes, re-verifies every device reading against its own trust store,
//! checks the consent decision, and only then stores the envelope and the verified manifest
//! atomically ([`store`]), answering 201 with the artifact id (200 for a retry, 4xx JSON with a
//! stable code and nothing stored for anything unverifiable). The HTTP contract is in [`api`] and
//! `docs/ingest.md`.
//!
//! ```no_run
//! # async fn run() -> Result<(), veil_ingest::ServeError> {
//! let mut config = veil_ingest::ServerConfig::new(([127, 0, 0, 1], 8080).into(), "dist".into());
//! config.ingest.data_dir = "/var/lib/veil".into();
//! veil_ingest::serve(config).await
//! # }
//! ```

mod access;
pub mod api;
pub mod at_rest;
pub mod config;
pub mod control;
mod error;
pub mod keys;
pub mod passkeys;
pub mod quota;
pub mod reads;
mod recipient_page;
pub mod recipients;
pub mod store;
pub mod verify;
pub mod webauthn;

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

pub use api::{Ingest, api_router};
pub use config::{
    DatabaseLocation, IngestConfig, KeySource, Limits, ObjectStoreLocation, ServerConfig,
};
pub use error::{ApiError, ServeError};
pub use keys::KeyOrigin;
pub use store::{
    ArtifactRecord, ArtifactStore, ClientRecord, Committed, ControlAction, Enrolment, Invitation,
    UserRecord,
};
pub use veil_core::Coded;
pub use verify::{ArtifactVerifier, VerifiedUpload};

/// The Content-Security-Policy sent with every response (and mirrored by a meta tag in `index.html`).
///
/// No `unsafe-inline` and no `unsafe-eval`: the only relaxation is `wasm-unsafe-eval`, which lets the
/// page compile WebAssembly and nothing else.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; worker-src 'self' blob:; \
manifest-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// Build the router that serves `dist` with Veil's security headers (the PWA only, no API).
pub fn router(dist: &Path) -> Router {
    with_security_headers(Router::new().fallback_service(static_files(dist)))
}

/// Build the full server: the ingest API under `/v1` and the PWA everywhere else, all with Veil's
/// security headers, and the recipient users' page under `/recipient/` (passkey sign-in and reads).
/// Unknown `/v1/...` paths answer a JSON 404, never the app's `index.html`.
pub fn app(dist: &Path, ingest: Arc<Ingest>) -> Router {
    with_security_headers(
        Router::new()
            .nest("/v1", api_router(ingest))
            .merge(recipient_page::router())
            .fallback_service(static_files(dist)),
    )
}

fn static_files(dist: &Path) -> ServeDir<ServeFile> {
    let index = dist.join("index.html");
    ServeDir::new(dist)
        .append_index_html_on_directories(true)
        .fallback(ServeFile::new(index))
}

fn with_security_headers(router: Router) -> Router {
    router
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ))
        .layer(axum::middleware::map_response(cache_headers))
}

/// The service worker and `index.html` must always be revalidated so a new build is noticed; Trunk's
/// hashed assets never change under their name and may be cached for long.
async fn cache_headers(
    uri: axum::http::Uri,
    mut response: axum::response::Response,
) -> axum::response::Response {
    let path = uri.path();
    let value = if path.starts_with("/v1/") {
        // API answers (keys, delivery status) are never cached by the browser or its worker.
        "no-store"
    } else if path == "/sw.js" || path.ends_with(".html") || !path.contains('.') {
        "no-cache"
    } else if is_hashed_asset(path) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    response
}

/// Trunk names its outputs `name-<hash>.ext`, the hash a 64-bit number in hex.
fn is_hashed_asset(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    let stem = file.split('.').next().unwrap_or(file);
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    stem.rsplit_once('-')
        // Trunk writes the 64-bit hash in hex without leading zeros: up to 16 digits.
        .is_some_and(|(_, h)| {
            (12..=16).contains(&h.len()) && h.bytes().all(|b| b.is_ascii_hexdigit())
        })
}

/// Serve until Ctrl-C: open the ingest service (loading or generating the recipient key, whose kid
/// is printed, never the key), remove objects a crash left uncommitted, then print the URL once
/// listening.
pub async fn serve(config: ServerConfig) -> Result<(), ServeError> {
    if !config.dist.join("index.html").is_file() {
        return Err(ServeError::MissingDist(config.dist));
    }
    let mut ingest_config = config.ingest.clone();
    if ingest_config.public_origin.is_none() {
        ingest_config.public_origin = Some(format!("http://localhost:{}", config.addr.port()));
    }
    let (ingest, origin) = tokio::task::spawn_blocking(move || Ingest::open(&ingest_config))
        .await
        .map_err(|e| ServeError::Storage(format!("start-up task: {e}")))??;
    println!("Recipient key kid {} ({origin})", ingest.recipient_kid());
    if config.ingest.trust_roots.is_none() {
        println!(
            "No --trust roots: artifacts carrying device readings will be refused (untrusted-chain)"
        );
    }
    let swept = ingest
        .store()
        .sweep_orphans()
        .await
        .map_err(|e| ServeError::Storage(format!("{e:?}")))?;
    if swept > 0 {
        println!(
            "Removed {swept} abandoned staging object(s) left by interrupted uploads (older than the lease)"
        );
    }
    let database = ingest.store().database();
    println!(
        "Metadata in {} ({}); staging lease {} s, swept every quarter of it by one instance at a time",
        database.backend_name(),
        database.describe(),
        ingest.store().staging_lease().as_secs()
    );
    println!(
        "Recipient users sign in with passkeys at {}/recipient/ (relying party {})",
        ingest.relying_party().origins().join(", "),
        ingest.relying_party().id()
    );
    println!(
        "Reads are decided again under {}",
        match ingest.controller() {
            Some(j) => format!(
                "the subject's jurisdictions and the controller's ({})",
                j.code()
            ),
            None => "the subject's jurisdictions only (no --jurisdiction)".to_owned(),
        }
    );
    let sweeper = ingest.store().spawn_sweeper();
    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    let local = listener.local_addr()?;
    println!(
        "Veil is serving on http://{local}/ (data in {})",
        config.ingest.data_dir.display()
    );
    let app = app(&config.dist, Arc::new(ingest));
    serve_on(
        listener,
        app,
        config.ingest.limits.header_read_timeout,
        async {
            let _ = tokio::signal::ctrl_c().await;
        },
    )
    .await?;
    sweeper.abort();
    Ok(())
}

/// How long a graceful shutdown waits for requests in flight.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(30);

/// Serve `app` on `listener` (HTTP/1.1) until `shutdown` resolves, then let requests in flight
/// finish (up to 30 s). Unlike `axum::serve`, a connection that does not send a complete request
/// head within `header_read_timeout` is closed (hyper's timer), so slow clients cannot hold
/// connections open forever; request bodies are bounded by the API's own request timeout.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    app: Router,
    header_read_timeout: std::time::Duration,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::service::TowerToHyperService;

    let (close_tx, close_rx) = tokio::sync::watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                // Out of file descriptors and the like: back off instead of spinning.
                Err(_) => {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let mut closing = close_rx.clone();
        tokio::spawn(async move {
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new())
                .header_read_timeout(header_read_timeout);
            let conn = http
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = closing.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
            drop(closing);
        });
    }
    drop(listener);
    drop(close_rx);
    let _ = close_tx.send(());
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, close_tx.closed()).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    fn dist() -> tempdir::Dist {
        tempdir::Dist::new()
    }

    mod tempdir {
        use std::path::PathBuf;
        pub struct Dist(pub PathBuf);
        impl Dist {
            pub fn new() -> Self {
                let dir = std::env::temp_dir().join(format!(
                    "veil-ingest-test-{}-{:?}",
                    std::process::id(),
                    std::thread::current().id()
                ));
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(dir.join("index.html"), "<html>veil</html>").unwrap();
                std::fs::write(dir.join("app-0123456789abcdef.wasm"), b"\0asm").unwrap();
                std::fs::write(dir.join("sw.js"), "self").unwrap();
                Dist(dir)
            }
        }
        impl Drop for Dist {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    async fn get(dist: &std::path::Path, path: &str) -> axum::response::Response {
        router(dist)
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn every_response_carries_the_strict_csp() {
        let d = dist();
        for path in ["/", "/sw.js", "/app-0123456789abcdef.wasm", "/consent"] {
            let r = get(&d.0, path).await;
            let csp = r.headers()[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap();
            assert_eq!(csp, CONTENT_SECURITY_POLICY, "{path}");
            assert!(!csp.contains("unsafe-inline"));
            assert!(csp.contains("'wasm-unsafe-eval'"));
        }
    }

    #[tokio::test]
    async fn deep_links_fall_back_to_the_app() {
        let d = dist();
        let r = get(&d.0, "/audit").await;
        assert_eq!(r.status(), StatusCode::OK);
        let body = r.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"<html>veil</html>");
    }

    #[tokio::test]
    async fn service_worker_is_revalidated_and_hashed_assets_are_immutable() {
        let d = dist();
        let sw = get(&d.0, "/sw.js").await;
        assert_eq!(sw.headers()[header::CACHE_CONTROL], "no-cache");
        let wasm = get(&d.0, "/app-0123456789abcdef.wasm").await;
        assert!(
            wasm.headers()[header::CACHE_CONTROL]
                .to_str()
                .unwrap()
                .contains("immutable")
        );
    }

    #[test]
    fn hashed_asset_names() {
        assert!(is_hashed_asset("/veil-app-0123456789abcdef_bg.wasm"));
        assert!(is_hashed_asset("/app-0123456789abcdef.js"));
        assert!(is_hashed_asset("/veil-app-4a3ffc82379391b_bg.wasm"));
        assert!(!is_hashed_asset("/sw.js"));
        assert!(!is_hashed_asset("/manifest.webmanifest"));
    }

    #[tokio::test]
    async fn missing_dist_is_a_typed_error() {
        let err = serve(ServerConfig::new(
            "127.0.0.1:0".parse().unwrap(),
            "/nonexistent/veil".into(),
        ))
        .await
        .unwrap_err();
        assert_eq!(err.code(), "missing-dist");
    }
}
