/** Benchmark scenarios for the rampart side: its contract and its policy settings. */
export interface Scenario {
  description: string;
  spec: string;
  policies: Record<string, unknown>;
  /** Extra App options (e.g. an identity service) built before start. */
  prepare?: (dir: string) => Promise<Record<string, unknown>>;
  /** Request headers the load generator sends (e.g. a bearer token). */
  headers?: () => Promise<Record<string, string>>;
}

const publicSpec = `openapi: 3.1.0
info: { title: bench, version: '1' }
paths:
  /items:
    get: { security: [], responses: { '200': { description: ok } } }
  /items/{id}:
    get:
      security: []
      parameters: [{ name: id, in: path, required: true, schema: { type: string } }]
      responses: { '200': { description: ok } }
`;

export const scenarios: Record<string, Scenario> = {
  default: {
    description: 'default chain: request-id, security-headers, cors, transport, request-limits',
    spec: publicSpec,
    policies: {},
  },
};
