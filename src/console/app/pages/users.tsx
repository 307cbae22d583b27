import { useState } from 'preact/hooks';
import { API, ApiError, AUTH, del, get, post, q, seg, type Page } from '../api.ts';
import {
  Badge,
  Button,
  Card,
  ErrorBox,
  Field,
  fmtTime,
  PageTitle,
  Table,
  useAction,
  useLoad,
} from '../ui.tsx';

/** The admin API's User (with MFA status). */
interface User {
  id: string;
  username: string;
  displayName: string | null;
  roles: string[];
  disabled: boolean;
  locked: boolean;
  createdAt: number;
  mfa?: { required: boolean; enrolled: boolean; totp: boolean; passkeys: number; recoveryCodesLeft: number };
}
interface ApiKey {
  id: string;
  name: string;
  scopes: string[];
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
}
interface Issued extends ApiKey {
  key: string;
  previousExpiresAt?: number;
}

/**
 * Where users and keys come from: the admin API (any user's keys), or — on a server
 * without it — the identity service's own admin and key endpoints (relayed; keys of the
 * signed-in user only). Both answer in the admin API's shape here.
 */
interface Backend {
  kind: 'admin-api' | 'identity';
  users(cursor?: string): Promise<Page<User>>;
  action(u: User, what: 'disable' | 'enable' | 'reset-mfa'): Promise<unknown>;
  keys(u: User): Promise<ApiKey[]>;
  create(u: User, name: string, scopes: string[]): Promise<Issued>;
  rotate(u: User, k: ApiKey): Promise<Issued>;
  revoke(u: User, k: ApiKey): Promise<unknown>;
}

const PAGE = 50;

const adminApi: Backend = {
  kind: 'admin-api',
  users: (cursor) => get<Page<User>>(q(`${API}/users`, { limit: PAGE, cursor })),
  action: (u, what) => post(`${API}/users/${seg(u.id)}/${what === 'reset-mfa' ? 'mfa/reset' : what}`),
  keys: async (u) => (await get<Page<ApiKey>>(q(`${API}/users/${seg(u.id)}/api-keys`, { limit: 200 }))).items,
  create: (u, name, scopes) => post<Issued>(`${API}/users/${seg(u.id)}/api-keys`, { name, scopes }),
  rotate: (u, k) =>
    post<Issued>(`${API}/users/${seg(u.id)}/api-keys/${seg(k.id)}/rotate`, { overlapSeconds: 3600 }),
  revoke: (u, k) => del(`${API}/users/${seg(u.id)}/api-keys/${seg(k.id)}`),
};

interface IdUser {
  id: string;
  username: string;
  display_name: string | null;
  roles: string[];
  disabled: boolean;
  locked: boolean;
  created_at: number;
  factors?: { totp: boolean; passkeys: number; recovery_codes_left: number };
}
interface IdKey {
  id: string;
  name: string;
  scopes: string[];
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  key?: string;
  previous_expires_at?: number;
}
const fromIdKey = (k: IdKey): Issued => ({
  id: k.id,
  name: k.name,
  scopes: k.scopes,
  createdAt: k.created_at,
  expiresAt: k.expires_at,
  lastUsedAt: k.last_used_at,
  key: k.key ?? '',
  ...(k.previous_expires_at !== undefined ? { previousExpiresAt: k.previous_expires_at } : {}),
});

