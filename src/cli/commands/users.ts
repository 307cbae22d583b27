import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { ProblemError } from '../../core/errors.ts';
import { createLogger } from '../../core/logger.ts';
import {
  createIdentityService,
  identityConfigSchema,
  type IdentityConfigInput,
  type IdentityService,
  userJson,
} from '../../identity/index.ts';
import { openStore, parseStoreUrl, type Db } from '../../store/index.ts';
import { readConfig, resolveStoreUrl } from '../app.ts';
import { configPathFrom, parseOptions, UsageError, type Command, type CommandIO } from '../command.ts';

const usage = `Usage: rampart users <add|list|disable|enable|unlock|reset-mfa> [options]

  rampart users add NAME [--admin] [--role R]... [--attr key=value]...
      Creates a user. The password is read from standard input (first line; typed
      without echo on a terminal), never from the command line. --admin adds the
      role "admin" (MFA required) and prints the enrolment link.
  rampart users list [--json]
  rampart users disable NAME      Disables the user and revokes its sessions and API keys.
  rampart users enable NAME
  rampart users unlock NAME       Clears the lockout after too many failed passwords.
  rampart users reset-mfa NAME    Removes TOTP, recovery codes and passkeys; revokes sessions.

Options:
  -c, --config FILE   rampart.yaml to read the store and identity settings from
                      (default $RAMPART_CONFIG, else ./rampart.yaml; without either,
                      the built-in demo's store ./data/rampart.db when it exists)
  --store URL         store URL instead (sqlite://./data/rampart.db, postgres://…)`;

