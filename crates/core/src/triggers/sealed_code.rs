//! The code (or temporary password) a `CustomEmailSender`/`CustomSMSSender` trigger receives,
//! sealed as an AWS Encryption SDK message under the operator's AES key, so that the Lambda
//! opens it with the ESDK and a raw AES keyring of that key, namespace and name.
//!
//! The message is format version 2 with algorithm suite `0x0478` (AES-256-GCM, HKDF-SHA512,
//! key commitment, no signature), the suite a `REQUIRE_ENCRYPT_ALLOW_DECRYPT` (or stricter
//! decrypt) commitment policy accepts. Layout, per the ESDK specification
//! (`data-format/message-header.md`, `data-format/message-body.md`,
//! `framework/raw-aes-keyring.md`, `framework/algorithm-suites.md`):
//!
//! ```text
//! header body: 0x02 | suite u16 | message id [32]
//!              | AAD: len u16 (0 when the context is empty) [| count u16 | (klen u16 k vlen u16 v)* sorted by key bytes]
//!              | EDK count u16 = 1 | len u16 namespace | len u16 (name | 128 u32 | 12 u32 | wrap IV [12]) | len u16 (wrapped key [32] | tag [16])
//!              | content type 0x02 (framed) | frame length u32 = 4096 | commit key [32]
//! header auth: tag [16] of AES-GCM(derived key, IV 0^12, AAD = header body, empty plaintext)
//! body:        frames of 4096 bytes: seq u32 | IV [12] | content | tag [16], then the final
//!              frame 0xFFFFFFFF | seq u32 | IV [12] | len u32 | content | tag [16];
//!              frame IV = 0^8 | seq u32, frame AAD = message id | content string | seq u32 | len u64
//! ```
//!
//! Keys: `prk = HKDF-SHA512-Extract(salt = message id, data key)`, derived key =
//! `Expand(prk, suite u16 | "DERIVEKEY", 32)`, commit key = `Expand(prk, "COMMITKEY", 32)`.
//! The data key is wrapped with AES-256-GCM under the operator's key, AAD = the encryption
//! context's key-value pairs (the header AAD without its length; empty for an empty context).

use std::collections::BTreeMap;
use std::fmt;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::hkdf::{HKDF_SHA512, KeyType, Salt};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::crypto::random_bytes;

/// The algorithm suite: AES-256-GCM, HKDF-SHA512, key commitment, no signature.
const SUITE_ID: u16 = 0x0478;
/// Message format version 2, the one of committing suites.
const FORMAT_VERSION: u8 = 0x02;
/// Content type "framed".
const FRAMED: u8 = 0x02;
/// Plaintext bytes per frame (the ESDK's default).
const FRAME_LEN: u32 = 4096;
/// Sequence number end: marks the final frame.
const FINAL_FRAME_MARKER: u32 = 0xFFFF_FFFF;
const KEY_LEN: usize = 32;
const MESSAGE_ID_LEN: usize = 32;
const IV_LEN: usize = 12;
const TAG_LEN: usize = 16;

const DERIVE_LABEL: &[u8] = b"DERIVEKEY";
const COMMIT_LABEL: &[u8] = b"COMMITKEY";
const FRAME_AAD: &[u8] = b"AWSKMSEncryptionClient Frame";
const FINAL_FRAME_AAD: &[u8] = b"AWSKMSEncryptionClient Final Frame";

/// The operator's key for codes sent to custom sender triggers.
pub struct CodeKey {
    key: [u8; KEY_LEN],
    namespace: String,
    name: String,
}

impl CodeKey {
    /// A 256-bit AES key and the raw AES keyring's key namespace and key name the Lambda's
    /// keyring is built with (they travel in the message, in the clear, to pick the key).
    pub fn new(key: [u8; 32], namespace: &str, name: &str) -> Self {
        Self {
            key,
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        }
    }
}

impl fmt::Debug for CodeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CodeKey")
            .field("namespace", &self.namespace)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The code encrypted as an ESDK message (base64 of the message bytes), decryptable by the
/// ESDK with a raw AES keyring of the same key, namespace and name. `context` is the ESDK
/// encryption context (e.g. {"userpool-id": ..}); may be empty. A key given twice keeps its
/// last value. Keys must not start with `aws-crypto-` (reserved by the ESDK).
///
/// # Panics
/// If the context (or the namespace, or the key name) does not fit the format's 16-bit
/// length fields (64 KiB).
pub fn seal_code(key: &CodeKey, code: &str, context: &[(&str, &str)]) -> String {
    let mut data_key = [0u8; KEY_LEN];
    let mut message_id = [0u8; MESSAGE_ID_LEN];
    let mut wrap_iv = [0u8; IV_LEN];
    random_bytes(&mut data_key);
    random_bytes(&mut message_id);
    random_bytes(&mut wrap_iv);
    let message = seal(
        key,
        code.as_bytes(),
        context,
        &Material {
            data_key,
            message_id,
            wrap_iv,
        },
    );
    STANDARD.encode(message)
}

