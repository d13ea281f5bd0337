"""ElastiCache additions (query protocol): ModifyReplicationGroup, and the member clusters of a
replication group as DescribeCacheClusters shows them.

moto 5.1.22 creates replication groups but has no ModifyReplicationGroup, and creates no cache
clusters for a group's members, so DescribeCacheClusters never lists them. AWS reports a group's
engine version and maintenance window only on its member clusters (the ReplicationGroup shape has
neither), and a node type or engine version change waiting for the maintenance window only in their
PendingModifiedValues; so the members exist here, created with the group.

ModifyReplicationGroup follows its API reference page
(https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_ModifyReplicationGroup.html):
- description, maintenance window, snapshot settings, security groups, parameter group, Multi-AZ and
  minor version upgrades change at once;
- a node type or engine version change with ApplyImmediately=true, and an automatic failover
  change, make the group (and, for the former, its members) `modifying` for one transition delay
  (see common.py), with the change in the members' PendingModifiedValues (the group's
  AutomaticFailoverStatus); then it is applied and the group is `available`;
- with ApplyImmediately false (the default) the node type or engine version change waits in the
  members' PendingModifiedValues for the maintenance window; the double's "window" opens one
  transition delay later, and the group stays `available`;
- errors: ReplicationGroupNotFoundFault, InvalidReplicationGroupState unless the group is
  available, InvalidParameterValue for an engine version lower than the current one.
The answer is the ReplicationGroup as moto renders it for DescribeReplicationGroups.

DeleteReplicationGroup (API_DeleteReplicationGroup): moto's, the group `deleting` with its member
clusters, and — as on AWS, where moto keeps it `deleting` for good — gone one transition delay
later, so the name can be used again and a describe answers ReplicationGroupNotFoundFault.
"""

from typing import Any

from moto.core.responses import ActionResult
from moto.elasticache import urls as elasticache_urls
from moto.elasticache.exceptions import ElastiCacheException, InvalidParameterValueException
from moto.elasticache.models import CacheCluster, ElastiCacheBackend, ReplicationGroup
from moto.elasticache.responses import ElastiCacheResponse

from .common import SettlesTransitions, extend_urls, pending_values, timeline, version_key

# What AWS gives a group created without them: the current Redis OSS version and a weekly window.
DEFAULT_ENGINE_VERSION = "7.1"
DEFAULT_MAINTENANCE_WINDOW = "sun:05:00-sun:06:00"

# ModifyReplicationGroup parameters that take effect at once: parameter -> attribute of moto's
# ReplicationGroup and CacheCluster models, and whether the member clusters carry it too.
IMMEDIATE_CHANGES = {
    "ReplicationGroupDescription": ("description", False),
    "PreferredMaintenanceWindow": ("preferred_maintenance_window", True),
    "SnapshotRetentionLimit": ("snapshot_retention_limit", True),
    "SnapshotWindow": ("snapshot_window", True),
    "AutoMinorVersionUpgrade": ("auto_minor_version_upgrade", True),
    "SecurityGroupIds": ("security_group_ids", True),
    "CacheParameterGroupName": ("cache_parameter_group_name", True),
}


class InvalidReplicationGroupState(ElastiCacheException):
    code = "InvalidReplicationGroupState"


def enabled(flag: bool) -> str:
    return "enabled" if flag else "disabled"


def add_member_clusters(backend: ElastiCacheBackend, group: ReplicationGroup) -> None:
    """Creates the cache clusters of a new group's members, with the group's settings."""
    group.engine_version = group.engine_version or DEFAULT_ENGINE_VERSION
    group.preferred_maintenance_window = group.preferred_maintenance_window or DEFAULT_MAINTENANCE_WINDOW
    for node_group in group.node_groups:
        for member in node_group["node_group_members"]:
            backend.cache_clusters[member["cache_cluster_id"]] = CacheCluster(
                account_id=backend.account_id,
                region_name=backend.region_name,
                cache_cluster_id=member["cache_cluster_id"],
                cache_node_type=group.cache_node_type,
                replication_group_id=group.replication_group_id,
                az_mode=None,
                preferred_availability_zone=member.get("preferred_availability_zone"),
                num_cache_nodes=1,
                engine=group.engine,
                engine_version=group.engine_version,
                cache_parameter_group_name=group.cache_parameter_group_name,
                cache_subnet_group_name=group.cache_subnet_group_name,
                transit_encryption_enabled=group.transit_encryption_enabled,
                network_type=group.network_type,
                ip_discovery=group.ip_discovery,
                snapshot_name=None,
                preferred_maintenance_window=group.preferred_maintenance_window,
                port=group.port,
                notification_topic_arn=group.notification_topic_arn,
                auto_minor_version_upgrade=group.auto_minor_version_upgrade,
                snapshot_retention_limit=group.snapshot_retention_limit,
                snapshot_window=group.snapshot_window,
                auth_token=None,
                outpost_mode=None,
                preferred_outpost_arn=None,
                preferred_availability_zones=None,
                cache_security_group_names=group.cache_security_group_names,
                security_group_ids=group.security_group_ids,
                tags=None,
                snapshot_arns=None,
                preferred_outpost_arns=None,
                log_delivery_configurations=[],
                cache_node_ids_to_remove=None,
                cache_node_ids_to_reboot=None,
            )


