//! `userpool-bench passkeys`: whole passkey sign-ins through the Cognito API against the release
//! server pinned to one core: `USER_AUTH` with `PREFERRED_CHALLENGE=WEB_AUTHN` (the request
//! options), then `RespondToAuthChallenge` with the assertion (its check and the tokens), beside
//! the RS256 ceiling. The authenticator is a P-256 key in this process that answers as a synced
//! passkey does (signature counter 0, user verified), so sign-ins in flight never race a counter.

use std::sync::Arc;

use aws_lc_rs::digest;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};
use userpool_core::keys::SigningAlg;

use crate::load::measured_loop;
use crate::server::{Running, free_port, server_pid};
use crate::sign_ins::{Api, admin_signer, has_tokens, signatures_worth, table_head, table_row};

const POOL: &str = "us-east-1_PasskeyB1";
const USERNAME: &str = "bench-user";
const PASSWORD: &str = "Bench-pass-1!";
const RP_ID: &str = "localhost";

/// A passkey: its key pair, credential ID, the user handle it was made for, and the origin
/// its browser runs on.
struct Authenticator {
    key: EcdsaKeyPair,
    id: Vec<u8>,
    user_handle: String,
    origin: String,
}

// The few CBOR items (RFC 8949) an attestation object needs.
fn cbor_head(major: u8, n: usize, out: &mut Vec<u8>) {
    let m = major << 5;
    match n {
        0..=23 => out.push(m | n as u8),
        24..=0xff => out.extend([m | 24, n as u8]),
        _ => {
            out.push(m | 25);
            out.extend((n as u16).to_be_bytes());
        }
    }
}

fn cbor_int(v: i64, out: &mut Vec<u8>) {
    if v >= 0 {
        cbor_head(0, v as usize, out);
    } else {
        cbor_head(1, (-1 - v) as usize, out);
    }
}

fn cbor_bytes(b: &[u8], out: &mut Vec<u8>) {
    cbor_head(2, b.len(), out);
    out.extend_from_slice(b);
}

fn cbor_text(t: &str, out: &mut Vec<u8>) {
    cbor_head(3, t.len(), out);
    out.extend_from_slice(t.as_bytes());
}

impl Authenticator {
    fn new(origin: String) -> anyhow::Result<Self> {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
            .map_err(|_| anyhow::anyhow!("no P-256 key"))?;
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref())
            .map_err(|_| anyhow::anyhow!("an unusable P-256 key"))?;
        let id = digest::digest(&digest::SHA256, key.public_key().as_ref()).as_ref()[..16].to_vec();
        Ok(Self {
            key,
            id,
            user_handle: String::new(),
            origin,
        })
    }

    /// authenticatorData: the RP ID's hash, flags (user present and verified, plus attested
    /// credential data when `attested`), a zero counter.
    fn auth_data(&self, attested: bool) -> Vec<u8> {
        let mut out = digest::digest(&digest::SHA256, RP_ID.as_bytes())
            .as_ref()
            .to_vec();
        out.push(if attested { 0x45 } else { 0x05 });
        out.extend([0, 0, 0, 0]);
        if attested {
            out.extend([0u8; 16]); // AAGUID: none
            out.extend((self.id.len() as u16).to_be_bytes());
            out.extend(&self.id);
            // The COSE key (RFC 9053): EC2, ES256, P-256, x, y.
            let point = self.key.public_key().as_ref();
            cbor_head(5, 5, &mut out);
            for (k, v) in [(1, 2), (3, -7), (-1, 1)] {
                cbor_int(k, &mut out);
                cbor_int(v, &mut out);
            }
            cbor_int(-2, &mut out);
            cbor_bytes(&point[1..33], &mut out);
            cbor_int(-3, &mut out);
            cbor_bytes(&point[33..65], &mut out);
        }
        out
    }

    fn client_data(&self, kind: &str, challenge: &str) -> Vec<u8> {
        json!({"type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": false})
            .to_string()
            .into_bytes()
    }

    /// The registration response to `StartWebAuthnRegistration`'s options (attestation "none").
    fn register(&mut self, options: &Value) -> anyhow::Result<Value> {
        let challenge = options["challenge"].as_str().unwrap_or_default();
        self.user_handle = options["user"]["id"].as_str().unwrap_or_default().into();
        let mut attestation = Vec::new();
        cbor_head(5, 3, &mut attestation);
        cbor_text("fmt", &mut attestation);
        cbor_text("none", &mut attestation);
        cbor_text("attStmt", &mut attestation);
        cbor_head(5, 0, &mut attestation);
        cbor_text("authData", &mut attestation);
        cbor_bytes(&self.auth_data(true), &mut attestation);
        Ok(json!({
            "id": B64.encode(&self.id), "rawId": B64.encode(&self.id), "type": "public-key",
            "response": {
                "clientDataJSON": B64.encode(self.client_data("webauthn.create", challenge)),
                "attestationObject": B64.encode(attestation),
                "transports": ["internal"],
            },
            "clientExtensionResults": {}, "authenticatorAttachment": "platform",
        }))
    }

    /// The assertion (`CREDENTIAL`) to `CREDENTIAL_REQUEST_OPTIONS`.
    fn assert(&self, options: &str) -> Result<String, String> {
        let options: Value = serde_json::from_str(options).map_err(|e| e.to_string())?;
        let challenge = options["challenge"].as_str().ok_or("no challenge")?;
        let auth_data = self.auth_data(false);
        let client_data = self.client_data("webauthn.get", challenge);
        let mut signed = auth_data.clone();
        signed.extend(digest::digest(&digest::SHA256, &client_data).as_ref());
        let signature = self
            .key
            .sign(&SystemRandom::new(), &signed)
            .map_err(|_| "signing failed")?;
        Ok(json!({
            "id": B64.encode(&self.id), "rawId": B64.encode(&self.id), "type": "public-key",
            "response": {
                "clientDataJSON": B64.encode(client_data),
                "authenticatorData": B64.encode(auth_data),
                "signature": B64.encode(signature.as_ref()),
                "userHandle": self.user_handle,
            },
            "clientExtensionResults": {},
        })
        .to_string())
    }
}

