// A stand-in for AWS Lambda's Invoke API on 127.0.0.1, for the trigger tests: the userpool server
// calls it as it would call Lambda (SigV4-signed POST /2015-03-31/functions/{name}/invocations),
// or as a webhook (POST /webhook/{name} with an HMAC header). The handlers are ordinary Lambda
// handler modules (tests/node/lambda/*.js) run by lambda-local. Every invocation is recorded.
//
//   node tests/node/lambda-host.js --self-test
// signs a request with @smithy/signature-v4 (the AWS SDK's signer) and invokes a handler.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const lambdaLocal = require('lambda-local');

/** How far a request's signing time or webhook timestamp may be from now (seconds), as AWS allows. */
const MAX_SKEW_S = 300;
const DEFAULT_TIMEOUT_MS = 10_000;
const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;
const WEBHOOK_PATH = /^\/webhook\/([^/]+)$/;

/**
 * Starts the host on 127.0.0.1 (a free port).
 *
 * `functions` maps a function name to its handler: a module (`{ handler }`, as
 * `require('./lambda/x.js')` gives), a handler function, or `{ module, timeoutMs }` for a
 * function timeout other than 10 s. Invoked by ARN (`arn:aws:lambda:REGION:ACCOUNT:function:NAME`,
 * optionally `:QUALIFIER`) or by bare name; `?Qualifier=` is ignored.
 *
 * Returns { url, port, calls(), clear(), close() }; `calls()` lists the invocations
 * ({ path, functionName, via: 'lambda' | 'webhook', event, signedRegion }) in order of arrival,
 * with the event as received (before the handler changed it); `signedRegion` is the region of
 * the SigV4 credential scope (Lambda calls only). Only calls whose signature held are recorded.
 */
export async function startLambdaHost({ accessKeyId, secretAccessKey, webhookSecret, functions = {} }) {
  const recorded = [];
  const table = new Map(Object.entries(functions).map(([name, f]) => [name, normalise(name, f)]));

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      send(res, 500, { 'x-amzn-ErrorType': 'ServiceException' }, { message: String(err?.stack ?? err) });
    });
  });

  async function handle(req, res) {
    const url = new URL(req.url, 'http://host');
    const body = await readBody(req);
    let m;
    if (req.method === 'POST' && (m = url.pathname.match(INVOKE_PATH))) {
      const problem = verifySigV4(req, url, body, { accessKeyId, secretAccessKey });
      if (problem) {
        return send(res, 403, { 'x-amzn-ErrorType': 'InvalidSignatureException' }, { message: problem });
      }
      const name = functionName(decodeURIComponent(m[1]));
      const fn = table.get(name);
      if (!fn) {
        return send(res, 404, { 'x-amzn-ErrorType': 'ResourceNotFoundException' }, {
          Type: 'User', Message: `Function not found: ${decodeURIComponent(m[1])}`,
        });
      }
      const event = parseEvent(body);
      if (event === undefined) {
        return send(res, 400, { 'x-amzn-ErrorType': 'InvalidRequestContentException' }, {
          Type: 'User', message: 'Could not parse request body into json',
        });
      }
      const signedRegion = req.headers.authorization.match(/Credential=[^/]+\/\d{8}\/([^/]+)\//)?.[1];
      recorded.push({ path: url.pathname, functionName: name, via: 'lambda', event: structuredClone(event), signedRegion });
      const outcome = await run(fn, event);
      if (outcome.ok) return send(res, 200, {}, outcome.result);
      // As Lambda answers a function error: 200, X-Amz-Function-Error, the error as the payload.
      return send(res, 200, { 'X-Amz-Function-Error': 'Unhandled' }, {
        errorMessage: outcome.error.errorMessage, errorType: outcome.error.errorType, trace: [],
      });
    }
    if (req.method === 'POST' && (m = url.pathname.match(WEBHOOK_PATH))) {
      const problem = verifyWebhook(req.headers['x-userpool-signature'], body, webhookSecret);
      if (problem) return send(res, 401, {}, { message: problem });
      const name = decodeURIComponent(m[1]);
      const fn = table.get(name);
      if (!fn) return send(res, 404, {}, { message: `Function not found: ${name}` });
      const event = parseEvent(body);
      if (event === undefined) return send(res, 400, {}, { errorMessage: 'the body is not JSON', errorType: 'BadRequest' });
      recorded.push({ path: url.pathname, functionName: name, via: 'webhook', event: structuredClone(event) });
      const outcome = await run(fn, event);
      if (outcome.ok) return send(res, 200, {}, outcome.result);
      return send(res, 400, {}, { errorMessage: outcome.error.errorMessage, errorType: outcome.error.errorType });
    }
    return send(res, 404, {}, { message: `no route for ${req.method} ${url.pathname}` });
  }

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  let closed = false;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    calls: () => recorded.slice(),
    clear: () => { recorded.length = 0; },
    async close() {
      if (closed) return;
      closed = true;
      const done = new Promise((resolve) => server.close(resolve));
      server.closeAllConnections();
      await done;
    },
  };
}

