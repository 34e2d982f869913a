/** Turns `berth server`'s TLS options into the certificate it serves, or null for plain HTTP. */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { decideListenMode, type TlsOptions } from './listen-mode.js';
import { serverNames } from './names.js';
import { ensureOwnTls, loadOperatorTls, type ServerTls } from './server-tls.js';

/** Decides the listen mode and loads or makes the TLS material for it. */
export async function setUpTls(listenHost: string, dataDir: string, opts: TlsOptions, log: Logger): Promise<ServerTls | null> {
  if (decideListenMode(listenHost, opts) === 'plain') return null;
  if (opts.tlsCert && opts.tlsKey) {
    const tls = await loadOperatorTls(opts.tlsCert, opts.tlsKey, opts.tlsCa);
    log.info(
      { fingerprint: tls.fingerprint, pinned: opts.tlsCa ? 'the --tls-ca certificate' : 'the --tls-cert leaf' },
      "serving TLS with the operator's certificate",
    );
    return tls;
  }
  const names = serverNames(listenHost, hostname(), opts.advertise ?? []);
  const tls = await ensureOwnTls(dataDir, names, hostname());
  if (tls.issued) log.info({ names }, 'issued the serving certificate');
  log.info({ fingerprint: tls.fingerprint }, 'CA fingerprint: clients pin this (berth node join-token and berth user invite embed it)');
  return tls;
}
