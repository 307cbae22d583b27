/** WebAuthn JSON (base64url) ↔ the browser's ArrayBuffers, for passkey sign-in. */

const toBytes = (s: string): Uint8Array<ArrayBuffer> => {
  const b = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4));
  const out = new Uint8Array(new ArrayBuffer(b.length));
  for (let i = 0; i < b.length; i++) out[i] = b.charCodeAt(i);
  return out;
};

const toB64url = (buf: ArrayBuffer | null): string | undefined => {
  if (!buf) return undefined;
  let s = '';
  for (const byte of new Uint8Array(buf)) s += String.fromCharCode(byte);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
};

interface RequestOptionsJson {
  challenge: string;
  timeout?: number;
  rpId?: string;
  allowCredentials?: { id: string; type: 'public-key'; transports?: AuthenticatorTransport[] }[];
  userVerification?: UserVerificationRequirement;
}

/** Runs navigator.credentials.get with the server's options; returns the JSON the server verifies. */
export async function getAssertion(o: RequestOptionsJson): Promise<Record<string, unknown>> {
  const cred = (await navigator.credentials.get({
    publicKey: {
      challenge: toBytes(o.challenge),
      ...(o.timeout !== undefined ? { timeout: o.timeout } : {}),
      ...(o.rpId !== undefined ? { rpId: o.rpId } : {}),
      ...(o.userVerification !== undefined ? { userVerification: o.userVerification } : {}),
      allowCredentials: (o.allowCredentials ?? []).map((c) => ({
        type: c.type,
        id: toBytes(c.id),
        ...(c.transports ? { transports: c.transports } : {}),
      })),
    },
  })) as PublicKeyCredential | null;
  if (!cred) throw new Error('No passkey was chosen');
  const r = cred.response as AuthenticatorAssertionResponse;
  return {
    id: cred.id,
    rawId: toB64url(cred.rawId),
    type: cred.type,
    clientExtensionResults: cred.getClientExtensionResults(),
    authenticatorAttachment: cred.authenticatorAttachment ?? undefined,
    response: {
      clientDataJSON: toB64url(r.clientDataJSON),
      authenticatorData: toB64url(r.authenticatorData),
      signature: toB64url(r.signature),
      userHandle: toB64url(r.userHandle),
    },
  };
}
