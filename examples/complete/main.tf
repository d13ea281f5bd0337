# One Retool instance through the retool-byoc module: its own network, the operator roles fenced
# by a permission boundary, and the deployment. The deployment generates ENCRYPTION_KEY and
# JWT_SECRET into Secrets Manager; Terraform state only ever holds their ARNs.
#
# `make demo` applies this against a local AWS emulator; README.md in this directory says how to
# run it against a real account or, by hand, against the emulator.

terraform {
  required_version = ">= 1.10"

  required_providers {
    retool = {
      source = "retool-byoc/retool"
    }
  }

  # State in S3 with S3-native locking (a lock object next to the state, no DynamoDB table). The
  # bucket, region and, for an emulator, its endpoint come from a backend config file at init time
  # (`terraform init -backend-config=FILE`), so the same code serves an emulator and a real account.
  backend "s3" {
    key          = "examples/complete/terraform.tfstate"
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

variable "name" {
  type        = string
  description = "Name of the instance (a DNS label): names its network, cluster, databases, secrets and IAM roles."
  default     = "retool-prod"
}

variable "domain" {
  type        = string
  description = "Hostname Retool will be served at."
  default     = "retool.example.com"
}

variable "operator_principal_arns" {
  type        = list(string)
  description = "The operating team's IAM roles or users that may assume the operator roles."
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

module "retool" {
  source = "../modules/retool-byoc"

  name                    = var.name
  domain                  = var.domain
  retool_version          = "3.148.0-stable"
  operator_principal_arns = var.operator_principal_arns
  deletion_protection     = var.deletion_protection

  network = {
    availability_zones = ["${var.region}a", "${var.region}b"]
    nat_gateways       = "single"
  }

  tags = {
    Environment = "production"
  }
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
  description = "List-price estimate of the footprint above."
  value       = module.retool.estimated_monthly_cost_usd
}

output "cluster_name" {
  description = "The EKS cluster (aws eks update-kubeconfig --name ...)."
  value       = module.retool.cluster_name
}

output "operator_role_arns" {
  description = "The roles to hand to the operating team."
  value       = module.retool.operator_role_arns
}

output "secret_arns" {
  description = "Where ENCRYPTION_KEY, JWT_SECRET and the database password live."
  value       = module.retool.secret_arns
}

output "workloads" {
  description = "The Retool containers running on the cluster and how many of their replicas are ready."
  value       = module.retool.workloads
}
