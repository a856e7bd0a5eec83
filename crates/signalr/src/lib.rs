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

pub mod protocol;
