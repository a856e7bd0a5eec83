//! The wire format against the frames the official client sends (from
//! `../shared/reference/signalr-protocol.md`), and property tests: every message round-trips
//! through both protocols, any split of a byte stream decodes to the same messages, and
//! arbitrary bytes give messages or an error, never a panic.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;

const MAX: usize = 64 * 1024;

#[test]
fn decodes_what_the_js_client_sends() {
    let mut d = Decoder::new(Protocol::Json, MAX);
    // Two messages in one frame, `type` last, an unknown field, then half a message.
    let frame =
        b"{\"target\":\"Echo\",\"arguments\":[\"hello\"],\"invocationId\":\"0\",\"type\":1}\x1e\
{\"target\":\"Echo\",\"arguments\":[\"x\"],\"headers\":{\"a\":\"b\"},\"type\":1}\x1e{\"type\":";
    let got = d.push(frame).unwrap();
    assert_eq!(
        got,
        vec![
            HubMessage::Invocation {
                invocation_id: Some("0".into()),
                target: "Echo".into(),
                arguments: vec![json!("hello")],
                stream_ids: vec![],
            },
            HubMessage::Invocation {
                invocation_id: None,
                target: "Echo".into(),
                arguments: vec![json!("x")],
                stream_ids: vec![],
            },
        ]
    );
    assert_eq!(d.push(b"6}\x1e").unwrap(), vec![HubMessage::Ping]);
}

#[test]
fn encodes_what_the_js_client_expects() {
    let completion = HubMessage::Completion {
        invocation_id: "1".into(),
        outcome: Outcome::Error("It failed".into()),
    };
    let bytes = Protocol::Json.encode(&completion);
    assert_eq!(bytes.last(), Some(&RS));
    let v: Value = serde_json::from_slice(&bytes[..bytes.len() - 1]).unwrap();
    assert_eq!(
        v,
        json!({"type": 3, "invocationId": "1", "error": "It failed"})
    );
    let close = Protocol::Json.encode(&HubMessage::Close {
        error: None,
        allow_reconnect: true,
    });
    assert_eq!(close, b"{\"allowReconnect\":true,\"type\":7}\x1e".to_vec());
    // MessagePack ping: length 2, then [6] = 0x91 0x06.
    assert_eq!(
        Protocol::MessagePack.encode(&HubMessage::Ping),
        vec![0x02, 0x91, 0x06]
    );
}

#[test]
fn long_messagepack_messages_have_multi_byte_lengths() {
    let big = HubMessage::Invocation {
        invocation_id: None,
        target: "t".into(),
        arguments: vec![json!("x".repeat(5_000))],
        stream_ids: vec![],
    };
    let bytes = Protocol::MessagePack.encode(&big);
    assert!(bytes[0] & 0x80 != 0, "a two-byte prefix");
    let mut d = Decoder::new(Protocol::MessagePack, MAX);
    assert_eq!(d.push(&bytes).unwrap(), vec![big]);
}

#[test]
fn oversized_messages_are_refused() {
    let mut d = Decoder::new(Protocol::Json, 16);
    assert_eq!(
        d.push(&[b'x'; 32]),
        Err(ProtocolError::TooLarge(16)),
        "no separator within the limit"
    );
    let mut d = Decoder::new(Protocol::MessagePack, 16);
    let bytes = Protocol::MessagePack.encode(&HubMessage::Invocation {
        invocation_id: None,
        target: "t".into(),
        arguments: vec![json!("x".repeat(100))],
        stream_ids: vec![],
    });
    assert_eq!(d.push(&bytes[..2]), Err(ProtocolError::TooLarge(16)));
}

#[test]
fn a_client_handshake_is_read_back_as_its_protocol() {
    for protocol in [Protocol::Json, Protocol::MessagePack] {
        let (req, rest) = HandshakeDecoder::new(MAX)
            .push(handshake_request(protocol).as_bytes())
            .unwrap()
            .unwrap();
        assert_eq!(req.protocol, protocol);
        assert!(rest.is_empty());
        assert_eq!(Protocol::from_name(protocol.name()), Some(protocol));
    }
}

