//! The live connections: each has a bounded outbound queue, and is indexed by user and by
//! group. A push is encoded once per protocol however many connections receive it; a
//! connection whose queue is full is closed (`allowReconnect: true`) rather than slowing
//! anyone else.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value;
use tokio::sync::mpsc;

use crate::protocol::{HubMessage, Protocol};

/// A connection's public id.
pub type ConnectionId = Arc<str>;

/// A message ready to send, encoded at most once per protocol.
#[derive(Debug)]
pub struct Outgoing {
    message: HubMessage,
    json: OnceLock<Arc<[u8]>>,
    msgpack: OnceLock<Arc<[u8]>>,
}

impl Outgoing {
    /// A message to send.
    pub fn new(message: HubMessage) -> Arc<Self> {
        Arc::new(Outgoing {
            message,
            json: OnceLock::new(),
            msgpack: OnceLock::new(),
        })
    }

    /// An invocation of the client method `target` (no answer expected).
    pub fn invocation(target: &str, arguments: Vec<Value>) -> Arc<Self> {
        Self::new(HubMessage::Invocation {
            invocation_id: None,
            target: target.to_string(),
            arguments,
            stream_ids: Vec::new(),
        })
    }

    /// The bytes for `protocol` (encoded on first use, then shared).
    pub fn bytes(&self, protocol: Protocol) -> Arc<[u8]> {
        let cell = match protocol {
            Protocol::Json => &self.json,
            Protocol::MessagePack => &self.msgpack,
        };
        cell.get_or_init(|| protocol.encode(&self.message).into())
            .clone()
    }

    /// The message.
    pub fn message(&self) -> &HubMessage {
        &self.message
    }
}

/// What the registry keeps per connection.
struct Entry {
    user: String,
    queue: mpsc::Sender<Arc<Outgoing>>,
    groups: HashSet<String>,
    /// Set when the queue overflowed: the connection loop closes it.
    overflowed: Arc<std::sync::atomic::AtomicBool>,
}

#[derive(Default)]
struct Index {
    connections: HashMap<ConnectionId, Entry>,
    users: HashMap<String, HashSet<ConnectionId>>,
    groups: HashMap<String, HashSet<ConnectionId>>,
}

/// Every live connection of the server.
#[derive(Default, Clone)]
pub struct Connections {
    index: Arc<Mutex<Index>>,
}

impl std::fmt::Debug for Connections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connections")
            .field("count", &self.count())
            .finish()
    }
}

impl Connections {
    fn lock(&self) -> std::sync::MutexGuard<'_, Index> {
        self.index.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a connection of `user` with its outbound queue.
    pub(crate) fn add(
        &self,
        id: ConnectionId,
        user: String,
        queue: mpsc::Sender<Arc<Outgoing>>,
        overflowed: Arc<std::sync::atomic::AtomicBool>,
    ) {
        let mut index = self.lock();
        index
            .users
            .entry(user.clone())
            .or_default()
            .insert(id.clone());
        index.connections.insert(
            id,
            Entry {
                user,
                queue,
                groups: HashSet::new(),
                overflowed,
            },
        );
    }

    /// Forgets a connection (and its groups); returns how many connections its user still has.
    pub(crate) fn remove(&self, id: &ConnectionId) -> usize {
        let mut index = self.lock();
        let Some(entry) = index.connections.remove(id) else {
            return 0;
        };
        for group in &entry.groups {
            if let Some(members) = index.groups.get_mut(group) {
                members.remove(id);
                if members.is_empty() {
                    index.groups.remove(group);
                }
            }
        }
        let left = match index.users.get_mut(&entry.user) {
            Some(set) => {
                set.remove(id);
                set.len()
            }
            None => 0,
        };
        if left == 0 {
            index.users.remove(&entry.user);
        }
        left
    }

    /// How many connections are open.
    pub fn count(&self) -> usize {
        self.lock().connections.len()
    }

