// PreTokenGeneration V2_0 / V3_0: the tenant goes into both tokens, the access token gets a
// scope of the app's own, and machine tokens (V3 client credentials) are marked as such. A
// "tamper-" user's tokens get an attempt at Cognito's protected claims, which must not stick.
export const handler = async (event) => {
  if (event.triggerSource === 'TokenGeneration_ClientCredentials') {
    event.response.claimsAndScopeOverrideDetails = {
      accessTokenGeneration: { claimsToAddOrOverride: { tenant: 'machines', caller: event.callerContext.clientId } },
    };
    return event;
  }
  const protectedTry = event.userName.startsWith('tamper')
    ? { sub: 'forged-sub', iss: 'https://evil.example', aud: 'evil', token_use: 'evil', exp: 4102444800, iat: 1, auth_time: 1, jti: 'forged', client_id: 'evil', username: 'forged', 'cognito:username': 'forged', origin_jti: 'forged' }
    : {};
  event.response.claimsAndScopeOverrideDetails = {
    idTokenGeneration: {
      claimsToAddOrOverride: { ...protectedTry, tenant: 'acme', roles: ['reader', 'writer'], source: event.triggerSource },
    },
    accessTokenGeneration: {
      claimsToAddOrOverride: { ...protectedTry, tenant: 'acme', plan: 'pro' },
      scopesToAdd: ['acme/reports.read'],
    },
  };
  return event;
};
