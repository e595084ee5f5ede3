//! The server side of SRP-6a as Amazon Cognito runs it (USER_SRP_AUTH and DEVICE_SRP_AUTH): the
//! group, verifiers, the server ephemeral, the session key and the password claim check. Math
//! only; the caller stores verifiers and secrets and speaks the protocol.
//!
//! Cognito's variant of RFC 5054: the RFC 3526 3072-bit group with g = 2, SHA-256, every hashed
//! number written as its minimal big-endian bytes plus one 0x00 when the top bit is set (not
//! padded to the length of N), and a 16-byte key from HKDF (RFC 5869) instead of K = H(S).

use std::sync::LazyLock;

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use crypto_bigint::modular::{FixedMontyForm, FixedMontyParams};
use crypto_bigint::{NonZero, Odd, U256, U3072};

use crate::crypto::{hex, random_bytes, sha256};

const LIMBS: usize = U3072::LIMBS;
type Elem = FixedMontyForm<LIMBS>;
/// Bytes of an element of the group.
const N_BYTES: usize = 384;
/// Cognito's salts are 16 random bytes.
const SALT_BYTES: usize = 16;
/// HKDF info string of Cognito's key derivation.
const KEY_INFO: &[u8] = b"Caldera Derived Key";

/// The 3072-bit MODP prime of RFC 3526 §4.
const N_HEX: &str = concat!(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD",
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED",
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F",
    "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B",
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510",
    "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7",
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200C",
    "BBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF",
);

/// N, g and k, with the Montgomery parameters of N computed once.
struct Group {
    params: FixedMontyParams<LIMBS>,
    n: NonZero<U3072>,
    g: Elem,
    k: Elem,
}

static GROUP: LazyLock<Group> = LazyLock::new(|| {
    let n = Odd::<U3072>::from_be_hex(N_HEX);
    let params = FixedMontyParams::new_vartime(n);
    let g = U3072::from_u8(2);
    // k = H(N | PAD(g)) (RFC 5054 §2.5.3) with Cognito's padding: SHA256(0x00 || N || 0x02).
    let mut kin = pad(n.get().to_be_bytes().as_ref());
    kin.extend(pad(g.to_be_bytes().as_ref()));
    let k = U256::from_be_slice(&sha256(&kin)).resize::<LIMBS>();
    Group {
        params,
        n: n.into_nz(),
        g: Elem::new(&g, &params),
        k: Elem::new(&k, &params),
    }
});

/// Nibbles of a 256-bit exponent: the rows of [`G_TABLE`].
const COMB_ROWS: usize = 64;

/// `g^(j·16^i)` (in Montgomery form) for each nibble position `i` of a 256-bit exponent and
/// each nibble value `j`: `g^e` is then 64 multiplications instead of 256 squarings and their
/// multiplications (a fixed-base comb), each factor picked in constant time. 384 KiB, made once.
static G_TABLE: LazyLock<Vec<[U3072; 16]>> = LazyLock::new(|| {
    let group = &*GROUP;
    let mut rows = Vec::with_capacity(COMB_ROWS);
    let mut base = group.g;
    for _ in 0..COMB_ROWS {
        let mut row = [U3072::ZERO; 16];
        let mut power = Elem::one(&group.params);
        for entry in row.iter_mut() {
            *entry = power.to_montgomery();
            power = power.mul(&base);
        }
        // base^16: the next nibble's base.
        base = power;
        rows.push(row);
    }
    rows
});

/// `g^e` for a secret 256-bit exponent, by the comb of [`G_TABLE`], in constant time.
fn g_pow(e: &U256) -> Elem {
    use crypto_bigint::{CtAssign, CtEq};
    let group = &*GROUP;
    let bytes = e.to_be_bytes();
    let mut acc = Elem::one(&group.params);
    for (i, row) in G_TABLE.iter().enumerate() {
        let byte = bytes.as_ref()[31 - i / 2];
        let nibble = u32::from(if i % 2 == 0 { byte & 15 } else { byte >> 4 });
        let mut pick = U3072::ZERO;
        for (j, entry) in (0u32..).zip(row.iter()) {
            pick.ct_assign(entry, j.ct_eq(&nibble));
        }
        acc = acc.mul(&Elem::from_montgomery(pick, &group.params));
    }
    acc
}

/// A stored password (or device) verifier: the salt as generated and v = g^x mod N.
#[derive(Clone, PartialEq, Eq)]
pub struct Verifier {
    /// The salt as generated (16 bytes for ours; devices send their own, of any length).
    pub salt: Vec<u8>,
    /// v, big-endian; leading zero bytes are allowed.
    pub verifier: Vec<u8>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Verifier(salt {})", hex(&self.salt))
    }
}

