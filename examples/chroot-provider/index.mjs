// The example plugin's entry: `berth agent --plugin examples/chroot-provider` imports this
// module and builds the provider from its default export (see docs/plugins.md).
import { definePlugin, PLUGIN_API_VERSION } from 'berth/plugin';
import { ChrootProvider } from './provider.mjs';

/** The `chroot` provider plugin. */
export default definePlugin({
  apiVersion: PLUGIN_API_VERSION,
  kind: 'chroot',
  create: (ctx) => new ChrootProvider({ nodeId: ctx.nodeId, stateDir: ctx.stateDir }),
});
