"""EKS cluster access (REST-JSON): access entries, their access policies, and the token
authenticator a test Kubernetes API server asks who an EKS bearer token belongs to.

Why. The provider gives the principal that runs Terraform access to the cluster through an access
entry with AmazonEKSClusterAdminPolicy, then talks to the cluster's Kubernetes API with an EKS
bearer token. moto 5.1.22 has neither access entries nor a Kubernetes API, and the tests run a real
kube-apiserver (tests/support/kubernetes.rs). This module is the test double that joins the two, as
EKS joins IAM and Kubernetes: the API server sends each bearer token to the authenticator below
(a token webhook), which checks the token as AWS does and answers with the Kubernetes identity the
caller's access entry grants. Only tests use it; the provider never depends on anything here.

Operations (each follows its page of the EKS API reference,
https://docs.aws.amazon.com/eks/latest/APIReference/API_<Operation>.html, and botocore's model:
paths, JSON member names and error codes are AWS's): CreateAccessEntry, DescribeAccessEntry,
ListAccessEntries, DeleteAccessEntry, AssociateAccessPolicy, ListAssociatedAccessPolicies,
DisassociateAccessPolicy. The principal ARN (and the policy ARN) travel URL-encoded in the path.
Entries live beside moto's `Cluster` object (a weak mapping) and go with it.

Rules, as AWS applies them: the principal is the ARN of an IAM user or role (an STS assumed-role
ARN is InvalidParameterException); one entry per principal (ResourceInUseException); Kubernetes
groups of a STANDARD entry may not start with `system:`; access policies come from AWS's catalogue
(ListAccessPolicies: the four AmazonEKS*Policy most used); a `cluster` scope takes no namespaces, a
`namespace` scope needs at least one; associating a policy again replaces its scope.

Simplification: moto's STS reports `arn:aws:sts::<account>:user/moto` for credentials it does not
know (the tests' `test`/`test`), an identity AWS never reports; it is accepted as a principal so
that tests on default credentials can grant themselves access.

Authenticator (`POST /_test/eks/authenticate/<cluster name>`, or `<name>+<name>…` for a test API
server that stands for several clusters of one state, a Kubernetes authentication webhook:
TokenReview of authentication.k8s.io/v1 or v1beta1 in, the same with `status` out). Like the AWS
IAM Authenticator that EKS runs, it accepts only `k8s-aws-v1.` + unpadded base64url of a presigned
STS GetCallerIdentity URL (Action=GetCallerIdentity, Version=2011-06-15, no query parameters but
Action, Version and the X-Amz-* signing ones, `host` and `x-k8s-aws-id` signed, X-Amz-Date at most
15 minutes old). Where EKS sends the URL to STS, the double verifies the SigV4 signature itself,
with the cluster name as `x-k8s-aws-id` and the secret key moto holds for the access key (an IAM
user's key, an assumed-role session) or, for the emulator's own credentials, AWS_SECRET_ACCESS_KEY
of its environment. The caller is the principal moto's GetCallerIdentity reports (an assumed-role
session counts as its role). It is authenticated only if the cluster has an access entry for it
with AmazonEKSClusterAdminPolicy associated at cluster scope: username the entry's (with
`{{SessionName}}` filled in) or the principal ARN, groups `system:masters`. Anything else is
`authenticated: false` with the reason in `status.error`.
"""

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Optional
from urllib.parse import parse_qsl, quote, urlsplit
from weakref import WeakKeyDictionary

from flask import Flask, Response, request
from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.eks import urls as eks_urls
from moto.eks.exceptions import InvalidParameterException, ResourceInUseException, ResourceNotFoundException
from moto.eks.models import Cluster, eks_backends
from moto.iam.models import iam_backends
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.sts.models import sts_backends

from .common import extend_urls
from .eks import EKSExtension, eks_error

NEW_PATHS = [
    "{0}/clusters/(?P<name>[^/]+)/access-entries$",
    # The principal ARN is URL-encoded in the path, but the server decodes it before routing, so
    # its slashes separate path segments here: one greedy pattern routes the entry and its
    # policies, and moto finds the operation from the raw (still encoded) path.
    "{0}/clusters/(?P<name>[^/]+)/access-entries/(?P<principalArn>.+)$",
]