/** The function name in an Invoke path segment: the NAME of an ARN (qualifier dropped), or the name. */
export function functionName(nameOrArn) {
  const arn = nameOrArn.match(/^arn:aws[a-z-]*:lambda:[^:]+:\d{12}:function:([^:]+)(?::[^:]+)?$/);
  if (arn) return arn[1];
  const partial = nameOrArn.match(/^(?:\d{12}:function:)?([^:]+)(?::[^:]+)?$/);
  return partial ? partial[1] : nameOrArn;
}

function normalise(name, f) {
  const { module, timeoutMs = DEFAULT_TIMEOUT_MS } = typeof f === 'object' && f && 'module' in f ? f : { module: f };
  const lambdaFunc = typeof module === 'function' ? { handler: module } : module;
  if (typeof lambdaFunc?.handler !== 'function') throw new Error(`function ${name}: no handler`);
  return { lambdaFunc, timeoutMs };
}

function parseEvent(body) {
  try { return JSON.parse(body.toString('utf8')); } catch { return undefined; }
}

/**
 * Runs a handler with lambda-local: { ok: true, result } or { ok: false, error: { errorMessage,
 * errorType } } (a throw, a rejection, or lambda-local's timeout).
 */
async function run({ lambdaFunc, timeoutMs }, event) {
  // lambda-local sets Lambda's environment variables in process.env, and with a verbose level
  // under 3 it silences process.stdout/stderr while the handler runs. Both would leak into this
  // process (node --test reports on stdout): the environment is put back and the streams unmuted
  // at once (execute sets both up synchronously, before the handler's first await).
  const envBefore = { ...process.env };
  let pending;
  try {
    pending = lambdaLocal.execute({ event, lambdaFunc, lambdaHandler: 'handler', timeoutMs, verboseLevel: 0 });
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in envBefore)) delete process.env[key];
    Object.assign(process.env, envBefore);
    for (const stream of [process.stdout, process.stderr]) {
      if (stream.write.originalWrite) stream.write = stream.write.originalWrite;
    }
  }
  try {
    const result = await pending;
    return { ok: true, result: result === undefined ? null : result };
  } catch (err) {
    return {
      ok: false,
      error: {
        errorMessage: String(err?.errorMessage ?? err?.message ?? err),
        errorType: String(err?.errorType ?? err?.name ?? 'Error'),
      },
    };
  }
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res, status, headers, json) {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(json);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

// ---------------------------------------------------------------------------------------------
// SigV4, checked as AWS checks it: the canonical request rebuilt from what arrived (the headers
// named in SignedHeaders, the path's segments URI-encoded once more, as for every service but
// S3), the string to sign under the credential scope, the key derived from the secret.

const sha256hex = (data) => createHash('sha256').update(data).digest('hex');
const hmac = (key, data) => createHmac('sha256', key).update(data).digest();

/** RFC 3986 encoding as SigV4 wants it (unreserved characters kept, everything else %XX). */
function uriEncode(s) {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Why a request's signature does not hold (a sentence), or null when it does. */
export function verifySigV4(req, url, body, { accessKeyId, secretAccessKey }, now = Date.now()) {
  const auth = req.headers.authorization;
  if (!auth) return 'Missing Authentication Token';
  const parsed = auth.match(/^AWS4-HMAC-SHA256\s+Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/);
  if (!parsed) return 'Authorization header requires Credential, SignedHeaders and Signature (AWS4-HMAC-SHA256)';
  const [, credential, signedHeadersList, signature] = parsed;
  const [keyId, date, region, service, terminal, ...extra] = credential.split('/');
  if (extra.length || terminal !== 'aws4_request') return `Credential should be scoped correctly: ${credential}`;
  if (keyId !== accessKeyId) return 'The security token included in the request is invalid.';
  if (service !== 'lambda') return `Credential should be scoped to correct service: 'lambda'. (got '${service}')`;
  const amzDate = req.headers['x-amz-date'];
  if (!amzDate || !/^\d{8}T\d{6}Z$/.test(amzDate)) return 'Missing or malformed X-Amz-Date';
  if (amzDate.slice(0, 8) !== date) return 'Credential should be scoped to a valid date (the date of X-Amz-Date)';
  const signedAt = Date.parse(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`);
  if (Math.abs(now - signedAt) > MAX_SKEW_S * 1000) return 'Signature expired: the signing time is more than 5 minutes from now';
  const signedHeaders = signedHeadersList.split(';');
  if (!signedHeaders.includes('host')) return "'Host' must be a signed header";
  if ([...signedHeaders].sort().join(';') !== signedHeadersList) return 'SignedHeaders must be sorted';
  for (const h of signedHeaders) if (req.headers[h] === undefined) return `Signed header ${h} is missing`;

  const payloadHash = sha256hex(body);
  const claimedHash = req.headers['x-amz-content-sha256'];
  if (claimedHash !== undefined && claimedHash !== payloadHash && claimedHash !== 'UNSIGNED-PAYLOAD') {
    return 'The provided x-amz-content-sha256 header does not match what was computed.';
  }
  // The path as it arrived (already encoded once), each segment encoded again.
  const canonicalUri = url.pathname.split('/').map(uriEncode).join('/');
  const query = [...url.searchParams].map(([k, v]) => [uriEncode(k), uriEncode(v)])
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`).join('&');
  const headerValue = (h) => {
    const v = req.headers[h];
    return (Array.isArray(v) ? v.join(',') : String(v)).trim().replace(/\s+/g, ' ');
  };
  const canonicalRequest = [
    req.method,
    canonicalUri,
    query,
    signedHeaders.map((h) => `${h}:${headerValue(h)}\n`).join(''),
    signedHeadersList,
    claimedHash ?? payloadHash,
  ].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256hex(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, date), region), service), 'aws4_request');
  const expected = hmac(key, stringToSign);
  const given = Buffer.from(signature, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return 'The request signature we calculated does not match the signature you provided. '
      + `Check your AWS Secret Access Key and signing method.\nThe Canonical String for this request should have been\n'${canonicalRequest}'`;
  }
  return null;
}