/** Reads one secret line: hidden on a TTY, else the first line of stdin. */
export async function readSecretFromStdin(prompt: string, io: CommandIO): Promise<string> {
  const stdin = process.stdin;
  if (stdin.isTTY) {
    io.err(prompt);
    stdin.setRawMode(true);
    stdin.resume();
    return new Promise((resolvePw, reject) => {
      let buf = '';
      const onData = (chunk: Buffer) => {
        for (const ch of chunk.toString('utf8')) {
          if (ch === '\r' || ch === '\n') {
            done();
            resolvePw(buf);
            return;
          }
          if (ch === '\u0003') {
            done();
            reject(new Error('cancelled'));
            return;
          }
          if (ch === '\u007f') buf = [...buf].slice(0, -1).join('');
          else buf += ch;
        }
      };
      const done = () => {
        stdin.setRawMode(false);
        stdin.pause();
        stdin.off('data', onData);
      };
      stdin.on('data', onData);
    });
  }
  const chunks: Buffer[] = [];
  for await (const c of stdin as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
}

export interface UsersCommandDeps {
  readSecret: (prompt: string, io: CommandIO) => Promise<string>;
}

/** Where `npm start` (the built-in demo) keeps its store, relative to the working directory. */
const DEMO_STORE = 'data/rampart.db';

async function openIdentity(
  values: { config?: string | undefined; store?: string | undefined },
  readOnly: boolean,
  notice?: (line: string) => void,
): Promise<{ db: Db; identity: IdentityService }> {
  let storeUrl: string;
  let identityConfig: IdentityConfigInput = {};
  let baseDir = process.cwd();
  // The same rule as every command: -c, else $RAMPART_CONFIG, else ./rampart.yaml; --store instead of a config.
  const explicit = values.config ?? (process.env.RAMPART_CONFIG || undefined);
  if (values.store) {
    storeUrl = values.store;
  } else if (explicit || existsSync('rampart.yaml')) {
    const configPath = configPathFrom(values.config);
    if (!existsSync(configPath)) throw new UsageError(`no configuration at ${configPath}`);
    const loaded = await readConfig(configPath);
    baseDir = loaded.baseDir;
    storeUrl = resolveStoreUrl(loaded.config.store, baseDir);
    identityConfig = ((loaded.config as { identity?: unknown }).identity ?? {}) as IdentityConfigInput;
  } else if (existsSync(DEMO_STORE)) {
    // No rampart.yaml: the built-in demo's store (`npm start` writes it), with its key file.
    storeUrl = `sqlite://${resolve(DEMO_STORE)}`;
    const demo = resolve(dirname(DEMO_STORE), 'demo.json');
    if (existsSync(demo)) {
      const { issuer } = JSON.parse(readFileSync(demo, 'utf8')) as { issuer?: unknown };
      if (typeof issuer === 'string') identityConfig = { issuer };
    }
    notice?.(`using the built-in demo's store ${DEMO_STORE} (pass -c FILE or --store URL for another)`);
  } else {
    throw new UsageError(
      `no ./rampart.yaml and no demo store at ./${DEMO_STORE}: pass -c FILE (or set RAMPART_CONFIG) or --store URL`,
    );
  }
  if (readOnly) {
    const target = parseStoreUrl(storeUrl);
    if (target.dialect === 'sqlite' && target.path !== ':memory:' && !existsSync(target.path))
      throw new UsageError(`no store at ${target.path} (this command does not create one; check the path)`);
  }
  const keyFile = identityConfig.keyFile ?? (identityConfigSchema.properties.keyFile.default as string);
  const log = createLogger({ level: 'warn', pretty: false, destination: process.stderr });
  const db = await openStore(storeUrl);
  try {
    const identity = await createIdentityService({
      db,
      log,
      config: { ...identityConfig, keyFile: isAbsolute(keyFile) ? keyFile : resolve(baseDir, keyFile) },
      background: false,
    });
    return { db, identity };
  } catch (err) {
    await db.close();
    throw err;
  }
}

/** `rampart users …` with injectable secret input (tests). */
export function createUsersCommand(deps: UsersCommandDeps): Command {
  return {
    name: 'users',
    summary: 'Manage identity users: add, list, disable, reset MFA',
    usage,
    async run(argv, io) {
      const args = parseOptions(
        argv,
        {
          config: { type: 'string', short: 'c' },
          store: { type: 'string' },
          admin: { type: 'boolean', default: false },
          role: { type: 'string', multiple: true, default: [] },
          attr: { type: 'string', multiple: true, default: [] },
          json: { type: 'boolean', default: false },
        },
        true,
      );
      const [sub, name, ...extra] = args.positionals;
      if (!sub) throw new UsageError('missing subcommand');
      if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
      const needsName = ['add', 'disable', 'enable', 'unlock', 'reset-mfa'];
      if (!needsName.includes(sub) && sub !== 'list') throw new UsageError(`unknown subcommand '${sub}'`);
      if (needsName.includes(sub) && !name) throw new UsageError(`users ${sub} needs a user name`);
      const attributes: Record<string, string> = {};
      for (const a of args.values.attr) {
        const eq = a.indexOf('=');
        if (eq <= 0) throw new UsageError(`--attr expects key=value, got '${a}'`);
        attributes[a.slice(0, eq)] = a.slice(eq + 1);
      }

      // Read the password before opening the store (a prompt must not wait on migrations).
      let password: string | undefined;
      if (sub === 'add') {
        password = await deps.readSecret(`Password for ${name}: `, io);
        if (!password) throw new UsageError('no password on standard input');
      }

      const { db, identity } = await openIdentity(args.values, sub !== 'add', io.err);
      try {
        const users = identity.users;
        switch (sub) {
          case 'add': {
            const roles = [...new Set([...(args.values.admin ? ['admin'] : []), ...args.values.role])];
            const user = await users.add({ username: name!, password: password!, roles, attributes });
            io.out(
              `created user ${user.username} (id ${user.id}, roles: ${user.roles.join(', ') || 'none'})`,
            );
            if (args.values.admin || identity.config.mfa.requiredForRoles.some((r) => roles.includes(r))) {
              io.out(
                `A second factor is required. Sign in at ${users.enrollmentLink()} and enrol TOTP or a passkey.`,
              );
            }
            return 0;
          }
          case 'list': {
            const list = await users.list();
            if (args.values.json) {
              // The admin API's shape: snake_case, times in epoch milliseconds (docs/identity.md).
              io.out(JSON.stringify(list.map(userJson), null, 2));
              return 0;
            }
            const rows = list.map((u) => [
              u.username,
              u.id,
              u.roles.join(',') || '-',
              [u.disabled ? 'disabled' : 'active', u.locked ? 'locked' : ''].filter(Boolean).join(','),
            ]);
            const head = ['USERNAME', 'ID', 'ROLES', 'STATE'];
            const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
            for (const r of [head, ...rows])
              io.out(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  '));
            return 0;
          }
          case 'disable':
          case 'enable': {
            const u = await users.disable(name!, sub === 'disable');
            io.out(
              `${u.username} ${sub === 'disable' ? 'disabled; sessions and API keys revoked' : 'enabled'}`,
            );
            return 0;
          }
          case 'unlock':
            await users.unlock(name!);
            io.out(`${name} unlocked`);
            return 0;
          case 'reset-mfa':
            await users.resetMfa(name!);
            io.out(
              `${name}: second factors removed and sessions revoked; the user enrols again at the next sign-in`,
            );
            return 0;
        }
        return 2;
      } catch (err) {
        if (err instanceof ProblemError) {
          if (err.problem.status === 404 && name) {
            io.err(`rampart users ${sub}: no user named '${name}'`);
            return 1;
          }
          io.err(`rampart users ${sub}: ${err.problem.detail ?? err.problem.title}`);
          return 1;
        }
        throw err;
      } finally {
        await identity.close();
        await db.close();
      }
    },
  };
}

export default createUsersCommand({ readSecret: readSecretFromStdin });
