import { describe, expect, it } from 'vitest';
import type { OpenApiDocument, OpenApiOperation } from '../../../core/openapi.ts';
import { unknownRoleProblems } from './check.ts';

const hierarchy = { admin: ['doctor'], doctor: [], patient: [] };
const KNOWN = '(admin, doctor, patient)';

const op = (init: Partial<OpenApiOperation>): OpenApiOperation => ({
  method: 'get',
  path: '/records',
  tags: [],
  parameters: [],
  responses: { '200': {} },
  security: [],
  deprecated: false,
  rampart: {},
  ...init,
});

const doc = (...operations: OpenApiOperation[]): OpenApiDocument => ({
  source: 'check.yaml',
  openapi: '3.1.0',
  title: 't',
  version: '1',
  raw: {},
  operations,
  securitySchemes: {},
});

const roleProp = (key: 'writableBy' | 'visibleTo', roles: string[]) => ({
  type: 'object',
  properties: { diagnosis: { type: 'string', 'x-rampart': { [key]: roles } } },
});

describe('rampart check: roles a document names must be declared', () => {
  it('a misspelt x-rampart.roles entry is refused with its pointer and the declared roles', () => {
    const d = doc(op({ pointer: '/paths/~1records/get', rampart: { roles: ['doctor', 'admn'] } }));
    expect(unknownRoleProblems(d, hierarchy)).toEqual([
      {
        pointer: '/paths/~1records/get/x-rampart/roles',
        message: `x-rampart.roles names role 'admn', which policies.roles.hierarchy does not declare ${KNOWN}`,
      },
    ]);
  });

  it('without a pointer, the operation pointer is built from the path (~ and / escaped, RFC 6901)', () => {
    const d = doc(op({ path: '/a~b/{id}', method: 'delete', rampart: { roles: ['ghost'] } }));
    expect(unknownRoleProblems(d, hierarchy).map((p) => p.pointer)).toEqual([
      '/paths/~1a~0b~1{id}/delete/x-rampart/roles',
    ]);
  });

  it('a misspelt owner.bypassRoles entry is refused (it would bypass nobody)', () => {
    const d = doc(op({ pointer: '/p', rampart: { owner: { bypassRoles: ['admin', 'suport'] } } }));
    expect(unknownRoleProblems(d, hierarchy)).toEqual([
      {
        pointer: '/p/x-rampart/owner/bypassRoles',
        message: `owner.bypassRoles names role 'suport', which policies.roles.hierarchy does not declare ${KNOWN}`,
      },
    ]);
  });

  it('writableBy in a request schema and visibleTo in a response schema are checked, each named', () => {
    const d = doc(
      op({
        pointer: '/w',
        method: 'put',
        requestBody: {
          required: true,
          content: { 'application/json': { schema: roleProp('writableBy', ['docter']) } },
        },
      }),
      op({
        pointer: '/v',
        responses: {
          '200': { content: { 'application/json': { schema: roleProp('visibleTo', ['nurse']) } } },
          '204': {},
        },
      }),
    );
    expect(unknownRoleProblems(d, hierarchy)).toEqual([
      {
        pointer: '/w',
        message: `x-rampart.writableBy in the request schema names role 'docter', which policies.roles.hierarchy does not declare ${KNOWN}`,
      },
      {
        pointer: '/v',
        message: `x-rampart.visibleTo in a response schema names role 'nurse', which policies.roles.hierarchy does not declare ${KNOWN}`,
      },
    ]);
  });

  it('reports a role once per pointer, but every distinct role and pointer', () => {
    const d = doc(
      op({
        pointer: '/a',
        rampart: { roles: ['x', 'x', 'y'] },
        responses: {
          '200': { content: { 'application/json': { schema: roleProp('visibleTo', ['x']) } } },
          '201': { content: { 'application/json': { schema: roleProp('visibleTo', ['x']) } } },
        },
      }),
    );
    expect(unknownRoleProblems(d, hierarchy).map((p) => [p.pointer, p.message.match(/'(\w+)'/)![1]])).toEqual(
      [
        ['/a/x-rampart/roles', 'x'],
        ['/a/x-rampart/roles', 'y'],
        ['/a', 'x'],
      ],
    );
  });

  it('the de-duplication key keeps pointer and role apart (/q…/roles + ax is not /q…/rolesa + x)', () => {
    const d = doc(
      op({ pointer: '/q', rampart: { roles: ['ax'] } }),
      op({
        pointer: '/q/x-rampart/rolesa',
        responses: { '200': { content: { 'application/json': { schema: roleProp('visibleTo', ['x']) } } } },
      }),
    );
    expect(unknownRoleProblems(d, hierarchy).map((p) => p.pointer)).toEqual([
      '/q/x-rampart/roles',
      '/q/x-rampart/rolesa',
    ]);
  });

  it('declared roles, and operations naming none, pass', () => {
    const d = doc(
      op({ pointer: '/ok', rampart: { roles: ['admin'], owner: { bypassRoles: ['doctor'] } } }),
      op({ pointer: '/none', rampart: { owner: {} } }),
    );
    expect(unknownRoleProblems(d, hierarchy)).toEqual([]);
  });

  it('when rampart.yaml declares no roles, any role name is accepted', () => {
    const d = doc(op({ rampart: { roles: ['anything'], owner: { bypassRoles: ['else'] } } }));
    expect(unknownRoleProblems(d, {})).toEqual([]);
  });
});
