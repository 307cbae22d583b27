import { useState } from 'preact/hooks';
import { API, ApiError, get, post, q, seg, type Page } from '../api.ts';
import {
  Badge,
  Button,
  Card,
  Empty,
  ErrorBox,
  fmtTime,
  PageTitle,
  Table,
  useAction,
  useLoad,
  type Tone,
} from '../ui.tsx';

/** The admin API's AlertView. */
export interface AlertView {
  id: string;
  rule: string;
  severity: 'critical' | 'warning' | 'info';
  state: 'pending' | 'firing' | 'resolved';
  status: 'open' | 'acknowledged' | 'silenced' | 'resolved';
  labels: Record<string, string>;
  summary: string;
  value?: number;
  startsAt: number;
  endsAt?: number;
  silencedUntil?: number;
  annotations: { at: number; by: string; action: string; note?: string }[];
}

interface MonitorAlert {
  fingerprint: string;
  rule: string;
  severity: AlertView['severity'];
  state: AlertView['state'];
  labels: Record<string, string>;
  summary: string;
  value: number;
  threshold?: number;
  startsAt: number;
  endsAt?: number;
}

const STATUSES = ['open', 'acknowledged', 'silenced', 'resolved'] as const;
type Status = (typeof STATUSES)[number];

const SEVERITY: Record<string, Tone> = { critical: 'bad', warning: 'warn', info: 'info' };
const STATUS: Record<string, Tone> = { open: 'bad', acknowledged: 'warn', silenced: 'muted', resolved: 'ok' };

/**
 * The admin API's alerts; on a server without it, the monitor's own `/admin/alerts`
 * (read-only: no acknowledge, resolve or silence there).
 */
async function loadAlerts(status: Status): Promise<{ items: AlertView[]; actions: boolean }> {
  try {
    const page = await get<Page<AlertView>>(q(`${API}/alerts`, { status, limit: 100 }));
    return { items: page.items, actions: true };
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 404)) throw e;
  }
  const m = await get<{ active: MonitorAlert[]; recent: MonitorAlert[] }>('/admin/alerts');
  const seen = new Map<string, AlertView>();
  for (const a of [...m.active, ...m.recent]) {
    if (seen.has(a.fingerprint)) continue;
    seen.set(a.fingerprint, {
      id: a.fingerprint,
      rule: a.rule,
      severity: a.severity,
      state: a.state,
      status: a.state === 'resolved' ? 'resolved' : 'open',
      labels: a.labels,
      summary: a.summary,
      value: a.value,
      startsAt: a.startsAt,
      ...(a.endsAt !== undefined ? { endsAt: a.endsAt } : {}),
      annotations: [],
    });
  }
  return { items: [...seen.values()].filter((a) => a.status === status), actions: false };
}

export function Alerts() {
  const [status, setStatus] = useState<Status>('open');
  const [open, setOpen] = useState<string>();
  const alerts = useLoad(() => loadAlerts(status), [status]);
  // While another tab's list loads, the last one's rows are not shown under this tab's name.
  const items = (alerts.data?.items ?? []).filter((a) => a.status === status);
  const selected = items.find((a) => a.id === open);
  return (
    <>
      <PageTitle>Alerts</PageTitle>
      <div role="tablist" aria-label="Alert status" class="tabs">
        {STATUSES.map((s) => (
          <button
            key={s}
            role="tab"
            type="button"
            id={`tab-${s}`}
            aria-selected={s === status}
            aria-controls="alerts-panel"
            tabIndex={s === status ? 0 : -1}
            onClick={() => setStatus(s)}
            onKeyDown={(e) => {
              const i = STATUSES.indexOf(status);
              const next = e.key === 'ArrowRight' ? i + 1 : e.key === 'ArrowLeft' ? i - 1 : undefined;
              if (next === undefined) return;
              const s2 = STATUSES[(next + STATUSES.length) % STATUSES.length]!;
              setStatus(s2);
              document.getElementById(`tab-${s2}`)?.focus();
            }}
          >
            {s}
          </button>
        ))}
      </div>
      <div id="alerts-panel" role="tabpanel" aria-labelledby={`tab-${status}`}>
        <ErrorBox error={alerts.error} />
        {alerts.data && !alerts.data.actions && (
          <p class="muted">
            This server has no admin API for alerts: acknowledging, resolving and silencing are not available.
          </p>
        )}
        <Card>
          <Table
            label={`${status} alerts`}
            rows={items}
            rowKey={(a) => a.id}
            empty={`No ${status} alert.`}
            selected={(a) => a.id === open}
            cols={[
              {
                head: 'Severity',
                cell: (a) => <Badge tone={SEVERITY[a.severity] ?? 'info'}>{a.severity}</Badge>,
              },
              { head: 'Rule', cell: (a) => <code>{a.rule}</code> },
              { head: 'Summary', cell: (a) => a.summary },
              { head: 'Since', cell: (a) => fmtTime(a.startsAt) },
              { head: 'Status', cell: (a) => <Badge tone={STATUS[a.status] ?? 'info'}>{a.status}</Badge> },
              {
                head: 'Details',
                cell: (a) => (
                  <Button
                    aria-expanded={a.id === open}
                    onClick={() => setOpen(a.id === open ? undefined : a.id)}
                  >
                    {a.id === open ? 'Hide' : 'Show'}
                    <span class="sr-only"> alert {a.rule}</span>
                  </Button>
                ),
              },
            ]}
          />
        </Card>
        {selected && (
          <AlertDetail alert={selected} actions={alerts.data?.actions ?? false} onChange={alerts.reload} />
        )}
      </div>
    </>
  );
}

