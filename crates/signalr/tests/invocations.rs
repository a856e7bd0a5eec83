//! Invocations run beside the connection's outbound traffic: a hub method that waits (on a
//! gate the test holds) never delays that connection's pushes and keep-alive pings; one
//! connection's invocations still run one at a time in arrival order, so their completions
//! come back in invocation order; a client that goes away while one is pending leaves the
//! registry at once, and `on_disconnected` runs once, after the pending invocation returned.
//! A full invocation queue pauses reading without the client timing out; a hub method that
//! panics closes its connection only.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use pawpost_signalr::protocol::{HubMessage, Outcome, Protocol};
use pawpost_signalr::testing::{Client, DEADLINE};
use pawpost_signalr::{
    bind, Connection, ConnectionId, Hub, HubError, HubServer, Options, Outgoing, Unauthorized,
};
use serde_json::{json, Value};
use tokio::sync::{mpsc, Notify};
use tokio_tungstenite::tungstenite::Message;

/// A hub whose `Wait(name)` returns `name` once the test opens the gate `name`, and whose
/// `Log(name)` returns at once; both record when they start and end. The token is the user.
struct Gated {
    gates: Mutex<HashMap<String, Arc<Notify>>>,
    /// What happened, in order: `start x`, `end x`, `disconnected`.
    log: Mutex<Vec<String>>,
    /// Each `Wait` as it starts: its gate and the connection that invoked it.
    started: mpsc::UnboundedSender<(String, ConnectionId)>,
}

impl Gated {
    fn gate(&self, name: &str) -> Arc<Notify> {
        self.gates
            .lock()
            .unwrap()
            .entry(name.to_string())
            .or_default()
            .clone()
    }

    /// Lets `Wait(name)` return (now, or as soon as it starts).
    fn open(&self, name: &str) {
        self.gate(name).notify_one();
    }

    fn record(&self, entry: String) {
        self.log.lock().unwrap().push(entry);
    }

    fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    fn disconnections(&self) -> usize {
        self.log().iter().filter(|e| *e == "disconnected").count()
    }
}

#[async_trait::async_trait]
impl Hub for Gated {
    type User = String;

    fn authenticate(&self, token: Option<&str>) -> Result<String, Unauthorized> {
        token
            .map(str::to_string)
            .ok_or_else(|| Unauthorized("a token is required".into()))
    }

    fn user_key(&self, user: &String) -> String {
        user.clone()
    }

    async fn on_disconnected(&self, _connection: &Connection<String>) {
        self.record("disconnected".into());
    }

    async fn invoke(
        &self,
        connection: &Connection<String>,
        target: &str,
        arguments: Vec<Value>,
    ) -> Result<Option<Value>, HubError> {
        if target == "Panic" {
            panic!("a hub method panicked (on purpose)");
        }
        let (name,): (String,) = bind(target, arguments)?;
        self.record(format!("start {name}"));
        if target == "Wait" {
            let gate = self.gate(&name);
            let _ = self.started.send((name.clone(), connection.id.clone()));
            gate.notified().await;
        }
        self.record(format!("end {name}"));
        Ok(Some(json!(name)))
    }
}

struct Running {
    url: String,
    server: HubServer<Gated>,
    hub: Arc<Gated>,
    started: mpsc::UnboundedReceiver<(String, ConnectionId)>,
}

impl Running {
    /// The next `Wait` that started (its gate and connection).
    async fn started(&mut self) -> (String, ConnectionId) {
        tokio::time::timeout(DEADLINE, self.started.recv())
            .await
            .expect("an invocation starts before the deadline")
            .unwrap()
    }

