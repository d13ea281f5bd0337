//! Kubernetes resource quantities (`500m`, `2`, `1536Mi`, `4Gi`) for the containers' CPU and memory.
//!
//! A malformed quantity is refused by the API server only when the Deployment is applied, after
//! the AWS stack is built; a quantity in the wrong unit (`2GB`, a memory of `2` bytes) is accepted
//! and gives a pod that never schedules or is killed at once. So the configured values are parsed
//! here, with Kubernetes' own grammar, and judged at `terraform validate`.
//!
//! The grammar (from the Kubernetes API's `resource.Quantity`):
//! `quantity = sign? number suffix`, `number = digits | digits "." digits? | "." digits`,
//! `suffix = "" | "m" | "k" | "M" | "G" | "T" | "P" | "E" | "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" |
//! ("e" | "E") sign? digits`.

/// Smallest memory a Retool container is given: below it Node.js cannot start.
pub const MIN_MEMORY_BYTES: f64 = 256.0 * 1024.0 * 1024.0;

/// The largest CPU and memory any one pod may ask for: more than the largest EC2 instance the node
/// group can use, so a pod asking for more would never be scheduled.
pub const MAX_CPU_CORES: f64 = 448.0;
/// 24 TiB, the largest EC2 instance memory.
pub const MAX_MEMORY_BYTES: f64 = 24.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0;

/// A parsed quantity: its value in base units (cores, bytes).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quantity {
    /// The value in base units; exact for every quantity a container can sensibly ask for.
    pub value: f64,
}

impl Quantity {
    /// Parses `text` with the Kubernetes quantity grammar; `None` when it does not follow it.
    pub fn parse(text: &str) -> Option<Quantity> {
        let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
        let negative = text.starts_with('-');
        let number_end = unsigned.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(unsigned.len());
        let (number, suffix) = unsigned.split_at(number_end);
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        let digits_only = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() && fraction.is_empty() || !digits_only(whole) || !digits_only(fraction) {
            return None;
        }
        let multiplier = multiplier(suffix)?;
        let magnitude: f64 = format!("{}.{}", if whole.is_empty() { "0" } else { whole }, fraction).parse().ok()?;
        let value = magnitude * multiplier;
        value.is_finite().then_some(Quantity { value: if negative { -value } else { value } })
    }
}

/// The factor a suffix stands for; `None` for a suffix outside the grammar.
fn multiplier(suffix: &str) -> Option<f64> {
    let binary = |power: i32| Some(1024f64.powi(power));
    let decimal = |power: i32| Some(10f64.powi(power));
    match suffix {
        "" => decimal(0),
        "m" => decimal(-3),
        "k" => decimal(3),
        "M" => decimal(6),
        "G" => decimal(9),
        "T" => decimal(12),
        "P" => decimal(15),
        "E" => decimal(18),
        "Ki" => binary(1),
        "Mi" => binary(2),
        "Gi" => binary(3),
        "Ti" => binary(4),
        "Pi" => binary(5),
        "Ei" => binary(6),
        exponent => {
            let digits = exponent.strip_prefix(['e', 'E'])?;
            let unsigned = digits.strip_prefix(['+', '-']).unwrap_or(digits);
            if unsigned.is_empty() || unsigned.len() > 3 || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            decimal(digits.parse().ok()?)
        }
    }
}

const FORMS: &str = "a Kubernetes quantity";

/// Why `text` cannot be a container's CPU, if it cannot: a positive quantity of cores, no finer
/// than a millicore (`500m`, `1`, `2.5`).
pub fn cpu_problem(text: &str) -> Option<String> {
    let Some(quantity) = Quantity::parse(text) else {
        return Some(format!("{text:?} is not {FORMS}; write cores such as 1 or 2.5, or millicores such as 500m."));
    };
    let millicores = quantity.value * 1000.0;
    if quantity.value <= 0.0 {
        Some(format!("{text:?} is not a positive amount of CPU; write e.g. 500m or 2."))
    } else if (millicores - millicores.round()).abs() > 1e-6 {
        Some(format!("{text:?} is finer than a millicore, which Kubernetes cannot schedule; write e.g. 500m."))
    } else if quantity.value > MAX_CPU_CORES {
        Some(format!("{text:?} is more CPU than any node has ({MAX_CPU_CORES} cores): the pod would never start."))
    } else {
        None
    }
}

