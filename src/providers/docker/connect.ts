/** Connecting to the Docker engine over its unix socket. */

// The module dockerode's own modem uses (one copy in node_modules, and one in the agent
// bundle): imported statically so esbuild bundles it rather than leaving a runtime lookup of
// node_modules, which a node that got only the bundle does not have.
// @ts-expect-error docker-modem ships no types for its internals.
import modemHttpModule from 'docker-modem/lib/http.js';
import Dockerode from 'dockerode';

/**
 * docker-modem follows HTTP redirects, and follows them off the unix socket: the engine answers
 * a path holding `..` or `//` with a 301 to the cleaned path, and the redirect was dialled as
 * a TCP host named after a path segment, whose failure was an 'error' event nobody listened
 * to (the process died). The engine never redirects a request berth means to make, so any
 * redirect is turned into an ordinary error on the request instead. Names are checked and
 * encoded before they reach a path as well (engine-objects.ts, images/docker-images.ts); this
 * is the second wall.
 */
function refuseRedirects(): void {
  const modemHttp = modemHttpModule as { maxRedirects?: number };
  modemHttp.maxRedirects = 0;
}
refuseRedirects();

/** The engine socket: DOCKER_HOST when it names a unix socket, else /var/run/docker.sock. */
export function defaultSocketPath(): string {
  const host = process.env.DOCKER_HOST;
  if (host?.startsWith('unix://')) return host.slice('unix://'.length);
  return '/var/run/docker.sock';
}

/** A Dockerode client on the given (or default) unix socket; share one per node between the provider and the ImageStore. */
export function connectDocker(socketPath: string = defaultSocketPath(), timeoutMs?: number): Dockerode {
  return new Dockerode({ socketPath, ...(timeoutMs === undefined ? {} : { timeout: timeoutMs }) });
}
