// CustomEmailSender: the app delivers codes itself. The code arrives sealed in the AWS
// Encryption SDK's message format; the function opens it with a raw AES keyring of the key the
// server's operator shares with it (namespace `userpool`, key name the pool's KMSKeyID), then
// "sends" it: here it keeps it, so the test can use it as the user would.
import {
  RawAesKeyringNode, RawAesWrappingSuiteIdentifier, buildClient, CommitmentPolicy,
} from '@aws-crypto/client-node';

const { decrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT);
export const delivered = [];

export const handler = async (event) => {
  try {
    return await deliver(event);
  } catch (e) {
    delivered.push({ source: event.triggerSource, error: String(e?.stack ?? e), to: event.request.userAttributes.email });
    throw e;
  }
};

async function deliver(event) {
  const keyring = new RawAesKeyringNode({
    keyNamespace: 'userpool',
    keyName: globalThis.CODE_KEY_NAME,
    // The ESDK wants the key in a buffer of its own (not a slice of Node's shared pool).
    unencryptedMasterKey: Uint8Array.from(Buffer.from(globalThis.CODE_KEY_HEX, 'hex')),
    wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
  });
  const { plaintext, messageHeader } = await decrypt(keyring, Buffer.from(event.request.code, 'base64'));
  delivered.push({
    source: event.triggerSource,
    type: event.request.type,
    to: event.request.userAttributes.email,
    code: plaintext.toString('utf8'),
    context: messageHeader.encryptionContext,
  });
  return event;
}
