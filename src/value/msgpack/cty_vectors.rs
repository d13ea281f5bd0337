//! Fixed byte vectors as cty writes them, worked out from its msgpack encoder's rules.
//!
//! Round-trip properties cannot catch a codec that is consistently wrong in both directions; these
//! pin the exact bytes Terraform produces and expects.

use super::{decode, encode};
use crate::value::{Number, Refinements, Type, Value};

fn number(text: &str) -> Number {
    Number::parse(text).unwrap()
}

fn both_ways(value: Value, ty: &Type, bytes: &[u8]) {
    assert_eq!(decode(bytes, ty).unwrap(), value, "decoding {bytes:02x?}");
    assert_eq!(encode(&value, ty).unwrap(), bytes, "encoding {value:?}");
}

#[test]
fn plain_unknown_is_fixext1_type_zero() {
    both_ways(Value::unknown(), &Type::String, &[0xd4, 0x00, 0x00]);
    both_ways(Value::unknown(), &Type::Dynamic, &[0xd4, 0x00, 0x00]);
    // A zero-length extension is also a plain unknown.
    assert_eq!(decode(&[0xc7, 0x00, 0x00], &Type::Bool).unwrap(), Value::unknown());
}

#[test]
fn refined_unknowns_are_extension_twelve() {
    // {1: false} — definitely not null.
    both_ways(Value::unknown_not_null(), &Type::String, &[0xc7, 0x03, 0x0c, 0x81, 0x01, 0xc2]);
    // {1: false, 2: "ami-"}
    both_ways(
        Value::Unknown(Refinements { string_prefix: Some("ami-".into()), ..Refinements::not_null() }),
        &Type::String,
        &[0xc7, 0x09, 0x0c, 0x82, 0x01, 0xc2, 0x02, 0xa4, b'a', b'm', b'i', b'-'],
    );
    // {1: false, 5: 2} on a list — at least two elements.
    both_ways(
        Value::Unknown(Refinements { length_lower: Some(2), ..Refinements::not_null() }),
        &Type::list(Type::String),
        &[0xc7, 0x05, 0x0c, 0x82, 0x01, 0xc2, 0x05, 0x02],
    );
    // {3: [0, true], 4: [10.5, false]}
    both_ways(
        Value::Unknown(Refinements {
            number_lower: Some((Number::from_i64(0), true)),
            number_upper: Some((number("10.5"), false)),
            ..Refinements::default()
        }),
        &Type::Number,
        &[0xc7, 0x11, 0x0c, 0x82, 0x03, 0x92, 0x00, 0xc3, 0x04, 0x92, 0xcb, 0x40, 0x25, 0, 0, 0, 0, 0, 0, 0xc2],
    );
}

#[test]
fn infinite_number_bounds_mean_unbounded() {
    // cty writes an absent lower bound as [-inf, false].
    let bytes = [
        0xc7, 0x13, 0x0c, 0x83, 0x01, 0xc2, 0x03, 0x92, 0xcb, 0xff, 0xf0, 0, 0, 0, 0, 0, 0, 0xc2, 0x04, 0x92, 0x0a,
        0xc3,
    ];
    let expected =
        Value::Unknown(Refinements { number_upper: Some((Number::from_i64(10), true)), ..Refinements::not_null() });
    assert_eq!(decode(&bytes, &Type::Number).unwrap(), expected);
}

#[test]
fn refinements_for_the_wrong_type_are_rejected_and_unknown_keys_skipped() {
    assert!(decode(&[0xc7, 0x05, 0x0c, 0x81, 0x02, 0xa1, b'x'], &Type::Number).is_err());
    // Key 9 (future refinement) with an array value is skipped.
    let bytes = [0xc7, 0x07, 0x0c, 0x82, 0x09, 0x92, 0x01, 0x02, 0x01, 0xc2];
    assert_eq!(decode(&bytes, &Type::Bool).unwrap(), Value::unknown_not_null());
    let overlong = [0xc7, 0x08, 0x0c, 0x82, 0x09, 0x92, 0x01, 0x02, 0x01, 0xc2];
    assert!(decode(&overlong, &Type::Bool).is_err(), "extension longer than the input");
    // Refinements on a dynamic unknown are ignored, as cty does.
    assert_eq!(decode(&[0xc7, 0x03, 0x0c, 0x81, 0x01, 0xc2], &Type::Dynamic).unwrap(), Value::unknown());
    // Oversize refinement payloads are refused.
    let mut big = vec![0xc8, 0x04, 0x01, 0x0c];
    big.extend(std::iter::repeat_n(0x81, 0x401));
    assert!(decode(&big, &Type::String).is_err());
}

