import { useState } from 'preact/hooks';
import { API, ApiError, get, post, seg, type Page } from '../api.ts';
import {
  Badge,
  Button,
  Card,
  Dialog,
  Empty,
  ErrorBox,
  NotConfigured,
  PageTitle,
  Table,
  useAction,
  useLoad,
  type Tone,
} from '../ui.tsx';

interface Exchange {
  request: { method: string; url: string; headers?: Record<string, string>; body?: string };
  response?: { status: number; headers?: Record<string, string>; body?: string; durationMs?: number };
  note?: string;
  as?: string;
}
export interface Finding {
  id: string;
  source?: string;
  check: string;
  owasp?: string;
  severity: 'info' | 'low' | 'medium' | 'high' | 'critical';
  operation?: string;
  title: string;
  description?: string;
  evidence?: {
    exchanges?: Exchange[];
    location?: { file: string; line?: number; pointer?: string; snippet?: string };
    details?: Record<string, unknown>;
  };
  remediation?: { summary: string; policy?: string; xRampart?: string };
}
interface ScanRun {
  id: string;
  startedAt: string;
  partial: boolean;
  findings: number;
}
interface Scan {
  name: string;
  interval: number;
  running: boolean;
  latest: ScanRun | null;
}
interface Diff {
  new: Finding[];
  fixed: Finding[];
  open: Finding[];
  previous: string | null;
}

const SEV: Record<string, Tone> = {
  critical: 'bad',
  high: 'bad',
  medium: 'warn',
  low: 'info',
  info: 'muted',
};
const RANK = ['critical', 'high', 'medium', 'low', 'info'];
const bySeverity = (a: Finding, b: Finding) => RANK.indexOf(a.severity) - RANK.indexOf(b.severity);

/** Headers whose values are credentials: never shown, even if a producer forgot to mask them. */
const SECRET_HEADERS =
  /^(authorization|proxy-authorization|cookie|set-cookie|x-api-key|api-key|x-auth-token|x-csrf-token)$/i;
/** Token-shaped text: JWS compact, bearer credentials, Rampart API keys, long hex/base64 runs after key=. */
const SECRET_TEXT =
  /\b(eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})|\b(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}|\brk_[A-Za-z0-9_-]{8,}|("?(?:password|secret|token|api_key|apikey|access_token|refresh_token)"?\s*[:=]\s*"?)([^"\s,&}]{3,})/gi;

/** The evidence viewer's second line of defence: masks credentials the scanner should already have masked. */
export function maskText(s: string): string {
  return s.replace(SECRET_TEXT, (m, jwt: string, bearer: string, kv: string) => {
    if (jwt) return '«masked JWT»';
    if (bearer) return `${bearer}«masked»`;
    if (kv) return `${kv}«masked»`;
    return m.startsWith('rk_') ? 'rk_«masked»' : '«masked»';
  });
}
const maskHeaders = (h: Record<string, string> = {}): [string, string][] =>
  Object.entries(h).map(([k, v]) => [k, SECRET_HEADERS.test(k) ? '«masked»' : maskText(v)]);

async function optional<T>(path: string): Promise<T | undefined> {
  try {
    return await get<T>(path);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return undefined;
    throw e;
  }
}

export function Findings() {
  const scans = useLoad(() => get<{ items: Scan[] }>(`${API}/scans`));
  const audit = useLoad(() => optional<Page<Finding>>(`${API}/audits/findings?limit=200`));
  const code = useLoad(() => optional<Page<Finding>>(`${API}/code-scan/findings?limit=200`));
  const [evidence, setEvidence] = useState<Finding>();
  return (
    <>
      <PageTitle>Findings</PageTitle>
      {scans.missing ? (
        <NotConfigured what="The admin API's scans" />
      ) : (
        <>
          <ErrorBox error={scans.error} />
          {scans.data && scans.data.items.length === 0 && (
            <NotConfigured what="Scheduled scanning">
              <p>
                Add a <code>scans:</code> section to rampart.yaml (docs/scanner.md).
              </p>
            </NotConfigured>
          )}
          {scans.data?.items.map((s) => (
            <ScanCard key={s.name} scan={s} onChanged={scans.reload} onEvidence={setEvidence} />
          ))}
        </>
      )}
      <Card title="Audit of the served documents" id="audit">
        <ErrorBox error={audit.error} />
        {audit.data === undefined && !audit.loading && !audit.error && (
          <NotConfigured what="The audit results" />
        )}
        {audit.data && (
          <FindingTable label="Audit findings" rows={audit.data.items} onEvidence={setEvidence} />
        )}
      </Card>
      <Card title="Code scan" id="code">
        <ErrorBox error={code.error} />
        {code.data === undefined && !code.loading && !code.error && (
          <NotConfigured what="A code-scan results source" />
        )}
        {code.data && (
          <FindingTable label="Code-scan findings" rows={code.data.items} onEvidence={setEvidence} />
        )}
      </Card>
      <Dialog
        title={evidence ? `Evidence: ${evidence.title}` : 'Evidence'}
        open={evidence !== undefined}
        onClose={() => setEvidence(undefined)}
      >
        {evidence && <EvidenceView finding={evidence} />}
      </Dialog>
    </>
  );
}

