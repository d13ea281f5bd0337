//! Terraform numbers: arbitrary-precision decimals.
//!
//! Terraform's `number` is a big float, and the wire carries it in whichever msgpack form is
//! lossless (int, uint, float, or a decimal string). Converting through `f64` would silently change
//! values such as `0.1` or `12345678901234567890`, and Terraform rejects a provider whose result
//! differs from the plan by one ulp. So a [`Number`] keeps the exact decimal: sign, significant
//! digits and a power-of-ten exponent, normalised so that derived equality and hashing are numeric
//! (`1`, `1.0` and `"1.00"` are the same number).

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// Largest power-of-ten exponent magnitude accepted. Far beyond anything Terraform configuration
/// needs (and beyond the exact expansion of any `f64`), small enough that printing a number can
/// never produce an absurdly long string from a tiny input like `1e999999999`.
const MAX_EXPONENT: i64 = 4096;

/// An exact decimal number: `(-1)^negative × digits × 10^exponent`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Number {
    negative: bool,
    /// ASCII significant digits, most significant first; no leading or trailing zeros; empty for 0.
    digits: Vec<u8>,
    exponent: i64,
}

impl Number {
    /// The number 0 (its single canonical form: no digits, positive).
    pub fn zero() -> Number {
        Number { negative: false, digits: Vec::new(), exponent: 0 }
    }

    /// The exact value of a signed integer.
    pub fn from_i64(value: i64) -> Number {
        Number::from_integer_magnitude(value < 0, value.unsigned_abs())
    }

    /// The exact value of an unsigned integer, including those above `i64::MAX`.
    pub fn from_u64(value: u64) -> Number {
        Number::from_integer_magnitude(false, value)
    }

    /// The exact value of a finite `f64` (its full binary expansion, so `0.1f64` becomes
    /// `0.1000000000000000055511151231257827021181583404541015625`, as cty does); `None` for NaN
    /// and infinities.
    pub fn from_f64(value: f64) -> Option<Number> {
        if !value.is_finite() {
            return None;
        }
        let bits = value.to_bits();
        let negative = bits >> 63 == 1;
        let biased_exponent = ((bits >> 52) & 0x7ff) as i64;
        let fraction = bits & ((1u64 << 52) - 1);
        let (mantissa, power_of_two) =
            if biased_exponent == 0 { (fraction, -1074) } else { (fraction | (1u64 << 52), biased_exponent - 1075) };
        if mantissa == 0 {
            return Some(Number::zero());
        }
        let mut big = BigDecimalDigits::from_u64(mantissa);
        let exponent = if power_of_two >= 0 {
            big.multiply_by_power(2, power_of_two as u32);
            0
        } else {
            // m × 2^-k = m × 5^k × 10^-k
            big.multiply_by_power(5, (-power_of_two) as u32);
            power_of_two
        };
        Some(Number::normalized(negative, big.to_ascii(), exponent))
    }

    /// Parses a decimal number with optional sign, fraction and exponent (`-12.5e3`, `.5`, `7.`).
    /// NaN, infinities, hexadecimal, whitespace and absurd exponents are rejected.
    pub fn parse(text: &str) -> Option<Number> {
        let bytes = text.as_bytes();
        let (negative, rest) = match bytes.split_first() {
            Some((b'-', rest)) => (true, rest),
            Some((b'+', rest)) => (false, rest),
            _ => (false, bytes),
        };
        let mantissa_end = rest.iter().position(|b| *b == b'e' || *b == b'E').unwrap_or(rest.len());
        let (mantissa, exponent_part) = rest.split_at(mantissa_end);
        // Digits before the first `.` and after it; a second `.` lands in the fraction and is refused.
        let mut halves = mantissa.splitn(2, |b| *b == b'.');
        let int_part = halves.next().unwrap_or_default();
        let frac_part = halves.next().unwrap_or_default();
        if int_part.is_empty() && frac_part.is_empty() {
            return None;
        }
        if !int_part.iter().chain(frac_part).all(u8::is_ascii_digit) {
            return None;
        }
        let explicit_exponent = match exponent_part.split_first() {
            None => 0,
            Some((_, exp)) => parse_exponent(exp)?,
        };
        let frac_len = i64::try_from(frac_part.len()).ok()?;
        let exponent = explicit_exponent.checked_sub(frac_len)?;
        let digits: Vec<u8> = int_part.iter().chain(frac_part).copied().collect();
        let number = Number::normalized(negative, digits, exponent);
        number.within_bounds().then_some(number)
    }

