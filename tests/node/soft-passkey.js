// A passkey in this process, for tests that need one without a browser: a P-256 key answering
// WebAuthn's ceremonies in their JSON forms (base64url fields) as a browser on `origin` would pass
// them on — attestation "none", the user present and verified, a signature counter of 0.
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';

const b64u = (bytes) => Buffer.from(bytes).toString('base64url');
const sha256 = (bytes) => createHash('sha256').update(bytes).digest();

// The few CBOR items (RFC 8949) an attestation object needs.
function head(major, n) {
  if (n < 24) return Buffer.from([(major << 5) | n]);
  if (n < 256) return Buffer.from([(major << 5) | 24, n]);
  return Buffer.from([(major << 5) | 25, n >> 8, n & 0xff]);
}
const int = (v) => (v >= 0 ? head(0, v) : head(1, -1 - v));
const bytes = (b) => Buffer.concat([head(2, b.length), b]);
const text = (t) => Buffer.concat([head(3, Buffer.byteLength(t)), Buffer.from(t)]);

export class SoftPasskey {
  constructor(origin) {
    this.origin = origin;
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.privateKey = privateKey;
    const jwk = publicKey.export({ format: 'jwk' });
    this.x = Buffer.from(jwk.x, 'base64url');
    this.y = Buffer.from(jwk.y, 'base64url');
    this.rawId = randomBytes(16);
    this.id = b64u(this.rawId);
    this.userHandle = null;
  }

  /** authenticatorData for `rpId`: flags UP and UV (and AT with the credential when `attested`). */
  authData(rpId, attested) {
    const parts = [sha256(Buffer.from(rpId)), Buffer.from([attested ? 0x45 : 0x05]), Buffer.alloc(4)];
    if (attested) {
      const idLength = Buffer.alloc(2);
      idLength.writeUInt16BE(this.rawId.length);
      // The COSE key (RFC 9053): EC2, ES256, P-256, x, y.
      const cose = Buffer.concat([head(5, 5), int(1), int(2), int(3), int(-7), int(-1), int(1),
        int(-2), bytes(this.x), int(-3), bytes(this.y)]);
      parts.push(Buffer.alloc(16), idLength, this.rawId, cose);
    }
    return Buffer.concat(parts);
  }

  clientData(type, challenge) {
    return Buffer.from(JSON.stringify({ type, challenge, origin: this.origin, crossOrigin: false }));
  }

  /** The registration response (PublicKeyCredential.toJSON()) to creation options. */
  register(options) {
    this.userHandle = options.user.id;
    const attestation = Buffer.concat([head(5, 3), text('fmt'), text('none'), text('attStmt'), head(5, 0),
      text('authData'), bytes(this.authData(options.rp.id, true))]);
    return {
      id: this.id, rawId: this.id, type: 'public-key',
      response: {
        clientDataJSON: b64u(this.clientData('webauthn.create', options.challenge)),
        attestationObject: b64u(attestation),
        transports: ['internal'],
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }

  /** The assertion, as the JSON string `CREDENTIAL` takes, to request options. */
  assert(options) {
    const authData = this.authData(options.rpId, false);
    const clientData = this.clientData('webauthn.get', options.challenge);
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientData)]), this.privateKey);
    return JSON.stringify({
      id: this.id, rawId: this.id, type: 'public-key',
      response: {
        clientDataJSON: b64u(clientData),
        authenticatorData: b64u(authData),
        signature: b64u(signature),
        userHandle: this.userHandle,
      },
      clientExtensionResults: {},
    });
  }
}
