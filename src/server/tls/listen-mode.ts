/**
 * Whether the API is served over TLS. Loopback stays plain HTTP unless --tls asks otherwise
 * (nothing on the wire leaves the machine); any other address serves HTTPS, and plain HTTP
 * there needs --insecure-http, said out loud. An operator's certificate implies TLS.
 */
import { BerthError } from '../../api/index.js';
import { isLoopbackHost } from './names.js';

/** The TLS-related options of `berth server`. */
export interface TlsOptions {
  /** true: --tls; false: --no-tls; undefined: decide by the listen address. */
  tls?: boolean;
  insecureHttp?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  /** Extra names for the serving certificate (--advertise). */
  advertise?: string[];
}

/** 'tls' or 'plain' for a server listening on `host`; throws when the options contradict each other. */
export function decideListenMode(host: string, o: TlsOptions): 'tls' | 'plain' {
  if ((o.tlsCert === undefined) !== (o.tlsKey === undefined)) {
    throw new BerthError(
      'INVALID_ARGUMENT',
      '--tls-cert and --tls-key go together: give both (your certificate and its key), or neither to let berth make its own.',
      {
        field: o.tlsCert === undefined ? 'tls-cert' : 'tls-key',
      },
    );
  }
  if (o.tlsCa !== undefined && o.tlsCert === undefined) {
    throw new BerthError('INVALID_ARGUMENT', '--tls-ca names the CA of your own certificate; give it with --tls-cert and --tls-key.', { field: 'tls-ca' });
  }
  const wantsTls = o.tls === true || o.tlsCert !== undefined;
  if (o.insecureHttp && wantsTls) {
    throw new BerthError('INVALID_ARGUMENT', '--insecure-http serves plain HTTP, which contradicts --tls / --tls-cert; choose one.', {
      field: 'insecure-http',
    });
  }
  if (wantsTls) return 'tls';
  if (isLoopbackHost(host)) return 'plain';
  if (o.insecureHttp) return 'plain';
  if (o.tls === false) {
    throw new BerthError(
      'FAILED_PRECONDITION',
      `Refusing to serve plain HTTP on ${host || 'every address'}: tokens and credentials would cross the network unencrypted. Drop --no-tls (berth then serves HTTPS with its own CA), or pass --insecure-http if something in front of berth already encrypts the traffic.`,
      { field: 'listen' },
    );
  }
  return 'tls';
}
