//! The MessagePack hub protocol: binary frames; each message is its length as a VarInt
//! (unsigned LEB128, 1–5 bytes) followed by a MessagePack array whose first element is the
//! message type (`[1, headers, invocationId|nil, target, [args], [streamIds]]`, …). Arguments
//! and results cross over as JSON values, so hub methods bind them the same way for both
//! protocols.

use rmpv::Value as Mp;
use serde_json::Value;

use super::{HubMessage, Outcome, ProtocolError};

/// Longest VarInt length prefix.
const MAX_VARINT: usize = 5;
/// Deepest nesting of values accepted (rmpv's default is far deeper than any hub payload).
const MAX_DEPTH: usize = 64;

/// The bytes of `message`, length prefix included.
pub fn encode(message: &HubMessage) -> Vec<u8> {
    let headers = || Mp::Map(Vec::new());
    let id = |s: &str| Mp::from(s);
    let args = |a: &[Value]| Mp::Array(a.iter().map(to_mp).collect());
    let streams = |s: &[String]| Mp::Array(s.iter().map(|x| Mp::from(x.as_str())).collect());
    let array = match message {
        HubMessage::Invocation {
            invocation_id,
            target,
            arguments,
            stream_ids,
        } => vec![
            Mp::from(1),
            headers(),
            invocation_id.as_deref().map_or(Mp::Nil, id),
            Mp::from(target.as_str()),
            args(arguments),
            streams(stream_ids),
        ],
        HubMessage::StreamItem {
            invocation_id,
            item,
        } => vec![Mp::from(2), headers(), id(invocation_id), to_mp(item)],
        HubMessage::Completion {
            invocation_id,
            outcome,
        } => {
            let mut v = vec![Mp::from(3), headers(), id(invocation_id)];
            match outcome {
                Outcome::Error(e) => v.extend([Mp::from(1), Mp::from(e.as_str())]),
                Outcome::Void => v.push(Mp::from(2)),
                Outcome::Result(r) => v.extend([Mp::from(3), to_mp(r)]),
            }
            v
        }
        HubMessage::StreamInvocation {
            invocation_id,
            target,
            arguments,
            stream_ids,
        } => vec![
            Mp::from(4),
            headers(),
            id(invocation_id),
            Mp::from(target.as_str()),
            args(arguments),
            streams(stream_ids),
        ],
        HubMessage::CancelInvocation { invocation_id } => {
            vec![Mp::from(5), headers(), id(invocation_id)]
        }
        HubMessage::Ping => vec![Mp::from(6)],
        HubMessage::Close {
            error,
            allow_reconnect,
        } => vec![
            Mp::from(7),
            error.as_deref().map_or(Mp::Nil, Mp::from),
            Mp::from(*allow_reconnect),
        ],
        HubMessage::Ack { sequence_id } => vec![Mp::from(8), Mp::from(*sequence_id)],
        HubMessage::Sequence { sequence_id } => vec![Mp::from(9), Mp::from(*sequence_id)],
    };
    let mut body = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = rmpv::encode::write_value(&mut body, &Mp::Array(array));
    let mut out = Vec::with_capacity(body.len() + MAX_VARINT);
    let mut n = body.len();
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            break;
        }
        out.push(byte | 0x80);
    }
    out.extend_from_slice(&body);
    out
}

/// A JSON value as MessagePack.
fn to_mp(v: &Value) -> Mp {
    match v {
        Value::Null => Mp::Nil,
        Value::Bool(b) => Mp::from(*b),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                Mp::from(u)
            } else if let Some(i) = n.as_i64() {
                Mp::from(i)
            } else {
                Mp::from(n.as_f64().unwrap_or(0.0))
            }
        }
        Value::String(s) => Mp::from(s.as_str()),
        Value::Array(a) => Mp::Array(a.iter().map(to_mp).collect()),
        Value::Object(o) => Mp::Map(
            o.iter()
                .map(|(k, v)| (Mp::from(k.as_str()), to_mp(v)))
                .collect(),
        ),
    }
}

/// A MessagePack value as JSON (binary as an array of bytes; extension types refused).
fn to_json(v: &Mp) -> Result<Value, ProtocolError> {
    Ok(match v {
        Mp::Nil => Value::Null,
        Mp::Boolean(b) => Value::Bool(*b),
        Mp::Integer(i) => {
            if let Some(u) = i.as_u64() {
                Value::from(u)
            } else {
                Value::from(i.as_i64().unwrap_or(0))
            }
        }
        Mp::F32(f) => {
            serde_json::Number::from_f64(f64::from(*f)).map_or(Value::Null, Value::Number)
        }
        Mp::F64(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        Mp::String(s) => Value::String(
            s.as_str()
                .ok_or_else(|| malformed("a string is not UTF-8"))?
                .to_string(),
        ),
        Mp::Binary(b) => Value::Array(b.iter().map(|x| Value::from(*x)).collect()),
        Mp::Array(a) => Value::Array(a.iter().map(to_json).collect::<Result<_, _>>()?),
        Mp::Map(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Mp::String(s) => s
                            .as_str()
                            .ok_or_else(|| malformed("a map key is not UTF-8"))?
                            .to_string(),
                        other => other.to_string(),
                    };
                    Ok((key, to_json(v)?))
                })
                .collect::<Result<_, ProtocolError>>()?,
        ),
        Mp::Ext(..) => return Err(malformed("extension types are not supported")),
    })
}