AUTHENTICATE_PREFIX = "/_test/eks/authenticate/"
CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
ACCESS_POLICIES = {
    CLUSTER_ADMIN_POLICY,
    "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminPolicy",
    "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy",
    "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy",
}
ENTRY_TYPES = {"STANDARD", "FARGATE_LINUX", "EC2_LINUX", "EC2_WINDOWS", "EC2", "HYBRID_LINUX", "HYPERPOD_LINUX"}
PRINCIPAL = re.compile(r"^arn:(aws[a-z-]*):iam::(\d{12}):(user|role)/(?:[^/]+/)*([^/]+)$")
MOTO_FALLBACK_PRINCIPAL = re.compile(r"^arn:aws[a-z-]*:sts::\d{12}:user/moto$")
DEFAULT_PAGE_SIZE = 100

TOKEN_PREFIX = "k8s-aws-v1."
TOKEN_LIFETIME = timedelta(minutes=15)
CLOCK_SKEW = timedelta(minutes=5)
ALLOWED_QUERY_PARAMETERS = {
    "Action",
    "Version",
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-Security-Token",
    "X-Amz-Signature",
    "X-Amz-SignedHeaders",
}
# SHA-256 of an empty body: a presigned GET signs no payload (botocore's SigV4QueryAuth, AWS's STS).
EMPTY_PAYLOAD_HASH = hashlib.sha256(b"").hexdigest()


@dataclass
class AssociatedPolicy:
    """An access policy associated with an access entry."""

    policy_arn: str
    scope: dict[str, Any]
    associated_at: datetime = field(default_factory=utcnow)
    modified_at: datetime = field(default_factory=utcnow)

    def shape(self) -> dict[str, Any]:
        return {
            "policyArn": self.policy_arn,
            "accessScope": self.scope,
            "associatedAt": self.associated_at,
            "modifiedAt": self.modified_at,
        }


@dataclass
class AccessEntry:
    """An access entry of a cluster."""

    cluster_name: str
    principal_arn: str
    arn: str
    type: str
    username: str
    kubernetes_groups: list[str]
    tags: dict[str, str]
    client_request_token: Optional[str]
    policies: dict[str, AssociatedPolicy] = field(default_factory=dict)
    created_at: datetime = field(default_factory=utcnow)
    modified_at: datetime = field(default_factory=utcnow)

    def shape(self) -> dict[str, Any]:
        return {
            "clusterName": self.cluster_name,
            "principalArn": self.principal_arn,
            "kubernetesGroups": self.kubernetes_groups,
            "accessEntryArn": self.arn,
            "createdAt": self.created_at,
            "modifiedAt": self.modified_at,
            "tags": self.tags,
            "username": self.username,
            "type": self.type,
        }

    def is_cluster_admin(self) -> bool:
        policy = self.policies.get(CLUSTER_ADMIN_POLICY)
        return policy is not None and policy.scope.get("type") == "cluster"


_entries: "WeakKeyDictionary[Cluster, dict[str, AccessEntry]]" = WeakKeyDictionary()


def entries_of(cluster: Cluster) -> dict[str, AccessEntry]:
    """The access entries of a cluster, by principal ARN."""
    return _entries.setdefault(cluster, {})


def default_username(principal_arn: str) -> str:
    """The username EKS gives a STANDARD entry created without one: a user's ARN, or the
    assumed-role ARN of the role's sessions with the `{{SessionName}}` placeholder."""
    match = PRINCIPAL.match(principal_arn)
    if match and match.group(3) == "role":
        partition, account, _, name = match.groups()
        return f"arn:{partition}:sts::{account}:assumed-role/{name}/{{{{SessionName}}}}"
    return principal_arn


