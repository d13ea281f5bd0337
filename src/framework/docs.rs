//! Reference documentation rendered from schemas.
//!
//! The schema is the single source of truth for what an attribute means, so the docs pages under
//! `docs/` are rendered from it (and a test fails when they drift). An operator reading the page
//! sees the same words `terraform providers schema -json` shows, plus what the validators and plan
//! modifiers promise: ranges, allowed values, defaults, "forces replacement".

use std::fmt::Write;

use crate::value::{Type, Value};

use super::schema::{Attribute, AttributeType, Block, Nesting};

/// Renders one page: `title`, the block's description, an example, and the attribute reference.
pub fn render_page(title: &str, block: &Block, example: Option<&str>, footer: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {title}\n");
    let _ = writeln!(out, "{}\n", block.description.trim());
    if let Some(example) = example {
        let _ = writeln!(out, "## Example usage\n\n```hcl\n{}\n```\n", example.trim());
    }
    let (arguments, computed): (Vec<&Attribute>, Vec<&Attribute>) =
        block.attributes.iter().partition(|a| a.required || a.optional);
    if !arguments.is_empty() || !block.blocks.is_empty() {
        let _ = writeln!(out, "## Argument reference\n");
        for a in arguments {
            render_attribute(&mut out, a, 0);
        }
        render_blocks(&mut out, block, 0);
        out.push('\n');
    }
    // An optional argument the provider fills in when it is left unset is also an output: list it
    // with the outputs, pointing back at its description, so a reader looking for what to reference
    // finds it.
    let filled_in: Vec<&Attribute> = block.attributes.iter().filter(|a| filled_in_by_provider(a)).collect();
    if !computed.is_empty() || !filled_in.is_empty() {
        let _ = writeln!(out, "## Attribute reference\n\nIn addition to the arguments, these are exported:\n");
        for a in filled_in {
            let _ = writeln!(
                out,
                "- `{}` ({}) — the value in use, whether configured or filled in by the provider; see the argument above.",
                a.name,
                type_name(a)
            );
        }
        for a in computed {
            render_attribute(&mut out, a, 0);
        }
        out.push('\n');
    }
    if !footer.trim().is_empty() {
        let _ = writeln!(out, "{}", footer.trim());
    }
    out
}

/// The nested blocks of `block` at `depth`, each followed by its attributes and, one level deeper,
/// its own blocks (e.g. `workflows` → `temporal`).
fn render_blocks(out: &mut String, block: &Block, depth: usize) {
    let indent = "  ".repeat(depth);
    for b in &block.blocks {
        let nesting = match b.nesting {
            Nesting::Single | Nesting::Group => "block, at most one".to_owned(),
            _ if b.max_items > 0 => format!("blocks, {} to {}", b.min_items, b.max_items),
            _ => "blocks".to_owned(),
        };
        let _ = writeln!(out, "{indent}- `{}` ({nesting}) — {}", b.name, one_line(&b.block.description));
        for a in &b.block.attributes {
            render_attribute(out, a, depth + 1);
        }
        render_blocks(out, &b.block, depth + 1);
    }
}

fn render_attribute(out: &mut String, a: &Attribute, depth: usize) {
    let indent = "  ".repeat(depth);
    let mut facts = vec![type_name(a)];
    facts.push(
        match (a.required, a.optional, a.computed) {
            (true, _, _) => "required",
            (_, true, _) if filled_in_by_provider(a) => "optional, computed when unset",
            (_, true, _) => "optional",
            _ => "read-only",
        }
        .to_owned(),
    );
    if a.sensitive {
        facts.push("sensitive".to_owned());
    }
    if a.write_only {
        facts.push("write-only".to_owned());
    }
    if a.deprecated {
        facts.push("deprecated".to_owned());
    }
    let mut line = format!("{indent}- `{}` ({}) — {}", a.name, facts.join(", "), one_line(&a.description));
    if let Some(default) = &a.default
        && !a.description.contains("Default")
    {
        let _ = write!(line, " Default: `{}`.", literal(default));
    }
    for v in &a.validators {
        let _ = write!(line, " {}.", capitalize(&v.description()));
    }
    if !a.description.contains("replaces") {
        for m in &a.plan_modifiers {
            let description = m.description();
            if description.contains("replaces") {
                let _ = write!(line, " {}.", capitalize(&description));
            }
        }
    }
    let _ = writeln!(out, "{line}");
    if let AttributeType::Nested { attributes, .. } = &a.kind {
        for inner in attributes {
            render_attribute(out, inner, depth + 1);
        }
    }
}

