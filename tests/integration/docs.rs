//! The reference pages under `docs/` are rendered from the schemas, so they cannot drift from what
//! `terraform providers schema -json` says. This test fails when they differ; regenerate them with
//! `UPDATE_DOCS=1 cargo test --test integration docs::`.

use std::path::{Path, PathBuf};

use terraform_provider_retool::framework::Provider;
use terraform_provider_retool::framework::docs::render_page;
use terraform_provider_retool::provider::RetoolProvider;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The hand-written part of a page (`docs/templates/<page>.md`), appended to what the schema renders.
fn template(page: &str) -> String {
    std::fs::read_to_string(root().join("docs").join("templates").join(format!("{page}.md"))).unwrap_or_default()
}

/// The `main.tf` of an example directory, when the example exists.
fn example(dir: &str) -> Option<String> {
    std::fs::read_to_string(root().join("examples").join(dir).join("main.tf")).ok()
}

fn pages() -> Vec<(PathBuf, String)> {
    let provider = RetoolProvider::new();
    let mut pages = vec![(
        PathBuf::from("docs/index.md"),
        render_page("retool provider", &provider.schema().block, example("provider").as_deref(), &template("index")),
    )];
    for resource in provider.resources() {
        let name = resource.type_name();
        let short = name.strip_prefix("retool_").unwrap_or(name);
        let schema = resource.schema();
        let page = render_page(name, &schema.block, example(&short.replace('_', "-")).as_deref(), "");
        pages.push((Path::new("docs/resources").join(format!("{short}.md")), page));
    }
    pages
}

#[test]
fn every_schema_is_well_formed_and_fully_described() {
    let provider = RetoolProvider::new();
    provider.schema().check_definition().expect("provider schema");
    for resource in provider.resources() {
        resource.schema().check_definition().unwrap_or_else(|e| panic!("{}: {e}", resource.type_name()));
    }
}

#[test]
fn docs_pages_match_the_schemas() {
    let update = std::env::var_os("UPDATE_DOCS").is_some();
    let mut stale = Vec::new();
    for (path, rendered) in pages() {
        let file = root().join(&path);
        if update {
            std::fs::create_dir_all(file.parent().expect("docs dir")).expect("create docs dir");
            std::fs::write(&file, &rendered).expect("write docs page");
        } else if std::fs::read_to_string(&file).ok().as_deref() != Some(rendered.as_str()) {
            stale.push(path.display().to_string());
        }
    }
    assert!(stale.is_empty(), "stale docs pages {stale:?}: run `UPDATE_DOCS=1 cargo test --test integration docs::`");
}
