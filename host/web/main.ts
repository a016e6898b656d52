/**
 * The visualizer page: one RssConfig from the settings panel, four views of what it does. Every
 * number on the page comes from the same WebAssembly engine and host/core library as the rssplane
 * command; the page only reads inputs and draws.
 */
import { Engine } from '../core/engine.js';
import type { RssplaneError } from '../core/errors.js';
import { FIELD_SETS, type FieldSetName } from '../core/fields.js';
import { formatKey } from '../core/key.js';
import { RssHasher, type RssConfig } from '../core/rss.js';
import { DistributionView } from './distribution.js';
import { byId, guard, showFatal, showFieldError } from './dom.js';
import { FlowPanel } from './flow.js';
import { PoolsView } from './pools.js';
import { SettingsPanel } from './settings.js';
import { SymmetryView } from './symmetry.js';
import { ToeplitzView } from './toeplitz.js';

type Tab = 'toeplitz' | 'symmetry' | 'distribution' | 'pools';
const TABS: Tab[] = ['toeplitz', 'symmetry', 'distribution', 'pools'];

/** Where a library error about a value is shown, by its subject. */
const FIELD_OF_SUBJECT: Record<string, string> = {
  'key': 'key', 'field set': 'fields', 'source address': 'src', 'destination address': 'dst',
  'source port': 'sport', 'destination port': 'dport', 'capture': 'capture',
};

class App {
  private tab: Tab = 'toeplitz';
  private readonly dirty = new Set<Tab>(TABS);
  private pending = false;
  private hasher: RssHasher | undefined;
  private hasherConfig = '';
  private readonly settings: SettingsPanel;
  private readonly flow: FlowPanel;
  private readonly toeplitz = new ToeplitzView();
  private readonly symmetry: SymmetryView;
  private readonly distribution: DistributionView;
  private readonly pools: PoolsView;

  constructor(private readonly hashEngine: Engine, distributionEngine: Engine, poolEngine: Engine) {
    const changed = () => this.changed();
    this.settings = new SettingsPanel(changed);
    this.flow = new FlowPanel(changed, (family) => {
      const ports = FIELD_SETS[this.settings.fieldSet].ports;
      this.settings.setFields(`ipv${family}${ports ? '-l4' : ''}` as FieldSetName);
    });
    // A published vector follows the field set to the other family (the panel leaves typed flows alone).
    this.settings.fields.addEventListener('input', () => this.flow.followFamily(FIELD_SETS[this.settings.fieldSet].family));
    this.symmetry = new SymmetryView({
      useSymmetricKey: () => {
        this.settings.usePreset('symmetric');
        this.changed();
      },
      useSymmetricXor: () => {
        this.settings.setTransform('symmetric-xor');
        this.changed();
      },
    });
    this.distribution = new DistributionView(distributionEngine, changed, (weights) => {
      this.settings.setWeights(weights);
      this.changed();
    });
    this.pools = new PoolsView(poolEngine, changed, (queues) => {
      this.settings.setEqual(queues);
      this.changed();
    });
    for (const t of TABS) byId(`tab-${t}`).addEventListener('click', () => this.show(t));
    byId('copy-ethtool').addEventListener('click', () => this.copyCommand());
  }

  private show(tab: Tab): void {
    this.tab = tab;
    for (const t of TABS) {
      byId(`tab-${t}`).setAttribute('aria-selected', String(t === tab));
      byId(`view-${t}`).hidden = t !== tab;
    }
    byId('flow').hidden = tab !== 'toeplitz' && tab !== 'symmetry';
    this.schedule();
  }

  /** Something changed: every view is out of date; the visible one is redrawn next frame. */
  changed(): void {
    for (const t of TABS) this.dirty.add(t);
    this.schedule();
  }

  private schedule(): void {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      guard(() => this.update(), (e) => this.inputError(e));
    });
  }

  private async update(): Promise<void> {
    const tab = this.tab;
    const settings = this.settings.read();
    // The flow's own mistakes show even while a setting is bad (the field set is always valid).
    const tuple = tab === 'toeplitz' || tab === 'symmetry' ? this.flow.read(this.settings.fieldSet) : undefined;
    const view = byId(`view-${tab}`);
    byId('ethtool-command').classList.toggle('stale', !settings);
    if (!settings || (!tuple && (tab === 'toeplitz' || tab === 'symmetry'))) {
      view.classList.add('stale'); // the last results stay, faded, until the inputs are fixed
      return;
    }
    if (!this.dirty.has(tab)) return;
    this.dirty.delete(tab);
    view.classList.remove('stale');
    if (tab === 'distribution') return this.distribution.render(settings);
    if (tab === 'pools') return this.pools.render(settings);
    if (!tuple) return;
    const rss = await this.hasherFor(settings.config);
    if (tab === 'toeplitz') this.toeplitz.render(settings, tuple, rss);
    else this.symmetry.render(settings, tuple, rss);
  }

  /** One hasher per distinct config, on the page's hashing engine. */
  private async hasherFor(config: RssConfig): Promise<RssHasher> {
    const id = [formatKey(config.key), config.fields, config.hfunc, config.xfrm, config.reta?.table.join(',')].join('|');
    if (!this.hasher || id !== this.hasherConfig) {
      this.hasher = await RssHasher.create(config, this.hashEngine);
      this.hasherConfig = id;
    }
    return this.hasher;
  }

  /** A bad value found while drawing: shown beside its field when there is one, else at the top. */
  private inputError(e: RssplaneError): void {
    const field = FIELD_OF_SUBJECT[e.subject ?? ''];
    if (field) showFieldError(field, e.message);
    else showFatal(e);
    this.dirty.add(this.tab); // draw again once the value is fixed
  }

  private copyCommand(): void {
    const text = byId('ethtool-command').textContent ?? '';
    navigator.clipboard.writeText(text).then(
      () => (byId('copy-ethtool').textContent = 'Copied'),
      () => (byId('copy-ethtool').textContent = 'Select and copy'),
    );
    setTimeout(() => (byId('copy-ethtool').textContent = 'Copy'), 1500);
  }
}

async function start(): Promise<void> {
  // The page never goes blank and never throws to the console: failures become a message.
  window.addEventListener('error', (e) => {
    e.preventDefault();
    showFatal(e.error ?? e.message);
  });
  window.addEventListener('unhandledrejection', (e) => {
    e.preventDefault();
    showFatal(e.reason);
  });
  // A file dropped outside the drop zone would make the browser open it in place of the page.
  window.addEventListener('dragover', (e) => e.preventDefault());
  window.addEventListener('drop', (e) => e.preventDefault());

  const [hashing, distribution, pools] = await Promise.all([Engine.create(), Engine.create(), Engine.create()]);
  byId('engine-status').textContent = `WebAssembly engine: ${hashing.kernel} kernel`;
  new App(hashing, distribution, pools).changed();
  document.body.dataset.ready = 'true';
}

start().catch(showFatal);
