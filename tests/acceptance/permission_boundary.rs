//! Acceptance tests of `retool_permission_boundary`: real Terraform applies
//! `examples/permission-boundary` through the provider against a private moto emulator, and every
//! step is checked through the IAM API — both roles carry the operator boundary, the trust
//! policies hold the operator principals, the external id and the MFA condition, drift made
//! behind Terraform's back (a removed boundary, a rewritten trust policy, an edited boundary
//! document, an extra attached policy) is reported and repaired, policy versions never pile up
//! past IAM's five, `setup_role = false` deletes the setup role only, import by `name_prefix`
//! adopts everything, and destroy leaves nothing. Invalid input is refused on its attribute with
//! no AWS call.

use serde_json::{Value, json};

use crate::support::diagnostics::{error_diagnostics, ownership_refusal};
use crate::support::{Emulator, Workspace, acceptance_toolchain};

const ADDRESS: &str = "retool_permission_boundary.operator";
const PREFIX: &str = "retool";
const OPERATORS: [&str; 2] =
    ["arn:aws:iam::444455556666:role/retool-operator", "arn:aws:iam::444455556666:user/oncall"];
const EXTERNAL_ID: &str = "acceptance-7f3c";

fn iam_client(endpoint: &str) -> aws_sdk_iam::Client {
    use aws_sdk_iam::config::{BehaviorVersion, Credentials, Region};
    let config = aws_sdk_iam::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(crate::support::aws::REGION))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("test", "test", None, None, "acceptance-tests"))
        .build();
    aws_sdk_iam::Client::from_conf(config)
}

/// Puts `examples/permission-boundary` in the workspace, with a backend file for the workspace's
/// bucket and variables pointing at the emulator.
fn use_example(workspace: &Workspace, endpoint: &str, setup_role: bool) {
    let operators = OPERATORS.map(|arn| format!("\"{arn}\"")).join(", ");
    let variables = format!(
        "aws_endpoint = \"{endpoint}\"\noperator_principal_arns = [{operators}]\nexternal_id = \"{EXTERNAL_ID}\"\nsetup_role = {setup_role}\n"
    );
    workspace.use_example("permission-boundary", &variables);
}

async fn init(workspace: &Workspace) {
    workspace.init_example(&[]).await.expect("init");
}

/// IAM returns documents URL-encoded (moto returns them as stored); either way, the JSON value.
fn document(text: &str) -> Value {
    let text = text.trim();
    let decoded = if text.starts_with('{') {
        text.to_owned()
    } else {
        let bytes = text.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' && i + 2 < bytes.len() {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("ascii escape");
                out.push(u8::from_str_radix(hex, 16).expect("hex escape"));
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).expect("utf-8 document")
    };
    serde_json::from_str(&decoded).unwrap_or_else(|error| panic!("not a JSON document ({error}): {decoded}"))
}

/// What IAM holds for one role.
#[derive(Debug)]
struct RoleView {
    boundary: Option<String>,
    trust: Value,
    max_session: Option<i32>,
    attached: Vec<String>,
}

async fn role(iam: &aws_sdk_iam::Client, name: &str) -> Option<RoleView> {
    let role = match iam.get_role().role_name(name).send().await {
        Ok(output) => output.role.expect("GetRole returns the role"),
        Err(error) if error.as_service_error().is_some_and(|e| e.is_no_such_entity_exception()) => return None,
        Err(error) => panic!("GetRole {name}: {error:?}"),
    };
    let attached = iam.list_attached_role_policies().role_name(name).send().await.expect("ListAttachedRolePolicies");
    Some(RoleView {
        boundary: role.permissions_boundary().and_then(|b| b.permissions_boundary_arn()).map(str::to_owned),
        trust: document(role.assume_role_policy_document().expect("trust policy")),
        max_session: role.max_session_duration(),
        attached: attached.attached_policies().iter().filter_map(|p| p.policy_arn()).map(str::to_owned).collect(),
    })
}

