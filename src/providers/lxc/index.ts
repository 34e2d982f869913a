/** The LXC provider: workspaces as labelled system containers cloned from berth images. */

export { type BackingStore, DEFAULT_BRIDGE, DEFAULT_LXC_PATH, METADATA_FILE } from './config.js';
export { type LxcDriverState, makeHandle, readHandle } from './handle.js';
export { forwardLoopback, type PortForward } from './ports.js';
export { LxcProvider, type LxcProviderOptions, statusOfState } from './provider.js';