function ScanCard(p: { scan: Scan; onChanged: () => void; onEvidence: (f: Finding) => void }) {
  const s = p.scan;
  const latest = s.latest;
  const diff = useLoad(
    () =>
      latest
        ? get<Diff>(`${API}/scans/${seg(s.name)}/runs/${seg(latest.id)}/diff`)
        : Promise.resolve(undefined),
    [latest?.id],
  );
  const [started, setStarted] = useState(false);
  const scan = useAction(async () => {
    await post(`${API}/scans/${seg(s.name)}/runs`);
    setStarted(true);
  }, p.onChanged);
  const d = diff.data;
  return (
    <Card
      title={`Scan ${s.name}`}
      id={`scan-${s.name.replace(/[^A-Za-z0-9_-]/g, '_')}`}
      actions={
        <Button kind="primary" busy={scan.busy || s.running} onClick={() => scan.run()}>
          {s.running ? 'Scanning…' : 'Scan now'}
        </Button>
      }
    >
      <ErrorBox error={scan.error} />
      {started && (
        <p role="status" data-testid="scan-started">
          Scan started; the run appears here when it finishes.
        </p>
      )}
      {latest ? (
        <p>
          Latest run {latest.startedAt}
          {latest.partial ? ' (partial)' : ''}: {latest.findings} findings
          {d && (
            <>
              {' '}
              · <Badge tone="bad">{d.new.length} new</Badge> <Badge tone="ok">{d.fixed.length} fixed</Badge>{' '}
              <Badge tone="muted">{d.open.length} still open</Badge>
            </>
          )}
        </p>
      ) : (
        <Empty>No run yet.</Empty>
      )}
      <ErrorBox error={diff.error} />
      {d && (
        <>
          <h3>New since the previous run</h3>
          <FindingTable label={`New findings of ${s.name}`} rows={d.new} onEvidence={p.onEvidence} />
          <h3>Still open</h3>
          <FindingTable label={`Open findings of ${s.name}`} rows={d.open} onEvidence={p.onEvidence} />
          <h3>Fixed</h3>
          <FindingTable label={`Fixed findings of ${s.name}`} rows={d.fixed} onEvidence={p.onEvidence} />
        </>
      )}
    </Card>
  );
}

function FindingTable(p: { label: string; rows: Finding[]; onEvidence: (f: Finding) => void }) {
  return (
    <Table
      label={p.label}
      rows={[...p.rows].sort(bySeverity)}
      rowKey={(f) => f.id}
      empty="None."
      cols={[
        { head: 'Severity', cell: (f) => <Badge tone={SEV[f.severity] ?? 'info'}>{f.severity}</Badge> },
        { head: 'Finding', cell: (f) => f.title },
        { head: 'Where', cell: (f) => <code>{f.operation ?? f.evidence?.location?.file ?? ''}</code> },
        { head: 'OWASP', cell: (f) => f.owasp ?? '' },
        {
          head: 'Evidence',
          cell: (f) => (
            <Button onClick={() => p.onEvidence(f)}>
              Evidence<span class="sr-only"> of {f.title}</span>
            </Button>
          ),
        },
      ]}
    />
  );
}

/** Request and response (secrets masked), the location, and the suggested x-rampart. */
function EvidenceView(p: { finding: Finding }) {
  const f = p.finding;
  const ev = f.evidence ?? {};
  return (
    <div class="evidence" data-testid="evidence">
      <p>
        <Badge tone={SEV[f.severity] ?? 'info'}>{f.severity}</Badge> <code>{f.check}</code> {f.owasp ?? ''}
      </p>
      {f.description && <p>{f.description}</p>}
      {(ev.exchanges ?? []).map((x, i) => (
        <section key={i} aria-label={`Exchange ${i + 1}`}>
          {x.note && (
            <p class="muted">
              {x.as && !x.note.startsWith(`as ${x.as}`) ? `as ${x.as}: ` : ''}
              {x.note}
            </p>
          )}
          <h3>Request</h3>
          <pre>
            {[
              `${x.request.method} ${maskText(x.request.url)}`,
              ...maskHeaders(x.request.headers).map(([k, v]) => `${k}: ${v}`),
              '',
              maskText(x.request.body ?? ''),
            ].join('\n')}
          </pre>
          {x.response && (
            <>
              <h3>Response</h3>
              <pre>
                {[
                  `${x.response.status}${x.response.durationMs !== undefined ? ` (${x.response.durationMs} ms)` : ''}`,
                  ...maskHeaders(x.response.headers).map(([k, v]) => `${k}: ${v}`),
                  '',
                  maskText(x.response.body ?? ''),
                ].join('\n')}
              </pre>
            </>
          )}
        </section>
      ))}
      {ev.location && (
        <>
          <h3>Location</h3>
          <p>
            <code>
              {ev.location.file}
              {ev.location.line ? `:${ev.location.line}` : ''}
              {ev.location.pointer ? ` ${ev.location.pointer}` : ''}
            </code>
          </p>
          {ev.location.snippet && <pre>{maskText(ev.location.snippet)}</pre>}
        </>
      )}
      {f.remediation && (
        <>
          <h3>Fix</h3>
          <p>{f.remediation.summary}</p>
          {f.remediation.xRampart && (
            <>
              <h3>Suggested x-rampart</h3>
              <pre data-testid="x-rampart">{f.remediation.xRampart}</pre>
            </>
          )}
        </>
      )}
    </div>
  );
}
