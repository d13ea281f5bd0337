//! # `retool_deployment`: the AWS stack of one Retool instance (EKS, nodes, Postgres, cache, secrets).

pub mod rules;
