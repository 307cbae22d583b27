import type { Db } from '../store/types.ts';
import { seedHash } from './passwords.ts';
import type { LabMode } from './types.ts';

/**
 * Public demo credentials of the lab (printed by `rampart lab`, used by the workshop
 * and the exploit catalogue). They only ever exist in the lab's in-memory database.
 */
export const DEMO_USERS = [
  { id: 1, username: 'admin', password: 'admin-demo-pass', role: 'admin', fullName: 'Ada Admin' },
  { id: 2, username: 'carol', password: 'carol-demo-pass', role: 'doctor', fullName: 'Dr. Carol Reyes' },
  { id: 3, username: 'alice', password: 'alice-demo-pass', role: 'patient', fullName: 'Alice Moreau' },
  { id: 4, username: 'bob', password: 'bob-demo-pass', role: 'patient', fullName: 'Bob Lindqvist' },
] as const;

export type DemoUsername = (typeof DEMO_USERS)[number]['username'];

/** Seeded ids the walkthrough and exploits refer to. */
export const SEED = {
  aliceRecords: [1, 2],
  bobRecord: 3,
  aliceInvoice: 1,
  bobInvoice: 2,
  aliceSecondInvoice: 3,
  coupon: 'WELCOME10',
  /** Insurer member ids known to the stub: honest and compromised answers. */
  honestMember: 'M-1001',
  maliciousMember: 'M-6666',
} as const;

const SCHEMA = `
CREATE TABLE users (
  id INTEGER PRIMARY KEY,
  username TEXT NOT NULL UNIQUE,
  email TEXT NOT NULL,
  full_name TEXT NOT NULL,
  phone TEXT,
  role TEXT NOT NULL DEFAULT 'patient',
  specialty TEXT,
  password_hash TEXT NOT NULL,
  national_id TEXT,
  api_token TEXT,
  avatar_url TEXT,
  created_at TEXT NOT NULL
);
CREATE TABLE records (
  id INTEGER PRIMARY KEY,
  patient_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  doctor_id INTEGER REFERENCES users(id),
  title TEXT NOT NULL,
  diagnosis TEXT,
  notes TEXT,
  created_at TEXT NOT NULL
);
CREATE TABLE invoices (
  id INTEGER PRIMARY KEY,
  patient_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  description TEXT NOT NULL,
  amount_cents INTEGER NOT NULL,
  discount_cents INTEGER NOT NULL DEFAULT 0,
  coverage_cents INTEGER NOT NULL DEFAULT 0,
  insurance_plan TEXT,
  status TEXT NOT NULL DEFAULT 'open'
);
CREATE TABLE coupons (
  code TEXT PRIMARY KEY,
  percent_off INTEGER NOT NULL,
  created_by INTEGER
);
CREATE TABLE redemptions (
  invoice_id INTEGER NOT NULL,
  code TEXT NOT NULL,
  user_id INTEGER NOT NULL,
  redeemed_at TEXT NOT NULL
);
`;

/** Creates the lab tables and the deterministic demo world. */
export async function seed(db: Db, mode: LabMode): Promise<void> {
  if (db.exec) await db.exec(SCHEMA);
  else for (const stmt of SCHEMA.split(';').filter((s) => s.trim())) await db.run(stmt);
  const extra: Record<
    string,
    { email: string; phone: string; nationalId: string; specialty: string | null }
  > = {
    admin: { email: 'ada@clinic.example', phone: '+1-555-0100', nationalId: '900-00-0001', specialty: null },
    carol: {
      email: 'carol.reyes@clinic.example',
      phone: '+1-555-0142',
      nationalId: '900-00-0002',
      specialty: 'General practice',
    },
    alice: {
      email: 'alice@patients.example',
      phone: '+1-555-0199',
      nationalId: '900-00-0003',
      specialty: null,
    },
    bob: { email: 'bob@patients.example', phone: '+1-555-0177', nationalId: '900-00-0004', specialty: null },
  };
  // scrypt runs on the libuv pool: hash the seed passwords in parallel (memoised per process).
  const hashes = await Promise.all([
    ...DEMO_USERS.map((u) => seedHash(mode, u.password)),
    seedHash(mode, 'dave-demo-pass'),
  ]);
  for (const [i, u] of DEMO_USERS.entries()) {
    const x = extra[u.username]!;
    await db.run(
      `INSERT INTO users (id, username, email, full_name, phone, role, specialty, password_hash, national_id, api_token, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [
        u.id,
        u.username,
        x.email,
        u.fullName,
        x.phone,
        u.role,
        x.specialty,
        hashes[i]!,
        x.nationalId,
        `legacy-token-${u.username}-0000`,
        '2026-01-0' + u.id + 'T09:00:00.000Z',
      ],
    );
  }
  await db.run(
    `INSERT INTO users (id, username, email, full_name, phone, role, specialty, password_hash, national_id, created_at)
     VALUES (5, 'dave', 'dave.okafor@clinic.example', 'Dr. Dave Okafor', '+1-555-0155', 'doctor', 'Cardiology', $1, '900-00-0005', '2026-01-05T09:00:00.000Z')`,
    [hashes[DEMO_USERS.length]!],
  );
  const records: Array<[number, number, number, string, string, string]> = [
    [1, 3, 2, 'Annual check-up', 'Healthy', 'Blood pressure 118/76. Return in 12 months.'],
    [2, 3, 5, 'Cardiology consult', 'Mild arrhythmia', 'Holter monitor for 48h; follow up in 3 weeks.'],
    [3, 4, 2, 'Sports injury', 'Sprained left ankle', 'RICE protocol, no running for 2 weeks.'],
  ];
  for (const [id, patient, doctor, title, diagnosis, notes] of records) {
    await db.run(
      'INSERT INTO records (id, patient_id, doctor_id, title, diagnosis, notes, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [id, patient, doctor, title, diagnosis, notes, `2026-02-0${id}T10:30:00.000Z`],
    );
  }
  const invoices: Array<[number, number, string, number]> = [
    [1, 3, 'Annual check-up', 12000],
    [2, 4, 'Sports injury consultation', 8000],
    [3, 3, 'Cardiology consult', 4500],
  ];
  for (const [id, patient, description, amount] of invoices) {
    await db.run('INSERT INTO invoices (id, patient_id, description, amount_cents) VALUES ($1, $2, $3, $4)', [
      id,
      patient,
      description,
      amount,
    ]);
  }
  await db.run('INSERT INTO coupons (code, percent_off, created_by) VALUES ($1, 10, 1)', [SEED.coupon]);
}
