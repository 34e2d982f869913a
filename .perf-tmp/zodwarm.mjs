import { config } from 'zod';
config({ jitless: true });
const api = await import('../dist/api/index.js');
const t = (label, f) => { const t0 = performance.now(); f(); console.log(label, (performance.now() - t0).toFixed(2)); };
t('execRequest 1', () => api.execRequestSchema.safeParse({ cmd: ['true'], tty: false, env: {} }));
t('execRequest 2', () => api.execRequestSchema.safeParse({ cmd: ['true'], tty: false, env: {} }));
t('frame started 1', () => api.execServerFrameSchema.safeParse({ type: 'started' }));
t('frame exit 1', () => api.execServerFrameSchema.safeParse({ type: 'exit', code: 0 }));
t('frame exit 2', () => api.execServerFrameSchema.safeParse({ type: 'exit', code: 0 }));
