// A real OpenID Connect provider (oidc-provider) on loopback, set up as the
// SPID/CIE profile asks of a provider: authorization code with PKCE (S256)
// only, signed request objects required, private_key_jwt at the token
// endpoint, SPID's acr values, the fiscal_number claim, signed userinfo.
// Run by tests/e2e/test_spid.py as `node provider.mjs CONFIG.json`; prints
// "ready" when it listens.
//
// Only the user's own authentication at the provider is played by the
// test: POST /test/next {sub, fiscal_number, acr} names who logs in next
// and at which level (the interaction then completes without a form).
// POST /test/tamper {on} alters the next ID token in transit (a claim
// changed after signing), as an attacker between the two would.
// POST /test/federation {entity_configuration} sets the provider's entity
// configuration (OpenID Federation), signed by the test with the
// provider's federation key; GET /.well-known/openid-federation serves it.
import fs from 'node:fs';
import Provider from 'oidc-provider';

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const FISCAL = 'https://attributes.eid.gov.it/fiscal_number';
const people = new Map();
let next = null;
let tamper = false;
let entityConfiguration = null;

const provider = new Provider(cfg.issuer, {
  clients: [{
    client_id: cfg.client_id,
    redirect_uris: [cfg.redirect_uri],
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: 'ES256',
    request_object_signing_alg: 'ES256',
    id_token_signed_response_alg: 'RS256',
    userinfo_signed_response_alg: 'RS256',
    jwks: cfg.client_jwks,
  }],
  jwks: { keys: [cfg.op_key] },
  acrValues: ['https://www.spid.gov.it/SpidL1', 'https://www.spid.gov.it/SpidL2',
    'https://www.spid.gov.it/SpidL3'],
  claims: { openid: ['sub'], [FISCAL]: null },
  features: {
    devInteractions: { enabled: false },
    claimsParameter: { enabled: true },
    jwtUserinfo: { enabled: true },
    requestObjects: { request: true, requireSignedRequestObject: true },
  },
  pkce: { required: () => true, methods: ['S256'] },
  cookies: { keys: ['visura-test-provider'] },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, sub) {
    if (!people.has(sub)) return undefined;
    return {
      accountId: sub,
      async claims() { return { sub, [FISCAL]: people.get(sub) }; },
    };
  },
});

provider.use(async (ctx, nextMw) => {
  if (ctx.method === 'POST' && ctx.path === '/test/next') {
    next = JSON.parse(await readBody(ctx.req));
    people.set(next.sub, next.fiscal_number);
    ctx.body = { ok: true };
    return;
  }
  if (ctx.method === 'POST' && ctx.path === '/test/federation') {
    entityConfiguration = JSON.parse(await readBody(ctx.req)).entity_configuration;
    ctx.body = { ok: true };
    return;
  }
  if (ctx.method === 'GET' && ctx.path === '/.well-known/openid-federation') {
    if (!entityConfiguration) { ctx.status = 404; return; }
    ctx.type = 'application/entity-statement+jwt';
    ctx.body = entityConfiguration;
    return;
  }
  if (ctx.method === 'POST' && ctx.path === '/test/tamper') {
    tamper = JSON.parse(await readBody(ctx.req)).on;
    ctx.body = { ok: true };
    return;
  }
  if (ctx.method === 'GET' && ctx.path.startsWith('/interaction/')) {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const grant = new provider.Grant({ accountId: next.sub, clientId: details.params.client_id });
    grant.addOIDCScope('openid');
    grant.addOIDCClaims([FISCAL]);
    const grantId = await grant.save();
    await provider.interactionFinished(ctx.req, ctx.res, {
      login: { accountId: next.sub, acr: next.acr },
      consent: { grantId },
    }, { mergeWithLastSubmission: false });
    return;
  }
  await nextMw();
  if (tamper && ctx.path === '/token' && ctx.body && ctx.body.id_token) {
    // One claim changed after the provider signed: the signature no longer fits.
    const [h, p, s] = ctx.body.id_token.split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    claims.acr = 'https://www.spid.gov.it/SpidL3';
    ctx.body = { ...ctx.body,
      id_token: `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}` };
    tamper = false;
  }
});

function readBody(req) {
  return new Promise((resolve, reject) => {
    let data = '';
    req.on('data', (c) => { data += c; });
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}

provider.listen(cfg.port, '127.0.0.1', () => { console.log('ready'); });
