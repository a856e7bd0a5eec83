//! A generic server for the ASP.NET Core SignalR protocol (`../shared/reference/
//! signalr-protocol.md`), so that the official clients (`@microsoft/signalr`, the .NET client)
//! talk to a Rust hub unchanged. It knows nothing of chat: an application registers hub methods
//! and pushes to connections, users and groups.
//!
//! Layout:
//! * `protocol/`: the wire format, pure and synchronous: [`protocol::HubMessage`], the
//!   handshake, record-separator framing for JSON, VarInt framing for MessagePack, and
//!   [`protocol::Codec`] encoding and decoding either hub protocol. Partial frames are buffered;
//!   a frame may hold several messages; malformed input is an error, never a panic.

//! * `hub.rs`: what an application implements ([`Hub`]: authenticate, invoke, connect and
//!   disconnect hooks) and [`bind`] for typed arguments.
//! * `connections.rs`: live connections by id, user and group, each with a bounded outbound
//!   queue; pushes encoded once per protocol.
//! * `server/`: [`HubServer`]: negotiate and the WebSocket transport (`endpoints.rs`), each
//!   connection's life (`connection.rs`: handshake, close with `allowReconnect` on shutdown
//!   or overflow), and its three parts: a reader (`reader.rs`: invocations queued in arrival
//!   order, backpressure, client timeout), an invocation runner (`invocations.rs`: one at a
//!   time, so completions come back in invocation order) and a writer (`writer.rs`:
//!   completions, pushes and keep-alive pings, never waiting on a hub method).

pub mod connections;
pub mod hub;
pub mod protocol;
pub mod server;
#[cfg(feature = "testing")]
pub mod testing;

pub use connections::{ConnectionId, Connections, Outgoing};
pub use hub::{bind, Connection, Hub, HubError, Unauthorized};
pub use server::{HubServer, Options};