interface AuditRecord {
  at?: number | string;
  type?: string;
  decision?: string;
  route?: string;
  ip?: string;
  principal?: string;
  status?: number;
  detail?: string;
  [k: string]: unknown;
}

/** The audit-log records behind an alert: its window, filtered by its labels. */
async function eventsOf(a: AlertView): Promise<AuditRecord[]> {
  const params = {
    from: a.startsAt - 10 * 60_000,
    to: a.endsAt,
    ip: a.labels.ip,
    route: a.labels.route,
    principal: a.labels.principal,
    limit: 50,
  };
  try {
    return (await get<Page<AuditRecord>>(q(`${API}/audit-log`, params))).items;
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 404)) throw e;
    return (await get<{ items: AuditRecord[] }>(q('/admin/audit-log', params))).items;
  }
}

function AlertDetail(p: { alert: AlertView; actions: boolean; onChange: () => void }) {
  const a = p.alert;
  const [note, setNote] = useState('');
  const [until, setUntil] = useState('');
  const events = useLoad(() => eventsOf(a), [a.id]);
  const act = useAction(async (action: 'acknowledge' | 'resolve' | 'silence') => {
    const body: Record<string, string> = {};
    if (note.trim()) body.note = note.trim();
    if (action === 'silence') body.until = new Date(until || Date.now() + 3600_000).toISOString();
    await post(`${API}/alerts/${seg(a.id)}/${action}`, body);
    setNote('');
  }, p.onChange);
  return (
    <Card title={`Alert ${a.rule}`} id="alert-detail">
      <dl class="kv">
        <dt>Summary</dt>
        <dd>{a.summary}</dd>
        <dt>Rule</dt>
        <dd>
          <code>{a.rule}</code> ({a.state})
        </dd>
        <dt>Value</dt>
        <dd>{a.value ?? '—'}</dd>
        <dt>Labels</dt>
        <dd>
          {Object.entries(a.labels).map(([k, v]) => (
            <span class="label" key={k}>
              {k}={v}
            </span>
          ))}
        </dd>
        {a.silencedUntil !== undefined && (
          <>
            <dt>Silenced until</dt>
            <dd>{fmtTime(a.silencedUntil)}</dd>
          </>
        )}
      </dl>
      <h3>Annotations</h3>
      {a.annotations.length === 0 ? (
        <Empty>None.</Empty>
      ) : (
        <ul class="annotations" data-testid="annotations">
          {a.annotations.map((n, i) => (
            <li key={i}>
              {fmtTime(n.at)} · {n.by} · {n.action}
              {n.note ? `: ${n.note}` : ''}
            </li>
          ))}
        </ul>
      )}
      {p.actions && a.status !== 'resolved' && (
        <form class="inline-form" onSubmit={(e) => e.preventDefault()} aria-label="Act on the alert">
          <div class="field">
            <label for="alert-note">Note (kept with the alert)</label>
            <input
              id="alert-note"
              maxLength={1000}
              value={note}
              onInput={(e) => setNote(e.currentTarget.value)}
            />
          </div>
          <div class="field">
            <label for="alert-until">Silence until</label>
            <input
              id="alert-until"
              type="datetime-local"
              step={1}
              aria-describedby="alert-until-hint"
              value={until}
              onInput={(e) => setUntil(e.currentTarget.value)}
            />
            <small id="alert-until-hint" class="hint">
              Your local time; empty: one hour from now. The alert comes back when the silence ends.
            </small>
          </div>
          <div class="actions">
            {a.status === 'open' && (
              <Button kind="primary" busy={act.busy} onClick={() => act.run('acknowledge')}>
                Acknowledge
              </Button>
            )}
            <Button busy={act.busy} onClick={() => act.run('resolve')}>
              Resolve
            </Button>
            <Button busy={act.busy} onClick={() => act.run('silence')}>
              Silence
            </Button>
          </div>
          <ErrorBox error={act.error} />
        </form>
      )}
      <h3>Events behind it</h3>
      <ErrorBox error={events.error} />
      <Table
        label="Events behind the alert"
        rows={events.data ?? []}
        rowKey={(r, i) => `${String(r.at)}-${i}`}
        empty="No audit-log record in the alert's window."
        cols={[
          { head: 'Time', cell: (r) => fmtTime(r.at) },
          { head: 'Type', cell: (r) => r.type ?? '' },
          { head: 'Decision', cell: (r) => r.decision ?? '' },
          { head: 'Route', cell: (r) => r.route ?? '' },
          { head: 'IP', cell: (r) => r.ip ?? '' },
          { head: 'Principal', cell: (r) => r.principal ?? '' },
        ]}
      />
    </Card>
  );
}
