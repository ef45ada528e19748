// The one way the interface talks to the server: JSON over fetch with the
// session cookie, the CSRF token on every state change, one error type.
// When the session ends mid-work the current screen stays as it is: a login
// dialog opens over it and the request is repeated after the new login.
import { t } from './i18n.js';

// flash: a message for the login screen (why the session ended).
export const session = { csrf: null, me: null, relogin: null, flash: null };

export class ApiError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
  // The message to show: ours for known codes, the server's otherwise.
  get text() {
    if (this.code === 'password_policy') {
      const rule = POLICY.find(([words]) => String(this.message).includes(words));
      if (rule) return t('error.password_rule', { why: t(`policy.${rule[1]}`) });
    }
    const known = t(`error.${this.code}`, { s: this.retryAfter || '' }, null);
    return known || this.message;
  }
}

// Which rule a refused password broke: words of the server's message
// (src/auth/password.c, password_policy_check) and the rule's key.
const POLICY = [['password assente', 'missing'], ['supera', 'long'], ['UTF-8', 'utf8'], ['caratteri di controllo', 'control'],
  ['più corta', 'short'], ['nome utente', 'user'], ['troppo comune', 'common'], ['usata di recente', 'reused']];

// Codes that mean "no session any more" (as opposed to "not allowed"):
// the first can be cured by logging in again, the others end the work.
const ENDED = new Set(['unauthenticated']);
const CLOSED = new Set(['account_disabled', 'credentials_expired', 'temporary_password_expired', 'ente_not_active']);

async function call(method, path, body, retried = false) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && session.csrf) headers['X-CSRF-Token'] = session.csrf;
  let res;
  try {
    res = await fetch(path, { method, headers, credentials: 'same-origin', cache: 'no-store',
                              body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, 'network', t('error.network'));
  }
  const type = res.headers.get('Content-Type') || '';
  const data = type.includes('application/json') ? await res.json().catch(() => null) : await res.text();
  if (res.ok) return { status: res.status, data, headers: res.headers };
  const err = (data && data.error) || { code: `http_${res.status}`, message: res.statusText };
  if (res.status === 401 && ENDED.has(err.code) && session.me && session.relogin && !retried) {
    await session.relogin();
    return call(method, path, body, true);
  }
  const error = new ApiError(res.status, err.code, err.message, res.headers.get('Retry-After'));
  if (res.status === 401 && CLOSED.has(err.code) && session.me) {
    session.me = null;
    session.csrf = null;
    session.flash = error.text;
    location.hash = '#/login';
  }
  throw error;
}

export const api = {
  get: (path) => call('GET', path),
  post: (path, body = {}) => call('POST', path, body),
  put: (path, body = {}) => call('PUT', path, body),
  patch: (path, body = {}) => call('PATCH', path, body),
  del: (path) => call('DELETE', path),
};

// Query string from an object, leaving out empty values.
export function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') p.set(k, v);
  const s = p.toString();
  return s ? `?${s}` : '';
}

export async function login(username, password, totp) {
  const body = { username, password };
  if (totp) body.totp = totp;
  const r = await call('POST', '/api/v1/auth/login', body, true);
  session.csrf = r.data.csrf_token;
  return r.data;
}

export async function loadMe() {
  const r = await call('GET', '/api/v1/auth/me', undefined, true);
  session.me = r.data;
  session.csrf = r.data.csrf_token;
  return r.data;
}
