//! Hostile input through the plugin protocol, straight into the provider's gRPC service: every RPC
//! that carries values gets malformed and oversized ones — random bytes, every truncation of a
//! valid value, deep nesting, invalid UTF-8, a 70,000-character name — and must answer with error
//! diagnostics: never a panic, an error status (a reset stream for Terraform) or a hang, and the
//! provider serves a well-formed request afterwards. No AWS endpoint is ever reached: the provider
//! is configured with every endpoint on a closed loopback port, and the checks that matter here
//! happen before any call.

use std::time::Duration;

use terraform_provider_retool::protocol::server::ProviderService;
use terraform_provider_retool::protocol::tfplugin6 as tf;
use terraform_provider_retool::provider::RetoolProvider;
use tf::provider_server::Provider as _;
use tonic::Request;

/// Upper bound for one RPC; a hang is a failure.
const RPC: Duration = Duration::from_secs(20);
const RESOURCES: [&str; 3] = ["retool_network", "retool_deployment", "retool_permission_boundary"];

/// msgpack encodings of the few shapes these tests build by hand.
mod msgpack {
    pub const NIL: u8 = 0xc0;

    pub fn string(text: &str) -> Vec<u8> {
        bytes_with_header(text.as_bytes(), [0xd9, 0xda, 0xdb], 0xa0)
    }

    /// A string whose bytes are not UTF-8.
    pub fn invalid_utf8() -> Vec<u8> {
        vec![0xa4, 0xff, 0xfe, 0xc3, 0x28]
    }

    pub fn map(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut out = match u16::try_from(entries.len()) {
            Ok(n) if n < 16 => vec![0x80 | n as u8],
            Ok(n) => [vec![0xde], n.to_be_bytes().to_vec()].concat(),
            Err(_) => unreachable!("test maps are small"),
        };
        for (key, value) in entries {
            out.extend(string(key));
            out.extend(value);
        }
        out
    }

    fn bytes_with_header(bytes: &[u8], headers: [u8; 3], fix: u8) -> Vec<u8> {
        let n = bytes.len();
        let mut out = if n < 32 {
            vec![fix | n as u8]
        } else if let Ok(n) = u8::try_from(n) {
            vec![headers[0], n]
        } else if let Ok(n) = u16::try_from(n) {
            [vec![headers[1]], n.to_be_bytes().to_vec()].concat()
        } else {
            [vec![headers[2]], (n as u32).to_be_bytes().to_vec()].concat()
        };
        out.extend_from_slice(bytes);
        out
    }
}

/// A deterministic stream of bytes (xorshift), so a failure names a reproducible case.
fn noise(seed: u64, length: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..length)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

fn dynamic(msgpack: Vec<u8>) -> Option<tf::DynamicValue> {
    Some(tf::DynamicValue { msgpack, json: Vec::new() })
}

/// How many seeds of random bytes, and of mutations of a valid value, to send: 60 in `make test`;
/// `make fuzz` sets `RETOOL_FUZZ_SEEDS` for a longer run.
fn seeds() -> u64 {
    std::env::var("RETOOL_FUZZ_SEEDS").ok().and_then(|seeds| seeds.parse().ok()).unwrap_or(60)
}

/// `valid` with one to four bytes replaced, chosen by `seed`: close enough to a real value to get
/// deep into the decoder and the validators.
fn mutated(valid: &[u8], seed: u64) -> Vec<u8> {
    let mut bytes = valid.to_vec();
    let picks = noise(seed, 8);
    for pair in picks.chunks(2).take(1 + (seed as usize % 4)) {
        if let [position, value] = pair {
            let index = (usize::from(*position) * 131 + seed as usize) % bytes.len().max(1);
            if let Some(byte) = bytes.get_mut(index) {
                *byte = *value;
            }
        }
    }
    bytes
}

