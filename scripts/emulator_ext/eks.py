"""EKS additions (REST-JSON): Kubernetes version updates of clusters and node groups, the updates
they start, and managed add-ons.

moto 5.1.22 has clusters and node groups but none of UpdateClusterVersion, DescribeUpdate,
ListUpdates, UpdateNodegroupVersion, CreateAddon, DescribeAddon, ListAddons, UpdateAddon,
DeleteAddon or DescribeAddonVersions. Each handler here follows its page of the EKS API reference
(https://docs.aws.amazon.com/eks/latest/APIReference/API_<Operation>.html) and the shapes of
botocore's EKS model: paths, JSON member names and error codes are AWS's.

State. The updates and add-ons of a cluster are kept beside moto's `Cluster` object (a weak
mapping), so they live and die with it; version changes are written to moto's `Cluster` and
`Nodegroup` objects, so moto's own DescribeCluster and DescribeNodegroup report them.

Rules, as AWS applies them:
- a cluster moves one minor version at a time (InvalidParameterException otherwise, downgrades and
  no-ops included), only once all its node groups run its current version, and not while another
  update of it is in progress (ResourceInUseException);
- a node group moves to the cluster's version (the default) or a version between its own and the
  cluster's, never past the cluster's nor back; its AMI release version must belong to that version;
- an add-on version must be compatible with the cluster's Kubernetes version, per the catalogue
  DescribeAddonVersions serves (static: vpc-cni, coredns, kube-proxy, eks-pod-identity-agent on
  Kubernetes 1.31 to 1.35, exactly one default version per add-on and Kubernetes version).
Each change takes one transition delay (see common.py): cluster and node group UPDATING, add-on
CREATING, UPDATING or DELETING, update InProgress; then ACTIVE (or gone) and Successful.

Corrections to moto's own handlers that the rules above depend on:
- CreateNodegroup without `version` gives the node group the cluster's Kubernetes version, as AWS
  does (moto gives 1.19), and a release version of that version; the new node group is CREATING
  for one transition delay, then ACTIVE (moto makes it ACTIVE at once), as AWS reports a group
  whose nodes are still launching
  (https://docs.aws.amazon.com/eks/latest/APIReference/API_Nodegroup.html, `status`);
- UpdateNodegroupConfig (moto's, otherwise unchanged: it applies at once and answers Successful) is
  recorded, so DescribeUpdate and ListUpdates find it, and is refused while a version update of
  the node group is in progress; UpdateClusterConfig is refused while a cluster update is;
- ListNodegroups of a cluster that does not exist answers ResourceNotFoundException, as AWS does
  (https://docs.aws.amazon.com/eks/latest/APIReference/API_ListNodegroups.html, Errors); moto's
  fails with an internal error (a KeyError, answered as a 500 HTML page);
- TagResource, UntagResource and ListTagsForResource also reach node groups and add-ons by ARN
  (https://docs.aws.amazon.com/eks/latest/APIReference/API_TagResource.html: clusters, managed
  node groups, add-ons and more are taggable); moto's reach clusters only.
"""

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Optional
from weakref import WeakKeyDictionary

from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.eks import urls as eks_urls
from moto.eks.exceptions import (
    EKSError,
    InvalidParameterException,
    ResourceInUseException,
    ResourceNotFoundException,
)
from moto.eks.models import Cluster, Nodegroup
from moto.eks.responses import EKSResponse

from .common import SettlesTransitions, extend_urls, timeline, version_key

NEW_PATHS = [
    "{0}/clusters/(?P<name>[^/]+)/updates$",
    "{0}/clusters/(?P<name>[^/]+)/updates/(?P<updateId>[^/]+)$",
    "{0}/clusters/(?P<name>[^/]+)/node-groups/(?P<nodegroupName>[^/]+)/update-version$",
    "{0}/clusters/(?P<name>[^/]+)/addons$",
    "{0}/clusters/(?P<name>[^/]+)/addons/(?P<addonName>[^/]+)$",
    "{0}/clusters/(?P<name>[^/]+)/addons/(?P<addonName>[^/]+)/update$",
    "{0}/addons/supported-versions$",
]

