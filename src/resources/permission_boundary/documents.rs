//! The policy documents `retool_permission_boundary` writes, built from plain inputs.
//!
//! Why these shapes: the operator (the team running the deployment from another account) gets two
//! roles — setup and maintenance — whose *permissions* say what they may build, and whose
//! *permissions boundary* (the operator boundary) says what they may never do, whatever a
//! permission grants. The boundary therefore starts with an allow-all statement and only subtracts:
//! reading secrets, data and logs; shells on nodes; network paths into other estates; decrypting
//! with customer keys; and every path to more privilege. The one escalation path left open on
//! purpose is creating roles for workloads, and only when they carry the workload boundary, which
//! allows exactly what EKS, its nodes and the External Secrets Operator need.
//!
//! Every document is rendered once, canonically (see [`super::policy`]), and all of them stay well
//! inside IAM's size quotas for the largest inputs validation admits (tested below).

use crate::aws::iam::policy::{PolicyDocument, Principal, Statement};
use crate::resources::deployment::desired::OBJECT_ACTIONS;
use crate::resources::deployment::names::STORAGE_BUCKET_PREFIX;
use crate::resources::naming::suffixed_names;
use std::collections::BTreeMap;

/// IAM's quota for a managed policy document, in non-whitespace characters.
pub const MANAGED_POLICY_QUOTA: usize = 6144;
/// IAM's default quota for a role trust policy, in non-whitespace characters.
pub const TRUST_POLICY_QUOTA: usize = 2048;

/// The account the documents are written for and the names that tie them together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Estate {
    /// `aws`, `aws-us-gov` or `aws-cn`.
    pub partition: String,
    /// Twelve digits.
    pub account_id: String,
    /// Prefix of every IAM name this resource creates (validated IAM-name-safe, ≤ 32 characters).
    pub name_prefix: String,
    /// The Secrets Manager name prefix the operator may manage but never read, e.g. `retool/`.
    pub secrets_prefix: String,
}

/// Who may assume the operator roles, and on what conditions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trust {
    /// ARNs of the operating team's IAM roles or users (in another account), the only principals
    /// the trust policy names; together they must fit [`TRUST_POLICY_QUOTA`].
    pub operator_principal_arns: Vec<String>,
    /// The `sts:ExternalId` every AssumeRole call must present; `None` adds no such condition.
    pub external_id: Option<String>,
    /// Whether the caller must have signed in with MFA (`aws:MultiFactorAuthPresent`), which also
    /// refuses sessions that carry no MFA context at all (access keys, role chaining).
    pub require_mfa: bool,
}

/// What the workload boundary policy's name adds to the name prefix, as
/// [`Estate::workload_boundary_name`] writes it.
const WORKLOAD_BOUNDARY_SUFFIX: &str = "workload-boundary";

/// The name prefix of the boundary whose workload boundary policy `arn` is, when it is named as
/// this resource names it (`arn:<partition>:iam::<account>:policy/<prefix>-workload-boundary`);
/// the workload roles that boundary admits are those named `<prefix>-*`.
pub fn workload_boundary_prefix(arn: &str) -> Option<&str> {
    let (_, name) = arn.rsplit_once(":policy/")?;
    let prefix = name.strip_suffix(WORKLOAD_BOUNDARY_SUFFIX)?.strip_suffix('-')?;
    (!prefix.is_empty() && !prefix.contains('/')).then_some(prefix)
}