/// The hostile payloads, each with whether it is malformed (so only an error may answer it):
/// random bytes of several lengths and mutations of `valid` (either may happen to decode), deep
/// nesting, invalid UTF-8, a 70,000-character name, and every non-empty truncation of `valid`.
fn hostile_payloads(valid: &[u8]) -> Vec<(String, Vec<u8>, bool)> {
    let mut payloads: Vec<(String, Vec<u8>, bool)> = (0..seeds())
        .flat_map(|seed| {
            [
                (format!("noise seed {seed}"), noise(seed, 1 + (seed as usize * 37) % 700), false),
                (format!("mutation seed {seed}"), mutated(valid, seed), false),
            ]
        })
        .collect();
    payloads.push(("100,000 nested arrays".into(), vec![0x91; 100_000], true));
    payloads.push(("a map claiming 4 billion entries".into(), vec![0xdf, 0xff, 0xff, 0xff, 0xff], true));
    payloads.push(("invalid UTF-8 name".into(), msgpack::map(&[("name", msgpack::invalid_utf8())]), true));
    let huge = msgpack::map(&[("name", msgpack::string(&"a".repeat(70_000)))]);
    // Well-formed msgpack: refused by the validators where a name is checked, harmless elsewhere.
    payloads.push(("70,000-character name".into(), huge, false));
    payloads.extend((1..valid.len()).map(|cut| (format!("truncated at byte {cut}"), valid[..cut].to_vec(), true)));
    payloads
}

fn has_error(diagnostics: &[tf::Diagnostic]) -> bool {
    diagnostics.iter().any(|d| d.severity == tf::diagnostic::Severity::Error as i32)
}

fn internal_errors(diagnostics: &[tf::Diagnostic]) -> Vec<String> {
    diagnostics.iter().filter(|d| d.summary.contains("Internal error")).map(|d| d.detail.clone()).collect()
}

/// Runs one RPC within [`RPC`]; an error status or a hang fails the test, naming the case.
async fn answer<T>(
    case: &str,
    call: impl std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
) -> T {
    match tokio::time::timeout(RPC, call).await {
        Err(_) => panic!("{case}: no answer within {RPC:?}"),
        Ok(Err(status)) => panic!("{case}: error status {status:?} instead of diagnostics"),
        Ok(Ok(response)) => response.into_inner(),
    }
}

/// The provider's configuration with every attribute null but the region, and every endpoint on
/// a closed loopback port.
async fn configured() -> ProviderService<RetoolProvider> {
    let service = ProviderService::new(RetoolProvider::new());
    let schema = answer("GetProviderSchema", service.get_provider_schema(Request::new(Default::default()))).await;
    let block = schema.provider.and_then(|p| p.block).expect("provider schema");
    let mut entries: Vec<(&str, Vec<u8>)> = Vec::new();
    for attribute in &block.attributes {
        let value = if attribute.name == "region" { msgpack::string("us-east-1") } else { vec![msgpack::NIL] };
        entries.push((&attribute.name, value));
    }
    let endpoints: Vec<(String, Vec<u8>)> = block
        .block_types
        .iter()
        .find(|nested| nested.type_name == "endpoints")
        .and_then(|nested| nested.block.as_ref())
        .map(|endpoints| {
            let closed = msgpack::string("http://127.0.0.1:9");
            endpoints.attributes.iter().map(|a| (a.name.clone(), closed.clone())).collect()
        })
        .unwrap_or_default();
    let endpoint_refs: Vec<(&str, Vec<u8>)> = endpoints.iter().map(|(n, v)| (n.as_str(), v.clone())).collect();
    for nested in &block.block_types {
        let value = if nested.type_name == "endpoints" { msgpack::map(&endpoint_refs) } else { vec![msgpack::NIL] };
        entries.push((&nested.type_name, value));
    }
    let request = tf::configure_provider::Request { config: dynamic(msgpack::map(&entries)), ..Default::default() };
    let response = answer("ConfigureProvider", service.configure_provider(Request::new(request))).await;
    assert!(!has_error(&response.diagnostics), "configure: {:?}", response.diagnostics);
    service
}

