/**
 * The one judge of a configuration: `rampart check` prints what this finds and `rampart
 * start` refuses to start on the same errors, so a config one accepts the other accepts
 * too. Everything is reported in one pass — schema errors, cross-field rules, every file
 * the config names (documents, TLS certificate and key), the documents' own errors and
 * overlaps between APIs — sorted by file and line. Warnings name settings that are valid
 * but cannot work as meant (operations that require credentials nothing can issue).
 */
import { existsSync, statSync } from 'node:fs';
import { checkConfigFile, resolveRelative, type ConfigCheckResult } from '../core/config-loader.ts';
import { checkOpenApiFile } from '../core/openapi-loader.ts';
import type { OpenApiDocument } from '../core/openapi.ts';
import type { SourceError } from '../core/source-errors.ts';
import { DEFAULT_STORE } from '../gateway/config.ts';
import { contractIssues } from '../gateway/contract/operation.ts';
import { unknownRoleProblems } from '../gateway/policies/roles/check.ts';
import { parseStoreUrl, sqlitePathProblem } from '../store/index.ts';
import { readCaFile } from '../monitor/index.ts';
import { resolveStoreUrl, X_RAMPART_KEYS } from './app.ts';
import { crossFieldErrors } from './config-rules.ts';
import { configSchema, type RampartFileConfig } from './config-schema.ts';

export interface Validation {
  config: RampartFileConfig | undefined;
  baseDir: string;
  errors: SourceError[];
  warnings: SourceError[];
  /** Documents that loaded, by API index and version index. */
  documents: Map<string, OpenApiDocument>;
  counts: { apis: number; versions: number; operations: number };
}

/** `apis[].versions[].spec` from a config that failed validation (whatever is well-formed). */
function specsOf(
  value: unknown,
): Array<{ name?: unknown; versions: Array<{ spec?: unknown; base?: unknown }> }> {
  const apis = (value as { apis?: unknown } | undefined)?.apis;
  if (!Array.isArray(apis)) return [];
  return apis.map((a) => {
    const versions = (a as { versions?: unknown } | null)?.versions;
    return {
      name: (a as { name?: unknown } | null)?.name,
      versions: Array.isArray(versions)
        ? versions.map((v) => (v && typeof v === 'object' ? (v as { spec?: unknown }) : {}))
        : [],
    };
  });
}

/** The role hierarchy of the roles policy, when one is declared (then every role an operation names must be in it). */
function rolesHierarchyOf(config: RampartFileConfig | undefined): Record<string, string[]> | undefined {
  const roles = (config?.policies as Record<string, unknown> | undefined)?.roles as
    { hierarchy?: Record<string, string[]>; enabled?: boolean } | undefined;
  if (!roles || roles.enabled === false || !roles.hierarchy) return undefined;
  return Object.keys(roles.hierarchy).length > 0 ? roles.hierarchy : undefined;
}

function byPosition(a: SourceError, b: SourceError): number {
  return a.file < b.file
    ? -1
    : a.file > b.file
      ? 1
      : (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0);
}

export async function validateConfigFile(path: string): Promise<Validation> {
  const result: ConfigCheckResult<RampartFileConfig> = await checkConfigFile<RampartFileConfig>(
    path,
    configSchema,
  );
  const errors: SourceError[] = [...result.errors];
  const warnings: SourceError[] = [];
  const documents = new Map<string, OpenApiDocument>();
  const counts = { apis: 0, versions: 0, operations: 0 };
  const { config, source } = result;
  if (source) {
    const at = (segments: string[], message: string) => source.error(segments, message);
    if (config)
      for (const { segments, message } of crossFieldErrors(config)) errors.push(at(segments, message));
    // With an invalid config, still check the documents it names, so one run shows everything.
    const apiList = config ? config.apis : specsOf(result.unvalidated);
    for (const [i, api] of apiList.entries()) {
      counts.apis++;
      for (const [j, version] of api.versions.entries()) {
        counts.versions++;
        if (typeof version.spec !== 'string') continue;
        const specPath = resolveRelative(result.baseDir, version.spec);
        const spec = await checkOpenApiFile(specPath, { xRampart: X_RAMPART_KEYS });
        if (spec.document) {
          counts.operations += spec.document.operations.length;
          documents.set(`${i}/${j}`, spec.document);
          // Schemas the validators cannot honour: file, pointer and keyword.
          for (const c of contractIssues(spec.document))
            errors.push({ file: c.file, path: c.pointer, message: `${c.keyword}: ${c.message}` });
          const hierarchy = rolesHierarchyOf(config);
          if (hierarchy)
            for (const p of unknownRoleProblems(spec.document, hierarchy))
              errors.push({ file: specPath, path: p.pointer, message: p.message });
          continue;
        }
        for (const e of spec.errors) {
          // A document that cannot be read is the config's problem: point at `spec`.
          if (e.line === undefined && e.file === specPath && e.path === '')
            errors.push(
              at(['apis', String(i), 'versions', String(j), 'spec'], `${e.message}: '${version.spec}'`),
            );
          else errors.push(e);
        }
      }
    }
    if (config) {
      // Every other file the config names must exist now, not fail later with a bare ENOENT.
      const tls = config.listen.tls;
      if (tls.enabled) {
        for (const k of ['cert', 'key'] as const) {
          const f = tls[k];
          if (f === undefined) continue;
          if (!existsSync(f)) errors.push(at(['listen', 'tls', k], `file not found: ${f}`));
          else if (!statSync(f).isFile()) errors.push(at(['listen', 'tls', k], `not a file: ${f}`));
        }
        if ((tls.cert === undefined) !== (tls.key === undefined))
          errors.push(
            at(
              ['listen', 'tls', tls.cert === undefined ? 'key' : 'cert'],
              'set both cert and key, or neither (a development certificate is generated)',
            ),
          );
      }
      storeProblem(config.store, result.baseDir, (m) => errors.push(at(['store'], m)));
      // An e-mail relay's private CA: missing, unreadable or not PEM is said at its line now.
      config.monitor.notifiers.forEach((n, i) => {
        if (n.type !== 'email' || n.ca === undefined) return;
        const ca = readCaFile(n.ca);
        if ('error' in ca) errors.push(at(['monitor', 'notifiers', String(i), 'ca'], ca.error));
      });
      rootOverlaps(config, documents, at, errors);
      if (config.apis.length === 0)
        warnings.push(at(['apis'], 'no APIs configured: the gateway will answer 404 to every request'));
      unsatisfiableCredentials(config, documents, at, warnings);
    }
  }
  errors.sort(byPosition);
  warnings.sort(byPosition);
  return {
    config: errors.length ? undefined : config,
    baseDir: result.baseDir,
    errors,
    warnings,
    documents,
    counts,
  };
}

