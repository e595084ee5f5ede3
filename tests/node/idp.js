// A real OpenID Provider for the federation tests: panva's oidc-provider on 127.0.0.1, with one
// confidential client (the userpool as relying party) and its development interactions (a login
// form that takes any name as the subject, then a consent form), so that a browser can sign in.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

/**
 * Starts oidc-provider at http://127.0.0.1:`port` (issuer without a path).
 *
 * `accounts` is a Map from subject to claims ({ email, email_verified, name }); it is read on
 * every request, so a test can change a claim between two sign-ins. A subject missing from the
 * map signs in with claims derived from it.
 *
 * Returns { issuer, port, requests, notices, errors, accounts, stop() }: `requests` lists every
 * request the provider received ({ method, path, query, from }), `from` being 'browser' or
 * 'server' by User-Agent; `errors` collects the provider's server_error events.
 */
export async function startIdp({ port, clientId, clientSecret, redirectUris, accounts = new Map() }) {
  const issuer = `http://127.0.0.1:${port}`;
  const signingKey = {
    ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }),
    kid: `idp-${randomBytes(4).toString('hex')}`,
    alg: 'RS256',
    use: 'sig',
  };

  const notices = [];
  const restoreConsole = divertNotices(notices);
  try {
    return await start();
  } catch (err) {
    restoreConsole();
    throw err;
  }

  async function start() {
    // Imported here so that its import-time notice (it warns on Node.js 20, which it still runs on)
    // lands in `notices` too.
    const { default: Provider } = await import('oidc-provider');
    const provider = new Provider(issuer, {
      clients: [{
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: redirectUris,
        token_endpoint_auth_method: 'client_secret_post',
        grant_types: ['authorization_code'],
        response_types: ['code'],
      }],
      jwks: { keys: [signingKey] },
      cookies: { keys: [randomBytes(32).toString('base64url')] },
      claims: {
        openid: ['sub'],
        email: ['email', 'email_verified'],
        profile: ['name'],
      },
      // The relying party is expected to use PKCE (S256, the only method oidc-provider has).
      pkce: { required: () => true },
      features: { devInteractions: { enabled: true } },
      async findAccount(_ctx, sub) {
        return {
          accountId: sub,
          async claims() {
            const c = accounts.get(sub) ?? {
              email: `${sub.toLowerCase()}@corp.example`, email_verified: true, name: sub,
            };
            return { sub, ...c };
          },
        };
      },
      ttl: {
        AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 600, Grant: 600,
      },
    });

    const requests = [];
    provider.use(async (ctx, next) => {
      const ua = ctx.get('user-agent');
      requests.push({
        method: ctx.method,
        path: ctx.path,
        query: Object.fromEntries(new URLSearchParams(ctx.querystring)),
        from: /Chrome|Mozilla/.test(ua) ? 'browser' : 'server',
      });
      await next();
    });
    const errors = [];
    provider.on('server_error', (_ctx, err) => errors.push(err));

    const server = createServer(provider.callback());
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });

    let stopped = false;
    return {
      issuer,
      port,
      requests,
      notices,
      errors,
      accounts,
      async stop() {
        if (stopped) return;
        stopped = true;
        const closed = new Promise((resolve) => server.close(resolve));
        server.closeAllConnections();
        await closed;
        restoreConsole();
      },
    };
  }
}

/**
 * oidc-provider prints development notices ("devInteractions is enabled", "default ... function
 * called") with console.info/warn, also later, on requests; while the provider runs they are kept
 * in `notices` instead of cluttering the test output. Only messages naming "oidc-provider " are
 * diverted. Returns the function that puts the console back.
 */
function divertNotices(notices) {
  const { info, warn } = console;
  const divert = (orig) => (...args) => {
    if (typeof args[0] === 'string' && args[0].includes('oidc-provider ')) notices.push(args.join(' '));
    else orig.apply(console, args);
  };
  console.info = divert(info);
  console.warn = divert(warn);
  return () => {
    console.info = info;
    console.warn = warn;
  };
}
