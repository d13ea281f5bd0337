"""Tests of scripts/emulator: moto's server plus the test doubles of scripts/emulator_ext.

    .venv/bin/python -m unittest discover -s scripts/tests -v      # from the project root

One emulator, started the way the harness starts it (`scripts/emulator -H 127.0.0.1 -p 0`, its port
read from the "Running on" line), serves the whole module with transitions of TRANSITION_SECONDS;
each test names its own resources. boto3 drives every added handler: the happy path with its
status transitions, and each error AWS answers. Needs boto3 and moto: the venv's python.
"""

import os
import re
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

try:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError
except ImportError as missing:
    raise ImportError(
        f"{missing}: run the tests with the venv's python (make venv; .venv/bin/python -m unittest discover -s scripts/tests)"
    ) from missing

SCRIPTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(SCRIPTS))

from emulator_ext.common import version_key  # noqa: E402  (scripts/ is on the path above)
from emulator_ext.rds import major_version  # noqa: E402

TRANSITION_SECONDS = 0.5
ROLE = "arn:aws:iam::123456789012:role/eks"
KUBERNETES_VERSIONS = ["1.31", "1.32", "1.33", "1.34", "1.35"]

emulator = None


class Emulator:
    """scripts/emulator as a subprocess, its output in a temporary file."""

    def __init__(self):
        self.dir = tempfile.TemporaryDirectory()
        self.log = Path(self.dir.name) / "emulator.log"
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "EMULATOR_TRANSITION_SECONDS": str(TRANSITION_SECONDS)}
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(SCRIPTS / "emulator"), "-H", "127.0.0.1", "-p", "0"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            )
        deadline = time.monotonic() + 60
        while not (match := re.search(r"Running on http://127\.0\.0\.1:(\d+)", self.log.read_text())):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"the emulator did not start: {self.log.read_text()}")
            time.sleep(0.05)
        self.endpoint = f"http://127.0.0.1:{match.group(1)}"

    def client(self, service):
        return boto3.client(
            service, endpoint_url=self.endpoint, region_name="us-east-1",
            aws_access_key_id="test", aws_secret_access_key="test",
            config=Config(retries={"total_max_attempts": 1}),
        )

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.dir.cleanup()


def setUpModule():
    global emulator
    emulator = Emulator()


def tearDownModule():
    if emulator is not None:
        emulator.stop()


