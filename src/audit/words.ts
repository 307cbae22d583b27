/**
 * The vocabularies the rules match names against. Matching is on name tokens
 * (camelCase, snake_case and kebab-case split), so `isAdmin` matches `admin` but
 * `administrativeArea` does not match `admin`.
 */
import type { OpenApiOperation } from '../core/openapi.ts';

/** `passwordHash` → ['password', 'hash']; `national_id` → ['national', 'id']. */
export function tokens(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((t) => t.toLowerCase());
}

/** Properties that grant privilege, ownership or money when a client may set them. */
const PRIVILEGE = [
  'role',
  'roles',
  'admin',
  'permission',
  'permissions',
  'privilege',
  'privileges',
  'balance',
  'credit',
  'credits',
  'owner',
  'verified',
  'superuser',
  'staff',
  'scopes',
];
const PRIVILEGE_EXACT = /^(is_?staff|userId|user_id|accountId|account_id|tenantId|tenant_id)$/i;

export function isPrivilegeName(name: string): boolean {
  return PRIVILEGE_EXACT.test(name) || tokens(name).some((t) => PRIVILEGE.includes(t));
}

/** Secrets and identifiers no response should carry outside admin and auth operations. */
export function sensitiveKind(name: string): 'secret' | 'government-id' | 'card' | 'token' | undefined {
  const t = tokens(name);
  const j = t.join('');
  if (
    t.includes('password') ||
    t.includes('passwd') ||
    t.includes('pwd') ||
    t.includes('hash') ||
    t.includes('secret') ||
    t.includes('salt') ||
    j.includes('privatekey') ||
    t.includes('otp') ||
    t.includes('totp')
  )
    return 'secret';
  if (
    t.includes('ssn') ||
    j.includes('nationalid') ||
    j.includes('socialsecurity') ||
    j.includes('taxid') ||
    t.includes('passport') ||
    j.includes('nationalidentifier')
  )
    return 'government-id';
  if (
    (t.includes('card') && (t.includes('number') || t.includes('no') || t.length === 1)) ||
    t.includes('cvv') ||
    t.includes('cvc') ||
    t.includes('pan') ||
    t.includes('iban')
  )
    return 'card';
  if (t.includes('token') || j.includes('apikey') || t.includes('credential') || t.includes('credentials'))
    return 'token';
  return undefined;
}

/** Personal data that a public operation should not list. */
export function isPiiName(name: string): boolean {
  const t = tokens(name);
  const j = t.join('');
  return (
    t.includes('email') ||
    t.includes('phone') ||
    t.includes('mobile') ||
    j.includes('dateofbirth') ||
    j.includes('birthdate') ||
    j === 'dob' ||
    j === 'address' ||
    j.includes('homeaddress') ||
    j.includes('streetaddress')
  );
}

const ADMIN_SEGMENTS = [
  'admin',
  'admins',
  'administration',
  'internal',
  'manage',
  'management',
  'backoffice',
  'superuser',
  'staff',
  'ops',
  'sudo',
  'root',
];
const DEBUG_SEGMENTS = [
  'debug',
  'internal',
  'test',
  'tests',
  'dev',
  'actuator',
  'env',
  'pprof',
  'trace',
  'console',
  'phpinfo',
];

function segments(path: string): string[] {
  return path.split('/').filter((s) => s && !s.startsWith('{'));
}

export function isAdminLooking(op: OpenApiOperation): boolean {
  return (
    segments(op.path).some((s) => ADMIN_SEGMENTS.includes(s.toLowerCase())) ||
    op.tags.some((t) => ['admin', 'administration', 'internal', 'backoffice'].includes(t.toLowerCase()))
  );
}

/** debug/internal/test paths, and `_`-prefixed segments (`/_debug`, `/_internal/…`). */
export function isDebugLooking(op: OpenApiOperation): boolean {
  return segments(op.path).some((s) => DEBUG_SEGMENTS.includes(s.toLowerCase()) || s.startsWith('_'));
}

export const isWrite = (op: OpenApiOperation): boolean =>
  ['post', 'put', 'patch', 'delete'].includes(op.method);

