/**
 * The `--flows-out` sink: one JSON object a line per flow record (MISSION.md), written in large
 * pieces. `-` writes to standard output.
 */
import { closeSync, openSync } from 'node:fs';
import { RssplaneError } from '../../core/errors.js';
import { flowJson, type FlowRecord } from '../../core/flows.js';
import { writeAll } from '../io.js';

export class FlowLines {
  private fd: number;
  private pending: string[] = [];
  private size = 0;

  constructor(readonly path: string) {
    try {
      this.fd = path === '-' ? 1 : openSync(path, 'w');
    } catch (e) {
      throw new RssplaneError('ENOENT', `cannot write --flows-out "${path}": ${(e as Error).message}`, '--flows-out');
    }
  }

  write(records: readonly FlowRecord[]): void {
    for (const r of records) {
      const line = JSON.stringify(flowJson(r));
      this.pending.push(line);
      this.size += line.length + 1;
    }
    if (this.size > 1 << 20) this.flush();
  }

  flush(): void {
    if (!this.pending.length) return;
    writeAll(this.fd, `${this.pending.join('\n')}\n`);
    this.pending = [];
    this.size = 0;
  }

  close(): void {
    this.flush();
    if (this.fd !== 1) closeSync(this.fd);
  }
}
