# One Retool instance run from an HCP Terraform (Terraform Cloud) workspace: the `cloud` block
# replaces the S3 backend (HCP Terraform keeps state and locks it), credentials come from HCP
# Terraform's dynamic provider credentials (no stored AWS keys), and the provider assumes a deployer
# role in the customer's account with `assume_role`. README.md lists the workspace's variables
# and how to publish the provider to the organization's private registry.

terraform {
  required_version = ">= 1.10"

  # The organization and workspace can also come from TF_CLOUD_ORGANIZATION and
  # TF_WORKSPACE; `terraform login` provides the API token.
  cloud {
    organization = "example-org"

    workspaces {
      name = "retool-prod"
    }
  }

  required_providers {
    retool = {
      # From the organization's private registry, use its address instead:
      # source = "app.terraform.io/example-org/retool"
      source = "retool-byoc/retool"
    }
  }
}

variable "region" {
  type        = string
  description = "AWS region to build in."
  default     = "us-east-1"
}

variable "deployer_role_arn" {
  type        = string
  description = "Role in the Retool account that the workspace's run role assumes to build (assume_role); null uses the run role itself."
  default     = null
}

variable "deployer_external_id" {
  type        = string
  description = "External id the deployer role's trust policy requires; null for none."
  default     = null
  sensitive   = true
}

variable "name" {
  type        = string
  description = "Name of the instance (a DNS label)."
  default     = "retool-prod"
}

variable "domain" {
  type        = string
  description = "Hostname Retool will be served at."
}

variable "operator_principal_arns" {
  type        = list(string)
  description = "The operating team's IAM roles or users that may assume the operator roles."
}

variable "deletion_protection" {
  type        = bool
  description = "Keep true in production: destroy is refused while it is on. Set it to false and apply before a planned destroy."
  default     = true
}

# Base credentials: the standard AWS chain, which in an HCP Terraform run with
# TFC_AWS_PROVIDER_AUTH=true is the workspace's run role (a web identity profile HCP Terraform
# writes for the run). With deployer_role_arn set, the provider then assumes that role.
provider "retool" {
  region = var.region

  dynamic "assume_role" {
    for_each = var.deployer_role_arn == null ? [] : [var.deployer_role_arn]
    content {
      role_arn     = assume_role.value
      external_id  = var.deployer_external_id
      session_name = "hcp-terraform-${var.name}"
    }
  }

  default_tags = {
    Project   = "retool"
    ManagedBy = "hcp-terraform"
  }
}

module "retool" {
  source = "../modules/retool-byoc"

  name                    = var.name
  domain                  = var.domain
  operator_principal_arns = var.operator_principal_arns
  deletion_protection     = var.deletion_protection
}

output "url" {
  description = "Where Retool will be served."
  value       = module.retool.url
}

output "egress_ips" {
  description = "Addresses outbound traffic leaves from (Elastic IPs of the NAT gateways)."
  value       = module.retool.egress_ips
}

output "egress_allowlist" {
  description = "Domains an outbound firewall must allow on 443."
  value       = module.retool.egress_allowlist
}

output "estimated_monthly_cost_usd" {
  description = "List-price estimate of the instance's monthly AWS cost."
  value       = module.retool.estimated_monthly_cost_usd
}

output "operator_role_arns" {
  description = "The roles to hand to the operating team."
  value       = module.retool.operator_role_arns
}
