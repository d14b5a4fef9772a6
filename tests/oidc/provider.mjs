// A real OpenID provider (the certified `oidc-provider` package) on loopback, for csvhub's single
// sign-on tests. Started by tests/sso/provider.py with its configuration in one JSON argument:
//   {"port", "kid", "webClient": {id, secret, redirectUri, postLogoutRedirectUri},
//    "apiClient": {id, secret, redirectUri}, "apiAudience", "otherAudience", "shortAudience",
//    "accounts": {"<login>": {"groups": [...], "email": "..."}}}
// Any login signs in through the development login form (any password); a login missing from
// `accounts` has no groups. Prints "ready <issuer>" once it listens.
import { generateKeyPairSync } from 'node:crypto';

import Provider from 'oidc-provider';

const config = JSON.parse(process.argv[2]);
const issuer = `http://127.0.0.1:${config.port}`;

// A fresh signing key at every start, under the kid given: restarting the provider with another
// kid is a key rotation as csvhub sees it.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: config.kid, alg: 'RS256', use: 'sig' };

const API_SCOPE = 'api';
const resources = [config.apiAudience, config.otherAudience, config.shortAudience];

function account(login) {
  const known = config.accounts[login] ?? {};
  return {
    accountId: login,
    async claims() {
      return {
        sub: login,
        preferred_username: login,
        email: known.email ?? `${login}@idp.example`,
        email_verified: true,
        name: login,
        groups: known.groups ?? [],
      };
    },
  };
}

// The token of `shortAudience` is for csvhub's API but lives one second (the expired-token test).
function resourceServer(indicator) {
  const short = indicator === config.shortAudience;
  return {
    scope: API_SCOPE,
    audience: short ? config.apiAudience : indicator,
    accessTokenTTL: short ? 1 : 600,
    accessTokenFormat: 'jwt',
    jwt: { sign: { alg: 'RS256' } },
  };
}

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: config.webClient.id,
      client_secret: config.webClient.secret,
      redirect_uris: [config.webClient.redirectUri],
      post_logout_redirect_uris: [config.webClient.postLogoutRedirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
    },
    {
      client_id: config.apiClient.id,
      client_secret: config.apiClient.secret,
      redirect_uris: [config.apiClient.redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
    },
  ],
  jwks: { keys: [signingKey] },
  findAccount: (ctx, id) => account(id),
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['preferred_username', 'name'],
    groups: ['groups'],
  },
  scopes: ['openid', 'email', 'profile', 'groups'],
  // csvhub must use PKCE (S256) although it is a confidential client.
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // The API client's tokens are JWTs for csvhub's API unless it names another resource; the
      // web client's stay opaque tokens for the userinfo endpoint.
      defaultResource: (ctx, client) => (client.clientId === config.apiClient.id ? config.apiAudience : undefined),
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, indicator) => resourceServer(indicator),
    },
  },
  extraTokenClaims: async (ctx, token) => {
    if (!token.accountId) return undefined;
    const claims = await account(token.accountId).claims();
    return { groups: claims.groups };
  },
  // No consent screen: every client gets what it asks for (the test user signs in, nothing more).
  async loadExistingGrant(ctx) {
    const { client, session } = ctx.oidc;
    const grantId = ctx.oidc.result?.consent?.grantId || session.grantIdFor(client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
    grant.addOIDCScope('openid email profile groups');
    for (const resource of resources) grant.addResourceScope(resource, API_SCOPE);
    await grant.save();
    return grant;
  },
  cookies: { keys: ['csvhub-test-cookie-key'] },
});

provider.listen(config.port, '127.0.0.1', () => {
  process.stdout.write(`ready ${issuer}\n`);
});