fn type_name(a: &Attribute) -> String {
    match &a.kind {
        AttributeType::Plain(ty) => plain_type(ty),
        AttributeType::Nested { nesting, .. } => match nesting {
            Nesting::Single | Nesting::Group => "object".to_owned(),
            Nesting::List => "list of objects".to_owned(),
            Nesting::Set => "set of objects".to_owned(),
            Nesting::Map => "map of objects".to_owned(),
        },
    }
}

fn plain_type(ty: &Type) -> String {
    match ty {
        Type::Bool => "bool".to_owned(),
        Type::Number => "number".to_owned(),
        Type::String => "string".to_owned(),
        Type::Dynamic => "any".to_owned(),
        Type::List(t) => format!("list of {}", plain_type(t)),
        Type::Set(t) => format!("set of {}", plain_type(t)),
        Type::Map(t) => format!("map of {}", plain_type(t)),
        Type::Object { .. } => "object".to_owned(),
        Type::Tuple(_) => "tuple".to_owned(),
    }
}

fn literal(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::List(items) | Value::Set(items) | Value::Tuple(items) => {
            format!("[{}]", items.iter().map(literal).collect::<Vec<_>>().join(", "))
        }
        Value::Map(m) | Value::Object(m) if m.is_empty() => "{}".to_owned(),
        Value::Null => "null".to_owned(),
        other => format!("{other:?}"),
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// An optional argument whose value, when left unset, the provider chooses at apply (rather than
/// a fixed default the schema states).
fn filled_in_by_provider(a: &Attribute) -> bool {
    a.optional && a.computed && a.default.is_none()
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::schema::NestedBlock;
    use crate::framework::testing::sample_schema;

    #[test]
    fn page_lists_every_attribute_with_its_promises() {
        let block = sample_schema().block;
        let page = render_page("retool_x", &block, Some("resource \"retool_x\" \"a\" {}"), "## Import\n\nBy id.");
        assert!(
            page.contains("- `name` (string, required) — Name. Changing this value replaces the resource."),
            "{page}"
        );
        assert!(page.contains("Default: `1`. Must be a whole number from 1 to 10."), "{page}");
        assert!(page.contains("## Attribute reference"));
        assert!(page.contains("- `id` (string, read-only) — Id."), "{page}");
        assert!(page.ends_with("By id.\n"));
    }

    #[test]
    fn a_block_inside_a_block_is_listed_under_it_one_level_deeper() {
        let inner =
            Block::new("Inner.").attribute(Attribute::new("host", Type::String).optional().description("Host."));
        let outer = Block::new("Outer.")
            .attribute(Attribute::new("enabled", Type::Bool).optional().description("Enabled."))
            .block(NestedBlock::new("temporal", Nesting::Single, inner));
        let block = sample_schema().block.block(NestedBlock::new("workflows", Nesting::Single, outer));
        let page = render_page("retool_x", &block, None, "");
        assert!(
            page.contains(
                "- `workflows` (block, at most one) — Outer.\n  - `enabled` (bool, optional) — Enabled.\n  \
                 - `temporal` (block, at most one) — Inner.\n    - `host` (string, optional) — Host.\n"
            ),
            "{page}"
        );
    }

    #[test]
    fn an_argument_the_provider_fills_in_is_listed_as_an_output_too() {
        let block = sample_schema().block.attribute(
            Attribute::new("key_arn", Type::String).optional().computed().description("Key; made when unset."),
        );
        let page = render_page("retool_x", &block, None, "");
        let (arguments, outputs) = page.split_once("## Attribute reference").expect("both sections");
        assert!(
            arguments.contains("- `key_arn` (string, optional, computed when unset) — Key; made when unset."),
            "{page}"
        );
        assert!(outputs.contains("- `key_arn` (string) — the value in use"), "{page}");
        assert!(!outputs.contains("`size`"), "an attribute with a schema default is not an output: {page}");
    }
}