    /// The value as `i64`, if it is an integer within range.
    pub fn to_i64(&self) -> Option<i64> {
        let magnitude = self.integer_magnitude()?;
        if self.negative {
            0i128.checked_sub(magnitude as i128).and_then(|v| i64::try_from(v).ok())
        } else {
            i64::try_from(magnitude).ok()
        }
    }

    /// The value as `u64`, if it is a non-negative integer within range.
    pub fn to_u64(&self) -> Option<u64> {
        if self.negative {
            return None;
        }
        self.integer_magnitude()
    }

    /// The nearest `f64` (correctly rounded; may be infinite for huge values).
    pub fn to_f64(&self) -> f64 {
        if self.is_zero() {
            return 0.0;
        }
        let text = format!(
            "{}{}e{}",
            if self.negative { "-" } else { "" },
            String::from_utf8_lossy(&self.digits),
            self.exponent
        );
        text.parse().unwrap_or(f64::NAN)
    }

    /// The `f64` that holds exactly this value, if one does.
    pub fn to_exact_f64(&self) -> Option<f64> {
        let approx = self.to_f64();
        (Number::from_f64(approx).as_ref() == Some(self)).then_some(approx)
    }

    /// True for 0, however it was written (`0`, `-0`, `0.00`, `0e5`).
    pub fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    /// True below zero; zero itself is never negative.
    pub fn is_negative(&self) -> bool {
        self.negative
    }

    /// True when there is no fractional part (`3`, `1.5e1`), whatever the magnitude.
    pub fn is_integer(&self) -> bool {
        self.exponent >= 0
    }

    fn from_integer_magnitude(negative: bool, magnitude: u64) -> Number {
        Number::normalized(negative, magnitude.to_string().into_bytes(), 0)
    }

    /// Builds the canonical form: strips leading zeros, moves trailing zeros into the exponent,
    /// and gives zero a single representation.
    fn normalized(negative: bool, mut digits: Vec<u8>, mut exponent: i64) -> Number {
        let leading = digits.iter().take_while(|d| **d == b'0').count();
        digits.drain(..leading);
        let trailing = digits.iter().rev().take_while(|d| **d == b'0').count();
        digits.truncate(digits.len() - trailing);
        if digits.is_empty() {
            return Number::zero();
        }
        exponent = exponent.saturating_add(trailing as i64);
        Number { negative, digits, exponent }
    }

    fn within_bounds(&self) -> bool {
        (-MAX_EXPONENT..=MAX_EXPONENT).contains(&self.exponent)
    }

    fn integer_magnitude(&self) -> Option<u64> {
        if !self.is_integer() || self.digits.len() as i64 + self.exponent > 20 {
            return None;
        }
        let mut value: u64 = 0;
        for d in &self.digits {
            value = value.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
        }
        for _ in 0..self.exponent {
            value = value.checked_mul(10)?;
        }
        Some(value)
    }

    /// Position of the leading digit: the magnitude lies in `[10^(p-1), 10^p)`.
    fn leading_position(&self) -> i64 {
        self.digits.len() as i64 + self.exponent
    }

    fn compare_magnitude(&self, other: &Number) -> Ordering {
        self.leading_position().cmp(&other.leading_position()).then_with(|| self.digits.cmp(&other.digits))
    }

    fn sign_rank(&self) -> i8 {
        match (self.is_zero(), self.negative) {
            (true, _) => 0,
            (false, true) => -1,
            (false, false) => 1,
        }
    }
}

