// What the custom sender functions share: opening the code the server sealed in the AWS
// Encryption SDK's message format, with a raw AES keyring of the key the server's operator shares
// with the function (namespace `userpool`, key name the pool's KMSKeyID).
import {
  RawAesKeyringNode, RawAesWrappingSuiteIdentifier, buildClient,
} from '@aws-crypto/client-node';

// The code and the encryption context of a sealed `request.code`, under `policy`.
export async function openCode(sealed, policy) {
  const keyring = new RawAesKeyringNode({
    keyNamespace: 'userpool',
    keyName: globalThis.CODE_KEY_NAME,
    // The ESDK wants the key in a buffer of its own (not a slice of Node's shared pool).
    unencryptedMasterKey: Uint8Array.from(Buffer.from(globalThis.CODE_KEY_HEX, 'hex')),
    wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
  });
  const { plaintext, messageHeader } = await buildClient(policy).decrypt(keyring, Buffer.from(sealed, 'base64'));
  return { code: plaintext.toString('utf8'), context: messageHeader.encryptionContext };
}
