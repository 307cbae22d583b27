import { useEffect, useState } from 'preact/hooks';
import { stream } from '../api.ts';
import { Chart } from '../chart.tsx';
import { Card, ErrorBox, fmtNum, PageTitle, Table } from '../ui.tsx';

/** One second as `/admin/console/live` sends it (src/console/summary.ts). */
interface Second {
  t: number;
  requests: number;
  errors: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  denied: Record<string, number>;
  rateLimited: number;
}
interface LiveMessage {
  second: Second;
  topConsumers: [string, number][];
  topDeniedIps: [string, number][];
}

const KEEP = 120;

export function Dashboard() {
  const [msgs, setMsgs] = useState<LiveMessage[]>([]);
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    const ac = new AbortController();
    stream(
      '/admin/console/live',
      (event, data) => {
        setError(undefined);
        if (event === 'history') setMsgs((JSON.parse(data) as LiveMessage[]).slice(-KEEP));
        else if (event === 'second') {
          const m = JSON.parse(data) as LiveMessage;
          setMsgs((old) => [...old.slice(-(KEEP - 1)), m]);
        }
      },
      ac.signal,
      setError,
    );
    return () => ac.abort();
  }, []);

  const x = msgs.map((m) => m.second.t / 1000);
  const last = msgs[msgs.length - 1];
  const window = msgs.slice(-60);
  const sum = (f: (s: Second) => number) => window.reduce((a, m) => a + f(m.second), 0);
  const reqs = sum((s) => s.requests);
  const errs = sum((s) => s.errors);
  const denied: Record<string, number> = {};
  for (const m of window)
    for (const [k, v] of Object.entries(m.second.denied)) denied[k] = (denied[k] ?? 0) + v;
  const deniedRows = Object.entries(denied).sort((a, b) => b[1] - a[1]);
  const deniedTotal = (s: Second) => Object.values(s.denied).reduce((a, v) => a + v, 0);

  return (
    <>
      <PageTitle>Dashboard</PageTitle>
      <ErrorBox error={error} />
      <div class="tiles" role="group" aria-label="Last second and last minute">
        <Tile label="Requests/s" value={fmtNum(last?.second.requests)} id="tile-rps" />
        <Tile label="p95 latency (ms)" value={fmtNum(last?.second.p95, 1)} id="tile-p95" />
        <Tile
          label="Error ratio (1 min)"
          value={reqs > 0 ? `${((100 * errs) / reqs).toFixed(2)} %` : '—'}
          id="tile-errors"
        />
        <Tile label="Rate-limited (1 min)" value={String(sum((s) => s.rateLimited))} id="tile-limited" />
        <Tile label="Denied (1 min)" value={String(sum(deniedTotal))} id="tile-denied" />
      </div>
      <div class="grid2">
        <Card>
          <Chart
            title="Requests per second"
            x={x}
            series={[
              { label: 'requests/s', color: '--c1', values: msgs.map((m) => m.second.requests) },
              { label: 'errors/s', color: '--c3', values: msgs.map((m) => m.second.errors) },
            ]}
            summary={`${reqs} requests in the last minute, ${last?.second.requests ?? 0} in the last second`}
          />
        </Card>
        <Card>
          <Chart
            title="Latency percentiles"
            unit="ms"
            x={x}
            series={[
              { label: 'p50', color: '--c1', values: msgs.map((m) => m.second.p50) },
              { label: 'p95', color: '--c2', values: msgs.map((m) => m.second.p95) },
              { label: 'p99', color: '--c3', values: msgs.map((m) => m.second.p99) },
            ]}
            summary={`p50 ${fmtNum(last?.second.p50, 1)} ms, p95 ${fmtNum(last?.second.p95, 1)} ms, p99 ${fmtNum(last?.second.p99, 1)} ms`}
          />
        </Card>
        <Card>
          <Chart
            title="Denied and rate-limited per second"
            x={x}
            series={[
              { label: 'denied', color: '--c3', values: msgs.map((m) => deniedTotal(m.second)) },
              { label: 'rate-limited', color: '--c2', values: msgs.map((m) => m.second.rateLimited) },
            ]}
            summary={`${sum(deniedTotal)} denied, ${sum((s) => s.rateLimited)} rate-limited in the last minute`}
          />
        </Card>
        <Card title="Denials by OWASP category (1 min)" id="owasp">
          <ul class="bars" aria-label="Denials by OWASP API Top 10 2023 category">
            {deniedRows.length === 0 && <li class="muted">No denial in the last minute.</li>}
            {deniedRows.map(([k, v]) => (
              <li key={k}>
                <span class="bar-label">{k}</span>
                <meter min={0} max={deniedRows[0]![1]} value={v} aria-label={`${k}: ${v}`} />
                <span class="bar-value">{v}</span>
              </li>
            ))}
          </ul>
        </Card>
        <Card title="Top consumers (1 min)" id="consumers">
          <Table
            label="Top consumers"
            rows={last?.topConsumers ?? []}
            rowKey={(r) => r[0]}
            empty="No request in the last minute."
            cols={[
              { head: 'Consumer', cell: (r) => r[0] },
              { head: 'Requests', cell: (r) => r[1], class: 'num' },
            ]}
          />
        </Card>
        <Card title="Top denied IPs (1 min)" id="denied-ips">
          <Table
            label="Top denied IP addresses"
            rows={last?.topDeniedIps ?? []}
            rowKey={(r) => r[0]}
            empty="No denial in the last minute."
            cols={[
              { head: 'Address', cell: (r) => r[0] },
              { head: 'Denied', cell: (r) => r[1], class: 'num' },
            ]}
          />
        </Card>
      </div>
    </>
  );
}

const Tile = (p: { label: string; value: string; id: string }) => (
  <div class="tile">
    <span class="tile-label" id={`${p.id}-l`}>
      {p.label}
    </span>
    <output class="tile-value" aria-labelledby={`${p.id}-l`} data-testid={p.id}>
      {p.value}
    </output>
  </div>
);