fn malformed(what: impl Into<String>) -> ProtocolError {
    ProtocolError::Malformed(what.into())
}

/// Incremental MessagePack decoding.
#[derive(Debug)]
pub struct MsgPackDecoder {
    buf: Vec<u8>,
    max: usize,
}

impl MsgPackDecoder {
    /// A decoder refusing messages over `max` bytes.
    pub fn new(max: usize) -> Self {
        MsgPackDecoder {
            buf: Vec::new(),
            max,
        }
    }

    /// Feeds bytes in; returns the messages completed by them.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<HubMessage>, ProtocolError> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        let mut at = 0;
        while let Some((len, prefix)) = varint(&self.buf[at..])? {
            if len > self.max {
                return Err(ProtocolError::TooLarge(self.max));
            }
            let start = at + prefix;
            if self.buf.len() < start + len {
                break;
            }
            out.push(decode(&self.buf[start..start + len])?);
            at = start + len;
        }
        self.buf.drain(..at);
        Ok(out)
    }
}

/// The length prefix at the start of `bytes` and its size; `None` if incomplete.
fn varint(bytes: &[u8]) -> Result<Option<(usize, usize)>, ProtocolError> {
    let mut n: usize = 0;
    for (i, b) in bytes.iter().take(MAX_VARINT).enumerate() {
        n |= usize::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok(Some((n, i + 1)));
        }
    }
    if bytes.len() >= MAX_VARINT {
        return Err(malformed("length prefix over 5 bytes"));
    }
    Ok(None)
}

fn string(v: Option<&Mp>, what: &str) -> Result<String, ProtocolError> {
    v.and_then(Mp::as_str)
        .map(str::to_string)
        .ok_or_else(|| malformed(format!("{what} must be a string")))
}

fn opt_string(v: Option<&Mp>, what: &str) -> Result<Option<String>, ProtocolError> {
    match v {
        None | Some(Mp::Nil) => Ok(None),
        Some(s) => string(Some(s), what).map(Some),
    }
}

fn values(v: Option<&Mp>, what: &str) -> Result<Vec<Value>, ProtocolError> {
    match v {
        Some(Mp::Array(a)) => a.iter().map(to_json).collect(),
        None => Ok(Vec::new()),
        Some(_) => Err(malformed(format!("{what} must be an array"))),
    }
}

fn strings(v: Option<&Mp>) -> Result<Vec<String>, ProtocolError> {
    match v {
        None | Some(Mp::Nil) => Ok(Vec::new()),
        Some(Mp::Array(a)) => a.iter().map(|s| string(Some(s), "a stream id")).collect(),
        Some(_) => Err(malformed("stream ids must be an array")),
    }
}

fn number(v: Option<&Mp>, what: &str) -> Result<u64, ProtocolError> {
    v.and_then(Mp::as_u64)
        .ok_or_else(|| malformed(format!("{what} must be a number")))
}

/// One message body (without its prefix).
fn decode(body: &[u8]) -> Result<HubMessage, ProtocolError> {
    let mut rd = body;
    let value = rmpv::decode::read_value_with_max_depth(&mut rd, MAX_DEPTH)
        .map_err(|e| malformed(format!("not MessagePack: {e}")))?;
    if !rd.is_empty() {
        return Err(malformed("bytes after the message"));
    }
    let Mp::Array(a) = value else {
        return Err(malformed("a message must be an array"));
    };
    let kind = number(a.first(), "the message type")?;
    Ok(match kind {
        1 => HubMessage::Invocation {
            invocation_id: opt_string(a.get(2), "the invocation id")?,
            target: string(a.get(3), "the target")?,
            arguments: values(a.get(4), "the arguments")?,
            stream_ids: strings(a.get(5))?,
        },
        2 => HubMessage::StreamItem {
            invocation_id: string(a.get(2), "the invocation id")?,
            item: a.get(3).map(to_json).transpose()?.unwrap_or(Value::Null),
        },
        3 => {
            let outcome = match number(a.get(3), "the result kind")? {
                1 => Outcome::Error(string(a.get(4), "the error")?),
                2 => Outcome::Void,
                3 => Outcome::Result(
                    a.get(4)
                        .map(to_json)
                        .transpose()?
                        .ok_or_else(|| malformed("a result is missing"))?,
                ),
                other => return Err(malformed(format!("result kind {other}"))),
            };
            HubMessage::Completion {
                invocation_id: string(a.get(2), "the invocation id")?,
                outcome,
            }
        }
        4 => HubMessage::StreamInvocation {
            invocation_id: string(a.get(2), "the invocation id")?,
            target: string(a.get(3), "the target")?,
            arguments: values(a.get(4), "the arguments")?,
            stream_ids: strings(a.get(5))?,
        },
        5 => HubMessage::CancelInvocation {
            invocation_id: string(a.get(2), "the invocation id")?,
        },
        6 => HubMessage::Ping,
        7 => HubMessage::Close {
            error: opt_string(a.get(1), "the error")?,
            allow_reconnect: a.get(2).and_then(Mp::as_bool).unwrap_or(false),
        },
        8 => HubMessage::Ack {
            sequence_id: number(a.get(1), "the sequence id")?,
        },
        9 => HubMessage::Sequence {
            sequence_id: number(a.get(1), "the sequence id")?,
        },
        other => return Err(ProtocolError::UnknownType(other)),
    })
}
