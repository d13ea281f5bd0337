//! Generation of the two secrets every Retool instance needs: `ENCRYPTION_KEY`, which encrypts
//! the credentials of customers' resources in the platform database (losing it loses them), and
//! `JWT_SECRET`, which signs session tokens.
//!
//! The provider generates them itself so that no operator ever sees them: they go straight to
//! Secrets Manager and only their ARNs enter state. Hence the care here:
//! - the bytes come from the operating system's CSPRNG through aws-lc (already linked for TLS);
//! - characters are drawn from `[A-Za-z0-9]` by rejection sampling, so every character is equally
//!   likely (taking `byte % 62` would favour the first eight);
//! - the value is wrapped in [`SecretValue`], whose `Debug` and `Display` print a placeholder, so
//!   a stray `{:?}` in a log line cannot leak it, and whose memory is zeroed on drop.

use std::fmt;

use zeroize::Zeroizing;

/// Length of a generated `ENCRYPTION_KEY`.
pub const ENCRYPTION_KEY_LENGTH: usize = 64;
/// Length of a generated `JWT_SECRET`.
pub const JWT_SECRET_LENGTH: usize = 256;

const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Random bytes at or above this are discarded: 248 is the largest multiple of 62 below 256, so
/// the accepted bytes map onto the alphabet evenly.
const REJECTION_THRESHOLD: u8 = 248;

/// A generated secret. Only [`SecretValue::expose`] reveals it, for the one call that writes it
/// to Secrets Manager.
pub struct SecretValue(Zeroizing<String>);

impl SecretValue {
    /// The secret itself. Pass it to `PutSecretValue` and nowhere else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue(<redacted>)")
    }
}

impl fmt::Display for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The system's random number generator could not be read.
#[derive(Debug, thiserror::Error)]
#[error("the system random number generator is unavailable, so no secret could be generated")]
pub struct RandomUnavailable;

/// A new `ENCRYPTION_KEY` of [`ENCRYPTION_KEY_LENGTH`] characters.
pub fn generate_encryption_key() -> Result<SecretValue, RandomUnavailable> {
    generate_secret(ENCRYPTION_KEY_LENGTH)
}

/// A new `JWT_SECRET` of [`JWT_SECRET_LENGTH`] characters.
pub fn generate_jwt_secret() -> Result<SecretValue, RandomUnavailable> {
    generate_secret(JWT_SECRET_LENGTH)
}

/// `length` characters drawn uniformly from `[A-Za-z0-9]` with the system CSPRNG.
pub fn generate_secret(length: usize) -> Result<SecretValue, RandomUnavailable> {
    // Allocated once at full size: a growing String would leave unzeroed copies behind.
    let mut value = Zeroizing::new(String::with_capacity(length));
    let mut random = Zeroizing::new([0u8; 64]);
    while value.len() < length {
        aws_lc_rs::rand::fill(random.as_mut_slice()).map_err(|_| RandomUnavailable)?;
        for &byte in random.iter() {
            if value.len() == length {
                break;
            }
            if byte < REJECTION_THRESHOLD {
                let index = usize::from(byte) % ALPHABET.len();
                value.push(char::from(ALPHABET.get(index).copied().unwrap_or(b'A')));
            }
        }
    }
    Ok(SecretValue(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_have_their_length_and_alphabet() {
        let key = generate_encryption_key().unwrap();
        let jwt = generate_jwt_secret().unwrap();
        assert_eq!(key.expose().len(), 64);
        assert_eq!(jwt.expose().len(), 256);
        assert!(key.expose().bytes().chain(jwt.expose().bytes()).all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(generate_secret(0).unwrap().expose(), "");
        assert_eq!(generate_secret(1000).unwrap().expose().len(), 1000);
    }

    #[test]
    fn two_secrets_differ() {
        let first = generate_encryption_key().unwrap();
        let second = generate_encryption_key().unwrap();
        assert_ne!(first.expose(), second.expose());
    }

    #[test]
    fn formatting_never_shows_the_value() {
        let secret = generate_jwt_secret().unwrap();
        let debug = format!("{secret:?}");
        let display = format!("{secret}");
        assert_eq!(debug, "SecretValue(<redacted>)");
        assert_eq!(display, "<redacted>");
        let in_struct = format!("{:?}", Some(&secret));
        assert!(!in_struct.contains(secret.expose()), "{in_struct}");
    }

    #[test]
    fn characters_are_spread_over_the_whole_alphabet() {
        // 62 × 400 draws: every character should appear; with a fair draw each appears ~400
        // times, and the chance any one appears fewer than 250 times is negligible (< 1e-12).
        let sample = generate_secret(62 * 400).unwrap();
        let mut counts = [0usize; 62];
        for b in sample.expose().bytes() {
            let index = ALPHABET.iter().position(|&a| a == b).unwrap();
            counts[index] += 1;
        }
        let (least, most) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
        assert!(*least > 250 && *most < 550, "{counts:?}");
    }
}