/// Why `text` cannot be a container's memory, if it cannot: a quantity of bytes of at least
/// 256Mi in whole bytes (`1536Mi`, `4Gi`, `4G`).
pub fn memory_problem(text: &str) -> Option<String> {
    let Some(quantity) = Quantity::parse(text) else {
        return Some(format!(
            "{text:?} is not {FORMS}; write bytes with a suffix such as 1536Mi or 4Gi (Ki, Mi, Gi are powers of 1024; k, M, G of 1000)."
        ));
    };
    if quantity.value < MIN_MEMORY_BYTES {
        Some(format!("{text:?} is less than 256Mi, too little for a Retool container to start; write e.g. 2Gi."))
    } else if quantity.value.fract() != 0.0 {
        Some(format!("{text:?} is not a whole number of bytes; write e.g. 1536Mi."))
    } else if quantity.value > MAX_MEMORY_BYTES {
        Some(format!("{text:?} is more memory than any node has (24Ti): the pod would never start."))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_follow_the_kubernetes_grammar() {
        let value = |text: &str| Quantity::parse(text).map(|q| q.value);
        assert_eq!(value("500m"), Some(0.5));
        assert_eq!(value("1"), Some(1.0));
        assert_eq!(value("2.5"), Some(2.5));
        assert_eq!(value(".5"), Some(0.5));
        assert_eq!(value("5."), Some(5.0));
        assert_eq!(value("+1"), Some(1.0));
        assert_eq!(value("-1"), Some(-1.0));
        assert_eq!(value("2Gi"), Some(2.0 * 1024.0 * 1024.0 * 1024.0));
        assert_eq!(value("1536Mi"), Some(1536.0 * 1024.0 * 1024.0));
        assert_eq!(value("4G"), Some(4e9));
        assert_eq!(value("1e3"), Some(1000.0));
        assert_eq!(value("1E-3"), Some(0.001));
        assert_eq!(value("12k"), Some(12000.0));
        for bad in
            ["", ".", "1.5.3", "2GB", "2gi", "1 Gi", " 1", "Gi", "1.5.", "1e", "1e+", "--1", "1ki", "0x10", "1,5"]
        {
            assert_eq!(Quantity::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn cpu_is_positive_and_whole_millicores() {
        for good in ["500m", "1", "2.5", "0.25", "100m", "4"] {
            assert_eq!(cpu_problem(good), None, "{good}");
        }
        for (bad, said) in [
            ("1.5.3", "not a Kubernetes quantity"),
            ("-1", "positive"),
            ("0", "positive"),
            ("0.5m", "finer than a millicore"),
            ("1000", "more CPU than any node"),
            ("two", "not a Kubernetes quantity"),
        ] {
            let problem = cpu_problem(bad).unwrap_or_default();
            assert!(problem.contains(said), "{bad}: {problem}");
        }
    }

    #[test]
    fn memory_is_whole_bytes_of_at_least_256mi() {
        for good in ["256Mi", "1536Mi", "4Gi", "4G", "1Ti"] {
            assert_eq!(memory_problem(good), None, "{good}");
        }
        for (bad, said) in [
            ("2GB", "not a Kubernetes quantity"),
            ("2", "less than 256Mi"),
            ("100Mi", "less than 256Mi"),
            ("-4Gi", "less than 256Mi"),
            ("1.5.3Gi", "not a Kubernetes quantity"),
            ("300000000.5", "whole number of bytes"),
            ("100Ti", "more memory than any node"),
        ] {
            let problem = memory_problem(bad).unwrap_or_default();
            assert!(problem.contains(said), "{bad}: {problem}");
        }
    }
}
