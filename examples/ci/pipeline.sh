#!/usr/bin/env bash
# The Terraform steps of a deployment pipeline, for any CI: init, plan to a file, save the plan
# as JSON for review, refuse plans that would delete a protected database (plan-guard.sh), then
# apply exactly the plan that was checked.
#
# Usage: pipeline.sh [CONFIG_DIR]   (default: the current directory)
# Settings come from Terraform's own environment variables, so the script stays the same in
# every CI:
#   TF_CLI_ARGS_init="-backend-config=prod.s3.tfbackend"   backend settings for init
#   TF_VAR_<name>=...                                       input variables
#   TERRAFORM=/path/to/terraform                            another terraform binary
#   PIPELINE_APPLY=false                                    stop after the guard (merge requests)
# Outputs, in CONFIG_DIR: tfplan (the binary plan) and tfplan.json (`terraform show -json`), to
# keep as CI artefacts.
set -euo pipefail

guard=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/plan-guard.sh
terraform=${TERRAFORM:-terraform}
cd "${1:-.}"

export TF_IN_AUTOMATION=1 TF_INPUT=0

echo "==> terraform init"
"$terraform" init -input=false -no-color

echo "==> terraform plan -out=tfplan"
"$terraform" plan -input=false -no-color -out=tfplan

echo "==> terraform show -json tfplan > tfplan.json (kept for review)"
"$terraform" show -json tfplan >tfplan.json

echo "==> plan guard"
"$guard" tfplan.json

if [[ ${PIPELINE_APPLY:-true} == false ]]; then
  echo "==> PIPELINE_APPLY=false: not applying"
  exit 0
fi

echo "==> terraform apply tfplan"
"$terraform" apply -input=false -no-color tfplan