class EKSAccessExtension(EKSExtension):
    """The EKS double of eks.py plus access entries and access policies."""

    def _entry(self, cluster: Cluster) -> AccessEntry:
        principal = self._get_param("principalArn")
        entry = entries_of(cluster).get(principal)
        if entry is None:
            raise eks_error(
                ResourceNotFoundException,
                f"The specified principalArn {principal} could not be found. You can view your available access "
                "entries with 'list-access-entries'.",
                cluster.name,
            )
        return entry

    def create_access_entry(self) -> ActionResult:
        cluster = self._cluster()
        entries = entries_of(cluster)
        principal = self._get_param("principalArn") or ""
        token = self._get_param("clientRequestToken")
        if existing := entries.get(principal):
            if token and existing.client_request_token == token:
                return ActionResult({"accessEntry": existing.shape()})
            raise eks_error(
                ResourceInUseException,
                "The specified access entry resource is already in use on this cluster.",
                cluster.name,
            )
        match = PRINCIPAL.match(principal)
        if match is None and not MOTO_FALLBACK_PRINCIPAL.match(principal):
            raise eks_error(
                InvalidParameterException,
                f"The specified principalArn is invalid: {principal} is not the ARN of an IAM user or role.",
                cluster.name,
            )
        entry_type = self._get_param("type") or "STANDARD"
        if entry_type not in ENTRY_TYPES:
            raise eks_error(InvalidParameterException, f"The access entry type {entry_type} is invalid.", cluster.name)
        groups = self._get_param("kubernetesGroups") or []
        if entry_type == "STANDARD" and any(group.startswith("system:") for group in groups):
            raise eks_error(
                InvalidParameterException,
                "The kubernetes group name system:* is invalid, it cannot start with system:",
                cluster.name,
            )
        kind, name = (match.group(3), match.group(4)) if match else ("user", "moto")
        region, account = cluster.arn.split(":")[3:5]
        entry = AccessEntry(
            cluster_name=cluster.name,
            principal_arn=principal,
            arn=f"arn:aws:eks:{region}:{account}:access-entry/{cluster.name}/{kind}/{account}/{name}/{uuid.uuid4()}",
            type=entry_type,
            username=self._get_param("username") or default_username(principal),
            kubernetes_groups=groups,
            tags=self._get_param("tags") or {},
            client_request_token=token,
        )
        entries[principal] = entry
        return ActionResult({"accessEntry": entry.shape()})

    def describe_access_entry(self) -> ActionResult:
        return ActionResult({"accessEntry": self._entry(self._cluster()).shape()})

    def list_access_entries(self) -> ActionResult:
        cluster = self._cluster()
        policy = self._get_param("associatedPolicyArn")
        principals = sorted(
            arn for arn, entry in entries_of(cluster).items() if policy is None or policy in entry.policies
        )
        principals, next_token = self._page(principals, key=str)
        return ActionResult({"accessEntries": principals, "nextToken": next_token})

    def delete_access_entry(self) -> ActionResult:
        cluster = self._cluster()
        entry = self._entry(cluster)
        del entries_of(cluster)[entry.principal_arn]
        return ActionResult({})

    def associate_access_policy(self) -> ActionResult:
        cluster = self._cluster()
        entry = self._entry(cluster)
        policy_arn = self._get_param("policyArn") or ""
        scope = self._get_param("accessScope") or {}
        if policy_arn not in ACCESS_POLICIES:
            raise eks_error(
                InvalidParameterException, f"The specified policyArn {policy_arn} is not a valid access policy.", cluster.name
            )
        scope_type, namespaces = scope.get("type"), scope.get("namespaces") or []
        if scope_type not in ("cluster", "namespace"):
            raise eks_error(InvalidParameterException, "The access scope type must be cluster or namespace.", cluster.name)
        if scope_type == "cluster" and namespaces:
            raise eks_error(
                InvalidParameterException, "Namespaces cannot be specified for an access scope of type cluster.", cluster.name
            )
        if scope_type == "namespace" and not namespaces:
            raise eks_error(
                InvalidParameterException, "At least one namespace is required for an access scope of type namespace.", cluster.name
            )
        shape_scope: dict[str, Any] = {"type": scope_type, "namespaces": namespaces}
        if existing := entry.policies.get(policy_arn):
            existing.scope = shape_scope
            existing.modified_at = utcnow()
            association = existing
        else:
            association = AssociatedPolicy(policy_arn, shape_scope)
            entry.policies[policy_arn] = association
        return ActionResult(
            {"clusterName": cluster.name, "principalArn": entry.principal_arn, "associatedAccessPolicy": association.shape()}
        )

    def list_associated_access_policies(self) -> ActionResult:
        cluster = self._cluster()
        entry = self._entry(cluster)
        policies = [entry.policies[arn] for arn in sorted(entry.policies)]
        policies, next_token = self._page(policies, key=lambda p: p.policy_arn)
        return ActionResult(
            {
                "clusterName": cluster.name,
                "principalArn": entry.principal_arn,
                "nextToken": next_token,
                "associatedAccessPolicies": [p.shape() for p in policies],
            }
        )

    def disassociate_access_policy(self) -> ActionResult:
        cluster = self._cluster()
        entry = self._entry(cluster)
        policy_arn = self._get_param("policyArn")
        if policy_arn not in entry.policies:
            raise eks_error(
                ResourceNotFoundException,
                f"The specified policyArn {policy_arn} is not associated with principalArn {entry.principal_arn}.",
                cluster.name,
            )
        del entry.policies[policy_arn]
        return ActionResult({})


# ---------------------------------------------------------------------------------------------
# The token authenticator
# ---------------------------------------------------------------------------------------------


class Refusal(Exception):
    """Why a token does not authenticate (the TokenReview's `status.error`)."""


