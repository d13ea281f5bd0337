# A dedicated VPC for a Retool deployment: public and private subnets in two availability zones,
# one NAT gateway per zone, and the security groups of the cluster and its database.
#
# `make demo` applies this against a local AWS emulator; see README.md in this directory for
# running it against a real account.

terraform {
  required_providers {
    retool = {
      source = "retool-byoc/retool"
    }
  }

  # State in S3 with S3-native locking. The bucket and endpoint come from a backend config file
  # at init time (`terraform init -backend-config=FILE`), so the same code serves the emulator
  # and a real account.
  backend "s3" {
    key          = "examples/network/terraform.tfstate"
    use_lockfile = true
  }
}

variable "region" {
  type        = string
  description = "AWS region to build the network in."
  default     = "us-east-1"
}

variable "aws_endpoint" {
  type        = string
  description = "Endpoint for every AWS service (an emulator such as moto); null means real AWS."
  default     = null
}

variable "availability_zones" {
  type        = list(string)
  description = "Zones for the public/private subnet pairs (at least two)."
  default     = ["us-east-1a", "us-east-1b"]
}

provider "retool" {
  region = var.region

  endpoints {
    ec2 = var.aws_endpoint
    iam = var.aws_endpoint
    sts = var.aws_endpoint
  }

  default_tags = {
    Project = "retool-example"
  }
}

resource "retool_network" "main" {
  name               = "retool-example"
  cidr_block         = "10.254.0.0/16"
  availability_zones = var.availability_zones
  nat_gateways       = "one_per_az"

  tags = {
    Environment = "demo"
  }
}

output "vpc_id" {
  description = "The dedicated VPC."
  value       = retool_network.main.vpc_id
}

output "egress_ips" {
  description = "Elastic IPs of the NAT gateways: what a customer allowlists for traffic from Retool."
  value       = retool_network.main.egress_ips
}

output "public_subnet_ids" {
  description = "Public subnets, one per zone (load balancers)."
  value       = retool_network.main.public_subnet_ids
}

output "private_subnet_ids" {
  description = "Private subnets, one per zone (cluster nodes and databases)."
  value       = retool_network.main.private_subnet_ids
}

output "nat_gateway_ids" {
  description = "NAT gateways giving the private subnets their egress."
  value       = retool_network.main.nat_gateway_ids
}
