/** Follows a workspace service's logs (the NDJSON stream `berth svc logs -f` reads). */
import { API_PREFIX, BerthError, fillPath, serviceLogsFrameSchema, streams } from '../../../src/api/index.js';
import { authHeaders, errorOf } from './api.js';

/** Streams `service`'s output (the last `tail` lines first) to `onData` until the stream ends or `signal` aborts. */
export async function followServiceLogs(name: string, service: string, tail: number, onData: (text: string) => void, signal: AbortSignal): Promise<void> {
  const path = API_PREFIX + fillPath(streams.workspaceServiceLogs, { name, service }) + `?follow=true&tail=${tail}`;
  const res = await fetch(path, { credentials: 'same-origin', signal, headers: { accept: 'application/x-ndjson', ...authHeaders() } });
  if (!res.ok || !res.body) throw await errorOf(res);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffered += value;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      const parsed = serviceLogsFrameSchema.safeParse(JSON.parse(line));
      if (!parsed.success) continue;
      const f = parsed.data;
      if (f.type === 'data') onData(f.data);
      else if (f.type === 'end') return;
      else throw BerthError.fromApi(f.error);
    }
  }
}
