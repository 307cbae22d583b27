/**
 * The lab's legitimate flows and its malformed-input cases, shared by test/lab/legit.test.ts
 * (both twins behave alike) and test/gateway/lab-legit-through-gateway.test.ts (the demo's
 * gateway lets every one of them through, with the same statuses).
 */
import { DEMO_USERS } from '../../src/lab/index.ts';
import type { DemoUsername } from '../../src/lab/seed.ts';

export type SchemaName =
  | 'Health'
  | 'Token'
  | 'User'
  | 'DoctorPage'
  | 'RecordPage'
  | 'Record'
  | 'Invoice'
  | 'Label'
  | 'Avatar'
  | 'UserList'
  | 'Coupon';

export interface Step {
  name: string;
  method: string;
  path: string;
  as?: DemoUsername;
  body?: unknown;
  status: number;
  schema?: SchemaName;
}

export const PASSWORDS = Object.fromEntries(DEMO_USERS.map((u) => [u.username, u.password])) as Record<
  DemoUsername,
  string
>;

export const flow = (imageUrl: string): Step[] => [
  { name: 'health v2', method: 'GET', path: '/v2/health', status: 200, schema: 'Health' },
  { name: 'health v1', method: 'GET', path: '/v1/health', status: 200 },
  {
    name: 'login',
    method: 'POST',
    path: '/v2/auth/login',
    body: { username: 'alice', password: PASSWORDS.alice },
    status: 200,
    schema: 'Token',
  },
  {
    name: 'login v1',
    method: 'POST',
    path: '/v1/login',
    body: { username: 'bob', password: PASSWORDS.bob },
    status: 200,
    schema: 'Token',
  },
  { name: 'my profile', method: 'GET', path: '/v2/users/me', as: 'alice', status: 200, schema: 'User' },
  {
    name: 'update profile',
    method: 'PATCH',
    path: '/v2/users/me',
    as: 'alice',
    body: { fullName: 'Alice M. Moreau', phone: '+1 555 0111' },
    status: 200,
    schema: 'User',
  },
  { name: 'doctor directory', method: 'GET', path: '/v2/doctors', status: 200, schema: 'DoctorPage' },
  {
    name: 'doctor directory page 2',
    method: 'GET',
    path: '/v2/doctors?limit=1&offset=1',
    status: 200,
    schema: 'DoctorPage',
  },
  { name: 'my records', method: 'GET', path: '/v2/records', as: 'alice', status: 200, schema: 'RecordPage' },
  {
    name: 'record search',
    method: 'GET',
    path: '/v2/records?q=Cardio&sort=-createdAt&limit=5',
    as: 'alice',
    status: 200,
    schema: 'RecordPage',
  },
  {
    name: 'doctor lists treated records',
    method: 'GET',
    path: '/v2/records?sort=title',
    as: 'carol',
    status: 200,
    schema: 'RecordPage',
  },
  { name: 'own record', method: 'GET', path: '/v2/records/1', as: 'alice', status: 200, schema: 'Record' },
  {
    name: 'treating doctor reads record',
    method: 'GET',
    path: '/v2/records/3',
    as: 'carol',
    status: 200,
    schema: 'Record',
  },
  {
    name: 'admin reads record',
    method: 'GET',
    path: '/v2/records/3',
    as: 'admin',
    status: 200,
    schema: 'Record',
  },
  {
    name: 'edit own record',
    method: 'PATCH',
    path: '/v2/records/1',
    as: 'alice',
    body: { notes: 'Feeling fine.' },
    status: 200,
    schema: 'Record',
  },
  {
    name: 'add diary record',
    method: 'POST',
    path: '/v2/records',
    as: 'alice',
    body: { title: 'Headache diary', notes: 'Mild, mornings.' },
    status: 201,
    schema: 'Record',
  },
  {
    name: 'register',
    method: 'POST',
    path: '/v2/auth/register',
    body: {
      username: 'erin',
      email: 'erin@patients.example',
      password: 'erin-demo-pass',
      fullName: 'Erin Walsh',
    },
    status: 201,
    schema: 'User',
  },
  { name: 'own invoice', method: 'GET', path: '/v2/invoices/1', as: 'alice', status: 200, schema: 'Invoice' },
  {
    name: 'redeem coupon once',
    method: 'POST',
    path: '/v2/invoices/1/coupons',
    as: 'alice',
    body: { code: 'WELCOME10' },
    status: 200,
    schema: 'Invoice',
  },
  {
    name: 'insurance claim',
    method: 'POST',
    path: '/v2/invoices/3/insurance-claims',
    as: 'alice',
    body: { memberId: 'M-1001' },
    status: 200,
    schema: 'Invoice',
  },
  {
    name: 'insurance claim, not eligible',
    method: 'POST',
    path: '/v2/invoices/3/insurance-claims',
    as: 'alice',
    body: { memberId: 'M-2002' },
    status: 422,
  },
  {
    name: 'insurance claim, unknown member',
    method: 'POST',
    path: '/v2/invoices/3/insurance-claims',
    as: 'alice',
    body: { memberId: 'M-0000' },
    status: 422,
  },
  { name: 'leaflet', method: 'GET', path: '/v2/documents/visiting-hours.txt', as: 'bob', status: 200 },
  {
    name: 'label',
    method: 'POST',
    path: '/v2/labels',
    as: 'alice',
    body: { text: 'Alice Moreau, room 12' },
    status: 200,
    schema: 'Label',
  },
  {
    name: 'avatar from trusted host',
    method: 'PUT',
    path: '/v2/users/me/avatar',
    as: 'alice',
    body: { url: imageUrl },
    status: 200,
    schema: 'Avatar',
  },
  {
    name: 'admin lists users',
    method: 'GET',
    path: '/v2/admin/users',
    as: 'admin',
    status: 200,
    schema: 'UserList',
  },
  {
    name: 'admin creates coupon',
    method: 'POST',
    path: '/v2/admin/coupons',
    as: 'admin',
    body: { code: 'SPRING-25', percentOff: 25 },
    status: 201,
    schema: 'Coupon',
  },
  { name: 'v1 own profile', method: 'GET', path: '/v1/users/3', as: 'alice', status: 200, schema: 'User' },
  {
    name: 'v1 admin reads a profile',
    method: 'GET',
    path: '/v1/users/4',
    as: 'admin',
    status: 200,
    schema: 'User',
  },
];

