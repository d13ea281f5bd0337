output "url" {
  description = "Where Retool is served."
  value       = retool_deployment.this.url
}

output "network_id" {
  description = "The network the instance runs in: pass it as another instance's network_id to share it."
  value       = local.network_id
}

output "egress_ips" {
  description = "Public IPs the instance's outbound traffic leaves from, for the allowlists of the systems Retool connects to."
  value       = retool_deployment.this.egress_ips
}

output "egress_allowlist" {
  description = "Domains an outbound firewall must allow on port 443."
  value       = retool_deployment.this.egress_allowlist
}

output "estimated_monthly_cost_usd" {
  description = "List-price estimate of the instance's monthly AWS cost (excludes data transfer, NAT gateways, snapshots and discounts)."
  value       = retool_deployment.this.estimated_monthly_cost_usd
}

output "cluster_name" {
  description = "The EKS cluster (aws eks update-kubeconfig --name ...)."
  value       = retool_deployment.this.cluster_name
}

output "database_endpoint" {
  description = "PostgreSQL hostname (TLS required; the password lives only in Secrets Manager)."
  value       = retool_deployment.this.database_endpoint
}

output "secret_arns" {
  description = "Where ENCRYPTION_KEY, JWT_SECRET and the database master password live (ARNs only; the values never enter state)."
  value = {
    encryption_key  = retool_deployment.this.encryption_key_secret_arn
    jwt_secret      = retool_deployment.this.jwt_secret_arn
    database_master = retool_deployment.this.database_master_user_secret_arn
  }
}

output "operator_role_arns" {
  description = "The roles to hand to the operating team: maintenance (long term) and setup (null once operator_setup_role is false)."
  value = {
    maintenance = retool_permission_boundary.operator.maintenance_role_arn
    setup       = retool_permission_boundary.operator.setup_role_arn
  }
}

output "workload_boundary_policy_arn" {
  description = "The permissions boundary every role of the instance carries."
  value       = retool_permission_boundary.operator.workload_boundary_policy_arn
}

output "workloads" {
  description = "The Retool containers on the cluster: image, desired and ready replicas, observed generation."
  value       = retool_deployment.this.workloads
}
