//! Password hashes made elsewhere and moved in with their users: bcrypt, scrypt (and
//! Firebase's variant), PBKDF2-SHA256 (PHC and Django's form). Each verifies a password in
//! constant time within caps on its cost (a stored hash must not hold a worker hostage); a user
//! whose password verifies gets our Argon2id hash in its place (`auth::signin`).

use std::num::NonZeroU32;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// Standard base64, padded or not (PHC strings leave padding out, Firebase and Django keep it).
const B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The costs we verify at most: bcrypt 2^13 rounds, scrypt and Firebase 64 MiB (one or two
/// lanes), PBKDF2 a million iterations (of a hash of at most 64 bytes).
const MAX_BCRYPT_COST: u32 = 13;
const MAX_SCRYPT_BYTES: u64 = 64 * 1024 * 1024;
const MAX_PBKDF2_ITERATIONS: u32 = 1_000_000;

/// The formats we read, by their prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Argon2,
    Bcrypt,
    Scrypt,
    FirebaseScrypt,
    Pbkdf2Sha256,
    DjangoPbkdf2Sha256,
}

impl Format {
    pub fn of(stored: &str) -> Option<Format> {
        let f = if stored.starts_with("$argon2") {
            Format::Argon2
        } else if ["$2a$", "$2b$", "$2y$"]
            .iter()
            .any(|p| stored.starts_with(p))
        {
            Format::Bcrypt
        } else if stored.starts_with("$scrypt$") {
            Format::Scrypt
        } else if stored.starts_with("$firebase-scrypt$") {
            Format::FirebaseScrypt
        } else if stored.starts_with("$pbkdf2-sha256$") {
            Format::Pbkdf2Sha256
        } else if stored.starts_with("pbkdf2_sha256$") {
            Format::DjangoPbkdf2Sha256
        } else {
            return None;
        };
        Some(f)
    }
}

/// Whether `stored` is a hash we can verify, within our cost caps: checked when users are
/// moved in, so a hash that could never verify is refused then, not at a sign-in.
pub fn check(stored: &str) -> Result<(), String> {
    let ok = match Format::of(stored) {
        None => return Err("not a password hash format we read".into()),
        Some(Format::Argon2) => argon2::password_hash::phc::PasswordHash::new(stored).is_ok(),
        Some(Format::Bcrypt) => bcrypt_cost(stored).is_some_and(|c| c <= MAX_BCRYPT_COST),
        Some(Format::Scrypt) => scrypt_parts(stored).is_some(),
        Some(Format::FirebaseScrypt) => firebase_parts(stored).is_some(),
        Some(Format::Pbkdf2Sha256) => pbkdf2_parts(stored).is_some(),
        Some(Format::DjangoPbkdf2Sha256) => django_parts(stored).is_some(),
    };
    if ok {
        Ok(())
    } else {
        Err("malformed, or its cost is above what we verify".into())
    }
}

/// Verifies `password` against an imported hash (not Argon2: `password` does that).
pub fn verify(password: &str, stored: &str) -> bool {
    match Format::of(stored) {
        Some(Format::Bcrypt) => {
            bcrypt_cost(stored).is_some_and(|c| c <= MAX_BCRYPT_COST)
                && bcrypt::verify(password, stored).unwrap_or(false)
        }
        Some(Format::Scrypt) => scrypt_parts(stored).is_some_and(|(params, salt, hash)| {
            let mut out = vec![0u8; hash.len()];
            scrypt::scrypt(password.as_bytes(), &salt, &params, &mut out).is_ok()
                && equal(&out, &hash)
        }),
        Some(Format::FirebaseScrypt) => firebase_parts(stored).is_some_and(|f| f.verify(password)),
        Some(Format::Pbkdf2Sha256) => pbkdf2_parts(stored)
            .is_some_and(|(i, salt, hash)| pbkdf2_verify(i, &salt, password, &hash)),
        Some(Format::DjangoPbkdf2Sha256) => django_parts(stored)
            .is_some_and(|(i, salt, hash)| pbkdf2_verify(i, &salt, password, &hash)),
        Some(Format::Argon2) | None => false,
    }
}

