"""RDS additions (query protocol): ModifyDBInstance changes the engine version the way AWS does.

moto 5.1.22's ModifyDBInstance sets a new EngineVersion at once, whatever it is: a major upgrade
without AllowMajorVersionUpgrade, a parameter group of the old major's family, even a downgrade.
Here an engine version change is checked and made as the ModifyDBInstance API reference describes
(https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_ModifyDBInstance.html, EngineVersion
and AllowMajorVersionUpgrade), with AWS's error codes and wording:
- a version lower than the current one: InvalidParameterCombination ("Cannot upgrade ... from ... to ...");
- another major version without AllowMajorVersionUpgrade=true: InvalidParameterCombination;
- another major version while the DB parameter group the instance would use (the one in the
  request, else its current one unless that is a default group) belongs to another family than
  the new major's ("postgres16"): InvalidParameterCombination naming both families; an instance on
  a default group moves to the new major's default group;
- with ApplyImmediately=true the instance is `upgrading` for one transition delay (see common.py),
  the new version in PendingModifiedValues.EngineVersion, then `available` on the new version;
  with ApplyImmediately false (the default) the change waits in PendingModifiedValues for the
  maintenance window, which in the double opens one transition delay later;
- any ModifyDBInstance while the instance is `upgrading`: InvalidDBInstanceState.
DescribeDBInstanceAutomatedBackups answers with the DBInstanceAutomatedBackup shape
(https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DBInstanceAutomatedBackup.html):
moto's returns only DBInstanceIdentifier and Status, so whoever decides what a retained backup
still needs (its KMS key) could not tell. The other members are those of the instance when its
automated backups were taken, and the three filters of the request are honoured.
Everything else in the request is moto's, unchanged (applied at once). The family check covers the
engines whose family is the engine name and its major version (postgres, mysql, mariadb).
"""

import hashlib
from typing import Optional

from moto.core.responses import ActionResult
from moto.rds import urls as rds_urls
from moto.rds.exceptions import InvalidParameterCombination, RDSClientError
from moto.rds.models import DBInstance
from moto.rds.responses import RDSResponse

from .common import SettlesTransitions, extend_urls, pending_values, timeline, version_key

FAMILY_IS_ENGINE_AND_MAJOR = {"postgres", "mysql", "mariadb"}


def major_version(engine: str, version: str) -> str:
    """PostgreSQL 10 and later: the first number ("16.3" -> "16"); otherwise the first two
    ("8.0.35" -> "8.0", "9.6.24" -> "9.6")."""
    parts = version.split(".")
    if engine == "postgres" and version_key(parts[0]) >= (10,):
        return parts[0]
    return ".".join(parts[:2])


class AutomatedBackups:
    """The automated backups of one DB instance, as DescribeDBInstanceAutomatedBackups renders
    them (moto's serializer reads the snake_case names of the shape's members)."""

    def __init__(self, backend, identifier: str, snapshots: list) -> None:
        newest = snapshots[-1]
        self.db_instance_identifier = identifier
        self.status = "active" if identifier in backend.databases else "retained"
        self.db_instance_arn = newest.database.db_instance_arn
        self.dbi_resource_id = newest.dbi_resource_id
        self.region = backend.region_name
        self.allocated_storage = newest.allocated_storage
        self.port = newest.port
        self.instance_create_time = newest.instance_create_time
        self.master_username = newest.master_username
        self.engine = newest.engine
        self.engine_version = newest.engine_version
        self.encrypted = bool(newest.encrypted)
        self.kms_key_id = newest.kms_key_id if newest.encrypted else None
        self.backup_retention_period = newest.database.backup_retention_period
        self.preferred_backup_window = newest.database.preferred_backup_window
        # moto gives every instance the same DbiResourceId; the backups' id is the instance's own.
        unique = hashlib.sha256(f"{self.db_instance_arn} {self.instance_create_time}".encode()).hexdigest()[:26]
        self.db_instance_automated_backups_arn = (
            f"arn:aws:rds:{backend.region_name}:{backend.account_id}:auto-backup:ab-{unique}"
        )


