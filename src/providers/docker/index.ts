/** The Docker provider: workspaces as labelled containers with a home volume. */
export { DockerProvider, statusOfContainer, type DockerProviderOptions } from './provider.js';
export { connectDocker, defaultSocketPath } from './connect.js';
export { makeHandle, readHandle, type DockerDriverState } from './handle.js';