const identity: Backend = {
  kind: 'identity',
  users: async (cursor) => {
    const all = (await get<{ users: IdUser[] }>(`${AUTH}/admin/users`)).users;
    // The identity service answers every user at once: paged here, 50 at a time.
    const start = cursor ? Number(cursor) : 0;
    const slice = all.slice(start, start + PAGE);
    const detailed = await Promise.all(slice.map((u) => get<IdUser>(`${AUTH}/admin/users/${seg(u.id)}`)));
    return {
      items: detailed.map((u) => ({
        id: u.id,
        username: u.username,
        displayName: u.display_name,
        roles: u.roles,
        disabled: u.disabled,
        locked: u.locked,
        createdAt: u.created_at,
        ...(u.factors
          ? {
              mfa: {
                required: u.roles.includes('admin'),
                enrolled: u.factors.totp || u.factors.passkeys > 0,
                totp: u.factors.totp,
                passkeys: u.factors.passkeys,
                recoveryCodesLeft: u.factors.recovery_codes_left,
              },
            }
          : {}),
      })),
      next: start + PAGE < all.length ? String(start + PAGE) : null,
    };
  },
  action: (u, what) => post(`${AUTH}/admin/users/${seg(u.id)}/${what}`),
  keys: async () => (await get<{ api_keys: IdKey[] }>(`${AUTH}/api-keys`)).api_keys.map(fromIdKey),
  create: async (_u, name, scopes) => fromIdKey(await post<IdKey>(`${AUTH}/api-keys`, { name, scopes })),
  rotate: async (_u, k) =>
    fromIdKey(await post<IdKey>(`${AUTH}/api-keys/${seg(k.id)}/rotate`, { overlap_seconds: 3600 })),
  revoke: (_u, k) => del(`${AUTH}/api-keys/${seg(k.id)}`),
};

async function loadUsers(cursor: string | undefined): Promise<{ backend: Backend; page: Page<User> }> {
  try {
    return { backend: adminApi, page: await adminApi.users(cursor) };
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 404)) throw e;
    return { backend: identity, page: await identity.users(cursor) };
  }
}

export function Users() {
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const users = useLoad(() => loadUsers(cursor), [cursor]);
  const [selected, setSelected] = useState<string>();
  const b = users.data?.backend;
  const page = users.data?.page;
  const user = page?.items.find((u) => u.id === selected);
  return (
    <>
      <PageTitle>Users and keys</PageTitle>
      <ErrorBox error={users.error} />
      <Card title="Users" id="users">
        <Table
          label="Users"
          rows={page?.items ?? []}
          rowKey={(u) => u.id}
          selected={(u) => u.id === selected}
          cols={[
            { head: 'User', cell: (u) => <span data-testid="username">{u.username}</span> },
            { head: 'Name', cell: (u) => u.displayName ?? '' },
            { head: 'Roles', cell: (u) => u.roles.join(', ') },
            {
              head: 'MFA',
              cell: (u) =>
                !u.mfa ? (
                  '—'
                ) : u.mfa.enrolled ? (
                  <Badge tone="ok">
                    {[u.mfa.totp && 'TOTP', u.mfa.passkeys > 0 && `${u.mfa.passkeys} passkey(s)`]
                      .filter(Boolean)
                      .join(' + ')}
                  </Badge>
                ) : (
                  <Badge tone={u.mfa.required ? 'bad' : 'warn'}>not enrolled</Badge>
                ),
            },
            {
              head: 'State',
              cell: (u) =>
                u.disabled ? (
                  <Badge tone="muted">disabled</Badge>
                ) : u.locked ? (
                  <Badge tone="bad">locked</Badge>
                ) : (
                  <Badge tone="ok">active</Badge>
                ),
            },
            {
              head: 'Manage',
              cell: (u) => (
                <Button
                  aria-expanded={u.id === selected}
                  onClick={() => setSelected(u.id === selected ? undefined : u.id)}
                >
                  {u.id === selected ? 'Close' : 'Manage'}
                  <span class="sr-only"> {u.username}</span>
                </Button>
              ),
            },
          ]}
        />
        <nav class="pager" aria-label="Pages of users">
          <Button disabled={cursors.length < 2} onClick={() => setCursors((c) => c.slice(0, -1))}>
            Previous page
          </Button>
          <Button disabled={!page?.next} onClick={() => page?.next && setCursors((c) => [...c, page.next!])}>
            Next page
          </Button>
        </nav>
      </Card>
      {user && b && <UserPanel key={user.id} user={user} backend={b} onChange={users.reload} />}
    </>
  );
}