/// The random parts of one message (frame IVs are derived from the sequence number).
struct Material {
    data_key: [u8; KEY_LEN],
    message_id: [u8; MESSAGE_ID_LEN],
    wrap_iv: [u8; IV_LEN],
}

/// The message bytes.
fn seal(key: &CodeKey, plaintext: &[u8], context: &[(&str, &str)], m: &Material) -> Vec<u8> {
    let pairs = serialize_context(context);
    let (derived_key, commit_key) = derive_keys(&m.data_key, &m.message_id);

    // The encrypted data key: the data key wrapped under the operator's key.
    let mut wrapped = m.data_key.to_vec();
    let wrap_tag = gcm_seal(&key.key, &m.wrap_iv, &pairs, &mut wrapped);
    wrapped.extend_from_slice(&wrap_tag);
    let mut provider_info = key.name.as_bytes().to_vec();
    put_u32(&mut provider_info, (TAG_LEN * 8) as u32);
    put_u32(&mut provider_info, IV_LEN as u32);
    provider_info.extend_from_slice(&m.wrap_iv);

    let mut out = Vec::with_capacity(256 + pairs.len() + plaintext.len());
    out.push(FORMAT_VERSION);
    put_u16(&mut out, SUITE_ID);
    out.extend_from_slice(&m.message_id);
    put_field(&mut out, &pairs);
    put_u16(&mut out, 1);
    put_field(&mut out, key.namespace.as_bytes());
    put_field(&mut out, &provider_info);
    put_field(&mut out, &wrapped);
    out.push(FRAMED);
    put_u32(&mut out, FRAME_LEN);
    out.extend_from_slice(&commit_key);

    let header_tag = gcm_seal(&derived_key, &[0u8; IV_LEN], &out, &mut []);
    out.extend_from_slice(&header_tag);

    // Every chunk but the last is a regular frame; the last (possibly full, or empty for an
    // empty plaintext) is the final frame.
    let chunks: Vec<&[u8]> = if plaintext.is_empty() {
        vec![&[][..]]
    } else {
        plaintext.chunks(FRAME_LEN as usize).collect()
    };
    let last = chunks.len() - 1;
    for (i, chunk) in chunks.into_iter().enumerate() {
        let seq = u32::try_from(i + 1).expect("too many frames");
        let is_final = i == last;
        let iv = frame_iv(seq);
        let aad = frame_aad(&m.message_id, is_final, seq, chunk.len());
        let mut content = chunk.to_vec();
        let tag = gcm_seal(&derived_key, &iv, &aad, &mut content);
        if is_final {
            put_u32(&mut out, FINAL_FRAME_MARKER);
        }
        put_u32(&mut out, seq);
        out.extend_from_slice(&iv);
        if is_final {
            put_u32(&mut out, chunk.len() as u32);
        }
        out.extend_from_slice(&content);
        out.extend_from_slice(&tag);
    }
    out
}

/// The encryption context's key-value pairs as the header AAD serializes them, without the
/// leading length: count, then each pair sorted by the key's UTF-8 bytes. Empty for an empty
/// context (the count is then omitted too).
fn serialize_context(context: &[(&str, &str)]) -> Vec<u8> {
    let sorted: BTreeMap<&str, &str> = context.iter().copied().collect();
    let mut out = Vec::new();
    if sorted.is_empty() {
        return out;
    }
    put_u16(
        &mut out,
        u16::try_from(sorted.len()).expect("encryption context too large"),
    );
    for (k, v) in sorted {
        put_field(&mut out, k.as_bytes());
        put_field(&mut out, v.as_bytes());
    }
    out
}

/// The data encryption key and the commit key, from the data key and the message id.
fn derive_keys(data_key: &[u8], message_id: &[u8]) -> ([u8; KEY_LEN], [u8; KEY_LEN]) {
    let prk = Salt::new(HKDF_SHA512, message_id).extract(data_key);
    let suite = SUITE_ID.to_be_bytes();
    let mut derived = [0u8; KEY_LEN];
    prk.expand(&[&suite, DERIVE_LABEL], Len(KEY_LEN))
        .and_then(|okm| okm.fill(&mut derived))
        .expect("HKDF-SHA512 expands to 32 bytes");
    let mut commit = [0u8; KEY_LEN];
    prk.expand(&[COMMIT_LABEL], Len(KEY_LEN))
        .and_then(|okm| okm.fill(&mut commit))
        .expect("HKDF-SHA512 expands to 32 bytes");
    (derived, commit)
}

