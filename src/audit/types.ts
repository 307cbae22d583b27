/**
 * A rule is data (id, category, severity, rationale, fix, the scanner checks that would
 * confirm it) plus one small function. Operation rules return at most one hit per
 * operation — the noise budget is built into the type.
 */
import type { YamlSource } from '../core/config-loader.ts';
import type { Confidence, OwaspApiCategory, Severity } from '../core/findings.ts';
import type { OpenApiDocument, OpenApiOperation, XRampartSpec } from '../core/openapi.ts';

/** What the gateway configuration (rampart.yaml, with `-c`) adds to a document. */
export interface GatewayFacts {
  configFile: string;
  /** limits.maxBodyBytes: every request body is capped at the gateway. */
  maxBodyBytes?: number;
  /** policies: settings by policy name (a policy set to `{ enabled: false }` is off). */
  policies: Record<string, unknown>;
  /** The listener has TLS. */
  tls: boolean;
  /** Host the gateway listens on. */
  listenHost?: string;
  /** The upstream of this document's version. */
  upstream?: string;
}

/** One document under audit, with where it is served and what protects it. */
export interface AuditDocument {
  doc: OpenApiDocument;
  /** The file as the user named it (findings point here). */
  file: string;
  /** For positions: the parsed text of `file`. */
  source?: YamlSource;
  /** Base path the operations are served under (`/v2`): config `base`, else the first server's path. */
  base: string;
  /** Version lifecycle from rampart.yaml (with `-c`). */
  lifecycle?: { deprecated?: string; sunset?: string; successor?: string };
  gateway?: GatewayFacts;
  /**
   * The `x-rampart` keys the gateway's policies declare, with their schemas and
   * cross-reference checks. The audit cannot import the gateway (layering): the CLI passes
   * them in (cli/app.ts X_RAMPART_KEYS), so the audit judges exactly what the gateway accepts.
   */
  xRampart?: ReadonlyMap<string, XRampartSpec>;
}

export interface OperationContext {
  op: OpenApiOperation;
  audit: AuditDocument;
  /** `METHOD /base/path/{template}`. */
  name: string;
  /** JSON pointer segments of the operation in the document. */
  at: string[];
  /** Every operation of the document (cross-operation rules: owner lookups, sibling GETs). */
  siblings: OpenApiOperation[];
}

export interface Hit {
  /** Overrides the rule's default severity for this case. */
  severity?: Severity;
  confidence?: Confidence;
  /** One line; defaults to the rule's title. */
  title?: string;
  /** What exactly was found here. */
  message: string;
  /** Pointer segments inside the document (defaults to the operation). */
  at?: string[];
  /** What distinguishes this hit (part of the finding id for document rules). */
  key?: string;
  details?: Record<string, unknown>;
  /** `x-rampart` that would close it (shown with --suggest-policies). */
  xRampart?: string;
  /** For document-level hits: the operation it concerns, if one. */
  operation?: string;
}

export interface Rule {
  /** `audit/…` */
  id: string;
  title: string;
  owasp: OwaspApiCategory;
  cwe?: number;
  /** Default (usually the worst) severity. */
  severity: Severity;
  /** Why it matters. */
  rationale: string;
  /** How to fix it. */
  fix: string;
  /** The Rampart policy that enforces the fix at the gateway, where one exists. */
  policy?: string;
  /** Scanner checks that confirm it on the running API. */
  related: string[];
  /** Per operation: at most one hit. */
  operation?(ctx: OperationContext): Hit | undefined;
  /** Per document (servers, security schemes, document-level extensions). */
  document?(audit: AuditDocument): Hit[];
}