function UserPanel(p: { user: User; backend: Backend; onChange: () => void }) {
  const { user: u, backend: b } = p;
  const keys = useLoad(() => b.keys(u), [u.id]);
  const [issued, setIssued] = useState<Issued>();
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState('role:admin');
  const act = useAction((what: 'disable' | 'enable' | 'reset-mfa') => b.action(u, what), p.onChange);
  const create = useAction(async () => {
    setIssued(await b.create(u, name.trim(), scopes.split(/[\s,]+/).filter(Boolean)));
    setName('');
  }, keys.reload);
  const rotate = useAction(async (k: ApiKey) => setIssued(await b.rotate(u, k)), keys.reload);
  const revoke = useAction((k: ApiKey) => b.revoke(u, k), keys.reload);
  return (
    <Card title={`User ${u.username}`} id="user-panel">
      <dl class="kv">
        <dt>Id</dt>
        <dd>
          <code>{u.id}</code>
        </dd>
        <dt>Created</dt>
        <dd>{fmtTime(u.createdAt)}</dd>
        {u.mfa && (
          <>
            <dt>Recovery codes left</dt>
            <dd>{u.mfa.recoveryCodesLeft}</dd>
          </>
        )}
      </dl>
      <div class="actions">
        <Button kind="danger" busy={act.busy} onClick={() => act.run('reset-mfa')}>
          Reset MFA
        </Button>
        {u.disabled ? (
          <Button busy={act.busy} onClick={() => act.run('enable')}>
            Enable
          </Button>
        ) : (
          <Button kind="danger" busy={act.busy} onClick={() => act.run('disable')}>
            Disable
          </Button>
        )}
      </div>
      <ErrorBox error={act.error} />
      <h3>
        API keys{b.kind === 'identity' ? ' (yours: this server has no admin API for other users’ keys)' : ''}
      </h3>
      {issued && (
        <div class="secret" role="status" data-testid="issued-key">
          <p>
            <strong>Copy the key now: it is shown this once.</strong>
            {issued.previousExpiresAt !== undefined &&
              ` The replaced key works until ${fmtTime(issued.previousExpiresAt)}.`}
          </p>
          <code data-testid="issued-secret">{issued.key}</code>
          <Button onClick={() => setIssued(undefined)}>I copied it</Button>
        </div>
      )}
      <ErrorBox error={keys.error ?? rotate.error ?? revoke.error} />
      <Table
        label={`API keys of ${u.username}`}
        rows={keys.data ?? []}
        rowKey={(k) => k.id}
        empty="No API key."
        cols={[
          { head: 'Name', cell: (k) => <span data-testid="key-name">{k.name}</span> },
          { head: 'Scopes', cell: (k) => k.scopes.join(', ') },
          { head: 'Created', cell: (k) => fmtTime(k.createdAt) },
          { head: 'Expires', cell: (k) => (k.expiresAt ? fmtTime(k.expiresAt) : 'never') },
          { head: 'Last used', cell: (k) => fmtTime(k.lastUsedAt ?? undefined) },
          {
            head: 'Actions',
            cell: (k) => (
              <span class="actions">
                <Button busy={rotate.busy} onClick={() => rotate.run(k)}>
                  Rotate<span class="sr-only"> {k.name}</span>
                </Button>
                <Button kind="danger" busy={revoke.busy} onClick={() => revoke.run(k)}>
                  Revoke<span class="sr-only"> {k.name}</span>
                </Button>
              </span>
            ),
          },
        ]}
      />
      <form
        class="inline-form"
        aria-label="Create an API key"
        onSubmit={(e) => {
          e.preventDefault();
          create.run();
        }}
      >
        <Field
          id="key-name"
          label="Key name"
          required
          maxLength={100}
          value={name}
          onInput={(e) => setName(e.currentTarget.value)}
        />
        <Field
          id="key-scopes"
          label="Scopes"
          hint="Space-separated, e.g. role:admin api:lab"
          value={scopes}
          onInput={(e) => setScopes(e.currentTarget.value)}
        />
        <button type="submit" class="btn btn-primary" disabled={create.busy}>
          Create key
        </button>
      </form>
      <ErrorBox error={create.error} />
    </Card>
  );
}
