// The Cognito API driven by AWS's own SDK for JavaScript v3
// (@aws-sdk/client-cognito-identity-provider) pointed at userpool with `endpoint`: every
// operation of the dispatch table (crates/api/src/ops/mod.rs), the service's errors as the SDK
// names them, and every raw response body checked against the model's output shape
// (cognito-shapes.js). The server checks SigV4 for real: requests are signed with an access key
// made by `userpool access-keys create`. SQLite by default; USERPOOL_NODE_BACKEND=postgres runs it
// on a fresh PostgreSQL database.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as cognito from '@aws-sdk/client-cognito-identity-provider';
import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { CookieJar, USERPOOL_BIN, createPgDatabase, freePort, startServer } from './harness.js';
import { MODEL, responseProblems, servedOperations, shapeProblems } from './cognito-shapes.js';

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

/** Sends operation `op` (the model's name) with `input`. */
function call(op, input = {}) {
  return sdk.send(new cognito[`${op}Command`](input));
}

/** Asserts that `op` with `input` fails with the SDK error `name`; returns the error. */
async function refused(op, input, name) {
  let error;
  await assert.rejects(call(op, input), (e) => {
    error = e;
    return true;
  });
  assert.equal(error.name, name, `${op}: ${error.name}: ${error.message}`);
  assert.equal(error.$metadata?.httpStatusCode, 400, `${op}: ${error.message}`);
  return error;
}

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

    await call('AdminDisableUser', { UserPoolId: poolId, Username: 'alice' });
    assert.equal((await call('AdminGetUser', { UserPoolId: poolId, Username: 'alice' })).Enabled, false);
    await call('AdminEnableUser', { UserPoolId: poolId, Username: 'alice' });
    assert.equal((await call('AdminGetUser', { UserPoolId: poolId, Username: 'alice' })).Enabled, true);
    await call('AdminUserGlobalSignOut', { UserPoolId: poolId, Username: 'alice' });

    await call('AdminResetUserPassword', { UserPoolId: poolId, Username: 'alice' });
    assert.equal((await call('AdminGetUser', { UserPoolId: poolId, Username: 'alice' })).UserStatus, 'RESET_REQUIRED');

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
    const wrong = newClient({ ...accessKey, secretAccessKey: `${accessKey.secretAccessKey.slice(0, -1)}x` });
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