/** Sign-in, sign-up, token, password and one-time-code operations (public by nature, throttled by need). */
export function isAuthFlow(op: OpenApiOperation): boolean {
  const words = [...segments(op.path).flatMap(tokens), ...tokens(op.operationId ?? '')];
  const AUTH = [
    'login',
    'signin',
    'logon',
    'authenticate',
    'token',
    'tokens',
    'oauth',
    'otp',
    'mfa',
    'password',
    'passwords',
    'register',
    'signup',
    'registration',
    'forgot',
    'reset',
    'verify',
    'refresh',
    'session',
    'sessions',
  ];
  if (words.some((w) => AUTH.includes(w))) return true;
  return segments(op.path).some((s) => /^(sign-?in|sign-?up|log-?in)$/i.test(s));
}

/** Operations where a credential is checked: sign-in, token, password, OTP (brute-force targets). */
export function isCredentialCheck(op: OpenApiOperation): boolean {
  if (op.method !== 'post' && op.method !== 'put') return false;
  const words = [...segments(op.path).flatMap(tokens), ...tokens(op.operationId ?? '')];
  const CHECK = [
    'login',
    'signin',
    'logon',
    'authenticate',
    'token',
    'otp',
    'mfa',
    'verify',
    'session',
    'sessions',
  ];
  return (
    words.some((w) => CHECK.includes(w)) || segments(op.path).some((s) => /^(sign-?in|log-?in)$/i.test(s))
  );
}

/** Public-by-nature reads: health and status probes, the spec itself. */
export function isProbe(op: OpenApiOperation): boolean {
  return (
    ['get', 'head'].includes(op.method) &&
    segments(op.path).some((s) =>
      /^(health|healthz|livez|readyz|ready|live|ping|status|version|openapi(\.json|\.yaml)?|\.well-known)$/i.test(
        s,
      ),
    )
  );
}

/** Sensitive business flows (API6): money, redemption, one-per-person actions. */
export function isBusinessFlow(op: OpenApiOperation): boolean {
  if (!isWrite(op)) return false;
  const FLOW = [
    'redeem',
    'redemption',
    'redemptions',
    'coupon',
    'coupons',
    'voucher',
    'vouchers',
    'gift',
    'checkout',
    'purchase',
    'purchases',
    'payment',
    'payments',
    'pay',
    'transfer',
    'transfers',
    'refund',
    'refunds',
    'vote',
    'votes',
    'reserve',
    'reservation',
    'reservations',
    'booking',
    'bookings',
    'ticket',
    'tickets',
    'invite',
    'invites',
    'referral',
    'referrals',
    'withdraw',
    'withdrawal',
    'promo',
  ];
  const words = [...segments(op.path).flatMap(tokens), ...tokens(op.operationId ?? '')];
  return words.some((w) => FLOW.includes(w));
}

/** A path parameter that names an object (`{id}`, `{orderId}`, `{user_id}`, `{uuid}`, `{slug}`). */
export function isObjectIdParam(name: string): boolean {
  const t = tokens(name);
  const last = t[t.length - 1] ?? '';
  return ['id', 'uuid', 'guid', 'key', 'slug', 'number', 'no', 'ref'].includes(last) || /Id$/.test(name);
}

/** A parameter whose value names a file or path on the server. */
export function isFileParam(name: string, path: string): boolean {
  const t = tokens(name);
  if (
    t.some((w) =>
      [
        'file',
        'filename',
        'filepath',
        'path',
        'dir',
        'directory',
        'folder',
        'template',
        'attachment',
      ].includes(w),
    )
  )
    return true;
  return (
    t.length === 1 &&
    t[0] === 'name' &&
    segments(path).some((s) =>
      /^(files?|documents?|downloads?|attachments?|uploads?|static|assets?|images?|reports?|templates?|leaflets?)$/i.test(
        s,
      ),
    )
  );
}

/** A property or parameter that carries a URL the server might fetch. */
export function isUrlName(name: string): boolean {
  const t = tokens(name);
  return (
    t.some((w) =>
      [
        'url',
        'uri',
        'href',
        'webhook',
        'callback',
        'endpoint',
        'redirect',
        'link',
        'feed',
        'src',
        'source',
      ].includes(w),
    ) && !t.includes('id')
  );
}
