import { useState } from 'preact/hooks';
import { API, get } from '../api.ts';
import { Chart } from '../chart.tsx';
import {
  Badge,
  Card,
  Empty,
  ErrorBox,
  fmtTime,
  NotConfigured,
  PageTitle,
  Table,
  useLoad,
  type Tone,
} from '../ui.tsx';

/** The posture report as the admin API sends it (src/posture/types.ts `PostureReport`, docs/posture.md). */
type Dimension = 'prevented' | 'detected' | 'monitored';
interface Criterion {
  id: string;
  dimension: Dimension;
  weight: number;
  value: number;
  evidence: string;
  action?: string;
}
interface Item {
  id: string;
  title: string;
  score: number;
  dimensions: Record<Dimension, number | null>;
  criteria: Criterion[];
}
interface Report {
  generatedAt: string;
  source: string;
  score: number;
  formula: string;
  checklist: Item[];
  owasp: Item[];
  actions: { gain: number; action: string; items: string[] }[];
  trend: { runs: { at: string; score: number }[]; delta?: number };
  notes: string[];
}

const DIMENSIONS: Dimension[] = ['prevented', 'detected', 'monitored'];
const tone = (score: number): Tone => (score >= 80 ? 'ok' : score >= 50 ? 'warn' : 'bad');
const pct = (v: number | null | undefined): string => (v === null || v === undefined ? '—' : `${v}`);

export function Posture() {
  const r = useLoad(() => get<Report>(`${API}/posture`));
  const d = r.data;
  return (
    <>
      <PageTitle>Posture</PageTitle>
      {r.missing ? (
        <NotConfigured what="The posture report">
          <p>
            <code>rampart posture</code> prints it on the command line (docs/posture.md).
          </p>
        </NotConfigured>
      ) : (
        <ErrorBox error={r.error} />
      )}
      {!d && !r.error && <p class="muted">Evaluating the posture…</p>}
      {d && <Report report={d} />}
    </>
  );
}

function Report({ report: d }: { report: Report }) {
  const titles = new Map([...d.checklist, ...d.owasp].map((i) => [i.id, i.title]));
  const runs = d.trend.runs;
  return (
    <>
      <div class="grid2">
        <Card title="Overall" id="overall">
          <p class="big" data-testid="posture-score">
            {d.score} / 100
          </p>
          <p class="muted">
            {d.source} · evaluated {fmtTime(d.generatedAt)}
          </p>
          <details>
            <summary>How the score is computed</summary>
            <p>{d.formula}</p>
          </details>
        </Card>
        <Card title="Trend" id="trend">
          {runs.length === 0 ? (
            <Empty>
              No recorded run yet: <code>rampart posture</code> records one each time it runs.
            </Empty>
          ) : (
            <>
              <p data-testid="posture-trend">
                {runs.map((t) => t.score).join(' → ')}
                {d.trend.delta !== undefined &&
                  ` (${d.trend.delta >= 0 ? '+' : ''}${d.trend.delta} since the previous run)`}
              </p>
              {runs.length > 1 && (
                <Chart
                  title="Overall score per recorded run"
                  x={runs.map((t) => Date.parse(t.at) / 1000)}
                  series={[{ label: 'score', color: '--c1', values: runs.map((t) => t.score) }]}
                  summary={`Overall score of the last ${runs.length} recorded runs: ${runs.map((t) => t.score).join(', ')}`}
                />
              )}
              <Table
                label="Recorded runs"
                rows={runs.slice(-10).reverse()}
                rowKey={(t) => t.at}
                cols={[
                  { head: 'Run', cell: (t) => fmtTime(t.at) },
                  { head: 'Score', cell: (t) => String(t.score), class: 'num' },
                ]}
              />
            </>
          )}
        </Card>
      </div>
      <Items title="Checklist" id="checklist" items={d.checklist} />
      <Items title="OWASP API Security Top 10 (2023)" id="owasp-posture" items={d.owasp} />
      <Card title="Next actions" id="next-actions">
        {d.actions.length === 0 ? (
          <Empty>Nothing left to raise: every criterion is met.</Empty>
        ) : (
          <ol class="actions-list" aria-label="Next actions, highest gain first">
            {d.actions.map((a, i) => (
              <li key={i}>
                <strong>+{a.gain} points</strong>: <code class="wrap">{a.action}</code>
                <br />
                <span class="muted">raises {a.items.map((id) => titles.get(id) ?? id).join(', ')}</span>
              </li>
            ))}
          </ol>
        )}
      </Card>
      {d.notes.length > 0 && (
        <Card title="Notes" id="posture-notes">
          <ul>
            {d.notes.map((n, i) => (
              <li key={i}>{n}</li>
            ))}
          </ul>
        </Card>
      )}
    </>
  );
}

/** Items with their score per dimension; each item's criteria (evidence and the change that raises it) unfold below it. */
function Items(p: { title: string; id: string; items: Item[] }) {
  const [open, setOpen] = useState<string>();
  return (
    <Card title={p.title} id={p.id}>
      <div class="table-wrap">
        <table aria-label={p.title}>
          <thead>
            <tr>
              <th scope="col">Item</th>
              <th scope="col" class="num">
                Score
              </th>
              {DIMENSIONS.map((dim) => (
                <th scope="col" class="num" key={dim}>
                  {dim[0]!.toUpperCase() + dim.slice(1)}
                </th>
              ))}
            </tr>
          </thead>
          {p.items.map((i) => (
            <tbody key={i.id}>
              <tr class={open === i.id ? 'selected' : undefined}>
                <th scope="row" class="item">
                  <button
                    type="button"
                    class="disclosure"
                    aria-expanded={open === i.id}
                    aria-controls={`criteria-${i.id}`}
                    onClick={() => setOpen(open === i.id ? undefined : i.id)}
                  >
                    <span aria-hidden="true">{open === i.id ? '▾ ' : '▸ '}</span>
                    {i.title}
                  </button>
                </th>
                <td class="num">
                  <Badge tone={tone(i.score)}>{i.score}</Badge>
                </td>
                {DIMENSIONS.map((dim) => (
                  <td class="num" key={dim}>
                    {pct(i.dimensions[dim])}
                  </td>
                ))}
              </tr>
              {open === i.id && (
                <tr id={`criteria-${i.id}`}>
                  <td colSpan={2 + DIMENSIONS.length}>
                    <table aria-label={`Criteria of ${i.title}`} class="criteria">
                      <thead>
                        <tr>
                          <th scope="col">Dimension</th>
                          <th scope="col" class="num">
                            Met
                          </th>
                          <th scope="col">Evidence</th>
                          <th scope="col">To raise it</th>
                        </tr>
                      </thead>
                      <tbody>
                        {i.criteria.map((c) => (
                          <tr key={c.id}>
                            <td>
                              {c.dimension} ×{c.weight}
                            </td>
                            <td class="num">{Math.round(c.value * 100)} %</td>
                            <td>{c.evidence}</td>
                            <td>{c.action ? <code class="wrap">{c.action}</code> : '—'}</td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </td>
                </tr>
              )}
            </tbody>
          ))}
        </table>
      </div>
    </Card>
  );
}
