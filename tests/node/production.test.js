// Rate limits and the audit trail, as clients meet them: the AWS SDK v3 (its own throttling
// error, retries off), raw Cognito API calls and OAuth requests through a "proxy" (loopback is
// the trusted proxy here, so X-Forwarded-For names each client), and the managed-login page.
// SQLite by default; USERPOOL_NODE_BACKEND=postgres runs it on a fresh PostgreSQL database.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import * as cognito from '@aws-sdk/client-cognito-identity-provider';
import {
  M2M_CLIENT_ID, M2M_CLIENT_SECRET, PASSWORD, POOL_ID, SPA_CLIENT_ID, USERNAME, USERPOOL_BIN, makeSeed, startEnv,
} from './harness.js';

/** The harness's pool, whose browser client also signs in with passwords over the API. */
function seed(ports) {
  const s = makeSeed(ports);
  const spa = s.UserPools[0].Clients.find((c) => c.ClientId === SPA_CLIENT_ID);
  spa.ExplicitAuthFlows = ['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'];
  const m2m = s.UserPools[0].Clients.find((c) => c.ClientId === M2M_CLIENT_ID);
  m2m.ExplicitAuthFlows = ['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'];
  return s;
}

/** An unsigned Cognito API call sent by the client at `ip` (through the trusted proxy). */
async function call(url, op, input, ip) {
  const res = await fetch(`${url}/`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': `AWSCognitoIdentityProviderService.${op}`,
      ...(ip ? { 'x-forwarded-for': ip } : {}),
    },
    body: JSON.stringify(input),
  });
  const body = await res.json();
  return { status: res.status, type: body.__type, message: body.message, body };
}

const signIn = (url, ip, password, username = USERNAME) => call(url, 'InitiateAuth', {
  ClientId: SPA_CLIENT_ID, AuthFlow: 'USER_PASSWORD_AUTH',
  AuthParameters: { USERNAME: username, PASSWORD: password },
}, ip);