# The platform version of a cluster right after a Kubernetes version update (EKS numbers the
# platform versions of each Kubernetes version from eks.1).
PLATFORM_VERSION_AFTER_UPDATE = "eks.1"
# The build date in the EKS optimized AMI release versions the double makes up ("1.34.0-20251120").
AMI_BUILD_DATE = "20251120"
DEFAULT_PAGE_SIZE = 100
# The Kubernetes versions of the add-on catalogue.
KUBERNETES_VERSIONS = ("1.31", "1.32", "1.33", "1.34", "1.35")


@dataclass(frozen=True)
class AddonKind:
    """One add-on of the catalogue."""

    type: str
    requires_iam_permissions: bool
    # Add-on version (newest first) -> the Kubernetes versions it runs on.
    versions: dict[str, tuple[str, ...]]
    # Kubernetes version -> the add-on version installed when none is asked for.
    defaults: dict[str, str]


ADDON_CATALOGUE = {
    "coredns": AddonKind(
        type="networking",
        requires_iam_permissions=False,
        versions={
            "v1.13.1-eksbuild.1": ("1.35",),
            "v1.12.4-eksbuild.1": ("1.34", "1.35"),
            "v1.12.3-eksbuild.1": ("1.33", "1.34"),
            "v1.12.1-eksbuild.2": ("1.32", "1.33"),
            "v1.11.4-eksbuild.14": ("1.31", "1.32"),
            "v1.11.3-eksbuild.2": ("1.31",),
        },
        defaults={
            "1.31": "v1.11.3-eksbuild.2",
            "1.32": "v1.11.4-eksbuild.14",
            "1.33": "v1.12.1-eksbuild.2",
            "1.34": "v1.12.3-eksbuild.1",
            "1.35": "v1.12.4-eksbuild.1",
        },
    ),
    "eks-pod-identity-agent": AddonKind(
        type="security",
        requires_iam_permissions=False,
        versions={
            "v1.3.9-eksbuild.3": ("1.32", "1.33", "1.34", "1.35"),
            "v1.3.8-eksbuild.2": KUBERNETES_VERSIONS,
            "v1.3.4-eksbuild.1": ("1.31", "1.32", "1.33"),
        },
        defaults={
            "1.31": "v1.3.4-eksbuild.1",
            "1.32": "v1.3.8-eksbuild.2",
            "1.33": "v1.3.8-eksbuild.2",
            "1.34": "v1.3.8-eksbuild.2",
            "1.35": "v1.3.9-eksbuild.3",
        },
    ),
    "kube-proxy": AddonKind(
        type="networking",
        requires_iam_permissions=False,
        versions={
            "v1.35.0-eksbuild.2": ("1.35",),
            "v1.34.1-eksbuild.2": ("1.34",),
            "v1.34.0-eksbuild.4": ("1.34",),
            "v1.33.3-eksbuild.10": ("1.33",),
            "v1.33.0-eksbuild.2": ("1.33",),
            "v1.32.6-eksbuild.12": ("1.32",),
            "v1.32.0-eksbuild.2": ("1.32",),
            "v1.31.10-eksbuild.8": ("1.31",),
            "v1.31.3-eksbuild.2": ("1.31",),
        },
        defaults={
            "1.31": "v1.31.3-eksbuild.2",
            "1.32": "v1.32.0-eksbuild.2",
            "1.33": "v1.33.0-eksbuild.2",
            "1.34": "v1.34.0-eksbuild.4",
            "1.35": "v1.35.0-eksbuild.2",
        },
    ),
    "vpc-cni": AddonKind(
        type="networking",
        requires_iam_permissions=True,
        versions={
            "v1.20.4-eksbuild.1": KUBERNETES_VERSIONS,
            "v1.19.6-eksbuild.7": KUBERNETES_VERSIONS,
            "v1.19.2-eksbuild.1": ("1.31", "1.32", "1.33"),
            "v1.18.6-eksbuild.1": ("1.31", "1.32"),
        },
        defaults={
            "1.31": "v1.19.2-eksbuild.1",
            "1.32": "v1.19.2-eksbuild.1",
            "1.33": "v1.19.6-eksbuild.7",
            "1.34": "v1.20.4-eksbuild.1",
            "1.35": "v1.20.4-eksbuild.1",
        },
    ),
}