/// One whole passkey sign-in: the options, the assertion, the tokens.
async fn passkey_sign_in(api: &Api, client_id: &str, key: &Authenticator) -> Result<(), String> {
    let step = api
        .call(
            None,
            "InitiateAuth",
            &json!({"AuthFlow": "USER_AUTH", "ClientId": client_id,
                "AuthParameters": {"USERNAME": USERNAME, "PREFERRED_CHALLENGE": "WEB_AUTHN"}}),
        )
        .await?;
    let options = step["ChallengeParameters"]["CREDENTIAL_REQUEST_OPTIONS"]
        .as_str()
        .ok_or_else(|| format!("not a WEB_AUTHN challenge: {step}"))?;
    let credential = key.assert(options)?;
    let answer = api
        .call(
            None,
            "RespondToAuthChallenge",
            &json!({"ChallengeName": "WEB_AUTHN", "ClientId": client_id, "Session": step["Session"],
                "ChallengeResponses": {"USERNAME": USERNAME, "CREDENTIAL": credential}}),
        )
        .await?;
    has_tokens(&answer)
}

/// The report of the `passkeys` set.
pub(crate) async fn run(
    binary: &str,
    seconds: u64,
    concurrency: usize,
    pinned: bool,
    machine: &str,
) -> anyhow::Result<String> {
    eprintln!("measuring the RS256 signing ceiling…");
    let ceiling_before = crate::signing_rate(SigningAlg::RS256, 3.0);

    let temp = tempfile::tempdir()?;
    let url = format!("sqlite://{}", temp.path().join("passkeys.db").display());
    let port = free_port()?;
    let seed = json!({"UserPools": [{"Id": POOL, "PoolName": "passkeys",
        "Policies": {"SignInPolicy": {"AllowedFirstAuthFactors": ["PASSWORD", "WEB_AUTHN"]}}}]});
    let srv = Running::start_with(binary, pinned, port, &seed, Some(&url), &[]).await?;
    let pid = server_pid(port).ok_or_else(|| anyhow::anyhow!("the server's process not found"))?;
    let pid = pid.to_string();
    let signer = admin_signer(&url).await?;
    let api = Api {
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .build()?,
        base: srv.base.clone(),
    };
    let admin = |op: &'static str, body: Value| {
        let (api, signer) = (api.clone(), &signer);
        async move {
            api.call(Some(signer), op, &body)
                .await
                .map_err(anyhow::Error::msg)
        }
    };
    admin(
        "SetUserPoolMfaConfig",
        json!({"UserPoolId": POOL, "WebAuthnConfiguration":
            {"RelyingPartyId": RP_ID, "UserVerification": "required"}}),
    )
    .await?;
    let created = admin(
        "CreateUserPoolClient",
        json!({"UserPoolId": POOL, "ClientName": "passkey-bench",
            "ExplicitAuthFlows": ["ALLOW_USER_AUTH", "ALLOW_USER_PASSWORD_AUTH",
                "ALLOW_REFRESH_TOKEN_AUTH"]}),
    )
    .await?;
    let client_id = created["UserPoolClient"]["ClientId"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no ClientId in {created}"))?
        .to_string();
    admin(
        "AdminCreateUser",
        json!({"UserPoolId": POOL, "Username": USERNAME, "MessageAction": "SUPPRESS"}),
    )
    .await?;
    admin(
        "AdminSetUserPassword",
        json!({"UserPoolId": POOL, "Username": USERNAME, "Password": PASSWORD, "Permanent": true}),
    )
    .await?;

    // The user registers their passkey once, signed in with their password.
    let signed_in = api
        .call(
            None,
            "InitiateAuth",
            &json!({"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": client_id,
                "AuthParameters": {"USERNAME": USERNAME, "PASSWORD": PASSWORD}}),
        )
        .await
        .map_err(anyhow::Error::msg)?;
    let access = signed_in["AuthenticationResult"]["AccessToken"].clone();
    let options = api
        .call(
            None,
            "StartWebAuthnRegistration",
            &json!({"AccessToken": access}),
        )
        .await
        .map_err(anyhow::Error::msg)?;
    let mut key = Authenticator::new(format!("http://localhost:{port}"))?;
    let credential = key.register(&options["CredentialCreationOptions"])?;
    api.call(
        None,
        "CompleteWebAuthnRegistration",
        &json!({"AccessToken": access, "Credential": credential}),
    )
    .await
    .map_err(anyhow::Error::msg)?;
    let key = Arc::new(key);
    let client_id = Arc::new(client_id);
    passkey_sign_in(&api, &client_id, &key)
        .await
        .map_err(anyhow::Error::msg)?;

    eprintln!("running passkey sign-ins…");
    let measured = measured_loop(
        "USER_AUTH passkey sign-ins (InitiateAuth WEB_AUTHN + RespondToAuthChallenge, tokens)",
        concurrency,
        seconds,
        &pid,
        move || {
            let (api, id, key) = (api.clone(), client_id.clone(), key.clone());
            async move { passkey_sign_in(&api, &id, &key).await }
        },
    )
    .await?;
    let peak_kib = srv.peak_memory_kib();
    drop(srv);
    drop(temp);
    let ceiling_after = crate::signing_rate(SigningAlg::RS256, 3.0);
    let ceiling = (ceiling_before + ceiling_after) / 2.0;

    let cores = if pinned { "1 (pinned)" } else { "all" };
    let m = &measured;
    let worth = signatures_worth(m, ceiling);
    let mut report = format!(
        "Machine: {machine}\nServer: release build, SQLite, on {cores} core(s); load from another core, {concurrency} sign-ins in flight, {seconds} s; one user with one ES256 passkey (user verification required), one app client without a secret.\n\n"
    );
    report.push_str(&table_head(ceiling_before, ceiling_after));
    report.push_str(&table_row(m, ceiling));
    report.push_str(&format!(
        "\nA passkey sign-in is two round trips, a P-256 signature check, the step written and taken, and the tokens (two RS256 signatures): **{:.1} sign-ins per second** on one core, **{:.3}** of the RS256 ceiling ({worth:.2} signatures' worth of server CPU each).\n\nPeak server memory (VmHWM): **{:.1} MiB**.\n",
        m.row.rate,
        m.row.rate / ceiling,
        peak_kib as f64 / 1024.0
    ));
    Ok(report)
}