/// Makes `document` the default version of the policy at `arn`, as an edit behind Terraform's back.
async fn publish_default_version(iam: &aws_sdk_iam::Client, arn: &str, document: &str) {
    iam.create_policy_version()
        .policy_arn(arn)
        .policy_document(document)
        .set_as_default(true)
        .send()
        .await
        .expect("CreatePolicyVersion");
}

/// The default version's document of a managed policy, and how many versions it has.
async fn policy(iam: &aws_sdk_iam::Client, arn: &str) -> Option<(Value, usize)> {
    let policy = match iam.get_policy().policy_arn(arn).send().await {
        Ok(output) => output.policy.expect("GetPolicy returns the policy"),
        Err(error) if error.as_service_error().is_some_and(|e| e.is_no_such_entity_exception()) => return None,
        Err(error) => panic!("GetPolicy {arn}: {error:?}"),
    };
    let version = policy.default_version_id().expect("default version").to_owned();
    let shown = iam.get_policy_version().policy_arn(arn).version_id(&version).send().await.expect("GetPolicyVersion");
    let text = shown.policy_version().and_then(|v| v.document()).expect("document").to_owned();
    let versions =
        iam.list_policy_versions().policy_arn(arn).send().await.expect("ListPolicyVersions").versions().len();
    Some((document(&text), versions))
}

/// The value of tag `key` on role `name`.
async fn role_tag(iam: &aws_sdk_iam::Client, name: &str, key: &str) -> Option<String> {
    let tags = iam.list_role_tags().role_name(name).send().await.expect("ListRoleTags");
    tags.tags().iter().find(|tag| tag.key() == key).map(|tag| tag.value().to_owned())
}

/// Ids, default versions and tags of every role and policy named `PREFIX-…`: what a refused
/// create must leave as it was.
async fn estate_fingerprint(iam: &aws_sdk_iam::Client) -> Vec<String> {
    let mut lines = Vec::new();
    let roles = iam.list_roles().send().await.expect("ListRoles");
    for role in roles.roles().iter().filter(|role| role.role_name().starts_with(&format!("{PREFIX}-"))) {
        let tags = iam.list_role_tags().role_name(role.role_name()).send().await.expect("ListRoleTags");
        lines.push(format!("{} {} {:?}", role.arn(), role.role_id(), tags.tags()));
    }
    let local =
        iam.list_policies().scope(aws_sdk_iam::types::PolicyScopeType::Local).send().await.expect("ListPolicies");
    for policy in
        local.policies().iter().filter(|p| p.policy_name().is_some_and(|n| n.starts_with(&format!("{PREFIX}-"))))
    {
        let arn = policy.arn().expect("policy ARN");
        let tags = iam.list_policy_tags().policy_arn(arn).send().await.expect("ListPolicyTags");
        lines.push(format!("{arn} {:?} {:?} {:?}", policy.policy_id(), policy.default_version_id(), tags.tags()));
    }
    lines.sort();
    assert_eq!(lines.len(), 6, "two roles and four policies: {lines:#?}");
    lines
}

/// The resource's attributes in Terraform's state.
async fn state(workspace: &Workspace) -> Value {
    let shown = workspace.terraform().show_json().await.expect("show -json");
    shown["values"]["root_module"]["resources"]
        .as_array()
        .and_then(|resources| resources.iter().find(|r| r["address"] == ADDRESS))
        .map(|resource| resource["values"].clone())
        .unwrap_or_else(|| panic!("{ADDRESS} is not in the state: {shown:#}"))
}

fn text<'a>(values: &'a Value, name: &str) -> &'a str {
    values[name].as_str().unwrap_or_else(|| panic!("`{name}` is not a known string: {values:#}"))
}