    /// How many connections `user` has open.
    pub fn user_count(&self, user: &str) -> usize {
        self.lock().users.get(user).map_or(0, HashSet::len)
    }

    /// Adds a connection to a group (no-op for an unknown connection).
    pub fn add_to_group(&self, id: &ConnectionId, group: &str) {
        let mut index = self.lock();
        if let Some(entry) = index.connections.get_mut(id) {
            entry.groups.insert(group.to_string());
            index
                .groups
                .entry(group.to_string())
                .or_default()
                .insert(id.clone());
        }
    }

    /// Adds every connection of `user` to a group.
    pub fn add_user_to_group(&self, user: &str, group: &str) {
        let ids: Vec<ConnectionId> = self
            .lock()
            .users
            .get(user)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default();
        for id in ids {
            self.add_to_group(&id, group);
        }
    }

    /// Removes every connection of `user` from a group.
    pub fn remove_user_from_group(&self, user: &str, group: &str) {
        let mut index = self.lock();
        let ids: Vec<ConnectionId> = index
            .users
            .get(user)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default();
        for id in &ids {
            if let Some(entry) = index.connections.get_mut(id) {
                entry.groups.remove(group);
            }
            if let Some(members) = index.groups.get_mut(group) {
                members.remove(id);
            }
        }
        if index.groups.get(group).is_some_and(HashSet::is_empty) {
            index.groups.remove(group);
        }
    }

    /// Queues `message` for one connection. False if it is gone or its queue overflowed (it
    /// is then closed with `allowReconnect`).
    pub fn send_to_connection(&self, id: &ConnectionId, message: &Arc<Outgoing>) -> bool {
        let index = self.lock();
        index
            .connections
            .get(id)
            .is_some_and(|entry| offer(entry, message))
    }

    /// Queues `message` for every connection of `user`; returns how many took it.
    pub fn send_to_user(&self, user: &str, message: &Arc<Outgoing>) -> usize {
        let index = self.lock();
        let Some(ids) = index.users.get(user) else {
            return 0;
        };
        ids.iter()
            .filter_map(|id| index.connections.get(id))
            .filter(|entry| offer(entry, message))
            .count()
    }

    /// Queues `message` for every connection in `group`, except `except`; returns how many
    /// took it.
    pub fn send_to_group(
        &self,
        group: &str,
        message: &Arc<Outgoing>,
        except: Option<&ConnectionId>,
    ) -> usize {
        let index = self.lock();
        let Some(ids) = index.groups.get(group) else {
            return 0;
        };
        ids.iter()
            .filter(|id| Some(*id) != except)
            .filter_map(|id| index.connections.get(id))
            .filter(|entry| offer(entry, message))
            .count()
    }

    /// Queues `message` for every connection in `group` except those of `user`; returns how
    /// many took it.
    pub fn send_to_group_except_user(
        &self,
        group: &str,
        message: &Arc<Outgoing>,
        user: &str,
    ) -> usize {
        let index = self.lock();
        let Some(ids) = index.groups.get(group) else {
            return 0;
        };
        ids.iter()
            .filter_map(|id| index.connections.get(id))
            .filter(|entry| entry.user != user)
            .filter(|entry| offer(entry, message))
            .count()
    }

    /// Queues `message` for every connection.
    pub fn send_to_all(&self, message: &Arc<Outgoing>) -> usize {
        let index = self.lock();
        index
            .connections
            .values()
            .filter(|entry| offer(entry, message))
            .count()
    }
}

/// Offers a message to a connection's queue without waiting; a full queue marks the
/// connection overflowed (its loop closes it).
fn offer(entry: &Entry, message: &Arc<Outgoing>) -> bool {
    match entry.queue.try_send(message.clone()) {
        Ok(()) => true,
        Err(mpsc::error::TrySendError::Full(_)) => {
            entry
                .overflowed
                .store(true, std::sync::atomic::Ordering::Relaxed);
            false
        }
        Err(mpsc::error::TrySendError::Closed(_)) => false,
    }
}
