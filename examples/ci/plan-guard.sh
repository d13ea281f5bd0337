#!/usr/bin/env bash
# Fails when a Terraform plan (the JSON of `terraform show -json tfplan`) deletes or replaces a
# retool_deployment whose database has deletion protection on in the current state.
#
# Why: the provider refuses to destroy a protected deployment at plan time, but a replacement (a
# new name or network_id) only warns at plan and stops at apply, possibly after other resources in
# the same plan have changed. This guard stops the pipeline before anything is applied.
#
# Usage: plan-guard.sh tfplan.json     Needs jq.
set -euo pipefail

plan=${1:?usage: plan-guard.sh tfplan.json}
[[ -r $plan ]] || { echo "plan-guard: cannot read $plan (write it with: terraform show -json tfplan > $plan)" >&2; exit 2; }
command -v jq >/dev/null || { echo "plan-guard: jq is not installed; install it (apt-get install jq, brew install jq)" >&2; exit 2; }

# `database` is a group block: an object in the plan JSON (not a list), present in `before`
# whenever the deployment exists.
protected=$(jq -r '
  [.resource_changes[]?
   | select(.type == "retool_deployment")
   | select(.change.actions | index("delete"))
   | select(.change.before.database.deletion_protection == true)
   | "\(.address) (\(.change.actions | join(" then ")))"]
  | .[]' "$plan")

if [[ -n $protected ]]; then
  {
    echo "plan-guard: refusing this plan: it deletes or replaces a Retool deployment whose database has deletion_protection on:"
    sed 's/^/  /' <<<"$protected"
    echo "Nothing has been applied. If the replacement is intended, set deletion_protection = false, apply that on its own,"
    echo "and run the pipeline again; otherwise change the configuration back (a new name or network_id replaces the deployment)."
  } >&2
  exit 1
fi
echo "plan-guard: no protected Retool database is deleted or replaced by this plan"
