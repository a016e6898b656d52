/**
 * The RSS function panel: key, field set, hash function, transform and indirection table, read
 * into the one RssConfig every view takes, and the `ethtool -X` line that programs a NIC with it.
 */
import { RETA_MAX } from '../../assembly/shared/abi.js';
import { invalid, RssplaneError } from '../core/errors.js';
import { formatEthtoolSet } from '../core/ethtool.js';
import { FIELD_SETS, type FieldSetName, type HashFunctionName, type TransformName } from '../core/fields.js';
import { formatKey, KEY_PRESETS, parseKey, presetName, type KeyPreset } from '../core/key.js';
import { Reta } from '../core/reta.js';
import { RssConfig } from '../core/rss.js';
import { byId, colour, messageOf, showFieldError } from './dom.js';

/** The table as the user filled it in: what `ethtool -X` says, and the size it cannot change. */
export interface TableSpec {
  size: number;
  mode: 'equal' | 'weight';
  queues: number;
  weights: number[];
  start: number;
}

export interface Settings {
  config: RssConfig;
  table: TableSpec;
  dev: string;
}

/** Linux interface names: at most 15 bytes (IFNAMSIZ - 1), no slash or white space. */
const DEV_NAME = /^[^\s/]{1,15}$/;

export class SettingsPanel {
  private readonly preset = byId<HTMLSelectElement>('key-preset');
  private readonly key = byId<HTMLTextAreaElement>('key');
  readonly fields = byId<HTMLSelectElement>('fields');
  private readonly hfunc = byId<HTMLSelectElement>('hfunc');
  private readonly xfrm = byId<HTMLSelectElement>('xfrm');
  private readonly size = byId<HTMLSelectElement>('reta-size');
  private readonly mode = byId<HTMLSelectElement>('reta-mode');
  private readonly start = byId<HTMLInputElement>('reta-start');
  private readonly queues = byId<HTMLInputElement>('reta-queues');
  private readonly weights = byId<HTMLInputElement>('reta-weights');
  private readonly dev = byId<HTMLInputElement>('dev');
  private readonly map = byId<HTMLCanvasElement>('reta-map');
  private shown: Reta | undefined;

  constructor(onChange: () => void) {
    for (let s = 8; s <= RETA_MAX; s *= 2) this.size.append(new Option(String(s), String(s), s === 128, s === 128));
    this.key.value = formatKey(KEY_PRESETS.microsoft, 'colon');
    this.preset.addEventListener('change', () => {
      const name = this.preset.value;
      if (name !== 'custom') this.key.value = formatKey(KEY_PRESETS[name as KeyPreset], 'colon');
      onChange();
    });
    this.key.addEventListener('input', () => {
      try {
        this.preset.value = presetName(parseKey(this.key.value)) ?? 'custom';
      } catch {
        this.preset.value = 'custom'; // the message comes with read()
      }
      onChange();
    });
    this.mode.addEventListener('change', () => this.showMode());
    for (const e of [this.fields, this.hfunc, this.xfrm, this.size, this.mode, this.start, this.queues, this.weights, this.dev]) {
      e.addEventListener('input', onChange);
    }
    this.map.addEventListener('mousemove', (ev) => this.hoverEntry(ev));
    this.map.addEventListener('mouseleave', () => this.describeTable());
  }

  private showMode(): void {
    byId('reta-equal-field').hidden = this.mode.value !== 'equal';
    byId('reta-weight-field').hidden = this.mode.value !== 'weight';
  }

  /** Sets the key from a preset name (the symmetry view's suggestions). */
  usePreset(name: KeyPreset): void {
    this.preset.value = name;
    this.key.value = formatKey(KEY_PRESETS[name], 'colon');
  }

  /** Fills the table `equal N` (the port pools' "one queue per core"). */
  setEqual(queues: number): void {
    this.mode.value = 'equal';
    this.queues.value = String(queues);
    this.showMode();
  }

  /** Fills the table `weight W0 W1 ...` from the first queue (the advice's Fix 1). */
  setWeights(weights: readonly number[]): void {
    this.mode.value = 'weight';
    this.weights.value = weights.join(' ');
    this.start.value = '0';
    this.showMode();
  }

  setTransform(xfrm: TransformName): void {
    this.xfrm.value = xfrm;
  }

  setFields(fields: FieldSetName): void {
    this.fields.value = fields;
  }

  get fieldSet(): FieldSetName {
    return this.fields.value as FieldSetName;
  }