/** client_credentials with `secret`: the status and the Retry-After header. */
async function clientCredentials(url, secret) {
  const res = await fetch(`${url}/oauth2/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${M2M_CLIENT_ID}:${secret}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'client_credentials' }),
  });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.json() };
}

describe('rate limits', () => {
  let env;
  let url;
  before(async () => {
    env = await startEnv({
      seed,
      extraArgs: [
        '--trusted-proxy', '127.0.0.1',
        '--rate-limit', 'UserAuthentication@ip=1/3',
        '--rate-limit', 'UserCreation=1/2',
        '--rate-limit', 'InvalidClient=1/4',
      ],
    });
    url = env.servers[0].url;
  });
  after(() => env?.close());

  test('sign-ins past an address quota get TooManyRequestsException; other addresses go on', async () => {
    const flooder = '198.51.100.7';
    // Sign-ins for a client that does not exist cost nothing, and count all the same.
    for (let i = 0; i < 3; i++) {
      const r = await call(url, 'InitiateAuth', {
        ClientId: 'nosuchclient0000000000000', AuthFlow: 'USER_PASSWORD_AUTH',
        AuthParameters: { USERNAME, PASSWORD },
      }, flooder);
      assert.equal(r.type, 'ResourceNotFoundException', JSON.stringify(r));
    }
    const refused = await signIn(url, flooder, PASSWORD);
    assert.equal(refused.status, 400);
    assert.equal(refused.type, 'TooManyRequestsException');
    assert.equal(refused.message, 'Too many requests');
    // The same client's right password is refused too: nothing was checked.
    const other = await signIn(url, '198.51.100.8', PASSWORD);
    assert.equal(other.status, 200, JSON.stringify(other));
    assert.ok(other.body.AuthenticationResult.AccessToken);

    // The AWS SDK names the throttling error as Cognito's.
    const sdk = new cognito.CognitoIdentityProviderClient({
      endpoint: url, region: 'us-east-1', maxAttempts: 1,
      credentials: { accessKeyId: 'AKIADUMMYDUMMYDUMMY0', secretAccessKey: 'dummy-secret' },
    });
    sdk.middlewareStack.add((next) => (args) => {
      args.request.headers['x-forwarded-for'] = flooder;
      return next(args);
    }, { step: 'build' });
    await assert.rejects(sdk.send(new cognito.InitiateAuthCommand({
      ClientId: SPA_CLIENT_ID, AuthFlow: 'USER_PASSWORD_AUTH',
      AuthParameters: { USERNAME, PASSWORD },
    })), (e) => e instanceof cognito.TooManyRequestsException);
    sdk.destroy();
  });

  test('the sign-in page counts in the same quota and answers 429 with Retry-After', async () => {
    const ip = '198.51.100.20';
    const post = () => fetch(`${url}/login?client_id=${SPA_CLIENT_ID}&response_type=code`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': ip },
      body: new URLSearchParams({ username: USERNAME, password: 'Wr0ng-Passw0rd!' }),
      redirect: 'manual',
    });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await post()).status);
    assert.ok(statuses.every((s) => s !== 429), String(statuses));
    const refused = await post();
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    assert.match(await refused.text(), /Too many requests/);
    // The API's sign-in from that address is over quota as well.
    assert.equal((await signIn(url, ip, PASSWORD)).type, 'TooManyRequestsException');
  });

  test('a pool quota holds whichever addresses the requests come from', async () => {
    const signUp = (n) => call(url, 'SignUp', {
      ClientId: SPA_CLIENT_ID, Username: `flood${n}`, Password: 'Str0ng-Passw0rd!',
      UserAttributes: [{ Name: 'email', Value: `flood${n}@example.test` }],
    }, `203.0.113.${n}`);
    assert.equal((await signUp(1)).status, 200);
    assert.equal((await signUp(2)).status, 200);
    const third = await signUp(3);
    assert.equal(third.type, 'TooManyRequestsException');
    // Nothing was written for the refused request.
    await new Promise((r) => setTimeout(r, 1100));
    const again = await signUp(3);
    assert.equal(again.status, 200, 'a second later the pool takes sign-ups again, and flood3 was free');
  });

  test('wrong client secrets throttle the client, the right secret included, until the wait is over', async () => {
    const wrong = `${M2M_CLIENT_SECRET.slice(0, -1)}x`;
    for (let i = 0; i < 4; i++) {
      assert.equal((await clientCredentials(url, wrong)).status, 401);
    }
    // The fifth wrong secret is counted past the budget: from now on the client waits.
    assert.equal((await clientCredentials(url, wrong)).status, 401);
    const refused = await clientCredentials(url, M2M_CLIENT_SECRET);
    assert.equal(refused.status, 429, 'the right secret is not checked while throttled');
    assert.equal(refused.body.error, 'too_many_requests');
    assert.ok(Number(refused.retryAfter) >= 1);
    await new Promise((r) => setTimeout(r, Number(refused.retryAfter) * 1000 + 100));
    const ok = await clientCredentials(url, M2M_CLIENT_SECRET);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
  });
});

describe('SECRET_HASH guesses', () => {
  let env;
  before(async () => {
    env = await startEnv({ seed, extraArgs: ['--trusted-proxy', '127.0.0.1', '--rate-limit', 'InvalidClient=1/4'] });
  });
  after(() => env?.close());

  test('count per client and address like wrong client secrets', async () => {
    const url = env.servers[0].url;
    const hash = (secret) => createHmac('sha256', secret).update(USERNAME + M2M_CLIENT_ID).digest('base64');
    const withHash = (secretHash, ip) => call(url, 'InitiateAuth', {
      ClientId: M2M_CLIENT_ID, AuthFlow: 'USER_PASSWORD_AUTH',
      AuthParameters: { USERNAME, PASSWORD, SECRET_HASH: secretHash },
    }, ip);
    const guesser = '198.51.100.30';
    for (let i = 0; i < 5; i++) {
      const r = await withHash(hash(`guess-${i}`), guesser);
      assert.equal(r.message, `Unable to verify secret hash for client ${M2M_CLIENT_ID}`);
    }
    const refused = await withHash(hash(M2M_CLIENT_SECRET), guesser);
    assert.equal(refused.type, 'TooManyRequestsException', 'the right hash is not checked from there');
    const owner = await withHash(hash(M2M_CLIENT_SECRET), '192.0.2.50');
    assert.equal(owner.status, 200, JSON.stringify(owner));
  });
});

describe('X-Forwarded-For without a trusted proxy', () => {
  let env;
  before(async () => {
    env = await startEnv({ seed, extraArgs: ['--rate-limit', 'UserAuthentication@ip=1/2'] });
  });
  after(() => env?.close());

  test('is the client\'s own claim: the socket address counts', async () => {
    const url = env.servers[0].url;
    assert.notEqual((await signIn(url, '192.0.2.1', 'Wr0ng-Passw0rd!')).type, 'TooManyRequestsException');
    assert.notEqual((await signIn(url, '192.0.2.2', 'Wr0ng-Passw0rd!')).type, 'TooManyRequestsException');
    assert.equal((await signIn(url, '192.0.2.3', PASSWORD)).type, 'TooManyRequestsException');
  });
});

describe('the audit trail (AdminListUserAuthEvents)', () => {
  let env;
  let sdk;
  const send = (op, input) => sdk.send(new cognito[`${op}Command`](input));
  before(async () => {
    env = await startEnv({ seed, extraArgs: ['--trusted-proxy', '127.0.0.1', '--accept-any-credentials'] });
    sdk = new cognito.CognitoIdentityProviderClient({
      endpoint: env.servers[0].url, region: 'us-east-1', maxAttempts: 1,
      credentials: { accessKeyId: 'AKIADUMMYDUMMYDUMMY0', secretAccessKey: 'dummy-secret' },
    });
  });
  after(async () => {
    sdk?.destroy();
    await env?.close();
  });

  test('sign-ins, failures, a lockout, password changes and admin changes, newest first, in pages', async () => {
    const url = env.servers[0].url;
    await send('AdminCreateUser', {
      UserPoolId: POOL_ID, Username: 'carol', MessageAction: 'SUPPRESS',
      UserAttributes: [{ Name: 'email', Value: 'carol@example.test' }],
    });
    await send('AdminSetUserPassword', { UserPoolId: POOL_ID, Username: 'carol', Password: PASSWORD, Permanent: true });
    assert.equal((await signIn(url, '192.0.2.10', 'Wr0ng-Passw0rd!', 'carol')).type, 'NotAuthorizedException');
    const ok = await signIn(url, '192.0.2.11', PASSWORD, 'carol');
    assert.equal(ok.status, 200, JSON.stringify(ok));
    await call(url, 'ChangePassword', {
      AccessToken: ok.body.AuthenticationResult.AccessToken,
      PreviousPassword: PASSWORD, ProposedPassword: 'N3w-Passw0rd!',
    }, '192.0.2.11');
    // Five wrong passwords, then the lock.
    for (let i = 0; i < 5; i++) await signIn(url, '192.0.2.12', 'Wr0ng-Passw0rd!', 'carol');
    const locked = await signIn(url, '192.0.2.12', 'N3w-Passw0rd!', 'carol');
    assert.equal(locked.message, 'Password attempts exceeded');
    await send('AdminDisableUser', { UserPoolId: POOL_ID, Username: 'carol' });

    // Events are written in the background: wait until all eight are in.
    for (let i = 0; i < 50; i++) {
      const { AuthEvents } = await send('AdminListUserAuthEvents', { UserPoolId: POOL_ID, Username: 'carol' });
      if (AuthEvents.length >= 8) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const all = [];
    let NextToken;
    let pages = 0;
    do {
      const page = await send('AdminListUserAuthEvents', {
        UserPoolId: POOL_ID, Username: 'carol', MaxResults: 3, NextToken,
      });
      assert.ok(page.AuthEvents.length <= 3);
      all.push(...page.AuthEvents);
      ({ NextToken } = page);
      pages += 1;
    } while (NextToken);
    assert.ok(pages >= 3, `pages of three: ${pages}`);
    assert.equal(new Set(all.map((e) => e.EventId)).size, all.length, 'no event twice');
    const times = all.map((e) => e.CreationDate.getTime());
    assert.deepEqual(times, [...times].sort((a, b) => b - a), 'newest first');

    const summary = all.map((e) => [
      e.EventType, e.EventResponse,
      (e.ChallengeResponses ?? []).map((c) => `${c.ChallengeName}:${c.ChallengeResponse}`).join(','),
    ].join(' ').trim()).reverse();
    // Administrators' changes (create, set password, disable) are not Cognito event types:
    // `userpool audit` lists them (below).
    assert.deepEqual(summary, [
      'SignIn Fail Password:Failure',
      'SignIn Pass Password:Success',
      'PasswordChange Pass Password:Success',
      'SignIn Fail Password:Failure',
      'SignIn Fail Password:Failure',
      'SignIn Fail Password:Failure',
      'SignIn Fail Password:Failure',
      'SignIn Fail Password:Failure', // the fifth: it locks the account
    ]);
    const chronological = [...all].reverse();
    assert.equal(chronological[0].EventContextData.IpAddress, '192.0.2.10', 'the client behind the proxy');
    assert.equal(chronological[1].EventContextData.IpAddress, '192.0.2.11');
    assert.equal(chronological[7].EventContextData.IpAddress, '192.0.2.12');

    // The operator's listing has everything, with what Cognito's shape cannot carry.
    const lines = execFileSync(USERPOOL_BIN, [
      'audit', '--database', env.database, '--pool', POOL_ID, '--user', 'carol',
    ], { encoding: 'utf8' }).trim().split('\n').map((l) => JSON.parse(l)).reverse();
    assert.deepEqual(lines.filter((l) => l.EventType === 'Admin').map((l) => l.Detail),
      ['AdminCreateUser', 'AdminSetUserPassword', 'AdminDisableUser']);
    assert.deepEqual(lines.filter((l) => l.Detail === 'locked').map((l) => l.EventId), [chronological[7].EventId],
      'the failure that locks is marked; the attempt refused during the lock is not recorded');
    assert.equal(lines.length, summary.length + 3);

    // Feedback on one event, read back; an unknown event is not found.
    const failed = chronological[0];
    await send('AdminUpdateAuthEventFeedback', {
      UserPoolId: POOL_ID, Username: 'carol', EventId: failed.EventId, FeedbackValue: 'Invalid',
    });
    const again = await send('AdminListUserAuthEvents', { UserPoolId: POOL_ID, Username: 'carol', MaxResults: 60 });
    const marked = again.AuthEvents.find((e) => e.EventId === failed.EventId);
    assert.equal(marked.EventFeedback.FeedbackValue, 'Invalid');
    await assert.rejects(send('AdminUpdateAuthEventFeedback', {
      UserPoolId: POOL_ID, Username: 'carol', EventId: 'no-such-event', FeedbackValue: 'Valid',
    }), (e) => e.name === 'ResourceNotFoundException');
    await assert.rejects(
      send('AdminListUserAuthEvents', { UserPoolId: POOL_ID, Username: 'nobody' }),
      (e) => e.name === 'UserNotFoundException',
    );
  });
});
