"""Tests of scripts/emulator_ext/eks_access.py: EKS access entries and access policies through
boto3, and the Kubernetes token authenticator through HTTP with tokens presigned by botocore.

    .venv/bin/python -m unittest discover -s scripts/tests -v      # from the project root

One emulator (as the harness starts it, with the credentials `test`/`test` in its environment)
serves the module; each test names its own cluster. Needs boto3 and moto: the venv's python.
"""

import base64
import json
import os
import unittest
import urllib.error
import urllib.request
from datetime import timedelta
from unittest import mock

from test_emulator import ROLE, Emulator, EmulatorTest

import botocore.auth
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ADMIN = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
VIEW = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
MOTO_DEFAULT_PRINCIPAL = "arn:aws:sts::123456789012:user/moto"

emulator = None


def setUpModule():
    global emulator
    with mock.patch.dict(os.environ, {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}):
        emulator = Emulator()


def tearDownModule():
    if emulator is not None:
        emulator.stop()


class AccessTest(EmulatorTest):
    def setUp(self):
        self.eks = emulator.client("eks")

    def cluster(self, name):
        self.eks.create_cluster(name=name, version="1.33", roleArn=ROLE, resourcesVpcConfig={"subnetIds": ["subnet-1"]})
        return name


class AccessEntryTest(AccessTest):
    def test_lifecycle(self):
        cluster = self.cluster("entries")
        user = "arn:aws:iam::123456789012:user/ops/alice"
        role = "arn:aws:iam::123456789012:role/terraform"
        created = self.eks.create_access_entry(clusterName=cluster, principalArn=user, username="alice",
                                               kubernetesGroups=["viewers"], tags={"team": "ops"})["accessEntry"]
        self.assertEqual(created["principalArn"], user)
        self.assertEqual(created["clusterName"], cluster)
        self.assertEqual(created["username"], "alice")
        self.assertEqual(created["kubernetesGroups"], ["viewers"])
        self.assertEqual(created["type"], "STANDARD")
        self.assertEqual(created["tags"], {"team": "ops"})
        self.assertRegex(created["accessEntryArn"], r"^arn:aws:eks:us-east-1:123456789012:access-entry/entries/user/123456789012/alice/")
        role_entry = self.eks.create_access_entry(clusterName=cluster, principalArn=role)["accessEntry"]
        self.assertEqual(role_entry["username"], "arn:aws:sts::123456789012:assumed-role/terraform/{{SessionName}}")

        described = self.eks.describe_access_entry(clusterName=cluster, principalArn=user)["accessEntry"]
        self.assertEqual(described["accessEntryArn"], created["accessEntryArn"])
        self.assertEqual(self.eks.list_access_entries(clusterName=cluster)["accessEntries"], [role, user])

        associated = self.eks.associate_access_policy(
            clusterName=cluster, principalArn=role, policyArn=ADMIN, accessScope={"type": "cluster"})
        self.assertEqual(associated["principalArn"], role)
        self.assertEqual(associated["clusterName"], cluster)
        self.assertEqual(associated["associatedAccessPolicy"]["policyArn"], ADMIN)
        self.assertEqual(associated["associatedAccessPolicy"]["accessScope"], {"type": "cluster", "namespaces": []})
        self.eks.associate_access_policy(clusterName=cluster, principalArn=role, policyArn=VIEW,
                                         accessScope={"type": "namespace", "namespaces": ["retool"]})
        # Associating again replaces the scope.
        self.eks.associate_access_policy(clusterName=cluster, principalArn=role, policyArn=VIEW,
                                         accessScope={"type": "namespace", "namespaces": ["other"]})
        policies = self.eks.list_associated_access_policies(clusterName=cluster, principalArn=role)
        self.assertEqual([(p["policyArn"], p["accessScope"]) for p in policies["associatedAccessPolicies"]], [
            (ADMIN, {"type": "cluster", "namespaces": []}),
            (VIEW, {"type": "namespace", "namespaces": ["other"]}),
        ])
        self.assertEqual(self.eks.list_access_entries(clusterName=cluster, associatedPolicyArn=ADMIN)["accessEntries"], [role])
        page = self.eks.list_access_entries(clusterName=cluster, maxResults=1)
        self.assertEqual((page["accessEntries"], page["nextToken"]), ([role], user))

        self.eks.disassociate_access_policy(clusterName=cluster, principalArn=role, policyArn=VIEW)
        policies = self.eks.list_associated_access_policies(clusterName=cluster, principalArn=role)
        self.assertEqual([p["policyArn"] for p in policies["associatedAccessPolicies"]], [ADMIN])
        self.eks.delete_access_entry(clusterName=cluster, principalArn=role)
        self.assertEqual(self.eks.list_access_entries(clusterName=cluster)["accessEntries"], [user])
        self.assertRefused("ResourceNotFoundException", self.eks.describe_access_entry, clusterName=cluster, principalArn=role)

    def test_refusals(self):
        cluster = self.cluster("entry-refusals")
        role = "arn:aws:iam::123456789012:role/admin"
        self.assertRefused("ResourceNotFoundException", self.eks.create_access_entry, clusterName="nope", principalArn=role)
        self.eks.create_access_entry(clusterName=cluster, principalArn=role)
        self.assertRefused("ResourceInUseException", self.eks.create_access_entry, clusterName=cluster, principalArn=role)
        self.assertRefused("InvalidParameterException", self.eks.create_access_entry, clusterName=cluster,
                           principalArn="arn:aws:sts::123456789012:assumed-role/admin/session")
        self.assertRefused("InvalidParameterException", self.eks.create_access_entry, clusterName=cluster,
                           principalArn="arn:aws:iam::123456789012:role/groups", kubernetesGroups=["system:masters"])
        self.assertRefused("InvalidParameterException", self.eks.create_access_entry, clusterName=cluster,
                           principalArn="arn:aws:iam::123456789012:role/typed", type="SUPERUSER")
        for missing in (self.eks.describe_access_entry, self.eks.delete_access_entry, self.eks.list_associated_access_policies):
            self.assertRefused("ResourceNotFoundException", missing, clusterName=cluster,
                               principalArn="arn:aws:iam::123456789012:role/unknown")
        self.assertRefused("ResourceNotFoundException", self.eks.associate_access_policy, clusterName=cluster,
                           principalArn="arn:aws:iam::123456789012:role/unknown", policyArn=ADMIN, accessScope={"type": "cluster"})
        self.assertRefused("InvalidParameterException", self.eks.associate_access_policy, clusterName=cluster,
                           principalArn=role, policyArn="arn:aws:eks::aws:cluster-access-policy/Nope",
                           accessScope={"type": "cluster"})
        self.assertRefused("InvalidParameterException", self.eks.associate_access_policy, clusterName=cluster,
                           principalArn=role, policyArn=ADMIN, accessScope={"type": "namespace"})
        self.assertRefused("InvalidParameterException", self.eks.associate_access_policy, clusterName=cluster,
                           principalArn=role, policyArn=ADMIN, accessScope={"type": "cluster", "namespaces": ["a"]})
        self.assertRefused("ResourceNotFoundException", self.eks.disassociate_access_policy, clusterName=cluster,
                           principalArn=role, policyArn=ADMIN)

    def test_entries_go_with_their_cluster(self):
        cluster = self.cluster("entries-deleted")
        self.eks.create_access_entry(clusterName=cluster, principalArn="arn:aws:iam::123456789012:role/a")
        self.eks.delete_cluster(name=cluster)
        self.cluster(cluster)
        self.assertEqual(self.eks.list_access_entries(clusterName=cluster)["accessEntries"], [])


