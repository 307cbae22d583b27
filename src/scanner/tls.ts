import { checkServerIdentity, connect, rootCertificates, type PeerCertificate } from 'node:tls';

/** TLS protocol versions the probe tries, oldest first. */
export const TLS_VERSIONS = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const;
export type TlsVersion = (typeof TLS_VERSIONS)[number];

export interface TlsProbe {
  /** Which versions completed a handshake. */
  versions: Record<TlsVersion, boolean>;
  /** The leaf certificate of the first successful handshake, if any. */
  certificate?: {
    subject: string;
    issuer: string;
    validFrom: number;
    validTo: number;
    selfSigned: boolean;
    /** OpenSSL's verdict against the public root store (`CERT_HAS_EXPIRED`, …), or undefined when trusted. */
    verifyError?: string;
    /** The host name does not match the certificate (RFC 6125), with Node's reason. */
    hostnameError?: string;
  };
}

const name = (n: PeerCertificate['subject'] | undefined): string =>
  n
    ? Object.entries(n)
        .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : String(v)}`)
        .join(', ')
    : '';

/**
 * One handshake limited to `version`. Legacy versions need OpenSSL security level 0 on the
 * client side, or OpenSSL 3 refuses their signature algorithms before the server is asked —
 * without it a server offering TLS 1.0 looks as if it did not.
 */
function handshake(
  host: string,
  port: number,
  servername: string,
  version: TlsVersion,
  timeoutMs: number,
  ca: string[],
): Promise<PeerCertificate | undefined> {
  return new Promise((resolve) => {
    const legacy = version === 'TLSv1' || version === 'TLSv1.1';
    const s = connect(
      {
        host,
        port,
        minVersion: version,
        maxVersion: version,
        rejectUnauthorized: false,
        ...(/^[\d.]+$|:/.test(servername) ? {} : { servername }),
        ...(legacy ? { ciphers: 'DEFAULT@SECLEVEL=0' } : {}),
        ...(ca.length ? { ca: [...rootCertificates, ...ca] } : {}),
      },
      () => {
        const cert = s.getPeerCertificate(true);
        const verifyError = s.authorized ? undefined : String(s.authorizationError ?? 'UNKNOWN');
        s.end();
        resolve(Object.assign(cert, { rampartVerifyError: verifyError }));
      },
    );
    s.setTimeout(timeoutMs, () => {
      s.destroy();
      resolve(undefined);
    });
    s.on('error', () => resolve(undefined));
  });
}

/**
 * Probes which TLS versions a server completes and what certificate it presents, verified
 * against the public roots plus `ca` (the scan's `--ca`).
 */
export async function probeTls(
  host: string,
  port: number,
  o: { timeoutMs?: number; ca?: string[] } = {},
): Promise<TlsProbe> {
  const versions = {} as Record<TlsVersion, boolean>;
  let first:
    (PeerCertificate & { rampartVerifyError?: string; issuerCertificate?: PeerCertificate }) | undefined;
  for (const v of TLS_VERSIONS) {
    const cert = await handshake(host, port, host, v, o.timeoutMs ?? 5000, o.ca ?? []);
    versions[v] = cert !== undefined;
    if (cert && !first) first = cert;
  }
  const out: TlsProbe = { versions };
  if (first && first.raw) {
    const issuerCert = first.issuerCertificate;
    const selfSigned =
      (issuerCert !== undefined && issuerCert.fingerprint256 === first.fingerprint256) ||
      name(first.issuer) === name(first.subject);
    const hostnameError = checkServerIdentity(host, first)?.message;
    out.certificate = {
      subject: name(first.subject),
      issuer: name(first.issuer),
      validFrom: Date.parse(first.valid_from),
      validTo: Date.parse(first.valid_to),
      selfSigned,
      ...(first.rampartVerifyError ? { verifyError: first.rampartVerifyError } : {}),
      ...(hostnameError ? { hostnameError } : {}),
    };
  }
  return out;
}