impl Verifier {
    /// Two bytes of salt length (big-endian), the salt, then v.
    ///
    /// # Panics
    /// If the salt is 64 KiB or longer; callers bound device salts long before that.
    pub fn to_bytes(&self) -> Vec<u8> {
        let salt_len = u16::try_from(self.salt.len()).expect("salts are shorter than 64 KiB");
        let mut out = Vec::with_capacity(2 + self.salt.len() + self.verifier.len());
        out.extend_from_slice(&salt_len.to_be_bytes());
        out.extend_from_slice(&self.salt);
        out.extend_from_slice(&self.verifier);
        out
    }

    /// Reads what [`Verifier::to_bytes`] wrote; None for a truncated value or an empty v.
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        let (len, rest) = b.split_first_chunk::<2>()?;
        let len = usize::from(u16::from_be_bytes(*len));
        if rest.len() <= len {
            return None;
        }
        let (salt, verifier) = rest.split_at(len);
        Some(Self {
            salt: salt.to_vec(),
            verifier: verifier.to_vec(),
        })
    }

    /// The SALT challenge parameter: the salt as a minimal lower-case hex number. Clients differ
    /// in how they read it (some parse a number, some hash the hex string's bytes as they are),
    /// and they agree only when the hex has no leading zero byte.
    pub fn salt_hex(&self) -> String {
        minimal_hex(&self.salt)
    }

    /// v as an element of the group; None when it is not a usable verifier (zero mod N, or
    /// longer than N: device verifiers come from clients).
    /// Whether the verifier can serve a proof: a salt of at most 64 bytes and a nonzero number
    /// below N (clients make device verifiers; a bad one is refused, never stored).
    pub fn usable(&self) -> bool {
        self.salt.len() <= 64 && self.element().is_some()
    }

    fn element(&self) -> Option<Elem> {
        let v = uint(&self.verifier)?.rem_vartime(&GROUP.n);
        if v.is_zero_vartime() {
            return None;
        }
        Some(Elem::new(&v, &GROUP.params))
    }
}

/// A verifier for `user` with a fresh random 16-byte salt. For pool users `realm` is the pool
/// ID's part after '_' and `user` is USER_ID_FOR_SRP; for devices they are the device group key
/// and the device key.
pub fn make_verifier(realm: &str, user: &str, password: &str) -> Verifier {
    let mut salt = [0u8; SALT_BYTES];
    random_bytes(&mut salt);
    verifier_with_salt(realm, user, password, &salt)
}

/// The verifier for `user` under a given salt.
pub fn verifier_with_salt(realm: &str, user: &str, password: &str, salt: &[u8]) -> Verifier {
    let x = private_key(realm, user, password, salt);
    let v = g_pow(&x).retrieve();
    Verifier {
        salt: salt.to_vec(),
        verifier: strip(v.to_be_bytes().as_ref()).to_vec(),
    }
}

/// A stable, real-looking verifier for a name that matches no user, so the SALT answered for an
/// unknown name does not change between attempts and cannot be told from a real one (Cognito's
/// user-existence-error prevention). Salt and verifier come from HMAC(seed, realm, user); the
/// verifier is the square of a derived number, a quadratic residue like every g^x, made with
/// one multiplication: about the cost of opening a real user's sealed verifier, so the time of
/// the answer does not tell the two apart either.
pub fn unknown_user_verifier(seed: &[u8], realm: &str, user: &str) -> Verifier {
    let key = hmac::Key::new(hmac::HMAC_SHA256, seed);
    let derive = |label: &str, block: u8| {
        let mut ctx = hmac::Context::with_key(&key);
        for part in [label, realm, user] {
            ctx.update(part.as_bytes());
            ctx.update(&[0]);
        }
        ctx.update(&[block]);
        ctx.sign()
    };
    let salt = derive("srp unknown user salt", 0);
    let mut root = Vec::with_capacity(N_BYTES);
    for block in 0..(N_BYTES / 32) as u8 {
        root.extend_from_slice(derive("srp unknown user verifier", block).as_ref());
    }
    let group = &*GROUP;
    let r = Elem::new(&U3072::from_be_slice(&root), &group.params);
    let v = r.square().retrieve();
    Verifier {
        salt: salt.as_ref()[..SALT_BYTES].to_vec(),
        verifier: strip(v.to_be_bytes().as_ref()).to_vec(),
    }
}

/// The server's secret ephemeral b, kept between the challenge and the answer.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerSecret([u8; 32]);

