import type { Clock } from '../core/clock.ts';

/** Which twin a lab instance runs: the planted flaws, or every one of them fixed. */
export type LabMode = 'vulnerable' | 'secure';

export interface LabOptions {
  mode: LabMode;
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  /** Bind address; 127.0.0.1 by default — never expose the vulnerable lab to a network. */
  host?: string;
  /**
   * Base URL of the insurer API. Default: a malicious stub started with the lab. A function
   * is asked on every call (the demo points the lab at an egress listener that starts later).
   */
  thirdPartyUrl?: string | (() => string);
  /**
   * TCP port of that insurer stub (always on 127.0.0.1); 0 (default) picks a free one. Set it where
   * a firewall or a test must know the port. Ignored with `thirdPartyUrl`.
   */
  insurerPort?: number;
  clock?: Clock;
  /**
   * `host:port` entries of image hosts the avatar import trusts even on a private
   * address (the secure twin's allow-list; tests use a loopback "CDN"). Default none.
   */
  avatarHosts?: string[];
  /** Browser origins the secure twin allows (CORS). Default none. */
  corsOrigins?: string[];
  /**
   * Vulnerable twin: issue tokens with `exp` (900 s) although it still accepts tokens
   * without one. For the demo behind the gateway, whose `authenticate` requires `exp`
   * (RFC 8725): with it the `jwt-no-expiry` flaw is not planted. Default false.
   */
  expiringTokens?: boolean;
}

export interface LabServer {
  url: string;
  port: number;
  mode: LabMode;
  /** The insurer API the lab calls (the bundled stub's URL unless `thirdPartyUrl` was given). */
  insurerUrl: string;
  close(): Promise<void>;
  /** File paths of the lab's OpenAPI documents. */
  specs: { v1: string; v2: string };
}
