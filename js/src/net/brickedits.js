/**
 * The 3D view's bricks in the edit pipeline: a member of the edit queue's client group
 * (net/clientgroup.js) over the 3D panel's brick client (net/bricks.js), so a stroke shows in 3D
 * from the local (optimistic) edit at once, as in the slice views, instead of one round trip
 * later (ack, `chunks.changed`, refetch).
 *
 * - painting writes the voxels into the cached level-0 label bricks of their chunk (the queue asks
 *   `cache.ofChunk` of every member; a brick is a tile with `axis = -1`, net/editqueue.js
 *   `writeVoxels` handles it) and bumps their `rev`, which makes the 3D view upload them again;
 * - a brick arriving while batches for its chunk are pending gets their voxels re-applied
 *   (the brick client calls `overlay.reapply`), so a reply older than the stroke never hides it;
 * - on the ack the bricks move to the new version (they hold the change already), as tiles do;
 * - on a reject (`markDirty`) the chunk's bricks are fetched again whole (`known` = none), which
 *   reverts the optimistic paint in 3D.
 *
 * Only level 0 is painted: coarser bricks (label modes) change when the kernel's change notice
 * for their level arrives, as before.
 * @module net/brickedits
 */

/** See the module doc. */
export class BrickEdits {
  /** @param {import("./bricks.js").BrickClient} bricks */
  constructor(bricks) {
    this.bricks = bricks;
    this.level = 0; // the level edits are painted at
  }

  /** The brick cache (`ofChunk` is what the edit queue uses). */
  get cache() {
    return this.bricks.cache;
  }

  /** The edit queue's hooks (re-apply pending voxels, own batch ids), installed on the bricks. */
  get overlay() {
    return this.bricks.overlay;
  }

  set overlay(hooks) {
    this.bricks.overlay = hooks;
  }

  /**
   * The newest version of a chunk the brick client knows of (-1: none).
   * @param {string} layer
   * @param {string} ks
   * @param {number} [level]
   * @returns {number}
   */
  chunkVersion(layer, ks, level = this.level) {
    return this.bricks.versions.get(`${layer}/${level}/${ks}`) ?? -1;
  }

  /**
   * The kernel's chunk is now at `version` (an ack when `own`): bricks one version behind that
   * hold the change already move to it, other older ones and dirty ones become stale (fetched
   * again while the 3D view wants them).
   * @param {string} layer
   * @param {string} ks
   * @param {number} version
   * @param {boolean} own
   * @param {number} [level]
   * @returns {boolean} whether a brick became stale
   */
  noteVersion(layer, ks, version, own, level = this.level) {
    const ck = `${layer}/${level}/${ks}`;
    const versions = this.bricks.versions;
    if (version > (versions.get(ck) ?? -1)) versions.set(ck, version);
    let stale = false;
    for (const t of this.bricks.cache.ofChunk(layer, level, ks)) {
      if (t.axis !== -1) continue;
      if (t.dirty) {
        t.stale = true; // re-applied onto newer data: the queue wants it fetched again
        stale = true;
        continue;
      }
      if (t.version >= version) continue;
      if (own && level === this.level && t.version === version - 1) t.version = version;
      else {
        t.stale = true;
        stale = true;
      }
    }
    return stale;
  }

  /**
   * Fetch a chunk's level-0 bricks again whole: their data holds voxels the kernel never applied.
   * @param {string} layer
   * @param {string} ks
   */
  markDirty(layer, ks) {
    for (const t of this.bricks.cache.ofChunk(layer, this.level, ks)) {
      if (t.axis !== -1) continue;
      t.dirty = true;
      t.stale = true;
    }
  }

  /** Ask for what became stale (if the 3D view wants it) and redraw. */
  refresh() {
    this.bricks.pump();
    this.bricks.onUpdate();
  }
}
