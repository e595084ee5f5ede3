// The Cognito API driven by AWS's own SDK for JavaScript v3
// (@aws-sdk/client-cognito-identity-provider) pointed at userpool with `endpoint`: every
// operation of the dispatch table (crates/api/src/ops/mod.rs), the service's errors as the SDK
// names them, and every raw response body checked against the model's output shape
// (cognito-shapes.js). The server checks SigV4 for real: requests are signed with an access key
// made by `userpool access-keys create`. SQLite by default; USERPOOL_NODE_BACKEND=postgres runs it
// on a fresh PostgreSQL database.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as cognito from '@aws-sdk/client-cognito-identity-provider';
import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import CognitoIdentity from 'amazon-cognito-identity-js';
import {
  CookieJar, USERPOOL_BIN, createPgDatabase, freePort, freshTotp, jwtPayload, outboxCode, outboxMessages,
  startServer,
} from './harness.js';
import { MODEL, responseProblems, servedOperations, shapeProblems } from './cognito-shapes.js';
import { SoftPasskey } from './soft-passkey.js';

const { AuthenticationHelper } = CognitoIdentity;

const REGION = 'us-east-1';
const MISSING_POOL = 'us-east-1_Nope12345';
const REDIRECT_URI = 'http://localhost:3000/cb';
const PASSWORD = 'Str0ng-Passw0rd!';

let dir;
let server;
let pgDb;
let accessKey;
let sdk;
// Every answer the SDK received: { op, status, body }.
const answers = [];

/** A header of a request the SDK built, whatever its case. */
function header(headers, name) {
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : headers[key];
}

/**
 * Middleware next to the transport: reads each raw response body (and hands the SDK a copy),
 * records it, and fails the call when a 200 body does not fit the operation's output shape or an
 * error body does not fit its exception's shape.
 */
function rawBodyCheck(next) {
  return async (args) => {
    const target = header(args.request.headers, 'x-amz-target') ?? '';
    const op = target.split('.').pop();
    const out = await next(args);
    const response = out.response;
    const chunks = [];
    if (response.body) {
      for await (const chunk of response.body) chunks.push(Buffer.from(chunk));
    }
    const raw = Buffer.concat(chunks);
    response.body = new Uint8Array(raw);
    const text = raw.toString('utf8');
    answers.push({ op, status: response.statusCode, body: text });
    if (response.statusCode === 200) {
      const problems = responseProblems(op, text);
      if (problems.length) {
        throw new Error(`${op} answered outside the model's shape: ${problems.join('; ')}\n${text}`);
      }
    } else {
      const { __type: type, ...rest } = JSON.parse(text || '{}');
      const name = String(type ?? '').split('#').pop();
      if (MODEL.shapes[name]?.type === 'structure') {
        const problems = shapeProblems(name, rest, name);
        if (problems.length) throw new Error(`${op}'s ${name} is outside the model's shape: ${problems.join('; ')}`);
      }
    }
    return out;
  };
}

/** A client of the server signing with `credentials`, whose every answer is checked. */
function newClient(credentials) {
  const client = new CognitoIdentityProviderClient({
    endpoint: server.url,
    region: REGION,
    credentials,
    maxAttempts: 1,
  });
  client.middlewareStack.add(rawBodyCheck, { step: 'deserialize', name: 'rawBodyCheck', priority: 'low' });
  return client;
}

/** A client with no credentials, for the operations an app calls unsigned; answers checked. */
function newAnonymousClient() {
  const client = new CognitoIdentityProviderClient({
    endpoint: server.url,
    region: REGION,
    maxAttempts: 1,
    credentials: () => Promise.reject(new Error('an unauthenticated operation asked for credentials')),
  });
  client.middlewareStack.add(rawBodyCheck, { step: 'deserialize', name: 'rawBodyCheck', priority: 'low' });
  return client;
}

/** Sends operation `op` (the model's name) with `input`. */
function call(op, input = {}) {
  return sdk.send(new cognito[`${op}Command`](input));
}

/** Asserts that `op` with `input` fails with the SDK error `name`; returns the error. */
/** The error `send(op, input)` is refused with, checked to be `name` and a 400. */
async function refusedBy(send, op, input, name) {
  let error;
  await assert.rejects(send(op, input), (e) => {
    error = e;
    return true;
  });
  assert.equal(error.name, name, `${op}: ${error.name}: ${error.message}`);
  assert.equal(error.$metadata?.httpStatusCode, 400, `${op}: ${error.message}`);
  return error;
}
const refused = (op, input, name) => refusedBy(call, op, input, name);

const attrs = (pairs) => Object.entries(pairs).map(([Name, Value]) => ({ Name, Value }));
const asMap = (list) => Object.fromEntries((list ?? []).map((a) => [a.Name, a.Value]));

/** Self-registration through the managed login's /signup page: leaves an UNCONFIRMED user. */
async function signUpOnThePage(clientId, username, email) {
  const jar = new CookieJar();
  const page = new URL('/signup', server.url);
  page.search = new URLSearchParams({
    client_id: clientId, response_type: 'code', redirect_uri: REDIRECT_URI, scope: 'openid email',
  }).toString();
  let res = await fetch(page, { redirect: 'manual' });
  jar.store(res);
  const html = await res.text();
  assert.equal(res.status, 200, `GET ${page}: ${html}`);
  const csrf = html.match(/<input[^>]*name="_csrf"[^>]*value="([^"]*)"/i)
    ?? html.match(/<input[^>]*value="([^"]*)"[^>]*name="_csrf"/i);
  assert.ok(csrf, `no _csrf on the sign-up page:\n${html}`);
  const form = html.match(/<form[^>]*\baction="([^"]*)"/i);
  const action = new URL(form ? form[1].replace(/&amp;/g, '&') : page.pathname + page.search, page);
  res = await fetch(action, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: jar.header() },
    body: new URLSearchParams({ _csrf: csrf[1].replace(/&amp;/g, '&'), username, email, password: PASSWORD }),
  });
  const text = await res.text();
  assert.equal(res.status, 302, `POST ${action}: ${text}`);
  assert.match(res.headers.get('location'), /\/confirm\?/);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'userpool-sdk-'));
  pgDb = process.env.USERPOOL_NODE_BACKEND === 'postgres' ? await createPgDatabase() : null;
  const database = pgDb?.url ?? `sqlite://${join(dir, 'db.sqlite')}`;
  const masterKey = randomBytes(32).toString('base64');
  const seedPath = join(dir, 'seed.json');
  writeFileSync(seedPath, JSON.stringify({ UserPools: [] }));
  // The port is the pool's custom domain too (the /signup page answers on it).
  for (let attempt = 0; ; attempt++) {
    try {
      server = await startServer({
        port: await freePort(), database, seedPath, masterKey, extraArgs: ['--data-dir', dir, '--no-demo'],
      });
      break;
    } catch (err) {
      if (attempt >= 2 || !/address (already )?in use/i.test(String(err.message))) throw err;
    }
  }
  // A real access key, made while the server runs: signatures are checked against it.
  const printed = execFileSync(USERPOOL_BIN, [
    'access-keys', 'create', '--database', database, '--data-dir', dir, '--description', 'node sdk test',
  ], { env: { ...process.env, USERPOOL_MASTER_KEY: masterKey }, encoding: 'utf8' });
  const field = (label) => printed.match(new RegExp(`^${label}\\s+(\\S+)$`, 'm'))?.[1];
  accessKey = { accessKeyId: field('access key id'), secretAccessKey: field('secret access key') };
  assert.ok(accessKey.accessKeyId?.startsWith('AKIA') && accessKey.secretAccessKey, printed);
  sdk = newClient(accessKey);
});

after(async () => {
  sdk?.destroy();
  await server?.stop();
  await pgDb?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});


/**
 * A device's DeviceSecretVerifierConfig ({ PasswordVerifier, Salt }, Base64) for ConfirmDevice,
 * made by amazon-cognito-identity-js's AuthenticationHelper as the library makes it.
 */
function deviceVerifier(poolId, deviceGroupKey, deviceKey) {
  const helper = new AuthenticationHelper(poolId.split('_')[1]);
  return new Promise((resolve, reject) => {
    helper.generateHashDevice(deviceGroupKey, deviceKey, (err) => (err ? reject(err) : resolve({
      PasswordVerifier: Buffer.from(helper.getVerifierDevices(), 'hex').toString('base64'),
      Salt: Buffer.from(helper.getSaltDevices(), 'hex').toString('base64'),
    })));
  });
}

/** Base64 HMAC-SHA256 of username + client ID under the client secret (Cognito's SECRET_HASH). */
const secretHash = (secret, username, clientId) =>
  createHmac('sha256', secret).update(username + clientId).digest('base64');