impl ServerSecret {
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0
    }
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        Some(Self(b.try_into().ok()?))
    }
}

impl std::fmt::Debug for ServerSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerSecret(…)")
    }
}

/// A fresh secret b (256 random bits) and B = k·v + g^b mod N as the SRP_B hex. None when the
/// verifier is unusable (see [`Verifier`]); that is a storage error, never a client's.
pub fn server_ephemeral(v: &Verifier) -> Option<(ServerSecret, String)> {
    let ve = v.element()?;
    loop {
        let mut b = [0u8; 32];
        random_bytes(&mut b);
        // RFC 5054 §2.5.3: B % N must not be zero; draw again in that (2^-3072) case.
        if let Some(big_b) = public_b(&ve, &b) {
            return Some((ServerSecret(b), big_b));
        }
    }
}

/// B for a given b (test vectors).
pub fn server_ephemeral_with(v: &Verifier, b: [u8; 32]) -> Option<String> {
    public_b(&v.element()?, &b)
}

fn public_b(ve: &Elem, b: &[u8; 32]) -> Option<String> {
    let g = &*GROUP;
    let big_b = g.k.mul(ve).add(&g_pow(&U256::from_be_slice(b))).retrieve();
    if big_b.is_zero_vartime() {
        return None;
    }
    Some(minimal_hex(big_b.to_be_bytes().as_ref()))
}

/// Whether a client's `SRP_A` (hex) can take part in a proof: a number below 2^3072 that is
/// not zero mod N (RFC 5054 §2.5.4). Checked before anything is stored for it.
pub fn client_public_ok(a_hex: &str) -> bool {
    parse_hex(a_hex)
        .and_then(|b| uint(&b))
        .is_some_and(|a| !a.rem_vartime(&GROUP.n).is_zero_vartime())
}

/// u = H(PAD(A) | PAD(B)), over the numbers as the two sides wrote them; None for u = 0
/// (RFC 5054 §2.5.3: the proof must not go on).
fn scrambler(a: &U3072, b: &U3072) -> Option<U256> {
    let mut input = pad(a.to_be_bytes().as_ref());
    input.extend(pad(b.to_be_bytes().as_ref()));
    let u = U256::from_be_slice(&sha256(&input));
    (!u.is_zero_vartime()).then_some(u)
}

/// The 16-byte key both sides derive, from the client's SRP_A and the SRP_B we sent. None for
/// A that is not hex or is zero mod N (RFC 5054 §2.5.4), for u = 0, or an unusable verifier.
pub fn session_key(v: &Verifier, b: &ServerSecret, a_hex: &str, b_hex: &str) -> Option<[u8; 16]> {
    let g = &*GROUP;
    let a = uint(&parse_hex(a_hex)?)?;
    let big_b = uint(&parse_hex(b_hex)?)?;
    let a_mod = a.rem_vartime(&g.n);
    if a_mod.is_zero_vartime() {
        return None;
    }
    let u = scrambler(&a, &big_b)?;
    let ve = v.element()?;
    // S = (A · v^u)^b; u is public, b is not.
    let base = Elem::new(&a_mod, &g.params).mul(&ve.pow_vartime(&u));
    let s = base.pow(&U256::from_be_slice(&b.0)).retrieve();
    Some(derive_key(&u, &s))
}

/// Cognito's key: HKDF-SHA256 (RFC 5869) with salt PAD(u), input PAD(S), info "Caldera Derived
/// Key", 16 bytes: one expand block, so PRK = HMAC(PAD(u), PAD(S)), OKM = HMAC(PRK, info|1).
fn derive_key(u: &U256, s: &U3072) -> [u8; 16] {
    let salt = hmac::Key::new(hmac::HMAC_SHA256, &pad(u.to_be_bytes().as_ref()));
    let prk = hmac::sign(&salt, &pad(s.to_be_bytes().as_ref()));
    let prk = hmac::Key::new(hmac::HMAC_SHA256, prk.as_ref());
    let mut ctx = hmac::Context::with_key(&prk);
    ctx.update(KEY_INFO);
    ctx.update(&[1]);
    let mut key = [0u8; 16];
    key.copy_from_slice(&ctx.sign().as_ref()[..16]);
    key
}

