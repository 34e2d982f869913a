/**
 * The engine's handles on containers and volumes, built only from names the engine itself
 * could have given out. dockerode writes the id or name into the request path as it is, so a
 * handle read from disk that held `../x` or `x?y` would call another endpoint: such a name is
 * refused here, and every accepted one is percent-encoded on its way into the path.
 */
import type Dockerode from 'dockerode';
import { BerthError } from '../../api/index.js';

/** Container ids (64 hex digits) and names, and volume names, as the engine allows them. */
const ENGINE_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}$/;

/** True when `name` is a container id or name, or a volume name, the engine could have made. */
export function isEngineName(name: string): boolean {
  return ENGINE_NAME.test(name);
}

function checked(kind: string, name: string): string {
  if (!isEngineName(name)) {
    throw new BerthError(
      'INVALID_ARGUMENT',
      `"${JSON.stringify(name.slice(0, 80)).slice(1, -1)}" is not a Docker ${kind} name: the workspace's handle is damaged; delete the workspace and create it again.`,
    );
  }
  return encodeURIComponent(name);
}

/** The engine's handle on a container, by id or name. */
export function engineContainer(docker: Dockerode, idOrName: string): Dockerode.Container {
  return docker.getContainer(checked('container', idOrName));
}

/** The engine's handle on a volume, by name. */
export function engineVolume(docker: Dockerode, name: string): Dockerode.Volume {
  return docker.getVolume(checked('volume', name));
}
