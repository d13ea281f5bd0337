"""Test doubles for AWS operations moto lacks or answers unlike AWS, registered on moto's own
response classes and backends (see scripts/emulator and docs/testing.md).

One module per service (ec2, eks, elasticache, rds), eks_access for EKS access entries and the
Kubernetes token authenticator that uses them; common holds the time-based transitions and the
hook into moto's URL maps. `register()` must run before moto's server handles its first request.
"""

from . import ec2, eks, eks_access, elasticache, rds


def register() -> None:
    """Routes the EC2, EKS, ElastiCache and RDS URLs of moto's server to the extended handlers
    (eks_access after eks: its handler class extends eks's), and the authenticator's URL."""
    for service in (ec2, eks, eks_access, elasticache, rds):
        service.register()
