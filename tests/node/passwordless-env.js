// What the passkey tests share: a server reached (and named, by its public URL) as localhost —
// WebAuthn relying party IDs cannot be IP addresses —, its SDK client, and the pool of
// choice-based sign-in both configure (passwords, email codes and passkeys, user verification
// required, relying party `localhost`).
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as cognito from '@aws-sdk/client-cognito-identity-provider';
import { createPgDatabase, freePort, startServer } from './harness.js';

/**
 * A server on SQLite in `dir` (or a new PostgreSQL database with USERPOOL_NODE_BACKEND=postgres)
 * whose public URL is `http://localhost:<port>`, tried again on another port if one was taken,
 * and an SDK client and `send(op, input)` for it (signed with dummy keys: the server accepts any).
 */
export async function startLocalhostServer(dir) {
  const pgDb = process.env.USERPOOL_NODE_BACKEND === 'postgres' ? await createPgDatabase() : null;
  const database = pgDb?.url ?? `sqlite://${join(dir, 'db.sqlite')}`;
  const seedPath = join(dir, 'seed.json');
  writeFileSync(seedPath, JSON.stringify({ UserPools: [] }));
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    try {
      const server = await startServer({
        port, database, seedPath, masterKey: randomBytes(32).toString('base64'),
        extraArgs: ['--data-dir', dir, '--no-demo', '--accept-any-credentials',
          '--public-url', `http://localhost:${port}`],
      });
      const sdk = new cognito.CognitoIdentityProviderClient({
        endpoint: server.url, region: 'us-east-1', maxAttempts: 1,
        credentials: { accessKeyId: 'AKIADUMMYDUMMYDUMMY0', secretAccessKey: 'dummy-secret' },
      });
      const send = (op, input) => sdk.send(new cognito[`${op}Command`](input));
      return { server, port, url: `http://localhost:${port}`, pgDb, sdk, send };
    } catch (err) {
      if (attempt >= 2 || !/address (already )?in use/i.test(String(err.message))) throw err;
    }
  }
}

/** A pool named `name` whose users may sign in with a password, an email code or a passkey. */
export async function passwordlessPool(send, name) {
  const { UserPool: { Id: poolId } } = await send('CreateUserPool', {
    PoolName: name,
    UsernameConfiguration: { CaseSensitive: false },
    AutoVerifiedAttributes: ['email'],
  });
  // UpdateUserPool sets what it is not given back to its default: AutoVerifiedAttributes again.
  await send('UpdateUserPool', {
    UserPoolId: poolId,
    AutoVerifiedAttributes: ['email'],
    Policies: { SignInPolicy: { AllowedFirstAuthFactors: ['PASSWORD', 'EMAIL_OTP', 'WEB_AUTHN'] } },
  });
  await send('SetUserPoolMfaConfig', {
    UserPoolId: poolId,
    MfaConfiguration: 'OFF',
    WebAuthnConfiguration: { RelyingPartyId: 'localhost', UserVerification: 'required' },
  });
  return poolId;
}