def release_version(kubernetes_version: str) -> str:
    """The AMI release version the double gives a node group of `kubernetes_version`."""
    return f"{kubernetes_version}.0-{AMI_BUILD_DATE}"


def addon_info(name: str, kubernetes_version: Optional[str]) -> dict[str, Any]:
    """The `AddonInfo` of DescribeAddonVersions: the add-on's versions (those that run on
    `kubernetes_version`, when given), each with its compatibilities."""
    kind = ADDON_CATALOGUE[name]
    versions = []
    for version, cluster_versions in kind.versions.items():
        compatible = [v for v in cluster_versions if kubernetes_version in (None, v)]
        if compatible:
            versions.append({
                "addonVersion": version,
                "architecture": ["amd64", "arm64"],
                "computeTypes": ["ec2"],
                "compatibilities": [
                    {"clusterVersion": v, "platformVersions": ["*"], "defaultVersion": kind.defaults.get(v) == version}
                    for v in compatible
                ],
                "requiresConfiguration": False,
                "requiresIamPermissions": kind.requires_iam_permissions,
            })
    return {
        "addonName": name,
        "type": kind.type,
        "addonVersions": versions,
        "publisher": "eks",
        "owner": "aws",
        "defaultNamespace": "kube-system",
    }


@dataclass
class Update:
    """An update of a cluster, or of one of its node groups (`nodegroup`) or add-ons (`addon`)."""

    type: str
    params: list[dict[str, str]]
    nodegroup: Optional[str] = None
    addon: Optional[str] = None
    client_request_token: Optional[str] = None
    status: str = "InProgress"
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    created_at: datetime = field(default_factory=utcnow)

    def shape(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "type": self.type,
            "params": self.params,
            "createdAt": self.created_at,
            "errors": [],
        }


@dataclass
class Addon:
    """A managed add-on of a cluster."""

    name: str
    cluster_name: str
    version: str
    arn: str
    tags: dict[str, str]
    configuration_values: Optional[str]
    service_account_role_arn: Optional[str]
    client_request_token: Optional[str]
    status: str = "CREATING"
    created_at: datetime = field(default_factory=utcnow)
    modified_at: datetime = field(default_factory=utcnow)

    def shape(self) -> dict[str, Any]:
        shape: dict[str, Any] = {
            "addonName": self.name,
            "clusterName": self.cluster_name,
            "status": self.status,
            "addonVersion": self.version,
            "health": {"issues": []},
            "addonArn": self.arn,
            "createdAt": self.created_at,
            "modifiedAt": self.modified_at,
            "tags": self.tags,
        }
        if self.configuration_values is not None:
            shape["configurationValues"] = self.configuration_values
        if self.service_account_role_arn is not None:
            shape["serviceAccountRoleArn"] = self.service_account_role_arn
        return shape

    def become_active(self, after: str) -> None:
        """Ends the `after` status (CREATING, UPDATING); a later status (DELETING) stays."""
        if self.status == after:
            self.status = "ACTIVE"