fn equal(a: &[u8], b: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}

fn bcrypt_cost(stored: &str) -> Option<u32> {
    let cost = stored.get(4..6)?;
    (stored.len() == 60 && stored.as_bytes()[6] == b'$')
        .then(|| cost.parse().ok())
        .flatten()
}

/// `name=value` pairs of a PHC parameter segment.
fn param(segment: &str, name: &str) -> Option<u32> {
    segment
        .split(',')
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
        .and_then(|v| v.parse().ok())
}

/// Decodes PHC base64 (passlib's variant writes `.` for `+`).
fn b64(s: &str) -> Option<Vec<u8>> {
    B64.decode(s.replace('.', "+"))
        .ok()
        .filter(|b| !b.is_empty())
}

/// A hash (or key) of 16 to 64 bytes: shorter ones would let guesses match by chance, longer
/// ones multiply the work of every check.
fn digest_sized(s: &str) -> Option<Vec<u8>> {
    b64(s).filter(|b| (16..=64).contains(&b.len()))
}

fn scrypt_params(log_n: u32, r: u32, p: u32) -> Option<scrypt::Params> {
    if log_n == 0 || log_n > 24 || r == 0 || r > 64 || p == 0 || p > 2 {
        return None;
    }
    let bytes = 128u64
        .checked_mul(u64::from(r))?
        .checked_mul(1u64 << log_n)?;
    if bytes > MAX_SCRYPT_BYTES {
        return None;
    }
    scrypt::Params::new(log_n as u8, r, p).ok()
}

/// `$scrypt$ln=…,r=…,p=…$salt$hash`.
fn scrypt_parts(stored: &str) -> Option<(scrypt::Params, Vec<u8>, Vec<u8>)> {
    let parts: Vec<&str> = stored.split('$').collect();
    let [_, "scrypt", params, salt, hash] = parts[..] else {
        return None;
    };
    let p = scrypt_params(
        param(params, "ln")?,
        param(params, "r")?,
        param(params, "p")?,
    )?;
    Some((p, b64(salt)?, digest_sized(hash)?))
}

/// Firebase's scrypt: the scrypt key of the password (salted with the user's salt and the
/// project's separator) encrypts the project's signer key with AES-256-CTR; the result is the
/// hash. `$firebase-scrypt$ln={mem_cost},r={rounds}$salt$separator$signer_key$hash`.
struct Firebase {
    params: scrypt::Params,
    salt: Vec<u8>,
    signer_key: Vec<u8>,
    hash: Vec<u8>,
}

impl Firebase {
    fn verify(&self, password: &str) -> bool {
        use aws_lc_rs::cipher::{AES_256, EncryptingKey, EncryptionContext, UnboundCipherKey};
        use aws_lc_rs::iv::FixedLength;
        let mut derived = [0u8; 64];
        if scrypt::scrypt(password.as_bytes(), &self.salt, &self.params, &mut derived).is_err() {
            return false;
        }
        let Ok(key) = UnboundCipherKey::new(&AES_256, &derived[..32]) else {
            return false;
        };
        let Ok(key) = EncryptingKey::ctr(key) else {
            return false;
        };
        let mut out = self.signer_key.clone();
        let iv = EncryptionContext::Iv128(FixedLength::from([0u8; 16]));
        key.less_safe_encrypt(&mut out, iv).is_ok() && equal(&out, &self.hash)
    }
}

fn firebase_parts(stored: &str) -> Option<Firebase> {
    let parts: Vec<&str> = stored.split('$').collect();
    let [
        _,
        "firebase-scrypt",
        params,
        salt,
        separator,
        signer_key,
        hash,
    ] = parts[..]
    else {
        return None;
    };
    let mut salt = b64(salt)?;
    salt.extend(b64(separator)?);
    Some(Firebase {
        params: scrypt_params(param(params, "ln")?, param(params, "r")?, 1)?,
        salt,
        signer_key: digest_sized(signer_key)?,
        hash: digest_sized(hash)?,
    })
}

