import { exec } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import type { Clock } from '../core/clock.ts';
import { withDeadline } from '../core/deadline.ts';
import type { Db } from '../store/types.ts';
import {
  asObject,
  intParam,
  LabError,
  onlyFields,
  positiveId,
  readJson,
  SECURE_BODY_LIMIT,
  str,
  type Json,
  type LabResponse,
} from './http.ts';
import { hashPassword, seedHash, verifyPassword } from './passwords.ts';
import { Router, type LabRequest } from './router.ts';
import { checkOutboundUrl } from './ssrf.ts';
// undici's fetch (not the global one) so the secure twin can pass its connect-time-checking dispatcher.
import { fetch, type Dispatcher, type Response } from 'undici';
import { LabTokens, TOKEN_TTL, WEAK_JWT_SECRET } from './tokens.ts';
import type { LabMode } from './types.ts';

export interface LabContext {
  mode: LabMode;
  db: Db;
  clock: Clock;
  tokens: LabTokens;
  docsDir: string;
  thirdPartyUrl: string;
  avatarHosts: readonly string[];
  /** Secure twin: the dispatcher for server-side fetches, re-checking addresses at connect time. */
  egress: Dispatcher | undefined;
  startedAt: number;
}

interface UserRow {
  id: number;
  username: string;
  email: string;
  full_name: string;
  phone: string | null;
  role: string;
  specialty: string | null;
  password_hash: string;
  national_id: string | null;
  api_token: string | null;
  avatar_url: string | null;
  created_at: string;
  [k: string]: unknown;
}

interface InvoiceRow {
  id: number;
  patient_id: number;
  description: string;
  amount_cents: number;
  discount_cents: number;
  coverage_cents: number;
  insurance_plan: string | null;
  status: string;
  [k: string]: unknown;
}

// ---------------------------------------------------------------- shared rules

const USERNAME = /^[a-z0-9._-]{3,32}$/;
/**
 * Planted ReDoS (API4, CWE-1333): the nested quantifier `([…]+)+` backtracks
 * exponentially on a long local part that never reaches `@`.
 */
