//! Provider logs in the shape Terraform understands: one hclog-style JSON object per line on
//! stderr.
//!
//! go-plugin reads the plugin's stderr, parses each JSON line (`@level`, `@message`,
//! `@timestamp`, and every other key as a field) and re-logs it through Terraform's logger, so
//! `TF_LOG=debug terraform plan` shows provider lines at their real levels. Anything else on
//! stderr is demoted to debug noise.
//!
//! Dependencies (AWS SDK, hyper, h2, rustls) are capped at INFO whatever the requested level:
//! their debug/trace output can contain request signatures, tokens and raw payloads, and secrets
//! must never reach a log.

use std::io::Write as _;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt as _;

/// The `@module` every line carries, as Terraform names provider loggers.
pub const LOG_MODULE: &str = concat!("provider.", env!("CARGO_PKG_NAME"));
/// Our own crate's target prefix; everything else counts as a dependency.
const OUR_TARGET: &str = env!("CARGO_CRATE_NAME");
/// The most detail dependencies may log.
const DEPENDENCY_CEILING: LevelFilter = LevelFilter::INFO;

/// Installs the stderr JSON logger with the level Terraform's log variables ask for.
///
/// Call once, first thing in `main`; later calls leave the first logger in place.
pub fn init_logging() {
    let level = level_from_lookup(|key| std::env::var(key).ok());
    let _already_installed = tracing_subscriber::registry()
        .with(HclogJsonLayer::new(std::io::stderr).with_filter(level_targets(level)))
        .try_init();
}

/// The level for our own logs: `TF_LOG_PROVIDER`, else `TF_LOG`.
///
/// `trace`/`debug`/`info`/`warn`/`error` map to themselves and `json` (Terraform's "everything,
/// as JSON") to trace. `off` keeps warnings and errors, which Terraform still surfaces when
/// something goes wrong. Unset or unrecognised means info.
pub fn level_from_lookup(lookup: impl Fn(&str) -> Option<String>) -> LevelFilter {
    let requested = lookup("TF_LOG_PROVIDER")
        .filter(|value| !value.trim().is_empty())
        .or_else(|| lookup("TF_LOG"))
        .unwrap_or_default();
    match requested.trim().to_ascii_lowercase().as_str() {
        "trace" | "json" => LevelFilter::TRACE,
        "debug" => LevelFilter::DEBUG,
        "warn" | "off" => LevelFilter::WARN,
        "error" => LevelFilter::ERROR,
        _ => LevelFilter::INFO,
    }
}

/// `level` for this crate, at most `DEPENDENCY_CEILING` (info) for everything else.
pub fn level_targets(level: LevelFilter) -> Targets {
    Targets::new().with_target(OUR_TARGET, level).with_default(level.min(DEPENDENCY_CEILING))
}

/// A `tracing` layer writing each event as one hclog JSON line to the writer it was given.
///
/// Fields of the spans enclosing an event are included (outermost first, inner ones win), so a
/// span such as `rpc{tf_rpc="PlanResourceChange"}` labels every line logged inside it.
#[derive(Debug)]
pub struct HclogJsonLayer<W> {
    make_writer: W,
}

impl<W> HclogJsonLayer<W> {
    /// A layer writing to `make_writer` (e.g. `std::io::stderr`).
    pub fn new(make_writer: W) -> Self {
        Self { make_writer }
    }
}

/// Fields recorded on a span, kept in the span's extensions until it closes.
struct SpanFields(Map<String, Value>);

impl<S, W> Layer<S> for HclogJsonLayer<W>
where
    S: Subscriber + for<'lookup> LookupSpan<'lookup>,
    W: for<'writer> MakeWriter<'writer> + 'static,
{
    fn on_new_span(&self, attrs: &tracing::span::Attributes<'_>, id: &tracing::span::Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = JsonFields::default();
        attrs.record(&mut fields);
        span.extensions_mut().insert(SpanFields(fields.fields));
    }

    fn on_record(&self, id: &tracing::span::Id, values: &tracing::span::Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = JsonFields::default();
        values.record(&mut fields);
        let mut extensions = span.extensions_mut();
        match extensions.get_mut::<SpanFields>() {
            Some(SpanFields(existing)) => existing.extend(fields.fields),
            None => extensions.insert(SpanFields(fields.fields)),
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut context_fields = Map::new();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(SpanFields(fields)) = span.extensions().get::<SpanFields>() {
                    context_fields.extend(fields.clone());
                }
            }
        }
        let mut event_fields = JsonFields::default();
        event.record(&mut event_fields);
        context_fields.extend(event_fields.fields);

        let line = hclog_line(
            *event.metadata().level(),
            event_fields.message.unwrap_or_default(),
            &format_timestamp(time::OffsetDateTime::now_utc()),
            context_fields,
        );
        // One write per line keeps concurrent lines from interleaving; a failed log write has
        // nowhere to be reported.
        let _ = self.make_writer.make_writer().write_all(line.as_bytes());
    }
}

/// One JSON line (with trailing newline) in hclog's layout.
fn hclog_line(level: Level, message: String, timestamp: &str, fields: Map<String, Value>) -> String {
    let mut object = Map::new();
    object.insert("@level".to_owned(), Value::from(hclog_level(level)));
    object.insert("@message".to_owned(), Value::from(message));
    object.insert("@module".to_owned(), Value::from(LOG_MODULE));
    object.insert("@timestamp".to_owned(), Value::from(timestamp));
    for (key, value) in fields {
        // Reserved keys are ours; a field must not be able to forge them.
        if !key.starts_with('@') {
            object.insert(key, value);
        }
    }
    let mut line = Value::Object(object).to_string();
    line.push('\n');
    line
}

