//! The reference server behind `veil serve`.
//!
//! It serves the built PWA (`dist/`) with the headers an offline-first medical app needs: a strict
//! Content-Security-Policy (scripts only from this origin, `wasm-unsafe-eval` for WebAssembly, nothing
//! inline), no caching of the service worker script so updates are seen, and long caching for Trunk's
//! content-hashed assets. Unknown paths that look like app routes fall back to `index.html` so that deep
//! links (`/consent`) work on reload.
#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

/// The Content-Security-Policy sent with every response (and mirrored by a meta tag in `index.html`).
///
/// No `unsafe-inline` and no `unsafe-eval`: the only relaxation is `wasm-unsafe-eval`, which lets the
/// page compile WebAssembly and nothing else.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; worker-src 'self' blob:; \
manifest-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// How the server is configured.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to bind, e.g. `127.0.0.1:8080`.
    pub addr: SocketAddr,
    /// The built PWA to serve (`dist/`).
    pub dist: PathBuf,
}

/// Errors starting or running the server.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The directory with the built app has no `index.html`.
    #[error("no built app at {0}: run `cargo xtask serve` (or `trunk build`) first")]
    MissingDist(PathBuf),
    /// Binding or serving failed.
    #[error("server i/o: {0}")]
    Io(#[from] std::io::Error),
}

impl ServeError {
    /// A stable machine-readable code for this error.
    pub fn code(&self) -> &'static str {
        match self {
            ServeError::MissingDist(_) => "missing-dist",
            ServeError::Io(_) => "io",
        }
    }
}

/// Build the router that serves `dist` with Veil's security headers.
pub fn router(dist: &Path) -> Router {
    let index = dist.join("index.html");
    let static_files = ServeDir::new(dist)
        .append_index_html_on_directories(true)
        .fallback(ServeFile::new(index));
    Router::new()
        .fallback_service(static_files)
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
    let value = if path == "/sw.js" || path.ends_with(".html") || !path.contains('.') {
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

/// Trunk names its outputs `name-<16 hex>.ext`.
fn is_hashed_asset(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    let stem = file.split('.').next().unwrap_or(file);
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    stem.rsplit_once('-')
        .is_some_and(|(_, h)| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Serve until Ctrl-C. Prints the URL once listening.
pub async fn serve(config: ServerConfig) -> Result<(), ServeError> {
    if !config.dist.join("index.html").is_file() {
        return Err(ServeError::MissingDist(config.dist));
    }
    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    let local = listener.local_addr()?;
    println!("Veil is serving on http://{local}/");
    axum::serve(listener, router(&config.dist))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
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
            let csp = r.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
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
        assert!(!is_hashed_asset("/sw.js"));
        assert!(!is_hashed_asset("/manifest.webmanifest"));
    }

    #[tokio::test]
    async fn missing_dist_is_a_typed_error() {
        let err = serve(ServerConfig {
            addr: "127.0.0.1:0".parse().unwrap(),
            dist: "/nonexistent/veil".into(),
        })
        .await
        .unwrap_err();
        assert_eq!(err.code(), "missing-dist");
    }
}
