/** A real `rampart` CLI process with its output lines collected (stdout and stderr). */
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = resolve(import.meta.dirname, '../..');

export interface Running {
  child: ChildProcess;
  lines: string[];
  waitFor(re: RegExp): Promise<RegExpMatchArray>;
  exit: Promise<number | null>;
}

export function startCli(args: string[], cwd: string): Running {
  const child = spawn(process.execPath, [join(ROOT, 'bin/rampart.js'), ...args], {
    cwd,
    env: { ...process.env, RAMPART_LOG_LEVEL: 'info', NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters: Array<{ re: RegExp; resolve: (m: RegExpMatchArray) => void }> = [];
  const onLine = (line: string) => {
    lines.push(line);
    for (const w of [...waiters]) {
      const m = w.re.exec(line);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  };
  createInterface({ input: child.stdout! }).on('line', onLine);
  createInterface({ input: child.stderr! }).on('line', onLine);
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    child,
    lines,
    exit,
    waitFor: (re) =>
      new Promise((resolveWait, reject) => {
        const m = lines.map((l) => re.exec(l)).find(Boolean);
        if (m) return resolveWait(m);
        waiters.push({ re, resolve: resolveWait });
        void exit.then((code) => reject(new Error(`exited with ${code} before ${re}:\n${lines.join('\n')}`)));
      }),
  };
}