fn parse_exponent(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text.split_first() {
        Some((b'-', digits)) => (true, digits),
        Some((b'+', digits)) => (false, digits),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut value: i64 = 0;
    for d in digits {
        value = value.checked_mul(10)?.checked_add(i64::from(d - b'0'))?;
        if value > 1_000_000_000 {
            return None;
        }
    }
    Some(if negative { -value } else { value })
}

impl Ord for Number {
    fn cmp(&self, other: &Number) -> Ordering {
        self.sign_rank().cmp(&other.sign_rank()).then_with(|| match self.sign_rank() {
            0 => Ordering::Equal,
            1 => self.compare_magnitude(other),
            _ => other.compare_magnitude(self),
        })
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Number) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Plain decimal notation without exponent, like cty's `Text('f', -1)`: `-12.5`, `1000`, `0.001`.
impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_zero() {
            return f.write_str("0");
        }
        let mut out = String::with_capacity(self.digits.len() + 4);
        if self.negative {
            out.push('-');
        }
        let digits = String::from_utf8_lossy(&self.digits);
        let point = self.leading_position();
        if self.exponent >= 0 {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', self.exponent as usize));
        } else if point > 0 {
            let (whole, fraction) = digits.split_at(point as usize);
            out.push_str(whole);
            out.push('.');
            out.push_str(fraction);
        } else {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-point) as usize));
            out.push_str(&digits);
        }
        f.write_str(&out)
    }
}

impl fmt::Debug for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Number({self})")
    }
}

impl FromStr for Number {
    type Err = InvalidNumber;

    fn from_str(text: &str) -> Result<Number, InvalidNumber> {
        Number::parse(text).ok_or(InvalidNumber)
    }
}

/// The error of `str::parse::<Number>()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a finite decimal number")]
pub struct InvalidNumber;

from_conversions! {
    i64 => Number: |value| Number::from_i64(value);
    u64 => Number: |value| Number::from_u64(value);
}

/// A non-negative integer in base 10⁹ limbs (least significant first), just big enough to expand a
/// binary float into its exact decimal digits.
struct BigDecimalDigits {
    limbs: Vec<u32>,
}

const LIMB_BASE: u64 = 1_000_000_000;

impl BigDecimalDigits {
    fn from_u64(mut value: u64) -> Self {
        let mut limbs = Vec::new();
        while value > 0 {
            limbs.push((value % LIMB_BASE) as u32);
            value /= LIMB_BASE;
        }
        BigDecimalDigits { limbs }
    }

    fn multiply_small(&mut self, factor: u32) {
        let mut carry: u64 = 0;
        for limb in &mut self.limbs {
            let product = u64::from(*limb) * u64::from(factor) + carry;
            *limb = (product % LIMB_BASE) as u32;
            carry = product / LIMB_BASE;
        }
        while carry > 0 {
            self.limbs.push((carry % LIMB_BASE) as u32);
            carry /= LIMB_BASE;
        }
    }

    /// Multiplies by `base^power` for base 2 or 5, in chunks that keep each step within `u32`.
    fn multiply_by_power(&mut self, base: u32, mut power: u32) {
        let chunk = if base == 2 { 30 } else { 13 };
        while power > 0 {
            let step = power.min(chunk);
            self.multiply_small(base.pow(step));
            power -= step;
        }
    }

