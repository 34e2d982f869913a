/** The LXC provider: workspaces as labelled system containers cloned from berth images. */
export { LxcProvider, statusOfState, type LxcProviderOptions } from './provider.js';
export { makeHandle, readHandle, type LxcDriverState } from './handle.js';
export { DEFAULT_BRIDGE, DEFAULT_LXC_PATH, METADATA_FILE, type BackingStore } from './config.js';
export { forwardLoopback, type PortForward } from './ports.js';
