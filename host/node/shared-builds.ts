/**
 * The shared-memory engine builds, for the runner's threads (the library's bundle leaves them out:
 * browsers cannot use them without cross-origin isolation). Importing this module registers them.
 */
import sharedBaselineWasm from '../../build/rssplane.shared.wasm';
import sharedRelaxedWasm from '../../build/rssplane.shared.relaxed.wasm';
import { registerSharedBuilds } from '../core/engine.js';

registerSharedBuilds({ 'simd': sharedBaselineWasm, 'relaxed-simd': sharedRelaxedWasm });
