/** The Docker provider: workspaces as labelled containers with a home volume. */

export { connectDocker, defaultSocketPath } from './connect.js';
export { type DockerDriverState, makeHandle, readHandle } from './handle.js';
export { DockerProvider, type DockerProviderOptions, statusOfContainer } from './provider.js';
