# Two Retool instances, production and staging, in one state and one network: the first instance
# creates the network, the second runs in it (`create_network = false`, `network_id`). Each has its own cluster, databases,
# secrets, KMS key and operator roles.
#
# `make demo EXAMPLE=multi-instance` applies this against a local AWS emulator.

terraform {
  required_version = ">= 1.10"

  required_providers {
    retool = {
      source = "retool-byoc/retool"
    }
  }

  # State in S3 with S3-native locking; bucket and endpoint come from a backend config file at
  # init time (`terraform init -backend-config=FILE`).
  backend "s3" {
    key          = "examples/multi-instance/terraform.tfstate"
    use_lockfile = true
  }
}

variable "region" {
  type        = string
  description = "AWS region to build in."
  default     = "us-east-1"
}

variable "aws_endpoint" {
  type        = string
  description = "Endpoint for every AWS service (an emulator such as moto); null means real AWS."
  default     = null
}

variable "operator_principal_arns" {
  type        = list(string)
  description = "The operating team's IAM roles or users that may assume both instances' operator roles."
  default     = ["arn:aws:iam::111122223333:role/retool-operator"]
}

variable "deletion_protection" {
  type        = bool
  description = "Keep true in production: destroy is refused while it is on. Set it to false and apply before a planned destroy."
  default     = true
}

variable "kubernetes_endpoint" {
  type        = string
  description = "URL of the Kubernetes API the Retool workloads are applied through instead of the EKS cluster's own endpoint (a private proxy, or the demo's test server); null means the cluster's endpoint."
  default     = null
}

variable "kubernetes_ca_certificate" {
  type        = string
  description = "PEM CA certificate of kubernetes_endpoint's TLS; set it together with kubernetes_endpoint."
  default     = null
}

provider "retool" {
  region = var.region

  endpoints {
    ec2            = var.aws_endpoint
    eks            = var.aws_endpoint
    elasticache    = var.aws_endpoint
    iam            = var.aws_endpoint
    kms            = var.aws_endpoint
    rds            = var.aws_endpoint
    s3             = var.aws_endpoint
    secretsmanager = var.aws_endpoint
    sts            = var.aws_endpoint

    kubernetes                = var.kubernetes_endpoint
    kubernetes_ca_certificate = var.kubernetes_ca_certificate
  }

  default_tags = {
    Project = "retool-example"
  }
}

module "production" {
  source = "../modules/retool-byoc"

  name                    = "retool-prod"
  domain                  = "retool.example.com"
  operator_principal_arns = var.operator_principal_arns
  deletion_protection     = var.deletion_protection

  network = {
    availability_zones = ["${var.region}a", "${var.region}b"]
  }
}

module "staging" {
  source = "../modules/retool-byoc"

  name                    = "retool-staging"
  domain                  = "retool-staging.example.com"
  create_network          = false
  network_id              = module.production.network_id
  operator_principal_arns = var.operator_principal_arns
  deletion_protection     = var.deletion_protection

  # A smaller footprint: fewer nodes, a smaller database, no cache or Retool DB.
  node_group = {
    min_size     = 1
    desired_size = 1
    max_size     = 3
  }
  database = {
    instance_class = "db.t4g.medium"
  }
  cache_enabled     = false
  retool_db_enabled = false
}

output "urls" {
  description = "Where each instance is served."
  value = {
    production = module.production.url
    staging    = module.staging.url
  }
}

output "network_id" {
  description = "The network both instances share."
  value       = module.production.network_id
}

output "egress_ips" {
  description = "Addresses outbound traffic of both instances leaves from (the shared NAT gateways)."
  value       = module.production.egress_ips
}

output "egress_allowlist" {
  description = "Domains an outbound firewall must allow on 443."
  value       = module.production.egress_allowlist
}

output "estimated_monthly_cost_usd" {
  description = "List-price estimate per instance."
  value = {
    production = module.production.estimated_monthly_cost_usd
    staging    = module.staging.estimated_monthly_cost_usd
  }
}

output "cluster_names" {
  description = "The EKS clusters."
  value = {
    production = module.production.cluster_name
    staging    = module.staging.cluster_name
  }
}

output "operator_role_arns" {
  description = "The operator roles of each instance."
  value = {
    production = module.production.operator_role_arns
    staging    = module.staging.operator_role_arns
  }
}

output "workloads" {
  description = "Each instance's Retool containers on its cluster and how many of their replicas are ready."
  value = {
    production = module.production.workloads
    staging    = module.staging.workloads
  }
}
