//! Properties of both codecs over generated (type, value) pairs, plus decoder fuzzing.
//!
//! Decoding is the provider's attack surface: Terraform is trusted, but a truncated or corrupted
//! message must still come back as an error and never as a panic, a stack overflow or a huge
//! allocation. Round trips pin the other half: what we encode, Terraform (and we) read back as
//! exactly the same value.

use proptest::prelude::*;

use super::strategies::{arb_type, arb_typed_value};
use super::{Type, Value, json, msgpack};

/// 256 cases by default (fast enough for every `cargo test`); set `PROPTEST_CASES` for a long run.
fn config() -> ProptestConfig {
    ProptestConfig { failure_persistence: None, ..ProptestConfig::default() }
}

/// The ways a valid encoding is damaged in transit.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Truncate(usize),
    Insert(usize, u8),
    Remove(usize),
}

fn arb_mutations() -> impl Strategy<Value = Vec<Mutation>> {
    proptest::collection::vec(
        prop_oneof![
            (any::<usize>(), 1u8..=255).prop_map(|(i, b)| Mutation::Flip(i, b)),
            any::<usize>().prop_map(Mutation::Truncate),
            (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
            any::<usize>().prop_map(Mutation::Remove),
        ],
        1..4,
    )
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for mutation in mutations {
        let len = bytes.len();
        match *mutation {
            Mutation::Flip(i, b) if len > 0 => {
                if let Some(byte) = bytes.get_mut(i % len) {
                    *byte ^= b;
                }
            }
            Mutation::Truncate(i) => bytes.truncate(i % (len + 1)),
            Mutation::Insert(i, b) => bytes.insert(i % (len + 1), b),
            Mutation::Remove(i) if len > 0 => {
                bytes.remove(i % len);
            }
            _ => {}
        }
    }
    bytes
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn msgpack_round_trips((ty, value) in arb_typed_value()) {
        let bytes = msgpack::encode(&value, &ty).unwrap();
        prop_assert_eq!(msgpack::decode(&bytes, &ty).unwrap(), value.clone());
        // Encoding is deterministic: the decoded value encodes to the same bytes.
        prop_assert_eq!(msgpack::encode(&value, &ty).unwrap(), bytes);
    }

    #[test]
    fn json_round_trips_wholly_known_values((ty, value) in arb_typed_value()) {
        if value.is_wholly_known() {
            let bytes = json::encode(&value, &ty).unwrap();
            prop_assert_eq!(json::decode(&bytes, &ty).unwrap(), value);
        } else {
            prop_assert!(json::encode(&value, &ty).is_err());
        }
    }

    #[test]
    fn decoders_never_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..64), ty in arb_type()) {
        let _ = msgpack::decode(&bytes, &ty);
        let _ = json::decode(&bytes, &ty);
    }

    #[test]
    fn decoders_never_panic_on_damaged_encodings(
        (ty, value) in arb_typed_value(),
        mutations in arb_mutations(),
        other_ty in arb_type(),
    ) {
        let packed = mutate(msgpack::encode(&value, &ty).unwrap(), &mutations);
        if let Ok(decoded) = msgpack::decode(&packed, &ty) {
            // Whatever decodes must be a value of the type, re-encodable without error.
            prop_assert!(msgpack::encode(&decoded, &ty).is_ok());
        }
        let _ = msgpack::decode(&packed, &other_ty);
        if let Ok(text) = json::encode(&value, &ty) {
            let damaged = mutate(text, &mutations);
            let _ = json::decode(&damaged, &ty);
            let _ = json::decode(&damaged, &other_ty);
        }
    }

    #[test]
    fn decoded_values_conform_to_their_type(bytes in proptest::collection::vec(any::<u8>(), 0..48), ty in arb_type()) {
        if let Ok(value) = msgpack::decode(&bytes, &ty) {
            prop_assert!(value.conforms_to(&ty), "{:?} does not conform to {:?}", value, ty);
        }
    }
}

#[test]
fn hostile_nesting_is_an_error_not_a_stack_overflow() {
    let mut ty = Type::String;
    for _ in 0..10_000 {
        ty = Type::list(ty);
    }
    let mut bytes = vec![0x91; 10_000];
    bytes.push(0xa0);
    assert!(matches!(msgpack::decode(&bytes, &ty), Err(super::ValueError::TooDeep { .. })));
    let text = "[".repeat(10_000) + &"]".repeat(10_000);
    assert!(json::decode(text.as_bytes(), &ty).is_err());
    drop_deep_type(ty);
}

/// Drops a deeply nested type iteratively (a recursive drop of 10 000 boxes is itself a risk).
fn drop_deep_type(mut ty: Type) {
    while let Type::List(inner) = ty {
        ty = *inner;
    }
}

#[test]
fn huge_declared_lengths_are_refused_before_allocating() {
    let ty = Type::list(Type::String);
    assert!(msgpack::decode(&[0xdd, 0xff, 0xff, 0xff, 0xff], &ty).is_err());
    assert!(msgpack::decode(&[0xdf, 0xff, 0xff, 0xff, 0xff], &Type::map(Type::String)).is_err());
    assert!(msgpack::decode(&[0xdb, 0x7f, 0xff, 0xff, 0xff, b'a'], &Type::String).is_err());
    assert!(msgpack::decode(&[0xc9, 0x7f, 0xff, 0xff, 0xff, 12], &Type::String).is_err());
    assert_eq!(msgpack::decode(&[0x90], &ty), Ok(Value::List(vec![])));
}
