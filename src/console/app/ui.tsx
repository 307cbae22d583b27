/**
 * The console's design system: a handful of components over the CSS in style.css.
 * Every server string is rendered as a text node by Preact (never innerHTML).
 */
import type { ButtonHTMLAttributes, ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, needsReauth } from './api.ts';

export function Card(p: {
  title?: string;
  children: ComponentChildren;
  actions?: ComponentChildren;
  id?: string;
}) {
  const headingId = p.id ? `${p.id}-h` : undefined;
  return (
    <section class="card" aria-labelledby={headingId} id={p.id}>
      {(p.title || p.actions) && (
        <header class="card-head">
          {p.title && <h2 id={headingId}>{p.title}</h2>}
          {p.actions && <div class="actions">{p.actions}</div>}
        </header>
      )}
      {p.children}
    </section>
  );
}

export function Button(
  p: ButtonHTMLAttributes<HTMLButtonElement> & { kind?: 'primary' | 'danger' | 'plain'; busy?: boolean },
) {
  const { kind = 'plain', busy, children, ...rest } = p;
  return (
    <button type="button" class={`btn btn-${kind}`} disabled={busy || Boolean(rest.disabled)} {...rest}>
      {children}
    </button>
  );
}

export type Tone = 'ok' | 'warn' | 'bad' | 'info' | 'muted';
export const Badge = (p: { tone: Tone; children: ComponentChildren }) => (
  <span class={`badge badge-${p.tone}`}>{p.children}</span>
);

export function Field(p: {
  id: string;
  label: string;
  hint?: string;
  type?: 'text' | 'password';
  value: string;
  onInput: (e: { currentTarget: HTMLInputElement }) => void;
  required?: boolean;
  autocomplete?: string;
  inputMode?: 'numeric' | 'text';
  pattern?: string;
  maxLength?: number;
}) {
  const hid = p.hint ? `${p.id}-hint` : undefined;
  const common = {
    id: p.id,
    'aria-describedby': hid,
    value: p.value,
    onInput: p.onInput,
    required: p.required,
    autocomplete: p.autocomplete,
    inputMode: p.inputMode,
    pattern: p.pattern,
    maxLength: p.maxLength,
  };
  return (
    <div class="field">
      <label for={p.id}>{p.label}</label>
      {p.type === 'password' ? <input type="password" {...common} /> : <input type="text" {...common} />}
      {p.hint && (
        <small id={hid} class="hint">
          {p.hint}
        </small>
      )}
    </div>
  );
}

/** A problem from the server, announced to screen readers. */
export function ErrorBox(p: { error: unknown }) {
  if (!p.error) return null;
  const e = p.error;
  const text =
    e instanceof ApiError
      ? `${e.problem.title ?? 'Error'}${e.problem.detail ? ': ' + e.problem.detail : ''}`
      : e instanceof Error
        ? e.message
        : String(e);
  return (
    <p class="error" role="alert" data-testid="error">
      {text}
    </p>
  );
}

/** A feature the server does not offer (yet): said plainly instead of an error. */
export const NotConfigured = (p: { what: string; children?: ComponentChildren }) => (
  <div class="empty" data-testid="not-configured">
    <p>
      <strong>{p.what}</strong> is not configured on this server.
    </p>
    {p.children}
  </div>
);

export const Empty = (p: { children: ComponentChildren }) => <p class="muted">{p.children}</p>;

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
  /** True when the endpoint answered 404 (the server has no such feature). */
  missing: boolean;
}

/** Loads `fn()` now and on `reload()`; keeps the last data while reloading. */
export function useLoad<T>(fn: () => Promise<T>, deps: unknown[] = []): Loaded<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<unknown>();
  const [loading, setLoading] = useState(true);
  const [n, setN] = useState(0);
  const reload = useCallback(() => setN((x) => x + 1), []);
  useEffect(() => {
    let live = true;
    setLoading(true);
    fn().then(
      (d) => {
        if (!live) return;
        setData(d);
        setError(undefined);
        setLoading(false);
      },
      (e: unknown) => {
        if (!live) return;
        setError(e);
        setLoading(false);
      },
    );
    return () => {
      live = false;
    };
  }, [n, ...deps]);
  const missing = error instanceof ApiError && (error.status === 404 || error.status === 405);
  return { data, error, loading, reload, missing };
}

