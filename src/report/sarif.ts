/**
 * SARIF 2.1.0 (OASIS): one run, the checks as `tool.driver.rules`, one result per
 * finding. Audit and code findings carry a physical location (file, region); scanner
 * findings a logical one (`METHOD /path`), plus the first exchange as
 * `webRequest`/`webResponse`. `fingerprints` are the finding id, so code-scanning
 * services track a finding across runs. `security-severity` (0–10) is the property
 * GitHub code scanning ranks by.
 */
import { relative, sep } from 'node:path';
import type { CheckInfo, Finding, RunMeta, Severity } from '../core/findings.ts';
import { categoryLabel, sortFindings } from './common.ts';

export const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';

const LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = {
  critical: 'error',
  high: 'error',
  medium: 'warning',
  low: 'note',
  info: 'note',
};

/** GitHub's security-severity scale: critical ≥ 9, high 7–8.9, medium 4–6.9, low 0.1–3.9. */
const SECURITY_SEVERITY: Record<Severity, string> = {
  critical: '9.5',
  high: '8.0',
  medium: '5.5',
  low: '3.0',
  info: '0.0',
};

type Obj = Record<string, unknown>;

/** A file path as a SARIF URI: relative to `base` when inside it, forward slashes, percent-encoded. */
function artifactUri(file: string, base: string): string {
  const rel = relative(base, file);
  const inside = rel !== '' && !rel.startsWith('..') && !/^[a-z]:/i.test(rel);
  const path = (inside ? rel : file).split(sep).join('/');
  if (!inside && path.startsWith('/')) return 'file://' + encodeURI(path);
  return encodeURI(path);
}

function tags(c: { owasp?: string | undefined; cwe?: number | undefined }): string[] {
  const out = ['security'];
  if (c.owasp) out.push(`owasp-api-top10-2023/${c.owasp.replace(':2023', '')}`);
  if (c.cwe !== undefined) out.push(`external/cwe/cwe-${c.cwe}`);
  return out;
}

function ruleOf(c: CheckInfo, sample: Finding | undefined): Obj {
  const title = c.title || sample?.title || c.id;
  const severity = c.severity ?? sample?.severity ?? 'medium';
  const rule: Obj = {
    id: c.id,
    name: c.id.replace(/[^A-Za-z0-9]+(.)?/g, (_m, ch: string | undefined) => (ch ? ch.toUpperCase() : '')),
    shortDescription: { text: title },
    fullDescription: { text: c.description ?? sample?.description ?? title },
    defaultConfiguration: { level: LEVEL[severity] },
    properties: {
      tags: tags({ owasp: c.owasp ?? sample?.owasp, cwe: c.cwe ?? sample?.cwe }),
      'security-severity': SECURITY_SEVERITY[severity],
      ...((c.owasp ?? sample?.owasp) ? { owasp: c.owasp ?? sample?.owasp } : {}),
      ...((c.cwe ?? sample?.cwe) !== undefined ? { cwe: `CWE-${c.cwe ?? sample?.cwe}` } : {}),
    },
  };
  const help = c.remediation ?? sample?.remediation.summary;
  if (help) rule.help = { text: help, markdown: help };
  if ((c.cwe ?? sample?.cwe) !== undefined)
    rule.helpUri = `https://cwe.mitre.org/data/definitions/${c.cwe ?? sample?.cwe}.html`;
  return rule;
}

function headersOf(h: Record<string, string> | undefined): Obj | undefined {
  return h && Object.keys(h).length ? { ...h } : undefined;
}

