// Aggregates several .cpuprofile files: self time per function and total (inclusive) per top-level phase.
import { readFileSync, readdirSync } from 'node:fs';
const dir = process.argv[2]; const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
const self = new Map(); let total = 0, idle = 0;
const incl = new Map();
for (const f of files) {
  const p = JSON.parse(readFileSync(`${dir}/${f}`, 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n])); const parent = new Map();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  for (let i = 0; i < p.samples.length; i++) {
    const us = p.timeDeltas[i] ?? 0; const n = byId.get(p.samples[i]); const cf = n.callFrame;
    if (cf.functionName === '(idle)') { idle += us; continue; }
    total += us;
    const k = `${cf.functionName || '(anon)'} ${cf.url.split('/').slice(-1)[0]}:${cf.lineNumber}:${cf.columnNumber}`;
    self.set(k, (self.get(k) ?? 0) + us);
    const seen = new Set();
    for (let id = n.id; id !== undefined; id = parent.get(id)) { const c = byId.get(id).callFrame; const kk = `${c.functionName || '(anon)'} ${c.url.split('/').slice(-1)[0]}:${c.lineNumber}:${c.columnNumber}`; if (!seen.has(kk)) { seen.add(kk); incl.set(kk, (incl.get(kk) ?? 0) + us); } }
  }
}
const d = files.length * 1000;
console.log('runs', files.length, 'busy ms/run', (total / d).toFixed(1), 'idle ms/run', (idle / d).toFixed(1));
console.log('--- self'); for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, +process.argv[3] || 30)) console.log((us / d).toFixed(2).padStart(7), k);
console.log('--- inclusive'); for (const [k, us] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, +process.argv[4] || 40)) console.log((us / d).toFixed(2).padStart(7), k);