const EMAIL_VULNERABLE = /^([a-zA-Z0-9._%+-]+)+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/;
/** Same language, linear time: no nested quantifiers, dot-separated labels are unambiguous. */
const EMAIL_SECURE = /^[a-zA-Z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/;
/** Label text the secure twin accepts: words of safe characters separated by single spaces. */
const LABEL_TEXT = /^[A-Za-z0-9.,:-]+( [A-Za-z0-9.,:-]+)*$/;
const DOCUMENT_NAME = /^[a-z0-9-]{1,64}\.txt$/;

function userView(mode: LabMode, u: UserRow): Json {
  const view: Json = {
    id: u.id,
    username: u.username,
    email: u.email,
    fullName: u.full_name,
    phone: u.phone,
    role: u.role,
    avatarUrl: u.avatar_url,
    createdAt: u.created_at,
  };
  // Planted (API3, CWE-213): the vulnerable twin serialises the whole row.
  if (mode === 'vulnerable')
    Object.assign(view, { passwordHash: u.password_hash, nationalId: u.national_id, apiToken: u.api_token });
  return view;
}

function invoiceView(inv: InvoiceRow): Json {
  return {
    id: inv.id,
    patientId: inv.patient_id,
    description: inv.description,
    amountCents: inv.amount_cents,
    discountCents: inv.discount_cents,
    coverageCents: inv.coverage_cents,
    amountDueCents: inv.amount_cents - inv.discount_cents - inv.coverage_cents,
    insurancePlan: inv.insurance_plan,
    status: inv.status,
  };
}

const RECORD_COLUMNS =
  'id, patient_id AS patientId, doctor_id AS doctorId, title, diagnosis, notes, created_at AS createdAt';

const ok = (body: unknown, status = 200, headers?: Record<string, string>): LabResponse => ({
  status,
  body,
  ...(headers ? { headers } : {}),
});

// ---------------------------------------------------------------- the application

export function buildRouter(ctx: LabContext): Router {
  const { mode, db, clock, tokens } = ctx;
  const secure = mode === 'secure';
  const bodyLimit = secure ? SECURE_BODY_LIMIT : undefined;
  const body = async (req: LabRequest): Promise<Json> => asObject(await readJson(req.raw, bodyLimit));
  const nowIso = (): string => new Date(clock.now()).toISOString();

  /** Failed logins per username (secure twin): 5 within 15 minutes lock the account for the rest of the window. */
  const failures = new Map<string, { count: number; since: number }>();
  const LOCK_LIMIT = 5;
  const LOCK_WINDOW_MS = 15 * 60_000;
  /** Verified for unknown usernames so that they take as long as wrong passwords (no timing oracle). */
  const dummyHash = secure ? seedHash('secure', 'timing-equaliser-password') : Promise.resolve('');

  async function authenticate(req: LabRequest): Promise<UserRow> {
    const h = req.headers.authorization;
    const m = typeof h === 'string' ? /^Bearer ([A-Za-z0-9._~+/=-]*)$/i.exec(h) : null;
    if (!m) throw new LabError('unauthenticated', 'Send a bearer token', { 'www-authenticate': 'Bearer' });
    const claims = await tokens.verify(m[1]!);
    if (!/^[0-9]{1,10}$/.test(claims.sub))
      throw new LabError('invalid-token', 'The access token is invalid or expired');
    const user = await db.one<UserRow>('SELECT * FROM users WHERE id = $1', [Number(claims.sub)]);
    if (!user) throw new LabError('invalid-token', 'The access token is invalid or expired');
    return user;
  }

  function requireRole(user: UserRow, role: string): void {
    // Planted (API5, CWE-285): the vulnerable twin authenticates but never checks the role.
    if (secure && user.role !== role)
      throw new LabError('forbidden', `This operation requires the ${role} role`);
  }

  async function login(req: LabRequest): Promise<LabResponse> {
    const b = await body(req);
    onlyFields(b, ['username', 'password']);
    const username = str(b, 'username', { required: true, max: 64 });
    const password = str(b, 'password', { required: true, max: 128 });
    const now = clock.now();
    if (secure) {
      const f = failures.get(username);
      if (f && now - f.since < LOCK_WINDOW_MS && f.count >= LOCK_LIMIT) {
        const retry = Math.ceil((f.since + LOCK_WINDOW_MS - now) / 1000);
        throw new LabError('too-many-requests', 'Too many failed sign-ins; try again later', {
          'retry-after': String(retry),
        });
      }
    }
    const user = await db.one<UserRow>('SELECT * FROM users WHERE username = $1', [username]);
    if (!user) {
      // Planted (API2, CWE-204): a different status and message for unknown accounts.
      if (!secure) throw new LabError('not-found', `No account named '${username}'`);
      await verifyPassword(await dummyHash, password);
      noteFailure(username, now);
      throw new LabError('invalid-credentials', 'Wrong username or password');
    }
    if (!(await verifyPassword(user.password_hash, password))) {
      if (!secure) throw new LabError('invalid-credentials', `Wrong password for '${username}'`);
      noteFailure(username, now);
      throw new LabError('invalid-credentials', 'Wrong username or password');
    }
    failures.delete(username);
    return ok({ token: await tokens.issue(user), tokenType: 'Bearer', expiresIn: TOKEN_TTL });
  }

  function noteFailure(username: string, now: number): void {
    const f = failures.get(username);
    if (f && now - f.since < LOCK_WINDOW_MS) {
      f.count++;
      return;
    }
    // Bounded memory: a flood of made-up usernames evicts the oldest entries.
    if (failures.size >= 10_000) failures.delete(failures.keys().next().value!);
    failures.delete(username);
    failures.set(username, { count: 1, since: now });
  }

  async function findRecord(id: number): Promise<Json> {
    const rec = await db.one(`SELECT ${RECORD_COLUMNS} FROM records WHERE id = $1`, [id]);
    if (!rec) throw new LabError('not-found', `No record ${id}`);
    return rec;
  }

  /** Secure twin: the patient, the treating doctor or an admin; others get 404 (no existence oracle). */
  function assertRecordAccess(user: UserRow, rec: Json): void {
    if (!secure) return; // Planted (API1, CWE-639): any signed-in user reaches any record.
    if (user.role === 'admin' || rec.patientId === user.id || rec.doctorId === user.id) return;
    throw new LabError('not-found', `No record ${String(rec.id)}`);
  }

  async function ownedInvoice(user: UserRow, id: number): Promise<InvoiceRow> {
    const inv = await db.one<InvoiceRow>('SELECT * FROM invoices WHERE id = $1', [id]);
    if (!inv || (inv.patient_id !== user.id && user.role !== 'admin'))
      throw new LabError('not-found', `No invoice ${id}`);
    return inv;
  }

  const r = new Router();

  // ---------------------------------------------------------------- v2 (current)

  r.add('GET', '/v2/health', async () => ok({ status: 'ok', version: '2.3.0' }));

  r.add('POST', '/v2/auth/login', login);

  r.add('POST', '/v2/auth/register', async (req) => {
    const b = await body(req);
    onlyFields(b, ['username', 'email', 'password', 'fullName']);
    const username = str(b, 'username', { required: true, pattern: USERNAME });
    const email = str(b, 'email', { required: true });
    const password = str(b, 'password', { required: true, min: 10, max: 128 });
    const fullName = str(b, 'fullName', { required: true, min: 1, max: 100 });
    if (secure ? email.length > 254 || !EMAIL_SECURE.test(email) : !EMAIL_VULNERABLE.test(email)) {
      throw new LabError('validation-failed', "'email' is not a valid address");
    }
    if (await db.one('SELECT id FROM users WHERE username = $1', [username]))
      throw new LabError('conflict', 'That username is taken');
    await db.run(
      "INSERT INTO users (username, email, full_name, role, password_hash, created_at) VALUES ($1, $2, $3, 'patient', $4, $5)",
      [username, email, fullName, await hashPassword(mode, password), nowIso()],
    );
    const user = (await db.one<UserRow>('SELECT * FROM users WHERE username = $1', [username]))!;
    return ok(userView(mode, user), 201);
  });

  r.add('GET', '/v2/doctors', async (req) => {
    const limit = intParam(req.query, 'limit', 20, 1, secure ? 100 : undefined);
    const offset = intParam(req.query, 'offset', 0, 0, secure ? 10_000 : undefined);
    const rows = await db.query<UserRow>(
      "SELECT * FROM users WHERE role = 'doctor' ORDER BY id LIMIT $1 OFFSET $2",
      [limit, offset],
    );
    const items = rows.map((d) => {
      const listed = { id: d.id, fullName: d.full_name, specialty: d.specialty };
      if (secure) return listed;
      // Planted (API3, CWE-359): the public directory leaks contact data and national ids.
      return { ...listed, username: d.username, email: d.email, phone: d.phone, nationalId: d.national_id };
    });
    return ok({ items, limit, offset });
  });

  r.add('GET', '/v2/users/me', async (req) => ok(userView(mode, await authenticate(req))));

  const USER_WRITABLE: Record<string, string> = { fullName: 'full_name', email: 'email', phone: 'phone' };
  /** Columns the vulnerable twin binds from the body: including the privileged ones (API3 mass assignment). */
  const USER_ALL_COLUMNS: Record<string, string> = {
    ...USER_WRITABLE,
    role: 'role',
    specialty: 'specialty',
    username: 'username',
    avatarUrl: 'avatar_url',
  };

  r.add('PATCH', '/v2/users/me', async (req) => {
    const user = await authenticate(req);
    const b = await body(req);
    const columns = secure ? USER_WRITABLE : USER_ALL_COLUMNS;
    onlyFields(b, Object.keys(columns));
    str(b, 'fullName', { min: 1, max: 100 }, secure);
    str(b, 'phone', { max: 32, pattern: /^\+?[0-9 ()-]{3,32}$/ }, secure);
    const email = str(b, 'email', { max: 254 }, secure);
    if (email !== undefined && !EMAIL_SECURE.test(email))
      throw new LabError('validation-failed', "'email' is not a valid address");
    for (const k of Object.keys(b)) {
      if (typeof b[k] !== 'string') throw new LabError('validation-failed', `'${k}' must be a string`);
    }
    const keys = Object.keys(b);
    if (keys.length > 0) {
      const sets = keys.map((k, i) => `${columns[k]!} = $${i + 1}`).join(', ');
      await db.run(`UPDATE users SET ${sets} WHERE id = $${keys.length + 1}`, [
        ...keys.map((k) => b[k] as string),
        user.id,
      ]);
    }
    return ok(userView(mode, (await db.one<UserRow>('SELECT * FROM users WHERE id = $1', [user.id]))!));
  });

  r.add('PUT', '/v2/users/me/avatar', async (req) => {
    const user = await authenticate(req);
    const b = await body(req);
    onlyFields(b, ['url']);
    const raw = str(b, 'url', { required: true, max: 2048 }, secure);
    let fetched: { bytes: number; contentType: string; text: string };
    if (secure) {
      const url = await checkOutboundUrl(raw, ctx.avatarHosts);
      fetched = await fetchLimited(url.href, 'manual', 1024 * 1024, ctx.egress);
      if (!fetched.contentType.startsWith('image/'))
        throw new LabError('validation-failed', "'url' does not point to an image");
    } else {
      // Planted (API7, CWE-918): any URL, any host, redirects followed, body echoed back.
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        throw new LabError('validation-failed', "'url' must be an absolute URL");
      }
      fetched = await fetchLimited(url.href, 'follow', undefined);
    }
    await db.run('UPDATE users SET avatar_url = $1 WHERE id = $2', [raw, user.id]);
    const out: Json = { avatarUrl: raw, bytes: fetched.bytes, contentType: fetched.contentType };
    if (!secure) out.preview = fetched.text.slice(0, 256);
    return ok(out);
  });

  r.add('GET', '/v2/records', async (req) => {
    const user = await authenticate(req);
    const limit = intParam(req.query, 'limit', 20, 1, secure ? 100 : undefined); // Planted (API4): no maximum.
    const offset = intParam(req.query, 'offset', 0, 0, secure ? 10_000 : undefined);
    const q = req.query.get('q') ?? '';
    const sort = req.query.get('sort') ?? 'createdAt';
    if (secure) {
      if (q.length > 100) throw new LabError('bad-request', "'q' must have at most 100 characters");
      const order = {
        createdAt: 'created_at ASC',
        '-createdAt': 'created_at DESC',
        title: 'title ASC',
        '-title': 'title DESC',
      }[sort];
      if (!order)
        throw new LabError('bad-request', "'sort' must be one of createdAt, -createdAt, title, -title");
      const like = '%' + q.replace(/[\\%_]/g, (c) => '\\' + c) + '%';
      const items = await db.query(
        `SELECT ${RECORD_COLUMNS} FROM records WHERE (patient_id = $1 OR doctor_id = $1) AND title LIKE $2 ESCAPE '\\' ORDER BY ${order}, id LIMIT $3 OFFSET $4`,
        [user.id, like, limit, offset],
      );
      return ok({ items, limit, offset });
    }
    // Planted (API8, CWE-89): the search text and the sort column are pasted into the SQL.
    const desc = sort.startsWith('-');
    const key = desc ? sort.slice(1) : sort;
    const col = ({ createdAt: 'created_at', title: 'title' } as Record<string, string>)[key] ?? key;
    const sql =
      `SELECT ${RECORD_COLUMNS} FROM records WHERE (patient_id = ${user.id} OR doctor_id = ${user.id}) ` +
      `AND title LIKE '%${q}%' ORDER BY ${col} ${desc ? 'DESC' : 'ASC'}, id LIMIT ${limit} OFFSET ${offset}`;
    try {
      return ok({ items: await db.query(sql), limit, offset });
    } catch (err) {
      // Planted (API8, CWE-209): the SQL travels with the error to the client.
      if (err instanceof Error) Object.assign(err, { sql });
      throw err;
    }
  });

  r.add('POST', '/v2/records', async (req) => {
    const user = await authenticate(req);
    const b = await body(req);
    onlyFields(b, ['title', 'notes']);
    const title = str(b, 'title', { required: true, min: 1, max: 200 }, secure);
    const notes = str(b, 'notes', { max: 10_000 }, secure) ?? null;
    const res = await db.one<{ id: number }>(
      'INSERT INTO records (patient_id, title, notes, created_at) VALUES ($1, $2, $3, $4) RETURNING id',
      [user.id, title, notes, nowIso()],
    );
    return ok(await findRecord(res!.id), 201, { location: `/v2/records/${res!.id}` });
  });

  r.add('GET', '/v2/records/{recordId}', async (req) => {
    const user = await authenticate(req);
    const rec = await findRecord(positiveId(req.params.recordId, 'recordId'));
    assertRecordAccess(user, rec);
    return ok(rec);
  });

  r.add('PATCH', '/v2/records/{recordId}', async (req) => {
    const user = await authenticate(req);
    const id = positiveId(req.params.recordId, 'recordId');
    const b = await body(req);
    onlyFields(b, ['title', 'notes']);
    const title = str(b, 'title', { min: 1, max: 200 }, secure);
    const notes = str(b, 'notes', { max: 10_000 }, secure);
    assertRecordAccess(user, await findRecord(id));
    if (title !== undefined) await db.run('UPDATE records SET title = $1 WHERE id = $2', [title, id]);
    if (notes !== undefined) await db.run('UPDATE records SET notes = $1 WHERE id = $2', [notes, id]);
    return ok(await findRecord(id));
  });

  r.add('GET', '/v2/invoices/{invoiceId}', async (req) => {
    const user = await authenticate(req);
    return ok(invoiceView(await ownedInvoice(user, positiveId(req.params.invoiceId, 'invoiceId'))));
  });

  r.add('POST', '/v2/invoices/{invoiceId}/coupons', async (req) => {
    const user = await authenticate(req);
    const id = positiveId(req.params.invoiceId, 'invoiceId');
    const b = await body(req);
    onlyFields(b, ['code']);
    const code = str(b, 'code', { required: true, max: 32 });
    const inv = await ownedInvoice(user, id);
    const coupon = await db.one<{ percent_off: number }>('SELECT percent_off FROM coupons WHERE code = $1', [
      code,
    ]);
    if (!coupon) throw new LabError('not-found', 'Unknown coupon code');
    return db.transaction(async (tx) => {
      // Planted (API6, CWE-837): the vulnerable twin never asks whether the code was used.
      if (
        secure &&
        (await tx.one(
          'SELECT 1 AS used FROM redemptions WHERE code = $1 AND (invoice_id = $2 OR user_id = $3)',
          [code, id, user.id],
        ))
      ) {
        throw new LabError('conflict', 'This coupon was already redeemed');
      }
      const discount = Math.round((inv.amount_cents * coupon.percent_off) / 100);
      await tx.run('UPDATE invoices SET discount_cents = discount_cents + $1 WHERE id = $2', [discount, id]);
      await tx.run(
        'INSERT INTO redemptions (invoice_id, code, user_id, redeemed_at) VALUES ($1, $2, $3, $4)',
        [id, code, user.id, nowIso()],
      );
      return ok(invoiceView((await tx.one<InvoiceRow>('SELECT * FROM invoices WHERE id = $1', [id]))!));
    });
  });

  r.add('POST', '/v2/invoices/{invoiceId}/insurance-claims', async (req) => {
    const user = await authenticate(req);
    const id = positiveId(req.params.invoiceId, 'invoiceId');
    const b = await body(req);
    onlyFields(b, ['memberId']);
    const memberId = str(b, 'memberId', { required: true, pattern: /^M-[0-9]{4}$/ });
    const inv = await ownedInvoice(user, id);
    let answer: { status: number; contentType: string; text: string };
    try {
      answer = await withDeadline(3000, async (signal) => {
        const res = await fetch(`${ctx.thirdPartyUrl}/eligibility/${memberId}`, {
          signal,
          redirect: secure ? 'error' : 'follow',
        });
        return {
          status: res.status,
          contentType: res.headers.get('content-type') ?? '',
          text: secure ? await readCapped(res, 16 * 1024) : await res.text(),
        };
      });
    } catch {
      throw new LabError('upstream-unavailable', 'The insurer could not be reached');
    }
    if (answer.status === 404)
      throw new LabError('validation-failed', 'The insurer does not know this member');
    if (answer.status !== 200) throw new LabError('bad-gateway', 'The insurer answered with an error');
    let eligible: unknown, coveragePercent: unknown, planName: unknown;
    try {
      const a = JSON.parse(answer.text) as Record<string, unknown>;
      ({ eligible, coveragePercent, planName } = a);
      if (secure) {
        // API10 fix: the answer is untrusted input; check it against the insurer's contract.
        const valid =
          answer.contentType.startsWith('application/json') &&
          a.memberId === memberId &&
          typeof eligible === 'boolean' &&
          Number.isInteger(coveragePercent) &&
          (coveragePercent as number) >= 0 &&
          (coveragePercent as number) <= 100 &&
          typeof planName === 'string' &&
          /^[A-Za-z0-9 .-]{1,64}$/.test(planName);
        if (!valid) throw new Error('invalid');
      }
    } catch {
      throw new LabError('upstream-error', "The insurer's answer failed validation");
    }
    // Planted (API10, CWE-20): truthy is "eligible", any number is a percentage, any text a plan name.
    if (!eligible) throw new LabError('validation-failed', 'The member is not eligible for coverage');
    const coverage = Math.round((inv.amount_cents * Number(coveragePercent)) / 100);
    await db.run('UPDATE invoices SET coverage_cents = $1, insurance_plan = $2 WHERE id = $3', [
      coverage,
      String(planName),
      id,
    ]);
    return ok(invoiceView((await db.one<InvoiceRow>('SELECT * FROM invoices WHERE id = $1', [id]))!));
  });

  r.add('GET', '/v2/documents/{name}', async (req) => {
    await authenticate(req);
    const name = req.params.name!;
    let file: string;
    if (secure) {
      // The fix: a strict name pattern, and the resolved path must stay inside the folder.
      file = resolve(ctx.docsDir, name);
      if (!DOCUMENT_NAME.test(name) || !file.startsWith(resolve(ctx.docsDir) + sep))
        throw new LabError('not-found', 'No such document');
    } else {
      file = join(ctx.docsDir, name); // Planted (API8, CWE-22): `../` walks out of the folder.
    }
    try {
      return { status: 200, text: await readFile(file, 'utf8'), contentType: 'text/plain; charset=utf-8' };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        throw new LabError('not-found', 'No such document');
      throw err;
    }
  });

  r.add('POST', '/v2/labels', async (req) => {
    await authenticate(req);
    const b = await body(req);
    onlyFields(b, ['text']);
    const text = str(b, 'text', { required: true, min: 1, max: 64 }, secure);
    if (secure) {
      if (!LABEL_TEXT.test(text))
        throw new LabError('validation-failed', "'text' may hold letters, digits, spaces and . , : - only");
      return ok({ label: text.toUpperCase() });
    }
    // Planted (API8, CWE-78): the text is pasted into a shell command line.
    const out = await new Promise<string>((resolveOut, reject) => {
      exec(`echo ${text} | tr a-z A-Z`, { timeout: 2000, shell: '/bin/sh' }, (err, stdout) =>
        err ? reject(err) : resolveOut(stdout),
      );
    });
    return ok({ label: out.replace(/\n$/, '') });
  });

  r.add('GET', '/v2/admin/users', async (req) => {
    const user = await authenticate(req);
    requireRole(user, 'admin');
    const rows = await db.query<UserRow>('SELECT * FROM users ORDER BY id');
    return ok({ items: rows.map((u) => userView(mode, u)) });
  });

  r.add('POST', '/v2/admin/coupons', async (req) => {
    const user = await authenticate(req);
    requireRole(user, 'admin');
    const b = await body(req);
    onlyFields(b, ['code', 'percentOff']);
    const code = str(b, 'code', { required: true, pattern: /^[A-Z0-9-]{3,32}$/ });
    const pct = b.percentOff;
    if (!Number.isInteger(pct) || (pct as number) < 1 || (pct as number) > 100)
      throw new LabError('validation-failed', "'percentOff' must be an integer from 1 to 100");
    if (await db.one('SELECT code FROM coupons WHERE code = $1', [code]))
      throw new LabError('conflict', 'That coupon exists');
    await db.run('INSERT INTO coupons (code, percent_off, created_by) VALUES ($1, $2, $3)', [
      code,
      pct as number,
      user.id,
    ]);
    return ok({ code, percentOff: pct }, 201);
  });

  // ---------------------------------------------------------------- v1 (deprecated)

  r.add('GET', '/v1/health', async () => ok({ status: 'ok', version: '1.9.0' }));
  r.add('POST', '/v1/login', login);
  r.add('GET', '/v1/users/{userId}', async (req) => {
    const id = positiveId(req.params.userId, 'userId');
    if (secure) {
      // Parity with v2: signed in, and only yourself unless admin.
      const me = await authenticate(req);
      if (me.id !== id && me.role !== 'admin') throw new LabError('not-found', `No user ${id}`);
    } // Planted (API9, CWE-306): the forgotten v1 never checks who is asking.
    const u = await db.one<UserRow>('SELECT * FROM users WHERE id = $1', [id]);
    if (!u) throw new LabError('not-found', `No user ${id}`);
    return ok(userView(mode, u));
  });

  // ---------------------------------------------------------------- undocumented

  if (!secure) {
    // Planted (API9, CWE-489): a debug endpoint left in, in no OpenAPI document.
    r.add('GET', '/debug/vars', async () =>
      ok({
        service: 'clinic-api',
        mode,
        node: process.version,
        uptimeSeconds: Math.round((clock.now() - ctx.startedAt) / 1000),
        database: 'sqlite::memory:',
        jwtSecret: WEAK_JWT_SECRET,
        documentsDir: ctx.docsDir,
        insurerUrl: ctx.thirdPartyUrl,
      }),
    );
  }

  return r;
}

/** Fetches with a byte cap; `manual` redirects count as a failure. */
async function fetchLimited(
  url: string,
  redirect: 'manual' | 'follow',
  cap: number | undefined,
  dispatcher?: Dispatcher,
): Promise<{ bytes: number; contentType: string; text: string }> {
  return withDeadline(3000, async (signal) => {
    let res: Response;
    try {
      res = await fetch(url, { redirect, signal, ...(dispatcher ? { dispatcher } : {}) });
    } catch {
      throw new LabError('bad-gateway', 'Could not fetch the image');
    }
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new LabError('bad-gateway', 'Could not fetch the image');
    }
    const buf =
      cap === undefined
        ? Buffer.from(await res.arrayBuffer())
        : Buffer.from(await readCapped(res, cap), 'latin1');
    return {
      bytes: buf.length,
      contentType: res.headers.get('content-type') ?? 'application/octet-stream',
      text: buf.toString('utf8'),
    };
  });
}

async function readCapped(res: Response, cap: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  if (res.body) {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.length;
      if (size > cap) throw new LabError('bad-gateway', 'The answer is too large');
      chunks.push(Buffer.from(chunk));
    }
  }
  return Buffer.concat(chunks).toString('latin1');
}
