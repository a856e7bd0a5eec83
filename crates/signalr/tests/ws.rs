//! The server over real sockets with tokio-tungstenite as the client: negotiate, handshake,
//! invocations and completions, errors that keep the connection up, pushes to users and
//! groups, MessagePack, skipNegotiation, auth, oversized messages, slow clients, shutdown.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use pawpost_signalr::protocol::{HubMessage, Outcome, Protocol};
use pawpost_signalr::testing::{Client, DEADLINE};
use pawpost_signalr::{
    bind, Connection, Hub, HubError, HubServer, Options, Outgoing, Unauthorized,
};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

/// A hub whose token is the user name (`"bad"` is refused).
struct Echo;

#[async_trait::async_trait]
impl Hub for Echo {
    type User = String;

    fn authenticate(&self, token: Option<&str>) -> Result<String, Unauthorized> {
        match token {
            Some(t) if t != "bad" => Ok(t.to_string()),
            _ => Err(Unauthorized("a valid token is required".into())),
        }
    }

    fn user_key(&self, user: &String) -> String {
        user.clone()
    }

    async fn invoke(
        &self,
        connection: &Connection<String>,
        target: &str,
        arguments: Vec<Value>,
    ) -> Result<Option<Value>, HubError> {
        match target {
            "Echo" => {
                let (text,): (String,) = bind(target, arguments)?;
                Ok(Some(json!(format!("{}:{text}", connection.user))))
            }
            "Nothing" => Ok(None),
            "Fail" => Err(HubError::new("It failed")),
            other => Err(HubError::unknown_method(other)),
        }
    }
}

struct Running {
    addr: std::net::SocketAddr,
    server: HubServer<Echo>,
}

async fn start(options: Options) -> Running {
    let server = HubServer::new(Arc::new(Echo), options);
    let app: axum::Router = server.router("/hub");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Running { addr, server }
}

fn completion(id: &str, outcome: Outcome) -> HubMessage {
    HubMessage::Completion {
        invocation_id: id.into(),
        outcome,
    }
}

