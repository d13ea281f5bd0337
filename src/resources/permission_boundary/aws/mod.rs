//! The IAM and STS side of `retool_permission_boundary`, in the three steps every resource has:
//! [`observe`] every piece, [`converge`] them on what is desired, [`destroy`] them all.
//!
//! Why "converge" rather than separate create and update paths: every step first looks, then
//! changes only what differs, so the same code creates, repairs drift, finishes an apply that failed
//! half-way, and never duplicates anything. IAM names are the idempotency keys — a role or policy
//! name is unique in the account. Throttling and 5xx responses are retried by the SDK's retry
//! layer configured for the provider's clients.

pub mod converge;
pub mod destroy;
pub mod observe;

use crate::aws::During;
use std::collections::BTreeSet;

use aws_sdk_iam::Client;
use aws_sdk_iam::types::Tag;

use crate::aws::{AwsClients, Tags};
use crate::error::Error;

use super::model::Account;

/// The account and partition the provider's credentials belong to (STS GetCallerIdentity, asked
/// once per configured provider).
pub async fn caller_account(clients: &AwsClients) -> Result<Account, Error> {
    let identity = clients.identity().await?;
    Ok(Account { partition: identity.partition.clone(), account_id: identity.account_id.clone() })
}

/// IAM's tags as a map.
fn tag_map(tags: &[Tag]) -> Tags {
    crate::aws::tags::tag_map(tags.iter().map(|tag| (Some(tag.key()), Some(tag.value()))))
}

pub(super) async fn attached_policies(iam: &Client, role: &str) -> Result<BTreeSet<String>, Error> {
    every_page(|marker| async move {
        let page = iam
            .list_attached_role_policies()
            .role_name(role)
            .set_marker(marker)
            .send()
            .await
            .during("ListAttachedRolePolicies")?;
        Ok(Page {
            items: page
                .attached_policies()
                .iter()
                .map(|policy| {
                    policy
                        .policy_arn()
                        .map(str::to_owned)
                        .ok_or(Error::missing("ListAttachedRolePolicies", "AttachedPolicy.PolicyArn"))
                })
                .collect::<Result<_, _>>()?,
            next: next_marker(page.is_truncated(), page.marker()),
        })
    })
    .await
}

pub(super) async fn inline_policies(iam: &Client, role: &str) -> Result<BTreeSet<String>, Error> {
    every_page(|marker| async move {
        let page =
            iam.list_role_policies().role_name(role).set_marker(marker).send().await.during("ListRolePolicies")?;
        Ok(Page { items: page.policy_names().to_vec(), next: next_marker(page.is_truncated(), page.marker()) })
    })
    .await
}

/// One page of an IAM listing: its items, and where the next page starts if there is one.
struct Page {
    items: Vec<String>,
    next: Option<String>,
}

/// IAM's marker is only meaningful while the listing says it is truncated.
fn next_marker(is_truncated: bool, marker: Option<&str>) -> Option<String> {
    marker.filter(|_| is_truncated).map(str::to_owned)
}

/// Follows IAM's marker pagination from the first page to the last, gathering every item.
async fn every_page<F, P>(mut fetch: F) -> Result<BTreeSet<String>, Error>
where
    F: FnMut(Option<String>) -> P,
    P: Future<Output = Result<Page, Error>>,
{
    let mut items = BTreeSet::new();
    let mut marker = None;
    loop {
        let page = fetch(marker.take()).await?;
        items.extend(page.items);
        match page.next {
            Some(next) => marker = Some(next),
            None => return Ok(items),
        }
    }
}