fn hclog_level(level: Level) -> &'static str {
    match level {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

/// RFC 3339 in UTC with microseconds, the layout go-plugin parses: `2006-01-02T15:04:05.000000Z`.
fn format_timestamp(at: time::OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.microsecond()
    )
}

/// Collects an event's or span's fields as JSON, separating out the `message`.
#[derive(Default)]
struct JsonFields {
    message: Option<String>,
    fields: Map<String, Value>,
}

impl JsonFields {
    fn put(&mut self, field: &Field, value: Value) {
        if field.name() == "message" {
            self.message = Some(match value {
                Value::String(text) => text,
                other => other.to_string(),
            });
        } else {
            self.fields.insert(field.name().to_owned(), value);
        }
    }
}

impl Visit for JsonFields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        let json = serde_json::Number::from_f64(value).map_or_else(|| Value::from(value.to_string()), Value::Number);
        self.put(field, json);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::from(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::from(value));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, Value::from(value.to_string()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, Value::from(format!("{value:?}")));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A `MakeWriter` capturing everything written into a shared buffer.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Self;

        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    fn capture(level: LevelFilter, emit: impl FnOnce()) -> Vec<Value> {
        let captured = Captured::default();
        let subscriber = tracing_subscriber::registry()
            .with(HclogJsonLayer::new(captured.clone()).with_filter(level_targets(level)));
        tracing::subscriber::with_default(subscriber, emit);
        let bytes = captured.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap().lines().map(|line| serde_json::from_str(line).unwrap()).collect()
    }

    #[test]
    fn events_become_hclog_json_lines_with_span_fields() {
        let lines = capture(LevelFilter::TRACE, || {
            let span = tracing::info_span!("rpc", tf_rpc = "PlanResourceChange");
            let _entered = span.enter();
            tracing::warn!(attempts = 3, retry = true, "throttled by {}", "EC2");
        });
        assert_eq!(lines.len(), 1);
        let line = &lines[0];
        assert_eq!(line["@level"], "warn");
        assert_eq!(line["@message"], "throttled by EC2");
        assert_eq!(line["@module"], LOG_MODULE);
        assert_eq!(line["tf_rpc"], "PlanResourceChange");
        assert_eq!(line["attempts"], 3);
        assert_eq!(line["retry"], true);
        let timestamp = line["@timestamp"].as_str().unwrap();
        // 2026-11-22T03:04:05.123456Z
        assert_eq!(timestamp.len(), 27, "{timestamp}");
        assert!(timestamp.ends_with('Z'));
    }

    #[test]
    fn every_level_is_named_as_hclog_names_it() {
        let lines = capture(LevelFilter::TRACE, || {
            tracing::trace!("t");
            tracing::debug!("d");
            tracing::info!("i");
            tracing::warn!("w");
            tracing::error!("e");
        });
        let levels: Vec<&str> = lines.iter().map(|line| line["@level"].as_str().unwrap()).collect();
        assert_eq!(levels, ["trace", "debug", "info", "warn", "error"]);
    }

    #[test]
    fn the_level_filter_applies() {
        let lines = capture(LevelFilter::WARN, || {
            tracing::info!("hidden");
            tracing::error!("shown");
        });
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0]["@message"], "shown");
    }

    #[test]
    fn fields_cannot_forge_reserved_keys() {
        let line =
            hclog_line(Level::INFO, "m".to_owned(), "t", Map::from_iter([("@level".to_owned(), Value::from("error"))]));
        let parsed: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(parsed["@level"], "info");
        assert!(line.ends_with('\n'));
    }

    #[test]
    fn dependencies_are_capped_at_info() {
        let targets = level_targets(LevelFilter::TRACE);
        assert!(targets.would_enable("terraform_provider_retool::plugin", &Level::TRACE));
        assert!(!targets.would_enable("aws_sigv4::http_request", &Level::DEBUG));
        assert!(targets.would_enable("aws_config", &Level::INFO));
    }

    #[test]
    fn terraform_log_variables_choose_the_level() {
        let lookup = |pairs: &'static [(&'static str, &'static str)]| {
            move |key: &str| pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| (*v).to_owned())
        };
        assert_eq!(level_from_lookup(lookup(&[])), LevelFilter::INFO);
        assert_eq!(level_from_lookup(lookup(&[("TF_LOG", "DEBUG")])), LevelFilter::DEBUG);
        assert_eq!(level_from_lookup(lookup(&[("TF_LOG", "json")])), LevelFilter::TRACE);
        assert_eq!(level_from_lookup(lookup(&[("TF_LOG", "off")])), LevelFilter::WARN);
        assert_eq!(level_from_lookup(lookup(&[("TF_LOG", "trace"), ("TF_LOG_PROVIDER", "error")])), LevelFilter::ERROR);
        assert_eq!(level_from_lookup(lookup(&[("TF_LOG", "bogus")])), LevelFilter::INFO);
    }

    #[test]
    fn timestamps_use_go_plugins_layout() {
        let at = time::OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789).unwrap();
        assert_eq!(format_timestamp(at), "2023-11-14T22:13:20.123456Z");
    }
}