async fn invocations_are_answered(protocol: Protocol) {
    let r = start(Options::default()).await;
    let mut c = Client::connect(&format!("http://{}/hub", r.addr), "alice", protocol).await;
    c.invoke("0", "Echo", vec![json!("hello")]).await;
    assert_eq!(
        c.next().await,
        Some(completion("0", Outcome::Result(json!("alice:hello"))))
    );
    c.invoke("1", "Fail", vec![]).await;
    assert_eq!(
        c.next().await,
        Some(completion("1", Outcome::Error("It failed".into())))
    );
    c.invoke("2", "Nope", vec![]).await;
    assert_eq!(
        c.next().await,
        Some(completion(
            "2",
            Outcome::Error("Unknown hub method 'Nope'".into())
        ))
    );
    c.invoke("3", "Echo", vec![json!(42)]).await;
    match c.next().await {
        Some(HubMessage::Completion {
            outcome: Outcome::Error(e),
            ..
        }) => {
            assert!(e.starts_with("Invalid arguments for 'Echo'"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    c.invoke("4", "Nothing", vec![]).await;
    assert_eq!(c.next().await, Some(completion("4", Outcome::Void)));
    // Still up after the errors.
    c.invoke("5", "Echo", vec![json!("again")]).await;
    assert_eq!(
        c.next().await,
        Some(completion("5", Outcome::Result(json!("alice:again"))))
    );
}

#[tokio::test]
async fn json_invocations_are_answered() {
    invocations_are_answered(Protocol::Json).await;
}

#[tokio::test]
async fn messagepack_invocations_are_answered() {
    invocations_are_answered(Protocol::MessagePack).await;
}

#[tokio::test]
async fn pushes_reach_every_connection_of_a_user_and_groups() {
    let r = start(Options::default()).await;
    let mut a1 = Client::connect(&format!("http://{}/hub", r.addr), "alice", Protocol::Json).await;
    let mut a2 = Client::connect(
        &format!("http://{}/hub", r.addr),
        "alice",
        Protocol::MessagePack,
    )
    .await;
    let mut b = Client::connect(&format!("http://{}/hub", r.addr), "bob", Protocol::Json).await;
    // Registration happens after the handshake reply: wait until all three are counted.
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while r.server.connections().count() < 3 {
        assert!(tokio::time::Instant::now() < deadline, "three connections");
        tokio::task::yield_now().await;
    }
    let push = Outgoing::invocation("ReceiveMessage", vec![json!({"text": "hi"})]);
    assert_eq!(r.server.connections().send_to_user("alice", &push), 2);
    for c in [&mut a1, &mut a2] {
        assert_eq!(c.next().await.as_ref(), Some(push.message()));
    }
    r.server.connections().add_user_to_group("bob", "room");
    r.server.connections().add_user_to_group("alice", "room");
    let push2 = Outgoing::invocation("UserTyping", vec![json!(true)]);
    assert_eq!(
        r.server.connections().send_to_group("room", &push2, None),
        3
    );
    assert_eq!(b.next().await.as_ref(), Some(push2.message()));
    r.server.connections().remove_user_from_group("bob", "room");
    assert_eq!(
        r.server.connections().send_to_group("room", &push2, None),
        2
    );
}

#[tokio::test]
async fn no_or_bad_token_is_401() {
    let r = start(Options::default()).await;
    let http = reqwest::Client::new();
    let no = http
        .post(format!(
            "http://{}/hub/negotiate?negotiateVersion=1",
            r.addr
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(no.status(), 401);
    let bad = http
        .post(format!(
            "http://{}/hub/negotiate?negotiateVersion=1",
            r.addr
        ))
        .bearer_auth("bad")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    let upgrade = tokio_tungstenite::connect_async(format!("ws://{}/hub", r.addr)).await;
    match upgrade {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 401),
        other => panic!("expected 401, got {other:?}"),
    }
}

#[tokio::test]
async fn skip_negotiation_and_v0_and_unknown_ids() {
    let r = start(Options::default()).await;
    let mut c = Client::open(
        &format!("ws://{}/hub?access_token=carol", r.addr),
        Protocol::Json,
    )
    .await;
    c.invoke("0", "Echo", vec![json!("x")]).await;
    assert_eq!(
        c.next().await,
        Some(completion("0", Outcome::Result(json!("carol:x"))))
    );
    let v0: Value = reqwest::Client::new()
        .post(format!("http://{}/hub/negotiate", r.addr))
        .bearer_auth("dave")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v0["negotiateVersion"], 0);
    assert!(v0.get("connectionToken").is_none());
    let unknown =
        tokio_tungstenite::connect_async(format!("ws://{}/hub?id=nope&access_token=dave", r.addr))
            .await;
    match unknown {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 404),
        other => panic!("expected 404, got {other:?}"),
    }
}

#[tokio::test]
async fn a_bad_handshake_is_answered_with_an_error() {
    let r = start(Options::default()).await;
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/hub?access_token=eve", r.addr))
            .await
            .unwrap();
    ws.send(Message::text("{\"protocol\":\"xml\",\"version\":1}\u{1e}"))
        .await
        .unwrap();
    let reply = ws.next().await.unwrap().unwrap().into_text().unwrap();
    assert_eq!(
        reply.as_str(),
        "{\"error\":\"The protocol 'xml' is not supported.\"}\u{1e}"
    );
}

#[tokio::test]
async fn a_handshake_not_finished_in_time_closes_the_socket() {
    let r = start(Options {
        handshake_timeout: Duration::from_millis(300),
        ..Options::default()
    })
    .await;
    let url = format!("ws://{}/hub?access_token=eve", r.addr);
    // Silent, and half a handshake (no record separator): both are dropped.
    let (silent, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let (mut partial, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    partial
        .send(Message::text("{\"protocol\":\"json\","))
        .await
        .unwrap();
    for mut ws in [silent, partial] {
        loop {
            match tokio::time::timeout(DEADLINE, ws.next())
                .await
                .expect("the server closes the socket before the deadline")
            {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(other)) => panic!("no handshake answer expected, got {other:?}"),
            }
        }
    }
    assert_eq!(r.server.connections().count(), 0);
    // In time, the same server accepts.
    let mut c = Client::connect(&format!("http://{}/hub", r.addr), "alice", Protocol::Json).await;
    c.invoke("0", "Nothing", vec![]).await;
    assert_eq!(c.next().await, Some(completion("0", Outcome::Void)));
}

#[tokio::test]
async fn an_oversized_message_closes_the_connection_with_an_error() {
    let r = start(Options {
        max_message_size: 1024,
        ..Options::default()
    })
    .await;
    let mut c = Client::connect(&format!("http://{}/hub", r.addr), "alice", Protocol::Json).await;
    c.invoke("0", "Echo", vec![json!("x".repeat(4096))]).await;
    match c.next().await {
        Some(HubMessage::Close {
            error: Some(e),
            allow_reconnect: false,
        }) => {
            assert!(e.contains("too large"), "{e}")
        }
        other => panic!("expected a Close, got {other:?}"),
    }
}

#[tokio::test]
async fn shutdown_closes_with_allow_reconnect() {
    let r = start(Options::default()).await;
    let mut c = Client::connect(&format!("http://{}/hub", r.addr), "alice", Protocol::Json).await;
    c.invoke("0", "Nothing", vec![]).await;
    assert_eq!(c.next().await, Some(completion("0", Outcome::Void)));
    r.server.shutdown();
    assert_eq!(
        c.next().await,
        Some(HubMessage::Close {
            error: None,
            allow_reconnect: true
        })
    );
}

#[tokio::test]
async fn keep_alive_pings_and_the_client_timeout() {
    let r = start(Options {
        keep_alive: Duration::from_millis(200),
        client_timeout: Duration::from_millis(1500),
        ..Options::default()
    })
    .await;
    let mut c = Client::connect(&format!("http://{}/hub", r.addr), "alice", Protocol::Json).await;
    // A ping arrives while idle.
    let frame = tokio::time::timeout(DEADLINE, c.ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(frame.into_text().unwrap().as_str(), "{\"type\":6}\u{1e}");
    // Saying nothing past the client timeout closes the connection (reconnect allowed).
    match c.next().await {
        Some(HubMessage::Close {
            allow_reconnect: true,
            ..
        }) => {}
        other => panic!("expected a Close, got {other:?}"),
    }
}

#[tokio::test]
async fn a_slow_client_is_closed_without_slowing_others() {
    let r = start(Options {
        outbound_queue: 4,
        ..Options::default()
    })
    .await;
    let _slow = Client::connect(&format!("http://{}/hub", r.addr), "slow", Protocol::Json).await;
    let mut fast = Client::connect(&format!("http://{}/hub", r.addr), "fast", Protocol::Json).await;
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while r.server.connections().count() < 2 {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::task::yield_now().await;
    }
    // The slow client never reads: pushes of 64 KiB fill its socket, then its queue.
    let big = Outgoing::invocation("Big", vec![json!("x".repeat(64 * 1024))]);
    let mut refused = false;
    for _ in 0..2_000 {
        if r.server.connections().send_to_user("slow", &big) == 0 {
            refused = true;
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(refused, "the slow client's queue filled up");
    // Everyone else still gets theirs promptly.
    let small = Outgoing::invocation("Small", vec![json!(1)]);
    assert_eq!(r.server.connections().send_to_user("fast", &small), 1);
    assert_eq!(fast.next().await.as_ref(), Some(small.message()));
}

/// A client that keeps pinging still gets the server's pings (it times out on silence from the
/// server, whatever it sends itself).
#[tokio::test]
async fn client_pings_do_not_hold_back_server_pings() {
    let r = start(Options {
        keep_alive: Duration::from_millis(300),
        ..Options::default()
    })
    .await;
    let mut c = Client::connect(&format!("http://{}/hub", r.addr), "alice", Protocol::Json).await;
    let deadline = tokio::time::Instant::now() + DEADLINE;
    let mut ping = tokio::time::interval(Duration::from_millis(100));
    loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no ping from the server"
        );
        tokio::select! {
            _ = ping.tick() => c.send(&HubMessage::Ping).await,
            frame = c.ws.next() => {
                let text = frame.unwrap().unwrap().into_text().unwrap();
                if text.as_str() == "{\"type\":6}\u{1e}" {
                    break;
                }
            }
        }
    }
}
