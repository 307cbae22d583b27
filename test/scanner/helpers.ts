import {
  startLab,
  startThirdPartyStub,
  type LabMode,
  type LabServer,
  type StubServer,
} from '../../src/lab/index.ts';
import type { Identity } from '../../src/scanner/identities.ts';
import { TamperRelay } from '../../src/scanner/relay.ts';

/** A lab (either twin) whose insurer calls go through the scanner's tampering relay. */
export interface ScannableLab {
  lab: LabServer;
  relay: TamperRelay;
  close(): Promise<void>;
}

export async function startScannableLab(mode: LabMode): Promise<ScannableLab> {
  const insurer: StubServer = await startThirdPartyStub();
  const relay = await TamperRelay.start(insurer.url);
  const lab = await startLab({ mode, thirdPartyUrl: relay.url });
  return {
    lab,
    relay,
    async close() {
      await lab.close();
      await relay.close();
      await insurer.close();
    },
  };
}

/** The lab's public demo accounts as login-recipe identities (two patients and the admin). */
export function labIdentities(): Identity[] {
  const recipe = (username: string, password: string) => ({
    method: 'POST',
    path: '/v2/auth/login',
    json: { username, password },
    token: 'body.token',
    apply: 'Authorization: Bearer {token}',
    refresh: 0,
  });
  return [
    {
      name: 'alice',
      role: 'patient',
      headers: {},
      recipe: recipe('alice', 'alice-demo-pass'),
      loginFields: { username: 'alice' },
    },
    {
      name: 'bob',
      role: 'patient',
      headers: {},
      recipe: recipe('bob', 'bob-demo-pass'),
      loginFields: { username: 'bob' },
    },
    {
      name: 'admin',
      role: 'admin',
      headers: {},
      recipe: recipe('admin', 'admin-demo-pass'),
      loginFields: { username: 'admin' },
    },
  ];
}