def eventually(read, until, what):
    """Polls `read()` until `until(value)` holds (at most ten transition delays); returns the value."""
    deadline = time.monotonic() + 10 * TRANSITION_SECONDS + 2
    while True:
        value = read()
        if until(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: still {value!r}")
        time.sleep(0.05)


class EmulatorTest(unittest.TestCase):
    def assertRefused(self, code, call, *args, **kwargs):
        """Asserts `call` fails with the AWS error `code`; returns the error."""
        with self.assertRaises(ClientError) as raised:
            call(*args, **kwargs)
        self.assertEqual(raised.exception.response["Error"]["Code"], code, raised.exception.response)
        return raised.exception


class NatGatewayTest(EmulatorTest):
    """DeleteNatGateway: `deleting`, then `deleted` with the Elastic IP disassociated (moto alone
    keeps it associated for good)."""

    def setUp(self):
        self.ec2 = emulator.client("ec2")
        vpc = self.ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
        self.subnet = self.ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.0.0/24")["Subnet"]["SubnetId"]
        self.allocation = self.ec2.allocate_address(Domain="vpc")["AllocationId"]

    def gateway(self):
        return self.ec2.create_nat_gateway(SubnetId=self.subnet, AllocationId=self.allocation)["NatGateway"]["NatGatewayId"]

    def state(self, nat_gateway_id):
        return self.ec2.describe_nat_gateways(NatGatewayIds=[nat_gateway_id])["NatGateways"][0]["State"]

    def association(self):
        return self.ec2.describe_addresses(AllocationIds=[self.allocation])["Addresses"][0].get("AssociationId")

    def test_deleting_then_deleted_and_the_address_reusable(self):
        first = self.gateway()
        self.assertIsNotNone(self.association())
        self.assertEqual(self.ec2.delete_nat_gateway(NatGatewayId=first)["NatGatewayId"], first)
        self.assertEqual(self.state(first), "deleting")
        self.assertIsNotNone(self.association(), "the address is held while the gateway is deleting")
        self.assertRefused("Resource.AlreadyAssociated", self.gateway)
        eventually(lambda: self.state(first), lambda state: state == "deleted", "deleted gateway")
        self.assertIsNone(self.association(), "a deleted gateway's address is disassociated")
        second = self.gateway()
        self.assertNotEqual(second, first)
        self.assertEqual(self.state(second), "available")

    def test_deleting_again_and_unknown_gateways(self):
        nat = self.gateway()
        self.ec2.delete_nat_gateway(NatGatewayId=nat)
        self.assertEqual(self.ec2.delete_nat_gateway(NatGatewayId=nat)["NatGatewayId"], nat)
        self.assertRefused("NatGatewayNotFound", self.ec2.delete_nat_gateway, NatGatewayId="nat-0123456789abcdef0")

    def test_an_address_released_while_its_gateway_is_deleting(self):
        nat = self.gateway()
        self.ec2.delete_nat_gateway(NatGatewayId=nat)
        self.ec2.disassociate_address(AssociationId=self.association())
        self.ec2.release_address(AllocationId=self.allocation)
        eventually(lambda: self.state(nat), lambda state: state == "deleted", "deleted gateway")


class RouteTableTokenTest(EmulatorTest):
    """CreateRouteTable with a client token: a repeat answers with the first table."""

    def test_a_repeat_with_the_token_makes_no_second_table(self):
        ec2 = emulator.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
        other = ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
        first = ec2.create_route_table(VpcId=vpc, ClientToken="token-1")["RouteTable"]["RouteTableId"]
        again = ec2.create_route_table(VpcId=vpc, ClientToken="token-1")["RouteTable"]["RouteTableId"]
        self.assertEqual(again, first)
        fresh = ec2.create_route_table(VpcId=vpc, ClientToken="token-2")["RouteTable"]["RouteTableId"]
        self.assertNotEqual(fresh, first)
        tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["RouteTables"]
        self.assertEqual(len(tables), 3, "the main table and two made")
        self.assertRefused("IdempotentParameterMismatch", ec2.create_route_table, VpcId=other, ClientToken="token-1")


class EksTest(EmulatorTest):
    def setUp(self):
        self.eks = emulator.client("eks")

    def cluster(self, name, version="1.33", nodegroups=()):
        self.eks.create_cluster(name=name, version=version, roleArn=ROLE, resourcesVpcConfig={"subnetIds": ["subnet-1"]})
        for group in nodegroups:
            self.eks.create_nodegroup(clusterName=name, nodegroupName=group, nodeRole=ROLE, subnets=["subnet-1"])

    def described(self, name):
        return self.eks.describe_cluster(name=name)["cluster"]

    def nodegroup(self, cluster, name):
        return self.eks.describe_nodegroup(clusterName=cluster, nodegroupName=name)["nodegroup"]


class NodegroupListTest(EksTest):
    def test_node_groups_of_a_missing_cluster_are_not_found(self):
        with self.assertRaises(self.eks.exceptions.ResourceNotFoundException):
            self.eks.list_nodegroups(clusterName="absent")
        self.cluster("listed", nodegroups=["a"])
        self.assertEqual(self.eks.list_nodegroups(clusterName="listed")["nodegroups"], ["a"])


class ClusterVersionTest(EksTest):
    def test_update_moves_one_minor_version_through_updating(self):
        self.cluster("upgrade", nodegroups=["workers"])
        update = self.eks.update_cluster_version(name="upgrade", version="1.34")["update"]
        self.assertEqual(update["status"], "InProgress")
        self.assertEqual(update["type"], "VersionUpdate")
        self.assertEqual(update["params"][0], {"type": "Version", "value": "1.34"})
        self.assertEqual(update["params"][1]["type"], "PlatformVersion")
        self.assertEqual(update["errors"], [])
        self.assertIn("createdAt", update)
        cluster = self.described("upgrade")
        self.assertEqual((cluster["status"], cluster["version"]), ("UPDATING", "1.33"))

        cluster = eventually(lambda: self.described("upgrade"), lambda c: c["status"] == "ACTIVE", "cluster status")
        self.assertEqual(cluster["version"], "1.34")
        described = self.eks.describe_update(name="upgrade", updateId=update["id"])["update"]
        self.assertEqual(described["status"], "Successful")
        self.assertEqual(self.eks.list_updates(name="upgrade")["updateIds"], [update["id"]])

    def test_refuses_skips_downgrades_and_no_ops(self):
        self.cluster("stays", version="1.33")
        for version in ["1.35", "1.32", "1.33"]:
            error = self.assertRefused("InvalidParameterException", self.eks.update_cluster_version, name="stays", version=version)
            self.assertIn(f"from 1.33 to {version}", error.response["Error"]["Message"])
        self.assertRefused("ResourceNotFoundException", self.eks.update_cluster_version, name="missing", version="1.34")
        self.assertEqual(self.described("stays")["status"], "ACTIVE")

    def test_refuses_a_second_update_while_one_is_in_progress(self):
        self.cluster("busy")
        self.eks.update_cluster_version(name="busy", version="1.34")
        self.assertRefused("ResourceInUseException", self.eks.update_cluster_version, name="busy", version="1.34")
        self.assertRefused(
            "ResourceInUseException", self.eks.update_cluster_config, name="busy",
            resourcesVpcConfig={"endpointPublicAccess": True},
        )
        eventually(lambda: self.described("busy"), lambda c: c["status"] == "ACTIVE", "cluster status")
        self.eks.update_cluster_version(name="busy", version="1.35")

    def test_refuses_while_a_node_group_runs_an_older_version(self):
        self.cluster("lagging", nodegroups=["workers"])
        self.eks.update_cluster_version(name="lagging", version="1.34")
        eventually(lambda: self.described("lagging"), lambda c: c["status"] == "ACTIVE", "cluster status")
        error = self.assertRefused("InvalidParameterException", self.eks.update_cluster_version, name="lagging", version="1.35")
        self.assertIn("workers", error.response["Error"]["Message"])

    def test_a_repeated_client_request_token_returns_the_same_update(self):
        self.cluster("idempotent")
        first = self.eks.update_cluster_version(name="idempotent", version="1.34", clientRequestToken="token-1")["update"]
        again = self.eks.update_cluster_version(name="idempotent", version="1.34", clientRequestToken="token-1")["update"]
        self.assertEqual(first["id"], again["id"])

    def test_describe_update_of_an_unknown_id_is_not_found(self):
        self.cluster("no-updates")
        self.assertRefused("ResourceNotFoundException", self.eks.describe_update, name="no-updates", updateId="nope")
        self.assertEqual(self.eks.list_updates(name="no-updates")["updateIds"], [])


class NodegroupVersionTest(EksTest):
    def test_created_without_version_it_runs_the_clusters(self):
        self.cluster("defaults", version="1.32", nodegroups=["workers"])
        group = self.nodegroup("defaults", "workers")
        self.assertEqual(group["version"], "1.32")
        self.assertTrue(group["releaseVersion"].startswith("1.32."), group["releaseVersion"])

    def test_a_new_node_group_is_creating_then_active(self):
        self.cluster("fresh", nodegroups=["workers"])
        self.assertEqual(self.nodegroup("fresh", "workers")["status"], "CREATING")
        eventually(lambda: self.nodegroup("fresh", "workers"), lambda g: g["status"] == "ACTIVE", "node group status")

    def test_update_follows_the_control_plane_through_updating(self):
        self.cluster("follow", nodegroups=["workers"])
        self.eks.update_cluster_version(name="follow", version="1.34")
        eventually(lambda: self.described("follow"), lambda c: c["status"] == "ACTIVE", "cluster status")

        update = self.eks.update_nodegroup_version(clusterName="follow", nodegroupName="workers")["update"]
        self.assertEqual((update["type"], update["status"]), ("VersionUpdate", "InProgress"))
        params = {p["type"]: p["value"] for p in update["params"]}
        self.assertEqual(params["Version"], "1.34")
        self.assertTrue(params["ReleaseVersion"].startswith("1.34."))
        self.assertEqual(self.nodegroup("follow", "workers")["status"], "UPDATING")
        # A node group's update is found with its node group's name only.
        self.assertRefused("ResourceNotFoundException", self.eks.describe_update, name="follow", updateId=update["id"])

        group = eventually(lambda: self.nodegroup("follow", "workers"), lambda g: g["status"] == "ACTIVE", "node group")
        self.assertEqual((group["version"], group["releaseVersion"]), ("1.34", params["ReleaseVersion"]))
        described = self.eks.describe_update(name="follow", updateId=update["id"], nodegroupName="workers")["update"]
        self.assertEqual(described["status"], "Successful")
        self.assertEqual(self.eks.list_updates(name="follow", nodegroupName="workers")["updateIds"], [update["id"]])
        self.assertNotIn(update["id"], self.eks.list_updates(name="follow")["updateIds"])

    def test_refusals(self):
        self.cluster("strict", nodegroups=["workers"])
        refuse = self.eks.update_nodegroup_version
        self.assertRefused("InvalidParameterException", refuse, clusterName="strict", nodegroupName="workers", version="1.34")
        self.assertRefused("InvalidParameterException", refuse, clusterName="strict", nodegroupName="workers", version="1.32")
        self.assertRefused(
            "InvalidParameterException", refuse, clusterName="strict", nodegroupName="workers",
            releaseVersion="1.32.0-20251120",
        )
        self.assertRefused("ResourceNotFoundException", refuse, clusterName="strict", nodegroupName="missing")
        self.assertRefused("ResourceNotFoundException", refuse, clusterName="missing", nodegroupName="workers")
        refuse(clusterName="strict", nodegroupName="workers", releaseVersion="1.33.5-20251201")
        self.assertRefused("ResourceInUseException", refuse, clusterName="strict", nodegroupName="workers")
        self.assertRefused(
            "ResourceInUseException", self.eks.update_nodegroup_config, clusterName="strict", nodegroupName="workers",
            scalingConfig={"minSize": 1, "maxSize": 3, "desiredSize": 2},
        )
        group = eventually(lambda: self.nodegroup("strict", "workers"), lambda g: g["status"] == "ACTIVE", "node group")
        self.assertEqual(group["releaseVersion"], "1.33.5-20251201")

    def test_update_nodegroup_config_keeps_update_config_and_is_recorded(self):
        self.cluster("config", nodegroups=["workers"])
        update = self.eks.update_nodegroup_config(
            clusterName="config", nodegroupName="workers", updateConfig={"maxUnavailable": 2}
        )["update"]
        self.assertEqual(self.nodegroup("config", "workers")["updateConfig"], {"maxUnavailable": 2})
        self.eks.update_nodegroup_config(
            clusterName="config", nodegroupName="workers", updateConfig={"maxUnavailablePercentage": 30}
        )
        self.assertEqual(self.nodegroup("config", "workers")["updateConfig"], {"maxUnavailablePercentage": 30})
        described = self.eks.describe_update(name="config", updateId=update["id"], nodegroupName="workers")["update"]
        self.assertEqual(described["type"], "ConfigUpdate")
        self.assertEqual(len(self.eks.list_updates(name="config", nodegroupName="workers")["updateIds"]), 2)


class AddonTest(EksTest):
    def addon(self, cluster, name):
        return self.eks.describe_addon(clusterName=cluster, addonName=name)["addon"]

    def test_lifecycle(self):
        self.cluster("addons", version="1.33")
        addon = self.eks.create_addon(
            clusterName="addons", addonName="vpc-cni", tags={"team": "platform"}, configurationValues="{}"
        )["addon"]
        self.assertEqual(addon["status"], "CREATING")
        self.assertEqual(addon["addonVersion"], "v1.19.6-eksbuild.7")  # the default on 1.33
        self.assertEqual(addon["health"], {"issues": []})
        self.assertEqual(addon["tags"], {"team": "platform"})
        self.assertEqual(addon["configurationValues"], "{}")
        self.assertTrue(addon["addonArn"].startswith("arn:aws:eks:us-east-1:123456789012:addon/addons/vpc-cni/"))
        self.assertIn("createdAt", addon)
        self.assertIn("modifiedAt", addon)
        eventually(lambda: self.addon("addons", "vpc-cni"), lambda a: a["status"] == "ACTIVE", "add-on status")
        self.assertEqual(self.eks.list_addons(clusterName="addons")["addons"], ["vpc-cni"])

        update = self.eks.update_addon(
            clusterName="addons", addonName="vpc-cni", addonVersion="v1.20.4-eksbuild.1", resolveConflicts="OVERWRITE"
        )["update"]
        self.assertEqual((update["type"], update["status"]), ("AddonUpdate", "InProgress"))
        self.assertIn({"type": "AddonVersion", "value": "v1.20.4-eksbuild.1"}, update["params"])
        self.assertEqual(self.addon("addons", "vpc-cni")["status"], "UPDATING")
        self.assertRefused(
            "ResourceInUseException", self.eks.update_addon, clusterName="addons", addonName="vpc-cni",
            addonVersion="v1.19.6-eksbuild.7",
        )
        addon = eventually(lambda: self.addon("addons", "vpc-cni"), lambda a: a["status"] == "ACTIVE", "add-on status")
        self.assertEqual(addon["addonVersion"], "v1.20.4-eksbuild.1")
        described = self.eks.describe_update(name="addons", updateId=update["id"], addonName="vpc-cni")["update"]
        self.assertEqual(described["status"], "Successful")
        self.assertEqual(self.eks.list_updates(name="addons", addonName="vpc-cni")["updateIds"], [update["id"]])

        self.assertEqual(self.eks.delete_addon(clusterName="addons", addonName="vpc-cni")["addon"]["status"], "DELETING")
        eventually(lambda: self.eks.list_addons(clusterName="addons")["addons"], lambda names: names == [], "add-ons")
        self.assertRefused("ResourceNotFoundException", self.eks.describe_addon, clusterName="addons", addonName="vpc-cni")

    def test_tags_of_add_ons_and_node_groups(self):
        self.cluster("tagged", version="1.33", nodegroups=["nodes"])
        arns = [
            self.eks.create_addon(clusterName="tagged", addonName="coredns", tags={"team": "platform"})["addon"]["addonArn"],
            self.nodegroup("tagged", "nodes")["nodegroupArn"],
        ]
        for arn in arns:
            self.eks.tag_resource(resourceArn=arn, tags={"team": "data", "stage": "prod"})
            self.assertEqual(self.eks.list_tags_for_resource(resourceArn=arn)["tags"], {"team": "data", "stage": "prod"})
            self.eks.untag_resource(resourceArn=arn, tagKeys=["stage"])
            self.assertEqual(self.eks.list_tags_for_resource(resourceArn=arn)["tags"], {"team": "data"})
        self.assertEqual(self.addon("tagged", "coredns")["tags"], {"team": "data"})
        self.assertEqual(self.nodegroup("tagged", "nodes")["tags"], {"team": "data"})
        cluster_arn = self.described("tagged")["arn"]
        self.eks.tag_resource(resourceArn=cluster_arn, tags={"team": "ops"})
        self.assertEqual(self.described("tagged")["tags"], {"team": "ops"})

    def test_refusals(self):
        self.cluster("picky", version="1.34")
        self.eks.create_addon(clusterName="picky", addonName="coredns", addonVersion="v1.12.4-eksbuild.1")
        self.assertRefused("ResourceInUseException", self.eks.create_addon, clusterName="picky", addonName="coredns")
        self.assertRefused(
            "InvalidParameterException", self.eks.create_addon, clusterName="picky", addonName="kube-proxy",
            addonVersion="v1.33.3-eksbuild.10",
        )
        self.assertRefused("InvalidParameterException", self.eks.create_addon, clusterName="picky", addonName="no-such-addon")
        self.assertRefused("ResourceNotFoundException", self.eks.create_addon, clusterName="missing", addonName="coredns")
        self.assertRefused("ResourceNotFoundException", self.eks.describe_addon, clusterName="picky", addonName="vpc-cni")
        self.assertRefused("ResourceNotFoundException", self.eks.delete_addon, clusterName="picky", addonName="vpc-cni")
        eventually(lambda: self.addon("picky", "coredns"), lambda a: a["status"] == "ACTIVE", "add-on status")
        self.assertRefused(
            "InvalidParameterException", self.eks.update_addon, clusterName="picky", addonName="coredns",
            addonVersion="v1.11.3-eksbuild.2",
        )

    def test_catalogue(self):
        addons = self.eks.describe_addon_versions()["addons"]
        self.assertEqual(
            sorted(a["addonName"] for a in addons), ["coredns", "eks-pod-identity-agent", "kube-proxy", "vpc-cni"]
        )
        for addon in addons:
            for kubernetes in KUBERNETES_VERSIONS:
                defaults = [
                    version["addonVersion"]
                    for version in addon["addonVersions"]
                    for compatibility in version["compatibilities"]
                    if compatibility["clusterVersion"] == kubernetes and compatibility["defaultVersion"]
                ]
                self.assertEqual(len(defaults), 1, (addon["addonName"], kubernetes, defaults))
            for version in addon["addonVersions"]:
                self.assertTrue(version["compatibilities"])
                self.assertTrue(all(c["platformVersions"] == ["*"] for c in version["compatibilities"]))

        on_131 = self.eks.describe_addon_versions(kubernetesVersion="1.31", addonName="kube-proxy")["addons"]
        self.assertEqual(len(on_131), 1)
        self.assertEqual(
            [v["addonVersion"] for v in on_131[0]["addonVersions"]], ["v1.31.10-eksbuild.8", "v1.31.3-eksbuild.2"]
        )
        self.assertTrue(all(c["clusterVersion"] == "1.31" for v in on_131[0]["addonVersions"] for c in v["compatibilities"]))

        first = self.eks.describe_addon_versions(maxResults=3)
        rest = self.eks.describe_addon_versions(maxResults=3, nextToken=first["nextToken"])
        self.assertEqual([a["addonName"] for a in first["addons"] + rest["addons"]], sorted(a["addonName"] for a in addons))
        self.assertNotIn("nextToken", rest)


class ElastiCacheTest(EmulatorTest):
    def setUp(self):
        self.elasticache = emulator.client("elasticache")

    def group(self, name, **settings):
        return self.elasticache.create_replication_group(
            ReplicationGroupId=name, ReplicationGroupDescription="cache", Engine="redis", EngineVersion="7.0",
            CacheNodeType="cache.t3.micro", NumCacheClusters=2, ReplicasPerNodeGroup=1, **settings,
        )["ReplicationGroup"]

    def described(self, name):
        return self.elasticache.describe_replication_groups(ReplicationGroupId=name)["ReplicationGroups"][0]

    def members(self, name):
        clusters = self.elasticache.describe_cache_clusters()["CacheClusters"]
        return [c for c in clusters if c.get("ReplicationGroupId") == name]

    def test_member_clusters_are_described(self):
        group = self.group("members", PreferredMaintenanceWindow="tue:03:00-tue:04:00")
        members = self.members("members")
        self.assertEqual(sorted(c["CacheClusterId"] for c in members), sorted(group["MemberClusters"]))
        for member in members:
            self.assertEqual(member["CacheNodeType"], "cache.t3.micro")
            self.assertEqual(member["EngineVersion"], "7.0")
            self.assertEqual(member["PreferredMaintenanceWindow"], "tue:03:00-tue:04:00")
            self.assertEqual(member["CacheClusterStatus"], "available")

    def test_a_deleted_group_is_deleting_then_gone_and_its_name_free(self):
        self.group("deleted")
        self.elasticache.delete_replication_group(ReplicationGroupId="deleted")
        self.assertEqual(self.described("deleted")["Status"], "deleting")
        self.assertEqual({c["CacheClusterStatus"] for c in self.members("deleted")}, {"deleting"})

        def gone(_):
            try:
                self.described("deleted")
            except self.elasticache.exceptions.ReplicationGroupNotFoundFault:
                return True
            return False

        eventually(lambda: None, gone, "the deleted group")
        self.assertEqual(self.members("deleted"), [])
        self.assertEqual(self.group("deleted")["ReplicationGroupId"], "deleted", "the name is free again")

    def test_node_type_change_applied_immediately(self):
        self.group("resize")
        group = self.elasticache.modify_replication_group(
            ReplicationGroupId="resize", CacheNodeType="cache.t3.small", ApplyImmediately=True,
            ReplicationGroupDescription="bigger", PreferredMaintenanceWindow="wed:01:00-wed:02:00",
            SnapshotRetentionLimit=3, SnapshotWindow="02:00-03:00",
        )["ReplicationGroup"]
        self.assertEqual((group["Status"], group["CacheNodeType"]), ("modifying", "cache.t3.micro"))
        self.assertEqual((group["Description"], group["SnapshotRetentionLimit"]), ("bigger", 3))
        for member in self.members("resize"):
            self.assertEqual(member["CacheClusterStatus"], "modifying")
            self.assertEqual(member["PendingModifiedValues"], {"CacheNodeType": "cache.t3.small"})
            self.assertEqual(member["PreferredMaintenanceWindow"], "wed:01:00-wed:02:00")
        self.assertRefused(
            "InvalidReplicationGroupState", self.elasticache.modify_replication_group,
            ReplicationGroupId="resize", CacheNodeType="cache.t3.medium", ApplyImmediately=True,
        )

        group = eventually(lambda: self.described("resize"), lambda g: g["Status"] == "available", "group status")
        self.assertEqual(group["CacheNodeType"], "cache.t3.small")
        for member in self.members("resize"):
            self.assertEqual((member["CacheClusterStatus"], member["CacheNodeType"]), ("available", "cache.t3.small"))
            self.assertEqual(member["PendingModifiedValues"], {})

    def test_change_deferred_to_the_maintenance_window(self):
        self.group("deferred")
        group = self.elasticache.modify_replication_group(
            ReplicationGroupId="deferred", EngineVersion="7.1", ApplyImmediately=False
        )["ReplicationGroup"]
        self.assertEqual(group["Status"], "available")
        for member in self.members("deferred"):
            self.assertEqual((member["EngineVersion"], member["PendingModifiedValues"]), ("7.0", {"EngineVersion": "7.1"}))
        eventually(
            lambda: self.members("deferred"), lambda ms: all(m["EngineVersion"] == "7.1" for m in ms), "engine versions"
        )
        self.assertEqual(self.described("deferred")["Status"], "available")

    def test_automatic_failover_change(self):
        self.group("failover")
        group = self.elasticache.modify_replication_group(
            ReplicationGroupId="failover", AutomaticFailoverEnabled=True, ApplyImmediately=True
        )["ReplicationGroup"]
        self.assertEqual(group["Status"], "modifying")
        self.assertEqual(group["PendingModifiedValues"], {"AutomaticFailoverStatus": "enabled"})
        group = eventually(lambda: self.described("failover"), lambda g: g["Status"] == "available", "group status")
        self.assertEqual(group["AutomaticFailover"], "enabled")

    def test_refusals(self):
        self.group("refuses")
        self.assertRefused(
            "ReplicationGroupNotFoundFault", self.elasticache.modify_replication_group,
            ReplicationGroupId="missing", CacheNodeType="cache.t3.small",
        )
        self.assertRefused(
            "InvalidParameterValue", self.elasticache.modify_replication_group,
            ReplicationGroupId="refuses", EngineVersion="6.2", ApplyImmediately=True,
        )


class RdsTest(EmulatorTest):
    def setUp(self):
        self.rds = emulator.client("rds")

    def instance(self, name, parameter_group=None, **settings):
        if parameter_group:
            self.rds.create_db_parameter_group(
                DBParameterGroupName=parameter_group, DBParameterGroupFamily="postgres15", Description="15"
            )
            settings["DBParameterGroupName"] = parameter_group
        self.rds.create_db_instance(
            DBInstanceIdentifier=name, DBInstanceClass="db.t3.micro", Engine="postgres", EngineVersion="15.4",
            MasterUsername="retool", MasterUserPassword="password123", AllocatedStorage=20, **settings,
        )

    def described(self, name):
        return self.rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]

    def test_major_upgrade_through_upgrading(self):
        self.instance("major", parameter_group="major-15")
        self.rds.create_db_parameter_group(DBParameterGroupName="major-16", DBParameterGroupFamily="postgres16", Description="16")
        instance = self.rds.modify_db_instance(
            DBInstanceIdentifier="major", EngineVersion="16.3", AllowMajorVersionUpgrade=True,
            DBParameterGroupName="major-16", ApplyImmediately=True,
        )["DBInstance"]
        self.assertEqual(instance["DBInstanceStatus"], "upgrading")
        self.assertEqual(instance["PendingModifiedValues"], {"EngineVersion": "16.3"})
        self.assertRefused(
            "InvalidDBInstanceState", self.rds.modify_db_instance, DBInstanceIdentifier="major",
            BackupRetentionPeriod=3, ApplyImmediately=True,
        )
        instance = eventually(lambda: self.described("major"), lambda i: i["DBInstanceStatus"] == "available", "status")
        self.assertEqual(instance["EngineVersion"], "16.3")
        self.assertEqual(instance["PendingModifiedValues"], {})
        self.assertEqual(instance["DBParameterGroups"][0]["DBParameterGroupName"], "major-16")

    def test_major_upgrade_on_a_default_group_moves_to_the_new_default(self):
        self.instance("default-group")
        self.rds.modify_db_instance(
            DBInstanceIdentifier="default-group", EngineVersion="16.3", AllowMajorVersionUpgrade=True, ApplyImmediately=True
        )
        instance = eventually(lambda: self.described("default-group"), lambda i: i["EngineVersion"] == "16.3", "version")
        self.assertEqual(instance["DBParameterGroups"][0]["DBParameterGroupName"], "default.postgres16")

    def test_major_upgrade_refusals(self):
        self.instance("refuses", parameter_group="refuses-15")
        modify = self.rds.modify_db_instance
        error = self.assertRefused(
            "InvalidParameterCombination", modify, DBInstanceIdentifier="refuses", EngineVersion="16.3", ApplyImmediately=True
        )
        self.assertIn("AllowMajorVersionUpgrade", error.response["Error"]["Message"])
        error = self.assertRefused(
            "InvalidParameterCombination", modify, DBInstanceIdentifier="refuses", EngineVersion="16.3",
            AllowMajorVersionUpgrade=True, ApplyImmediately=True,
        )
        self.assertIn("DBParameterGroupFamily postgres15", error.response["Error"]["Message"])
        self.assertIn("DBParameterGroupFamily postgres16", error.response["Error"]["Message"])
        self.rds.create_db_parameter_group(DBParameterGroupName="other-15", DBParameterGroupFamily="postgres15", Description="15")
        self.assertRefused(
            "InvalidParameterCombination", modify, DBInstanceIdentifier="refuses", EngineVersion="16.3",
            AllowMajorVersionUpgrade=True, DBParameterGroupName="other-15", ApplyImmediately=True,
        )
        self.assertRefused(
            "InvalidParameterCombination", modify, DBInstanceIdentifier="refuses", EngineVersion="14.9",
            AllowMajorVersionUpgrade=True, ApplyImmediately=True,
        )
        self.assertRefused("DBInstanceNotFound", modify, DBInstanceIdentifier="missing", EngineVersion="16.3")
        instance = self.described("refuses")
        self.assertEqual((instance["DBInstanceStatus"], instance["EngineVersion"]), ("available", "15.4"))

    def test_minor_upgrade_deferred_to_the_maintenance_window(self):
        self.instance("minor")
        instance = self.rds.modify_db_instance(
            DBInstanceIdentifier="minor", EngineVersion="15.7", ApplyImmediately=False
        )["DBInstance"]
        self.assertEqual((instance["DBInstanceStatus"], instance["EngineVersion"]), ("available", "15.4"))
        self.assertEqual(instance["PendingModifiedValues"], {"EngineVersion": "15.7"})
        instance = eventually(lambda: self.described("minor"), lambda i: i["EngineVersion"] == "15.7", "version")
        self.assertEqual(instance["PendingModifiedValues"], {})

    def test_what_moto_already_does(self):
        """Snapshots, windows, retention and automated backups kept after delete: moto's own."""
        self.instance(
            "backups", BackupRetentionPeriod=7, PreferredBackupWindow="03:00-03:30",
            PreferredMaintenanceWindow="sun:05:00-sun:06:00",
        )
        instance = self.described("backups")
        self.assertEqual(instance["BackupRetentionPeriod"], 7)
        self.assertEqual(instance["PreferredBackupWindow"], "03:00-03:30")
        self.assertEqual(instance["PreferredMaintenanceWindow"], "sun:05:00-sun:06:00")
        self.rds.create_db_snapshot(DBInstanceIdentifier="backups", DBSnapshotIdentifier="backups-manual")
        snapshots = self.rds.describe_db_snapshots(DBInstanceIdentifier="backups")["DBSnapshots"]
        self.assertEqual(sorted(s["SnapshotType"] for s in snapshots), ["automated", "manual"])
        self.rds.delete_db_instance(DBInstanceIdentifier="backups", SkipFinalSnapshot=True, DeleteAutomatedBackups=False)
        backups = self.rds.describe_db_instance_automated_backups(DBInstanceIdentifier="backups")
        self.assertEqual([b["Status"] for b in backups["DBInstanceAutomatedBackups"]], ["retained"])

    def test_automated_backups_have_the_aws_shape(self):
        key = emulator.client("kms").create_key()["KeyMetadata"]["Arn"]
        self.instance("shaped", StorageEncrypted=True, KmsKeyId=key, BackupRetentionPeriod=7)
        self.instance("other")
        [active] = self.rds.describe_db_instance_automated_backups(DBInstanceIdentifier="shaped")[
            "DBInstanceAutomatedBackups"
        ]
        self.assertEqual((active["Status"], active["Encrypted"], active["KmsKeyId"]), ("active", True, key))
        self.assertEqual((active["Engine"], active["EngineVersion"], active["BackupRetentionPeriod"]), ("postgres", "15.4", 7))
        self.assertTrue(active["DBInstanceAutomatedBackupsArn"].startswith("arn:aws:rds:us-east-1:"), active)
        by_arn = self.rds.describe_db_instance_automated_backups(
            DBInstanceAutomatedBackupsArn=active["DBInstanceAutomatedBackupsArn"]
        )["DBInstanceAutomatedBackups"]
        self.assertEqual([b["DBInstanceIdentifier"] for b in by_arn], ["shaped"])
        by_resource = self.rds.describe_db_instance_automated_backups(DbiResourceId=active["DbiResourceId"])
        self.assertIn("shaped", [b["DBInstanceIdentifier"] for b in by_resource["DBInstanceAutomatedBackups"]])
        none = self.rds.describe_db_instance_automated_backups(DbiResourceId="db-NOSUCHRESOURCE")
        self.assertEqual(none["DBInstanceAutomatedBackups"], [])
        self.rds.delete_db_instance(DBInstanceIdentifier="shaped", SkipFinalSnapshot=True, DeleteAutomatedBackups=False)
        [retained] = self.rds.describe_db_instance_automated_backups(DBInstanceIdentifier="shaped")[
            "DBInstanceAutomatedBackups"
        ]
        self.assertEqual({**active, "Status": "retained"}, retained)
        self.rds.delete_db_instance(DBInstanceIdentifier="other", SkipFinalSnapshot=True, DeleteAutomatedBackups=True)
        gone = self.rds.describe_db_instance_automated_backups(DBInstanceIdentifier="other")
        self.assertEqual(gone["DBInstanceAutomatedBackups"], [])