    fn to_ascii(&self) -> Vec<u8> {
        let mut text = String::new();
        for (i, limb) in self.limbs.iter().rev().enumerate() {
            if i == 0 {
                text.push_str(&limb.to_string());
            } else {
                text.push_str(&format!("{limb:09}"));
            }
        }
        text.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn n(text: &str) -> Number {
        Number::parse(text).unwrap()
    }

    #[test]
    fn equal_values_in_different_spellings_are_equal() {
        assert_eq!(n("1"), n("1.0"));
        assert_eq!(n("1.00"), Number::from_i64(1));
        assert_eq!(n("100"), n("1e2"));
        assert_eq!(n("0.05"), n("5E-2"));
        assert_eq!(n("-0"), Number::zero());
        assert_eq!(n("+7."), Number::from_i64(7));
        assert_eq!(n(".5"), n("0.5"));
    }

    #[test]
    fn rejects_non_numbers() {
        for bad in [
            "",
            "-",
            ".",
            "e5",
            "1e",
            "1e+",
            "NaN",
            "inf",
            "-Infinity",
            "0x10",
            " 1",
            "1 ",
            "1_000",
            "1.2.3",
            "1e99999999999",
        ] {
            assert!(Number::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn displays_plain_decimal() {
        assert_eq!(n("1e3").to_string(), "1000");
        assert_eq!(n("-12.50").to_string(), "-12.5");
        assert_eq!(n("0.00100").to_string(), "0.001");
        assert_eq!(n("123456789012345678901234567890.5").to_string(), "123456789012345678901234567890.5");
        assert_eq!(Number::zero().to_string(), "0");
    }

    #[test]
    fn integer_conversions_respect_range() {
        assert_eq!(n("9223372036854775807").to_i64(), Some(i64::MAX));
        assert_eq!(n("-9223372036854775808").to_i64(), Some(i64::MIN));
        assert_eq!(n("9223372036854775808").to_i64(), None);
        assert_eq!(n("9223372036854775808").to_u64(), Some(1 << 63));
        assert_eq!(n("1.5").to_i64(), None);
        assert_eq!(n("1e25").to_i64(), None);
        assert_eq!(n("-1").to_u64(), None);
        assert_eq!(n("3e2").to_i64(), Some(300));
    }

    #[test]
    fn floats_convert_exactly() {
        assert_eq!(Number::from_f64(0.5), Some(n("0.5")));
        assert_eq!(Number::from_f64(-1.25e3), Some(n("-1250")));
        assert_eq!(
            Number::from_f64(0.1).unwrap().to_string(),
            "0.1000000000000000055511151231257827021181583404541015625"
        );
        assert_eq!(Number::from_f64(f64::NAN), None);
        assert_eq!(Number::from_f64(f64::INFINITY), None);
        assert_eq!(n("0.5").to_exact_f64(), Some(0.5));
        assert_eq!(n("0.1").to_exact_f64(), None);
        assert_eq!(n("0.1").to_f64(), 0.1);
        let max = Number::from_f64(f64::MAX).unwrap();
        assert_eq!(max.to_f64(), f64::MAX);
        let tiny = Number::from_f64(f64::from_bits(1)).unwrap();
        assert_eq!(tiny.to_f64(), f64::from_bits(1));
    }

    #[test]
    fn ordering_is_numeric() {
        let mut values = [n("10"), n("-2.5"), n("0"), n("9.99"), n("-10"), n("0.001"), n("1e-5")];
        values.sort();
        let text: Vec<String> = values.iter().map(Number::to_string).collect();
        assert_eq!(text, ["-10", "-2.5", "0", "0.00001", "0.001", "9.99", "10"]);
    }

    proptest! {
        #[test]
        fn parse_display_round_trip(int in any::<i64>(), frac in 0u32..1_000_000, exp in -30i64..30) {
            let number = n(&format!("{int}.{frac:06}e{exp}"));
            prop_assert_eq!(n(&number.to_string()), number);
        }

        #[test]
        fn order_agrees_with_f64_for_simple_values(a in -1e6f64..1e6, b in -1e6f64..1e6) {
            let (x, y) = (Number::from_f64(a).unwrap(), Number::from_f64(b).unwrap());
            prop_assert_eq!(x.cmp(&y), a.partial_cmp(&b).unwrap());
            prop_assert_eq!(x.to_f64(), a);
        }

        #[test]
        fn i64_round_trips(v in any::<i64>()) {
            prop_assert_eq!(Number::from_i64(v).to_i64(), Some(v));
        }

        #[test]
        fn parse_never_panics(text in "\\PC{0,30}") {
            let _ = Number::parse(&text);
        }
    }
}