/** A SQLite store whose directory is missing: `start` would refuse it (it never makes directories). */
function storeProblem(url: string, baseDir: string, report: (message: string) => void): void {
  let target;
  try {
    target = parseStoreUrl(resolveStoreUrl(url, baseDir));
  } catch {
    return; // the schema's own pattern reports a malformed URL
  }
  if (url === DEFAULT_STORE || target.dialect !== 'sqlite' || target.path === ':memory:') return;
  const problem = sqlitePathProblem(target.path);
  if (problem) report(problem);
}

/**
 * An API served at the root (`base: /`) sees every path no other base claims: an operation
 * of its document under another API's base can never be reached.
 */
function rootOverlaps(
  config: RampartFileConfig,
  documents: Map<string, OpenApiDocument>,
  at: (segments: string[], message: string) => SourceError,
  errors: SourceError[],
): void {
  const bases = config.apis
    .flatMap((a) => a.versions.map((v) => ({ api: a.name, base: v.base })))
    .filter((b) => b.base !== '/');
  config.apis.forEach((api, i) =>
    api.versions.forEach((v, j) => {
      if (v.base !== '/') return;
      const doc = documents.get(`${i}/${j}`);
      for (const op of doc?.operations ?? []) {
        const hit = bases.find((b) => op.path === b.base || op.path.startsWith(b.base + '/'));
        if (hit)
          errors.push(
            at(
              ['apis', String(i), 'versions', String(j), 'base'],
              `${op.method.toUpperCase()} ${op.path} can never be reached: base path ${hit.base} of API '${hit.api}' takes it`,
            ),
          );
      }
    }),
  );
}

/** Operations that require credentials while nothing configured can issue or verify any. */
function unsatisfiableCredentials(
  config: RampartFileConfig,
  documents: Map<string, OpenApiDocument>,
  at: (segments: string[], message: string) => SourceError,
  warnings: SourceError[],
): void {
  const auth = (
    config.policies as Record<
      string,
      { enabled?: boolean; issuers?: unknown[]; hmacIssuers?: unknown[] } | undefined
    >
  ).authenticate;
  if (auth?.enabled === false) return;
  const identity = (config as { identity?: unknown }).identity;
  const some = (l: unknown[] | undefined) => Array.isArray(l) && l.length > 0;
  if (identity !== undefined || some(auth?.issuers) || some(auth?.hmacIssuers)) return;
  config.apis.forEach((api, i) =>
    api.versions.forEach((v, j) => {
      const secured = (documents.get(`${i}/${j}`)?.operations ?? []).filter((op) => op.security.length > 0);
      if (secured.length === 0) return;
      warnings.push(
        at(
          ['apis', String(i), 'versions', String(j), 'spec'],
          `${secured.length} operation(s) require credentials (e.g. ${secured[0]!.method.toUpperCase()} ${v.base === '/' ? '' : v.base}${secured[0]!.path}) but no identity: section and no policies.authenticate issuers or hmacIssuers can issue or verify any: every such request will be answered 401`,
        ),
      );
    }),
  );
}