@dataclass
class ClusterExtras:
    """What the double keeps for a cluster beside moto's `Cluster`."""

    updates: dict[str, Update] = field(default_factory=dict)
    addons: dict[str, Addon] = field(default_factory=dict)

    def start(self, update: Update) -> Update:
        self.updates[update.id] = update
        return update

    def in_progress(self, nodegroup: Optional[str] = None, addon: Optional[str] = None) -> Optional[Update]:
        """The update of the cluster itself (or of `nodegroup` or `addon`) that is in progress."""
        return next(
            (u for u in self.updates.values() if u.status == "InProgress" and (u.nodegroup, u.addon) == (nodegroup, addon)),
            None,
        )

    def started_by(
        self, client_request_token: Optional[str], nodegroup: Optional[str] = None, addon: Optional[str] = None
    ) -> Optional[Update]:
        """The update of the same scope an earlier request with the same idempotency token started."""
        if not client_request_token:
            return None
        return next(
            (
                u
                for u in self.updates.values()
                if u.client_request_token == client_request_token and (u.nodegroup, u.addon) == (nodegroup, addon)
            ),
            None,
        )


_extras: "WeakKeyDictionary[Cluster, ClusterExtras]" = WeakKeyDictionary()


def extras_of(cluster: Cluster) -> ClusterExtras:
    return _extras.setdefault(cluster, ClusterExtras())


def eks_error(
    error: type[EKSError],
    message: str,
    cluster: Optional[str] = None,
    nodegroup: Optional[str] = None,
    addon: Optional[str] = None,
) -> EKSError:
    """An EKS error whose JSON body carries the message and the names AWS puts beside it."""
    names = {"clusterName": cluster, "nodegroupName": nodegroup, "addonName": addon}
    return error(message=message, **{key: value for key, value in names.items() if value is not None})