/// Both trust policies name exactly the operators, require the external id and MFA.
fn assert_trust(view: &RoleView, role: &str) {
    let statements = match &view.trust["Statement"] {
        Value::Array(items) => items.clone(),
        single => vec![single.clone()],
    };
    assert_eq!(statements.len(), 1, "{role}: one trust statement: {:#}", view.trust);
    let statement = &statements[0];
    assert_eq!(statement["Effect"], "Allow", "{role}");
    assert_eq!(statement["Action"], "sts:AssumeRole", "{role}");
    let mut principals: Vec<String> = match &statement["Principal"]["AWS"] {
        Value::Array(items) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        Value::String(one) => vec![one.clone()],
        other => panic!("{role}: unexpected principal {other}"),
    };
    principals.sort();
    assert_eq!(principals, OPERATORS.map(str::to_owned).to_vec(), "{role}: trusted principals");
    assert_eq!(statement["Condition"]["StringEquals"]["sts:ExternalId"], EXTERNAL_ID, "{role}: external id condition");
    assert_eq!(statement["Condition"]["Bool"]["aws:MultiFactorAuthPresent"], "true", "{role}: MFA condition");
}

/// Everything IAM holds matches the state: both boundaries, both roles fenced and trusted as
/// configured, each role carrying exactly its own permissions policy, documents as rendered.
async fn assert_estate(iam: &aws_sdk_iam::Client, values: &Value, setup: bool) {
    let boundary_arn = text(values, "boundary_policy_arn");
    let (boundary, versions) = policy(iam, boundary_arn).await.expect("operator boundary exists");
    assert_eq!(boundary, document(text(values, "boundary_policy_json")), "operator boundary document");
    assert!(versions <= 5, "operator boundary has {versions} versions");
    let (workload, _) =
        policy(iam, text(values, "workload_boundary_policy_arn")).await.expect("workload boundary exists");
    assert_eq!(workload, document(text(values, "workload_boundary_policy_json")), "workload boundary document");

    let maintenance = role(iam, &format!("{PREFIX}-maintenance")).await.expect("maintenance role exists");
    assert_eq!(text(values, "maintenance_role_arn"), format!("arn:aws:iam::123456789012:role/{PREFIX}-maintenance"));
    assert_eq!(maintenance.boundary.as_deref(), Some(boundary_arn), "maintenance role's permissions boundary");
    assert_eq!(maintenance.max_session, Some(43200));
    assert_trust(&maintenance, "maintenance role");
    let maintenance_policy = format!("arn:aws:iam::123456789012:policy/{PREFIX}-maintenance");
    assert_eq!(maintenance.attached, std::slice::from_ref(&maintenance_policy), "maintenance role's policies");
    let (permissions, _) = policy(iam, &maintenance_policy).await.expect("maintenance policy exists");
    assert_eq!(permissions, document(text(values, "maintenance_policy_json")));

    let setup_role = role(iam, &format!("{PREFIX}-setup")).await;
    let setup_policy = policy(iam, &format!("arn:aws:iam::123456789012:policy/{PREFIX}-setup")).await;
    if setup {
        let setup_role = setup_role.expect("setup role exists");
        assert_eq!(setup_role.boundary.as_deref(), Some(boundary_arn), "setup role's permissions boundary");
        assert_trust(&setup_role, "setup role");
        assert_eq!(setup_role.attached, [format!("arn:aws:iam::123456789012:policy/{PREFIX}-setup")]);
        assert_eq!(setup_policy.expect("setup policy exists").0, document(text(values, "setup_policy_json")));
        assert_eq!(text(values, "setup_role_arn"), format!("arn:aws:iam::123456789012:role/{PREFIX}-setup"));
    } else {
        assert!(setup_role.is_none(), "the setup role must be gone: {setup_role:?}");
        assert!(setup_policy.is_none(), "the setup policy must be gone");
        assert!(values["setup_role_arn"].is_null() && values["setup_policy_json"].is_null());
    }
    assert_eq!(values["drift"], json!([]), "no drift after apply");
}

/// Resources a refresh-only plan reports as changed outside Terraform (`resource_drift` events).
///
/// Read from the JSON UI rather than `-detailed-exitcode`: Terraform 1.11 exits 2 from a
/// refresh-only plan of any resource with a set sensitive attribute (here `external_id`) even when
/// nothing changed and `apply -refresh-only` writes nothing; 1.15 does not.
async fn refresh_drift(workspace: &Workspace) -> Vec<String> {
    let output = workspace.terraform().run(&["plan", "-refresh-only", "-json", "-input=false", "-no-color"]).await;
    assert_eq!(output.code, 0, "refresh-only plan failed:\n{output}");
    output
        .stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|event| event["type"] == "resource_drift")
        .filter_map(|event| event["change"]["resource"]["addr"].as_str().map(str::to_owned))
        .collect()
}

