import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { sampleNode } from '../../client/fixtures.test-support.js';
import { formatErrorText, writeError } from './errors.js';
import { formatAge, formatAgo, formatOptionalNumber, formatOptionalSize, formatProviders } from './format.js';
import { PlainProgress, TerminalProgress } from './progress.js';
import { renderFields, renderTable } from './table.js';

class Capture extends Writable {
  text = '';
  isTTY?: boolean;
  columns?: number;
  override _write(chunk: Buffer, _e: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

describe('renderTable', () => {
  it('aligns columns to the widest cell, three spaces apart, without trailing spaces', () => {
    const out = renderTable(
      ['NAME', 'STATUS', 'NOTE'],
      [
        ['a', 'running', ''],
        ['longer-name', 'stopped', 'x'],
      ],
    );
    expect(out).toBe(['NAME          STATUS    NOTE', 'a             running', 'longer-name   stopped   x', ''].join('\n'));
  });

  it('counts ✓ and ✗ as one column', () => {
    const out = renderTable(
      ['P', 'X'],
      [
        ['docker ✓', '1'],
        ['lxc ✗', '2'],
      ],
    );
    expect(out.split('\n')[1]).toBe('docker ✓   1');
    expect(out.split('\n')[2]).toBe('lxc ✗      2');
  });

  it('renders aligned fields', () => {
    expect(
      renderFields([
        ['Name', 'demo'],
        ['Provider', 'docker'],
      ]),
    ).toBe('Name:      demo\nProvider:  docker\n');
  });
});

describe('value formatting', () => {
  const now = new Date('2024-01-02T00:00:00Z');
  it.each([
    ['2024-01-01T23:59:30Z', '30s'],
    ['2024-01-01T23:48:00Z', '12m'],
    ['2024-01-01T21:00:00Z', '3h'],
    ['2023-12-28T00:00:00Z', '5d'],
    ['2024-01-02T00:00:09Z', '0s'],
  ])('age of %s is %s', (iso, age) => {
    expect(formatAge(iso, now)).toBe(age);
  });

  it('handles missing values', () => {
    expect(formatAge(null, now)).toBe('-');
    expect(formatAge('garbage', now)).toBe('-');
    expect(formatAgo(null, now)).toBe('never');
    expect(formatAgo('2024-01-01T23:59:00Z', now)).toBe('1m ago');
    expect(formatOptionalSize(null)).toBe('-');
    expect(formatOptionalSize(2 * 1024 ** 3)).toBe('2.0 GiB');
    expect(formatOptionalNumber(undefined)).toBe('-');
    expect(formatOptionalNumber(0)).toBe('0');
  });

  it('shows providers with their usability', () => {
    expect(formatProviders(sampleNode().providers)).toBe('docker ✓, lxc ✗');
    expect(formatProviders([])).toBe('-');
    expect(formatProviders([{ kind: 'qemu', usable: true, details: { accelerator: 'tcg' } }])).toBe('qemu ✓ (tcg)');
  });
});

describe('errors', () => {
  it('prints code, message, field and detail', () => {
    expect(formatErrorText({ code: 'NOT_FOUND', message: 'No workspace x.' })).toBe('error: NOT_FOUND: No workspace x.\n');
    expect(formatErrorText({ code: 'INVALID_ARGUMENT', message: 'Bad.', field: 'memory', detail: 'd' })).toBe(
      'error: INVALID_ARGUMENT: Bad. (field: memory)\n  detail: d\n',
    );
  });

  it('prints JSON errors as {error}', () => {
    const out = new Capture();
    writeError(out, { code: 'NOT_FOUND', message: 'No.' }, true);
    expect(JSON.parse(out.text)).toEqual({ error: { code: 'NOT_FOUND', message: 'No.' } });
  });
});

describe('progress', () => {
  it('prints plain stage changes and logs, not every percentage', () => {
    const out = new Capture();
    const p = new PlainProgress(out);
    p.event({ type: 'progress', stage: 'pulling', fraction: 0.1 });
    p.event({ type: 'progress', stage: 'pulling', fraction: 0.5 });
    p.event({ type: 'log', line: 'layer 1 done' });
    p.event({ type: 'progress', stage: 'starting', fraction: null });
    p.stop();
    expect(out.text).toBe('stage: pulling (10%)\nlayer 1 done\nstage: starting\n');
  });

  it('redraws one terminal line and prints logs above it', () => {
    const out = new Capture();
    out.isTTY = true;
    out.columns = 30;
    const p = new TerminalProgress(out, 'creating demo');
    p.event({ type: 'progress', stage: 'pulling', fraction: 0.42 });
    p.event({ type: 'log', line: 'hello' });
    p.stop();
    const frames = out.text.split('\r\x1b[2K');
    expect(frames).toContain('hello\n');
    expect(frames.some((f) => /creating demo: pulling 42%$/.test(f))).toBe(true);
    // The final write clears the line, so whatever comes next starts clean.
    expect(out.text.endsWith('\r\x1b[2K')).toBe(true);
    // Lines never exceed the terminal width, or \r could not erase them.
    for (const f of frames) for (const line of f.split('\n')) expect([...line].length).toBeLessThan(30);
  });
});
