//! The outbound destinations a self-hosted Retool instance needs, for customers whose firewall
//! denies egress by default.
//!
//! Published as the computed `egress_allowlist` so the firewall rule can be written from the
//! deployment's outputs instead of being copied from documentation by hand. The list follows
//! Retool's self-hosted documentation:
//! - "Self-hosted Retool egress connections":
//!   <https://docs.retool.com/self-hosted/self-managed/reference/egress> (also
//!   <https://docs.retool.com/3.253/self-hosted/reference/egress>), which describes the license
//!   check, invitation and usage-reporting services and the port (443) they use;
//! - the "Network requirements" section of the self-managed quickstart:
//!   <https://docs.retool.com/4.0/self-hosted/self-managed/quickstart>, which lists the same
//!   domains plus `specs.tryretool.com` and `pypi.org` as the domains an outbound allowlist must
//!   include.
//!
//! All of them are reached over HTTPS on port 443.

/// Domains a Retool deployment's outbound firewall must allow on port 443, in a fixed order.
pub fn egress_allowlist() -> Vec<&'static str> {
    vec![
        // License verification, at least daily; without it the instance stops working.
        "licensing.tryretool.com",
        // Checks an invited user against the billing plan before the invitation goes out.
        "invites.tryretool.com",
        // Sends the invitation e-mails.
        "email-service.retool.com",
        // Product usage reporting.
        "p.tryretool.com",
        // API specifications used by Retool's built-in integrations.
        "specs.tryretool.com",
        // Python packages for Workflows code blocks.
        "pypi.org",
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::deployment::validators::hostname_problem;

    #[test]
    fn the_allowlist_covers_each_documented_service_once() {
        let list = egress_allowlist();
        for service in [
            "licensing.tryretool.com",
            "invites.tryretool.com",
            "email-service.retool.com",
            "p.tryretool.com",
            "specs.tryretool.com",
        ] {
            assert_eq!(list.iter().filter(|d| **d == service).count(), 1, "{service}");
        }
        assert_eq!(list.len(), 6);
    }

    #[test]
    fn every_entry_is_a_plain_hostname() {
        for domain in egress_allowlist() {
            assert_eq!(hostname_problem(domain), None, "{domain}");
        }
    }
}
