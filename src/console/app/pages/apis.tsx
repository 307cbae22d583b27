import { API, ApiError, get } from '../api.ts';
import { Badge, Card, Empty, ErrorBox, fmtTime, PageTitle, Table, useLoad, type Tone } from '../ui.tsx';

interface Operation {
  method: string;
  path: string;
  deprecated: boolean;
  unprotected: boolean;
  mfa?: string;
  roles?: string[];
  rateLimit?: string;
  calls: number;
  lastSeen?: string;
}
interface Version {
  base: string;
  version: string;
  state: 'active' | 'deprecated' | 'retired';
  deprecated?: string;
  sunset?: string;
  successor?: string;
  lastSeen?: string;
  operations: Operation[];
}
interface Inventory {
  generatedAt: string;
  apis: { name: string; versions: Version[] }[];
  shadowEndpoints: {
    method: string;
    path: string;
    reason: string;
    hits: number;
    lastSeen: string;
    ips: string[];
  }[];
  deprecatedUsage: {
    api: string;
    base: string;
    consumer: string;
    consumerKind: string;
    calls: number;
    lastSeen: string;
    lastRoute: string;
  }[];
  traffic: boolean;
}
interface Change {
  level: string;
  operation?: string;
  location: string;
  message: string;
}
interface Changelog {
  apis: {
    name: string;
    versions: {
      base: string;
      version: string;
      changes?: { from: string; diff: { changes: Change[]; bump: string } };
    }[];
  }[];
}

const STATE: Record<string, Tone> = { active: 'ok', deprecated: 'warn', retired: 'muted' };

async function orFallback<T>(primary: string, fallback: string | undefined): Promise<T | undefined> {
  try {
    return await get<T>(primary);
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 404)) throw e;
    return fallback ? get<T>(fallback) : undefined;
  }
}

export function Apis() {
  const inv = useLoad(() => orFallback<Inventory>(`${API}/inventory`, '/inventory'));
  const log = useLoad(() => orFallback<Changelog>(`${API}/changelog`, undefined));
  const i = inv.data;
  return (
    <>
      <PageTitle>APIs</PageTitle>
      <ErrorBox error={inv.error} />
      {i && (
        <>
          {!i.traffic && (
            <p class="muted">No traffic recorded yet: call counts come from the store once requests flow.</p>
          )}
          <Card title="Lifecycle" id="lifecycle">
            <Timeline apis={i.apis} />
          </Card>
          {i.apis.map((api) => (
            <Card
              title={`API ${api.name}`}
              key={api.name}
              id={`api-${api.name.replace(/[^A-Za-z0-9_-]/g, '_')}`}
            >
              {api.versions.map((v) => (
                <details key={v.base}>
                  <summary>
                    <code>{v.base}</code> {v.version} <Badge tone={STATE[v.state] ?? 'info'}>{v.state}</Badge>{' '}
                    {v.operations.length} operations · last seen {fmtTime(v.lastSeen)}
                  </summary>
                  <Table
                    label={`Operations of ${v.base}`}
                    rows={v.operations}
                    rowKey={(o) => `${o.method} ${o.path}`}
                    cols={[
                      { head: 'Operation', cell: (o) => <code>{`${o.method} ${o.path}`}</code> },
                      {
                        head: 'Protection',
                        cell: (o) =>
                          o.unprotected ? (
                            <Badge tone="bad">unprotected</Badge>
                          ) : (
                            [o.mfa && `mfa ${o.mfa}`, o.roles?.join(', ')].filter(Boolean).join(' · ') ||
                            'authenticated'
                          ),
                      },
                      { head: 'Rate limit', cell: (o) => o.rateLimit ?? '—' },
                      { head: 'Calls', cell: (o) => o.calls, class: 'num' },
                      { head: 'Last seen', cell: (o) => fmtTime(o.lastSeen) },
                    ]}
                  />
                </details>
              ))}
            </Card>
          ))}
          <Card title="Consumers of deprecated versions" id="deprecated">
            <Table
              label="Consumers of deprecated versions"
              rows={i.deprecatedUsage}
              rowKey={(d) => `${d.base}|${d.consumer}`}
              empty="Nobody calls a deprecated version."
              cols={[
                { head: 'Version', cell: (d) => <code>{d.base}</code> },
                { head: 'Consumer', cell: (d) => `${d.consumer} (${d.consumerKind})` },
                { head: 'Calls', cell: (d) => d.calls, class: 'num' },
                { head: 'Last route', cell: (d) => <code>{d.lastRoute}</code> },
                { head: 'Last seen', cell: (d) => fmtTime(d.lastSeen) },
              ]}
            />
          </Card>
          <Card title="Shadow endpoints" id="shadow">
            <Table
              label="Shadow endpoints"
              rows={i.shadowEndpoints}
              rowKey={(s) => `${s.method} ${s.path}`}
              empty="No request to an undeclared path or method."
              cols={[
                { head: 'Request', cell: (s) => <code>{`${s.method} ${s.path}`}</code> },
                { head: 'Why', cell: (s) => s.reason },
                { head: 'Hits', cell: (s) => s.hits, class: 'num' },
                { head: 'From', cell: (s) => s.ips.slice(0, 5).join(', ') },
                { head: 'Last seen', cell: (s) => fmtTime(s.lastSeen) },
              ]}
            />
          </Card>
        </>
      )}
      <Card title="Breaking-change changelog" id="changelog">
        <ErrorBox error={log.error} />
        {log.data ? (
          log.data.apis.flatMap((api) =>
            api.versions
              .filter((v) => v.changes)
              .map((v) => (
                <details key={`${api.name}${v.base}`}>
                  <summary>
                    {api.name} <code>{v.changes!.from}</code> → <code>{v.base}</code> ({v.changes!.diff.bump})
                  </summary>
                  <ul>
                    {v.changes!.diff.changes.map((c, n) => (
                      <li key={n}>
                        <Badge tone={c.level === 'breaking' ? 'bad' : 'info'}>{c.level}</Badge>{' '}
                        {c.operation ?? ''} {c.location}: {c.message}
                      </li>
                    ))}
                  </ul>
                </details>
              )),
          )
        ) : (
          <p>
            <a href="/changelog" target="_blank" rel="noopener noreferrer">
              Open the published changelog
            </a>
          </p>
        )}
      </Card>
    </>
  );
}