/// Checks PASSWORD_CLAIM_SIGNATURE = base64(HMAC-SHA256(key, realm | user | SECRET_BLOCK bytes |
/// TIMESTAMP)) in constant time. `realm`/`user` as for [`make_verifier`].
pub fn claim_matches(
    key: &[u8; 16],
    realm: &str,
    user: &str,
    secret_block_b64: &str,
    timestamp: &str,
    signature_b64: &str,
) -> bool {
    let (Ok(block), Ok(sig)) = (
        STANDARD.decode(secret_block_b64),
        STANDARD.decode(signature_b64),
    ) else {
        return false;
    };
    let msg = claim_message(realm, user, &block, timestamp);
    hmac::verify(&hmac::Key::new(hmac::HMAC_SHA256, key), &msg, &sig).is_ok()
}

fn claim_message(realm: &str, user: &str, block: &[u8], timestamp: &str) -> Vec<u8> {
    [
        realm.as_bytes(),
        user.as_bytes(),
        block,
        timestamp.as_bytes(),
    ]
    .concat()
}

/// x = H(PAD(salt) | H(realm | user | ":" | password)), the salt read as a number first as
/// clients do (so leading zero bytes drop out).
fn private_key(realm: &str, user: &str, password: &str, salt: &[u8]) -> U256 {
    let inner = sha256(format!("{realm}{user}:{password}").as_bytes());
    let mut xin = pad(salt);
    xin.extend_from_slice(&inner);
    U256::from_be_slice(&sha256(&xin))
}

/// Leading zero bytes removed.
fn strip(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    &b[start..]
}

/// Cognito's padHex as bytes: the minimal big-endian magnitude, with one 0x00 in front when the
/// top bit is set so the number reads as positive; zero is one 0x00.
fn pad(b: &[u8]) -> Vec<u8> {
    let m = strip(b);
    let mut out = Vec::with_capacity(m.len() + 1);
    if m.first().is_none_or(|&f| f & 0x80 != 0) {
        out.push(0);
    }
    out.extend_from_slice(m);
    out
}

/// A big-endian number below 2^3072.
fn uint(b: &[u8]) -> Option<U3072> {
    let m = strip(b);
    if m.len() > N_BYTES {
        return None;
    }
    let mut full = [0u8; N_BYTES];
    full[N_BYTES - m.len()..].copy_from_slice(m);
    Some(U3072::from_be_slice(&full))
}

/// Hex as clients write it: any case, odd length allowed. Bounded so junk costs nothing.
fn parse_hex(s: &str) -> Option<Vec<u8>> {
    let s = s.as_bytes();
    if s.is_empty() || s.len() > 4 * N_BYTES {
        return None;
    }
    let nibble = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(s.len().div_ceil(2));
    let (head, rest) = s.split_at(s.len() % 2);
    if let Some(&c) = head.first() {
        out.push(nibble(c)?);
    }
    for pair in rest.chunks_exact(2) {
        out.push(nibble(pair[0])? << 4 | nibble(pair[1])?);
    }
    Some(out)
}

/// A big-endian number as minimal lower-case hex ("0" for zero), the way clients print numbers.
fn minimal_hex(b: &[u8]) -> String {
    let h = hex(strip(b));
    match h.strip_prefix('0') {
        Some(rest) => rest.to_owned(),
        None if h.is_empty() => "0".to_owned(),
        None => h,
    }
}

/// The client half of SRP as Cognito's SDKs run it (RFC 5054 §2.6 with Cognito's hashing and
/// key derivation), for tests and benchmarks: the ephemeral A, the session key from the
/// PASSWORD_VERIFIER challenge, and the PASSWORD_CLAIM_SIGNATURE. Not used by the server.
pub mod client {
    use super::{
        Elem, GROUP, STANDARD, U256, claim_message, derive_key, g_pow, hmac, minimal_hex,
        parse_hex, private_key, random_bytes, scrambler, uint,
    };
    use base64::Engine as _;

    /// The client's secret ephemeral a (256 random bits).
    #[derive(Clone)]
    pub struct ClientSecret(U256);