  /**
   * Reads the panel. Each bad value is shown beside its field (the library's message); returns
   * undefined while any is bad.
   */
  read(): Settings | undefined {
    for (const id of ['key', 'fields', 'reta', 'dev']) showFieldError(id);
    for (const e of [this.queues, this.weights, this.start]) e.classList.remove('invalid');
    let ok = true;
    const attempt = <T>(id: string, fn: () => T, mark?: HTMLElement): T | undefined => {
      try {
        return fn();
      } catch (e) {
        if (!(e instanceof RssplaneError)) throw e;
        showFieldError(id, messageOf(e));
        mark?.classList.add('invalid');
        ok = false;
        return undefined;
      }
    };
    const key = attempt('key', () => parseKey(this.key.value));
    const table = this.readTable(attempt);
    const dev = this.dev.value.trim();
    if (!DEV_NAME.test(dev)) attempt('dev', () => invalid('device', dev, 'an interface name: 1 to 15 characters, no spaces or slashes'));
    if (key) this.describeKey(key);
    if (!ok || !key || !table) return undefined;
    const config = attempt('key', () => RssConfig.from({
      key, fields: this.fieldSet, hfunc: this.hfunc.value as HashFunctionName, xfrm: this.xfrm.value as TransformName, reta: table.reta,
    }));
    if (!config) return undefined;
    this.drawTable(table.reta);
    const spec = table.spec;
    byId('ethtool-command').textContent = formatEthtoolSet({
      dev, key: config.hfunc === 'toeplitz' ? config.key : undefined, hfunc: config.hfunc, xfrm: config.xfrm, start: spec.start,
      ...(spec.mode === 'equal' ? { equal: spec.queues } : { weights: spec.weights }),
    });
    return { config, table: spec, dev };
  }

  private readTable(attempt: <T>(id: string, fn: () => T, mark?: HTMLElement) => T | undefined): { reta: Reta; spec: TableSpec } | undefined {
    const size = Number(this.size.value);
    const start = attempt('reta', () => whole(this.start.value, 'start'), this.start);
    if (start === undefined) return undefined;
    if (this.mode.value === 'equal') {
      const queues = attempt('reta', () => whole(this.queues.value, 'queues'), this.queues);
      if (queues === undefined) return undefined;
      const reta = attempt('reta', () => Reta.equal(size, queues, start), this.queues);
      return reta && { reta, spec: { size, mode: 'equal', queues, weights: [], start } };
    }
    const weights = attempt('reta', () => this.weights.value.trim().split(/[\s,]+/).map((w) => whole(w, 'weights')), this.weights);
    if (!weights) return undefined;
    const reta = attempt('reta', () => Reta.weighted(size, weights, start), this.weights);
    return reta && { reta, spec: { size, mode: 'weight', queues: weights.length, weights, start } };
  }

  private describeKey(key: Uint8Array): void {
    const need = FIELD_SETS[this.fieldSet].inputLength + 4;
    const covers = key.length - 4;
    byId('key-info').textContent = this.hfunc.value === 'xor'
      ? `${key.length} bytes (the xor function does not use the key)`
      : `${key.length} bytes: covers ${Math.max(covers, 0)} input bytes; ${this.fieldSet} hashes ${need - 4}, so needs ${need}`;
  }

  /** The table as a grid of entries coloured by queue, row by row. */
  private drawTable(reta: Reta): void {
    this.shown = reta;
    const cols = tableColumns(reta.size);
    const rows = reta.size / cols;
    const cell = 9;
    this.map.width = cols * cell - 1;
    this.map.height = rows * cell - 1;
    const ctx = this.map.getContext('2d')!;
    ctx.clearRect(0, 0, this.map.width, this.map.height);
    const queues = reta.queues;
    for (let q = 0; q < queues; q++) {
      ctx.fillStyle = colour(q);
      for (let i = 0; i < reta.size; i++) if (reta.table[i] === q) ctx.fillRect((i % cols) * cell, Math.floor(i / cols) * cell, cell - 1, cell - 1);
    }
    this.describeTable();
  }

  private describeTable(): void {
    const reta = this.shown;
    if (!reta) return;
    byId('reta-info').textContent = `${reta.size} entries over queues 0-${reta.queues - 1}; a packet's entry is its hash's low ${Math.log2(reta.size)} bits. Hover for an entry.`;
  }

  private hoverEntry(ev: MouseEvent): void {
    const reta = this.shown;
    if (!reta) return;
    const cols = tableColumns(reta.size);
    const r = this.map.getBoundingClientRect();
    const x = Math.floor(((ev.clientX - r.left) / r.width) * cols);
    const y = Math.floor(((ev.clientY - r.top) / r.height) * (reta.size / cols));
    const i = y * cols + x;
    if (x < 0 || x >= cols || i < 0 || i >= reta.size) return;
    byId('reta-info').textContent = `entry ${i} (hash low bits ${i.toString(2).padStart(Math.log2(reta.size), '0')}) feeds queue ${reta.table[i]}`;
  }
}

/** Entries per row of the drawn table: 32 up to 256 entries, then 64 (4096 entries: 64 rows). */
const tableColumns = (size: number) => (size <= 256 ? 32 : 64);

/** A whole number >= 0 from a text field, or EINVAL naming the field. */
export function whole(text: string, subject: string): number {
  const t = text.trim();
  if (!/^[0-9]+$/.test(t)) invalid(subject, text, 'expected a whole number');
  return Number(t);
}