def token(cluster, access_key="test", secret_key="test", session_token=None, extra_query=""):
    """An EKS bearer token as the AWS CLI makes it: a GetCallerIdentity URL on the emulator,
    presigned by botocore with x-k8s-aws-id signed."""
    request = AWSRequest(
        method="GET",
        url=f"{emulator.endpoint}/?Action=GetCallerIdentity&Version=2011-06-15{extra_query}",
        headers={"x-k8s-aws-id": cluster},
    )
    SigV4QueryAuth(Credentials(access_key, secret_key, session_token), "sts", "us-east-1", expires=60).add_auth(request)
    return "k8s-aws-v1." + base64.urlsafe_b64encode(request.url.encode()).decode().rstrip("=")


def review(cluster, bearer):
    body = json.dumps({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": bearer}})
    request = urllib.request.Request(f"{emulator.endpoint}/_test/eks/authenticate/{cluster}", data=body.encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=10) as answer:
        reviewed = json.loads(answer.read())
    assert reviewed["apiVersion"] == "authentication.k8s.io/v1" and reviewed["kind"] == "TokenReview", reviewed
    return reviewed["status"]


class AuthenticatorTest(AccessTest):
    def admin_entry(self, cluster, principal, **entry):
        self.eks.create_access_entry(clusterName=cluster, principalArn=principal, **entry)
        self.eks.associate_access_policy(clusterName=cluster, principalArn=principal, policyArn=ADMIN,
                                         accessScope={"type": "cluster"})

    def assertRefusedToken(self, status, reason):
        self.assertFalse(status["authenticated"], status)
        self.assertIn(reason, status["error"])

    def test_valid_token_of_the_emulators_credentials(self):
        cluster = self.cluster("auth-default")
        self.admin_entry(cluster, MOTO_DEFAULT_PRINCIPAL)
        status = review(cluster, token(cluster))
        self.assertTrue(status["authenticated"], status)
        self.assertEqual(status["user"]["username"], MOTO_DEFAULT_PRINCIPAL)
        self.assertEqual(status["user"]["groups"], ["system:masters"])

    def test_answers_in_the_version_asked_and_refuses_what_is_no_token_review(self):
        cluster = self.cluster("auth-versions")
        self.admin_entry(cluster, MOTO_DEFAULT_PRINCIPAL)
        url = f"{emulator.endpoint}/_test/eks/authenticate/{cluster}"
        body = {"apiVersion": "authentication.k8s.io/v1beta1", "kind": "TokenReview", "spec": {"token": token(cluster)}}
        request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
        with urllib.request.urlopen(request, timeout=10) as answer:
            reviewed = json.loads(answer.read())
        self.assertEqual(reviewed["apiVersion"], "authentication.k8s.io/v1beta1")
        self.assertTrue(reviewed["status"]["authenticated"], reviewed)
        request = urllib.request.Request(url, data=b'{"kind": "Pod"}', method="POST")
        with self.assertRaises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        self.assertEqual(refused.exception.code, 400)

    def test_assumed_role_maps_to_its_role_entry(self):
        cluster = self.cluster("auth-role")
        iam, sts = emulator.client("iam"), emulator.client("sts")
        role = iam.create_role(RoleName="deployer", Path="/ci/", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        credentials = sts.assume_role(RoleArn=role, RoleSessionName="run-7")["Credentials"]
        self.admin_entry(cluster, role)
        status = review(cluster, token(cluster, credentials["AccessKeyId"], credentials["SecretAccessKey"],
                                       credentials["SessionToken"]))
        self.assertTrue(status["authenticated"], status)
        self.assertEqual(status["user"]["username"], "arn:aws:sts::123456789012:assumed-role/deployer/run-7")
        self.assertEqual(status["user"]["extra"]["arn"], [role])

    def test_iam_user_with_a_username(self):
        cluster = self.cluster("auth-user")
        iam = emulator.client("iam")
        user = iam.create_user(UserName="builder")["User"]["Arn"]
        key = iam.create_access_key(UserName="builder")["AccessKey"]
        self.admin_entry(cluster, user, username="builder")
        status = review(cluster, token(cluster, key["AccessKeyId"], key["SecretAccessKey"]))
        self.assertTrue(status["authenticated"], status)
        self.assertEqual(status["user"]["username"], "builder")
        self.assertRefusedToken(review(cluster, token(cluster, key["AccessKeyId"], "not-the-secret")), "signature")

    def test_refusals(self):
        cluster = self.cluster("auth-refusals")
        other = self.cluster("auth-other")
        self.admin_entry(cluster, MOTO_DEFAULT_PRINCIPAL)
        self.assertRefusedToken(review(cluster, token(other)), "signature")
        self.assertRefusedToken(review(cluster, token(cluster, extra_query="&Extra=1")), "unexpected query parameters: Extra")
        real_now = botocore.auth.get_current_datetime
        with mock.patch("botocore.auth.get_current_datetime", lambda: real_now() - timedelta(minutes=16)):
            expired = token(cluster)
        self.assertRefusedToken(review(cluster, expired), "expired")
        self.assertRefusedToken(review(cluster, "not-a-token"), "k8s-aws-v1.")
        self.assertRefusedToken(review(cluster, token(cluster) + "=="), "padded")
        self.assertRefusedToken(review(cluster, token(cluster, access_key="AKIDUNKNOWN")), "unknown")
        # A token for a cluster where the caller has no entry, or one without the admin policy.
        self.assertRefusedToken(review(other, token(other)), "no access entry")
        self.eks.create_access_entry(clusterName=other, principalArn=MOTO_DEFAULT_PRINCIPAL)
        self.eks.associate_access_policy(clusterName=other, principalArn=MOTO_DEFAULT_PRINCIPAL, policyArn=ADMIN,
                                         accessScope={"type": "namespace", "namespaces": ["retool"]})
        self.assertRefusedToken(review(other, token(other)), "AmazonEKSClusterAdminPolicy")
        self.assertRefusedToken(review("no-such-cluster", token("no-such-cluster")), "0 clusters named")


if __name__ == "__main__":
    unittest.main()
