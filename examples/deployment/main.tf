# One Retool instance in its own network: a retool_network and a retool_deployment with the
# cache and a separate Retool DB on. The deployment generates ENCRYPTION_KEY and JWT_SECRET
# into Secrets Manager; Terraform state only ever holds their ARNs.
#
# `make demo EXAMPLE=deployment` applies this against a local AWS emulator; see README.md in
# this directory for running it against a real account.

terraform {
  required_providers {
    retool = {
      source = "retool-byoc/retool"
    }
  }

  # State in S3 with S3-native locking; bucket and endpoint come from a backend config file at
  # init time (`terraform init -backend-config=FILE`).
  backend "s3" {
    key          = "examples/deployment/terraform.tfstate"
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

variable "domain" {
  type        = string
  description = "Hostname Retool will be served at."
  default     = "retool.example.com"
}

variable "deletion_protection" {
  type        = bool
  description = "Keep true in production: destroy is refused while it is on. Set it to false and apply before a planned destroy; the demo leaves it on and discards its emulator instead."
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
    secretsmanager = var.aws_endpoint
    sts            = var.aws_endpoint

    kubernetes                = var.kubernetes_endpoint
    kubernetes_ca_certificate = var.kubernetes_ca_certificate
  }

  default_tags = {
    Project = "retool-example"
  }
}

resource "retool_network" "main" {
  name               = "retool-example"
  availability_zones = ["${var.region}a", "${var.region}b"]
  nat_gateways       = "single"
}

resource "retool_deployment" "main" {
  name           = "retool-example"
  network_id     = retool_network.main.id
  retool_version = "3.148.0-stable"
  domain         = var.domain

  node_group {
    instance_type = "m5.xlarge"
    min_size      = 3
    desired_size  = 3
    max_size      = 6
  }

  database {
    instance_class      = "db.m5.large"
    engine_version      = "16"
    deletion_protection = var.deletion_protection
  }

  cache {
    enabled = true
  }

  retool_db {
    enabled = true
  }
}

output "url" {
  description = "Where Retool will be served."
  value       = retool_deployment.main.url
}

output "cluster_name" {
  description = "The EKS cluster (aws eks update-kubeconfig --name ...)."
  value       = retool_deployment.main.cluster_name
}

output "database_endpoint" {
  description = "PostgreSQL hostname (TLS required; the password lives only in Secrets Manager)."
  value       = retool_deployment.main.database_endpoint
}

output "secret_arns" {
  description = "Where ENCRYPTION_KEY, JWT_SECRET and the database password live."
  value = {
    encryption_key  = retool_deployment.main.encryption_key_secret_arn
    jwt_secret      = retool_deployment.main.jwt_secret_arn
    database_master = retool_deployment.main.database_master_user_secret_arn
  }
}

output "egress_ips" {
  description = "Addresses outbound traffic leaves from."
  value       = retool_deployment.main.egress_ips
}

output "egress_allowlist" {
  description = "Domains an outbound firewall must allow on 443."
  value       = retool_deployment.main.egress_allowlist
}

output "estimated_monthly_cost_usd" {
  description = "List-price estimate of the footprint above."
  value       = retool_deployment.main.estimated_monthly_cost_usd
}

output "workloads" {
  description = "The Retool containers running on the cluster and how many of their replicas are ready."
  value       = retool_deployment.main.workloads
}
