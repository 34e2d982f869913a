/**
 * NODE_EXTRA_CA_CERTS, read when the CLI first dials an https server instead of when Node
 * starts. Node parses every certificate in that file (and builds its whole root store) before
 * any JavaScript runs, 30–70 ms on a bundle of the system's ~140 roots; most commands then talk
 * plain HTTP to their server and never use them. bin/berth hands the path to the snapshot CLI
 * under another name (BERTH_NODE_EXTRA_CA_CERTS) and the CLI calls deferExtraCaCerts with it;
 * a connection with no pinned CA then trusts what Node's default store would have: its
 * bundled roots plus that file's certificates.
 */

let deferredFile: string | undefined;
let loaded: Promise<string[] | undefined> | undefined;

/** Makes https connections without a pinned CA also trust the certificates in `file`, read on first use. */
export function deferExtraCaCerts(file: string): void {
  deferredFile = file;
  loaded = undefined;
}

/** TLS options for dialing `url`: the pinned CA alone when there is one, else Node's default roots (plus any deferred extra certificates). */
export async function tlsTrust(url: string, pinned: string | undefined): Promise<{ ca?: string | string[]; rejectUnauthorized?: boolean }> {
  if (!/^(https|wss):/.test(url)) return {};
  // A pinned CA replaces every other root, NODE_EXTRA_CA_CERTS' too, as when Node loads them.
  if (pinned) return { ca: pinned, rejectUnauthorized: true };
  if (deferredFile === undefined) return {};
  loaded ??= readExtra(deferredFile);
  const ca = await loaded;
  return ca ? { ca } : {};
}

/** Node's bundled roots and the file's certificates; a file that cannot be read is warned about and left out, as Node does. */
async function readExtra(file: string): Promise<string[] | undefined> {
  const [{ rootCertificates }, { readFile }] = await Promise.all([import('node:tls'), import('node:fs/promises')]);
  try {
    return [...rootCertificates, await readFile(file, 'utf8')];
  } catch (err) {
    process.emitWarning(`Ignoring extra certs from \`${file}\`, load failed: ${(err as Error).message}`);
    return undefined;
  }
}