class RDSExtension(SettlesTransitions, RDSResponse):
    """moto's RDS handlers, with ModifyDBInstance's engine version changes made as AWS makes them."""

    def _parameter_group_family(self, name: str) -> Optional[str]:
        """The family of a DB parameter group; None when moto does not know the group (its own
        ModifyDBInstance then answers DBParameterGroupNotFound)."""
        group = self.backend.db_parameter_groups.get(name.lower())
        if group is not None:
            return group.family
        return name.removeprefix("default.") if name.startswith("default.") else None

    def _checked_engine_change(self, database: DBInstance, target: str) -> Optional[str]:
        """Refuses an engine version change AWS refuses. Returns the default parameter group the
        instance moves to on a major upgrade, if it uses a default one."""
        engine, current = database.engine, database.engine_version
        if version_key(target) < version_key(current):
            raise InvalidParameterCombination(f"Cannot upgrade {engine} from {current} to {target}")
        if major_version(engine, target) == major_version(engine, current):
            return None
        if not self.params.get("AllowMajorVersionUpgrade"):
            raise InvalidParameterCombination(
                "The AllowMajorVersionUpgrade flag must be present when upgrading to a new major version."
            )
        if engine not in FAMILY_IS_ENGINE_AND_MAJOR:
            return None
        family = f"{engine}{major_version(engine, target)}"
        requested = self.params.get("DBParameterGroupName")
        current_group = database.db_parameter_group_name
        if requested is None and (current_group is None or current_group.startswith("default.")):
            return f"default.{family}"
        group = requested or current_group
        group_family = self._parameter_group_family(group)
        if group_family is not None and group_family != family:
            raise InvalidParameterCombination(
                f"The parameter group {group} with DBParameterGroupFamily {group_family} can't be used for this "
                f"instance. Use a parameter group with DBParameterGroupFamily {family}."
            )
        return None

    def describe_db_instance_automated_backups(self) -> ActionResult:
        grouped: dict[str, list] = {}
        for snapshot in self.backend.database_snapshots.values():
            if snapshot.snapshot_type == "automated":
                grouped.setdefault(snapshot.db_instance_identifier, []).append(snapshot)
        backups = [AutomatedBackups(self.backend, identifier, snapshots) for identifier, snapshots in grouped.items()]
        wanted = {
            "db_instance_identifier": self.params.get("DBInstanceIdentifier"),
            "dbi_resource_id": self.params.get("DbiResourceId"),
            "db_instance_automated_backups_arn": self.params.get("DBInstanceAutomatedBackupsArn"),
        }
        backups = [b for b in backups if all(v is None or getattr(b, k) == v for k, v in wanted.items())]
        return ActionResult({"DBInstanceAutomatedBackups": backups})

    def modify_db_instance(self) -> ActionResult:
        database = self.backend.describe_db_instances(self.params.get("DBInstanceIdentifier"))[0]
        if database.status == "upgrading":
            raise RDSClientError("InvalidDBInstanceState", "Database instance is not in available state.")
        target = self.params.get("EngineVersion")
        if not target or target == database.engine_version:
            return super().modify_db_instance()
        default_group = self._checked_engine_change(database, target)
        del self.params["EngineVersion"]
        result = super().modify_db_instance()
        pending_values(database)["EngineVersion"] = target
        if self.params.get("ApplyImmediately"):
            database.status = "upgrading"

        def upgrade() -> None:
            database.engine_version = target
            if default_group is not None:
                database.db_parameter_group_name = default_group
            pending_values(database).pop("EngineVersion", None)
            if database.status == "upgrading":
                database.status = "available"

        timeline.after_delay(upgrade)
        return result


def register() -> None:
    extend_urls(rds_urls, RDSExtension)
