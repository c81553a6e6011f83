// node-oidc-provider set up as an equivalent of our provider, for side-by-side benchmarks only.
// Not a deployment: every key is generated at start and lost at exit, every password is
// accepted, and all state lives in the package's stock in-memory adapter (an LRU of two
// 1000-entry generations, one process).
//
//   node server.mjs PORT        (or PORT=... node server.mjs; bench/peer/start does this)
//
// Listens on 127.0.0.1:PORT, issuer http://127.0.0.1:PORT. Prints nothing unless something
// fails (BENCH_PEER_VERBOSE=1 also shows the package's one-off configuration notices).
// See README.md beside this file for the HTTP exchanges.

import * as crypto from 'node:crypto';
import * as http from 'node:http';

import Provider from 'oidc-provider';
import { createMemoryAdapter } from 'oidc-provider/lib/adapters/memory_adapter.js';

const port = Number(process.argv[2] ?? process.env.PORT);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('usage: server.mjs PORT (or PORT in the environment)');
  process.exit(2);
}

// The package prints one-off notices ("default X function called, you SHOULD change it") on
// stdout; this peer replaces every default it reaches, and anything left is not an error.
// Its warnings (MUST change) still go to stderr.
if (process.env.BENCH_PEER_VERBOSE !== '1') {
  const info = console.info.bind(console);
  console.info = (first, ...rest) => {
    if (typeof first === 'string' && first.includes('oidc-provider NOTICE:')) return;
    info(first, ...rest);
  };
}

const issuer = `http://127.0.0.1:${port}`;
const clockTolerance = 15; // the package's default, handed to its in-memory adapter as well

// Signing keys, made at every start (benchmark keys, never kept). Like ours, the JWKS carries
// an ES256, an RS256 (2048-bit) and an EdDSA (Ed25519) key; everything here is signed ES256.
function jwk(type, options, alg) {
  const { privateKey } = crypto.generateKeyPairSync(type, options);
  const key = privateKey.export({ format: 'jwk' });
  return { ...key, alg, use: 'sig', kid: `bench-${alg.toLowerCase()}-${crypto.randomUUID().slice(0, 8)}` };
}
const jwks = {
  keys: [
    jwk('ec', { namedCurve: 'P-256' }, 'ES256'),
    jwk('rsa', { modulusLength: 2048 }, 'RS256'),
    jwk('ed25519', {}, 'EdDSA'),
  ],
};

// Resource servers (RFC 8707). Every access token is a JWT for the issuer itself (our tokens'
// audience), unless the request names `urn:bench:opaque`: the package's introspection refuses
// JWT access tokens, so that one issues opaque access tokens to introspect.
const OPAQUE_RESOURCE = 'urn:bench:opaque';
// A request for the person's claims (scope `email` or `profile`) names no resource: the
// package then issues the opaque access token for its UserInfo endpoint, the only kind that
// endpoint accepts (it refuses any token with an audience, so every JWT above).
const USERINFO_SCOPES = new Set(['email', 'profile']);
const forUserinfo = (ctx) => String(ctx.oidc?.params?.scope ?? '').split(' ')
  .some((scope) => USERINFO_SCOPES.has(scope));
function resourceServer(indicator) {
  switch (indicator) {
    case issuer:
      return {
        scope: '',
        audience: issuer,
        accessTokenTTL: 600,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'ES256' } },
      };
    case OPAQUE_RESOURCE:
      return { scope: '', audience: OPAQUE_RESOURCE, accessTokenTTL: 600, accessTokenFormat: 'opaque' };
    default:
      throw new Provider.errors.InvalidTarget();
  }
}

