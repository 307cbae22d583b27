/**
 * A passkey for a console user: registered over the identity API with a software
 * authenticator, then handed to the browser's DevTools-protocol virtual authenticator.
 */
import type { BrowserContext, Page } from 'playwright-core';
import { call } from '../helpers/gateway.ts';
import { SoftAuthenticator } from '../helpers/soft-authenticator.ts';
import type { ConsoleStack } from './stack.ts';

/** Registers a passkey for `username` (password sign-in) and returns the credential. */
export async function registerPasskey(s: ConsoleStack, username: string, password: string) {
  const soft = new SoftAuthenticator({ origin: s.origin });
  const post = async (path: string, body: unknown, token?: string) => {
    const r = await call(`${s.gatewayUrl}/auth${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
    if (r.status >= 300) throw new Error(`${path}: ${r.status} ${r.text}`);
    return r.json() as Record<string, unknown>;
  };
  const token = (await post('/login', { username, password })).access_token as string;
  const reg = await post('/passkeys/register/options', {}, token);
  await post(
    '/passkeys/register/verify',
    { challenge_id: reg.challenge_id, response: soft.create(reg.options), name: 'virtual' },
    token,
  );
  return [...soft.credentials.values()][0]!;
}

/** Gives the page a virtual authenticator (user verification on) holding `cred`. */
export async function virtualAuthenticator(
  context: BrowserContext,
  page: Page,
  cred: Awaited<ReturnType<typeof registerPasskey>>,
): Promise<void> {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  const b64 = (b64url: string) => Buffer.from(b64url, 'base64url').toString('base64');
  await cdp.send('WebAuthn.addCredential', {
    authenticatorId,
    credential: {
      credentialId: b64(cred.id),
      isResidentCredential: true,
      rpId: 'localhost',
      userHandle: b64(cred.userHandle),
      privateKey: (cred.privateKey.export({ format: 'der', type: 'pkcs8' }) as Buffer).toString('base64'),
      signCount: cred.counter,
    },
  });
}
