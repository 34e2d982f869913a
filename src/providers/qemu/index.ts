/** The QEMU provider: VM workspaces with direct kernel boot, QMP control and SSH access. */
export { QemuProvider, type QemuProviderOptions } from './provider.js';
export { QmpClient, type QmpEvent, type QmpStatus } from './qmp.js';