fn planned_actions(plan: &Value) -> Vec<String> {
    plan["resource_changes"]
        .as_array()
        .map(|changes| {
            changes
                .iter()
                .filter(|change| change["address"] == ADDRESS)
                .flat_map(|change| change["change"]["actions"].as_array().cloned().unwrap_or_default())
                .filter_map(|action| action.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs TF_ACC=1 and the test venv (moto, Terraform): run `make test`"]
async fn permission_boundary_lifecycle_with_drift_versions_setup_removal_import_and_destroy() {
    let toolchain =
        acceptance_toolchain("permission_boundary_lifecycle_with_drift_versions_setup_removal_import_and_destroy");
    let emulator = Emulator::start(&toolchain);
    let endpoint = emulator.endpoint();
    let iam = iam_client(&endpoint);
    let workspace = Workspace::new(&toolchain, &emulator);
    let terraform = workspace.terraform();

    // Create from the example.
    use_example(&workspace, &endpoint, true);
    init(&workspace).await;
    terraform.validate().await.expect("validate");
    terraform.plan().await.expect("first plan").assert_changes("first plan");
    terraform.apply().await.expect("apply");
    let values = state(&workspace).await;
    assert_estate(&iam, &values, true).await;
    let outputs = terraform.outputs().await.expect("outputs");
    assert_eq!(outputs["maintenance_role_arn"], values["maintenance_role_arn"]);
    assert_eq!(outputs["setup_role_arn"], values["setup_role_arn"]);
    terraform.plan().await.expect("second plan").assert_empty("second plan after apply");
    assert_eq!(refresh_drift(&workspace).await, Vec::<String>::new(), "refresh-only plan without drift");

    // A second state with the same name_prefix: its create is refused with the import hint, and
    // the first one's roles and policies are untouched.
    let before = estate_fingerprint(&iam).await;
    let owner = role_tag(&iam, &format!("{PREFIX}-maintenance"), "retool:owner").await.expect("ownership mark");
    let rival = Workspace::new(&toolchain, &emulator);
    use_example(&rival, &endpoint, true);
    init(&rival).await;
    let refusal = ownership_refusal(rival.terraform()).await;
    let detail = refusal["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains(&format!("terraform import retool_permission_boundary.<name> {PREFIX}")),
        "the refusal must say how to import: {detail}"
    );
    assert!(detail.contains("belongs to another Terraform resource"), "{detail}");
    assert_eq!(estate_fingerprint(&iam).await, before, "the refused create changed the first one's roles or policies");
    assert_eq!(
        role_tag(&iam, &format!("{PREFIX}-maintenance"), "retool:owner").await.as_deref(),
        Some(owner.as_str()),
        "the first one's token"
    );
    let rival_state = rival.terraform().show_json().await.expect("show the second state");
    assert!(
        rival_state["values"]["root_module"]["resources"].as_array().is_none_or(Vec::is_empty),
        "the refused create recorded something: {rival_state:#}"
    );
    drop(rival);
    terraform.plan().await.expect("plan after the refused create").assert_empty("first plan after the refusal");

    // Drift: boundary removed, trust rewritten, boundary document edited, a policy attached.
    let boundary_arn = text(&values, "boundary_policy_arn").to_owned();
    let maintenance = format!("{PREFIX}-maintenance");
    let setup = format!("{PREFIX}-setup");
    iam.delete_role_permissions_boundary().role_name(&maintenance).send().await.expect("DeleteRolePermissionsBoundary");
    let open_trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999988887777:root"},"Action":"sts:AssumeRole"}]}"#;
    iam.update_assume_role_policy()
        .role_name(&setup)
        .policy_document(open_trust)
        .send()
        .await
        .expect("UpdateAssumeRolePolicy");
    let allow_all = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    publish_default_version(&iam, &boundary_arn, allow_all).await;
    let extra =
        iam.create_policy().policy_name("backdoor").policy_document(allow_all).send().await.expect("CreatePolicy");
    let extra_arn = extra.policy().and_then(|p| p.arn()).expect("policy ARN").to_owned();
    iam.attach_role_policy().role_name(&maintenance).policy_arn(&extra_arn).send().await.expect("AttachRolePolicy");

    assert_eq!(refresh_drift(&workspace).await, [ADDRESS], "refresh-only plan after drift");
    terraform
        .succeed(&["apply", "-refresh-only", "-auto-approve", "-input=false", "-no-color"])
        .await
        .expect("refresh");
    let drift: Vec<String> = state(&workspace).await["drift"]
        .as_array()
        .expect("drift list")
        .iter()
        .filter_map(|d| d.as_str().map(str::to_owned))
        .collect();
    for expected in [
        "permissions boundary of maintenance role retool-maintenance was removed",
        "trust policy of setup role retool-setup was changed",
        "operator boundary policy arn:aws:iam::123456789012:policy/retool-operator-boundary was edited outside Terraform",
        "maintenance role retool-maintenance has an extra policy attached: arn:aws:iam::123456789012:policy/backdoor",
    ] {
        assert!(drift.iter().any(|d| d == expected), "drift must report {expected:?}: {drift:#?}");
    }
    let plan = terraform.plan_json().await.expect("plan the repair");
    assert_eq!(planned_actions(&plan), ["update"], "drift is repaired in place");
    terraform.apply().await.expect("apply the repair");
    assert_estate(&iam, &state(&workspace).await, true).await;
    terraform.plan().await.expect("plan after repair").assert_empty("plan after repair");

    // Versions: with IAM's five already used, a repair deletes the oldest instead of failing.
    for _ in 0..4 {
        let current = policy(&iam, &boundary_arn).await.expect("boundary").1;
        if current >= 5 {
            break;
        }
        publish_default_version(&iam, &boundary_arn, allow_all).await;
    }
    assert_eq!(policy(&iam, &boundary_arn).await.expect("boundary").1, 5, "five versions before the repair");
    terraform.plan().await.expect("plan with five versions").assert_changes("edited boundary with five versions");
    terraform.apply().await.expect("apply with five versions");
    assert_estate(&iam, &state(&workspace).await, true).await;
    assert_eq!(policy(&iam, &boundary_arn).await.expect("boundary").1, 5, "still at most five versions");

    // setup_role = false deletes the setup role in place and keeps the maintenance role.
    use_example(&workspace, &endpoint, false);
    let plan = terraform.plan_json().await.expect("plan setup removal");
    assert_eq!(planned_actions(&plan), ["update"], "setup_role = false is an in-place update");
    terraform.apply().await.expect("apply setup removal");
    let values = state(&workspace).await;
    assert_estate(&iam, &values, false).await;
    terraform.plan().await.expect("plan after setup removal").assert_empty("plan after setup removal");

    // Import by name_prefix into a fresh state: the configuration matches what was imported.
    let adopted = Workspace::new(&toolchain, &emulator);
    use_example(&adopted, &endpoint, false);
    init(&adopted).await;
    adopted.terraform().import(ADDRESS, PREFIX).await.expect("import by name_prefix");
    let imported = state(&adopted).await;
    for name in [
        "maintenance_role_arn",
        "boundary_policy_arn",
        "workload_boundary_policy_arn",
        "boundary_policy_json",
        "maintenance_policy_json",
    ] {
        assert_eq!(imported[name], values[name], "imported {name}");
    }
    adopted.terraform().plan().await.expect("plan after import").assert_empty("plan after import");
    drop(adopted);

    // Destroy: nothing of ours remains.
    terraform.destroy().await.expect("destroy");
    assert!(role(&iam, &maintenance).await.is_none(), "maintenance role survived destroy");
    assert!(role(&iam, &setup).await.is_none(), "setup role survived destroy");
    let local =
        iam.list_policies().scope(aws_sdk_iam::types::PolicyScopeType::Local).send().await.expect("ListPolicies");
    let survivors: Vec<&str> = local
        .policies()
        .iter()
        .filter_map(|p| p.policy_name())
        .filter(|name| name.starts_with(&format!("{PREFIX}-")))
        .collect();
    assert!(survivors.is_empty(), "policies survived destroy: {survivors:?}");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs TF_ACC=1 and the test venv (moto, Terraform): run `make test`"]
async fn invalid_input_is_refused_on_the_attribute_without_aws_calls() {
    let toolchain = acceptance_toolchain("invalid_input_is_refused_on_the_attribute_without_aws_calls");
    let emulator = Emulator::start(&toolchain);
    let workspace = Workspace::new(&toolchain, &emulator);
    let terraform = workspace.terraform();
    let main_tf = terraform.working_dir().join("main.tf");
    let good = [
        ("name_prefix", "\"retool\""),
        ("operator_principal_arns", "[\"arn:aws:iam::444455556666:role/retool-operator\"]"),
        ("max_session_duration", "43200"),
        ("tags", "{ Team = \"platform\" }"),
    ];
    let cases: [(&str, (&str, &str)); 9] = [
        ("principals set to null", ("operator_principal_arns", "null")),
        ("reserved tag key", ("tags", "{ \"aws:team\" = \"platform\" }")),
        ("malformed ARN", ("operator_principal_arns", "[\"arn:aws:iam::4444:role/x\"]")),
        ("wildcard principal", ("operator_principal_arns", "[\"*\"]")),
        ("empty principal list", ("operator_principal_arns", "[]")),
        ("session too short", ("max_session_duration", "60")),
        ("session too long", ("max_session_duration", "86400")),
        ("name prefix too long", ("name_prefix", "\"abcdefghijklmnopqrstuvwxyz0123456789\"")),
        ("illegal name prefix", ("name_prefix", "\"retool prod\"")),
    ];
    let write = |replace: Option<(&str, &str)>| {
        let body: String = good
            .iter()
            .map(|(name, value)| {
                let value = replace.filter(|(replaced, _)| replaced == name).map_or(*value, |(_, v)| v);
                format!("  {name} = {value}\n")
            })
            .collect();
        workspace.write_main(&format!(
            "{}\nresource \"retool_permission_boundary\" \"operator\" {{\n{body}}}\n",
            workspace.provider_block()
        ));
    };
    write(None);
    terraform.init().await.expect("init");
    let before_listing = emulator.log_mark();
    let roles_before = iam_client(&emulator.endpoint()).list_roles().send().await.expect("ListRoles").roles().len();
    // Our own ListRoles must be in moto's log before the first mark, or it would count as a call
    // made while refusing the first case.
    emulator.wait_for_query_api_requests(before_listing, 1);
    for (what, replacement) in cases {
        write(Some(replacement));
        let written = std::fs::read_to_string(&main_tf).expect("read main.tf");
        let line = written
            .lines()
            .position(|l| l.trim_start().starts_with(replacement.0))
            .map(|i| i + 1)
            .expect("attribute line");
        let mark = emulator.log_mark();
        let mut refusal = terraform.run(&["validate", "-json", "-no-color"]).await;
        if refusal.code == 0 {
            refusal = terraform.run(&["plan", "-json", "-input=false", "-no-color", "-lock=false"]).await;
        }
        assert_eq!(refusal.code, 1, "{what}: Terraform must refuse this configuration:\n{refusal}\n{written}");
        let errors = error_diagnostics(&refusal);
        assert!(
            errors
                .iter()
                .any(|d| d["range"]["filename"] == "main.tf"
                    && d["range"]["start"]["line"].as_u64() == Some(line as u64)),
            "{what}: no error points at main.tf line {line}: {errors:#?}\n{written}"
        );
        let calls = emulator.query_api_requests_since(mark);
        assert!(calls.is_empty(), "{what}: AWS was called while refusing the configuration: {calls:#?}");
    }
    let roles_after = iam_client(&emulator.endpoint()).list_roles().send().await.expect("ListRoles").roles().len();
    assert_eq!(roles_after, roles_before, "an invalid configuration created roles");
}