/// `$pbkdf2-sha256$i={iterations}$salt$hash`.
fn pbkdf2_parts(stored: &str) -> Option<(NonZeroU32, Vec<u8>, Vec<u8>)> {
    let parts: Vec<&str> = stored.split('$').collect();
    let [_, "pbkdf2-sha256", params, salt, hash] = parts[..] else {
        return None;
    };
    Some((
        iterations(param(params, "i")?)?,
        b64(salt)?,
        digest_sized(hash)?,
    ))
}

/// Django's `pbkdf2_sha256${iterations}${salt}${hash}` (the salt as text).
fn django_parts(stored: &str) -> Option<(NonZeroU32, Vec<u8>, Vec<u8>)> {
    let parts: Vec<&str> = stored.split('$').collect();
    let ["pbkdf2_sha256", i, salt, hash] = parts[..] else {
        return None;
    };
    Some((
        iterations(i.parse().ok()?)?,
        salt.as_bytes().to_vec(),
        digest_sized(hash)?,
    ))
}

fn iterations(i: u32) -> Option<NonZeroU32> {
    NonZeroU32::new(i).filter(|i| i.get() <= MAX_PBKDF2_ITERATIONS)
}

fn pbkdf2_verify(i: NonZeroU32, salt: &[u8], password: &str, hash: &[u8]) -> bool {
    !salt.is_empty()
        && hash.len() >= 16
        && aws_lc_rs::pbkdf2::verify(
            aws_lc_rs::pbkdf2::PBKDF2_HMAC_SHA256,
            i,
            salt,
            password.as_bytes(),
            hash,
        )
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn firebase_scrypt_matches_firebases_published_vector() {
        let stored = "$firebase-scrypt$ln=14,r=8$42xEC+ixf3L2lw==$Bw==$jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==$lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==";
        assert!(check(stored).is_ok());
        assert!(verify("user1password", stored));
        assert!(!verify("user2password", stored));
    }

    #[test]
    fn bcrypt_verifies_and_its_cost_is_capped() {
        let hash = bcrypt::hash_with_salt("s3cret", 4, [7u8; 16])
            .unwrap()
            .format_for_version(bcrypt::Version::TwoB);
        assert!(verify("s3cret", &hash));
        assert!(!verify("s3cret!", &hash));
        let y = hash.replacen("$2b$", "$2y$", 1);
        assert!(verify("s3cret", &y));
        let costly = hash.replacen("$04$", "$15$", 1);
        assert!(check(&costly).is_err());
        assert!(!verify("s3cret", &costly));
    }

    #[test]
    fn pbkdf2_in_phc_and_django_forms() {
        let salt = b"NaCl-salt-16byte";
        let mut out = [0u8; 32];
        let i = NonZeroU32::new(1000).unwrap();
        aws_lc_rs::pbkdf2::derive(
            aws_lc_rs::pbkdf2::PBKDF2_HMAC_SHA256,
            i,
            salt,
            b"pw",
            &mut out,
        );
        let phc = format!(
            "$pbkdf2-sha256$i=1000${}${}",
            B64.encode(salt),
            B64.encode(out)
        );
        assert!(verify("pw", &phc) && !verify("pw2", &phc));
        let std = base64::engine::general_purpose::STANDARD;
        let django = format!("pbkdf2_sha256$1000$NaCl-salt-16byte${}", std.encode(out));
        assert!(verify("pw", &django) && !verify("pw2", &django));
        assert!(check("$pbkdf2-sha256$i=90000000$c2FsdA$aGFzaA").is_err());
    }

    #[test]
    fn scrypt_phc_verifies() {
        let mut out = [0u8; 32];
        let params = scrypt::Params::new(4, 8, 1).unwrap();
        scrypt::scrypt(b"pw", b"saltsalt", &params, &mut out).unwrap();
        let phc = format!(
            "$scrypt$ln=4,r=8,p=1${}${}",
            B64.encode(b"saltsalt"),
            B64.encode(out)
        );
        assert!(check(&phc).is_ok());
        assert!(verify("pw", &phc) && !verify("px", &phc));
        assert!(check("$scrypt$ln=30,r=8,p=1$c2FsdA$aGFzaA").is_err());
    }
}
