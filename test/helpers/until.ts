/**
 * Polls `probe` until it returns something other than undefined, for what a test waits on
 * across processes or sockets (a real clock: the other side runs on its own); throws
 * `timed out waiting for <what>` after `ms`.
 */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  ms = 5000,
  every = 20,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}
