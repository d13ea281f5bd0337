//! An estimate of what a deployment's AWS footprint costs per month, shown at plan time as
//! `estimated_monthly_cost_usd` so a size change comes with its price before it is applied.
//!
//! It is an estimate, not a bill: on-demand list prices only (no Savings Plans, reserved
//! instances, free tier or taxes), 730 hours a month, and only the pieces this resource sizes —
//! the EKS control plane, the nodes, the Postgres instance and its gp3 storage, the cache nodes and
//! the Retool DB instance. NAT gateways (priced with the network), load balancers, data transfer,
//! KMS, Secrets Manager, backups and EBS volumes of the nodes are left out. The AWS Pricing API
//! would be exact, but it is a network call (and a credential) at plan time, so the prices are a
//! table compiled in.
//!
//! Prices: us-east-1 on-demand list prices (Linux EC2, RDS for PostgreSQL single-AZ, ElastiCache
//! for Redis OSS) as published by AWS in 2024–2025, as this table's authors knew them. Other
//! regions scale them by a multiplier (their m5 price relative to us-east-1); a region not in
//! the table is priced as us-east-1. A size missing from the table is priced from its family's
//! price per normalization unit (AWS prices sizes of one family in proportion to it), and a
//! family missing from the table from a typical family of the same class letter (`c`, `m`, `r`,
//! `t`; otherwise `m5`), so every valid instance name gets a number.

use super::instance_types::{InstanceKind, InstanceType};

/// Hours in the month AWS bills by (8,760 / 12).
pub const HOURS_PER_MONTH: f64 = 730.0;

/// EKS control plane, per cluster-hour in standard support; the same in every commercial region.
pub const EKS_CONTROL_PLANE_HOURLY_USD: f64 = 0.10;

/// RDS gp3 storage in us-east-1, per GB-month for a single-AZ instance (twice that for Multi-AZ).
pub const RDS_GP3_GB_MONTH_USD: f64 = 0.115;

/// What a deployment runs, in the terms its price depends on.
#[derive(Clone, Debug, PartialEq)]
pub struct Footprint {
    pub node_instance_type: String,
    /// The node group's desired size.
    pub node_count: u32,
    pub db_instance_class: String,
    pub db_multi_az: bool,
    pub db_storage_gb: u32,
    /// The node types of the enabled ElastiCache replication groups (the cache, RPC's), one node each.
    pub cache_node_types: Vec<String>,
    /// Instance class and storage of the Retool DB instance when enabled (single-AZ).
    pub retool_db: Option<(String, u32)>,
}

/// List prices of common sizes, USD per hour in us-east-1.
const LIST_PRICES: &[(&str, f64)] = &[
    ("m5.large", 0.096),
    ("m5.xlarge", 0.192),
    ("m5.2xlarge", 0.384),
    ("m5.4xlarge", 0.768),
    ("m6i.large", 0.096),
    ("m6i.xlarge", 0.192),
    ("m6i.2xlarge", 0.384),
    ("m6i.4xlarge", 0.768),
    ("m7i.large", 0.1008),
    ("m7i.xlarge", 0.2016),
    ("m7i.2xlarge", 0.4032),
    ("m7i.4xlarge", 0.8064),
    ("t3.medium", 0.0416),
    ("t3.large", 0.0832),
    ("db.t3.micro", 0.018),
    ("db.t3.small", 0.036),
    ("db.t3.medium", 0.072),
    ("db.t3.large", 0.145),
    ("db.t3.xlarge", 0.29),
    ("db.t3.2xlarge", 0.579),
    ("db.m5.large", 0.178),
    ("db.m5.xlarge", 0.356),
    ("db.m5.2xlarge", 0.712),
    ("db.m5.4xlarge", 1.424),
    ("db.m6i.large", 0.178),
    ("db.m6i.xlarge", 0.356),
    ("db.m6i.2xlarge", 0.712),
    ("db.m6i.4xlarge", 1.424),
    ("db.r5.large", 0.25),
    ("db.r5.xlarge", 0.50),
    ("db.r5.2xlarge", 1.00),
    ("db.r5.4xlarge", 2.00),
    ("cache.t3.micro", 0.017),
    ("cache.t3.small", 0.034),
    ("cache.t3.medium", 0.068),
    ("cache.t4g.micro", 0.016),
    ("cache.t4g.small", 0.032),
    ("cache.t4g.medium", 0.065),
    ("cache.m5.large", 0.156),
    ("cache.m5.xlarge", 0.311),
    ("cache.m5.2xlarge", 0.623),
    ("cache.m5.4xlarge", 1.245),
    ("cache.r6g.large", 0.206),
    ("cache.r6g.xlarge", 0.411),
    ("cache.r6g.2xlarge", 0.821),
    ("cache.r6g.4xlarge", 1.642),
];

