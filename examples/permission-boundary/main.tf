# The operator roles of a Retool deployment: a setup role for the initial build and a maintenance
# role for the long term, both assumable only by the operating team's principals (with MFA and an
# external id), both fenced by a permissions boundary that keeps them away from customer data.
#
# Hand `maintenance_role_arn` and `setup_role_arn` to the operating team. Once the deployment is
# built, set `setup_role = false` and apply again: the setup role is deleted, maintenance stays.
#
# Apply against a local AWS emulator with the commands in README.md in this directory.

terraform {
  required_providers {
    retool = {
      source = "retool-byoc/retool"
    }
  }

  # State in S3 with S3-native locking; bucket and endpoint come from a backend config file at
  # init time (`terraform init -backend-config=FILE`), so the same code serves an emulator and a
  # real account.
  backend "s3" {
    key          = "examples/permission-boundary/terraform.tfstate"
    use_lockfile = true
  }
}

variable "region" {
  type        = string
  description = "AWS region the provider works in (IAM itself is global)."
  default     = "us-east-1"
}

variable "aws_endpoint" {
  type        = string
  description = "Endpoint for every AWS service (an emulator such as moto); null means real AWS."
  default     = null
}

variable "operator_principal_arns" {
  type        = list(string)
  description = "The operating team's IAM roles or users that may assume the operator roles."
  default     = ["arn:aws:iam::111122223333:role/retool-operator"]
}

variable "external_id" {
  type        = string
  description = "External id the operating team passes when assuming the roles."
  default     = "retool-byoc-example"
  sensitive   = true
}

variable "setup_role" {
  type        = bool
  description = "Keep the broader setup role (true while the deployment is being built)."
  default     = true
}

provider "retool" {
  region = var.region

  endpoints {
    iam = var.aws_endpoint
    sts = var.aws_endpoint
  }

  default_tags = {
    Project = "retool-example"
  }
}

resource "retool_permission_boundary" "operator" {
  name_prefix             = "retool"
  operator_principal_arns = var.operator_principal_arns
  external_id             = var.external_id
  require_mfa             = true
  max_session_duration    = 43200
  secrets_prefix          = "retool/"
  setup_role              = var.setup_role

  tags = {
    Environment = "demo"
  }
}

output "maintenance_role_arn" {
  description = "The role the operating team uses for long-term maintenance."
  value       = retool_permission_boundary.operator.maintenance_role_arn
}

output "setup_role_arn" {
  description = "The role the operating team uses for the initial build (null once setup_role is false)."
  value       = retool_permission_boundary.operator.setup_role_arn
}

output "boundary_policy_arn" {
  description = "The operator boundary, attached to both roles."
  value       = retool_permission_boundary.operator.boundary_policy_arn
}

output "workload_boundary_policy_arn" {
  description = "The boundary every role the operator creates must carry."
  value       = retool_permission_boundary.operator.workload_boundary_policy_arn
}