    /// Waits until `condition` holds (or fails at the deadline).
    async fn until(&self, what: &str, condition: impl Fn(&Self) -> bool) {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        while !condition(self) {
            assert!(tokio::time::Instant::now() < deadline, "{what}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

async fn start(options: Options) -> Running {
    let (started_tx, started) = mpsc::unbounded_channel();
    let hub = Arc::new(Gated {
        gates: Mutex::default(),
        log: Mutex::default(),
        started: started_tx,
    });
    let server = HubServer::new(hub.clone(), options);
    let app: axum::Router = server.router("/hub");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Running {
        url: format!("http://{addr}/hub"),
        server,
        hub,
        started,
    }
}

fn completion(id: &str, name: &str) -> HubMessage {
    HubMessage::Completion {
        invocation_id: id.into(),
        outcome: Outcome::Result(json!(name)),
    }
}

/// The next message within `within`, `None` if nothing came.
async fn next_within(c: &mut Client, within: Duration) -> Option<HubMessage> {
    tokio::time::timeout(within, c.next()).await.ok().flatten()
}

#[tokio::test]
async fn a_slow_invocation_does_not_delay_pushes_on_its_connection() {
    let mut r = start(Options::default()).await;
    let mut c = Client::connect(&r.url, "alice", Protocol::Json).await;
    c.invoke("0", "Wait", vec![json!("slow")]).await;
    let (_, connection) = r.started().await;
    let push = Outgoing::invocation("ReceiveMessage", vec![json!({"text": "hi"})]);
    assert!(r
        .server
        .connections()
        .send_to_connection(&connection, &push));
    assert_eq!(
        next_within(&mut c, Duration::from_secs(5)).await.as_ref(),
        Some(push.message()),
        "the push arrives while the invocation is pending"
    );
    assert_eq!(r.hub.log(), ["start slow"], "still pending");
    r.hub.open("slow");
    assert_eq!(c.next().await, Some(completion("0", "slow")));
}

#[tokio::test]
async fn keep_alive_pings_go_out_while_an_invocation_is_pending() {
    let mut r = start(Options {
        keep_alive: Duration::from_millis(100),
        ..Options::default()
    })
    .await;
    let mut c = Client::connect(&r.url, "alice", Protocol::Json).await;
    c.invoke("0", "Wait", vec![json!("slow")]).await;
    r.started().await;
    let deadline = tokio::time::Instant::now() + DEADLINE;
    let mut pings = 0;
    while pings < 3 {
        let frame = tokio::time::timeout_at(deadline, c.ws.next())
            .await
            .expect("three pings while the invocation is pending")
            .unwrap()
            .unwrap();
        assert_eq!(frame.into_text().unwrap().as_str(), "{\"type\":6}\u{1e}");
        pings += 1;
    }
    assert_eq!(r.hub.log(), ["start slow"], "still pending");
    r.hub.open("slow");
    assert_eq!(c.next().await, Some(completion("0", "slow")));
}

#[tokio::test]
async fn completions_come_back_in_invocation_order() {
    let mut r = start(Options::default()).await;
    let mut c = Client::connect(&r.url, "alice", Protocol::MessagePack).await;
    c.invoke("0", "Wait", vec![json!("first")]).await;
    // Non-blocking (no id): no answer, but carried out in its turn.
    c.send(&HubMessage::Invocation {
        invocation_id: None,
        target: "Log".into(),
        arguments: vec![json!("second")],
        stream_ids: vec![],
    })
    .await;
    c.invoke("2", "Log", vec![json!("third")]).await;
    r.started().await;
    // The later, fast invocations wait for the first: nothing comes back meanwhile.
    assert_eq!(next_within(&mut c, Duration::from_millis(300)).await, None);
    assert_eq!(r.hub.log(), ["start first"]);
    r.hub.open("first");
    assert_eq!(c.next().await, Some(completion("0", "first")));
    assert_eq!(c.next().await, Some(completion("2", "third")));
    assert_eq!(
        r.hub.log(),
        [
            "start first",
            "end first",
            "start second",
            "end second",
            "start third",
            "end third"
        ]
    );
}

#[tokio::test]
async fn a_disconnect_during_a_pending_invocation_runs_on_disconnected_once() {
    let mut r = start(Options::default()).await;
    let mut c = Client::connect(&r.url, "alice", Protocol::Json).await;
    c.invoke("0", "Wait", vec![json!("slow")]).await;
    r.started().await;
    c.ws.close(None).await.unwrap();
    drop(c);
    // The connection leaves the registry at once (pushes stop); the hook waits for the
    // invocation.
    r.until("the connection is removed", |r| {
        r.server.connections().count() == 0
    })
    .await;
    assert_eq!(r.hub.disconnections(), 0);
    r.hub.open("slow");
    r.until("on_disconnected runs", |r| r.hub.disconnections() == 1)
        .await;
    assert_eq!(r.hub.log(), ["start slow", "end slow", "disconnected"]);
    // The server still serves.
    let mut c = Client::connect(&r.url, "bob", Protocol::Json).await;
    c.invoke("0", "Log", vec![json!("after")]).await;
    assert_eq!(c.next().await, Some(completion("0", "after")));
    assert_eq!(r.hub.disconnections(), 1);
}

/// A full invocation queue pauses reading, but the client is not timed out for the time its
/// pings wait unread, and pushes still go out.
#[tokio::test]
async fn a_full_invocation_queue_pauses_reading_without_timing_the_client_out() {
    let client_timeout = Duration::from_millis(300);
    let mut r = start(Options {
        invocation_queue: 1,
        client_timeout,
        ..Options::default()
    })
    .await;
    let mut c = Client::connect(&r.url, "alice", Protocol::Json).await;
    // "a" runs, "b" fills the queue, "c" waits in the reader, which stops reading.
    for (id, name) in [("0", "a"), ("1", "b"), ("2", "c")] {
        c.invoke(id, "Wait", vec![json!(name)]).await;
    }
    let (first, connection) = r.started().await;
    assert_eq!(first, "a");
    ping_without_close(&mut c, client_timeout * 4).await;
    assert_eq!(r.hub.log(), ["start a"], "still pending");
    let push = Outgoing::invocation("ReceiveMessage", vec![json!({"text": "hi"})]);
    assert!(r
        .server
        .connections()
        .send_to_connection(&connection, &push));
    assert_eq!(c.next().await.as_ref(), Some(push.message()));
    for (id, name) in [("0", "a"), ("1", "b"), ("2", "c")] {
        r.hub.open(name);
        assert_eq!(c.next().await, Some(completion(id, name)));
    }
    c.invoke("3", "Log", vec![json!("d")]).await;
    assert_eq!(c.next().await, Some(completion("3", "d")));
}

/// A hub method that panics ends its connection with an error (no later invocation could be
/// answered); the hook still runs, and other connections carry on.
#[tokio::test]
async fn a_panicking_invocation_closes_its_connection() {
    let r = start(Options::default()).await;
    let mut other = Client::connect(&r.url, "bob", Protocol::Json).await;
    let mut c = Client::connect(&r.url, "alice", Protocol::Json).await;
    c.invoke("0", "Panic", vec![]).await;
    match c.next().await {
        Some(HubMessage::Close {
            error: Some(_),
            allow_reconnect: true,
        }) => {}
        other => panic!("expected a Close with an error, got {other:?}"),
    }
    r.until("on_disconnected runs", |r| r.hub.disconnections() == 1)
        .await;
    other.invoke("0", "Log", vec![json!("still")]).await;
    assert_eq!(other.next().await, Some(completion("0", "still")));
}

/// Keeps `c` pinging every 50 ms for `window`; fails if the server sends a Close meanwhile.
async fn ping_without_close(c: &mut Client, window: Duration) {
    let end = tokio::time::Instant::now() + window;
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(end) => return,
            _ = tick.tick() => c.send(&HubMessage::Ping).await,
            frame = c.ws.next() => match frame {
                Some(Ok(Message::Text(t))) => assert!(
                    !t.as_str().contains("\"type\":7"),
                    "the server closed the connection: {t}"
                ),
                Some(Ok(_)) => {}
                other => panic!("the socket ended: {other:?}"),
            },
        }
    }
}
