/**
 * The GPU brick budget: a fixed number of atlas slots (as many bricks as `gpu_budget_mb` holds,
 * and no more than the volume has), handed out least recently used first. A brick drawn this frame
 * is never evicted for another one of the same frame: when every slot is in use, the brick waits
 * (the plan asks for at most as many bricks as there are slots, core/bricks.js).
 * @module views/brickslots
 */

/**
 * How many slots of `slotBytes` fit `budgetBytes`, bounded by `maxSlots`.
 * @param {number} budgetBytes
 * @param {number} slotBytes
 * @param {number} maxSlots
 * @returns {number}
 */
export function slotCount(budgetBytes, slotBytes, maxSlots) {
  return Math.max(1, Math.min(maxSlots, Math.floor(budgetBytes / Math.max(1, slotBytes))));
}

/**
 * How many slots an atlas holding `have` should grow to when the view needs `need`: none (`have`)
 * while it holds what is needed (or the whole capacity), else what is needed and at least 1.5
 * times what it holds (growth reallocates, so it should be rare), never more than `capacity` (the
 * slots `gpu_budget_mb` pays for).
 * @param {number} have
 * @param {number} need
 * @param {number} capacity
 * @returns {number}
 */
export function growSlots(have, need, capacity) {
  const cap = Math.max(1, capacity);
  const n = Math.max(1, need);
  if (have >= Math.min(n, cap)) return have;
  return Math.min(cap, Math.max(n, Math.ceil(have * 1.5)));
}

/**
 * Lay at most `n` slots of a brick shape out in a 3D atlas within `maxSize` texels per side, using
 * every slot the atlas holds (its memory is what the budget pays for).
 * @param {number} n
 * @param {number[]} brick (x, y, z) texels
 * @param {number} maxSize
 * @returns {{slots: number[], size: number[], count: number}} slots per axis (x, y, z), the atlas
 *   size in texels and its slot count (≤ n, all of the atlas)
 */
export function atlasLayout(n, brick, maxSize) {
  const cap = brick.map((b) => Math.max(1, Math.floor(maxSize / b)));
  const grow = (want) => {
    const slots = [1, 1, 1];
    while (slots[0] * slots[1] * slots[2] < want) {
      // grow the axis whose atlas side is shortest and can still grow
      let best = -1;
      for (let a = 0; a < 3; a++) {
        if (slots[a] >= cap[a]) continue;
        if (best < 0 || slots[a] * brick[a] < slots[best] * brick[best]) best = a;
      }
      if (best < 0) break;
      slots[best]++;
    }
    return slots;
  };
  let want = Math.max(1, n);
  let slots = grow(want);
  while (want > 1 && slots[0] * slots[1] * slots[2] > n) slots = grow(--want); // no slot over budget
  return { slots, size: slots.map((s, a) => s * brick[a]), count: slots[0] * slots[1] * slots[2] };
}

/** Slots by least recent use (see the module doc). */
export class BrickSlots {
  /** @param {number} count */
  constructor(count) {
    this.count = count;
    /** @type {Map<string, {slot: number, frame: number}>} brick id -> slot; insertion order = LRU */
    this.used = new Map();
    this.free = [];
    for (let i = count - 1; i >= 0; i--) this.free.push(i);
  }

  /** @returns {number|undefined} the slot of a resident brick */
  slotOf(id) {
    return this.used.get(id)?.slot;
  }

  /** Mark a resident brick used in `frame` (most recently used). */
  touch(id, frame) {
    const e = this.used.get(id);
    if (!e) return;
    e.frame = frame;
    this.used.delete(id);
    this.used.set(id, e);
  }

  /**
   * A slot for brick `id` used in `frame`: its own, a free one, or the least recently used one of
   * a brick not used in this frame (evicted).
   * @param {string} id
   * @param {number} frame
   * @returns {{slot: number, evicted: string|null}|null} null when every slot is used this frame
   */
  acquire(id, frame) {
    const own = this.used.get(id);
    if (own) {
      this.touch(id, frame);
      return { slot: own.slot, evicted: null };
    }
    let slot;
    let evicted = null;
    if (this.free.length) slot = this.free.pop();
    else {
      for (const [oid, e] of this.used) {
        if (e.frame === frame) return null; // LRU order: every later one is used this frame too
        evicted = oid;
        slot = e.slot;
        break;
      }
      if (evicted === null) return null;
      this.used.delete(evicted);
    }
    this.used.set(id, { slot, frame });
    return { slot, evicted };
  }

  /** Give a brick's slot back. */
  release(id) {
    const e = this.used.get(id);
    if (!e) return;
    this.used.delete(id);
    this.free.push(e.slot);
  }

  /** @returns {number} resident bricks */
  get size() {
    return this.used.size;
  }
}
