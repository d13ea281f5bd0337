//! proptest strategies for types and values of those types.
//!
//! Codec properties are only as good as the values they are tried on, so these generate the
//! awkward cases on purpose: nulls and (refined) unknowns at every level, numbers that are huge,
//! tiny, fractional or only representable as decimal strings, nested collections, sets with
//! duplicates, and `dynamic` positions carrying arbitrary concrete types.

use std::collections::BTreeMap;

use proptest::collection::{btree_map, btree_set, vec};
use proptest::prelude::*;

use super::{Number, Refinements, Type, Value};

/// Any type, nested up to a few levels, `dynamic` included.
pub fn arb_type() -> impl Strategy<Value = Type> {
    type_with_dynamic(true)
}

/// Any type that could be the concrete type of a dynamic value (never `dynamic` at the top).
fn concrete_type() -> impl Strategy<Value = Type> {
    type_with_dynamic(false).prop_filter("concrete types are not dynamic", |t| *t != Type::Dynamic)
}

fn type_with_dynamic(allow_dynamic: bool) -> BoxedStrategy<Type> {
    let leaf = if allow_dynamic {
        prop_oneof![Just(Type::Bool), Just(Type::Number), Just(Type::String), Just(Type::Dynamic)].boxed()
    } else {
        prop_oneof![Just(Type::Bool), Just(Type::Number), Just(Type::String)].boxed()
    };
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(Type::list),
            inner.clone().prop_map(Type::set),
            inner.clone().prop_map(Type::map),
            vec(inner.clone(), 0..3).prop_map(Type::Tuple),
            (btree_map("[a-z_]{1,6}", inner, 0..4), btree_set("[a-z_]{1,6}", 0..2)).prop_map(|(attributes, opt)| {
                let optional = opt.into_iter().filter(|n| attributes.contains_key(n)).collect();
                Type::Object { attributes, optional }
            }),
        ]
    })
    .boxed()
}

/// Numbers of every shape: machine integers, exact floats, and long decimals.
pub fn arb_number() -> impl Strategy<Value = Number> {
    prop_oneof![
        any::<i64>().prop_map(Number::from_i64),
        any::<u64>().prop_map(Number::from_u64),
        any::<f64>().prop_filter_map("finite", Number::from_f64),
        ("-?[0-9]{1,30}", "[0-9]{0,20}", -40i64..40)
            .prop_filter_map("decimal", |(int, frac, exp)| Number::parse(&format!("{int}.{frac}e{exp}"))),
    ]
}

fn arb_refinements(ty: &Type) -> BoxedStrategy<Refinements> {
    let bound = || proptest::option::of((arb_number(), any::<bool>()));
    // Every type but dynamic may refine `not_null`; each kind of type adds its own bounds.
    let bounds = match ty {
        Type::Dynamic => return Just(Refinements::default()).boxed(),
        Type::String => proptest::option::of("\\PC{0,6}")
            .prop_map(|string_prefix| Refinements { string_prefix, ..Refinements::default() })
            .boxed(),
        Type::Number => arb_bounds(bound(), bound(), |refinements, lower, upper| {
            (refinements.number_lower, refinements.number_upper) = (lower, upper);
        }),
        t if t.is_collection() => arb_bounds(
            proptest::option::of(any::<u64>()),
            proptest::option::of(0u64..10),
            |refinements, lower, upper| {
                (refinements.length_lower, refinements.length_upper) = (lower, upper);
            },
        ),
        _ => Just(Refinements::default()).boxed(),
    };
    (any::<bool>(), bounds).prop_map(|(not_null, bounds)| Refinements { not_null, ..bounds }).boxed()
}

/// Refinements holding a lower and an upper bound drawn from `lower` and `upper`, which `set`
/// stores in the fields of their kind (numbers and lengths are bounded alike).
fn arb_bounds<L: Strategy + 'static, U: Strategy + 'static>(
    lower: L,
    upper: U,
    set: fn(&mut Refinements, L::Value, U::Value),
) -> BoxedStrategy<Refinements> {
    (lower, upper)
        .prop_map(move |(lower, upper)| {
            let mut refinements = Refinements::default();
            set(&mut refinements, lower, upper);
            refinements
        })
        .boxed()
}

/// A value of type `ty`: null, unknown, or known (recursively the same choice for every part).
pub fn arb_value(ty: &Type) -> BoxedStrategy<Value> {
    let known = arb_known_value(ty);
    prop_oneof![
        1 => Just(Value::Null),
        1 => arb_refinements(ty).prop_map(Value::Unknown),
        6 => known,
    ]
    .boxed()
}

fn arb_known_value(ty: &Type) -> BoxedStrategy<Value> {
    match ty {
        Type::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        Type::Number => arb_number().prop_map(Value::Number).boxed(),
        Type::String => "\\PC{0,8}".prop_map(Value::String).boxed(),
        Type::List(element) => vec(arb_value(element), 0..4).prop_map(Value::List).boxed(),
        Type::Set(element) => vec(arb_value(element), 0..4).prop_map(Value::set).boxed(),
        Type::Map(element) => btree_map("\\PC{0,4}", arb_value(element), 0..3).prop_map(Value::Map).boxed(),
        Type::Tuple(elements) => elements.iter().map(arb_value).collect::<Vec<_>>().prop_map(Value::Tuple).boxed(),
        Type::Object { attributes, .. } => {
            let names: Vec<String> = attributes.keys().cloned().collect();
            attributes
                .values()
                .map(arb_value)
                .collect::<Vec<_>>()
                .prop_map(move |values| Value::Object(names.iter().cloned().zip(values).collect::<BTreeMap<_, _>>()))
                .boxed()
        }
        Type::Dynamic => concrete_type()
            .prop_flat_map(|concrete| {
                let ty = concrete.clone();
                arb_value(&concrete).prop_map(move |v| Value::dynamic(ty.clone(), v))
            })
            .boxed(),
    }
}

/// A type together with a value of that type.
pub fn arb_typed_value() -> impl Strategy<Value = (Type, Value)> {
    arb_type().prop_flat_map(|ty| {
        let t = ty.clone();
        arb_value(&ty).prop_map(move |v| (t.clone(), v))
    })
}