class LauncherTest(EmulatorTest):
    def test_moto_apis_without_additions_still_answer(self):
        ec2 = emulator.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]
        self.assertEqual(ec2.describe_vpcs(VpcIds=[vpc["VpcId"]])["Vpcs"][0]["CidrBlock"], "10.42.0.0/16")
        eks = emulator.client("eks")
        eks.create_cluster(name="plain", version="1.33", roleArn=ROLE, resourcesVpcConfig={"subnetIds": ["subnet-1"]})
        self.assertIn("plain", eks.list_clusters()["clusters"])
        self.assertEqual(eks.describe_cluster(name="plain")["cluster"]["status"], "ACTIVE")
        s3 = emulator.client("s3")
        s3.create_bucket(Bucket="emulator-state")
        self.assertIn("emulator-state", [b["Name"] for b in s3.list_buckets()["Buckets"]])


class HelpersTest(unittest.TestCase):
    """The pure functions of the extension package, imported as the launcher imports them."""

    def test_versions(self):
        self.assertLess(version_key("1.9"), version_key("1.10"))
        self.assertEqual(major_version("postgres", "16.3"), "16")
        self.assertEqual(major_version("postgres", "9.6.24"), "9.6")
        self.assertEqual(major_version("mysql", "8.0.35"), "8.0")


if __name__ == "__main__":
    unittest.main()
