/**
 * Which label ids the 2D view draws: every id but the hidden ones, or only the selected one
 * ("show selected only"). views/compose.js asks the predicate once per run of equal voxels; the
 * key tells the mosaics when to compose their label tiles again.
 * @module core/visibility
 */

/**
 * @typedef {object} LabelVisibility
 * @property {string} key changes whenever the set of drawn ids changes
 * @property {(lo: number, hi: number) => boolean} visible whether the id with these 32-bit halves
 *   is drawn (never asked for 0, which is always transparent)
 */

/**
 * The id whose 32-bit halves are `lo` and `hi`, as a decimal string.
 * @param {number} lo
 * @param {number} hi
 * @returns {string}
 */
export function idString(lo, hi) {
  if (!hi) return String(lo);
  return ((BigInt(hi) << 32n) | BigInt(lo)).toString();
}

/**
 * The visibility of label ids, or null when every id is drawn.
 * @param {object} p
 * @param {Iterable<string|number|bigint>} [p.hidden] ids not drawn
 * @param {boolean} [p.only] draw only `selected`
 * @param {string|number|bigint} [p.selected] the selected id
 * @returns {LabelVisibility|null}
 */
export function labelVisibility({ hidden = [], only = false, selected = "0" }) {
  if (only) {
    const sel = BigInt(selected).toString();
    return { key: `only:${sel}`, visible: (lo, hi) => idString(lo, hi) === sel };
  }
  const set = new Set([...hidden].map((v) => BigInt(v).toString()));
  if (!set.size) return null;
  return { key: `hide:${[...set].sort().join(",")}`, visible: (lo, hi) => !set.has(idString(lo, hi)) };
}