#[test]
fn numbers_take_the_smallest_lossless_form() {
    both_ways(Value::number_i64(300), &Type::Number, &[0xcd, 0x01, 0x2c]);
    both_ways(Value::number_i64(-5), &Type::Number, &[0xfb]);
    both_ways(Value::Number(number("0.5")), &Type::Number, &[0xcb, 0x3f, 0xe0, 0, 0, 0, 0, 0, 0]);
    both_ways(Value::Number(number("0.1")), &Type::Number, &[0xa3, b'0', b'.', b'1']);
    let big = "12345678901234567890123";
    let mut bytes = vec![0xa0 | big.len() as u8];
    bytes.extend_from_slice(big.as_bytes());
    both_ways(Value::Number(number(big)), &Type::Number, &bytes);
    // u64::MAX is not exact as float64, so it travels as a string; it decodes from uint64 too.
    let max = Value::Number(Number::from_u64(u64::MAX));
    assert_eq!(decode(&[0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], &Type::Number).unwrap(), max);
    assert_eq!(encode(&max, &Type::Number).unwrap()[0], 0xb4);
    // float32 and positive fixint forms decode too; non-finite floats are errors.
    assert_eq!(decode(&[0xca, 0x3f, 0xc0, 0, 0], &Type::Number).unwrap(), Value::Number(number("1.5")));
    assert!(decode(&[0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0], &Type::Number).is_err());
}

#[test]
fn objects_write_every_attribute_in_sorted_order() {
    let ty = Type::object([("b", Type::Number), ("a", Type::String)]);
    let value = Value::object([("a", Value::string("x"))]);
    assert_eq!(encode(&value, &ty).unwrap(), [0x82, 0xa1, b'a', 0xa1, b'x', 0xa1, b'b', 0xc0]);
    // Missing attributes decode as null.
    assert_eq!(
        decode(&[0x81, 0xa1, b'a', 0xa1, b'x'], &ty).unwrap(),
        Value::object([("a", Value::string("x")), ("b", Value::Null)])
    );
    assert!(decode(&[0x81, 0xa1, b'c', 0xc0], &ty).is_err());
    assert!(encode(&Value::object([("c", Value::Null)]), &ty).is_err());
}

#[test]
fn dynamic_values_carry_their_type_as_json_bytes() {
    let mut bytes = vec![0x92, 0xc4, 0x08];
    bytes.extend_from_slice(b"\"string\"");
    bytes.extend_from_slice(&[0xa2, b'h', b'i']);
    both_ways(Value::dynamic(Type::String, Value::string("hi")), &Type::Dynamic, &bytes);
    both_ways(Value::Null, &Type::Dynamic, &[0xc0]);
    assert!(encode(&Value::string("hi"), &Type::Dynamic).is_err());
}

#[test]
fn sets_decode_normalized() {
    let ty = Type::set(Type::String);
    let decoded = decode(&[0x93, 0xa1, b'b', 0xa1, b'a', 0xa1, b'b'], &ty).unwrap();
    assert_eq!(decoded, Value::set(vec![Value::string("a"), Value::string("b")]));
    assert_eq!(encode(&decoded, &ty).unwrap(), [0x92, 0xa1, b'a', 0xa1, b'b']);
}

#[test]
fn trailing_bytes_and_type_mismatches_are_errors_with_paths() {
    assert!(decode(&[0xc0, 0xc0], &Type::String).is_err());
    let ty = Type::object([("tags", Type::map(Type::String))]);
    let err = decode(&[0x81, 0xa4, b't', b'a', b'g', b's', 0x81, 0xa1, b'k', 0x01], &ty).unwrap_err();
    assert_eq!(err.path().map(ToString::to_string).as_deref(), Some(r#"tags["k"]"#));
}
