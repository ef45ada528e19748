// A real OpenID Connect provider (oidc-provider) on loopback, set up as the
// SPID/CIE profile asks of a provider: authorization code with PKCE (S256)
// only, signed request objects required, private_key_jwt at the token
// endpoint, SPID's acr values, the fiscal_number claim, userinfo signed
// and then encrypted to the relying party's RSA key (RSA-OAEP-256,
// A256CBC-HS512).
// Run by tests/e2e/test_spid.py as `node provider.mjs CONFIG.json`; prints
// "ready" when it listens.
//
// Only the user's own authentication at the provider is played by the
// test.  A browser gets a login form (GET /interaction/UID): the person
// types their codice fiscale and picks the SPID level, as at a real
// provider's page (tests/browser).  A test without a browser names who
// logs in next instead: POST /test/next {sub, fiscal_number, acr} (the
// next interaction then completes without the form, once).
// POST /test/tamper {on} alters the next ID token in transit (a claim
// changed after signing), as an attacker between the two would.
// POST /test/federation {entity_configuration} sets the provider's entity
// configuration (OpenID Federation), signed by the test with the
// provider's federation key; GET /.well-known/openid-federation serves it.
// POST /test/userinfo {mode} changes the next userinfo answer: "plain"
// signed by the provider but not encrypted; "stranger" signed and
// encrypted to another RSA key; "tamper" the provider's own answer with
// one byte of its ciphertext changed.
// POST /test/slow {ms} makes the token endpoint answer the next exchange
// ms milliseconds late, as a provider under load would.
// POST /test/clock {advance_seconds} moves the provider's clock forward
// as the tests move visura's (its tokens' iat and exp follow).
import fs from 'node:fs';
import Provider from 'oidc-provider';
import * as jose from 'jose';

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const FISCAL = 'https://attributes.eid.gov.it/fiscal_number';
const ACR = 'https://www.spid.gov.it/SpidL';
const people = new Map();
let next = null;
let lastSub = null; // who logged in last (the userinfo alterations speak for them)
let tamper = false;
let entityConfiguration = null;
let userinfoMode = null;
let slowMs = 0;
const realNow = Date.now;
let offset = 0;
Date.now = () => realNow() + offset;

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
    userinfo_encrypted_response_alg: 'RSA-OAEP-256',
    userinfo_encrypted_response_enc: 'A256CBC-HS512',
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
    encryption: { enabled: true },
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
  if (ctx.method === 'POST' && ctx.path === '/test/userinfo') {
    userinfoMode = JSON.parse(await readBody(ctx.req)).mode;
    ctx.body = { ok: true };
    return;
  }
  if (ctx.method === 'POST' && ctx.path === '/test/slow') {
    slowMs = JSON.parse(await readBody(ctx.req)).ms;
    ctx.body = { ok: true };
    return;
  }
  if (slowMs && ctx.path === '/token') {
    const ms = slowMs;
    slowMs = 0;
    await new Promise((resolve) => { setTimeout(resolve, ms); });
  }
  if (ctx.method === 'POST' && ctx.path === '/test/tamper') {
    tamper = JSON.parse(await readBody(ctx.req)).on;
    ctx.body = { ok: true };
    return;
  }
  if (ctx.method === 'POST' && ctx.path === '/test/clock') {
    offset += 1000 * JSON.parse(await readBody(ctx.req)).advance_seconds;
    ctx.body = { ok: true };
    return;
  }
  const m = /^\/interaction\/([A-Za-z0-9_-]+)(\/login)?$/.exec(ctx.path);
  if (m && ctx.method === 'GET' && next) {
    const who = next;
    next = null;
    await finish(ctx, who.sub, who.acr);
    return;
  }
  if (m && ctx.method === 'GET') {
    await provider.interactionDetails(ctx.req, ctx.res);
    ctx.type = 'html';
    ctx.body = loginForm(m[1]);
    return;
  }
  if (m && m[2] && ctx.method === 'POST') {
    const form = new URLSearchParams(await readBody(ctx.req));
    const cf = (form.get('codice_fiscale') || '').trim().toUpperCase();
    const level = form.get('livello');
    if (!/^[A-Z0-9]{16}$/.test(cf) || !['1', '2', '3'].includes(level)) {
      ctx.status = 400;
      ctx.type = 'html';
      ctx.body = loginForm(m[1], 'Codice fiscale o livello non validi.');
      return;
    }
    people.set(`cf-${cf}`, `TINIT-${cf}`);
    await finish(ctx, `cf-${cf}`, ACR + level);
    return;
  }
  await nextMw();
  if (userinfoMode && ctx.path === '/me' && typeof ctx.body === 'string') {
    await alteredUserinfo(ctx);
  }
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

// The next userinfo answer, altered as /test/userinfo asked.
async function alteredUserinfo(ctx) {
  const mode = userinfoMode;
  userinfoMode = null;
  if (mode === 'tamper') {
    const parts = ctx.body.split('.');
    const ct = Buffer.from(parts[3], 'base64url');
    ct[0] ^= 1;
    parts[3] = ct.toString('base64url');
    ctx.body = parts.join('.');
    return;
  }
  const key = await jose.importJWK(cfg.op_key, 'RS256');
  const signed = await new jose.SignJWT({ [FISCAL]: people.get(lastSub) })
    .setProtectedHeader({ alg: 'RS256', kid: cfg.op_key.kid, typ: 'JWT' })
    .setIssuer(cfg.issuer).setAudience(cfg.client_id).setSubject(lastSub)
    .setIssuedAt().sign(key);
  if (mode === 'plain') {
    ctx.body = signed;
    return;
  }
  const { publicKey } = await jose.generateKeyPair('RSA-OAEP-256', { modulusLength: 2048 });
  ctx.body = await new jose.CompactEncrypt(new TextEncoder().encode(signed))
    .setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256CBC-HS512', cty: 'JWT' })
    .encrypt(publicKey);
}

// The person at the provider is `sub`, authenticated at `acr`.
async function finish(ctx, sub, acr) {
  lastSub = sub;
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const grant = new provider.Grant({ accountId: sub, clientId: details.params.client_id });
  grant.addOIDCScope('openid');
  grant.addOIDCClaims([FISCAL]);
  const grantId = await grant.save();
  await provider.interactionFinished(ctx.req, ctx.res, {
    login: { accountId: sub, acr },
    consent: { grantId },
  }, { mergeWithLastSubmission: false });
}

// The provider's login page: the identity typed, as a person would.
function loginForm(uid, problem) {
  return '<!DOCTYPE html><html lang="it"><head><meta charset="utf-8">' +
    '<title>Gestore dell\'identità di prova</title></head><body><main>' +
    '<h1>Gestore dell\'identità di prova</h1>' +
    (problem ? `<p role="alert">${problem}</p>` : '') +
    `<form method="post" action="/interaction/${uid}/login">` +
    '<p><label for="cf">Codice fiscale</label> <input id="cf" name="codice_fiscale" required></p>' +
    '<p><label for="livello">Livello SPID</label> <select id="livello" name="livello">' +
    '<option value="1">1</option><option value="2" selected>2</option><option value="3">3</option>' +
    '</select></p><p><button type="submit">Entra</button></p></form></main></body></html>';
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    let data = '';
    req.on('data', (c) => { data += c; });
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}

provider.listen(cfg.port, '127.0.0.1', () => { console.log('ready'); });
