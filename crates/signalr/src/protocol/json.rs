//! The JSON hub protocol: one JSON object per message, each ended by the record separator;
//! a frame may hold several, and a message may span frames. Field order is free and unknown
//! fields (`headers`, …) are ignored, as the .NET server does.

use serde_json::{json, Map, Value};

use super::{HubMessage, Outcome, ProtocolError, RS};

/// The bytes of `message`, record separator included.
pub fn encode(message: &HubMessage) -> Vec<u8> {
    let value = match message {
        HubMessage::Invocation {
            invocation_id,
            target,
            arguments,
            stream_ids,
        } => {
            let mut v = json!({"type": 1, "target": target, "arguments": arguments});
            if let Some(id) = invocation_id {
                v["invocationId"] = json!(id);
            }
            if !stream_ids.is_empty() {
                v["streamIds"] = json!(stream_ids);
            }
            v
        }
        HubMessage::StreamItem {
            invocation_id,
            item,
        } => json!({"type": 2, "invocationId": invocation_id, "item": item}),
        HubMessage::Completion {
            invocation_id,
            outcome,
        } => match outcome {
            Outcome::Void => json!({"type": 3, "invocationId": invocation_id}),
            Outcome::Result(r) => json!({"type": 3, "invocationId": invocation_id, "result": r}),
            Outcome::Error(e) => json!({"type": 3, "invocationId": invocation_id, "error": e}),
        },
        HubMessage::StreamInvocation {
            invocation_id,
            target,
            arguments,
            stream_ids,
        } => {
            let mut v = json!({"type": 4, "invocationId": invocation_id, "target": target,
                "arguments": arguments});
            if !stream_ids.is_empty() {
                v["streamIds"] = json!(stream_ids);
            }
            v
        }
        HubMessage::CancelInvocation { invocation_id } => {
            json!({"type": 5, "invocationId": invocation_id})
        }
        HubMessage::Ping => json!({"type": 6}),
        HubMessage::Close {
            error,
            allow_reconnect,
        } => {
            let mut v = json!({"type": 7});
            if let Some(e) = error {
                v["error"] = json!(e);
            }
            if *allow_reconnect {
                v["allowReconnect"] = json!(true);
            }
            v
        }
        HubMessage::Ack { sequence_id } => json!({"type": 8, "sequenceId": sequence_id}),
        HubMessage::Sequence { sequence_id } => json!({"type": 9, "sequenceId": sequence_id}),
    };
    let mut out = value.to_string().into_bytes();
    out.push(RS);
    out
}

/// Incremental JSON decoding.
#[derive(Debug)]
pub struct JsonDecoder {
    buf: Vec<u8>,
    max: usize,
}

impl JsonDecoder {
    /// A decoder refusing messages over `max` bytes.
    pub fn new(max: usize) -> Self {
        JsonDecoder {
            buf: Vec::new(),
            max,
        }
    }

    /// Feeds bytes in; returns the messages completed by them.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<HubMessage>, ProtocolError> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        let mut start = 0;
        while let Some(len) = self.buf[start..].iter().position(|b| *b == RS) {
            if len > self.max {
                return Err(ProtocolError::TooLarge(self.max));
            }
            out.push(decode(&self.buf[start..start + len])?);
            start += len + 1;
        }
        self.buf.drain(..start);
        if self.buf.len() > self.max {
            return Err(ProtocolError::TooLarge(self.max));
        }
        Ok(out)
    }
}

fn malformed(what: impl Into<String>) -> ProtocolError {
    ProtocolError::Malformed(what.into())
}

fn string(obj: &Map<String, Value>, key: &str) -> Result<String, ProtocolError> {
    obj.get(key)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| malformed(format!("`{key}` must be a string")))
}

fn opt_string(obj: &Map<String, Value>, key: &str) -> Result<Option<String>, ProtocolError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(malformed(format!("`{key}` must be a string"))),
    }
}

fn arguments(obj: &Map<String, Value>) -> Result<Vec<Value>, ProtocolError> {
    match obj.get("arguments") {
        Some(Value::Array(a)) => Ok(a.clone()),
        None => Ok(Vec::new()),
        Some(_) => Err(malformed("`arguments` must be an array")),
    }
}

fn stream_ids(obj: &Map<String, Value>) -> Result<Vec<String>, ProtocolError> {
    match obj.get("streamIds") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| malformed("`streamIds` must hold strings"))
            })
            .collect(),
        Some(_) => Err(malformed("`streamIds` must be an array")),
    }
}

fn sequence(obj: &Map<String, Value>) -> Result<u64, ProtocolError> {
    obj.get("sequenceId")
        .and_then(Value::as_u64)
        .ok_or_else(|| malformed("`sequenceId` must be a number"))
}

/// One record (without its separator).
fn decode(record: &[u8]) -> Result<HubMessage, ProtocolError> {
    let value: Value =
        serde_json::from_slice(record).map_err(|e| malformed(format!("not JSON: {e}")))?;
    let Value::Object(obj) = value else {
        return Err(malformed("a message must be a JSON object"));
    };
    let kind = obj
        .get("type")
        .and_then(Value::as_u64)
        .ok_or_else(|| malformed("`type` must be a number"))?;
    Ok(match kind {
        1 => HubMessage::Invocation {
            invocation_id: opt_string(&obj, "invocationId")?,
            target: string(&obj, "target")?,
            arguments: arguments(&obj)?,
            stream_ids: stream_ids(&obj)?,
        },
        2 => HubMessage::StreamItem {
            invocation_id: string(&obj, "invocationId")?,
            item: obj.get("item").cloned().unwrap_or(Value::Null),
        },
        3 => {
            let outcome = match (obj.get("error"), obj.get("result")) {
                (Some(_), Some(_)) => return Err(malformed("both `result` and `error`")),
                (Some(Value::String(e)), None) => Outcome::Error(e.clone()),
                (Some(_), None) => return Err(malformed("`error` must be a string")),
                (None, Some(r)) => Outcome::Result(r.clone()),
                (None, None) => Outcome::Void,
            };
            HubMessage::Completion {
                invocation_id: string(&obj, "invocationId")?,
                outcome,
            }
        }
        4 => HubMessage::StreamInvocation {
            invocation_id: string(&obj, "invocationId")?,
            target: string(&obj, "target")?,
            arguments: arguments(&obj)?,
            stream_ids: stream_ids(&obj)?,
        },
        5 => HubMessage::CancelInvocation {
            invocation_id: string(&obj, "invocationId")?,
        },
        6 => HubMessage::Ping,
        7 => HubMessage::Close {
            error: opt_string(&obj, "error")?,
            allow_reconnect: obj
                .get("allowReconnect")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        },
        8 => HubMessage::Ack {
            sequence_id: sequence(&obj)?,
        },
        9 => HubMessage::Sequence {
            sequence_id: sequence(&obj)?,
        },
        other => return Err(ProtocolError::UnknownType(other)),
    })
}