function resultOf(f: Finding, ruleIndex: number, base: string): Obj {
  const result: Obj = {
    ruleId: f.check,
    ruleIndex,
    level: LEVEL[f.severity],
    message: { text: `${f.title}. ${f.description}`.replace(/\.\. /, '. ') },
    fingerprints: { 'rampart/v1': f.id },
    partialFingerprints: { 'rampartFindingId/v1': f.id },
  };
  const location: Obj = {};
  const loc = f.evidence.location;
  if (loc) {
    const region: Obj = {};
    if (loc.line !== undefined && loc.line >= 1) {
      region.startLine = loc.line;
      if (loc.column !== undefined && loc.column >= 1) region.startColumn = loc.column;
      if (loc.endLine !== undefined && loc.endLine >= loc.line) region.endLine = loc.endLine;
      if (loc.endColumn !== undefined && loc.endColumn >= 1) region.endColumn = loc.endColumn;
      if (loc.snippet) region.snippet = { text: loc.snippet };
    }
    location.physicalLocation = {
      artifactLocation: { uri: artifactUri(loc.file, base) },
      ...(Object.keys(region).length ? { region } : {}),
    };
  }
  if (f.operation) {
    location.logicalLocations = [{ name: f.operation, fullyQualifiedName: f.operation, kind: 'function' }];
  }
  if (Object.keys(location).length) result.locations = [location];
  const ex = f.evidence.exchanges?.[0];
  if (ex) {
    result.webRequest = {
      method: ex.request.method,
      target: ex.request.url,
      ...(headersOf(ex.request.headers) ? { headers: headersOf(ex.request.headers) } : {}),
      ...(ex.request.body !== undefined ? { body: { text: ex.request.body } } : {}),
    };
    if (ex.response) {
      result.webResponse = {
        statusCode: ex.response.status,
        ...(headersOf(ex.response.headers) ? { headers: headersOf(ex.response.headers) } : {}),
        ...(ex.response.body !== undefined ? { body: { text: ex.response.body } } : {}),
      };
    }
  }
  const props: Obj = {
    source: f.source,
    severity: f.severity,
    confidence: f.confidence,
    remediation: f.remediation.summary,
  };
  if (f.owasp) props.owasp = categoryLabel(f.owasp);
  if (f.cwe !== undefined) props.cwe = `CWE-${f.cwe}`;
  if (f.remediation.policy) props.policy = f.remediation.policy;
  if (f.remediation.xRampart) props.xRampart = f.remediation.xRampart;
  if (f.related?.length) props.related = f.related;
  if (loc?.pointer !== undefined) props.pointer = loc.pointer;
  if (f.evidence.exchanges && f.evidence.exchanges.length > 1) props.exchanges = f.evidence.exchanges;
  if (f.evidence.details) props.details = f.evidence.details;
  result.properties = props;
  return result;
}

/** The SARIF log as an object. `base` is the directory artifact URIs are made relative to. */
export function toSarif(findings: readonly Finding[], meta: RunMeta, base = process.cwd()): Obj {
  const sorted = sortFindings(findings);
  const checks = new Map<string, CheckInfo>();
  for (const c of meta.checks ?? []) checks.set(c.id, c);
  const samples = new Map<string, Finding>();
  for (const f of sorted) {
    if (!samples.has(f.check)) samples.set(f.check, f);
    if (!checks.has(f.check)) checks.set(f.check, { id: f.check, title: f.title });
  }
  const ids = [...checks.keys()];
  const rules = ids.map((id) => ruleOf(checks.get(id)!, samples.get(id)));
  const notifications = (meta.notes ?? []).map((n) => ({ level: 'warning', message: { text: n } }));
  return {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'Rampart',
            fullName: `Rampart ${meta.tool}`,
            version: meta.version,
            semanticVersion: /^\d+\.\d+\.\d+/.test(meta.version) ? meta.version : undefined,
            rules,
          },
        },
        automationDetails: { id: `rampart/${meta.tool}/` },
        invocations: [
          {
            executionSuccessful: true,
            startTimeUtc: meta.startedAt,
            endTimeUtc: meta.finishedAt,
            ...(notifications.length ? { toolExecutionNotifications: notifications } : {}),
          },
        ],
        results: sorted.map((f) => resultOf(f, ids.indexOf(f.check), base)),
        properties: {
          target: meta.target,
          ...(meta.score ? { score: meta.score } : {}),
          ...(meta.suppressed?.length ? { suppressed: meta.suppressed } : {}),
        },
      },
    ],
  };
}

export function renderSarif(findings: readonly Finding[], meta: RunMeta): string {
  return JSON.stringify(toSarif(findings, meta), null, 2) + '\n';
}