class EKSExtension(SettlesTransitions, EKSResponse):
    """moto's EKS handlers, corrected as the module says, plus the operations moto lacks."""

    def _cluster(self) -> Cluster:
        return self.eks_backend.describe_cluster(name=self._get_param("name"))

    def _nodegroup(self, cluster: Cluster, name: str) -> Nodegroup:
        return self.eks_backend.describe_nodegroup(cluster_name=cluster.name, nodegroup_name=name)

    def _addon(self, cluster: Cluster, name: str) -> Addon:
        addon = extras_of(cluster).addons.get(name)
        if addon is None:
            raise eks_error(
                ResourceNotFoundException, f"No addon: {name} found in cluster: {cluster.name}", cluster.name, addon=name
            )
        return addon

    def _page(self, items: list[Any], key: Callable[[Any], str]) -> tuple[list[Any], Optional[str]]:
        """The page of `items` that `maxResults` and `nextToken` ask for, and the next page's token."""
        max_results = self._get_int_param("maxResults", DEFAULT_PAGE_SIZE)
        next_token = self._get_param("nextToken")
        keys = [key(item) for item in items]
        if next_token and next_token not in keys:
            raise eks_error(InvalidParameterException, f"The nextToken {next_token} is not valid")
        start = keys.index(next_token) if next_token else 0
        end = start + max_results
        return items[start:end], keys[end] if end < len(items) else None

    # Tags of node groups and add-ons (moto tags clusters only)

    def _tagged(self) -> Optional[Any]:
        """The node group or add-on whose ARN the tag request's path names; None for anything else
        (a cluster), which moto's own handlers serve."""
        arn = self._extract_arn_from_path()
        for cluster in self.eks_backend.clusters.values():
            for resource in [*cluster.nodegroups.values(), *extras_of(cluster).addons.values()]:
                if resource.arn == arn:
                    return resource
        return None

    def tag_resource(self) -> ActionResult:
        resource = self._tagged()
        if resource is None:
            return super().tag_resource()
        resource.tags = {**(resource.tags or {}), **self._get_param("tags", {})}
        return ActionResult({})

    def untag_resource(self) -> ActionResult:
        resource = self._tagged()
        if resource is None:
            return super().untag_resource()
        keys = self.querystring.get("tagKeys", [])
        resource.tags = {key: value for key, value in (resource.tags or {}).items() if key not in keys}
        return ActionResult({})

    def list_tags_for_resource(self) -> ActionResult:
        resource = self._tagged()
        if resource is None:
            return super().list_tags_for_resource()
        return ActionResult({"tags": resource.tags or {}})

    # Clusters

    def update_cluster_version(self) -> ActionResult:
        cluster = self._cluster()
        extras = extras_of(cluster)
        token = self._get_param("clientRequestToken")
        if repeated := extras.started_by(token):
            return ActionResult({"update": repeated.shape()})
        target = self._get_param("version") or ""
        if busy := extras.in_progress():
            raise eks_error(
                ResourceInUseException,
                f"Cannot VersionUpdate because cluster {cluster.name} currently has update {busy.id} in progress",
                cluster.name,
            )
        current = version_key(cluster.version)
        if version_key(target) != (current[0], current[1] + 1):
            raise eks_error(
                InvalidParameterException,
                f"Unsupported Kubernetes minor version update from {cluster.version} to {target}",
                cluster.name,
            )
        behind = sorted(name for name, group in cluster.nodegroups.items() if group.version != cluster.version)
        if behind:
            raise eks_error(
                InvalidParameterException,
                f"Nodegroups {', '.join(behind)} must be updated to match cluster version {cluster.version} "
                "before updating cluster version",
                cluster.name,
            )
        params = [{"type": "Version", "value": target}, {"type": "PlatformVersion", "value": PLATFORM_VERSION_AFTER_UPDATE}]
        update = extras.start(Update("VersionUpdate", params, client_request_token=token))
        cluster.status = "UPDATING"

        def complete() -> None:
            cluster.version = target
            cluster.platformVersion = PLATFORM_VERSION_AFTER_UPDATE
            cluster.status = "ACTIVE"
            update.status = "Successful"

        timeline.after_delay(complete)
        return ActionResult({"update": update.shape()})

    def update_cluster_config(self) -> ActionResult:
        cluster = self._cluster()
        if busy := extras_of(cluster).in_progress():
            raise eks_error(
                ResourceInUseException,
                f"Cannot update because cluster {cluster.name} currently has update {busy.id} in progress",
                cluster.name,
            )
        return super().update_cluster_config()

    # Updates

    def describe_update(self) -> ActionResult:
        cluster = self._cluster()
        update_id = self._get_param("updateId")
        nodegroup, addon = self._get_param("nodegroupName"), self._get_param("addonName")
        update = extras_of(cluster).updates.get(update_id)
        if update is None or (update.nodegroup, update.addon) != (nodegroup, addon):
            raise eks_error(
                ResourceNotFoundException, f"No update found for ID: {update_id}", cluster.name, nodegroup, addon
            )
        return ActionResult({"update": update.shape()})

    def list_updates(self) -> ActionResult:
        cluster = self._cluster()
        nodegroup, addon = self._get_param("nodegroupName"), self._get_param("addonName")
        if nodegroup:
            self._nodegroup(cluster, nodegroup)
        if addon:
            self._addon(cluster, addon)
        ids = [u.id for u in extras_of(cluster).updates.values() if (u.nodegroup, u.addon) == (nodegroup, addon)]
        ids, next_token = self._page(ids, key=str)
        return ActionResult({"updateIds": ids, "nextToken": next_token})

    # Node groups

    def list_nodegroups(self) -> ActionResult:
        self._cluster()  # ResourceNotFoundException when there is no such cluster
        return super().list_nodegroups()

    def create_nodegroup(self) -> ActionResult:
        result = super().create_nodegroup()
        nodegroup = result.result["nodegroup"]  # type: ignore[index]
        if self._get_param("version") is None:
            nodegroup.version = self.eks_backend.clusters[nodegroup.cluster_name].version
        if self._get_param("releaseVersion") is None:
            nodegroup.release_version = release_version(nodegroup.version)
        nodegroup.status = "CREATING"

        def created() -> None:
            if nodegroup.status == "CREATING":
                nodegroup.status = "ACTIVE"

        timeline.after_delay(created)
        return result

    def update_nodegroup_config(self) -> ActionResult:
        cluster = self._cluster()
        name = self._get_param("nodegroupName")
        if busy := extras_of(cluster).in_progress(nodegroup=name):
            raise eks_error(
                ResourceInUseException,
                f"Cannot update because nodegroup {name} currently has update {busy.id} in progress",
                cluster.name,
                name,
            )
        result = super().update_nodegroup_config()
        done = result.result["update"]  # type: ignore[index]
        extras_of(cluster).start(
            Update(
                done["type"],
                done["params"],
                nodegroup=name,
                status=done["status"],
                id=done["id"],
                created_at=done["createdAt"],
            )
        )
        return result

    def update_nodegroup_version(self) -> ActionResult:
        cluster = self._cluster()
        name = self._get_param("nodegroupName")
        nodegroup = self._nodegroup(cluster, name)
        extras = extras_of(cluster)
        token = self._get_param("clientRequestToken")
        if repeated := extras.started_by(token, nodegroup=name):
            return ActionResult({"update": repeated.shape()})
        if busy := extras.in_progress(nodegroup=name):
            raise eks_error(
                ResourceInUseException,
                f"Cannot VersionUpdate because nodegroup {name} currently has update {busy.id} in progress",
                cluster.name,
                name,
            )
        target = self._get_param("version") or cluster.version
        release = self._get_param("releaseVersion") or release_version(target)
        launch_template = self._get_param("launchTemplate")

        def refuse(message: str) -> EKSError:
            return eks_error(InvalidParameterException, message, cluster.name, name)

        if version_key(target) > version_key(cluster.version):
            raise refuse(f"Requested Nodegroup version {target} is newer than the cluster version {cluster.version}")
        if version_key(target) < version_key(nodegroup.version):
            raise refuse(f"Requested Nodegroup version {target} is older than the nodegroup version {nodegroup.version}")
        if not release.startswith(f"{target}."):
            raise refuse(f"Requested release version {release} is not valid for kubernetes version {target}.")
        if launch_template and not nodegroup.launch_template:
            raise refuse("A launch template can only be given for a node group created with a launch template")
        params = [{"type": "Version", "value": target}, {"type": "ReleaseVersion", "value": release}]
        if launch_template and "version" in launch_template:
            params.append({"type": "LaunchTemplateVersion", "value": launch_template["version"]})
        update = extras.start(Update("VersionUpdate", params, nodegroup=name, client_request_token=token))
        nodegroup.status = "UPDATING"

        def complete() -> None:
            nodegroup.version = target
            nodegroup.release_version = release
            if launch_template and "version" in launch_template:
                nodegroup.launch_template["version"] = launch_template["version"]
            nodegroup.modified_at = utcnow()
            nodegroup.status = "ACTIVE"
            update.status = "Successful"

        timeline.after_delay(complete)
        return ActionResult({"update": update.shape()})

    # Add-ons

    def _addon_version(self, cluster: Cluster, name: str, requested: Optional[str]) -> str:
        """`requested`, or the default version when None, once it is known to run on the cluster."""
        kind = ADDON_CATALOGUE.get(name)
        version = requested or (kind.defaults.get(cluster.version) if kind else None)
        if kind is None or version is None:
            raise eks_error(
                InvalidParameterException,
                f"Addon {name} specified is not supported in {cluster.version} kubernetes version",
                cluster.name,
                addon=name,
            )
        if cluster.version not in kind.versions.get(version, ()):
            raise eks_error(
                InvalidParameterException,
                f"Addon version {version} of {name} is not supported in {cluster.version} kubernetes version",
                cluster.name,
                addon=name,
            )
        return version

    def create_addon(self) -> ActionResult:
        cluster = self._cluster()
        extras = extras_of(cluster)
        name = self._get_param("addonName")
        token = self._get_param("clientRequestToken")
        if existing := extras.addons.get(name):
            if token and existing.client_request_token == token:
                return ActionResult({"addon": existing.shape()})
            raise eks_error(ResourceInUseException, "Addon already exists.", cluster.name, addon=name)
        version = self._addon_version(cluster, name, self._get_param("addonVersion"))
        arn_prefix = cluster.arn.rsplit(":cluster/", 1)[0]
        addon = Addon(
            name=name,
            cluster_name=cluster.name,
            version=version,
            arn=f"{arn_prefix}:addon/{cluster.name}/{name}/{uuid.uuid4()}",
            tags=self._get_param("tags") or {},
            configuration_values=self._get_param("configurationValues"),
            service_account_role_arn=self._get_param("serviceAccountRoleArn"),
            client_request_token=token,
        )
        extras.addons[name] = addon
        timeline.after_delay(lambda: addon.become_active(after="CREATING"))
        return ActionResult({"addon": addon.shape()})

    def describe_addon(self) -> ActionResult:
        cluster = self._cluster()
        return ActionResult({"addon": self._addon(cluster, self._get_param("addonName")).shape()})

    def list_addons(self) -> ActionResult:
        cluster = self._cluster()
        names, next_token = self._page(sorted(extras_of(cluster).addons), key=str)
        return ActionResult({"addons": names, "nextToken": next_token})

    def update_addon(self) -> ActionResult:
        cluster = self._cluster()
        extras = extras_of(cluster)
        addon = self._addon(cluster, self._get_param("addonName"))
        token = self._get_param("clientRequestToken")
        if repeated := extras.started_by(token, addon=addon.name):
            return ActionResult({"update": repeated.shape()})
        if busy := extras.in_progress(addon=addon.name):
            raise eks_error(
                ResourceInUseException,
                f"Cannot AddonUpdate because addon {addon.name} currently has update {busy.id} in progress",
                cluster.name,
                addon=addon.name,
            )
        if addon.status != "ACTIVE":
            raise eks_error(
                ResourceInUseException, f"Addon {addon.name} is {addon.status}", cluster.name, addon=addon.name
            )
        requested = self._get_param("addonVersion")
        version = self._addon_version(cluster, addon.name, requested) if requested else addon.version
        configuration = self._get_param("configurationValues")
        role = self._get_param("serviceAccountRoleArn")
        resolve_conflicts = self._get_param("resolveConflicts")
        params = [
            {"type": param_type, "value": value}
            for param_type, value in [
                ("AddonVersion", requested),
                ("ServiceAccountRoleArn", role),
                ("ResolveConflicts", resolve_conflicts),
                ("ConfigurationValues", configuration),
            ]
            if value is not None
        ]
        update = extras.start(Update("AddonUpdate", params, addon=addon.name, client_request_token=token))
        addon.status = "UPDATING"

        def complete() -> None:
            addon.version = version
            if configuration is not None:
                addon.configuration_values = configuration
            if role is not None:
                addon.service_account_role_arn = role
            addon.modified_at = utcnow()
            addon.become_active(after="UPDATING")
            update.status = "Successful"

        timeline.after_delay(complete)
        return ActionResult({"update": update.shape()})

    def delete_addon(self) -> ActionResult:
        cluster = self._cluster()
        addons = extras_of(cluster).addons
        addon = self._addon(cluster, self._get_param("addonName"))
        addon.status = "DELETING"

        def remove() -> None:
            if addons.get(addon.name) is addon:
                del addons[addon.name]

        timeline.after_delay(remove)
        return ActionResult({"addon": addon.shape()})

    def describe_addon_versions(self) -> ActionResult:
        kubernetes_version = self._get_param("kubernetesVersion")
        name = self._get_param("addonName")
        infos = [addon_info(n, kubernetes_version) for n in sorted(ADDON_CATALOGUE) if name in (None, n)]
        infos, next_token = self._page([info for info in infos if info["addonVersions"]], key=lambda i: i["addonName"])
        return ActionResult({"addons": infos, "nextToken": next_token})


def register() -> None:
    extend_urls(eks_urls, EKSExtension, NEW_PATHS)
