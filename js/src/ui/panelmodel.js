/**
 * The label panel's model, without DOM: the label counts the kernel sends (`labels.counts`), the
 * rows the panel shows and the id the "new label" key picks.
 * @module ui/panelmodel
 */

import { labelRGBOf } from "../core/colors.js";

/** Bits per label dtype (the largest id of `dtype` is `2**bits - 1`). */
const BITS = { uint8: 8n, uint16: 16n, uint32: 32n, uint64: 64n };

/** The voxel count of every label id in use, kept from the kernel's `labels.counts` messages. */
export class LabelCounts {
  constructor() {
    /** @type {Map<string, number>} decimal id -> voxels */
    this.counts = new Map();
    this.received = false; // a full message arrived
  }

  /**
   * Take one `labels.counts` message: `full` replaces everything, else only its ids change
   * (count 0: no longer in use).
   * @param {{labels: string[], counts: number[], full: boolean}} msg
   */
  apply(msg) {
    if (msg.full) {
      this.counts.clear();
      this.received = true;
    }
    msg.labels.forEach((id, i) => {
      const n = msg.counts[i];
      if (n > 0) this.counts.set(id, n);
      else this.counts.delete(id);
    });
  }

  /** @returns {bigint} the largest id in use (0n when none) */
  maxId() {
    let max = 0n;
    for (const id of this.counts.keys()) {
      const v = BigInt(id);
      if (v > max) max = v;
    }
    return max;
  }

  /**
   * The "new label": one more than the largest id in use.
   * @param {string} dtype label dtype
   * @returns {string}
   * @throws {RangeError} when the largest id is the dtype's maximum
   */
  nextId(dtype) {
    const max = (1n << (BITS[dtype] ?? 64n)) - 1n;
    const next = this.maxId() + 1n;
    if (next > max) throw new RangeError(`no new label: ${max} (the ${dtype} maximum) is in use`);
    return next.toString();
  }
}

/**
 * Numeric order of decimal ids (no leading zeros): shorter first, else by characters; no BigInt,
 * so sorting 100,000 ids stays cheap.
 * @param {string} a
 * @param {string} b
 * @returns {number}
 */
export function byId(a, b) {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/**
 * The `k` smallest ids, ascending, without sorting them all (a panel shows a few hundred rows of
 * maybe 100,000 ids in use): a bounded sorted insertion, O(n) for ids in random order.
 * @param {Iterable<string>} ids
 * @param {number} k
 * @returns {string[]}
 */
export function smallest(ids, k) {
  const top = [];
  if (k <= 0) return top;
  for (const id of ids) {
    if (top.length === k && byId(id, top[k - 1]) >= 0) continue;
    let lo = 0;
    let hi = top.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (byId(top[mid], id) < 0) lo = mid + 1;
      else hi = mid;
    }
    top.splice(lo, 0, id);
    if (top.length > k) top.pop();
  }
  return top;
}

/**
 * @typedef {object} PanelRow
 * @property {string} id decimal label id
 * @property {string} name its name from `label_names` ("" without)
 * @property {number} count voxels (0: the selected id, not in use yet)
 * @property {string} colour CSS colour of its swatch
 * @property {boolean} selected it is `label`
 * @property {boolean} visible it is drawn (not hidden, and selected when only the selected shows)
 */

/**
 * The panel's rows: every id in use, ascending, plus the selected id when not in use (count 0).
 * @param {object} p
 * @param {Map<string, number>} p.counts
 * @param {Record<string, string>} [p.names] `label_names` (keys decimal ids)
 * @param {string} p.selected the `label` trait
 * @param {Iterable<string>} [p.hidden] `hidden_labels`
 * @param {boolean} [p.only] `show_selected_only`
 * @param {number} [p.limit] rows shown at most (the selected one always is)
 * @returns {{rows: PanelRow[], more: number}} `more`: ids in use not shown
 */
export function panelRows({ counts, names = {}, selected, hidden = [], only = false, limit = 200 }) {
  const sel = BigInt(selected).toString();
  const hide = new Set([...hidden].map(String));
  const extra = sel !== "0" && !counts.has(sel); // the selected id, not in use yet
  const total = counts.size + (extra ? 1 : 0);
  const shown = smallest(counts.keys(), limit);
  if (extra) {
    shown.push(sel);
    shown.sort(byId);
    if (shown.length > limit) shown.pop();
  }
  if (sel !== "0" && shown.length && !shown.includes(sel)) shown[shown.length - 1] = sel; // always shown
  const rows = shown.map((id) => {
    const rgb = labelRGBOf(id) ?? [0, 0, 0];
    return {
      id,
      name: names[id] ?? "",
      count: counts.get(id) ?? 0,
      colour: `rgb(${rgb[0]}, ${rgb[1]}, ${rgb[2]})`,
      selected: id === sel,
      visible: only ? id === sel : !hide.has(id),
    };
  });
  return { rows, more: total - shown.length };
}
