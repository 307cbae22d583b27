import { API, get } from '../api.ts';
import { Card, ErrorBox, NotConfigured, PageTitle, Table, useLoad } from '../ui.tsx';

/**
 * The posture report (docs/posture.md). Read loosely: an overall `score`, scored
 * `items` (checklist) and `owasp` entries, `nextActions`, and a `trend` — whatever of
 * these the report carries is shown; the rest is left out rather than guessed.
 */
interface Scored {
  id?: string;
  title?: string;
  name?: string;
  category?: string;
  score?: number;
  prevented?: unknown;
  detected?: unknown;
  monitored?: unknown;
}
interface Report {
  score?: number;
  generatedAt?: string;
  items?: Scored[];
  checklist?: Scored[];
  owasp?: Scored[];
  nextActions?: { title?: string; action?: string; change?: string; gain?: number; impact?: number }[];
  trend?: { at?: string; score?: number }[];
}

const label = (s: Scored): string => s.title ?? s.name ?? s.category ?? s.id ?? '';
const describe = (v: unknown): string => {
  if (v === undefined || v === null) return '—';
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'object' && 'score' in (v as object)) return String((v as { score: unknown }).score);
  if (typeof v === 'object' && 'summary' in (v as object)) return String((v as { summary: unknown }).summary);
  return JSON.stringify(v).slice(0, 200);
};

export function Posture() {
  const r = useLoad(() => get<Report>(`${API}/posture`));
  const d = r.data;
  const scored = (title: string, rows: Scored[] | undefined, id: string) =>
    rows && (
      <Card title={title} id={id}>
        <Table
          label={title}
          rows={rows}
          rowKey={(s, i) => `${label(s)}-${i}`}
          cols={[
            { head: 'Item', cell: label },
            { head: 'Score', cell: (s) => (s.score === undefined ? '—' : String(s.score)), class: 'num' },
            { head: 'Prevented', cell: (s) => describe(s.prevented) },
            { head: 'Detected', cell: (s) => describe(s.detected) },
            { head: 'Monitored', cell: (s) => describe(s.monitored) },
          ]}
        />
      </Card>
    );
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
      {d && (
        <>
          <Card title="Overall" id="overall">
            <p class="big" data-testid="posture-score">
              {d.score === undefined ? '—' : `${d.score} / 100`}
            </p>
            {d.trend && d.trend.length > 0 && (
              <p>Trend: {d.trend.map((t) => `${t.score ?? '—'}`).join(' → ')}</p>
            )}
          </Card>
          {scored('Checklist', d.items ?? d.checklist, 'checklist')}
          {scored('OWASP API Security Top 10 (2023)', d.owasp, 'owasp-posture')}
          {d.nextActions && (
            <Card title="Next actions" id="next">
              <ol>
                {d.nextActions.map((a, i) => (
                  <li key={i}>
                    {a.title ?? a.action}
                    {a.change && <pre>{a.change}</pre>}
                  </li>
                ))}
              </ol>
            </Card>
          )}
        </>
      )}
    </>
  );
}
