//! The generated Secrets Manager secrets `retool/<name>/encryption-key` and
//! `retool/<name>/jwt-secret`.
//!
//! Each is created empty (encrypted with the deployment's KMS key, tagged), then given its value
//! with `PutSecretValue` — a value generated here, passed to that one call and dropped (zeroized).
//! Only ARNs are returned, so nothing but the ARN can reach state, plans or logs. A secret that
//! already has a value is never rewritten: an interrupted apply resumes without changing a key
//! Retool may already use. One scheduled for deletion (a destroyed deployment of the same name)
//! is restored. Destroy schedules deletion with a 7-day recovery window.
//!
//! A refresh reads both secrets with one `ListSecrets` filtered by the deployment's name prefix.
//! That listing is eventually consistent — a secret created moments ago may be missing from it —
//! so a name the listing lacks is confirmed with `DescribeSecret` before it is reported absent.
//! A steady deployment costs one call; only a missing secret costs a second.

use crate::aws::During;
use std::collections::{BTreeMap, HashMap};

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType, Tag};
use futures::future::try_join_all;

use super::{absent_if_missing, ok_if_missing, tag_map};
use crate::aws::tags::{carries_all, sync_tags};
use crate::aws::wait::create_once;
use crate::error::Error;
use crate::resources::deployment::observed::SecretState;
use crate::resources::deployment::rules::secrets::{RandomUnavailable, SecretValue};
use crate::stop::StopSignal;

/// Days a deleted secret can still be restored.
pub const RECOVERY_WINDOW_DAYS: i64 = 7;

fn tag_list(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter().map(|(key, value)| Tag::builder().key(key).value(value).build()).collect()
}

/// What both `DescribeSecret` and a `ListSecrets` entry say about one secret.
fn state(
    operation: &'static str,
    arn: Option<&str>,
    versions: Option<&HashMap<String, Vec<String>>>,
    deleted: bool,
    tags: &[Tag],
) -> Result<SecretState, Error> {
    Ok(SecretState {
        arn: arn.ok_or(Error::missing(operation, "ARN"))?.to_owned(),
        has_value: versions
            .is_some_and(|versions| versions.values().any(|stages| stages.iter().any(|s| s == "AWSCURRENT"))),
        scheduled_for_deletion: deleted,
        tags: tag_map(tags.iter().map(|tag| (tag.key(), tag.value()))),
    })
}

/// The secret `id` (a name or an ARN), if it exists — including one scheduled for deletion.
pub async fn observe(secrets: &Client, id: &str) -> Result<Option<SecretState>, Error> {
    let found = absent_if_missing(secrets.describe_secret().secret_id(id).send().await.during("DescribeSecret"))?;
    let Some(out) = found else { return Ok(None) };
    state("DescribeSecret", out.arn(), out.version_ids_to_stages(), out.deleted_date().is_some(), out.tags()).map(Some)
}

/// Those of the secrets named `names` (all under `prefix`) that exist, by name: one listing,
/// and a `DescribeSecret` for each name the (eventually consistent) listing does not show.
pub async fn observe_under(
    secrets: &Client,
    prefix: &str,
    names: &[&str],
) -> Result<HashMap<String, SecretState>, Error> {
    let filter = Filter::builder().key(FilterNameStringType::Name).values(prefix).build();
    let mut pages = secrets.list_secrets().filters(filter).include_planned_deletion(true).into_paginator().send();
    let mut found: HashMap<String, SecretState> = HashMap::new();
    while let Some(page) = pages.next().await {
        for entry in page.during("ListSecrets")?.secret_list() {
            // The name filter matches prefixes without regard to case; only exact names count.
            if let Some(name) = entry.name().filter(|name| names.contains(name)) {
                let seen = state(
                    "ListSecrets",
                    entry.arn(),
                    entry.secret_versions_to_stages(),
                    entry.deleted_date().is_some(),
                    entry.tags(),
                )?;
                found.insert(name.to_owned(), seen);
            }
        }
    }
    let unlisted = names.iter().filter(|name| !found.contains_key(**name));
    let confirmed =
        try_join_all(unlisted.map(|name| async move { Ok::<_, Error>((*name, observe(secrets, name).await?)) }));
    for (name, seen) in confirmed.await? {
        if let Some(seen) = seen {
            found.insert(name.to_owned(), seen);
        }
    }
    Ok(found)
}

/// The secret `name`, created if missing and given a value from `generate` if it has none;
/// returns its ARN.
pub async fn ensure(
    secrets: &Client,
    name: &str,
    kms_key_arn: &str,
    tags: &BTreeMap<String, String>,
    generate: impl FnOnce() -> Result<SecretValue, RandomUnavailable>,
    stop: &StopSignal,
) -> Result<String, Error> {
    let state = match observe(secrets, name).await? {
        Some(state) => state,
        None => {
            let send = || async {
                let created = secrets
                    .create_secret()
                    .name(name)
                    .description("Generated by terraform-provider-retool; never stored in Terraform state")
                    .kms_key_id(kms_key_arn)
                    .set_tags(Some(tag_list(tags)))
                    .send()
                    .await
                    .during("CreateSecret")?;
                Ok(SecretState {
                    arn: created.arn().ok_or(Error::missing("CreateSecret", "ARN"))?.to_owned(),
                    has_value: false,
                    scheduled_for_deletion: false,
                    tags: tags.clone(),
                })
            };
            // The name taken by this create's earlier attempt: the secret carries its tags.
            let find = || async { Ok(observe(secrets, name).await?.filter(|found| carries_all(&found.tags, tags))) };
            create_once("CreateSecret", stop, send, find).await?
        }
    };
    if state.scheduled_for_deletion {
        secrets.restore_secret().secret_id(&state.arn).send().await.during("RestoreSecret")?;
    }
    let arn = &state.arn;
    sync_tags(
        &state.tags,
        tags,
        |set| async move {
            secrets.tag_resource().secret_id(arn).set_tags(Some(tag_list(&set))).send().await.during("TagResource")
        },
        |keys| async move {
            secrets.untag_resource().secret_id(arn).set_tag_keys(Some(keys)).send().await.during("UntagResource")
        },
    )
    .await?;
    if !state.has_value {
        let value = generate().map_err(|error| Error::unexpected("GenerateSecret", error.to_string()))?;
        secrets
            .put_secret_value()
            .secret_id(&state.arn)
            .secret_string(value.expose())
            .client_request_token(uuid::Uuid::new_v4().to_string())
            .send()
            .await
            .during("PutSecretValue")?;
    }
    Ok(state.arn)
}

/// Schedules deletion after the recovery window (nothing to do when already scheduled or gone).
/// When the SDK repeats a DeleteSecret whose answer was lost, Secrets Manager refuses the repeat
/// (`InvalidRequestException`: the secret is already marked deleted): the secret is read again,
/// and a secret scheduled for deletion is what was asked for.
pub async fn remove(secrets: &Client, name: &str) -> Result<(), Error> {
    let Some(state) = observe(secrets, name).await?.filter(|state| !state.scheduled_for_deletion) else {
        return Ok(());
    };
    let deleted = secrets
        .delete_secret()
        .secret_id(&state.arn)
        .recovery_window_in_days(RECOVERY_WINDOW_DAYS)
        .send()
        .await
        .during("DeleteSecret");
    match ok_if_missing(deleted) {
        Err(error) if error.code() == Some("InvalidRequestException") => match observe(secrets, name).await? {
            Some(state) if !state.scheduled_for_deletion => Err(error),
            _ => Ok(()),
        },
        other => other,
    }
}
