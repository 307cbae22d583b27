/**
 * The one priority table of the gateway. Lower runs earlier in the request phase and later
 * in the response phase (the response phase runs in descending order, so validate-response
 * sees the upstream body before minimise-response, which runs before property-access's
 * response hook). `routing` is the gateway's own step: policies below it run on every
 * request (global hooks), policies from it up compile per operation (`forRoute`).
 *
 * Every policy takes its priority from here (`priority: PRIORITIES['rate-limit']`); a new
 * policy adds its row here first, so the order of the whole chain is readable in one place.
 */
export const PRIORITIES = {
  'security-headers': 50,
  'request-id': 100,
  cors: 150,
  transport: 200,
  'request-limits': 300,
  routing: 350,
  versions: 360,
  'brute-force': 380,
  'uniform-failure': 390,
  authenticate: 400,
  mfa: 500,
  roles: 600,
  owner: 650,
  'property-access': 680,
  'rate-limit': 700,
  'flow-limit': 720,
  'validate-request': 800,
  'injection-guard': 820,
  'ssrf-guard': 840,
  'minimise-response': 900,
  'validate-response': 950,
} as const;

export type PriorityName = keyof typeof PRIORITIES;

/** Requests reach routing (400 bad path, mounts, 404/405) after the policies below this priority. */
export const ROUTING_PRIORITY = PRIORITIES.routing;