/** Why a webhook's X-Userpool-Signature does not hold, or null when it does. */
export function verifyWebhook(header, body, secret, now = Date.now()) {
  if (!secret) return 'no webhook secret configured';
  if (!header) return 'missing X-Userpool-Signature';
  const parts = Object.fromEntries(String(header).split(',').map((p) => {
    const i = p.indexOf('=');
    return [p.slice(0, i).trim(), p.slice(i + 1).trim()];
  }));
  if (!/^\d+$/.test(parts.t ?? '') || !/^[0-9a-f]{64}$/.test(parts.v1 ?? '')) return 'malformed X-Userpool-Signature';
  if (Math.abs(now / 1000 - Number(parts.t)) > MAX_SKEW_S) return 'X-Userpool-Signature timestamp out of tolerance';
  const expected = createHmac('sha256', secret).update(`${parts.t}.`).update(body).digest();
  const given = Buffer.from(parts.v1, 'hex');
  if (!timingSafeEqual(given, expected)) return 'X-Userpool-Signature does not match';
  return null;
}

/** The X-Userpool-Signature header for `body` (a string or Buffer), as the server makes it. */
export function webhookSignature(secret, body, t = Math.floor(Date.now() / 1000)) {
  const v1 = createHmac('sha256', secret).update(`${t}.`).update(body).digest('hex');
  return `t=${t},v1=${v1}`;
}

// ---------------------------------------------------------------------------------------------
// node tests/node/lambda-host.js --self-test

/** A SHA-256 for @smithy/signature-v4 (its `sha256` option) on node:crypto. */
class NodeSha256 {
  constructor(secret) { this.h = secret ? createHmac('sha256', secret) : createHash('sha256'); }
  update(data) { this.h.update(data); }
  async digest() { return new Uint8Array(this.h.digest()); }
}

