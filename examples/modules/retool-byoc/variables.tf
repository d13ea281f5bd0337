variable "name" {
  type        = string
  description = "Name of the instance: names the network, the EKS cluster, the databases, the secrets under retool/<name>/ and prefixes every IAM role and policy (<name>-...)."

  validation {
    condition     = can(regex("^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$", var.name)) && !strcontains(var.name, "--")
    error_message = "The name must be a DNS label of at most 32 characters: lowercase letters, digits and hyphens, starting with a letter, no \"--\" and no trailing hyphen (e.g. retool-prod)."
  }
}

variable "domain" {
  type        = string
  description = "Hostname Retool is served at, e.g. retool.example.com (no scheme, port or path)."

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.domain))
    error_message = "The domain must be a lowercase hostname such as retool.example.com, without https://, a port or a path."
  }
}

variable "retool_version" {
  type        = string
  description = "The Retool release, X.Y.Z-stable or X.Y.Z-edge."
  default     = "3.148.0-stable"

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+-(stable|edge)$", var.retool_version))
    error_message = "The Retool version must look like 3.148.0-stable or 3.150.0-edge."
  }
}

variable "create_network" {
  type        = bool
  description = "Whether the instance gets a network of its own (true, the default) or runs in the existing one network_id names (false)."
  default     = true
  nullable    = false
}

variable "network_id" {
  type        = string
  description = "With create_network = false: the id of the existing retool_network (vpc-...) to run in, e.g. another instance's network_id output. Leave null otherwise."
  default     = null

  validation {
    condition     = var.network_id == null || can(regex("^vpc-[0-9a-f]+$", var.network_id))
    error_message = "network_id must be the id of a retool_network (a VPC id such as vpc-0123456789abcdef0)."
  }
}

variable "network" {
  type = object({
    cidr_block         = optional(string, "10.254.0.0/16")
    availability_zones = optional(list(string))
    nat_gateways       = optional(string, "one_per_az")
  })
  description = "The network the module creates when network_id is null: the VPC block (/16 to /24), the zones (null: the region's first two) and one_per_az or single NAT gateways. Ignored when create_network is false."
  default     = {}
  nullable    = false

  validation {
    condition     = contains(["one_per_az", "single"], var.network.nat_gateways)
    error_message = "network.nat_gateways must be one_per_az or single."
  }

  validation {
    condition     = can(regex("/(1[6-9]|2[0-4])$", var.network.cidr_block)) && can(cidrnetmask(var.network.cidr_block))
    error_message = "network.cidr_block must be an IPv4 CIDR block from /16 to /24, such as 10.254.0.0/16."
  }
}

variable "node_group" {
  type = object({
    instance_type = optional(string, "m5.xlarge")
    min_size      = optional(number, 3)
    desired_size  = optional(number, 3)
    max_size      = optional(number, 6)
  })
  description = "The EKS managed node group: instance type and the fewest, wanted and most nodes."
  default     = {}
  nullable    = false

  validation {
    condition = (
      var.node_group.min_size >= 1 && var.node_group.max_size <= 100 &&
      var.node_group.min_size <= var.node_group.desired_size &&
      var.node_group.desired_size <= var.node_group.max_size
    )
    error_message = "node_group sizes must satisfy 1 <= min_size <= desired_size <= max_size <= 100."
  }
}

variable "database" {
  type = object({
    instance_class       = optional(string, "db.m5.large")
    engine_version       = optional(string, "16")
    allocated_storage_gb = optional(number, 60)
    multi_az             = optional(bool, false)
    skip_final_snapshot  = optional(bool, false)
  })
  description = "Retool's PostgreSQL database (RDS): instance class, PostgreSQL version (13 or later), storage in GB, a standby in a second zone, and whether deleting it skips the final snapshot."
  default     = {}
  nullable    = false

  validation {
    condition     = var.database.allocated_storage_gb >= 20 && var.database.allocated_storage_gb <= 65536
    error_message = "database.allocated_storage_gb must be from 20 to 65536."
  }
}

variable "deletion_protection" {
  type        = bool
  description = "While true (the default), destroying or replacing the instance - and so its database - is refused before anything is touched. Set it to false and apply before a planned destroy."
  default     = true
  nullable    = false
}

variable "cache_enabled" {
  type        = bool
  description = "Whether the instance has an ElastiCache (Redis) cache."
  default     = true
  nullable    = false
}

variable "retool_db_enabled" {
  type        = bool
  description = "Whether the instance has a separate RDS instance for Retool Database."
  default     = true
  nullable    = false
}

variable "license_key_secret_arn" {
  type        = string
  description = "ARN of a Secrets Manager secret holding the Retool license key (managed by you); null for none."
  default     = null
}

variable "operator_principal_arns" {
  type        = list(string)
  description = "The operating team's IAM roles or users (arn:aws:iam::<account>:role/<name> or :user/<name>) that may assume the maintenance and setup roles."

  validation {
    condition     = length(var.operator_principal_arns) >= 1 && length(var.operator_principal_arns) <= 20
    error_message = "operator_principal_arns must name 1 to 20 IAM roles or users."
  }
}

variable "operator_external_id" {
  type        = string
  description = "External id the operating team must pass when assuming the operator roles; null for none."
  default     = null
  sensitive   = true
}

variable "operator_require_mfa" {
  type        = bool
  description = "Whether assuming the operator roles requires MFA."
  default     = true
  nullable    = false
}

variable "operator_setup_role" {
  type        = bool
  description = "Keep the broader setup role (true while the instance is being built; set false afterwards to keep only the maintenance role)."
  default     = true
  nullable    = false
}

variable "tags" {
  type        = map(string)
  description = "Tags for every AWS object of the instance, over the provider's default_tags."
  default     = {}
  nullable    = false
}
