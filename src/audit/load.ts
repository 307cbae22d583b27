/**
 * Reading a document for the audit: size-capped, parsed and checked by the shared loader
 * (positions, `$ref` resolution, Swagger 2.0 refused with the conversion hint), with the
 * parsed text kept so findings point at lines.
 */
import { readFileSync, statSync } from 'node:fs';
import { parseYamlSource, type ConfigError } from '../core/config-loader.ts';
import { checkOpenApi } from '../core/openapi-loader.ts';
import type { AuditDocument, GatewayFacts } from './types.ts';

/** Documents larger than this are refused (a YAML bomb or a mistake, not a contract). */
export const DEFAULT_MAX_BYTES = 32 * 1024 * 1024;

/** Input the audit cannot read: every problem, positioned (`file:line:col  /pointer  message`). */
export class AuditInputError extends Error {
  override name = 'AuditInputError';
  constructor(readonly errors: ConfigError[]) {
    super(
      errors
        .map(
          (e) =>
            `${e.file}${e.line !== undefined ? `:${e.line}:${e.column ?? 1}` : ''}  ${e.path || '/'}  ${e.message}`,
        )
        .join('\n'),
    );
  }
}

/** The path part of the first server URL (`/v2`, or `/api` of `https://x.example/api/`), '' if none. */
export function serverBase(raw: Record<string, unknown>): string {
  const servers = raw.servers;
  const first = Array.isArray(servers) ? (servers[0] as Record<string, unknown> | undefined) : undefined;
  let url = typeof first?.url === 'string' ? first.url : '';
  const vars = first?.variables as Record<string, { default?: unknown }> | undefined;
  url = url.replace(/\{([^}]+)\}/g, (_m, v: string) => String(vars?.[v]?.default ?? ''));
  let path = url;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    try {
      path = new URL(url).pathname;
    } catch {
      path = '';
    }
  }
  if (!path.startsWith('/')) return '';
  return path.replace(/\/+$/, '');
}

export interface LoadOptions {
  maxBytes?: number;
  base?: string;
  lifecycle?: AuditDocument['lifecycle'];
  gateway?: GatewayFacts;
}

/** Reads and checks one document; throws {@link AuditInputError}. */
export function loadAuditDocument(file: string, opts: LoadOptions = {}): AuditDocument {
  const max = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
    size = st.size;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new AuditInputError([
      {
        file,
        path: '',
        message:
          code === 'ENOENT'
            ? 'no such file'
            : code === 'EISDIR'
              ? 'is a directory, not a document'
              : `cannot read (${code ?? (err as Error).message})`,
      },
    ]);
  }
  if (size > max)
    throw new AuditInputError([
      {
        file,
        path: '',
        message: `document is ${(size / 1048576).toFixed(1)} MiB; the audit reads documents up to ${(max / 1048576).toFixed(0)} MiB (--max-size)`,
      },
    ]);
  const text = readFileSync(file, 'utf8');
  const checked = checkOpenApi(text, file);
  if (!checked.document) throw new AuditInputError(checked.errors);
  const source = checked.source ?? parseYamlSource(text, file);
  return {
    doc: checked.document,
    file,
    source,
    base: opts.base ?? serverBase(checked.document.raw),
    ...(opts.lifecycle ? { lifecycle: opts.lifecycle } : {}),
    ...(opts.gateway ? { gateway: opts.gateway } : {}),
  };
}