    impl std::fmt::Debug for ClientSecret {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("ClientSecret(…)")
        }
    }

    /// A fresh secret a and A = g^a mod N as the SRP_A hex (minimal, lower case).
    pub fn ephemeral() -> (ClientSecret, String) {
        let mut a = [0u8; 32];
        random_bytes(&mut a);
        let a = U256::from_be_slice(&a);
        let big_a = g_pow(&a).retrieve();
        (ClientSecret(a), minimal_hex(big_a.to_be_bytes().as_ref()))
    }

    /// The 16-byte key from the challenge: SALT and SRP_B as the server sent them, A as
    /// [`ephemeral`] made it. `realm` is the pool ID's part after '_' and `user` is
    /// USER_ID_FOR_SRP. None for B that is not hex or is zero mod N, or for u = 0.
    pub fn session_key(
        a: &ClientSecret,
        a_hex: &str,
        realm: &str,
        user: &str,
        password: &str,
        salt_hex: &str,
        srp_b_hex: &str,
    ) -> Option<[u8; 16]> {
        let g = &*GROUP;
        let big_a = uint(&parse_hex(a_hex)?)?;
        let big_b = uint(&parse_hex(srp_b_hex)?)?;
        let b_mod = big_b.rem_vartime(&g.n);
        if b_mod.is_zero_vartime() {
            return None;
        }
        let u = scrambler(&big_a, &big_b)?;
        let x = private_key(realm, user, password, &parse_hex(salt_hex)?);
        // S = (B - k·g^x)^(a + u·x) = base^a · (base^u)^x
        let base = Elem::new(&b_mod, &g.params).sub(&g.k.mul(&g_pow(&x)));
        let s = base.pow(&a.0).mul(&base.pow_vartime(&u).pow(&x)).retrieve();
        Some(derive_key(&u, &s))
    }

    /// PASSWORD_CLAIM_SIGNATURE: base64(HMAC-SHA256(key, realm | user | SECRET_BLOCK bytes |
    /// TIMESTAMP)). None when SECRET_BLOCK is not base64.
    pub fn claim_signature(
        key: &[u8; 16],
        realm: &str,
        user: &str,
        secret_block_b64: &str,
        timestamp: &str,
    ) -> Option<String> {
        let block = STANDARD.decode(secret_block_b64).ok()?;
        let sig = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, key),
            &claim_message(realm, user, &block, timestamp),
        );
        Some(STANDARD.encode(sig.as_ref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Interop vectors, computed once with the client code of pycognito 2024.5.1 and warrant-lite
    // 1.0.4 (both agree on both): x, u, the HKDF key and the claim signature come from the
    // libraries; v and B = k·v + g^b from textbook modular arithmetic. Client secret
    // a = 0xa5 repeated 128 times, server b = 0x5c repeated 32 times.
    const POOL_REALM: &str = "Xy7Tq9"; // pool "eu-west-1_Xy7Tq9"
    const USER: &str = "3f1c2a9e-7b44-4d0a-9c1e-5a2b8e6d0f11";
    const PASSWORD: &str = "Correct horse 9!";
    const SECRET_BLOCK: &str = "BwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2";
    const TIMESTAMP: &str = "Sat Dec 5 20:13:46 UTC 2026";
    const SERVER_B: [u8; 32] = [0x5c; 32];
    /// High bit set in the first byte: PAD adds a 0x00.
    const V1_SALT: &str = "c3a07e11d2f94b5a8e6c0d1f2a3b4c5d";
    /// A leading zero byte, which clients never see: SALT goes out as "3b9f…".
    const V2_SALT: &str = "003b9f0e7d6c5b4a39281706f5e4d3c2";
    const V1_A: &str = concat!(
        "9ee17a7fb57730cbafb84004d48fc20adf56de0d6798b4d41b21e582b8e74c744b94fd1d2c190f2e4f2630d6db7a81ff",
        "b1260392b3b50a4a12f8fa8f793b945639afdc53a6b399a8071376e90cdf452f78edf94e156fcf7cc5c886e99bf37ef5",
        "7024f36a4fb6f0f78c89d84b39f2fd649ef98ce710950c2ff0d0cb0750af1b1f3401e2b8b6d74bf8d4fe8157d75390a4",
        "20596160b761aa3519517436ccd94b05c79fb091f70890da01397b7aaafba2cb3251c154aa68ae621a7530252e898a49",
        "17058ef1ed4050a8349800623cbfc8b0739841be5de465ed36369751ffed82a7c65282accfcd6913b917756a55d26306",
        "35edba8c1a3bcd57fb5eb98ad3b61ef5ced0063e2dc7c471884c7b1889f88a0ecf8cffc5270038ca8332f5e0c1c36597",
        "8f7fe9c0516047364bed1e86a9cb8531eae0f1be33693f30fabbebb1bd50fbf2853cb5898502531f258cc94819ad8eca",
        "2cfabe995e627b79a484a727c5adfdff44a7373d383ac8fea0afd79c81048554281441655235eab4f1203e3c50d20b88",
    );
    const V1_V: &str = concat!(
        "b5ef252cd9997d987ac96e3d3ad172f5804f0e240a7d3b729c56f053b838636143f537246feab8edd43ccfd119ffc585",
        "a76c6ea8298a22916b039e75728e8a08158467d0a6e481ebf17dc294dffb7a6dcaa0fdb41adf3a3250bc6bc8a01880d4",
        "9a2b4b08b6063b79f2d0c5b8776793bf82257ad7791f316b04d1ea49de9f54e4391366e80dabe99f4b00ff90475ae977",
        "e65b2ef2248ad40422ebdb2553fc5824ccc9807f6bc582e6ddfa53cd97a7a120a07240bf3f7c975b77764b289b6c0ed2",
        "ca3bb2b354f0f93126503ffa94a741fa559038587ef58c4c5b8d5e386fc9ac225f93d775eca94b8b6d374723b2c99e31",
        "cf34c7186a1654b4e4d8a3aa11439319d8e84f473340b2d48b7cc3fcef391c61633e8469b5cd4c256d0f90017079b913",
        "25b4a2242a91f0d42f660c0a6952d02946f8bb5607d048180a5711400e174387f84226af35d9202142fdb0a403f0133e",
        "054d2f85a488243249f3005463004eaff05958c18e2fb2ceba713d47b707049eb84f2cc4255d51bcda77de325cf1ed0c",
    );
    const V1_B: &str = concat!(
        "d1cb782c2a11d344ca716440f2b0c103d7d607953d85d25504f2b022ded3765057b8861c61edfda84e74e91253486e9b",
        "0699b6ac4390f6e191c2839837f38f1621b24f4a6c628165129dd9a1d182949118bacf98b953642c5bf14fc0b43fd407",
        "6825c1e282debc3ecfacdaa0ae14d884436638a66a828d94371483dfb8ce28538c81cc1507e331037373248102ff2428",
        "2a8eace860c426cb05f371127ffc0a80edcfb09b815ba506b4644d2d4e21e142299bdc5e73555918bf282ef2c9110be9",
        "cc319251e90103a2e49263bece9f46132607b0b44f91a97b7d02a9e381c34a30cbfd674190251621e67978123fc5fb62",
        "a46071a62ea21ea3b6005a3eb443233568f75b5d9b42620bc2f87a46037e45842ece579de72cfcf18cda55371a6b8f52",
        "4f59ecd77908ba1f3524a7dc370d15e1087ea6a281d57bb7a0acdac722bdfc6188038e8bc9d6e21d16211c6e5f500b15",
        "116a5fd51bcc89df606bc6ba91b60a0dfb6fa08f73e92730e6d7e0299fbda92cd856c8fc5da9d3b7fea578be9c391ba",
    );
    const V1_SIG: &str = "U9XFWg7WmJxZLy3ckHt27uHLQzvKxCl+KQNJ+K9Ezq0=";
    /// The same client secret a, so the same A.
    const V2_A: &str = V1_A;
    const V2_V: &str = concat!(
        "143532f3e45121967766be64115964394ee777e5c9923094df1b5a92d787d75a6eefcb877e69977687acefbc695a24cf",
        "393dd33d033aa9f440169db099f2eb09aa6046562b23a07bbd60ec840d8d173ae35eba92f4f588d8199f6881fed4e0cd",
        "e7993664c73099b568d22123241143d562aa85fd92ae63eee23bc7912ce8b0df79cec6f1cdda516313defbe868e38310",
        "e24b2f26b8a37011b5d495c103e4a71dcdcae7f92aaa5fa6c9fb92c5dfeea758951446b23c8cb3a68bb38be019f24381",
        "4bde4b5f783bed858d6715c8e363bd9e338f6c8f079f3fe5d8b256f277d9739a45b2c7070addeda6d52aa4a97f385187",
        "49cf21d86daea5f7495458ec5a61ce5658033dd89f843fe543959aed79b5dd6ee8761320acd68fb40e5b8a20c300b703",
        "e3586eec9d40cb5742736048cdccd7278195240e88f6991aaea11e68e1bce52fd1f1b5ff3255351da3f7fa4b030392c0",
        "303f36e26e125b7d131df50e90debb0daa395c76114c86d54af93500293625a1001994697fb5198aa7953ddd5db906cd",
    );
    const V2_B: &str = concat!(
        "e11e44ecc3c321550c5d45bf82d8cd6a6527718e4bf3eba8aaf6a2a82da1a08d5ee001b51713cb8d81c9128a16752109",
        "46052b21ba26b0200c959ba5fdea81e0b1f2b1931146d20920a7fbf6a1521b1570ef6303cc71538e9620d7f9d43e8c71",
        "c461dc254a5c88acb39ad567495647755d08f2ae0582f88207b9215f34e9f1f510509b17d351895dc411b9c3914f5ecf",
        "df524281c04374309fd911605fc857e6f1c185c544358d097216af8360c45423200a8c683d7bf4ea88d11387181f1df3",
        "7b3827aecce99af78223252babb84656c74657d6a5e46d0d990e122bb2842dd2160a95981ae48bef5d3bb73adda85061",
        "8aa14001bd11fc2b8693ae6b2ec7e88ad983708e42e0f6c0e3a6fc6c86ad6666531a37f08a23b47ea2e01aa5af9dc558",
        "5b34a6c0c42eeefb8ee22f9ca1a0a3d21f21b2ba4d533969963299328674d01aa582deab85850f948f9f4a123f2058bf",
        "feaba78eaecce539a69e10ae639865007d47500af45dbab6e0af22573da3ee203e6e1bfe7b9dcc03f1da3a3f4235a545",
    );
    const V2_SIG: &str = "TqtFgINY4BWg8GfDmwYkhfHRULz9VrRGrerbLqRJbq8=";

    fn check_vector(salt_hex: &str, a: &str, v: &str, big_b: &str, sig: &str) {
        let salt = parse_hex(salt_hex).unwrap();
        let ver = verifier_with_salt(POOL_REALM, USER, PASSWORD, &salt);
        assert_eq!(minimal_hex(&ver.verifier), v);
        assert_eq!(ver.salt_hex(), minimal_hex(&salt));
        assert_eq!(
            server_ephemeral_with(&ver, SERVER_B).as_deref(),
            Some(big_b)
        );

        let key = session_key(&ver, &ServerSecret(SERVER_B), a, big_b).unwrap();
        let ok = |block: &str, ts: &str, sig: &str| {
            claim_matches(&key, POOL_REALM, USER, block, ts, sig)
        };
        assert!(ok(SECRET_BLOCK, TIMESTAMP, sig));

        let mut raw = STANDARD.decode(sig).unwrap();
        raw[7] ^= 1;
        assert!(!ok(SECRET_BLOCK, TIMESTAMP, &STANDARD.encode(&raw)));
        assert!(!ok(SECRET_BLOCK, "Sat Dec 5 20:13:47 UTC 2026", sig));
        let mut block = STANDARD.decode(SECRET_BLOCK).unwrap();
        block[0] ^= 1;
        assert!(!ok(&STANDARD.encode(&block), TIMESTAMP, sig));
        assert!(!ok(SECRET_BLOCK, TIMESTAMP, "not base64!"));
        assert!(!claim_matches(
            &key,
            POOL_REALM,
            "someone-else",
            SECRET_BLOCK,
            TIMESTAMP,
            sig
        ));
        // A wrong password gives another verifier, so another key.
        let wrong = verifier_with_salt(POOL_REALM, USER, "Correct horse 9?", &salt);
        let key = session_key(&wrong, &ServerSecret(SERVER_B), a, big_b).unwrap();
        assert!(!claim_matches(
            &key,
            POOL_REALM,
            USER,
            SECRET_BLOCK,
            TIMESTAMP,
            sig
        ));
    }

    #[test]
    fn matches_client_libraries_with_high_bit_salt() {
        check_vector(V1_SALT, V1_A, V1_V, V1_B, V1_SIG);
    }

    #[test]
    fn matches_client_libraries_with_leading_zero_salt() {
        check_vector(V2_SALT, V2_A, V2_V, V2_B, V2_SIG);
        let salt = parse_hex(V2_SALT).unwrap();
        assert_eq!(salt.len(), 16);
        let ver = verifier_with_salt(POOL_REALM, USER, PASSWORD, &salt);
        assert_eq!(ver.salt_hex(), "3b9f0e7d6c5b4a39281706f5e4d3c2");
    }

    #[test]
    fn k_is_the_hash_of_padded_n_and_g() {
        let mut kin = vec![0u8];
        kin.extend(parse_hex(N_HEX).unwrap());
        kin.push(2);
        let k = U256::from_be_slice(&sha256(&kin)).resize::<LIMBS>();
        assert_eq!(GROUP.k.retrieve(), k);
    }

    #[test]
    fn round_trip_with_a_test_client() {
        for (realm, user) in [
            ("AbC123", "alice-id"),
            ("us-east-1_group", "us-east-1_devicekey"),
        ] {
            let ver = make_verifier(realm, user, "pässword");
            let stored = Verifier::from_bytes(&ver.to_bytes()).unwrap();
            assert_eq!(stored, ver);
            let (b, big_b) = server_ephemeral(&stored).unwrap();
            let b = ServerSecret::from_bytes(&b.to_bytes()).unwrap();
            let (a, a_hex) = client::ephemeral();
            let client_key = |pw: &str| {
                client::session_key(&a, &a_hex, realm, user, pw, &ver.salt_hex(), &big_b).unwrap()
            };
            let client = client_key("pässword");
            let server = session_key(&stored, &b, &a_hex, &big_b).unwrap();
            assert_eq!(client, server);
            // Upper-case hex with leading zeros reads as the same number.
            let upper = format!("000{}", a_hex.to_uppercase());
            assert_eq!(session_key(&stored, &b, &upper, &big_b), Some(server));

            let ts = "Mon Jan 12 01:02:03 UTC 2026";
            let block = STANDARD.encode(b"block");
            let sig = client::claim_signature(&client, realm, user, &block, ts).unwrap();
            assert!(claim_matches(&server, realm, user, &block, ts, &sig));
            assert_eq!(client::claim_signature(&client, realm, user, "!", ts), None);

            assert_ne!(client_key("password"), server);
        }
    }

    /// The client half against the interop vector's B: it signs what the libraries signed.
    #[test]
    fn client_agrees_with_the_vectors_server() {
        let salt = parse_hex(V1_SALT).unwrap();
        let ver = verifier_with_salt(POOL_REALM, USER, PASSWORD, &salt);
        let (a, a_hex) = client::ephemeral();
        let big_b = server_ephemeral_with(&ver, SERVER_B).unwrap();
        let key = client::session_key(
            &a,
            &a_hex,
            POOL_REALM,
            USER,
            PASSWORD,
            &ver.salt_hex(),
            &big_b,
        )
        .unwrap();
        assert_eq!(
            session_key(&ver, &ServerSecret(SERVER_B), &a_hex, &big_b),
            Some(key)
        );
        assert_eq!(
            client::session_key(&a, &a_hex, POOL_REALM, USER, PASSWORD, "01", "0"),
            None
        );
    }

    #[test]
    fn refuses_bad_a() {
        let ver = verifier_with_salt("r", "u", "p", &[1; 16]);
        let b = ServerSecret([7; 32]);
        let big_b = server_ephemeral_with(&ver, b.0).unwrap();
        let n = parse_hex(N_HEX).unwrap();
        // 2N needs 3073 bits: double the bytes by hand.
        let mut two_n = vec![0u8; n.len() + 1];
        for (i, &byte) in n.iter().enumerate().rev() {
            two_n[i + 1] |= byte << 1;
            two_n[i] = byte >> 7;
        }
        let two_n = minimal_hex(&two_n);
        for a in [
            "0",
            "000",
            N_HEX,
            &hex(&n),
            &two_n,
            "",
            "xyz",
            "12 34",
            "0x1234",
            &"f".repeat(769),
        ] {
            assert_eq!(session_key(&ver, &b, a, &big_b), None, "A = {a:.20}");
        }
        assert!(session_key(&ver, &b, "2", &big_b).is_some());
        assert_eq!(session_key(&ver, &b, "2", "zz"), None);
        // An unusable verifier (zero, N, longer than N) makes no B and no key.
        for bad in [vec![0u8], n.clone(), vec![1; N_BYTES + 1]] {
            let v = Verifier {
                salt: vec![1; 16],
                verifier: bad,
            };
            assert!(server_ephemeral(&v).is_none());
            assert_eq!(session_key(&v, &b, "2", &big_b), None);
        }
    }

    #[test]
    fn unknown_user_verifier_is_stable_per_name() {
        let a = unknown_user_verifier(b"seed", "AbC123", "nobody");
        assert_eq!(a, unknown_user_verifier(b"seed", "AbC123", "nobody"));
        assert_ne!(
            a.salt,
            unknown_user_verifier(b"seed", "AbC123", "nobody2").salt
        );
        assert_ne!(
            a.salt,
            unknown_user_verifier(b"other", "AbC123", "nobody").salt
        );
        assert_eq!(a.salt.len(), SALT_BYTES);
        assert!(server_ephemeral(&a).is_some());
    }

    #[test]
    fn pad_and_hex_follow_cognito() {
        assert_eq!(pad(&[0, 0, 0x7f]), [0x7f]);
        assert_eq!(pad(&[0, 0x80]), [0, 0x80]);
        assert_eq!(pad(&[]), [0]);
        assert_eq!(minimal_hex(&[0, 0x0a, 0xbc]), "abc");
        assert_eq!(minimal_hex(&[0]), "0");
        assert_eq!(parse_hex("abc"), Some(vec![0x0a, 0xbc]));
        assert!(Verifier::from_bytes(&[0, 16, 1, 2]).is_none());
        assert!(Verifier::from_bytes(&[0]).is_none());
    }
}
