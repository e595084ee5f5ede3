// Decrypts a code sealed by userpool (crates/core/src/triggers/sealed_code.rs) with the real
// AWS Encryption SDK, the way a CustomEmailSender/CustomSMSSender Lambda does: a raw AES
// keyring (AES256_GCM_IV12_TAG16_NO_PADDING) and REQUIRE_ENCRYPT_ALLOW_DECRYPT.
//
//   node esdk-vectors.js <base64 message> <key hex (64 digits)> <key namespace> <key name> [--utf8-sorting]
//
// Prints one line of JSON: {"plaintext", "encryptionContext", "suiteId", "messageFormat"}.
// Exits non-zero (with the ESDK's error on stderr) when the message does not decrypt.
// `--utf8-sorting` builds the keyring with `utf8Sorting: true` (see the note in main()).

import {
  buildClient,
  CommitmentPolicy,
  RawAesKeyringNode,
  RawAesWrappingSuiteIdentifier,
} from '@aws-crypto/client-node';

export async function decryptCode({ message, keyHex, keyNamespace, keyName, utf8Sorting }) {
  const { decrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT);
  const unencryptedMasterKey = new Uint8Array(Buffer.from(keyHex, 'hex'));
  if (unencryptedMasterKey.byteLength !== 32) throw new Error('the key must be 32 bytes (64 hex digits)');
  const keyring = new RawAesKeyringNode({
    keyName,
    keyNamespace,
    unencryptedMasterKey,
    wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
    ...(utf8Sorting ? { utf8Sorting: true } : {}),
  });
  const { plaintext, messageHeader } = await decrypt(keyring, Buffer.from(message, 'base64'));
  return {
    plaintext: Buffer.from(plaintext).toString('utf8'),
    encryptionContext: messageHeader.encryptionContext,
    suiteId: messageHeader.suiteId,
    messageFormat: messageHeader.version,
  };
}

async function main(argv) {
  const flags = argv.filter((a) => a.startsWith('--'));
  const args = argv.filter((a) => !a.startsWith('--'));
  if (args.length !== 4 || flags.some((f) => f !== '--utf8-sorting')) {
    process.stderr.write(
      'usage: node esdk-vectors.js <base64 message> <key hex> <key namespace> <key name> [--utf8-sorting]\n',
    );
    process.exit(2);
  }
  const [message, keyHex, keyNamespace, keyName] = args;
  // Without utf8Sorting the Node keyring orders a multi-pair encryption context with
  // localeCompare when it rebuilds the wrapping AAD; the specification (and userpool) orders
  // it by UTF-8 bytes. The two agree for one pair and for most lowercase ASCII keys.
  const utf8Sorting = flags.includes('--utf8-sorting');
  const out = await decryptCode({ message, keyHex, keyNamespace, keyName, utf8Sorting });
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`${e && e.stack ? e.stack : e}\n`);
    process.exit(1);
  });
}
