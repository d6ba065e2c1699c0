/**
 * The memory LRU of decoded tiles, with a per-chunk index (the edit overlay and version notices
 * find every cached tile of a chunk, whatever its plane).
 *
 * A tile is one chunk cut by a plane (`axis`, `index`) or a whole chunk (`axis = -1`), holding
 * `data` (a typed array of its dtype, little-endian, C order) at `version`. Cache entries are
 * plain objects:
 * `{id, layer, level, axis, index, key, ks, version, shape, dtype, data, bytes, rev, stale, dirty, overlaid,
 * zero}`, made by net/tiles.js `makeTile` (3D bricks also carry `gen`, net/bricks.js):
 * - `zero`: the kernel sent it as all zero (its `data` is made when first used);
 * - `rev` counts in-place writes (optimistic paint), so renderers know to recompose;
 * - `stale`: the kernel has a newer version; refetch with `known = version`;
 * - `dirty`: the data holds voxels that never reached the kernel (a rejected batch); refetch whole.
 * @module store/tilecache
 */

/**
 * The cache id of a tile.
 * @param {string} layer
 * @param {number} level
 * @param {number} axis plane axis or -1 for a whole chunk
 * @param {number} index plane index or -1
 * @param {string} ks chunk key string
 * @returns {string}
 */
export function tileId(layer, level, axis, index, ks) {
  return `${layer}/${level}/${axis}/${index}/${ks}`;
}

/** Memory LRU of decoded tiles with a per-chunk index. */
export class TileCache {
  /** @param {number} [budget] bytes of tile data to keep */
  constructor(budget = 256 * 2 ** 20) {
    this.budget = budget;
    this.bytes = 0;
    /** @type {Map<string, object>} insertion order = LRU order */
    this.tiles = new Map();
    /** @type {Map<string, Set<string>>} "layer/level/ks" -> tile ids */
    this.byChunk = new Map();
    /** Tiles removed so far (evicted or replaced): a plane found complete may not be any more. */
    this.removals = 0;
  }

  /** @returns {object|undefined} the tile (without touching its LRU position) */
  peek(id) {
    return this.tiles.get(id);
  }

  /** @returns {object|undefined} the tile, marked most recently used */
  get(id) {
    const t = this.tiles.get(id);
    if (t) {
      this.tiles.delete(id);
      this.tiles.set(id, t);
    }
    return t;
  }

  /**
   * Insert or replace a tile (it becomes most recently used).
   * @param {object} tile with at least id, layer, level, ks, data
   */
  set(tile) {
    const old = this.tiles.get(tile.id);
    if (old) this.delete(tile.id);
    tile.bytes = tile.nbytes ?? (tile.data ? tile.data.byteLength : 0);
    this.tiles.set(tile.id, tile);
    this.bytes += tile.bytes;
    const ck = `${tile.layer}/${tile.level}/${tile.ks}`;
    let s = this.byChunk.get(ck);
    if (!s) {
      s = new Set();
      this.byChunk.set(ck, s);
    }
    s.add(tile.id);
  }

  /** Remove a tile. */
  delete(id) {
    const t = this.tiles.get(id);
    if (!t) return;
    this.tiles.delete(id);
    this.removals++;
    this.bytes -= t.bytes;
    const ck = `${t.layer}/${t.level}/${t.ks}`;
    const s = this.byChunk.get(ck);
    if (s) {
      s.delete(id);
      if (!s.size) this.byChunk.delete(ck);
    }
  }

  /**
   * The cached tiles of one chunk (any plane).
   * @param {string} layer
   * @param {number} level
   * @param {string} ks
   * @returns {object[]}
   */
  ofChunk(layer, level, ks) {
    const s = this.byChunk.get(`${layer}/${level}/${ks}`);
    if (!s) return [];
    const out = [];
    for (const id of s) out.push(this.tiles.get(id));
    return out;
  }

  /**
   * Drop least recently used tiles until within budget, sparing the ids in `keep`.
   * @param {Set<string>} [keep]
   */
  evict(keep = new Set()) {
    if (this.bytes <= this.budget) return;
    for (const id of [...this.tiles.keys()]) {
      if (this.bytes <= this.budget) break;
      if (!keep.has(id)) this.delete(id);
    }
  }
}
