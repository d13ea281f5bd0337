# One Retool instance: its network (or an existing one), the operator roles fenced by a permission
# boundary, and the deployment, whose IAM roles carry the boundary's workload policy.
#
# The permission boundary's `name_prefix` is the instance name, so the deployment's roles
# (`<name>-eks-cluster`, `<name>-eks-nodes`, ...) fall under the prefix the workload boundary
# admits.

locals {
  # create_network, not network_id == null, decides: count must be known at plan time, and an id
  # taken from another instance's output is not known until that network exists.
  network_id = var.create_network ? retool_network.this[0].id : var.network_id
}

resource "retool_network" "this" {
  count = var.create_network ? 1 : 0

  name               = var.name
  cidr_block         = var.network.cidr_block
  availability_zones = var.network.availability_zones
  nat_gateways       = var.network.nat_gateways
  tags               = var.tags
}

resource "retool_permission_boundary" "operator" {
  name_prefix             = var.name
  operator_principal_arns = var.operator_principal_arns
  external_id             = var.operator_external_id
  require_mfa             = var.operator_require_mfa
  secrets_prefix          = "retool/${var.name}/"
  setup_role              = var.operator_setup_role
  tags                    = var.tags
}

resource "retool_deployment" "this" {
  name                    = var.name
  network_id              = local.network_id
  retool_version          = var.retool_version
  domain                  = var.domain
  permission_boundary_arn = retool_permission_boundary.operator.workload_boundary_policy_arn
  license_key_secret_arn  = var.license_key_secret_arn
  tags                    = var.tags

  node_group {
    instance_type = var.node_group.instance_type
    min_size      = var.node_group.min_size
    desired_size  = var.node_group.desired_size
    max_size      = var.node_group.max_size
  }

  database {
    instance_class       = var.database.instance_class
    engine_version       = var.database.engine_version
    allocated_storage_gb = var.database.allocated_storage_gb
    multi_az             = var.database.multi_az
    deletion_protection  = var.deletion_protection
    skip_final_snapshot  = var.database.skip_final_snapshot
  }

  cache {
    enabled = var.cache_enabled
  }

  retool_db {
    enabled = var.retool_db_enabled
  }

  lifecycle {
    # network_id's own validation checks its form; leaving it unset is caught here.
    precondition {
      condition     = local.network_id != null
      error_message = "With create_network = false, set network_id to the id of the retool_network to run in (e.g. another instance's network_id output)."
    }
  }
}
