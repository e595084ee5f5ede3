// CustomEmailSender: the app delivers codes itself. The code arrives sealed in the AWS
// Encryption SDK's message format; the function opens it with a raw AES keyring of the key the
// server's operator shares with it (namespace `userpool`, key name the pool's KMSKeyID), then
// "sends" it: here it keeps it, so the test can use it as the user would.
import { CommitmentPolicy } from '@aws-crypto/client-node';
import { openCode } from './sealed-code.js';

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
  const { code, context } = await openCode(event.request.code, CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT);
  delivered.push({
    source: event.triggerSource,
    type: event.request.type,
    to: event.request.userAttributes.email,
    code,
    context,
  });
  return event;
}