#[test]
fn the_handshake_names_the_protocol_and_keeps_what_follows() {
    let mut h = HandshakeDecoder::new(MAX);
    assert_eq!(h.push(b"{\"protocol\":\"json\",").unwrap(), None);
    let (req, rest) = h
        .push(b"\"version\":1}\x1e{\"type\":6}\x1e")
        .unwrap()
        .unwrap();
    assert_eq!(
        req,
        HandshakeRequest {
            protocol: Protocol::Json,
            version: 1
        }
    );
    assert_eq!(
        Decoder::new(req.protocol, MAX).push(&rest).unwrap(),
        vec![HubMessage::Ping]
    );
    let mut h = HandshakeDecoder::new(MAX);
    let (req, _) = h
        .push(b"{\"protocol\":\"messagepack\",\"version\":1}\x1e")
        .unwrap()
        .unwrap();
    assert_eq!(req.protocol, Protocol::MessagePack);
    let err = HandshakeDecoder::new(MAX)
        .push(b"{\"protocol\":\"xyz\",\"version\":1}\x1e")
        .unwrap_err();
    assert_eq!(
        err,
        ProtocolError::Malformed("The protocol 'xyz' is not supported.".into())
    );
    assert_eq!(HANDSHAKE_OK, b"{}\x1e");
    assert_eq!(handshake_error("no"), b"{\"error\":\"no\"}\x1e".to_vec());
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e12f64..1e12).prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 20, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(".{0,6}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn id() -> impl Strategy<Value = String> {
    "[0-9a-z]{1,6}"
}

fn message() -> impl Strategy<Value = HubMessage> {
    let args = || prop::collection::vec(json_value(), 0..4);
    let streams = || prop::collection::vec(id(), 0..3);
    prop_oneof![
        (prop::option::of(id()), ".{1,10}", args(), streams()).prop_map(
            |(invocation_id, target, arguments, stream_ids)| {
                HubMessage::Invocation {
                    invocation_id,
                    target,
                    arguments,
                    stream_ids,
                }
            }
        ),
        (id(), json_value()).prop_map(|(invocation_id, item)| HubMessage::StreamItem {
            invocation_id,
            item
        }),
        (
            id(),
            prop_oneof![
                Just(Outcome::Void),
                json_value().prop_map(Outcome::Result),
                ".{0,20}".prop_map(Outcome::Error)
            ]
        )
            .prop_map(|(invocation_id, outcome)| HubMessage::Completion {
                invocation_id,
                outcome
            }),
        (id(), ".{1,10}", args(), streams()).prop_map(
            |(invocation_id, target, arguments, stream_ids)| HubMessage::StreamInvocation {
                invocation_id,
                target,
                arguments,
                stream_ids
            }
        ),
        id().prop_map(|invocation_id| HubMessage::CancelInvocation { invocation_id }),
        Just(HubMessage::Ping),
        (prop::option::of(".{0,20}"), any::<bool>()).prop_map(|(error, allow_reconnect)| {
            HubMessage::Close {
                error,
                allow_reconnect,
            }
        }),
        any::<u64>().prop_map(|sequence_id| HubMessage::Ack { sequence_id }),
        any::<u64>().prop_map(|sequence_id| HubMessage::Sequence { sequence_id }),
    ]
}

fn protocol() -> impl Strategy<Value = Protocol> {
    prop_oneof![Just(Protocol::Json), Just(Protocol::MessagePack)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn messages_round_trip(p in protocol(), m in message()) {
        let mut d = Decoder::new(p, MAX);
        prop_assert_eq!(d.push(&p.encode(&m)).unwrap(), vec![m]);
    }

    #[test]
    fn any_split_of_a_stream_decodes_the_same(
        p in protocol(),
        ms in prop::collection::vec(message(), 1..8),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let stream: Vec<u8> = ms.iter().flat_map(|m| p.encode(m)).collect();
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(stream.len() + 1)).collect();
        points.push(0);
        points.push(stream.len());
        points.sort_unstable();
        let mut d = Decoder::new(p, MAX);
        let mut got = Vec::new();
        for w in points.windows(2) {
            got.extend(d.push(&stream[w[0]..w[1]]).unwrap());
        }
        prop_assert_eq!(got, ms);
    }

    #[test]
    fn arbitrary_bytes_never_panic(p in protocol(), bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = Decoder::new(p, 1024).push(&bytes);
        let _ = HandshakeDecoder::new(1024).push(&bytes);
    }

    #[test]
    fn corrupted_messages_never_panic(p in protocol(), m in message(), flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4)) {
        let mut bytes = p.encode(&m);
        for (i, b) in flips {
            let at = i.index(bytes.len());
            bytes[at] ^= b;
        }
        let _ = Decoder::new(p, MAX).push(&bytes);
    }
}