/**
 * Asks the signed-in user to re-authenticate (the shell's dialog): resolves true once the
 * server accepted a fresh code, false when the user cancelled.
 */
let askReauth: (() => Promise<boolean>) | undefined;
export const setReauthPrompt = (f: typeof askReauth): void => {
  askReauth = f;
};

/**
 * Runs a sensitive action; when the server wants a recent authentication, asks the user
 * to re-authenticate and runs it once more.
 */
export async function withReauth<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (!needsReauth(e) || !askReauth) throw e;
    if (!(await askReauth())) throw e;
    return fn();
  }
}

/** Runs an action (a button), exposing busy and error state; re-authenticates when asked to. */
export function useAction<A extends unknown[]>(
  fn: (...a: A) => Promise<unknown>,
  done?: () => void,
): { run: (...a: A) => void; busy: boolean; error: unknown } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const run = (...a: A) => {
    setBusy(true);
    setError(undefined);
    withReauth(() => fn(...a)).then(
      () => {
        setBusy(false);
        done?.();
      },
      (e: unknown) => {
        setBusy(false);
        setError(e);
      },
    );
  };
  return { run, busy, error };
}

export function Table<T>(p: {
  label: string;
  rows: readonly T[];
  cols: { head: string; cell: (r: T) => ComponentChildren; class?: string }[];
  rowKey: (r: T, i: number) => string;
  empty?: string;
  onRow?: (r: T) => void;
  selected?: (r: T) => boolean;
}) {
  if (p.rows.length === 0) return <Empty>{p.empty ?? 'Nothing yet.'}</Empty>;
  return (
    <div class="table-wrap">
      <table aria-label={p.label}>
        <thead>
          <tr>
            {p.cols.map((c) => (
              <th scope="col" key={c.head} class={c.class}>
                {c.head}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {p.rows.map((r, i) => (
            <tr key={p.rowKey(r, i)} class={p.selected?.(r) ? 'selected' : undefined}>
              {p.cols.map((c) => (
                <td key={c.head} class={c.class}>
                  {c.cell(r)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export const fmtTime = (v: number | string | undefined): string => {
  if (v === undefined || v === null || v === '') return '—';
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? String(v) : d.toISOString().replace('T', ' ').slice(0, 19) + 'Z';
};

export const fmtNum = (n: number | null | undefined, digits = 0): string =>
  n === null || n === undefined || Number.isNaN(n) ? '—' : n.toFixed(digits);

/** Moves focus to the page's heading after navigation (screen readers announce the page). */
export function PageTitle(p: { children: string }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${p.children} · Rampart console`;
    ref.current?.focus();
  }, [p.children]);
  return (
    <h1 ref={ref} tabIndex={-1} class="page-title">
      {p.children}
    </h1>
  );
}

/** A modal dialog (native <dialog>: focus trapped, Escape closes). */
export function Dialog(p: {
  title: string;
  open: boolean;
  onClose: () => void;
  children: ComponentChildren;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (p.open && !d.open) {
      d.showModal();
      // A dialog with a form starts on its first field (else the browser picks the close button).
      d.querySelector<HTMLElement>('input, select, textarea')?.focus();
    }
    if (!p.open && d.open) d.close();
  }, [p.open]);
  return (
    <dialog ref={ref} aria-labelledby="dialog-title" onClose={p.onClose} class="dialog">
      <header class="card-head">
        <h2 id="dialog-title">{p.title}</h2>
        <Button onClick={p.onClose} aria-label="Close">
          ×
        </Button>
      </header>
      {p.open && p.children}
    </dialog>
  );
}
