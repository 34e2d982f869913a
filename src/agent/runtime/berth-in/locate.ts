/** The shipped berth-in build: found beside the providers, which start its exec server too (src/providers/berth-in-build.ts). */
export { type BerthInBuild, findBerthIn, loadBerthIn } from '../../../providers/berth-in-build.js';
