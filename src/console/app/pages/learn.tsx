import { useState } from 'preact/hooks';
import { API, get, q, seg } from '../api.ts';
import {
  Badge,
  Button,
  Card,
  Empty,
  ErrorBox,
  fmtTime,
  NotConfigured,
  PageTitle,
  Table,
  useLoad,
} from '../ui.tsx';

/**
 * Learn mode (docs/learn.md): the API versions that learn from traffic, and for one of them
 * the learned OpenAPI document and its diff against the document enforced now — shadow
 * endpoints, documented operations never called, properties returned but not declared —
 * to review before `rampart learn promote`. Read-only: nothing here is enforced.
 */
interface Learning {
  api: string;
  base: string;
  mode: 'learn' | 'enforce';
  exchanges: number;
  operations: number;
  updatedAt?: number;
}
interface Ratio {
  matched: number;
  of: number;
  value: number;
}
interface Learned {
  api: string;
  base: string;
  mode: 'learn' | 'enforce';
  document: { paths?: Record<string, Record<string, LearnedOperation>> };
  diff?: {
    shadow: { operation: string; calls: number; public: boolean }[];
    neverCalled: { operation: string }[];
    undeclared: { operation: string; status: string; property: string; pii: string[] }[];
    matched: number;
    metrics: Record<string, Ratio>;
  };
}
interface LearnedOperation {
  security?: Record<string, string[]>[];
  'x-rampart-observed'?: { calls?: number; statuses?: Record<string, number> };
}

const pct = (r: Ratio | undefined) => (r ? `${(r.value * 100).toFixed(1)} % (${r.matched}/${r.of})` : '—');

function operations(doc: Learned['document']) {
  const out: { op: string; calls: number; security: string; statuses: string }[] = [];
  for (const [path, item] of Object.entries(doc.paths ?? {}))
    for (const [method, o] of Object.entries(item)) {
      const sec = o.security;
      out.push({
        op: `${method.toUpperCase()} ${path}`,
        calls: o['x-rampart-observed']?.calls ?? 0,
        security:
          sec === undefined
            ? 'not conclusive'
            : sec.length === 0
              ? 'public'
              : sec.map((r) => Object.keys(r).join(' + ') || 'anonymous').join(' or '),
        statuses: Object.keys(o['x-rampart-observed']?.statuses ?? {}).join(', '),
      });
    }
  return out;
}

function LearnedView(p: { item: Learning }) {
  const doc = useLoad(
    () => get<Learned>(q(`${API}/learn/${seg(p.item.api)}`, { base: p.item.base })),
    [p.item.api, p.item.base],
  );
  const d = doc.data;
  const id = `learned-${p.item.api}`.replace(/[^A-Za-z0-9_-]/g, '_');
  return (
    <Card title={`Learned: ${p.item.api} ${p.item.base}`} id={id}>
      <ErrorBox error={doc.error} />
      {d && (
        <>
          {d.diff ? (
            <>
              <p data-testid="learn-agreement">
                Against the enforced document: operations precision {pct(d.diff.metrics.operationPrecision)},
                recall {pct(d.diff.metrics.operationRecall)}; properties precision{' '}
                {pct(d.diff.metrics.propertyPrecision)}.
              </p>
              <h3>Shadow endpoints (seen, not documented)</h3>
              <Table
                label="Shadow endpoints"
                rows={d.diff.shadow}
                rowKey={(s) => s.operation}
                empty="None: every operation seen is documented."
                cols={[
                  { head: 'Operation', cell: (s) => <code>{s.operation}</code> },
                  { head: 'Calls', cell: (s) => s.calls, class: 'num' },
                  {
                    head: 'Credentials',
                    cell: (s) => (s.public ? <Badge tone="bad">answered without</Badge> : 'required'),
                  },
                ]}
              />
              <h3>Undeclared properties (returned, not documented)</h3>
              <Table
                label="Undeclared properties"
                rows={d.diff.undeclared}
                rowKey={(u) => `${u.operation} ${u.status} ${u.property}`}
                empty="None."
                cols={[
                  { head: 'Operation', cell: (u) => <code>{u.operation}</code> },
                  { head: 'Status', cell: (u) => u.status },
                  { head: 'Property', cell: (u) => <code>{u.property}</code> },
                  {
                    head: 'Personal data',
                    cell: (u) => (u.pii.length ? <Badge tone="bad">{u.pii.join(', ')}</Badge> : '—'),
                  },
                ]}
              />
              <h3>Documented, never called</h3>
              <Table
                label="Never called"
                rows={d.diff.neverCalled}
                rowKey={(n) => n.operation}
                empty="None: traffic reached every documented operation."
                cols={[{ head: 'Operation', cell: (n) => <code>{n.operation}</code> }]}
              />
            </>
          ) : (
            <p class="muted">No document yet (mode: learn): everything below is new.</p>
          )}
          <h3>Learned operations</h3>
          <Table
            label="Learned operations"
            rows={operations(d.document)}
            rowKey={(o) => o.op}
            cols={[
              { head: 'Operation', cell: (o) => <code>{o.op}</code> },
              { head: 'Calls', cell: (o) => o.calls, class: 'num' },
              { head: 'Security', cell: (o) => o.security },
              { head: 'Statuses', cell: (o) => o.statuses },
            ]}
          />
          <details>
            <summary>The learned OpenAPI document</summary>
            <pre class="code" data-testid="learned-document">
              {JSON.stringify(d.document, null, 2)}
            </pre>
          </details>
          <p class="muted">
            Review it, then:{' '}
            <code>{`rampart learn promote -c rampart.yaml --api ${d.api} --base ${d.base}`}</code>
          </p>
        </>
      )}
    </Card>
  );
}

export function Learn() {
  const list = useLoad(() => get<{ items: Learning[] }>(`${API}/learn`));
  const [open, setOpen] = useState<Learning | undefined>();
  const items = list.data?.items;
  return (
    <>
      <PageTitle>Learn</PageTitle>
      {list.missing ? (
        <NotConfigured what="Learn mode" />
      ) : (
        <>
          <ErrorBox error={list.error} />
          {items && items.length === 0 && (
            <Empty>
              No API learns: set mode: learn (no document yet) or learn: true on an API in rampart.yaml.
            </Empty>
          )}
          {items && items.length > 0 && (
            <Card title="Learning APIs" id="learning">
              <Table
                label="Learning APIs"
                rows={items}
                rowKey={(i) => `${i.api} ${i.base}`}
                selected={(i) => i.api === open?.api && i.base === open?.base}
                cols={[
                  { head: 'API', cell: (i) => <code>{`${i.api} ${i.base}`}</code> },
                  {
                    head: 'Mode',
                    cell: (i) =>
                      i.mode === 'learn' ? (
                        <Badge tone="warn">learning, not enforcing</Badge>
                      ) : (
                        'beside its document'
                      ),
                  },
                  { head: 'Exchanges', cell: (i) => i.exchanges, class: 'num' },
                  { head: 'Operations', cell: (i) => i.operations, class: 'num' },
                  { head: 'Stored', cell: (i) => fmtTime(i.updatedAt) },
                  {
                    head: '',
                    cell: (i) => (
                      <Button onClick={() => setOpen(i)} aria-label={`Show what ${i.api} ${i.base} learned`}>
                        Show
                      </Button>
                    ),
                  },
                ]}
              />
            </Card>
          )}
          {open && <LearnedView item={open} key={`${open.api} ${open.base}`} />}
        </>
      )}
    </>
  );
}
