/**
 * Spectral-style `testRule(rule, cases)`: each case is a small OpenAPI document and the
 * findings the rule must produce on it (operation + severity), nothing more, nothing less.
 */
import { describe, expect, it } from 'vitest';
import { parseYamlSource } from '../../src/core/config-loader.ts';
import { parseOpenApi } from '../../src/core/openapi-loader.ts';
import type { Severity } from '../../src/core/findings.ts';
import { audit, serverBase, type AuditDocument, type Rule } from '../../src/audit/index.ts';
import { X_RAMPART_KEYS } from '../../src/cli/app.ts';

export interface RuleCase {
  name: string;
  /** paths (and anything else) merged into a minimal 3.1 document with a bearer scheme. */
  doc: Record<string, unknown>;
  expect: Array<{ operation?: string; severity: Severity; message?: RegExp }>;
  gateway?: AuditDocument['gateway'];
  lifecycle?: AuditDocument['lifecycle'];
}

export function docOf(extra: Record<string, unknown>): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: { title: 't', version: '1' },
    servers: [{ url: 'https://api.example.com/v1' }],
    security: [{ bearer: [] }],
    paths: {},
    ...extra,
    components: {
      ...((extra.components as Record<string, unknown>) ?? {}),
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer' },
        ...(((extra.components as Record<string, unknown>)?.securitySchemes as Record<string, unknown>) ??
          {}),
      },
    },
  };
}

export function auditObject(rule: Rule, c: Omit<RuleCase, 'name' | 'expect'>) {
  const text = JSON.stringify(docOf(c.doc), null, 2);
  const doc = parseOpenApi(text, 'case.json');
  const d: AuditDocument = {
    doc,
    file: 'case.json',
    source: parseYamlSource(text, 'case.json'),
    base: serverBase(doc.raw),
    ...(c.gateway ? { gateway: c.gateway } : {}),
    ...(c.lifecycle ? { lifecycle: c.lifecycle } : {}),
    // As the CLI does: the gateway policies' x-rampart schemas.
    xRampart: X_RAMPART_KEYS,
  };
  return audit([d], { rules: [rule], suggestPolicies: true });
}

export function testRule(rule: Rule, cases: RuleCase[]): void {
  describe(rule.id, () => {
    it('is documented data: category, severity, rationale, fix', () => {
      expect(rule.id).toMatch(/^audit\/[a-z0-9-]+$/);
      expect(rule.owasp).toMatch(/^API\d+:2023$/);
      expect(rule.rationale.length).toBeGreaterThan(30);
      expect(rule.fix.length).toBeGreaterThan(20);
    });
    it.each(cases)('$name', (c) => {
      const { findings } = auditObject(rule, c);
      expect(findings.map((f) => ({ operation: f.operation, severity: f.severity }))).toEqual(
        c.expect.map((e) => ({ operation: e.operation, severity: e.severity })),
      );
      c.expect.forEach((e, i) => {
        if (e.message) expect(findings[i]!.description).toMatch(e.message);
        expect(findings[i]!.check).toBe(rule.id);
        expect(findings[i]!.evidence.location?.line).toBeGreaterThan(0);
        expect(findings[i]!.related).toEqual(rule.related);
      });
    });
  });
}

/** Shorthands for building cases. */
export const json = (schema: unknown) => ({ content: { 'application/json': { schema } } });
export const ok = (schema?: unknown) => ({ '200': { description: 'ok', ...(schema ? json(schema) : {}) } });
export const idParam = (name: string, type = 'integer') => ({
  name,
  in: 'path',
  required: true,
  schema: { type },
});
