// Summarises a .cpuprofile: self time by function/url top N, and time by url (module).
import { readFileSync } from 'node:fs';
const p = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const dt = new Map();
const byId = new Map(p.nodes.map((n) => [n.id, n]));
for (let i = 0; i < p.samples.length; i++) dt.set(p.samples[i], (dt.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0));
const self = new Map(), byUrl = new Map();
let total = 0;
for (const [id, us] of dt) { const n = byId.get(id); const cf = n.callFrame; const k = `${cf.functionName || '(anon)'} ${cf.url.split('/').slice(-2).join('/')}:${cf.lineNumber}`; self.set(k, (self.get(k) ?? 0) + us); const u = cf.url ? cf.url.split('/').slice(-2).join('/') : cf.functionName; byUrl.set(u, (byUrl.get(u) ?? 0) + us); total += us; }
console.log('total ms', (total / 1000).toFixed(1), 'wall', ((p.endTime - p.startTime) / 1000).toFixed(1));
for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, +process.argv[3] || 25)) console.log((us / 1000).toFixed(1).padStart(7), k);
console.log('--- by url');
for (const [k, us] of [...byUrl].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log((us / 1000).toFixed(1).padStart(7), k);