// The sign-in plane: the operations a user (or a backend acting for them) calls with an app
// client, a session or their tokens. Unauthenticated operations go out unsigned, as the SDK sends
// them without credentials; the admin ones (AdminInitiateAuth, …) are signed.
describe('the sign-in plane through @aws-sdk/client-cognito-identity-provider', () => {
  const NEW_PASSWORD = 'N3w-Passw0rd!!';
  let anon;
  let poolId;
  let appId;
  let legacyId;
  let backendId;
  let backendSecret;
  // Tokens kept between the tests, by user.
  const tokens = {};
  const totpUsed = {};
  let confirmedCode;

  /** Sends an operation through the client without credentials (no SigV4). */
  const open = (op, input) => anon.send(new cognito[`${op}Command`](input));
  const openRefused = (op, input, name) => refusedBy(open, op, input, name);
  const passwordAuth = (username, password, clientId = appId) => open('InitiateAuth', {
    ClientId: clientId, AuthFlow: 'USER_PASSWORD_AUTH', AuthParameters: { USERNAME: username, PASSWORD: password },
  });
  const assertTokens = (result, username, clientId = appId) => {
    assert.equal(result.TokenType, 'Bearer');
    assert.equal(result.ExpiresIn, 3600);
    const id = jwtPayload(result.IdToken);
    const access = jwtPayload(result.AccessToken);
    assert.equal(id['cognito:username'], username);
    assert.equal(id.token_use, 'id');
    assert.equal(id.aud, clientId);
    assert.equal(access.token_use, 'access');
    assert.equal(access.client_id, clientId);
    assert.equal(access.username, username);
    assert.equal(access.scope, 'aws.cognito.signin.user.admin');
    assert.equal(access.iss, `https://cognito-idp.${REGION}.amazonaws.com/${poolId}`.replace(/^https:\/\/cognito-idp\.[^/]+/, access.iss.replace(/\/[^/]+$/, '')));
    assert.ok(access.iss.endsWith(`/${poolId}`), access.iss);
  };

  before(async () => {
    // No credentials at all: the SDK sends the unauthenticated operations unsigned.
    anon = new CognitoIdentityProviderClient({
      endpoint: server.url,
      region: REGION,
      maxAttempts: 1,
      credentials: () => Promise.reject(new Error('an unauthenticated operation asked for credentials')),
    });
    anon.middlewareStack.add(rawBodyCheck, { step: 'deserialize', name: 'rawBodyCheck', priority: 'low' });
    anon.middlewareStack.add((next) => async (args) => {
      assert.equal(header(args.request.headers, 'authorization'), undefined, 'an unauthenticated operation is not signed');
      return next(args);
    }, { step: 'finalizeRequest', name: 'unsigned', priority: 'low' });
  });

  after(async () => {
    anon?.destroy();
    // The pool goes, so that the suite below finds only its own.
    if (poolId) await call('DeleteUserPool', { UserPoolId: poolId }).catch(() => {});
  });

  test('a pool, a public and a confidential client, TOTP allowed', async () => {
    ({ UserPool: { Id: poolId } } = await call('CreateUserPool', {
      PoolName: 'sdk-sign-in',
      UsernameConfiguration: { CaseSensitive: false },
      AutoVerifiedAttributes: ['email'],
      Policies: { PasswordPolicy: { MinimumLength: 10, RequireNumbers: true } },
    }));
    const flows = ['ALLOW_USER_SRP_AUTH', 'ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'];
    ({ UserPoolClient: { ClientId: appId } } = await call('CreateUserPoolClient', {
      UserPoolId: poolId, ClientName: 'app', ExplicitAuthFlows: flows, PreventUserExistenceErrors: 'ENABLED',
    }));
    ({ UserPoolClient: { ClientId: legacyId } } = await call('CreateUserPoolClient', {
      UserPoolId: poolId, ClientName: 'legacy', ExplicitAuthFlows: flows, PreventUserExistenceErrors: 'LEGACY',
    }));
    const { UserPoolClient: backend } = await call('CreateUserPoolClient', {
      UserPoolId: poolId, ClientName: 'backend', GenerateSecret: true,
      ExplicitAuthFlows: [...flows, 'ALLOW_ADMIN_USER_PASSWORD_AUTH'],
    });
    backendId = backend.ClientId;
    backendSecret = backend.ClientSecret;
    await call('SetUserPoolMfaConfig', {
      UserPoolId: poolId, MfaConfiguration: 'OPTIONAL', SoftwareTokenMfaConfiguration: { Enabled: true },
    });
  });

  test('InitiateAuth USER_PASSWORD_AUTH, RespondToAuthChallenge NEW_PASSWORD_REQUIRED', async () => {
    await call('AdminCreateUser', {
      UserPoolId: poolId, Username: 'bob', TemporaryPassword: 'Temp-Passw0rd', MessageAction: 'SUPPRESS',
      UserAttributes: attrs({ email: 'bob@example.test', email_verified: 'true' }),
    });
    const wrong = await openRefused('InitiateAuth', {
      ClientId: appId, AuthFlow: 'USER_PASSWORD_AUTH', AuthParameters: { USERNAME: 'bob', PASSWORD: 'Wrong-Passw0rd' },
    }, 'NotAuthorizedException');
    assert.equal(wrong.message, 'Incorrect username or password.');
    const unknown = await openRefused('InitiateAuth', {
      ClientId: appId, AuthFlow: 'USER_PASSWORD_AUTH', AuthParameters: { USERNAME: 'nobody', PASSWORD: 'Wrong-Passw0rd' },
    }, 'NotAuthorizedException');
    assert.equal(unknown.message, 'Incorrect username or password.', 'PreventUserExistenceErrors hides unknown names');
    await openRefused('InitiateAuth', {
      ClientId: appId, AuthFlow: 'ADMIN_USER_PASSWORD_AUTH', AuthParameters: { USERNAME: 'bob', PASSWORD: 'Temp-Passw0rd' },
    }, 'InvalidParameterException');
    await openRefused('InitiateAuth', {
      ClientId: 'nosuchclient0000000000000', AuthFlow: 'USER_PASSWORD_AUTH', AuthParameters: { USERNAME: 'bob', PASSWORD: 'x' },
    }, 'ResourceNotFoundException');

    const started = await passwordAuth('BOB', 'Temp-Passw0rd');
    assert.equal(started.ChallengeName, 'NEW_PASSWORD_REQUIRED');
    assert.ok(started.Session, 'a session to answer with');
    assert.equal(started.AuthenticationResult, undefined);
    assert.equal(started.ChallengeParameters.USER_ID_FOR_SRP, 'bob');
    assert.deepEqual(JSON.parse(started.ChallengeParameters.requiredAttributes), []);
    assert.equal(JSON.parse(started.ChallengeParameters.userAttributes).email, 'bob@example.test');

    const expired = await openRefused('RespondToAuthChallenge', {
      ClientId: appId, ChallengeName: 'NEW_PASSWORD_REQUIRED', Session: 'AYABeNotASessionOfThisServer0000000000',
      ChallengeResponses: { USERNAME: 'bob', NEW_PASSWORD: NEW_PASSWORD },
    }, 'NotAuthorizedException');
    assert.match(expired.message, /session/i);
    const done = await open('RespondToAuthChallenge', {
      ClientId: appId, ChallengeName: 'NEW_PASSWORD_REQUIRED', Session: started.Session,
      ChallengeResponses: { USERNAME: 'bob', NEW_PASSWORD: NEW_PASSWORD },
    });
    assert.equal(done.ChallengeName, undefined);
    assertTokens(done.AuthenticationResult, 'bob');
    assert.ok(done.AuthenticationResult.RefreshToken);
    assert.equal((await call('AdminGetUser', { UserPoolId: poolId, Username: 'bob' })).UserStatus, 'CONFIRMED');
    const again = await passwordAuth('bob', NEW_PASSWORD);
    assertTokens(again.AuthenticationResult, 'bob');
    tokens.bob = again.AuthenticationResult;
  });

  test('AdminInitiateAuth, AdminRespondToAuthChallenge with a confidential client (SECRET_HASH)', async () => {
    await call('AdminCreateUser', {
      UserPoolId: poolId, Username: 'carol', TemporaryPassword: 'Temp-Passw0rd', MessageAction: 'SUPPRESS',
      UserAttributes: attrs({ email: 'carol@example.test', email_verified: 'true' }),
    });
    const params = { USERNAME: 'carol', PASSWORD: 'Temp-Passw0rd' };
    const missing = await refused('AdminInitiateAuth', {
      UserPoolId: poolId, ClientId: backendId, AuthFlow: 'ADMIN_USER_PASSWORD_AUTH', AuthParameters: params,
    }, 'NotAuthorizedException');
    assert.match(missing.message, /SECRET_HASH/);
    const hash = secretHash(backendSecret, 'carol', backendId);
    await refused('AdminInitiateAuth', {
      UserPoolId: poolId, ClientId: backendId, AuthFlow: 'ADMIN_USER_PASSWORD_AUTH',
      AuthParameters: { ...params, SECRET_HASH: secretHash('not-the-secret', 'carol', backendId) },
    }, 'NotAuthorizedException');
    await refused('AdminInitiateAuth', {
      UserPoolId: poolId, ClientId: appId, AuthFlow: 'ADMIN_USER_PASSWORD_AUTH', AuthParameters: params,
    }, 'InvalidParameterException');
    const started = await call('AdminInitiateAuth', {
      UserPoolId: poolId, ClientId: backendId, AuthFlow: 'ADMIN_USER_PASSWORD_AUTH',
      AuthParameters: { ...params, SECRET_HASH: hash },
    });
    assert.equal(started.ChallengeName, 'NEW_PASSWORD_REQUIRED');
    await refused('AdminRespondToAuthChallenge', {
      UserPoolId: poolId, ClientId: backendId, ChallengeName: 'NEW_PASSWORD_REQUIRED', Session: started.Session,
      ChallengeResponses: { USERNAME: 'carol', NEW_PASSWORD: NEW_PASSWORD },
    }, 'NotAuthorizedException');
    const done = await call('AdminRespondToAuthChallenge', {
      UserPoolId: poolId, ClientId: backendId, ChallengeName: 'NEW_PASSWORD_REQUIRED', Session: started.Session,
      ChallengeResponses: { USERNAME: 'carol', NEW_PASSWORD: NEW_PASSWORD, SECRET_HASH: hash },
    });
    assertTokens(done.AuthenticationResult, 'carol', backendId);
    tokens.carol = done.AuthenticationResult;
  });

  test('SignUp, ResendConfirmationCode, ConfirmSignUp (code from the outbox)', async () => {
    const seen = new Set();
    const signedUp = await open('SignUp', {
      ClientId: appId, Username: 'dave', Password: PASSWORD,
      UserAttributes: attrs({ email: 'dave@example.test', name: 'Dave' }),
    });
    assert.equal(signedUp.UserConfirmed, false);
    assert.match(signedUp.UserSub, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.deepEqual(signedUp.CodeDeliveryDetails, { Destination: 'd***@e***', DeliveryMedium: 'EMAIL', AttributeName: 'email' });
    const first = await outboxCode(dir, 'dave@example.test', { seen });
    await openRefused('SignUp', {
      ClientId: appId, Username: 'DAVE', Password: PASSWORD, UserAttributes: attrs({ email: 'dave2@example.test' }),
    }, 'UsernameExistsException');
    await openRefused('SignUp', {
      ClientId: appId, Username: 'weakling', Password: 'short', UserAttributes: attrs({ email: 'w@example.test' }),
    }, 'InvalidPasswordException');
    await openRefused('SignUp', { ClientId: backendId, Username: 'erin', Password: PASSWORD }, 'NotAuthorizedException');
    await openRefused('InitiateAuth', {
      ClientId: appId, AuthFlow: 'USER_PASSWORD_AUTH', AuthParameters: { USERNAME: 'dave', PASSWORD },
    }, 'UserNotConfirmedException');

    const resent = await open('ResendConfirmationCode', { ClientId: appId, Username: 'dave' });
    assert.equal(resent.CodeDeliveryDetails.Destination, 'd***@e***');
    const code = await outboxCode(dir, 'dave@example.test', { seen });
    assert.match(first, /^\d{6}$/);
    const wrongCode = code === '000000' ? '111111' : '000000';
    await openRefused('ConfirmSignUp', { ClientId: appId, Username: 'dave', ConfirmationCode: wrongCode }, 'CodeMismatchException');
    confirmedCode = code;
    await open('ConfirmSignUp', { ClientId: appId, Username: 'dave', ConfirmationCode: code });
    const user = await call('AdminGetUser', { UserPoolId: poolId, Username: 'dave' });
    assert.equal(user.UserStatus, 'CONFIRMED');
    assert.equal(asMap(user.UserAttributes).email_verified, 'true', 'the code proved the address');
    assert.equal(asMap(user.UserAttributes).sub, signedUp.UserSub);
  });

  // Cognito names a confirmed account's status to clients with PreventUserExistenceErrors
  // LEGACY; a client with ENABLED (the default) hears what a wrong code / an unknown name gets,
  // so that the answer does not tell which accounts exist (userpool's choice against
  // enumeration).
  test('ConfirmSignUp of a confirmed user: NotAuthorizedException for a LEGACY client, a code mismatch for ENABLED', async () => {
    const twice = await openRefused('ConfirmSignUp', { ClientId: legacyId, Username: 'dave', ConfirmationCode: confirmedCode },
      'NotAuthorizedException');
    assert.equal(twice.message, 'User cannot be confirmed. Current status is CONFIRMED');
    const wrongCode = confirmedCode === '000000' ? '111111' : '000000';
    const wrong = await openRefused('ConfirmSignUp', { ClientId: legacyId, Username: 'dave', ConfirmationCode: wrongCode },
      'NotAuthorizedException');
    assert.equal(wrong.message, twice.message, 'the status comes before the code');

    const unknown = await openRefused('ConfirmSignUp', { ClientId: appId, Username: 'nobody', ConfirmationCode: confirmedCode },
      'CodeMismatchException');
    const hidden = await openRefused('ConfirmSignUp', { ClientId: appId, Username: 'dave', ConfirmationCode: confirmedCode },
      'CodeMismatchException');
    assert.equal(hidden.message, unknown.message, 'ENABLED: a confirmed account answers as an unknown name does');
    await openRefused('ConfirmSignUp', { ClientId: legacyId, Username: 'nobody', ConfirmationCode: confirmedCode },
      'UserNotFoundException');
    assert.equal((await call('AdminGetUser', { UserPoolId: poolId, Username: 'dave' })).UserStatus, 'CONFIRMED');
  });

  test('ResendConfirmationCode to a confirmed user: InvalidParameterException for a LEGACY client, a delivery for ENABLED', async () => {
    const error = await openRefused('ResendConfirmationCode', { ClientId: legacyId, Username: 'dave' }, 'InvalidParameterException');
    assert.equal(error.message, 'User is already confirmed.');
    await openRefused('ResendConfirmationCode', { ClientId: legacyId, Username: 'nobody' }, 'UserNotFoundException');

    const before = outboxMessages(dir, 'dave@example.test').length;
    const hidden = await open('ResendConfirmationCode', { ClientId: appId, Username: 'dave' });
    const unknown = await open('ResendConfirmationCode', { ClientId: appId, Username: 'nobody' });
    for (const answer of [hidden, unknown]) {
      assert.equal(answer.CodeDeliveryDetails.DeliveryMedium, 'EMAIL');
      assert.equal(answer.CodeDeliveryDetails.AttributeName, 'email');
    }
    assert.match(hidden.CodeDeliveryDetails.Destination, /^d\*\*\*@[a-z]\*\*\*$/);
    assert.match(unknown.CodeDeliveryDetails.Destination, /^n\*\*\*@[a-z]\*\*\*$/);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(outboxMessages(dir, 'dave@example.test').length, before, 'no code goes to a confirmed account');
  });

  test('ForgotPassword, ConfirmForgotPassword (code from the outbox)', async () => {
    const sent = await open('ForgotPassword', { ClientId: appId, Username: 'dave' });
    assert.deepEqual(sent.CodeDeliveryDetails, { Destination: 'd***@e***', DeliveryMedium: 'EMAIL', AttributeName: 'email' });
    const code = await outboxCode(dir, 'dave@example.test', { pattern: /reset code is (\d{6})\b/ });
    const wrongCode = code === '000000' ? '111111' : '000000';
    await openRefused('ConfirmForgotPassword', {
      ClientId: appId, Username: 'dave', ConfirmationCode: wrongCode, Password: NEW_PASSWORD,
    }, 'CodeMismatchException');
    await openRefused('ConfirmForgotPassword', {
      ClientId: appId, Username: 'dave', ConfirmationCode: code, Password: 'weak',
    }, 'InvalidPasswordException');
    await open('ConfirmForgotPassword', { ClientId: appId, Username: 'dave', ConfirmationCode: code, Password: NEW_PASSWORD });
    await openRefused('InitiateAuth', {
      ClientId: appId, AuthFlow: 'USER_PASSWORD_AUTH', AuthParameters: { USERNAME: 'dave', PASSWORD },
    }, 'NotAuthorizedException');
    tokens.dave = (await passwordAuth('dave', NEW_PASSWORD)).AuthenticationResult;
    assertTokens(tokens.dave, 'dave');
    await openRefused('ForgotPassword', { ClientId: backendId, Username: 'dave' }, 'NotAuthorizedException');
  });

  test('GetUser, UpdateUserAttributes, DeleteUserAttributes, ChangePassword (access token)', async () => {
    const AccessToken = tokens.dave.AccessToken;
    const me = await open('GetUser', { AccessToken });
    assert.equal(me.Username, 'dave');
    assert.equal(asMap(me.UserAttributes).email, 'dave@example.test');
    assert.equal(asMap(me.UserAttributes).name, 'Dave');
    const bad = await openRefused('GetUser', { AccessToken: tokens.dave.IdToken }, 'NotAuthorizedException');
    assert.match(bad.message, /Access Token/i, 'an ID token is not an access token');
    await openRefused('GetUser', { AccessToken: 'eyJ.not.a-token' }, 'NotAuthorizedException');

    await open('UpdateUserAttributes', { AccessToken, UserAttributes: attrs({ name: 'David', family_name: 'D' }) });
    let map = asMap((await open('GetUser', { AccessToken })).UserAttributes);
    assert.equal(map.name, 'David');
    assert.equal(map.family_name, 'D');
    const vouched = await openRefused('UpdateUserAttributes', {
      AccessToken, UserAttributes: attrs({ email_verified: 'true' }),
    }, 'NotAuthorizedException');
    assert.match(vouched.message, /unauthorized attribute/);
    await open('DeleteUserAttributes', { AccessToken, UserAttributeNames: ['family_name'] });
    map = asMap((await open('GetUser', { AccessToken })).UserAttributes);
    assert.equal(map.family_name, undefined);
    await openRefused('DeleteUserAttributes', { AccessToken, UserAttributeNames: ['sub'] }, 'InvalidParameterException');

    const wrong = await openRefused('ChangePassword', {
      AccessToken, PreviousPassword: PASSWORD, ProposedPassword: 'An0ther-Passw0rd',
    }, 'NotAuthorizedException');
    assert.equal(wrong.message, 'Incorrect username or password.');
    await openRefused('ChangePassword', { AccessToken, PreviousPassword: NEW_PASSWORD, ProposedPassword: 'weak' },
      'InvalidPasswordException');
    await open('ChangePassword', { AccessToken, PreviousPassword: NEW_PASSWORD, ProposedPassword: 'An0ther-Passw0rd' });
    await openRefused('InitiateAuth', {
      ClientId: appId, AuthFlow: 'USER_PASSWORD_AUTH', AuthParameters: { USERNAME: 'dave', PASSWORD: NEW_PASSWORD },
    }, 'NotAuthorizedException');
    assertTokens((await passwordAuth('dave', 'An0ther-Passw0rd')).AuthenticationResult, 'dave');
  });

  test('UpdateUserAttributes of email: a code goes to the new address, which is unverified until then', async () => {
    const AccessToken = tokens.dave.AccessToken;
    const changed = await open('UpdateUserAttributes', { AccessToken, UserAttributes: attrs({ email: 'dave.new@example.test' }) });
    const map = asMap((await open('GetUser', { AccessToken })).UserAttributes);
    assert.equal(map.email, 'dave.new@example.test');
    assert.equal(map.email_verified, 'false', 'a new address is not verified');
    await outboxCode(dir, 'dave.new@example.test', { timeoutMs: 1_000 });
    assert.deepEqual(changed.CodeDeliveryDetailsList,
      [{ Destination: 'd***@e***', DeliveryMedium: 'EMAIL', AttributeName: 'email' }],
      'Cognito answers where the verification code went');
  });

  test('GetUserAttributeVerificationCode, VerifyUserAttribute: the new address verified by its code', async () => {
    const AccessToken = tokens.dave.AccessToken;
    const to = 'dave.new@example.test';
    const seen = new Set(outboxMessages(dir, to).map((m) => m.name));
    const sent = await open('GetUserAttributeVerificationCode', { AccessToken, AttributeName: 'email' });
    assert.deepEqual(sent.CodeDeliveryDetails, { Destination: 'd***@e***', DeliveryMedium: 'EMAIL', AttributeName: 'email' });
    const code = await outboxCode(dir, to, { seen });
    await openRefused('GetUserAttributeVerificationCode', { AccessToken: 'eyJ.not.a-token', AttributeName: 'email' },
      'NotAuthorizedException');
    await openRefused('GetUserAttributeVerificationCode', { AccessToken, AttributeName: 'phone_number' }, 'InvalidParameterException');

    const wrongCode = code === '000000' ? '111111' : '000000';
    await openRefused('VerifyUserAttribute', { AccessToken, AttributeName: 'email', Code: wrongCode }, 'CodeMismatchException');
    await openRefused('VerifyUserAttribute', { AccessToken: tokens.dave.IdToken, AttributeName: 'email', Code: code },
      'NotAuthorizedException');
    assert.equal(asMap((await open('GetUser', { AccessToken })).UserAttributes).email_verified, 'false');
    await open('VerifyUserAttribute', { AccessToken, AttributeName: 'email', Code: code });
    const map = asMap((await open('GetUser', { AccessToken })).UserAttributes);
    assert.equal(map.email, to);
    assert.equal(map.email_verified, 'true');
    await openRefused('VerifyUserAttribute', { AccessToken, AttributeName: 'email', Code: code }, 'CodeMismatchException');
  });

  test('AssociateSoftwareToken, VerifySoftwareToken, SetUserMFAPreference, then SOFTWARE_TOKEN_MFA', async () => {
    const AccessToken = tokens.bob.AccessToken;
    await openRefused('SetUserMFAPreference', {
      AccessToken, SoftwareTokenMfaSettings: { Enabled: true, PreferredMfa: true },
    }, 'InvalidParameterException');
    const { SecretCode: secret } = await open('AssociateSoftwareToken', { AccessToken });
    assert.match(secret, /^[A-Z2-7]{16,}=*$/, 'a base32 secret');
    await openRefused('AssociateSoftwareToken', {}, 'InvalidParameterException');
    const used = (totpUsed.bob = {});
    await openRefused('VerifySoftwareToken', { AccessToken: 'eyJ.not.a-token', UserCode: '123456' }, 'NotAuthorizedException');
    const verified = await open('VerifySoftwareToken', { AccessToken, UserCode: await freshTotp(secret, used), FriendlyDeviceName: 'phone' });
    assert.equal(verified.Status, 'SUCCESS');
    await open('SetUserMFAPreference', { AccessToken, SoftwareTokenMfaSettings: { Enabled: true, PreferredMfa: true } });
    const me = await open('GetUser', { AccessToken });
    assert.equal(me.PreferredMfaSetting, 'SOFTWARE_TOKEN_MFA');
    assert.deepEqual(me.UserMFASettingList, ['SOFTWARE_TOKEN_MFA']);

    const challenged = await passwordAuth('bob', NEW_PASSWORD);
    assert.equal(challenged.ChallengeName, 'SOFTWARE_TOKEN_MFA');
    assert.ok(challenged.Session);
    assert.equal(challenged.AuthenticationResult, undefined);
    await openRefused('RespondToAuthChallenge', {
      ClientId: appId, ChallengeName: 'SOFTWARE_TOKEN_MFA', Session: challenged.Session,
      ChallengeResponses: { USERNAME: 'bob', SOFTWARE_TOKEN_MFA_CODE: '12345' },
    }, 'CodeMismatchException');
    const again = await passwordAuth('bob', NEW_PASSWORD);
    const done = await open('RespondToAuthChallenge', {
      ClientId: appId, ChallengeName: 'SOFTWARE_TOKEN_MFA', Session: again.Session,
      ChallengeResponses: { USERNAME: 'bob', SOFTWARE_TOKEN_MFA_CODE: await freshTotp(secret, used) },
    });
    assertTokens(done.AuthenticationResult, 'bob');
    tokens.bob = done.AuthenticationResult;

    await open('SetUserMFAPreference', { AccessToken: tokens.bob.AccessToken, SoftwareTokenMfaSettings: { Enabled: false, PreferredMfa: false } });
    assert.ok((await passwordAuth('bob', NEW_PASSWORD)).AuthenticationResult, 'no MFA step once turned off');
  });

  test('VerifySoftwareToken with a wrong code: EnableSoftwareTokenMFAException "Code mismatch", as Cognito says it', async () => {
    const AccessToken = tokens.carol.AccessToken;
    const { SecretCode: secret } = await open('AssociateSoftwareToken', { AccessToken });
    const wrongCode = (await freshTotp(secret, {})) === '000000' ? '111111' : '000000';
    const mismatch = await openRefused('VerifySoftwareToken', { AccessToken, UserCode: wrongCode }, 'EnableSoftwareTokenMFAException');
    assert.match(mismatch.message, /Code mismatch/);
  });

  test('InitiateAuth REFRESH_TOKEN_AUTH, GetTokensFromRefreshToken, RevokeToken', async () => {
    const refreshed = await open('InitiateAuth', {
      ClientId: appId, AuthFlow: 'REFRESH_TOKEN_AUTH', AuthParameters: { REFRESH_TOKEN: tokens.bob.RefreshToken },
    });
    assertTokens(refreshed.AuthenticationResult, 'bob');
    assert.equal(refreshed.AuthenticationResult.RefreshToken, undefined, 'no rotation: the refresh token stays');
    const fromRefresh = await open('GetTokensFromRefreshToken', { ClientId: appId, RefreshToken: tokens.bob.RefreshToken });
    assertTokens(fromRefresh.AuthenticationResult, 'bob');
    const invalid = await openRefused('GetTokensFromRefreshToken', { ClientId: appId, RefreshToken: 'not-a-refresh-token' },
      'NotAuthorizedException');
    assert.equal(invalid.message, 'Invalid Refresh Token');

    // The confidential client: its secret (GetTokensFromRefreshToken), its SECRET_HASH (InitiateAuth).
    await openRefused('GetTokensFromRefreshToken', { ClientId: backendId, RefreshToken: tokens.carol.RefreshToken },
      'NotAuthorizedException');
    const withSecret = await open('GetTokensFromRefreshToken', {
      ClientId: backendId, ClientSecret: backendSecret, RefreshToken: tokens.carol.RefreshToken,
    });
    assertTokens(withSecret.AuthenticationResult, 'carol', backendId);
    const withHash = await call('AdminInitiateAuth', {
      UserPoolId: poolId, ClientId: backendId, AuthFlow: 'REFRESH_TOKEN_AUTH',
      AuthParameters: { REFRESH_TOKEN: tokens.carol.RefreshToken, SECRET_HASH: secretHash(backendSecret, 'carol', backendId) },
    });
    assertTokens(withHash.AuthenticationResult, 'carol', backendId);

    await openRefused('RevokeToken', { ClientId: appId, Token: tokens.bob.AccessToken }, 'UnsupportedTokenTypeException');
    await openRefused('RevokeToken', { ClientId: backendId, Token: tokens.carol.RefreshToken }, 'NotAuthorizedException');
    await open('RevokeToken', { ClientId: appId, Token: tokens.bob.RefreshToken });
    await openRefused('InitiateAuth', {
      ClientId: appId, AuthFlow: 'REFRESH_TOKEN_AUTH', AuthParameters: { REFRESH_TOKEN: tokens.bob.RefreshToken },
    }, 'NotAuthorizedException');
    const revoked = await openRefused('GetUser', { AccessToken: fromRefresh.AuthenticationResult.AccessToken }, 'NotAuthorizedException');
    assert.match(revoked.message, /revoked/, 'the access tokens of a revoked refresh token are revoked too');
    await open('RevokeToken', { ClientId: backendId, ClientSecret: backendSecret, Token: tokens.carol.RefreshToken });
  });

  test('GlobalSignOut: the access token is refused after, the refresh token too', async () => {
    const signedIn = (await passwordAuth('dave', 'An0ther-Passw0rd')).AuthenticationResult;
    await open('GlobalSignOut', { AccessToken: signedIn.AccessToken });
    const refusedAfter = await openRefused('GetUser', { AccessToken: signedIn.AccessToken }, 'NotAuthorizedException');
    assert.equal(refusedAfter.message, 'Access Token has been revoked');
    await openRefused('GlobalSignOut', { AccessToken: signedIn.AccessToken }, 'NotAuthorizedException');
    await openRefused('InitiateAuth', {
      ClientId: appId, AuthFlow: 'REFRESH_TOKEN_AUTH', AuthParameters: { REFRESH_TOKEN: signedIn.RefreshToken },
    }, 'NotAuthorizedException');
  });

  test('DeleteUser: the user is gone, their token refused', async () => {
    const signedIn = (await passwordAuth('dave', 'An0ther-Passw0rd')).AuthenticationResult;
    await open('DeleteUser', { AccessToken: signedIn.AccessToken });
    await refused('AdminGetUser', { UserPoolId: poolId, Username: 'dave' }, 'UserNotFoundException');
    await openRefused('DeleteUser', { AccessToken: signedIn.AccessToken }, 'NotAuthorizedException');
    await openRefused('InitiateAuth', {
      ClientId: appId, AuthFlow: 'USER_PASSWORD_AUTH', AuthParameters: { USERNAME: 'dave', PASSWORD: 'An0ther-Passw0rd' },
    }, 'NotAuthorizedException');
  });
});

// Remembered devices through the SDK, in a pool of their own with a DeviceConfiguration: a
// sign-in gets NewDeviceMetadata, the device is confirmed with an SRP verifier made as
// amazon-cognito-identity-js makes it, then read, listed, remembered and forgotten, by the user
// (access token, unsigned) and by the administrator (signed). DEVICE_SRP_AUTH itself is driven
// by amazon-cognito-identity-js in sign-in.test.js.
describe('remembered devices through @aws-sdk/client-cognito-identity-provider', () => {
  let anon;
  let poolId;
  let appId;
  const devices = {};
  let signedIn;

  const open = (op, input) => anon.send(new cognito[`${op}Command`](input));
  const openRefused = (op, input, name) => refusedBy(open, op, input, name);
  const passwordAuth = (username, password) => open('InitiateAuth', {
    ClientId: appId, AuthFlow: 'USER_PASSWORD_AUTH', AuthParameters: { USERNAME: username, PASSWORD: password },
  });
  const deviceAttrs = (device) => asMap(device.DeviceAttributes);

  before(() => {
    anon = newAnonymousClient();
  });

  after(async () => {
    anon?.destroy();
    if (poolId) await call('DeleteUserPool', { UserPoolId: poolId }).catch(() => {});
  });

  test('a sign-in in a pool with a DeviceConfiguration: NewDeviceMetadata, device_key in the access token', async () => {
    ({ UserPool: { Id: poolId } } = await call('CreateUserPool', {
      PoolName: 'sdk-devices',
      DeviceConfiguration: { ChallengeRequiredOnNewDevice: true, DeviceOnlyRememberedOnUserPrompt: true },
    }));
    const { UserPool: pool } = await call('DescribeUserPool', { UserPoolId: poolId });
    assert.deepEqual(pool.DeviceConfiguration, { ChallengeRequiredOnNewDevice: true, DeviceOnlyRememberedOnUserPrompt: true });
    ({ UserPoolClient: { ClientId: appId } } = await call('CreateUserPoolClient', {
      UserPoolId: poolId, ClientName: 'app', ExplicitAuthFlows: ['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'],
    }));
    await call('AdminCreateUser', {
      UserPoolId: poolId, Username: 'erin', MessageAction: 'SUPPRESS', UserAttributes: attrs({ email: 'erin@example.test' }),
    });
    await call('AdminSetUserPassword', { UserPoolId: poolId, Username: 'erin', Password: PASSWORD, Permanent: true });

    const first = (await passwordAuth('erin', PASSWORD)).AuthenticationResult;
    const meta = first.NewDeviceMetadata;
    assert.ok(meta, 'a new device for a sign-in that named none');
    assert.match(meta.DeviceKey, /^us-east-1_[0-9a-f-]{36}$/);
    assert.match(meta.DeviceGroupKey, /^\S+$/);
    assert.equal(jwtPayload(first.AccessToken).device_key, meta.DeviceKey);
    devices.first = meta;
    signedIn = first;

    const second = (await passwordAuth('erin', PASSWORD)).AuthenticationResult;
    assert.ok(second.NewDeviceMetadata);
    assert.notEqual(second.NewDeviceMetadata.DeviceKey, meta.DeviceKey, 'each sign-in without a device gets its own');
    devices.second = second.NewDeviceMetadata;
  });

  test('ConfirmDevice with an SRP verifier (AuthenticationHelper.generateHashDevice)', async () => {
    const AccessToken = signedIn.AccessToken;
    const verifier = await deviceVerifier(poolId, devices.first.DeviceGroupKey, devices.first.DeviceKey);
    await openRefused('ConfirmDevice', {
      AccessToken, DeviceKey: 'us-east-1_00000000-0000-4000-8000-000000000000', DeviceSecretVerifierConfig: verifier,
    }, 'ResourceNotFoundException');
    await openRefused('ConfirmDevice', {
      AccessToken: 'eyJ.not.a-token', DeviceKey: devices.first.DeviceKey, DeviceSecretVerifierConfig: verifier,
    }, 'NotAuthorizedException');
    const confirmed = await open('ConfirmDevice', {
      AccessToken, DeviceKey: devices.first.DeviceKey, DeviceSecretVerifierConfig: verifier, DeviceName: 'laptop',
    });
    assert.equal(confirmed.UserConfirmationNecessary, true, 'DeviceOnlyRememberedOnUserPrompt: the user is asked');
  });

  test('GetDevice, ListDevices, UpdateDeviceStatus (access token)', async () => {
    const AccessToken = signedIn.AccessToken;
    const { Device: device } = await open('GetDevice', { AccessToken, DeviceKey: devices.first.DeviceKey });
    assert.equal(device.DeviceKey, devices.first.DeviceKey);
    assert.equal(deviceAttrs(device).device_name, 'laptop');
    assert.notEqual(deviceAttrs(device).device_remembered_status, 'remembered', 'not remembered until the user says so');
    assert.ok(device.DeviceCreateDate instanceof Date && device.DeviceLastModifiedDate instanceof Date);
    assert.ok(device.DeviceLastAuthenticatedDate instanceof Date);
    await openRefused('GetDevice', { AccessToken, DeviceKey: 'us-east-1_00000000-0000-4000-8000-000000000000' },
      'ResourceNotFoundException');

    await open('UpdateDeviceStatus', { AccessToken, DeviceKey: devices.first.DeviceKey, DeviceRememberedStatus: 'remembered' });
    let got = (await open('GetDevice', { AccessToken, DeviceKey: devices.first.DeviceKey })).Device;
    assert.equal(deviceAttrs(got).device_remembered_status, 'remembered');
    await open('UpdateDeviceStatus', { AccessToken, DeviceKey: devices.first.DeviceKey, DeviceRememberedStatus: 'not_remembered' });
    got = (await open('GetDevice', { AccessToken, DeviceKey: devices.first.DeviceKey })).Device;
    assert.equal(deviceAttrs(got).device_remembered_status, 'not_remembered');
    await open('UpdateDeviceStatus', { AccessToken, DeviceKey: devices.first.DeviceKey, DeviceRememberedStatus: 'remembered' });
    await openRefused('UpdateDeviceStatus', {
      AccessToken, DeviceKey: 'us-east-1_00000000-0000-4000-8000-000000000000', DeviceRememberedStatus: 'remembered',
    }, 'ResourceNotFoundException');

    const { Devices: listed } = await open('ListDevices', { AccessToken, Limit: 10 });
    assert.ok(listed.some((d) => d.DeviceKey === devices.first.DeviceKey), JSON.stringify(listed));
    const page = await open('ListDevices', { AccessToken, Limit: 1 });
    assert.equal(page.Devices.length, 1);
    if (listed.length > 1) {
      assert.ok(page.PaginationToken, 'ListDevices pages');
      const rest = await open('ListDevices', { AccessToken, Limit: 10, PaginationToken: page.PaginationToken });
      assert.deepEqual([...page.Devices, ...rest.Devices].map((d) => d.DeviceKey).sort(), listed.map((d) => d.DeviceKey).sort());
    }
    await openRefused('ListDevices', { AccessToken: 'eyJ.not.a-token' }, 'NotAuthorizedException');
  });

  test('AdminGetDevice, AdminListDevices, AdminUpdateDeviceStatus, AdminForgetDevice (signed)', async () => {
    const who = { UserPoolId: poolId, Username: 'erin' };
    const { Device: device } = await call('AdminGetDevice', { ...who, DeviceKey: devices.first.DeviceKey });
    assert.equal(device.DeviceKey, devices.first.DeviceKey);
    assert.equal(deviceAttrs(device).device_remembered_status, 'remembered');
    await refused('AdminGetDevice', { ...who, DeviceKey: 'us-east-1_00000000-0000-4000-8000-000000000000' }, 'ResourceNotFoundException');
    await refused('AdminGetDevice', { UserPoolId: poolId, Username: 'nobody', DeviceKey: devices.first.DeviceKey },
      'UserNotFoundException');

    await call('AdminUpdateDeviceStatus', { ...who, DeviceKey: devices.first.DeviceKey, DeviceRememberedStatus: 'not_remembered' });
    const changed = (await call('AdminGetDevice', { ...who, DeviceKey: devices.first.DeviceKey })).Device;
    assert.equal(deviceAttrs(changed).device_remembered_status, 'not_remembered');
    await refused('AdminUpdateDeviceStatus', {
      ...who, DeviceKey: 'us-east-1_00000000-0000-4000-8000-000000000000', DeviceRememberedStatus: 'remembered',
    }, 'ResourceNotFoundException');

    const { Devices: listed } = await call('AdminListDevices', { ...who, Limit: 60 });
    assert.ok(listed.some((d) => d.DeviceKey === devices.first.DeviceKey), JSON.stringify(listed));
    await refused('AdminListDevices', { UserPoolId: MISSING_POOL, Username: 'erin' }, 'ResourceNotFoundException');

    await call('AdminForgetDevice', { ...who, DeviceKey: devices.second.DeviceKey });
    await refused('AdminGetDevice', { ...who, DeviceKey: devices.second.DeviceKey }, 'ResourceNotFoundException');
    await refused('AdminForgetDevice', { ...who, DeviceKey: devices.second.DeviceKey }, 'ResourceNotFoundException');
  });

  test('ForgetDevice: gone from the list, a second forget refused', async () => {
    const AccessToken = signedIn.AccessToken;
    await open('ForgetDevice', { AccessToken, DeviceKey: devices.first.DeviceKey });
    await openRefused('GetDevice', { AccessToken, DeviceKey: devices.first.DeviceKey }, 'ResourceNotFoundException');
    await openRefused('ForgetDevice', { AccessToken, DeviceKey: devices.first.DeviceKey }, 'ResourceNotFoundException');
    const { Devices: left } = await call('AdminListDevices', { UserPoolId: poolId, Username: 'erin' });
    assert.deepEqual(left.map((d) => d.DeviceKey).filter((k) => k === devices.first.DeviceKey || k === devices.second.DeviceKey), []);
    await openRefused('ConfirmDevice', {
      AccessToken, DeviceKey: devices.first.DeviceKey,
      DeviceSecretVerifierConfig: await deviceVerifier(poolId, devices.first.DeviceGroupKey, devices.first.DeviceKey),
    }, 'ResourceNotFoundException');
  });
});

// Passkeys and sign-in factors through the SDK: a user registers a passkey made in this process
// (soft-passkey.js) with their access token, lists it, signs in with it (USER_AUTH, WEB_AUTHN) and
// deletes it; the auth factors by the user and by the administrator. The browser ceremonies are
// passkeys.test.js's and passkey-pages.test.js's.
describe('passkeys and sign-in factors through @aws-sdk/client-cognito-identity-provider', () => {
  let anon;
  let poolId;

  const open = (op, input) => anon.send(new cognito[`${op}Command`](input));
  const openRefused = (op, input, name) => refusedBy(open, op, input, name);

  before(() => {
    anon = newAnonymousClient();
  });

  after(async () => {
    anon?.destroy();
    if (poolId) await call('DeleteUserPool', { UserPoolId: poolId }).catch(() => {});
  });

  test('a passkey registered, listed, signed in with and deleted; the user\'s auth factors', async () => {
    ({ UserPool: { Id: poolId } } = await call('CreateUserPool', {
      PoolName: 'sdk-passkeys',
      Policies: { SignInPolicy: { AllowedFirstAuthFactors: ['PASSWORD', 'WEB_AUTHN'] } },
    }));
    await call('SetUserPoolMfaConfig', {
      UserPoolId: poolId, WebAuthnConfiguration: { RelyingPartyId: 'localhost', UserVerification: 'required' },
    });
    const { UserPoolClient: { ClientId: appId } } = await call('CreateUserPoolClient', {
      UserPoolId: poolId, ClientName: 'app', ExplicitAuthFlows: ['ALLOW_USER_AUTH', 'ALLOW_USER_PASSWORD_AUTH'],
    });
    await call('AdminCreateUser', { UserPoolId: poolId, Username: 'pia', MessageAction: 'SUPPRESS' });
    await call('AdminSetUserPassword', { UserPoolId: poolId, Username: 'pia', Password: PASSWORD, Permanent: true });
    const { AuthenticationResult: { AccessToken } } = await open('InitiateAuth', {
      ClientId: appId, AuthFlow: 'USER_PASSWORD_AUTH', AuthParameters: { USERNAME: 'pia', PASSWORD },
    });
    const mine = await open('GetUserAuthFactors', { AccessToken });
    assert.equal(mine.Username, 'pia');
    assert.deepEqual(mine.ConfiguredUserAuthFactors, ['PASSWORD']);

    const { CredentialCreationOptions: options } = await open('StartWebAuthnRegistration', { AccessToken });
    assert.equal(options.rp.id, 'localhost');
    assert.equal(options.authenticatorSelection.userVerification, 'required');
    assert.deepEqual(options.excludeCredentials, []);
    const key = new SoftPasskey('http://localhost:3000');
    const credential = key.register(options);
    await open('CompleteWebAuthnRegistration', { AccessToken, Credential: credential });
    await openRefused('CompleteWebAuthnRegistration', { AccessToken, Credential: credential },
      'WebAuthnChallengeNotFoundException');
    const { Credentials: listed } = await open('ListWebAuthnCredentials', { AccessToken, MaxResults: 10 });
    assert.equal(listed.length, 1);
    assert.equal(listed[0].CredentialId, key.id);
    assert.equal(listed[0].RelyingPartyId, 'localhost');
    assert.deepEqual(listed[0].AuthenticatorTransports, ['internal']);
    const theirs = await call('AdminGetUserAuthFactors', { UserPoolId: poolId, Username: 'pia' });
    assert.deepEqual([...theirs.ConfiguredUserAuthFactors].sort(), ['PASSWORD', 'WEB_AUTHN']);

    const step = await open('InitiateAuth', {
      ClientId: appId, AuthFlow: 'USER_AUTH', AuthParameters: { USERNAME: 'pia', PREFERRED_CHALLENGE: 'WEB_AUTHN' },
    });
    assert.equal(step.ChallengeName, 'WEB_AUTHN');
    const request = JSON.parse(step.ChallengeParameters.CREDENTIAL_REQUEST_OPTIONS);
    assert.deepEqual(request.allowCredentials.map((c) => c.id), [key.id]);
    const done = await open('RespondToAuthChallenge', {
      ClientId: appId, ChallengeName: 'WEB_AUTHN', Session: step.Session,
      ChallengeResponses: { USERNAME: 'pia', CREDENTIAL: key.assert(request) },
    });
    assert.equal(jwtPayload(done.AuthenticationResult.AccessToken).username, 'pia');

    await open('DeleteWebAuthnCredential', { AccessToken, CredentialId: key.id });
    assert.deepEqual((await open('ListWebAuthnCredentials', { AccessToken })).Credentials, []);
    await openRefused('DeleteWebAuthnCredential', { AccessToken, CredentialId: key.id }, 'ResourceNotFoundException');
  });
});

describe('the Cognito API through @aws-sdk/client-cognito-identity-provider', () => {
  let poolId;
  let poolArn;
  let clientId;

  test('CreateUserPool, CreateUserPoolClient, AdminCreateUser, ListUsers', async () => {
    const { UserPool: pool } = await call('CreateUserPool', {
      PoolName: 'sdk-test',
      Policies: { PasswordPolicy: { MinimumLength: 10, RequireNumbers: true } },
      DeletionProtection: 'ACTIVE',
      UsernameConfiguration: { CaseSensitive: false },
      AutoVerifiedAttributes: ['email'],
      UserPoolTags: { team: 'identity' },
    });
    poolId = pool.Id;
    poolArn = pool.Arn;
    assert.match(poolId, /^us-east-1_[0-9A-Za-z]+$/);
    assert.equal(pool.Name, 'sdk-test');
    assert.ok(pool.CreationDate instanceof Date, 'the SDK parses the dates');
    assert.ok(poolArn.endsWith(`:userpool/${poolId}`), poolArn);

    const { UserPoolClient: client } = await call('CreateUserPoolClient', {
      UserPoolId: poolId,
      ClientName: 'web',
      GenerateSecret: true,
      AllowedOAuthFlowsUserPoolClient: true,
      AllowedOAuthFlows: ['code'],
      AllowedOAuthScopes: ['openid', 'email'],
      CallbackURLs: [REDIRECT_URI],
      SupportedIdentityProviders: ['COGNITO'],
    });
    clientId = client.ClientId;
    assert.equal(client.UserPoolId, poolId);
    assert.ok(client.ClientSecret?.length >= 40, 'the secret is returned once');

    const { User: user } = await call('AdminCreateUser', {
      UserPoolId: poolId,
      Username: 'Alice',
      UserAttributes: attrs({ email: 'alice@example.test', email_verified: 'true', name: 'Alice' }),
      TemporaryPassword: 'Temp-Passw0rd',
      MessageAction: 'SUPPRESS',
    });
    assert.equal(user.Username, 'alice', 'stored lowercased in a case-insensitive pool');
    assert.equal(user.UserStatus, 'FORCE_CHANGE_PASSWORD');
    assert.equal(user.Enabled, true);
    assert.equal(asMap(user.Attributes).email, 'alice@example.test');

    const { Users: users } = await call('ListUsers', { UserPoolId: poolId, Filter: 'username = "alice"' });
    assert.deepEqual(users.map((u) => u.Username), ['alice']);
    const { Users: byEmail } = await call('ListUsers', { UserPoolId: poolId, Filter: 'email ^= "ALICE@"', Limit: 10 });
    assert.deepEqual(byEmail.map((u) => u.Username), ['alice'], 'email matches without case');
    const { Users: none } = await call('ListUsers', { UserPoolId: poolId, Filter: 'username = "nobody"' });
    assert.deepEqual(none, []);
  });

  test('the service errors, as the SDK names them', async () => {
    await refused('DescribeUserPool', { UserPoolId: MISSING_POOL }, 'ResourceNotFoundException');
    await refused('ListUsers', { UserPoolId: MISSING_POOL }, 'ResourceNotFoundException');
    const dup = await refused('AdminCreateUser', { UserPoolId: poolId, Username: 'ALICE', MessageAction: 'SUPPRESS' },
      'UsernameExistsException');
    assert.ok(dup instanceof cognito.UsernameExistsException, 'a modelled exception is its own class');
    const badAttr = await refused('ListUsers', { UserPoolId: poolId, Filter: 'shoe_size = "9"' }, 'InvalidParameterException');
    assert.match(badAttr.message, /shoe_size/);
    await refused('ListUsers', { UserPoolId: poolId, Filter: 'username = ' }, 'InvalidParameterException');
    await refused('AdminGetUser', { UserPoolId: poolId, Username: 'nobody' }, 'UserNotFoundException');
    await refused('AdminCreateUser', { UserPoolId: poolId, Username: 'weak', TemporaryPassword: 'short', MessageAction: 'SUPPRESS' },
      'InvalidPasswordException');
    await refused('CreateGroup', { UserPoolId: MISSING_POOL, GroupName: 'g' }, 'ResourceNotFoundException');
  });

  test('pools: DescribeUserPool, ListUserPools, UpdateUserPool', async () => {
    const { UserPool: pool } = await call('DescribeUserPool', { UserPoolId: poolId });
    assert.equal(pool.Id, poolId);
    assert.equal(pool.DeletionProtection, 'ACTIVE');
    assert.equal(pool.EstimatedNumberOfUsers, 1);
    await call('CreateUserPool', { PoolName: 'sdk-second' });
    const first = await call('ListUserPools', { MaxResults: 1 });
    assert.equal(first.UserPools.length, 1);
    assert.ok(first.NextToken, 'ListUserPools pages');
    const rest = await call('ListUserPools', { MaxResults: 60, NextToken: first.NextToken });
    assert.deepEqual([...first.UserPools, ...rest.UserPools].map((p) => p.Name).sort(), ['sdk-second', 'sdk-test']);

    await call('UpdateUserPool', {
      UserPoolId: poolId,
      DeletionProtection: 'ACTIVE',
      AutoVerifiedAttributes: ['email'],
      Policies: { PasswordPolicy: { MinimumLength: 12, RequireNumbers: true } },
      UserPoolTags: { team: 'identity', env: 'test' },
    });
    const { UserPool: updated } = await call('DescribeUserPool', { UserPoolId: poolId });
    assert.equal(updated.Policies.PasswordPolicy.MinimumLength, 12);
    assert.deepEqual(updated.UserPoolTags, { team: 'identity', env: 'test' });
    assert.equal(updated.Name, 'sdk-test', 'the name stays when not given');

    await call('AddCustomAttributes', {
      UserPoolId: poolId, CustomAttributes: [{ Name: 'tier', AttributeDataType: 'String', Mutable: true }],
    });
    const { UserPool: withTier } = await call('DescribeUserPool', { UserPoolId: poolId });
    assert.ok(withTier.SchemaAttributes.some((a) => a.Name === 'custom:tier'), 'the custom attribute is in the schema');
    await refused('AddCustomAttributes', {
      UserPoolId: poolId, CustomAttributes: [{ Name: 'tier', AttributeDataType: 'String' }],
    }, 'InvalidParameterException');

    const { Certificate: certificate } = await call('GetSigningCertificate', { UserPoolId: poolId });
    assert.equal(Buffer.from(certificate, 'base64')[0], 0x30, 'a base64 DER certificate');
    await refused('GetSigningCertificate', { UserPoolId: MISSING_POOL }, 'ResourceNotFoundException');
  });

  test('app clients: DescribeUserPoolClient, ListUserPoolClients, UpdateUserPoolClient, DeleteUserPoolClient', async () => {
    const { UserPoolClient: shown } = await call('DescribeUserPoolClient', { UserPoolId: poolId, ClientId: clientId });
    assert.equal(shown.ClientName, 'web');
    assert.deepEqual(shown.CallbackURLs, [REDIRECT_URI]);

    // Secret rotation: a confidential client holds one or two secrets.
    const { ClientSecretDescriptor: added } = await call('AddUserPoolClientSecret', { UserPoolId: poolId, ClientId: clientId });
    assert.ok(added.ClientSecretId && added.ClientSecretValue?.length >= 24, 'the new secret is shown when made');
    assert.ok(added.ClientSecretCreateDate instanceof Date);
    const { ClientSecrets: secrets } = await call('ListUserPoolClientSecrets', { UserPoolId: poolId, ClientId: clientId });
    assert.equal(secrets.length, 2);
    assert.ok(secrets.some((s) => s.ClientSecretId === added.ClientSecretId));
    assert.ok(secrets.every((s) => s.ClientSecretValue === undefined), 'a listed secret has no value');
    await call('DeleteUserPoolClientSecret', { UserPoolId: poolId, ClientId: clientId, ClientSecretId: added.ClientSecretId });
    const { ClientSecrets: left } = await call('ListUserPoolClientSecrets', { UserPoolId: poolId, ClientId: clientId });
    assert.deepEqual(left.map((s) => s.ClientSecretId), secrets.filter((s) => s.ClientSecretId !== added.ClientSecretId).map((s) => s.ClientSecretId));
    await refused('DeleteUserPoolClientSecret', { UserPoolId: poolId, ClientId: clientId, ClientSecretId: left[0].ClientSecretId },
      'InvalidParameterException');
    await refused('ListUserPoolClientSecrets', { UserPoolId: poolId, ClientId: 'nosuchclient0000000000000' }, 'ResourceNotFoundException');

    const { UserPoolClient: other } = await call('CreateUserPoolClient', { UserPoolId: poolId, ClientName: 'spare' });
    const { UserPoolClients: listed } = await call('ListUserPoolClients', { UserPoolId: poolId, MaxResults: 10 });
    assert.deepEqual(listed.map((c) => c.ClientId).sort(), [clientId, other.ClientId].sort());

    const { UserPoolClient: renamed } = await call('UpdateUserPoolClient', {
      UserPoolId: poolId, ClientId: other.ClientId, ClientName: 'spare-2', RefreshTokenValidity: 10,
    });
    assert.equal(renamed.ClientName, 'spare-2');
    assert.equal(renamed.RefreshTokenValidity, 10);
    await refused('AddUserPoolClientSecret', { UserPoolId: poolId, ClientId: other.ClientId }, 'InvalidParameterException');

    await call('DeleteUserPoolClient', { UserPoolId: poolId, ClientId: other.ClientId });
    await refused('DescribeUserPoolClient', { UserPoolId: poolId, ClientId: other.ClientId }, 'ResourceNotFoundException');
  });

  test('domains and a self-registered user: CreateUserPoolDomain, AdminConfirmSignUp, Describe/Update/DeleteUserPoolDomain', async () => {
    const domain = `127.0.0.1:${server.port}`;
    const cert = `arn:aws:acm:${REGION}:000000000000:certificate/one`;
    const created = await call('CreateUserPoolDomain', { UserPoolId: poolId, Domain: domain, CustomDomainConfig: { CertificateArn: cert } });
    assert.equal(created.ManagedLoginVersion, 1);

    // The managed login now answers on this host: sign up there, then confirm as the admin.
    await signUpOnThePage(clientId, 'selfreg', 'selfreg@example.test');
    assert.equal((await call('AdminGetUser', { UserPoolId: poolId, Username: 'selfreg' })).UserStatus, 'UNCONFIRMED');
    await call('AdminConfirmSignUp', { UserPoolId: poolId, Username: 'selfreg' });
    assert.equal((await call('AdminGetUser', { UserPoolId: poolId, Username: 'selfreg' })).UserStatus, 'CONFIRMED');
    const again = await refused('AdminConfirmSignUp', { UserPoolId: poolId, Username: 'selfreg' }, 'NotAuthorizedException');
    assert.match(again.message, /CONFIRMED/);

    const { DomainDescription: described } = await call('DescribeUserPoolDomain', { Domain: domain });
    assert.equal(described.UserPoolId, poolId);
    assert.equal(described.Domain, domain);
    assert.equal(described.CustomDomainConfig?.CertificateArn, cert);
    const updated = await call('UpdateUserPoolDomain', { UserPoolId: poolId, Domain: domain, ManagedLoginVersion: 2 });
    assert.equal(updated.ManagedLoginVersion, 2);
    assert.equal((await call('DescribeUserPoolDomain', { Domain: domain })).DomainDescription.ManagedLoginVersion, 2);
    await call('DeleteUserPoolDomain', { UserPoolId: poolId, Domain: domain });
    const { DomainDescription: gone } = await call('DescribeUserPoolDomain', { Domain: domain });
    assert.deepEqual(gone, {}, 'an unknown domain is described empty, as Cognito does');
    await refused('DeleteUserPoolDomain', { UserPoolId: poolId, Domain: domain }, 'InvalidParameterException');
  });

  test('users: AdminGetUser, attributes, passwords, disable/enable, sign-out, reset, delete', async () => {
    const got = await call('AdminGetUser', { UserPoolId: poolId, Username: 'ALICE' });
    assert.equal(got.Username, 'alice');
    assert.equal(asMap(got.UserAttributes).name, 'Alice');

    await call('AdminUpdateUserAttributes', {
      UserPoolId: poolId, Username: 'alice', UserAttributes: attrs({ name: 'Alice A.', family_name: 'A', 'custom:tier': 'gold' }),
    });
    let map = asMap((await call('AdminGetUser', { UserPoolId: poolId, Username: 'alice' })).UserAttributes);
    assert.equal(map['custom:tier'], 'gold');
    assert.equal(map.name, 'Alice A.');
    assert.equal(map.family_name, 'A');
    await call('AdminDeleteUserAttributes', { UserPoolId: poolId, Username: 'alice', UserAttributeNames: ['family_name'] });
    map = asMap((await call('AdminGetUser', { UserPoolId: poolId, Username: 'alice' })).UserAttributes);
    assert.equal(map.family_name, undefined);
    await refused('AdminDeleteUserAttributes', { UserPoolId: poolId, Username: 'alice', UserAttributeNames: ['sub'] },
      'InvalidParameterException');

    await refused('AdminSetUserPassword', { UserPoolId: poolId, Username: 'alice', Password: 'weakweakweak', Permanent: true },
      'InvalidPasswordException');
    await call('AdminSetUserPassword', { UserPoolId: poolId, Username: 'alice', Password: PASSWORD, Permanent: true });
    assert.equal((await call('AdminGetUser', { UserPoolId: poolId, Username: 'alice' })).UserStatus, 'CONFIRMED');
    const { UserPoolClient: signInClient } = await call('CreateUserPoolClient', {
      UserPoolId: poolId, ClientName: 'password-sign-in', ExplicitAuthFlows: ['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'],
    });
    const signedIn = await call('InitiateAuth', {
      ClientId: signInClient.ClientId, AuthFlow: 'USER_PASSWORD_AUTH', AuthParameters: { USERNAME: 'alice', PASSWORD },
    });
    assert.ok(signedIn.AuthenticationResult.AccessToken);

    await call('AdminDisableUser', { UserPoolId: poolId, Username: 'alice' });
    assert.equal((await call('AdminGetUser', { UserPoolId: poolId, Username: 'alice' })).Enabled, false);
    await call('AdminEnableUser', { UserPoolId: poolId, Username: 'alice' });
    assert.equal((await call('AdminGetUser', { UserPoolId: poolId, Username: 'alice' })).Enabled, true);
    await call('AdminUserGlobalSignOut', { UserPoolId: poolId, Username: 'alice' });

    await call('AdminResetUserPassword', { UserPoolId: poolId, Username: 'alice' });
    assert.equal((await call('AdminGetUser', { UserPoolId: poolId, Username: 'alice' })).UserStatus, 'RESET_REQUIRED');

    // The sign-in above is in alice's audit trail (administrators' changes are listed only by
    // `userpool audit`: Cognito's EventType has no value for them).
    let events = [];
    for (let i = 0; i < 50 && events.length === 0; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 100)); // written in the background
      ({ AuthEvents: events } = await call('AdminListUserAuthEvents', { UserPoolId: poolId, Username: 'alice', MaxResults: 5 }));
    }
    assert.deepEqual(events.map((e) => [e.EventType, e.EventResponse]), [['SignIn', 'Pass']]);
    assert.deepEqual(events[0].ChallengeResponses, [{ ChallengeName: 'Password', ChallengeResponse: 'Success' }]);
    await call('AdminUpdateAuthEventFeedback', {
      UserPoolId: poolId, Username: 'alice', EventId: events[0].EventId, FeedbackValue: 'Valid',
    });

    await call('AdminCreateUser', { UserPoolId: poolId, Username: 'temp', MessageAction: 'SUPPRESS' });
    await call('AdminDeleteUser', { UserPoolId: poolId, Username: 'temp' });
    await refused('AdminDeleteUser', { UserPoolId: poolId, Username: 'temp' }, 'UserNotFoundException');
  });

  test('groups: Create/Get/Update/List/DeleteGroup, memberships', async () => {
    const { Group: group } = await call('CreateGroup', { UserPoolId: poolId, GroupName: 'admins', Description: 'A', Precedence: 1 });
    assert.equal(group.GroupName, 'admins');
    await refused('CreateGroup', { UserPoolId: poolId, GroupName: 'admins' }, 'GroupExistsException');
    assert.equal((await call('GetGroup', { UserPoolId: poolId, GroupName: 'admins' })).Group.Precedence, 1);
    const { Group: changed } = await call('UpdateGroup', { UserPoolId: poolId, GroupName: 'admins', Description: 'Admins' });
    assert.equal(changed.Description, 'Admins');
    assert.equal(changed.Precedence, 1, 'an omitted member is kept');
    await call('CreateGroup', { UserPoolId: poolId, GroupName: 'readers' });
    const page = await call('ListGroups', { UserPoolId: poolId, Limit: 1 });
    assert.deepEqual(page.Groups.map((g) => g.GroupName), ['admins']);
    const rest = await call('ListGroups', { UserPoolId: poolId, Limit: 10, NextToken: page.NextToken });
    assert.deepEqual(rest.Groups.map((g) => g.GroupName), ['readers']);

    await call('AdminAddUserToGroup', { UserPoolId: poolId, GroupName: 'admins', Username: 'alice' });
    const { Groups: mine } = await call('AdminListGroupsForUser', { UserPoolId: poolId, Username: 'alice' });
    assert.deepEqual(mine.map((g) => g.GroupName), ['admins']);
    const { Users: members } = await call('ListUsersInGroup', { UserPoolId: poolId, GroupName: 'admins' });
    assert.deepEqual(members.map((u) => u.Username), ['alice']);
    await call('AdminRemoveUserFromGroup', { UserPoolId: poolId, GroupName: 'admins', Username: 'alice' });
    assert.deepEqual((await call('ListUsersInGroup', { UserPoolId: poolId, GroupName: 'admins' })).Users, []);

    await call('DeleteGroup', { UserPoolId: poolId, GroupName: 'readers' });
    await refused('GetGroup', { UserPoolId: poolId, GroupName: 'readers' }, 'ResourceNotFoundException');
  });

  test('identity providers: Create/Describe/Update/List/GetByIdentifier/Delete', async () => {
    const details = {
      client_id: 'corp-client', client_secret: 'corp-s3cret', authorize_scopes: 'openid email',
      oidc_issuer: 'https://idp.example.test',
    };
    const { IdentityProvider: made } = await call('CreateIdentityProvider', {
      UserPoolId: poolId, ProviderName: 'Corp', ProviderType: 'OIDC', ProviderDetails: details,
      AttributeMapping: { email: 'email' }, IdpIdentifiers: ['corp.test'],
    });
    assert.equal(made.ProviderName, 'Corp');
    assert.deepEqual(made.ProviderDetails, details);
    await refused('CreateIdentityProvider', { UserPoolId: poolId, ProviderName: 'Corp', ProviderType: 'OIDC', ProviderDetails: details },
      'DuplicateProviderException');
    const { IdentityProvider: shown } = await call('DescribeIdentityProvider', { UserPoolId: poolId, ProviderName: 'Corp' });
    assert.equal(shown.ProviderDetails.client_secret, 'corp-s3cret');
    const { IdentityProvider: updated } = await call('UpdateIdentityProvider', {
      UserPoolId: poolId, ProviderName: 'Corp', AttributeMapping: { email: 'email', name: 'name' },
    });
    assert.deepEqual(updated.AttributeMapping, { email: 'email', name: 'name' });
    const { Providers: providers } = await call('ListIdentityProviders', { UserPoolId: poolId });
    assert.deepEqual(providers.map((p) => [p.ProviderName, p.ProviderType]), [['Corp', 'OIDC']]);
    const { IdentityProvider: byId } = await call('GetIdentityProviderByIdentifier', { UserPoolId: poolId, IdpIdentifier: 'CORP.test' });
    assert.equal(byId.ProviderName, 'Corp');

    // An outside identity linked to alice, then unlinked.
    const corpUser = { ProviderName: 'Corp', ProviderAttributeName: 'Cognito_Subject', ProviderAttributeValue: 'corp-sub-1' };
    await call('AdminLinkProviderForUser', {
      UserPoolId: poolId, DestinationUser: { ProviderName: 'Cognito', ProviderAttributeValue: 'alice' }, SourceUser: corpUser,
    });
    const linked = asMap((await call('AdminGetUser', { UserPoolId: poolId, Username: 'alice' })).UserAttributes);
    assert.match(linked.identities ?? '', /corp-sub-1/, `the link shows in identities: ${JSON.stringify(linked)}`);
    await call('AdminDisableProviderForUser', { UserPoolId: poolId, User: corpUser });
    const unlinked = asMap((await call('AdminGetUser', { UserPoolId: poolId, Username: 'alice' })).UserAttributes);
    assert.doesNotMatch(unlinked.identities ?? '', /corp-sub-1/);
    await refused('AdminLinkProviderForUser', {
      UserPoolId: poolId, DestinationUser: { ProviderName: 'Cognito', ProviderAttributeValue: 'nobody' }, SourceUser: corpUser,
    }, 'UserNotFoundException');
    await call('DeleteIdentityProvider', { UserPoolId: poolId, ProviderName: 'Corp' });
    await refused('DescribeIdentityProvider', { UserPoolId: poolId, ProviderName: 'Corp' }, 'ResourceNotFoundException');
  });

  test('resource servers: Create/Describe/Update/List/Delete', async () => {
    const id = 'https://api.example.test';
    const { ResourceServer: made } = await call('CreateResourceServer', {
      UserPoolId: poolId, Identifier: id, Name: 'api', Scopes: [{ ScopeName: 'read', ScopeDescription: 'Read' }],
    });
    assert.deepEqual(made, { UserPoolId: poolId, Identifier: id, Name: 'api', Scopes: [{ ScopeName: 'read', ScopeDescription: 'Read' }] });
    assert.deepEqual((await call('DescribeResourceServer', { UserPoolId: poolId, Identifier: id })).ResourceServer, made);
    const { ResourceServer: updated } = await call('UpdateResourceServer', {
      UserPoolId: poolId, Identifier: id, Name: 'api2', Scopes: [{ ScopeName: 'write', ScopeDescription: 'Write' }],
    });
    assert.equal(updated.Name, 'api2');
    const { ResourceServers: listed } = await call('ListResourceServers', { UserPoolId: poolId, MaxResults: 10 });
    assert.deepEqual(listed, [updated]);
    await call('DeleteResourceServer', { UserPoolId: poolId, Identifier: id });
    await refused('DescribeResourceServer', { UserPoolId: poolId, Identifier: id }, 'ResourceNotFoundException');
  });

  test('MFA configuration and tags', async () => {
    const set = await call('SetUserPoolMfaConfig', {
      UserPoolId: poolId, MfaConfiguration: 'OPTIONAL', SoftwareTokenMfaConfiguration: { Enabled: true },
    });
    assert.equal(set.MfaConfiguration, 'OPTIONAL');
    assert.equal(set.SoftwareTokenMfaConfiguration.Enabled, true);
    const got = await call('GetUserPoolMfaConfig', { UserPoolId: poolId });
    assert.equal(got.MfaConfiguration, 'OPTIONAL');
    // No TOTP is set up for alice: turning it off as her preference is all there is to set.
    await call('AdminSetUserMFAPreference', {
      UserPoolId: poolId, Username: 'alice', SoftwareTokenMfaSettings: { Enabled: false, PreferredMfa: false },
    });
    await refused('AdminSetUserMFAPreference', {
      UserPoolId: poolId, Username: 'nobody', SoftwareTokenMfaSettings: { Enabled: false },
    }, 'UserNotFoundException');
    await refused('SetUserPoolMfaConfig', { UserPoolId: poolId, MfaConfiguration: 'ON', SoftwareTokenMfaConfiguration: { Enabled: false } },
      'InvalidParameterException');
    await call('SetUserPoolMfaConfig', { UserPoolId: poolId, MfaConfiguration: 'OFF' });

    await call('TagResource', { ResourceArn: poolArn, Tags: { env: 'prod', owner: 'me' } });
    assert.deepEqual((await call('ListTagsForResource', { ResourceArn: poolArn })).Tags, { team: 'identity', env: 'prod', owner: 'me' });
    await call('UntagResource', { ResourceArn: poolArn, TagKeys: ['owner', 'absent'] });
    assert.deepEqual((await call('ListTagsForResource', { ResourceArn: poolArn })).Tags, { team: 'identity', env: 'prod' });
    await refused('ListTagsForResource', { ResourceArn: poolArn.replace(poolId, MISSING_POOL) }, 'ResourceNotFoundException');
  });

  test('SigV4 is checked: a wrong secret, an unknown key', async () => {
    // The secret with its last character changed (one secret in 64 ends in 'x' already).
    const last = accessKey.secretAccessKey.at(-1) === 'x' ? 'y' : 'x';
    const wrong = newClient({ ...accessKey, secretAccessKey: `${accessKey.secretAccessKey.slice(0, -1)}${last}` });
    const unknown = newClient({ accessKeyId: 'AKIAUNKNOWNKEY000000', secretAccessKey: accessKey.secretAccessKey });
    try {
      await assert.rejects(wrong.send(new cognito.ListUserPoolsCommand({ MaxResults: 1 })), (e) => {
        assert.equal(e.name, 'InvalidSignatureException', e.message);
        assert.equal(e.$metadata.httpStatusCode, 400);
        return true;
      });
      await assert.rejects(unknown.send(new cognito.ListUserPoolsCommand({ MaxResults: 1 })), (e) => {
        assert.equal(e.name, 'UnrecognizedClientException', e.message);
        return true;
      });
    } finally {
      wrong.destroy();
      unknown.destroy();
    }
  });

  test('user import jobs: the CSV header, a job, its pre-signed URL, its run, stops and errors', async () => {
    const { CSVHeader: header } = await call('GetCSVHeader', { UserPoolId: poolId });
    assert.equal(header.at(-1), 'cognito:username');
    assert.ok(header.includes('email') && header.includes('cognito:mfa_enabled'), header.join());
    const role = 'arn:aws:iam::123456789012:role/CognitoImport';
    // Rows with PBKDF2-SHA256 hashes (Node's own PBKDF2), a row whose hash is of another
    // algorithm (it fails), and a row without a hash (it waits for a reset).
    const pbkdf2 = (password, salt) => `$pbkdf2-sha256$i=1000$${salt.toString('base64').replace(/=+$/, '')}$${
      pbkdf2Sync(password, salt, 1000, 32, 'sha256').toString('base64').replace(/=+$/, '')}`;
    const columns = [...header, 'cognito:password_hash'];
    const row = (values) => columns.map((c) => values[c] ?? '').join(',');
    const csv = [columns.join(','),
      row({ 'cognito:username': 'imp-one', email: 'one@import.test', email_verified: 'TRUE',
        'cognito:mfa_enabled': 'FALSE', 'cognito:password_hash': pbkdf2('Imp0rted-pass!', randomBytes(16)) }),
      row({ 'cognito:username': 'imp-two', email: 'two@import.test', email_verified: 'FALSE',
        'cognito:mfa_enabled': 'FALSE', 'cognito:password_hash': pbkdf2('Imp0rted-pass2!', randomBytes(16)) }),
      row({ 'cognito:username': 'imp-bad', email: 'bad@import.test', 'cognito:mfa_enabled': 'FALSE',
        'cognito:password_hash': '$2b$04$abcdefghijklmnopqrstuu5KDFT5oH6mxEYdT0fDpmRvXkzAnmcXG' }),
      row({ 'cognito:username': 'imp-three', email: 'three@import.test', 'cognito:mfa_enabled': 'FALSE' }),
    ].join('\r\n');
    const { UserImportJob: job } = await call('CreateUserImportJob', {
      UserPoolId: poolId, JobName: 'first', CloudWatchLogsRoleArn: role, PasswordHashingAlgorithm: 'PBKDF2_SHA256',
    });
    assert.equal(job.Status, 'Created');
    assert.match(job.JobId, /^import-[0-9a-z]+$/);
    await refused('StartUserImportJob', { UserPoolId: poolId, JobId: job.JobId }, 'PreconditionNotMetException');
    const wrongToken = new URL(job.PreSignedUrl);
    wrongToken.searchParams.set('token', 'nope');
    assert.equal((await fetch(wrongToken, { method: 'PUT', body: csv })).status, 403);
    const put = await fetch(job.PreSignedUrl, {
      method: 'PUT', body: csv, headers: { 'x-amz-server-side-encryption': 'aws:kms' },
    });
    assert.equal(put.status, 200);
    const { UserImportJob: started } = await call('StartUserImportJob', { UserPoolId: poolId, JobId: job.JobId });
    assert.ok(['Pending', 'InProgress'].includes(started.Status), started.Status);
    assert.equal((await fetch(job.PreSignedUrl, { method: 'PUT', body: csv })).status, 403, 'no upload once started');
    let done;
    for (let i = 0; i < 60; i += 1) {
      ({ UserImportJob: done } = await call('DescribeUserImportJob', { UserPoolId: poolId, JobId: job.JobId }));
      if (done.Status === 'Succeeded') break;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(done.Status, 'Succeeded', JSON.stringify(done));
    assert.deepEqual([done.ImportedUsers, done.SkippedUsers, done.FailedUsers], [3, 0, 1]);
    assert.ok(done.CompletionDate instanceof Date && done.StartDate instanceof Date);
    assert.equal((await call('AdminGetUser', { UserPoolId: poolId, Username: 'imp-one' })).UserStatus, 'CONFIRMED');
    assert.equal((await call('AdminGetUser', { UserPoolId: poolId, Username: 'imp-three' })).UserStatus, 'RESET_REQUIRED');
    await refused('AdminGetUser', { UserPoolId: poolId, Username: 'imp-bad' }, 'UserNotFoundException');
    await refused('StopUserImportJob', { UserPoolId: poolId, JobId: job.JobId }, 'PreconditionNotMetException');

    // A second job stopped before it runs (or while it runs).
    const { UserImportJob: second } = await call('CreateUserImportJob', {
      UserPoolId: poolId, JobName: 'second', CloudWatchLogsRoleArn: role,
    });
    await fetch(second.PreSignedUrl, { method: 'PUT', body: csv });
    await call('StartUserImportJob', { UserPoolId: poolId, JobId: second.JobId });
    let stopped;
    try {
      ({ UserImportJob: stopped } = await call('StopUserImportJob', { UserPoolId: poolId, JobId: second.JobId }));
      assert.ok(['Stopped', 'Stopping'].includes(stopped.Status), stopped.Status);
    } catch (e) {
      // The runner finished it first: nothing left to stop.
      assert.equal(e.name, 'PreconditionNotMetException', e.message);
    }
    const { UserImportJobs: jobs } = await call('ListUserImportJobs', { UserPoolId: poolId, MaxResults: 1 });
    assert.equal(jobs.length, 1);
    const { UserImportJobs: all } = await call('ListUserImportJobs', { UserPoolId: poolId, MaxResults: 60 });
    assert.deepEqual(all.map((j) => j.JobName).sort(), ['first', 'second']);
    await refused('DescribeUserImportJob', { UserPoolId: poolId, JobId: 'import-nosuchjob' }, 'ResourceNotFoundException');
  });

  test('DeleteUserPool: refused under deletion protection, then done', async () => {
    const error = await refused('DeleteUserPool', { UserPoolId: poolId }, 'InvalidParameterException');
    assert.match(error.message, /deletion protection/i);
    // UpdateUserPool replaces the configuration: DeletionProtection not given is INACTIVE.
    await call('UpdateUserPool', { UserPoolId: poolId });
    await call('DeleteUserPool', { UserPoolId: poolId });
    await refused('DescribeUserPool', { UserPoolId: poolId }, 'ResourceNotFoundException');
    for (const pool of (await call('ListUserPools', { MaxResults: 60 })).UserPools) {
      await call('DeleteUserPool', { UserPoolId: pool.Id });
    }
    assert.deepEqual((await call('ListUserPools', { MaxResults: 60 })).UserPools, []);
  });

  test('every operation of the dispatch table answered the SDK, in the model\'s shape', () => {
    const served = servedOperations();
    assert.ok(served.length >= 50, `the dispatch table: ${served}`);
    const answered = new Set(answers.filter((a) => a.status === 200).map((a) => a.op));
    const missing = served.filter((op) => !answered.has(op));
    assert.deepEqual(missing, [], `operations never driven through the SDK: ${missing.join(', ')}`);
    for (const op of served) assert.ok(cognito[`${op}Command`], `the SDK has ${op}Command`);
  });
});