const configuration = {
  adapter: createMemoryAdapter(clockTolerance), // the stock in-memory adapter, minus its warning
  clockTolerance,
  jwks,
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  clients: [
    {
      client_id: 'bench',
      client_secret: 'bench-secret',
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1:9/callback'],
      id_token_signed_response_alg: 'ES256',
    },
  ],
  clientDefaults: { id_token_signed_response_alg: 'ES256' },
  // Our paths, so that a load generator only changes the base URL (defaults: /auth, /me,
  // /token/introspection, /token/revocation).
  routes: {
    authorization: '/authorize',
    jwks: '/jwks',
    token: '/token',
    userinfo: '/userinfo',
    introspection: '/introspect',
    revocation: '/revoke',
    end_session: '/logout',
    pushed_authorization_request: '/par',
  },
  scopes: ['openid', 'offline_access'],
  // Ours releases these by scope (OpenID Connect Core §5.4); each person has a username and
  // an email address, as the benchmark's people on ours do.
  claims: {
    acr: null,
    sid: null,
    auth_time: null,
    iss: null,
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'family_name', 'given_name', 'middle_name', 'nickname', 'preferred_username',
      'profile', 'picture', 'website', 'gender', 'birthdate', 'zoneinfo', 'locale', 'updated_at'],
  },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    // DPoP (RFC 9449), as ours: proofs checked and their jti remembered (the package's
    // default, named here because the benchmark's DPoP scenario relies on it); no nonces.
    dPoP: { enabled: true },
    introspection: {
      enabled: true,
      // The default, without its notice: confidential clients may introspect any token.
      allowedPolicy: async (ctx, client, token) => client.clientAuthMethod !== 'none'
        || token.clientId === client.clientId,
    },
    revocation: {
      enabled: true,
      allowedPolicy: async (ctx, client, token) => token.clientId === client.clientId,
    },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (ctx, client, oneOf) => oneOf ?? (forUserinfo(ctx) ? undefined : issuer),
      // The code exchange and refreshes use the resource of the authorization (the issuer),
      // not the userinfo-only opaque token the package would otherwise give an openid request.
      useGrantedResource: async () => true,
      getResourceServerInfo: async (ctx, indicator) => resourceServer(indicator),
    },
  },
  pkce: { required: () => true }, // S256 only, as ours
  // Ours: refresh tokens only with offline_access, rotated at every use.
  rotateRefreshToken: true,
  ttl: {
    AuthorizationCode: 60,
    AccessToken: 600,
    ClientCredentials: 600,
    IdToken: 600,
    RefreshToken: 2592000,
    Grant: 2592000,
    Interaction: 1800,
    Session: 28800,
  },
  interactions: { url: async (ctx, interaction) => `/interaction/${interaction.uid}` },
  clientBasedCORS: () => false,
  async findAccount(ctx, sub) {
    return {
      accountId: sub,
      async claims() {
        return { sub, preferred_username: sub, email: `${sub}@example.com`, email_verified: false };
      },
    };
  },
  async renderError(ctx, out) {
    ctx.type = 'text/plain; charset=utf-8';
    ctx.body = `${out.error}: ${out.error_description ?? ''}\n`;
  },
};

const provider = new Provider(issuer, configuration);
// Errors the package answers with 500 (server_error); client errors (4xx) stay quiet.
provider.on('server_error', (ctx, err) => console.error(`bench peer: ${ctx.method} ${ctx.path}:`, err));
const oidc = provider.callback();

// ---- Sign-in: one form, any username and password, consent granted at once. ----

const html = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function loginPage(uid) {
  const action = `/interaction/${html(uid)}/login`;
  return `<!doctype html><html><head><meta charset="utf-8"><title>Sign-in</title></head><body>
<form method="post" action="${action}">
<input type="text" name="username" value="" autofocus>
<input type="password" name="password" value="">
<button type="submit">Sign in</button>
</form></body></html>\n`;
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 16384) throw Object.assign(new Error('form too large'), { status: 413 });
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

// A grant holding everything the interaction asks for: what the consent prompt reports as
// missing, or (at login, before the consent prompt has run) every requested scope.
async function grantFor(details, accountId) {
  const { params, prompt } = details;
  const grant = (details.grantId && await provider.Grant.find(details.grantId))
    || new provider.Grant({ accountId, clientId: params.client_id });
  const missing = prompt.name === 'consent' ? prompt.details : {};
  grant.addOIDCScope(missing.missingOIDCScope?.join(' ') ?? params.scope ?? 'openid');
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  return grant.save();
}

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw Object.assign(new Error('interaction mismatch'), { status: 400 });

  if (details.prompt.name === 'consent') {
    // Signed in already: consent is granted without a page.
    const grantId = await grantFor(details, details.session.accountId);
    return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }
  if (details.prompt.name !== 'login') {
    throw Object.assign(new Error(`prompt ${details.prompt.name} not handled`), { status: 501 });
  }

  if (action === undefined && req.method === 'GET') {
    const body = loginPage(uid);
    res.writeHead(200, {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
      'Cache-Control': 'no-store',
    });
    return res.end(body);
  }
  if (action === 'login' && req.method === 'POST') {
    const form = await readForm(req);
    const accountId = form.get('username');
    if (!accountId || form.get('password') === null) {
      throw Object.assign(new Error('username and password are required'), { status: 400 });
    }
    const grantId = await grantFor(details, accountId);
    return provider.interactionFinished(req, res, {
      login: { accountId },
      consent: { grantId },
    }, { mergeWithLastSubmission: false });
  }
  throw Object.assign(new Error('not found'), { status: 404 });
}

const INTERACTION = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login))?\/?(?:\?.*)?$/;

const server = http.createServer((req, res) => {
  const match = INTERACTION.exec(req.url);
  if (!match) return oidc(req, res);
  interaction(req, res, match[1], match[2]).catch((err) => {
    const status = err.status ?? err.statusCode ?? 500;
    if (status >= 500) console.error('interaction error:', err);
    if (res.headersSent) return res.destroy();
    const body = `${err.error ?? 'error'}: ${err.error_description ?? err.message}\n`;
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 65000;
server.listen(port, '127.0.0.1');
server.on('error', (err) => {
  console.error(`bench peer: ${err.message}`);
  process.exit(1);
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.close(() => process.exit(0)).closeAllConnections?.());
}