/// An HKDF output length.
struct Len(usize);

impl KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// A frame's IV: its sequence number, big-endian, left-padded with zeros.
fn frame_iv(seq: u32) -> [u8; IV_LEN] {
    let mut iv = [0u8; IV_LEN];
    iv[IV_LEN - 4..].copy_from_slice(&seq.to_be_bytes());
    iv
}

/// A frame's AAD: message id, body AAD content string, sequence number, content length.
fn frame_aad(message_id: &[u8], is_final: bool, seq: u32, len: usize) -> Vec<u8> {
    let label = if is_final { FINAL_FRAME_AAD } else { FRAME_AAD };
    let mut aad = Vec::with_capacity(message_id.len() + label.len() + 12);
    aad.extend_from_slice(message_id);
    aad.extend_from_slice(label);
    put_u32(&mut aad, seq);
    aad.extend_from_slice(&(len as u64).to_be_bytes());
    aad
}

/// AES-256-GCM in place; returns the tag.
fn gcm_seal(key: &[u8; KEY_LEN], iv: &[u8; IV_LEN], aad: &[u8], data: &mut [u8]) -> [u8; TAG_LEN] {
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).expect("a 256-bit key"));
    let tag = key
        .seal_in_place_separate_tag(Nonce::assume_unique_for_key(*iv), Aad::from(aad), data)
        .expect("AES-GCM seals a short message");
    let mut out = [0u8; TAG_LEN];
    out.copy_from_slice(tag.as_ref());
    out
}

fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// A 16-bit length, then the bytes.
fn put_field(out: &mut Vec<u8>, bytes: &[u8]) {
    put_u16(
        out,
        u16::try_from(bytes.len()).expect("field longer than 65535 bytes"),
    );
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = seq_bytes::<32>(0x00);
    const NAMESPACE: &str = "userpool";
    const NAME: &str = "code-key";
    const CONTEXT: &[(&str, &str)] = &[("userpool-id", "us-east-1_Example")];

    const fn seq_bytes<const N: usize>(start: u8) -> [u8; N] {
        let mut out = [0u8; N];
        let mut i = 0;
        while i < N {
            out[i] = start.wrapping_add(i as u8);
            i += 1;
        }
        out
    }

    fn fixed_material() -> Material {
        Material {
            data_key: seq_bytes(0x20),
            message_id: seq_bytes(0x40),
            wrap_iv: seq_bytes(0x60),
        }
    }

    /// A tiny reader over the message bytes.
    struct Reader<'a> {
        buf: &'a [u8],
        pos: usize,
    }

    impl<'a> Reader<'a> {
        fn take(&mut self, n: usize) -> &'a [u8] {
            let out = &self.buf[self.pos..self.pos + n];
            self.pos += n;
            out
        }
        fn u8(&mut self) -> u8 {
            self.take(1)[0]
        }
        fn u16(&mut self) -> u16 {
            u16::from_be_bytes(self.take(2).try_into().unwrap())
        }
        fn u32(&mut self) -> u32 {
            u32::from_be_bytes(self.take(4).try_into().unwrap())
        }
        fn field(&mut self) -> &'a [u8] {
            let n = self.u16() as usize;
            self.take(n)
        }
    }

    fn gcm_open(key: &[u8], iv: &[u8], aad: &[u8], ct: &[u8], tag: &[u8]) -> Option<Vec<u8>> {
        let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).unwrap());
        let mut data = [ct, tag].concat();
        let nonce = Nonce::try_assume_unique_for_key(iv).unwrap();
        let len = key
            .open_in_place(nonce, Aad::from(aad), &mut data)
            .ok()?
            .len();
        data.truncate(len);
        Some(data)
    }

    /// A test-only decryptor for exactly what `seal` writes (v2, suite 0x0478, framed, one
    /// raw AES EDK), checking every length field and tag; returns the plaintext and context.
    fn open(key: &CodeKey, message: &[u8]) -> (Vec<u8>, Vec<(String, String)>) {
        let mut r = Reader {
            buf: message,
            pos: 0,
        };
        assert_eq!(r.u8(), 0x02, "version");
        assert_eq!(r.u16(), 0x0478, "suite");
        let message_id = r.take(32).to_vec();
        let aad_section = r.field();
        let mut context = Vec::new();
        if !aad_section.is_empty() {
            let mut a = Reader {
                buf: aad_section,
                pos: 0,
            };
            for _ in 0..a.u16() {
                let k = String::from_utf8(a.field().to_vec()).unwrap();
                let v = String::from_utf8(a.field().to_vec()).unwrap();
                context.push((k, v));
            }
            assert_eq!(a.pos, aad_section.len(), "AAD length field");
        }
        assert_eq!(r.u16(), 1, "one EDK");
        assert_eq!(r.field(), key.namespace.as_bytes(), "provider id");
        let info = r.field();
        let name_len = key.name.len();
        assert_eq!(info.len(), name_len + 4 + 4 + 12, "provider info length");
        assert_eq!(&info[..name_len], key.name.as_bytes());
        assert_eq!(&info[name_len..name_len + 8], &[0, 0, 0, 128, 0, 0, 0, 12]);
        let wrap_iv = &info[name_len + 8..];
        let edk = r.field();
        assert_eq!(edk.len(), 48, "wrapped key + tag");
        assert_eq!(r.u8(), 0x02, "framed");
        let frame_len = r.u32();
        assert_eq!(frame_len, 4096);
        let commit = r.take(32).to_vec();
        let header_body = &message[..r.pos];
        let header_tag = r.take(16);

        let pairs = if aad_section.is_empty() {
            &[][..]
        } else {
            aad_section
        };
        let data_key = gcm_open(&key.key, wrap_iv, pairs, &edk[..32], &edk[32..]).expect("unwrap");
        let (derived, expected_commit) = derive_keys(&data_key, &message_id);
        assert_eq!(commit, expected_commit, "key commitment");
        gcm_open(&derived, &[0; 12], header_body, &[], header_tag).expect("header auth tag");

        let mut plaintext = Vec::new();
        let mut expected_seq = 1;
        loop {
            let first = r.u32();
            let is_final = first == FINAL_FRAME_MARKER;
            let seq = if is_final { r.u32() } else { first };
            assert_eq!(seq, expected_seq, "sequence number");
            let iv = r.take(12).to_vec();
            assert_eq!(iv, frame_iv(seq), "frame IV");
            let len = if is_final { r.u32() } else { frame_len } as usize;
            assert!(len <= frame_len as usize);
            let ct = r.take(len);
            let tag = r.take(16);
            let aad = frame_aad(&message_id, is_final, seq, len);
            plaintext.extend(gcm_open(&derived, &iv, &aad, ct, tag).expect("frame tag"));
            expected_seq += 1;
            if is_final {
                break;
            }
        }
        assert_eq!(
            r.pos,
            message.len(),
            "no trailing bytes (no signature footer)"
        );
        (plaintext, context)
    }

    /// `seal(KEY, "123456", CONTEXT, fixed_material())`, decrypted by the real ESDK
    /// (`@aws-crypto/client-node` 5.0.2, raw AES keyring, `REQUIRE_ENCRYPT_ALLOW_DECRYPT`):
    /// in `tests/node`, `node esdk-vectors.js "$GOLDEN"
    /// 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f userpool code-key`
    /// printed `{"plaintext":"123456","encryptionContext":{"userpool-id":"us-east-1_Example"},
    /// "suiteId":1144,"messageFormat":2}` (1144 = 0x0478).
    const GOLDEN: &str = "AgR4QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8AIgABAAt1c2VycG9vbC1pZAARdXMtZWFzdC0xX0V4YW1wbGUAAQAIdXNlcnBvb2wAHGNvZGUta2V5AAAAgAAAAAxgYWJjZGVmZ2hpamsAMMr6uXafZaVIVD/TAF6g72wWRLu6sFEE7puYuldAz8k3ttWGkNa8xTk1csA/+4x1/QIAABAAu+mhPGFE3m24oLGg6PEXg81m/AFbkWyMHuJ/t5U+j61NH2wNZ3izSaRTObrriKfA/////wAAAAEAAAAAAAAAAAAAAAEAAAAGjOHFLrl0maJrEjpgx8h0LA0H2Jqhbw==";

    #[test]
    fn the_fixed_message_is_the_one_the_esdk_decrypted() {
        let key = CodeKey::new(KEY, NAMESPACE, NAME);
        let message = seal(&key, b"123456", CONTEXT, &fixed_material());
        assert_eq!(STANDARD.encode(&message), GOLDEN);
        let (plaintext, context) = open(&key, &message);
        assert_eq!(plaintext, b"123456");
        assert_eq!(
            context,
            [("userpool-id".to_owned(), "us-east-1_Example".to_owned())]
        );
    }

    #[test]
    fn the_fixed_message_has_the_expected_layout() {
        let key = CodeKey::new(KEY, NAMESPACE, NAME);
        let m = fixed_material();
        let message = seal(&key, b"123456", CONTEXT, &m);
        // AAD section: count 1, "userpool-id" (11), "us-east-1_Example" (17).
        let aad_len = 2 + 2 + 11 + 2 + 17;
        let edk_len = 2 + (2 + 8) + 2 + (8 + 8 + 12) + 2 + 48;
        let header_body = 1 + 2 + 32 + 2 + aad_len + edk_len + 1 + 4 + 32;
        let final_frame = 4 + 4 + 12 + 4 + 6 + 16;
        assert_eq!(message.len(), header_body + 16 + final_frame);
        assert_eq!(&message[..3], &[0x02, 0x04, 0x78]);
        assert_eq!(&message[3..35], &m.message_id);
        assert_eq!(&message[35..37], &(aad_len as u16).to_be_bytes());
        assert_eq!(&message[37..39], &[0, 1]);
        assert_eq!(&message[39..41], &[0, 11]);
        assert_eq!(&message[41..52], b"userpool-id");
        let edk = &message[37 + aad_len..];
        assert_eq!(&edk[..2], &[0, 1]);
        assert_eq!(&edk[2..4], &[0, 8]);
        assert_eq!(&edk[4..12], b"userpool");
        assert_eq!(&edk[12..14], &[0, 8 + 8 + 12]);
        assert_eq!(&edk[14..22], b"code-key");
        assert_eq!(&edk[22..30], &[0, 0, 0, 128, 0, 0, 0, 12]);
        assert_eq!(&edk[30..42], &m.wrap_iv);
        assert_eq!(&edk[42..44], &[0, 48]);
        let rest = &edk[edk_len..];
        assert_eq!(&rest[..5], &[0x02, 0, 0, 0x10, 0]);
        let (_, commit) = derive_keys(&m.data_key, &m.message_id);
        assert_eq!(&rest[5..37], &commit);
        let body = &message[header_body + 16..];
        assert_eq!(&body[..8], &[0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 1]);
        assert_eq!(&body[8..20], &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(&body[20..24], &[0, 0, 0, 6]);
    }

    #[test]
    fn an_empty_context_is_a_zero_length_aad() {
        let key = CodeKey::new(KEY, NAMESPACE, NAME);
        let message = seal(&key, b"654321", &[], &fixed_material());
        assert_eq!(&message[35..37], &[0, 0]);
        assert_eq!(
            &message[37..39],
            &[0, 1],
            "EDK count right after the empty AAD"
        );
        let (plaintext, context) = open(&key, &message);
        assert_eq!(plaintext, b"654321");
        assert!(context.is_empty());
    }

    #[test]
    fn the_context_is_sorted_by_key_bytes() {
        let key = CodeKey::new(KEY, NAMESPACE, NAME);
        let context = [("b", "2"), ("B", "1"), ("a", "3")];
        let (_, opened) = open(&key, &seal(&key, b"1", &context, &fixed_material()));
        let keys: Vec<_> = opened.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["B", "a", "b"]);
    }

    #[test]
    fn long_plaintexts_are_split_into_frames() {
        let key = CodeKey::new(KEY, NAMESPACE, NAME);
        for len in [4095, 4096, 4097, 8192, 10000] {
            let text: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            let (plaintext, _) = open(&key, &seal(&key, &text, CONTEXT, &fixed_material()));
            assert_eq!(plaintext, text, "{len} bytes");
        }
    }

    #[test]
    fn seal_code_is_random_and_opens_with_the_same_key_only() {
        let key = CodeKey::new(KEY, NAMESPACE, NAME);
        let a = seal_code(&key, "123456", CONTEXT);
        let b = seal_code(&key, "123456", CONTEXT);
        assert_ne!(a, b);
        let (plaintext, _) = open(&key, &STANDARD.decode(&a).unwrap());
        assert_eq!(plaintext, b"123456");
        let other = CodeKey::new([7; 32], NAMESPACE, NAME);
        let opened = std::panic::catch_unwind(|| open(&other, &STANDARD.decode(&a).unwrap()));
        assert!(opened.is_err());
    }

    #[test]
    fn the_key_is_not_in_debug_output() {
        let key = CodeKey::new([0xAB; 32], NAMESPACE, NAME);
        let shown = format!("{key:?}");
        assert!(shown.contains("code-key") && !shown.contains("171"));
    }
}