@dataclass(frozen=True)
class Caller:
    """Who signed a token, as moto's STS knows the access key."""

    principal_arn: str
    account: str
    session_name: Optional[str]
    secret_access_key: Optional[str]


def caller_of(access_key_id: str) -> Caller:
    """The principal GetCallerIdentity reports for `access_key_id` (an assumed-role session as its
    role), with the secret key moto holds for it."""
    for regions in sts_backends.values():
        for backend in regions.values():
            role = backend.get_assumed_role_from_access_key(access_key_id)
            if role is not None:
                return Caller(role.role_arn, role.account_id, role.session_name, role.secret_access_key)
    for partitions in iam_backends.values():
        for backend in partitions.values():
            user = backend.get_user_from_access_key_id(access_key_id)
            if user is not None:
                secret = next(
                    (k.secret_access_key for k in backend.list_access_keys(user.name) if k.access_key_id == access_key_id),
                    None,
                )
                return Caller(user.arn, user.account_id, None, secret)
    # moto's fallback identity for keys it does not know; the emulator's own credentials sign with
    # the secret of its environment.
    own = os.environ.get("AWS_ACCESS_KEY_ID") == access_key_id
    account = os.environ.get("MOTO_ACCOUNT_ID", "123456789012")
    secret = os.environ.get("AWS_SECRET_ACCESS_KEY") if own else None
    return Caller(f"arn:aws:sts::{account}:user/moto", account, None, secret)


def presigned_url(token: str) -> str:
    """The presigned URL inside an EKS token."""
    if not token.startswith(TOKEN_PREFIX):
        raise Refusal("the token is not an EKS token (no k8s-aws-v1. prefix)")
    encoded = token[len(TOKEN_PREFIX):]
    if "=" in encoded:
        raise Refusal("the token's base64url is padded")
    try:
        return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode("utf-8")
    except (binascii.Error, ValueError) as error:
        raise Refusal(f"the token is not base64url: {error}") from error