/// Price per normalization unit (one `small`) and hour in us-east-1, per family: the family's
/// `large` list price divided by 4.
const FAMILY_RATES: &[(InstanceKind, &str, f64)] = &[
    (InstanceKind::Ec2, "m5", 0.024),
    (InstanceKind::Ec2, "m5a", 0.0215),
    (InstanceKind::Ec2, "m6i", 0.024),
    (InstanceKind::Ec2, "m6a", 0.0216),
    (InstanceKind::Ec2, "m6g", 0.01925),
    (InstanceKind::Ec2, "m7i", 0.0252),
    (InstanceKind::Ec2, "m7g", 0.0204),
    (InstanceKind::Ec2, "c5", 0.02125),
    (InstanceKind::Ec2, "c6i", 0.02125),
    (InstanceKind::Ec2, "r5", 0.0315),
    (InstanceKind::Ec2, "r6i", 0.0315),
    (InstanceKind::Ec2, "t3", 0.0208),
    (InstanceKind::Ec2, "t3a", 0.0188),
    (InstanceKind::Rds, "t3", 0.036),
    (InstanceKind::Rds, "t4g", 0.032),
    (InstanceKind::Rds, "m5", 0.0445),
    (InstanceKind::Rds, "m6i", 0.0445),
    (InstanceKind::Rds, "m6g", 0.03975),
    (InstanceKind::Rds, "r5", 0.0625),
    (InstanceKind::Rds, "r6i", 0.0625),
    (InstanceKind::Rds, "r6g", 0.05625),
    (InstanceKind::ElastiCache, "t3", 0.034),
    (InstanceKind::ElastiCache, "t4g", 0.032),
    (InstanceKind::ElastiCache, "m5", 0.039),
    (InstanceKind::ElastiCache, "m6g", 0.03725),
    (InstanceKind::ElastiCache, "r5", 0.054),
    (InstanceKind::ElastiCache, "r6g", 0.0515),
];

/// The family whose rate prices an unknown family of the same class letter (m5 when the
/// service has no such family in the table).
fn stand_in_family(family: &str) -> &'static str {
    match family.chars().next() {
        Some('c') => "c5",
        Some('r') => "r5",
        Some('t') => "t3",
        _ => "m5",
    }
}

/// Regional price level relative to us-east-1 (m5.large on-demand there ÷ in us-east-1).
const REGION_MULTIPLIERS: &[(&str, f64)] = &[
    ("us-east-1", 1.0),
    ("us-east-2", 1.0),
    ("us-west-2", 1.0),
    ("us-west-1", 1.17),
    ("ca-central-1", 1.11),
    ("eu-west-1", 1.11),
    ("eu-west-2", 1.16),
    ("eu-central-1", 1.20),
    ("eu-north-1", 1.06),
    ("ap-south-1", 1.05),
    ("ap-southeast-1", 1.25),
    ("ap-southeast-2", 1.25),
    ("ap-northeast-1", 1.29),
    ("sa-east-1", 1.59),
];

/// The price level of `region` relative to us-east-1; 1.0 for regions not in the table.
pub fn region_multiplier(region: &str) -> f64 {
    REGION_MULTIPLIERS.iter().find(|(name, _)| *name == region).map_or(1.0, |(_, m)| *m)
}

/// The us-east-1 hourly list price of an instance, or its estimate from the family rate; `None`
/// when `name` is not an instance name of `kind`.
pub fn hourly_price_usd(kind: InstanceKind, name: &str) -> Option<f64> {
    let instance = InstanceType::parse(kind, name).ok()?;
    if let Some((_, price)) = LIST_PRICES.iter().find(|(listed, _)| *listed == name) {
        return Some(*price);
    }
    let rate =
        |family: &str| FAMILY_RATES.iter().find(|(k, f, _)| *k == kind && *f == family).map(|(_, _, rate)| *rate);
    let per_unit = rate(&instance.family).or_else(|| rate(stand_in_family(&instance.family))).or_else(|| rate("m5"))?;
    Some(per_unit * instance.normalization_factor())
}