async function selfTest() {
  const assert = (await import('node:assert/strict')).default;
  // The AWS SDK's own signer (a dependency of @aws-sdk/client-cognito-identity-provider).
  const { SignatureV4 } = require('@smithy/signature-v4');
  const creds = { accessKeyId: 'AKIALAMBDAHOSTSELFTEST', secretAccessKey: 'self-test-secret' };
  const webhookSecret = 'whsec-self-test';
  const host = await startLambdaHost({
    ...creds,
    webhookSecret,
    functions: {
      preSignUp: async (event) => {
        event.response.autoConfirmUser = true;
        return event;
      },
      broken: async () => { throw new Error('Nope'); },
    },
  });
  try {
    const signed = async (fn, payload, signer = creds, region = 'eu-west-1') => {
      const path = `/2015-03-31/functions/${encodeURIComponent(fn)}/invocations`;
      const body = JSON.stringify(payload);
      const sig = new SignatureV4({ credentials: signer, region, service: 'lambda', sha256: NodeSha256 });
      const request = await sig.sign({
        method: 'POST', protocol: 'http:', hostname: '127.0.0.1', port: host.port, path,
        headers: { host: `127.0.0.1:${host.port}`, 'content-type': 'application/json' }, body,
      });
      return fetch(`${host.url}${path}`, { method: 'POST', headers: request.headers, body });
    };
    const event = {
      version: '1', triggerSource: 'PreSignUp_SignUp', region: 'eu-west-1', userPoolId: 'eu-west-1_Self',
      userName: 'selftest', callerContext: { awsSdkVersion: 'x', clientId: 'c' },
      request: { userAttributes: { email: 'a@b.c' } }, response: { autoConfirmUser: false },
    };
    let res = await signed('arn:aws:lambda:eu-west-1:123456789012:function:preSignUp', event);
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal((await res.json()).response.autoConfirmUser, true);
    assert.equal(host.calls()[0].functionName, 'preSignUp');
    assert.equal(host.calls()[0].event.response.autoConfirmUser, false, 'recorded as received');

    res = await signed('broken', event);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-amz-function-error'), 'Unhandled');
    assert.deepEqual(await res.json(), { errorMessage: 'Nope', errorType: 'Error', trace: [] });

    res = await signed('preSignUp', event, { ...creds, secretAccessKey: 'wrong' });
    assert.equal(res.status, 403);
    assert.equal(res.headers.get('x-amzn-errortype'), 'InvalidSignatureException');
    assert.match((await res.json()).message, /signature we calculated does not match/);

    res = await fetch(`${host.url}/2015-03-31/functions/preSignUp/invocations`, { method: 'POST', body: '{}' });
    assert.equal(res.status, 403);
    assert.equal(res.headers.get('x-amzn-errortype'), 'InvalidSignatureException');

    res = await signed('arn:aws:lambda:eu-west-1:123456789012:function:nothing', event);
    assert.equal(res.status, 404);
    assert.equal(res.headers.get('x-amzn-errortype'), 'ResourceNotFoundException');

    const body = JSON.stringify(event);
    res = await fetch(`${host.url}/webhook/preSignUp`, {
      method: 'POST', headers: { 'x-userpool-signature': webhookSignature(webhookSecret, body) }, body,
    });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).response.autoConfirmUser, true);
    res = await fetch(`${host.url}/webhook/broken`, {
      method: 'POST', headers: { 'x-userpool-signature': webhookSignature(webhookSecret, body) }, body,
    });
    assert.equal(res.status, 400);
    assert.deepEqual(await res.json(), { errorMessage: 'Nope', errorType: 'Error' });
    res = await fetch(`${host.url}/webhook/preSignUp`, {
      method: 'POST', headers: { 'x-userpool-signature': webhookSignature('other', body) }, body,
    });
    assert.equal(res.status, 401);
    res = await fetch(`${host.url}/webhook/preSignUp`, {
      method: 'POST',
      headers: { 'x-userpool-signature': webhookSignature(webhookSecret, body, Math.floor(Date.now() / 1000) - 600) },
      body,
    });
    assert.equal(res.status, 401, 'a stale timestamp is refused');
    assert.deepEqual(host.calls().map((c) => [c.functionName, c.via]),
      [['preSignUp', 'lambda'], ['broken', 'lambda'], ['preSignUp', 'webhook'], ['broken', 'webhook']]);
    host.clear();
    assert.equal(host.calls().length, 0);
  } finally {
    await host.close();
  }
  console.log('ok');
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.includes('--self-test')) {
  selfTest().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
