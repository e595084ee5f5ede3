// CustomSMSSender: the app texts codes itself. The code arrives sealed in the AWS Encryption
// SDK's message format; the function opens it with a raw AES keyring of the key the server's
// operator shares with it (namespace `userpool`, key name the pool's KMSKeyID), under the
// strictest commitment policy, then "texts" it: here it keeps it, so the test can use it as the
// user would.
import { CommitmentPolicy } from '@aws-crypto/client-node';
import { openCode } from './sealed-code.js';

export const delivered = [];

export const handler = async (event) => {
  const to = event.request?.userAttributes?.phone_number;
  try {
    const { code, context } = await openCode(event.request.code, CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
    delivered.push({
      source: event.triggerSource,
      type: event.request.type,
      userName: event.userName,
      to,
      code,
      context,
    });
    return event;
  } catch (e) {
    delivered.push({ source: event.triggerSource, userName: event.userName, to, error: String(e?.stack ?? e) });
    throw e;
  }
};