def sigv4_signature(secret: str, method: str, host: str, path: str, query: list[tuple[str, str]],
                    headers: dict[str, str], signed_headers: list[str], amz_date: str, scope: str) -> str:
    """The SigV4 signature of a presigned request (AWS General Reference, "Create a signed AWS API
    request"), its query without X-Amz-Signature."""

    def encode(value: str) -> str:
        return quote(value, safe="-_.~")

    canonical_query = "&".join(
        f"{k}={v}" for k, v in sorted((encode(k), encode(v)) for k, v in query)
    )
    canonical_headers = "".join(f"{name}:{headers[name].strip()}\n" for name in signed_headers)
    canonical_request = "\n".join(
        [method, path or "/", canonical_query, canonical_headers, ";".join(signed_headers), EMPTY_PAYLOAD_HASH]
    )
    string_to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )
    date, region, service, terminator = scope.split("/")
    key = f"AWS4{secret}".encode()
    for part in (date, region, service, terminator):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def verified_caller(token: str, cluster_name: str, now: datetime) -> Caller:
    """The caller of a valid EKS token for `cluster_name`; Refusal says what is wrong otherwise."""
    url = urlsplit(presigned_url(token))
    if url.scheme not in ("http", "https") or not url.netloc:
        raise Refusal("the token's URL is not an http(s) URL")
    query = parse_qsl(url.query, keep_blank_values=True)
    names = [name for name, _ in query]
    unexpected = sorted(set(names) - ALLOWED_QUERY_PARAMETERS)
    if unexpected:
        raise Refusal(f"the token's URL has unexpected query parameters: {', '.join(unexpected)}")
    if len(names) != len(set(names)):
        raise Refusal("the token's URL repeats a query parameter")
    params = dict(query)
    if params.get("Action") != "GetCallerIdentity" or params.get("Version") != "2011-06-15":
        raise Refusal("the token's URL is not an STS GetCallerIdentity call (Action, Version 2011-06-15)")
    for required in ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Signature", "X-Amz-SignedHeaders"):
        if required not in params:
            raise Refusal(f"the token's URL is not presigned: no {required}")
    if params["X-Amz-Algorithm"] != "AWS4-HMAC-SHA256":
        raise Refusal(f"unsupported signing algorithm {params['X-Amz-Algorithm']}")
    signed_headers = params["X-Amz-SignedHeaders"].split(";")
    if "host" not in signed_headers or "x-k8s-aws-id" not in signed_headers:
        raise Refusal("the token's signed headers must include host and x-k8s-aws-id")
    if sorted(signed_headers) != signed_headers or set(signed_headers) - {"host", "x-k8s-aws-id"}:
        raise Refusal("the token's signed headers are other than host and x-k8s-aws-id, or not in order")
    try:
        signed_at = datetime.strptime(params["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    except ValueError as error:
        raise Refusal(f"X-Amz-Date {params['X-Amz-Date']} is not a date") from error
    if now - signed_at > TOKEN_LIFETIME:
        raise Refusal(f"the token expired (signed at {params['X-Amz-Date']}, valid 15 minutes)")
    if signed_at - now > CLOCK_SKEW:
        raise Refusal(f"the token is signed in the future ({params['X-Amz-Date']})")
    credential = params["X-Amz-Credential"].split("/")
    if len(credential) != 5 or credential[3] != "sts" or credential[4] != "aws4_request":
        raise Refusal("X-Amz-Credential is not an STS credential scope")
    caller = caller_of(credential[0])
    if caller.secret_access_key is None:
        raise Refusal(f"the access key {credential[0]} is unknown to the emulator")
    expected = sigv4_signature(
        caller.secret_access_key,
        "GET",
        url.netloc,
        url.path,
        [(k, v) for k, v in query if k != "X-Amz-Signature"],
        {"host": url.netloc, "x-k8s-aws-id": cluster_name},
        signed_headers,
        params["X-Amz-Date"],
        "/".join(credential[1:]),
    )
    if not hmac.compare_digest(expected, params["X-Amz-Signature"]):
        raise Refusal(f"the signature does not match (signed for another cluster than {cluster_name}, or another key)")
    return caller


def find_cluster(account: str, name: str) -> Cluster:
    """The cluster of `account` named `name`, in whichever region it is."""
    found = [backend.clusters[name] for backend in eks_backends[account].values() if name in backend.clusters]
    if len(found) != 1:
        raise Refusal(f"account {account} has {len(found)} clusters named {name}")
    return found[0]


def review(body: dict[str, Any], cluster_name: str, now: datetime) -> dict[str, Any]:
    """The TokenReview answer to `body`."""
    answer = {"apiVersion": body.get("apiVersion", "authentication.k8s.io/v1"), "kind": "TokenReview"}
    try:
        token = (body.get("spec") or {}).get("token") or ""
        caller = verified_caller(token, cluster_name, now)
        entry = entries_of(find_cluster(caller.account, cluster_name)).get(caller.principal_arn)
        if entry is None:
            raise Refusal(f"no access entry of cluster {cluster_name} for {caller.principal_arn}")
        if not entry.is_cluster_admin():
            raise Refusal(f"the access entry of {caller.principal_arn} has no AmazonEKSClusterAdminPolicy at cluster scope")
        username = entry.username.replace("{{SessionName}}", caller.session_name or "")
        user = {"username": username or caller.principal_arn, "uid": f"aws-iam-authenticator:{caller.principal_arn}",
                "groups": ["system:masters"], "extra": {"arn": [caller.principal_arn]}}
        return {**answer, "status": {"authenticated": True, "user": user}}
    except Refusal as refusal:
        return {**answer, "status": {"authenticated": False, "error": str(refusal)}}


authenticator = Flask("eks-authenticator")


@authenticator.route(f"{AUTHENTICATE_PREFIX}<cluster_name>", methods=["POST"])
def authenticate(cluster_name: str) -> Response:
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict) or body.get("kind") != "TokenReview":
        return Response("expected a TokenReview (authentication.k8s.io) as JSON", status=400)
    # A test API server may stand for several clusters of one state ("a+b"): the token counts for
    # the cluster it was signed for, as each cluster's own authenticator would decide.
    now = datetime.now(timezone.utc)
    answers = [review(body, name, now) for name in cluster_name.split("+")]
    answer = next((a for a in answers if a["status"]["authenticated"]), answers[-1])
    return Response(json.dumps(answer), status=200, mimetype="application/json")


def register() -> None:
    """Routes the access-entry URLs to the extended EKS handlers, and `/_test/eks/` to the
    authenticator (moto's dispatcher picks a service app by request; this path names none)."""
    extend_urls(eks_urls, EKSAccessExtension, NEW_PATHS)
    moto_application = DomainDispatcherApplication.get_application

    def get_application(self: DomainDispatcherApplication, environ: dict[str, Any]) -> Flask:
        if str(environ.get("PATH_INFO", "")).startswith(AUTHENTICATE_PREFIX):
            return authenticator
        return moto_application(self, environ)

    DomainDispatcherApplication.get_application = get_application  # type: ignore[method-assign]