def member_clusters(backend: ElastiCacheBackend, group: ReplicationGroup) -> list[CacheCluster]:
    return [backend.cache_clusters[i] for i in group.member_clusters if i in backend.cache_clusters]


def remove_group(backend: ElastiCacheBackend, group: ReplicationGroup, members: list[CacheCluster]) -> None:
    """A deleted group and its members are gone once `deleting` has run its course (moto keeps them
    `deleting` for good): DescribeReplicationGroups then answers ReplicationGroupNotFoundFault."""
    if backend.replication_groups.get(group.replication_group_id) is group:
        del backend.replication_groups[group.replication_group_id]
    for member in members:
        if backend.cache_clusters.get(member.cache_cluster_id) is member:
            del backend.cache_clusters[member.cache_cluster_id]


def apply_changes(
    group: ReplicationGroup, members: list[CacheCluster], node_changes: dict[str, str], failover: str | None
) -> None:
    """Applies node changes (CacheNodeType, EngineVersion) and an automatic failover change, clears
    them from the pending values and ends `modifying`. A group deleted meanwhile is left alone."""
    if group.status == "deleting":
        return
    attributes = {"CacheNodeType": "cache_node_type", "EngineVersion": "engine_version"}
    for name, value in node_changes.items():
        setattr(group, attributes[name], value)
        for member in members:
            setattr(member, attributes[name], value)
            pending_values(member).pop(name, None)
    if failover is not None:
        group.automatic_failover = failover
        pending_values(group).pop("AutomaticFailoverStatus", None)
    for member in members:
        if member.cache_cluster_status == "modifying":
            member.cache_cluster_status = "available"
    if group.status == "modifying":
        group.status = "available"


class ElastiCacheExtension(SettlesTransitions, ElastiCacheResponse):
    """moto's ElastiCache handlers plus ModifyReplicationGroup and the groups' member clusters."""

    def create_replication_group(self) -> ActionResult:
        result = super().create_replication_group()
        add_member_clusters(self.elasticache_backend, result.result["ReplicationGroup"])  # type: ignore[index]
        return result

    def delete_replication_group(self) -> ActionResult:
        backend = self.elasticache_backend
        group = backend.describe_replication_groups(self._get_param("ReplicationGroupId"))[0]
        members = member_clusters(backend, group)
        result = super().delete_replication_group()
        for member in members:
            member.cache_cluster_status = "deleting"
        timeline.after_delay(lambda: remove_group(backend, group, members))
        return result

    def modify_replication_group(self) -> ActionResult:
        backend = self.elasticache_backend
        group = backend.describe_replication_groups(self._get_param("ReplicationGroupId"))[0]
        if group.status != "available":
            raise InvalidReplicationGroupState(
                f"Replication group {group.replication_group_id} must be available to be modified; it is {group.status}."
            )
        members = member_clusters(backend, group)
        node_type, engine_version = self._get_param("CacheNodeType"), self._get_param("EngineVersion")
        if engine_version and version_key(engine_version) < version_key(group.engine_version):
            raise InvalidParameterValueException(
                f"Cannot downgrade the engine version of replication group {group.replication_group_id} "
                f"from {group.engine_version} to {engine_version}."
            )

        for parameter, (attribute, on_members) in IMMEDIATE_CHANGES.items():
            value: Any = self._get_param(parameter)
            if value is not None:
                for resource in [group, *members] if on_members else [group]:
                    setattr(resource, attribute, value)
        if (multi_az := self._get_param("MultiAZEnabled")) is not None:
            group.multi_az = enabled(multi_az)

        node_changes = {
            name: value
            for name, value, current in [
                ("CacheNodeType", node_type, group.cache_node_type),
                ("EngineVersion", engine_version, group.engine_version),
            ]
            if value and value != current
        }
        failover = self._get_param("AutomaticFailoverEnabled")
        failover = None if failover is None or enabled(failover) == group.automatic_failover else enabled(failover)
        for member in members:
            pending_values(member).update(node_changes)
        if failover is not None:
            pending_values(group)["AutomaticFailoverStatus"] = failover

        apply_immediately = bool(self._get_param("ApplyImmediately"))
        changes_now = node_changes if apply_immediately else {}
        if changes_now or failover is not None:
            group.status = "modifying"
            for member in members if changes_now else []:
                member.cache_cluster_status = "modifying"
            timeline.after_delay(lambda: apply_changes(group, members, changes_now, failover))
        if node_changes and not apply_immediately:
            timeline.after_delay(lambda: apply_changes(group, members, node_changes, None))
        return ActionResult({"ReplicationGroup": group})


def register() -> None:
    extend_urls(elasticache_urls, ElastiCacheExtension)
