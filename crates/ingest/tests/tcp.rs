//! The upload path over real TCP on 127.0.0.1, for what only a real connection shows: an
//! oversized upload gets its 413 (not a connection reset the client would retry forever), a
//! connection cut mid-upload stores nothing and the retry is stored once, a client that never
//! finishes its headers is disconnected, and shutdown waits for requests in flight.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use veil_ingest::Limits;

const LIMIT: usize = 64 * 1024;

fn head(addr: std::net::SocketAddr, key: &str, framing: &str) -> String {
    format!(
        "POST /v1/artifacts HTTP/1.1\r\nHost: {addr}\r\nIdempotency-Key: {key}\r\n{framing}\r\nConnection: close\r\n\r\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_upload_gets_its_413_over_a_real_connection() {
    let f = Fixture::with_limits(Limits {
        max_body: LIMIT,
        ..Limits::default()
    });
    let (addr, server) = serve_on_loopback(f.app()).await;
    // Far more than loopback socket buffers absorb: without draining, the client would see a reset.
    let body = pattern(512 * LIMIT);
    let key = id_of(&body);

    // Declared length over the limit, body sent in full.
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(head(addr, &key, &format!("Content-Length: {}", body.len())).as_bytes())
        .await
        .unwrap();
    s.write_all(&body).await.unwrap();
    let mut response = vec![];
    s.read_to_end(&mut response).await.unwrap();
    let (status, json) = parse_response(&response);
    assert_eq!(
        (status, json["error"].as_str()),
        (413, Some("body-too-large")),
        "{json}"
    );

    // Chunked, no declared length: the limit holds while streaming.
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(head(addr, &key, "Transfer-Encoding: chunked").as_bytes())
        .await
        .unwrap();
    for chunk in body.chunks(8192) {
        s.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .await
            .unwrap();
        s.write_all(chunk).await.unwrap();
        s.write_all(b"\r\n").await.unwrap();
    }
    s.write_all(b"0\r\n\r\n").await.unwrap();
    let mut response = vec![];
    s.read_to_end(&mut response).await.unwrap();
    let (status, json) = parse_response(&response);
    assert_eq!(
        (status, json["error"].as_str()),
        (413, Some("body-too-large")),
        "{json}"
    );

    assert_eq!(f.stored().await, (0, vec![]));
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_cut_mid_upload_stores_nothing_and_the_retry_is_stored_once() {
    let f = Fixture::new();
    let (addr, server) = serve_on_loopback(f.app()).await;
    let envelope = f.seal(f.signed(vec![f.reading(1)], 256 * 1024));
    let key = id_of(&envelope);

    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(head(addr, &key, &format!("Content-Length: {}", envelope.len())).as_bytes())
        .await
        .unwrap();
    s.write_all(&envelope[..envelope.len() / 2]).await.unwrap();
    drop(s);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(f.stored().await, (0, vec![]));

    for expected in [201, 200] {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(head(addr, &key, &format!("Content-Length: {}", envelope.len())).as_bytes())
            .await
            .unwrap();
        s.write_all(&envelope).await.unwrap();
        let mut response = vec![];
        s.read_to_end(&mut response).await.unwrap();
        let (status, json) = parse_response(&response);
        assert_eq!(status, expected, "{json}");
        assert_eq!(json["id"], key);
    }
    assert_eq!(f.stored().await.0, 1);
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let f = Fixture::new();
    let (addr, server) = serve_with_header_timeout(f.app(), Duration::from_millis(500)).await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"POST /v1/artifacts HTTP/1.1\r\nHost: x\r\nIdempotency-Key: ")
        .await
        .unwrap();
    let mut rest = vec![];
    let closed = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut rest)).await;
    assert!(
        closed.is_ok(),
        "the server kept a header-less connection open"
    );
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_the_upload_in_flight_finish() {
    let f = Fixture::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(veil_ingest::serve_on(
        listener,
        f.app(),
        Duration::from_secs(5),
        async {
            let _ = stop_rx.await;
        },
    ));
    let envelope = f.envelope(1);
    let key = id_of(&envelope);
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(head(addr, &key, &format!("Content-Length: {}", envelope.len())).as_bytes())
        .await
        .unwrap();
    s.write_all(&envelope[..10]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop_tx.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    s.write_all(&envelope[10..]).await.unwrap();
    let mut response = vec![];
    s.read_to_end(&mut response).await.unwrap();
    assert_eq!(parse_response(&response).0, 201);
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(f.stored().await.0, 1);
}

/// Issue #14 (6): connections that send their headers and then stall their bodies must not hold
/// the upload slots; a complete upload arriving meanwhile is served at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_bodies_do_not_hold_the_upload_slots() {
    const SLOTS: usize = 2;
    let f = Fixture::with_limits(Limits {
        max_concurrent_uploads: SLOTS,
        ..Limits::default()
    });
    let (addr, server) = serve_on_loopback(f.app()).await;
    let mut stalled = Vec::new();
    for ctr in 0..SLOTS as u64 {
        let envelope = f.envelope(100 + ctr);
        let mut s = TcpStream::connect(addr).await.unwrap();
        let framing = format!("Content-Length: {}", envelope.len());
        s.write_all(head(addr, &id_of(&envelope), &framing).as_bytes())
            .await
            .unwrap();
        s.write_all(&envelope[..10]).await.unwrap();
        stalled.push(s);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    let envelope = f.envelope(1);
    let key = id_of(&envelope);
    let upload = async {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let framing = format!("Content-Length: {}", envelope.len());
        s.write_all(head(addr, &key, &framing).as_bytes())
            .await
            .unwrap();
        s.write_all(&envelope).await.unwrap();
        let mut response = vec![];
        s.read_to_end(&mut response).await.unwrap();
        parse_response(&response)
    };
    let (status, json) = tokio::time::timeout(Duration::from_secs(20), upload)
        .await
        .expect("a complete upload waited behind connections stalling their bodies");
    assert_eq!(status, 201, "{json}");
    assert_eq!(f.stored().await.0, 1);
    drop(stalled);
    server.abort();
}