#[tokio::test]
async fn malformed_and_oversized_values_get_diagnostics_on_every_rpc_and_the_provider_keeps_serving() {
    let service = configured().await;
    let valid = msgpack::map(&[("name", msgpack::string("acme")), ("network_id", msgpack::string("vpc-0123abcd"))]);
    let mut sent = 0;
    for (case, payload, must_refuse) in hostile_payloads(&valid) {
        for type_name in RESOURCES {
            let named = |rpc: &str| format!("{rpc} {type_name} with {case}");
            let value = || dynamic(payload.clone());

            let request = tf::validate_resource_config::Request {
                type_name: type_name.into(),
                config: value(),
                ..Default::default()
            };
            let validated =
                answer(&named("ValidateResourceConfig"), service.validate_resource_config(Request::new(request))).await;
            assert!(!must_refuse || has_error(&validated.diagnostics), "{}: no error", named("ValidateResourceConfig"));

            let request = tf::read_resource::Request {
                type_name: type_name.into(),
                current_state: value(),
                ..Default::default()
            };
            let read = answer(&named("ReadResource"), service.read_resource(Request::new(request))).await;
            assert!(!must_refuse || has_error(&read.diagnostics), "{}: no error", named("ReadResource"));

            let request = tf::plan_resource_change::Request {
                type_name: type_name.into(),
                prior_state: value(),
                proposed_new_state: value(),
                config: value(),
                ..Default::default()
            };
            let planned =
                answer(&named("PlanResourceChange"), service.plan_resource_change(Request::new(request))).await;
            assert!(!must_refuse || has_error(&planned.diagnostics), "{}: no error", named("PlanResourceChange"));

            let request = tf::apply_resource_change::Request {
                type_name: type_name.into(),
                prior_state: value(),
                planned_state: value(),
                config: value(),
                ..Default::default()
            };
            let applied =
                answer(&named("ApplyResourceChange"), service.apply_resource_change(Request::new(request))).await;
            assert!(!must_refuse || has_error(&applied.diagnostics), "{}: no error", named("ApplyResourceChange"));

            for diagnostics in [&validated.diagnostics, &read.diagnostics, &planned.diagnostics, &applied.diagnostics] {
                assert!(
                    internal_errors(diagnostics).is_empty(),
                    "{case}: a panic was caught: {:?}",
                    internal_errors(diagnostics)
                );
            }
            sent += 4;
        }
    }

    // Import ids: absurd ones are refused before any AWS call, with the id shown cut short.
    for (type_name, id) in [
        ("retool_deployment", "a".repeat(70_000)),
        ("retool_network", format!("vpc-{}", "0".repeat(70_000))),
        ("retool_permission_boundary", "\u{0}\u{ffff}".repeat(1_000)),
        ("retool_deployment", "acme\u{0}".to_owned()),
    ] {
        let case = format!("ImportResourceState {type_name} with a {}-character id", id.chars().count());
        let request = tf::import_resource_state::Request { type_name: type_name.into(), id, ..Default::default() };
        let imported = answer(&case, service.import_resource_state(Request::new(request))).await;
        assert!(imported.imported_resources.is_empty(), "{case}: imported something");
        let errors: Vec<&tf::Diagnostic> =
            imported.diagnostics.iter().filter(|d| d.summary == "Invalid import id").collect();
        assert!(!errors.is_empty(), "{case}: {:?}", imported.diagnostics);
        assert!(errors.iter().all(|d| d.detail.len() < 1_000), "{case}: the id is echoed in full");
        sent += 1;
    }

    // Still serving after every hostile request.
    let schema = answer("GetProviderSchema", service.get_provider_schema(Request::new(Default::default()))).await;
    assert_eq!(schema.resource_schemas.len(), RESOURCES.len(), "after {sent} hostile requests");
    eprintln!("{sent} hostile requests answered with diagnostics, no panic caught, provider still serving");
}