/** Each version's lifecycle (deprecation, sunset) on one time axis, drawn in SVG. */
function Timeline(p: { apis: Inventory['apis'] }) {
  const rows = p.apis.flatMap((a) => a.versions.map((v) => ({ api: a.name, ...v })));
  const times = rows.flatMap((r) => [r.deprecated, r.sunset].filter(Boolean).map((t) => Date.parse(t!)));
  const now = Date.now();
  if (rows.length === 0) return <Empty>No API configured.</Empty>;
  const min = Math.min(now, ...times) - 30 * 86400_000;
  const max = Math.max(now, ...times) + 30 * 86400_000;
  const W = 800;
  const L = 180;
  const xOf = (t: number) => L + ((t - min) / (max - min)) * (W - L - 10);
  const H = 28;
  return (
    <>
      <svg
        class="timeline"
        viewBox={`0 0 ${W} ${rows.length * H + 30}`}
        role="img"
        aria-labelledby="timeline-desc"
      >
        <desc id="timeline-desc">
          {rows
            .map(
              (r) =>
                `${r.api} ${r.base}: ${r.state}${r.deprecated ? `, deprecated ${r.deprecated}` : ''}${r.sunset ? `, sunset ${r.sunset}` : ''}`,
            )
            .join('; ')}
        </desc>
        <line x1={xOf(now)} x2={xOf(now)} y1={0} y2={rows.length * H} class="tl-now" />
        <text x={xOf(now)} y={rows.length * H + 16} class="tl-axis" text-anchor="middle">
          today
        </text>
        {rows.map((r, i) => {
          const y = i * H + 14;
          const dep = r.deprecated ? xOf(Date.parse(r.deprecated)) : undefined;
          const sun = r.sunset ? xOf(Date.parse(r.sunset)) : undefined;
          return (
            <g key={`${r.api}${r.base}`}>
              <text x={0} y={y + 4} class="tl-label">
                {`${r.api} ${r.base}`}
              </text>
              <rect x={L} y={y - 3} width={(dep ?? sun ?? W - 10) - L} height={6} class="tl-active" />
              {dep !== undefined && (
                <rect x={dep} y={y - 3} width={(sun ?? W - 10) - dep} height={6} class="tl-deprecated" />
              )}
              {sun !== undefined && (
                <rect x={sun} y={y - 3} width={W - 10 - sun} height={6} class="tl-retired" />
              )}
            </g>
          );
        })}
      </svg>
      <ul class="legend">
        <li class="legend-ok">active</li>
        <li class="legend-warn">deprecated</li>
        <li class="legend-muted">retired (after sunset)</li>
      </ul>
    </>
  );
}
