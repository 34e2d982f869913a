/** Connecting to the Docker engine over its unix socket. */
import Dockerode from 'dockerode';

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