/// Estimated monthly cost in USD, rounded to cents; `None` when an instance name in `footprint`
/// is not valid (the validators refuse those before a plan gets here).
pub fn estimate_monthly_cost_usd(region: &str, footprint: &Footprint) -> Option<f64> {
    let nodes = hourly_price_usd(InstanceKind::Ec2, &footprint.node_instance_type)? * f64::from(footprint.node_count);
    let db_copies = if footprint.db_multi_az { 2.0 } else { 1.0 };
    let database = db_copies * hourly_price_usd(InstanceKind::Rds, &footprint.db_instance_class)?;
    let cache = footprint
        .cache_node_types
        .iter()
        .map(|node_type| hourly_price_usd(InstanceKind::ElastiCache, node_type))
        .sum::<Option<f64>>()?;
    let retool_db = match &footprint.retool_db {
        Some((class, _)) => hourly_price_usd(InstanceKind::Rds, class)?,
        None => 0.0,
    };
    let storage_gb = db_copies * f64::from(footprint.db_storage_gb)
        + footprint.retool_db.as_ref().map_or(0.0, |(_, gb)| f64::from(*gb));

    let regional = (nodes + database + cache + retool_db) * HOURS_PER_MONTH + storage_gb * RDS_GP3_GB_MONTH_USD;
    let total = EKS_CONTROL_PLANE_HOURLY_USD * HOURS_PER_MONTH + regional * region_multiplier(region);
    Some((total * 100.0).round() / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_footprint() -> Footprint {
        Footprint {
            node_instance_type: "m5.xlarge".into(),
            node_count: 3,
            db_instance_class: "db.m5.large".into(),
            db_multi_az: false,
            db_storage_gb: 60,
            cache_node_types: Vec::new(),
            retool_db: None,
        }
    }

    #[test]
    fn the_default_footprint_costs_what_the_list_prices_add_up_to() {
        // EKS 0.10 × 730 = 73.00; nodes 3 × 0.192 × 730 = 420.48; db.m5.large 0.178 × 730 = 129.94;
        // storage 60 × 0.115 = 6.90. Total 630.32.
        assert_eq!(estimate_monthly_cost_usd("us-east-1", &default_footprint()), Some(630.32));
        assert_eq!(estimate_monthly_cost_usd("us-west-2", &default_footprint()), Some(630.32));
    }

    #[test]
    fn multi_az_doubles_instance_and_storage() {
        // 73.00 + 420.48 + 2 × 129.94 + 2 × 6.90 = 767.16
        let footprint = Footprint { db_multi_az: true, ..default_footprint() };
        assert_eq!(estimate_monthly_cost_usd("us-east-1", &footprint), Some(767.16));
    }

    #[test]
    fn cache_and_retool_db_add_their_instances() {
        // + cache.t4g.medium 0.065 × 730 = 47.45; + db.t3.medium 0.072 × 730 = 52.56 and 20 × 0.115 = 2.30
        let footprint = Footprint {
            cache_node_types: vec!["cache.t4g.medium".into()],
            retool_db: Some(("db.t3.medium".into(), 20)),
            ..default_footprint()
        };
        assert_eq!(estimate_monthly_cost_usd("us-east-1", &footprint), Some(732.63));
    }

    #[test]
    fn each_replication_group_adds_its_node() {
        // 623.42 + cache.t4g.medium 0.065 × 730 = 47.45 + cache.r6g.large 0.206 × 730 = 150.38
        let footprint = Footprint {
            cache_node_types: vec!["cache.t4g.medium".into(), "cache.r6g.large".into()],
            ..default_footprint()
        };
        let alone = estimate_monthly_cost_usd("us-east-1", &default_footprint()).unwrap_or_default();
        let with_both = estimate_monthly_cost_usd("us-east-1", &footprint).unwrap_or_default();
        assert!((with_both - alone - 197.83).abs() < 0.011, "{alone} -> {with_both}");
    }

    #[test]
    fn regions_scale_everything_but_the_control_plane() {
        // 73.00 + (420.48 + 129.94 + 6.90) × 1.20 = 73.00 + 668.784 = 741.78
        assert_eq!(estimate_monthly_cost_usd("eu-central-1", &default_footprint()), Some(741.78));
        assert_eq!(region_multiplier("sa-east-1"), 1.59);
        assert_eq!(region_multiplier("xx-nowhere-9"), 1.0);
        assert_eq!(estimate_monthly_cost_usd("xx-nowhere-9", &default_footprint()), Some(630.32));
    }

    #[test]
    fn sizes_and_families_outside_the_table_are_estimated_by_normalization_units() {
        // m5.8xlarge: 0.024 × 64 = 1.536, its list price.
        let price = hourly_price_usd(InstanceKind::Ec2, "m5.8xlarge").unwrap();
        assert!((price - 1.536).abs() < 1e-9, "{price}");
        // Family rates reproduce the listed sizes they were derived from.
        for (name, kind) in [
            ("m5.4xlarge", InstanceKind::Ec2),
            ("db.r5.xlarge", InstanceKind::Rds),
            ("cache.r6g.2xlarge", InstanceKind::ElastiCache),
        ] {
            let instance = InstanceType::parse(kind, name).unwrap();
            let (_, _, rate) = FAMILY_RATES.iter().find(|(k, f, _)| *k == kind && *f == instance.family).unwrap();
            let listed = hourly_price_usd(kind, name).unwrap();
            assert!((rate * instance.normalization_factor() - listed).abs() / listed < 0.01, "{name}");
        }
        // An unknown family is priced like the typical family of its class letter.
        let c7 = hourly_price_usd(InstanceKind::Ec2, "c7gn.xlarge").unwrap();
        assert!((c7 - 0.17).abs() < 1e-9, "{c7}");
        let x2 = hourly_price_usd(InstanceKind::Ec2, "x2iedn.xlarge").unwrap();
        assert!((x2 - 0.192).abs() < 1e-9, "{x2}");
        let db = hourly_price_usd(InstanceKind::Rds, "db.r7g.large").unwrap();
        assert!((db - 0.25).abs() < 1e-9, "{db}");
        // A class letter the service has no stand-in for falls back to its m5 rate.
        let cache = hourly_price_usd(InstanceKind::ElastiCache, "cache.c1.xlarge").unwrap();
        assert!((cache - 0.312).abs() < 1e-9, "{cache}");
    }

    #[test]
    fn every_listed_name_is_valid_for_its_service() {
        for (name, _) in LIST_PRICES {
            let kind = if name.starts_with("db.") {
                InstanceKind::Rds
            } else if name.starts_with("cache.") {
                InstanceKind::ElastiCache
            } else {
                InstanceKind::Ec2
            };
            assert!(InstanceType::parse(kind, name).is_ok(), "{name}");
        }
    }

    #[test]
    fn invalid_names_give_no_estimate() {
        assert_eq!(hourly_price_usd(InstanceKind::Rds, "m5.large"), None);
        let footprint = Footprint { node_instance_type: "huge".into(), ..default_footprint() };
        assert_eq!(estimate_monthly_cost_usd("us-east-1", &footprint), None);
        let footprint = Footprint { cache_node_types: vec!["cache.t4g".into()], ..default_footprint() };
        assert_eq!(estimate_monthly_cost_usd("us-east-1", &footprint), None);
        let footprint = Footprint { retool_db: Some(("db.x".into(), 20)), ..default_footprint() };
        assert_eq!(estimate_monthly_cost_usd("us-east-1", &footprint), None);
    }

    #[test]
    fn zero_nodes_and_extreme_sizes_stay_finite() {
        let footprint = Footprint { node_count: 0, db_storage_gb: 0, ..default_footprint() };
        // 73.00 + 129.94
        assert_eq!(estimate_monthly_cost_usd("us-east-1", &footprint), Some(202.94));
        let footprint = Footprint { node_count: u32::MAX, db_storage_gb: u32::MAX, ..default_footprint() };
        assert!(estimate_monthly_cost_usd("us-east-1", &footprint).is_some_and(f64::is_finite));
    }
}