/// `Estate` methods returning the ARN of one of its IAM objects, one row each: `method => "kind"
/// name_method,` gives `arn:<partition>:iam::<account>:<kind>/<name>`.
macro_rules! iam_arns {
    ($($(#[$doc:meta])* $method:ident => $kind:literal $name:ident,)*) => {$(
        $(#[$doc])*
        pub fn $method(&self) -> String {
            self.iam_arn($kind, &self.$name())
        }
    )*};
}

impl Estate {
    fn iam_arn(&self, kind: &str, name: &str) -> String {
        format!("arn:{}:iam::{}:{kind}/{name}", self.partition, self.account_id)
    }

    suffixed_names! {
        name_prefix:
        /// The operator boundary managed policy: `<prefix>-operator-boundary`, the permissions
        /// boundary of both operator roles.
        operator_boundary_name => "operator-boundary",
        /// The workload boundary managed policy: `<prefix>-workload-boundary`, which every role the
        /// operator creates must carry.
        workload_boundary_name => "workload-boundary",
        /// The role the operator assumes for long-term upkeep: `<prefix>-maintenance`.
        maintenance_role_name => "maintenance",
        /// The role the operator assumes for the initial build: `<prefix>-setup` (exists only while
        /// `setup_role = true`).
        setup_role_name => "setup",
    }

    /// The managed policy holding the maintenance role's permissions (same name as the role).
    pub fn maintenance_policy_name(&self) -> String {
        self.maintenance_role_name()
    }
    /// The managed policy holding the setup role's permissions (same name as the role).
    pub fn setup_policy_name(&self) -> String {
        self.setup_role_name()
    }

    iam_arns! {
        /// ARN of the operator boundary policy ([`Self::operator_boundary_name`]), as the roles'
        /// `PermissionsBoundary` and `iam:PermissionsBoundary` conditions name it.
        operator_boundary_arn => "policy" operator_boundary_name,
        /// ARN of the workload boundary policy ([`Self::workload_boundary_name`]), the boundary the
        /// operator must attach to every role it creates.
        workload_boundary_arn => "policy" workload_boundary_name,
        /// ARN of the maintenance role's permissions policy ([`Self::maintenance_policy_name`]).
        maintenance_policy_arn => "policy" maintenance_policy_name,
        /// ARN of the setup role's permissions policy ([`Self::setup_policy_name`]).
        setup_policy_arn => "policy" setup_policy_name,
        /// ARN of the maintenance role ([`Self::maintenance_role_name`]).
        maintenance_role_arn => "role" maintenance_role_name,
        /// ARN of the setup role ([`Self::setup_role_name`]).
        setup_role_arn => "role" setup_role_name,
    }

    /// The IAM OIDC providers of EKS clusters, which IRSA needs (the External Secrets Operator's role
    /// trusts its cluster's issuer); no other identity provider may be registered.
    fn eks_identity_providers(&self) -> String {
        self.iam_arn("oidc-provider", "oidc.eks.*.amazonaws.com/id/*")
    }

    /// Every IAM object of `kind` (`role`, `policy`, `instance-profile`) named under the prefix.
    fn iam_arns_under_prefix(&self, kind: &str) -> String {
        self.iam_arn(kind, &format!("{}-*", self.name_prefix))
    }

    /// Roles the operator may create and pass: everything under the prefix. The boundary, not
    /// the name, is what fences them; the name only keeps the operator out of the customer's roles.
    fn workload_roles(&self) -> String {
        self.iam_arns_under_prefix("role")
    }

    fn arn(&self, service: &str, rest: &str) -> String {
        format!("arn:{}:{service}:*:{}:{rest}", self.partition, self.account_id)
    }

    /// Secrets the operator manages and the ESO role reads.
    fn managed_secrets(&self) -> String {
        self.arn("secretsmanager", &format!("secret:{}*", self.secrets_prefix))
    }

    /// Secrets RDS creates for master passwords it manages (`rds!db-…`, `rds!cluster-…`).
    fn rds_master_secrets(&self) -> String {
        self.arn("secretsmanager", "secret:rds!*")
    }

    /// Buckets named after the prefix (the Terraform state bucket among them). Bucket names are
    /// lower case, so the prefix is too.
    fn buckets(&self) -> [String; 2] {
        let prefix = self.name_prefix.to_ascii_lowercase();
        [format!("arn:{}:s3:::{prefix}-*", self.partition), format!("arn:{}:s3:::{prefix}-*/*", self.partition)]
    }

    /// Retool Storage buckets (`retool-storage-*`, whatever the name prefix): the operator manages
    /// them, never their objects.
    fn storage_buckets(&self) -> String {
        format!("arn:{}:s3:::{STORAGE_BUCKET_PREFIX}*", self.partition)
    }

    /// The objects in Retool Storage buckets: the customer's files.
    fn storage_objects(&self) -> String {
        format!("{}/*", self.storage_buckets())
    }

    /// The four managed policies whose edits would widen the operator's own reach.
    fn fence_policies(&self) -> [String; 4] {
        [
            self.operator_boundary_arn(),
            self.workload_boundary_arn(),
            self.maintenance_policy_arn(),
            self.setup_policy_arn(),
        ]
    }
}

/// Services for which the operator may create service-linked roles (these carry AWS-owned policies).
const SERVICE_LINKED: [&str; 6] = [
    "eks.amazonaws.com",
    "eks-nodegroup.amazonaws.com",
    "rds.amazonaws.com",
    "elasticache.amazonaws.com",
    "autoscaling.amazonaws.com",
    "elasticloadbalancing.amazonaws.com",
];

/// The operator boundary: attached to both operator roles, it denies every escape whatever their
/// permissions say.
pub fn operator_boundary(estate: &Estate) -> PolicyDocument {
    let workload_boundary = estate.workload_boundary_arn();
    let own_roles = [estate.maintenance_role_arn(), estate.setup_role_arn()];
    // Access entry ARNs name the IAM identity: …:access-entry/CLUSTER/role/ACCOUNT/ROLE/UUID.
    let own_access_entries = [estate.maintenance_role_name(), estate.setup_role_name()].map(|role| {
        let account = &estate.account_id;
        format!("arn:{}:eks:*:{account}:access-entry/*/role/{account}/{role}/*", estate.partition)
    });
    PolicyDocument::new(vec![
        Statement::allow("BoundaryOnlySubtracts", ["*"], ["*"]),
        Statement::deny(
            "NoSecretValues",
            ["secretsmanager:GetSecretValue", "secretsmanager:BatchGetSecretValue", "secretsmanager:PutResourcePolicy"],
            ["*"],
        ),
        Statement::deny(
            "NoDataAccess",
            [
                "rds-data:*",
                "rds-db:connect",
                "rds:CopyDBSnapshot",
                "rds:CopyDBClusterSnapshot",
                "rds:ModifyDBSnapshotAttribute",
                "rds:ModifyDBClusterSnapshotAttribute",
                "rds:StartExportTask",
                "rds:RestoreDBInstanceFromDBSnapshot",
                "rds:RestoreDBClusterFromSnapshot",
                "rds:RestoreDBInstanceToPointInTime",
                "rds:RestoreDBClusterToPointInTime",
                "ec2:ModifySnapshotAttribute",
                "ebs:GetSnapshotBlock",
                "ebs:ListSnapshotBlocks",
                "elasticache:CopySnapshot",
            ],
            ["*"],
        ),
        Statement::deny(
            "NoLogReading",
            [
                "logs:GetLogEvents",
                "logs:FilterLogEvents",
                "logs:StartQuery",
                "logs:StartLiveTail",
                "logs:CreateExportTask",
                "logs:GetLogRecord",
                "logs:Unmask",
            ],
            ["*"],
        ),
        Statement::deny(
            "NoShells",
            [
                "ssm:StartSession",
                "ssm:ResumeSession",
                "ssm:SendCommand",
                "ssm:StartAutomationExecution",
                "ec2-instance-connect:*",
                "ec2:GetConsoleOutput",
                "ec2:GetConsoleScreenshot",
                "ec2:EnableSerialConsoleAccess",
            ],
            ["*"],
        ),
        Statement::deny(
            "NoForeignNetworks",
            [
                "ec2:CreateVpcPeeringConnection",
                "ec2:AcceptVpcPeeringConnection",
                "ec2:CreateTransitGatewayVpcAttachment",
                "ec2:AcceptTransitGatewayVpcAttachment",
                "ec2:CreateTransitGatewayPeeringAttachment",
                "ec2:AcceptTransitGatewayPeeringAttachment",
                "ec2:CreateVpnConnection",
                "ec2:CreateVpnGateway",
                "ec2:AttachVpnGateway",
                "ec2:CreateCustomerGateway",
                "ec2:CreateClientVpnEndpoint",
                "ec2:AssociateClientVpnTargetNetwork",
                "ec2:AuthorizeClientVpnIngress",
                "ec2:AcceptVpcEndpointConnections",
            ],
            ["*"],
        ),
        // Retool Storage holds the customer's files: no object read, write, delete or listing, by
        // any permission (the state bucket's `<prefix>-*` grants included) or bucket policy edit.
        Statement::deny("NoStorageObjects", OBJECT_ACTIONS, [estate.storage_buckets(), estate.storage_objects()]),
        Statement::deny("NoDecrypt", ["kms:Decrypt", "kms:ReEncrypt*"], ["*"]),
        Statement::deny("NoKeyGrantsToPeople", ["kms:CreateGrant"], ["*"]).when(
            "BoolIfExists",
            "kms:GrantIsForAWSResource",
            ["false"],
        ),
        Statement::deny(
            "OnlyBoundedIdentities",
            [
                "iam:CreateRole",
                "iam:PutRolePermissionsBoundary",
                "iam:AttachRolePolicy",
                "iam:PutRolePolicy",
                "iam:UpdateAssumeRolePolicy",
                "iam:CreateUser",
                "iam:PutUserPermissionsBoundary",
                "iam:AttachUserPolicy",
                "iam:PutUserPolicy",
            ],
            ["*"],
        )
        .when("ArnNotEquals", "iam:PermissionsBoundary", [workload_boundary]),
        Statement::deny(
            "NoBoundaryRemoval",
            ["iam:DeleteRolePermissionsBoundary", "iam:DeleteUserPermissionsBoundary"],
            ["*"],
        ),
        Statement::deny(
            "NoFenceEdits",
            ["iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion"],
            estate.fence_policies(),
        ),
        Statement::deny(
            "NoOwnRoleEdits",
            [
                "iam:UpdateAssumeRolePolicy",
                "iam:UpdateRole",
                "iam:DeleteRole",
                "iam:DetachRolePolicy",
                "iam:DeleteRolePolicy",
                "iam:TagRole",
                "iam:UntagRole",
            ],
            own_roles.clone(),
        ),
        // Only the operator's own workload roles may be handed to a service: passing a customer's
        // role to an instance or cluster would borrow that role's rights.
        Statement::deny("PassOnlyWorkloadRoles", ["iam:PassRole"], [estate.workload_roles()])
            .on_all_resources_except_these(),
        Statement::deny(
            "NoCredentialsOrFederation",
            [
                "iam:CreateAccessKey",
                "iam:CreateLoginProfile",
                "iam:UpdateLoginProfile",
                "iam:CreateServiceSpecificCredential",
                "iam:UploadSSHPublicKey",
                "iam:CreateGroup",
                "iam:PutGroupPolicy",
                "iam:AttachGroupPolicy",
                "iam:AddUserToGroup",
                "iam:CreateSAMLProvider",
                "iam:UpdateSAMLProvider",
                "sts:AssumeRole",
            ],
            ["*"],
        ),
        // A federation trust outside EKS would let an outside identity assume workload roles.
        Statement::deny(
            "OnlyEksIdentityProviders",
            [
                "iam:CreateOpenIDConnectProvider",
                "iam:UpdateOpenIDConnectProviderThumbprint",
                "iam:AddClientIDToOpenIDConnectProvider",
            ],
            [estate.eks_identity_providers()],
        )
        .on_all_resources_except_these(),
        Statement::deny("NoSelfGrantOnEks", ["eks:CreateAccessEntry"], ["*"]).when(
            "ArnLike",
            "eks:principalArn",
            own_roles,
        ),
        Statement::deny(
            "NoSelfGrantOnEksEntries",
            ["eks:AssociateAccessPolicy", "eks:UpdateAccessEntry"],
            own_access_entries,
        ),
    ])
}

/// The workload boundary: required on every role the operator creates. An allow-list, so nothing
/// outside it — IAM, reading other secrets, decrypting outside Secrets Manager — is ever possible.
pub fn workload_boundary(estate: &Estate) -> PolicyDocument {
    PolicyDocument::new(vec![
        Statement::allow(
            "ClusterAndNodes",
            [
                "ec2:Describe*",
                "ec2:CreateNetworkInterface",
                "ec2:DeleteNetworkInterface",
                "ec2:AttachNetworkInterface",
                "ec2:DetachNetworkInterface",
                "ec2:ModifyNetworkInterfaceAttribute",
                "ec2:AssignPrivateIpAddresses",
                "ec2:UnassignPrivateIpAddresses",
                "ec2:CreateNetworkInterfacePermission",
                "ec2:CreateSecurityGroup",
                "ec2:DeleteSecurityGroup",
                "ec2:AuthorizeSecurityGroupIngress",
                "ec2:RevokeSecurityGroupIngress",
                "ec2:CreateTags",
                "ec2:DeleteTags",
                "ec2:CreateVolume",
                "ec2:DeleteVolume",
                "ec2:AttachVolume",
                "ec2:DetachVolume",
                "ec2:ModifyVolume",
                "eks:DescribeCluster",
                "eks-auth:AssumeRoleForPodIdentity",
                "ecr:GetAuthorizationToken",
                "ecr:BatchGetImage",
                "ecr:GetDownloadUrlForLayer",
                "ecr:BatchCheckLayerAvailability",
                "autoscaling:Describe*",
                "autoscaling:SetDesiredCapacity",
                "autoscaling:TerminateInstanceInAutoScalingGroup",
                "elasticloadbalancing:*",
                "kms:DescribeKey",
                "kms:CreateGrant",
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
                "logs:DescribeLogStreams",
            ],
            ["*"],
        ),
        Statement::allow("ServiceLinkedRoles", ["iam:CreateServiceLinkedRole"], ["*"]).when(
            "StringEquals",
            "iam:AWSServiceName",
            SERVICE_LINKED,
        ),
        Statement::allow(
            "ExternalSecretsRead",
            ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret", "secretsmanager:ListSecretVersionIds"],
            [estate.managed_secrets(), estate.rds_master_secrets()],
        ),
        Statement::allow("ExternalSecretsDecrypt", ["kms:Decrypt"], ["*"]).when(
            "StringLike",
            "kms:ViaService",
            ["secretsmanager.*.amazonaws.com"],
        ),
        Statement::allow("StateAndArtifacts", ["s3:GetObject", "s3:PutObject", "s3:ListBucket"], estate.buckets()),
        // Retool's api pods: the storage buckets' objects, and their key only through S3.
        Statement::allow("RetoolStorage", OBJECT_ACTIONS, [estate.storage_buckets(), estate.storage_objects()]),
        Statement::allow("RetoolStorageEncryption", ["kms:Decrypt", "kms:GenerateDataKey"], ["*"]).when(
            "StringLike",
            "kms:ViaService",
            ["s3.*.amazonaws.com"],
        ),
    ])
}

/// What the maintenance role may do: run, repair and upgrade what the provider built, create the
/// pieces that come and go (node groups, routes, security group rules), but not create or delete
/// the estate's foundations (VPC, cluster, database, keys, buckets) — that is the setup role's job.
pub fn maintenance_permissions(estate: &Estate) -> PolicyDocument {
    let mut statements = vec![
        Statement::allow(
            "Read",
            [
                "ec2:Describe*",
                "eks:Describe*",
                "eks:List*",
                "rds:Describe*",
                "rds:ListTagsForResource",
                "elasticache:Describe*",
                "elasticache:ListTagsForResource",
                "kms:Describe*",
                "kms:Get*",
                "kms:List*",
                "secretsmanager:ListSecrets",
                "autoscaling:Describe*",
                "elasticloadbalancing:Describe*",
                "logs:Describe*",
                "logs:ListTagsForResource",
                "iam:Get*",
                "iam:List*",
                "sts:GetCallerIdentity",
            ],
            ["*"],
        ),
        Statement::allow(
            "NetworkPieces",
            [
                "ec2:CreateTags",
                "ec2:DeleteTags",
                "ec2:*Route",
                "ec2:*RouteTable",
                "ec2:ModifySubnetAttribute",
                "ec2:ModifyVpcAttribute",
                "ec2:CreateNatGateway",
                "ec2:DeleteNatGateway",
                "ec2:AllocateAddress",
                "ec2:ReleaseAddress",
                "ec2:AssociateAddress",
                "ec2:DisassociateAddress",
                "ec2:CreateSecurityGroup",
                "ec2:DeleteSecurityGroup",
                "ec2:*SecurityGroupIngress",
                "ec2:*SecurityGroupEgress",
                "ec2:ModifySecurityGroupRules",
                "ec2:*LaunchTemplate*",
            ],
            ["*"],
        ),
        Statement::allow(
            "ClusterCare",
            [
                "eks:UpdateClusterConfig",
                "eks:UpdateClusterVersion",
                "eks:*Nodegroup*",
                "eks:*Addon*",
                "eks:*AccessEntry",
                "eks:*AccessPolicy",
                "eks:*PodIdentityAssociation",
                "eks:TagResource",
                "eks:UntagResource",
            ],
            ["*"],
        ),
        Statement::allow(
            "DatabaseAndCacheCare",
            [
                "rds:Modify*",
                "rds:Reboot*",
                "rds:AddTagsToResource",
                "rds:RemoveTagsFromResource",
                "rds:*DBParameterGroup",
                "rds:*DBClusterParameterGroup",
                "rds:*DBSubnetGroup",
                "rds:CreateDBSnapshot",
                "rds:CreateDBClusterSnapshot",
                "rds:DeleteDBSnapshot",
                "rds:DeleteDBClusterSnapshot",
                "elasticache:Modify*",
                "elasticache:Reboot*",
                "elasticache:AddTagsToResource",
                "elasticache:RemoveTagsFromResource",
                "elasticache:*CacheParameterGroup",
                "elasticache:*CacheSubnetGroup",
            ],
            ["*"],
        ),
        Statement::allow(
            "KeyAdministration",
            [
                "kms:EnableKeyRotation",
                "kms:DisableKeyRotation",
                "kms:TagResource",
                "kms:UntagResource",
                "kms:UpdateKeyDescription",
                "kms:*Alias",
                "kms:CreateGrant",
                "kms:RetireGrant",
                "kms:RevokeGrant",
            ],
            ["*"],
        ),
    ];
    statements.extend(identity_providers_and_secret_metadata(estate));
    statements.push(Statement::allow(
        "LogGroups",
        ["logs:CreateLogGroup", "logs:PutRetentionPolicy", "logs:TagResource", "logs:UntagResource"],
        ["*"],
    ));
    statements.extend(workload_role_management(estate));
    statements.push(storage_bucket_management(estate));
    statements.push(Statement::allow(
        "StateBucket",
        ["s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:GetBucket*"],
        estate.buckets(),
    ));
    PolicyDocument::new(statements)
}

/// What the setup role may do: build the whole estate. Whole services, fenced by the boundary.
pub fn setup_permissions(estate: &Estate) -> PolicyDocument {
    let mut statements = vec![
        Statement::allow(
            "BuildTheEstate",
            [
                "ec2:*",
                "eks:*",
                "rds:*",
                "elasticache:*",
                "autoscaling:*",
                "elasticloadbalancing:*",
                "logs:*",
                "iam:Get*",
                "iam:List*",
                "sts:GetCallerIdentity",
                "secretsmanager:ListSecrets",
                "ssm:GetParameter",
                "ssm:GetParameters",
            ],
            ["*"],
        ),
        Statement::allow(
            "Keys",
            [
                "kms:Create*",
                "kms:Describe*",
                "kms:Enable*",
                "kms:Disable*",
                "kms:List*",
                "kms:Get*",
                "kms:Put*",
                "kms:Update*",
                "kms:Revoke*",
                "kms:RetireGrant",
                "kms:TagResource",
                "kms:UntagResource",
                "kms:ScheduleKeyDeletion",
                "kms:CancelKeyDeletion",
            ],
            ["*"],
        ),
    ];
    statements.extend(identity_providers_and_secret_metadata(estate));
    statements.extend([
        Statement::allow(
            "WorkloadPolicies",
            [
                "iam:CreatePolicy",
                "iam:DeletePolicy",
                "iam:CreatePolicyVersion",
                "iam:DeletePolicyVersion",
                "iam:TagPolicy",
                "iam:UntagPolicy",
            ],
            [estate.iam_arns_under_prefix("policy")],
        ),
        Statement::allow(
            "InstanceProfiles",
            [
                "iam:CreateInstanceProfile",
                "iam:DeleteInstanceProfile",
                "iam:AddRoleToInstanceProfile",
                "iam:RemoveRoleFromInstanceProfile",
                "iam:TagInstanceProfile",
                "iam:UntagInstanceProfile",
            ],
            [estate.iam_arns_under_prefix("instance-profile")],
        ),
    ]);
    statements.extend(workload_role_management(estate));
    statements.push(storage_bucket_management(estate));
    statements.push(Statement::allow(
        "StateBucket",
        [
            "s3:CreateBucket",
            "s3:ListBucket",
            "s3:GetObject",
            "s3:PutObject",
            "s3:DeleteObject",
            "s3:GetBucket*",
            "s3:GetEncryptionConfiguration",
            "s3:PutEncryptionConfiguration",
            "s3:PutBucketVersioning",
            "s3:PutBucketTagging",
            "s3:PutBucketPublicAccessBlock",
            "s3:PutBucketOwnershipControls",
        ],
        estate.buckets(),
    ));
    PolicyDocument::new(statements)
}

/// Shared by both operator roles: creating, configuring and deleting Retool Storage buckets —
/// bucket-level actions only (the boundary denies their objects).
fn storage_bucket_management(estate: &Estate) -> Statement {
    Statement::allow(
        "RetoolStorageBuckets",
        [
            "s3:CreateBucket",
            "s3:DeleteBucket",
            "s3:GetBucket*",
            "s3:GetEncryptionConfiguration",
            "s3:PutEncryptionConfiguration",
            "s3:PutBucketVersioning",
            "s3:PutBucketTagging",
            "s3:PutBucketPublicAccessBlock",
            "s3:PutBucketPolicy",
        ],
        [estate.storage_buckets()],
    )
}

/// Shared by both operator roles: registering the EKS clusters' OIDC issuers (IRSA) and no other
/// identity provider, and managing — never reading — the secrets under the prefix, plus describing
/// the RDS-managed master secret.
fn identity_providers_and_secret_metadata(estate: &Estate) -> [Statement; 3] {
    [
        Statement::allow(
            "EksIdentityProviders",
            [
                "iam:CreateOpenIDConnectProvider",
                "iam:DeleteOpenIDConnectProvider",
                "iam:TagOpenIDConnectProvider",
                "iam:UntagOpenIDConnectProvider",
            ],
            [estate.eks_identity_providers()],
        ),
        Statement::allow(
            "SecretMetadata",
            [
                "secretsmanager:CreateSecret",
                "secretsmanager:DescribeSecret",
                "secretsmanager:UpdateSecret",
                "secretsmanager:PutSecretValue",
                "secretsmanager:TagResource",
                "secretsmanager:UntagResource",
                "secretsmanager:DeleteSecret",
                "secretsmanager:RestoreSecret",
            ],
            [estate.managed_secrets()],
        ),
        Statement::allow("RdsManagedSecretMetadata", ["secretsmanager:DescribeSecret"], [estate.rds_master_secrets()]),
    ]
}

/// Roles for workloads, shared by both operator roles: created and changed only when they carry
/// the workload boundary (checked here and, independently, by the operator boundary), and passed
/// only to the services that run them.
fn workload_role_management(estate: &Estate) -> Vec<Statement> {
    let roles = estate.workload_roles();
    vec![
        Statement::allow(
            "BoundedWorkloadRoles",
            [
                "iam:CreateRole",
                "iam:PutRolePermissionsBoundary",
                "iam:AttachRolePolicy",
                "iam:PutRolePolicy",
                "iam:UpdateAssumeRolePolicy",
            ],
            [roles.clone()],
        )
        .when("ArnEquals", "iam:PermissionsBoundary", [estate.workload_boundary_arn()]),
        Statement::allow(
            "WorkloadRoleUpkeep",
            [
                "iam:DetachRolePolicy",
                "iam:DeleteRolePolicy",
                "iam:DeleteRole",
                "iam:TagRole",
                "iam:UntagRole",
                "iam:UpdateRole",
                "iam:UpdateRoleDescription",
            ],
            [roles.clone()],
        ),
        Statement::allow("PassWorkloadRoles", ["iam:PassRole"], [roles]).when(
            "StringEquals",
            "iam:PassedToService",
            ["eks.amazonaws.com", "ec2.amazonaws.com", "pods.eks.amazonaws.com"],
        ),
        Statement::allow("ServiceLinkedRoles", ["iam:CreateServiceLinkedRole"], ["*"]).when(
            "StringEquals",
            "iam:AWSServiceName",
            SERVICE_LINKED,
        ),
    ]
}

/// The trust policy of both operator roles: only the listed principals, with the external id and
/// MFA when configured.
pub fn trust_policy(trust: &Trust) -> PolicyDocument {
    let principal =
        Principal::Typed(BTreeMap::from([("AWS".to_owned(), trust.operator_principal_arns.iter().cloned().collect())]));
    let mut statement = Statement::allow("OperatorAssumesRole", ["sts:AssumeRole"], Vec::<String>::new())
        .without_resources()
        .with_principal(principal);
    if let Some(external_id) = &trust.external_id {
        statement = statement.when("StringEquals", "sts:ExternalId", [external_id.clone()]);
    }
    if trust.require_mfa {
        statement = statement.when("Bool", "aws:MultiFactorAuthPresent", ["true"]);
    }
    PolicyDocument::new(vec![statement])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::iam::policy::{Actions, Effect};

    fn estate(prefix: &str, secrets_prefix: &str) -> Estate {
        Estate {
            partition: "aws-us-gov".into(),
            account_id: "111122223333".into(),
            name_prefix: prefix.into(),
            secrets_prefix: secrets_prefix.into(),
        }
    }

    fn all_managed(estate: &Estate) -> [(&'static str, PolicyDocument); 4] {
        [
            ("operator boundary", operator_boundary(estate)),
            ("workload boundary", workload_boundary(estate)),
            ("maintenance permissions", maintenance_permissions(estate)),
            ("setup permissions", setup_permissions(estate)),
        ]
    }

    #[test]
    fn managed_policies_fit_the_quota_for_the_longest_inputs() {
        let longest = estate(&"p".repeat(32), &"s".repeat(128));
        for (name, doc) in all_managed(&longest) {
            let size = doc.quota_size();
            assert!(size <= MANAGED_POLICY_QUOTA, "{name} is {size} characters");
        }
    }

    #[test]
    fn trust_policy_fits_the_default_quota_for_ten_long_principals() {
        let trust = Trust {
            operator_principal_arns: (0..10)
                .map(|i| format!("arn:aws-us-gov:iam::444455556666:role/operations/{}{i}", "n".repeat(60)))
                .collect(),
            external_id: Some("e".repeat(64)),
            require_mfa: true,
        };
        let size = trust_policy(&trust).quota_size();
        assert!(size <= TRUST_POLICY_QUOTA, "trust policy is {size} characters");
    }

    #[test]
    fn names_and_arns_follow_the_prefix_and_partition() {
        let e = estate("acme", "retool/");
        assert_eq!(e.operator_boundary_arn(), "arn:aws-us-gov:iam::111122223333:policy/acme-operator-boundary");
        assert_eq!(e.workload_boundary_arn(), "arn:aws-us-gov:iam::111122223333:policy/acme-workload-boundary");
        assert_eq!(e.maintenance_role_arn(), "arn:aws-us-gov:iam::111122223333:role/acme-maintenance");
        assert_eq!(e.setup_role_arn(), "arn:aws-us-gov:iam::111122223333:role/acme-setup");
        assert!(e.setup_role_name().len() <= 64 && estate(&"p".repeat(32), "x").operator_boundary_name().len() <= 128);
    }

    #[test]
    fn the_prefix_is_read_back_from_the_workload_boundary_arn() {
        for prefix in ["acme", "retool-prod", "a"] {
            assert_eq!(workload_boundary_prefix(&estate(prefix, "x").workload_boundary_arn()), Some(prefix));
        }
        for other in [
            "arn:aws:iam::111122223333:policy/acme-operator-boundary",
            "arn:aws:iam::111122223333:policy/workload-boundary",
            "arn:aws:iam::111122223333:policy/team/acme-workload-boundary",
            "arn:aws:iam::aws:policy/PowerUserAccess",
        ] {
            assert_eq!(workload_boundary_prefix(other), None, "{other}");
        }
    }

    #[test]
    fn operator_boundary_allows_all_then_only_denies() {
        let doc = operator_boundary(&estate("acme", "retool/"));
        let (first, rest) = doc.statements.split_first().expect("statements");
        assert_eq!(first.effect, Effect::Allow);
        assert_eq!(first.actions, Actions::Action(crate::aws::iam::policy::set(["*"])));
        assert!(rest.iter().all(|s| s.effect == Effect::Deny));
    }

    #[test]
    fn trust_policy_conditions_follow_the_inputs() {
        let mut trust = Trust {
            operator_principal_arns: vec!["arn:aws:iam::444455556666:role/ops".into()],
            external_id: None,
            require_mfa: false,
        };
        assert_eq!(
            trust_policy(&trust).to_canonical_json(),
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"OperatorAssumesRole","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:role/ops"},"Action":"sts:AssumeRole"}]}"#
        );
        trust.external_id = Some("xid".into());
        trust.require_mfa = true;
        let json = trust_policy(&trust).to_canonical_json();
        assert!(json.ends_with(r#""Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"},"StringEquals":{"sts:ExternalId":"xid"}}}]}"#), "{json}");
    }

    #[test]
    fn every_document_round_trips_through_iam_text() {
        let e = estate("acme", "retool/");
        for (name, doc) in all_managed(&e) {
            let parsed = PolicyDocument::parse(&doc.to_canonical_json()).expect(name);
            assert_eq!(parsed, doc, "{name}");
        }
    }
}