/** Malformed or refused input that is not a planted flaw: same status in both twins. */
export const badInput: Array<Omit<Step, 'schema'> & { raw?: string; contentType?: string; token?: string }> =
  [
    {
      name: 'wrong password',
      method: 'POST',
      path: '/v2/auth/login',
      body: { username: 'alice', password: 'nope-nope-nope' },
      status: 401,
    },
    { name: 'no token', method: 'GET', path: '/v2/users/me', status: 401 },
    { name: 'garbage token', method: 'GET', path: '/v2/users/me', token: 'not.a.jwt', status: 401 },
    { name: 'bad JSON', method: 'POST', path: '/v2/auth/login', raw: '{"username": "alice",', status: 400 },
    { name: 'empty body', method: 'POST', path: '/v2/auth/login', raw: '', status: 400 },
    {
      name: 'not JSON media type',
      method: 'POST',
      path: '/v2/auth/login',
      raw: 'username=alice',
      contentType: 'application/x-www-form-urlencoded',
      status: 415,
    },
    { name: 'array body', method: 'POST', path: '/v2/records', as: 'alice', body: [1, 2], status: 422 },
    {
      name: 'wrong type',
      method: 'POST',
      path: '/v2/auth/login',
      body: { username: 5, password: 'x' },
      status: 422,
    },
    {
      name: 'missing field',
      method: 'POST',
      path: '/v2/auth/register',
      body: { username: 'zed' },
      status: 422,
    },
    {
      name: 'duplicate username',
      method: 'POST',
      path: '/v2/auth/register',
      body: { username: 'alice', email: 'a@b.example', password: 'long-enough-pw', fullName: 'A' },
      status: 409,
    },
    {
      name: 'invalid email',
      method: 'PATCH',
      path: '/v2/users/me',
      as: 'alice',
      body: { email: 'not-an-email' },
      status: 422,
    },
    {
      name: 'unknown property',
      method: 'PATCH',
      path: '/v2/users/me',
      as: 'alice',
      body: { favouriteColour: 'blue' },
      status: 422,
    },
    { name: 'unknown record', method: 'GET', path: '/v2/records/999', as: 'alice', status: 404 },
    { name: 'non-numeric id', method: 'GET', path: '/v2/records/abc', as: 'alice', status: 400 },
    { name: 'bad limit', method: 'GET', path: '/v2/doctors?limit=abc', status: 400 },
    { name: 'negative offset', method: 'GET', path: '/v2/records?offset=-1', as: 'alice', status: 400 },
    { name: "someone else's invoice", method: 'GET', path: '/v2/invoices/2', as: 'alice', status: 404 },
    {
      name: "coupon on someone else's invoice",
      method: 'POST',
      path: '/v2/invoices/2/coupons',
      as: 'alice',
      body: { code: 'WELCOME10' },
      status: 404,
    },
    {
      name: 'unknown coupon',
      method: 'POST',
      path: '/v2/invoices/1/coupons',
      as: 'alice',
      body: { code: 'NOPE' },
      status: 404,
    },
    {
      name: 'bad member id',
      method: 'POST',
      path: '/v2/invoices/1/insurance-claims',
      as: 'alice',
      body: { memberId: "1' OR 1=1" },
      status: 422,
    },
    {
      name: 'coupon percent out of range',
      method: 'POST',
      path: '/v2/admin/coupons',
      as: 'admin',
      body: { code: 'BAD', percentOff: 500 },
      status: 422,
    },
    { name: 'unknown document', method: 'GET', path: '/v2/documents/nope.txt', as: 'alice', status: 404 },
    { name: 'unknown path', method: 'GET', path: '/v2/nope', status: 404 },
    { name: 'unsupported method', method: 'DELETE', path: '/v2/users/me', status: 405 },
    { name: 'bad percent-encoding', method: 'GET', path: '/v2/records/%E0%A4%A', as: 'alice', status: 400 },
    { name: 'v1 unknown user', method: 'GET', path: '/v1/users/999', as: 'admin', status: 404 },
  ];
