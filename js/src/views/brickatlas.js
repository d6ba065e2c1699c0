/**
 * The GPU side of the 3D view's bricks: two atlas textures (image, labels) with one fixed slot per
 * resident brick, the page table that maps each level's brick keys to slots, and the slot LRU
 * within the GPU budget (views/brickslots.js).
 *
 * Why atlases with a page table (and not one texture or one draw per brick): one draw call over
 * one proxy box composites every brick in a single front-to-back march (MIP, composite and labels
 * exactly, no ordering of per-brick boxes), a coarser brick shows where a finer one is missing by
 * a page-table fallback in the shader, and the memory is a few textures (`texStorage3D`, sized to
 * what the view needs within the budget, see `reserve`) updated per brick with `texSubImage3D` — which SwiftShader, headless
 * Chromium's software WebGL2, handles as well as a GPU does. Texture formats: image `R8` (uint8,
 * value / 255 in the shader) or `R32F` (other dtypes, raw values); labels `R8UI`/`R16UI`/`R32UI`,
 * uint64 as `RG32UI` (low, high 32 bits: the same bytes, viewed as uint32 pairs). All sampling is
 * `texelFetch` (nearest voxel).
 * @module views/brickatlas
 */

import * as THREE from "three";
import { gridShape } from "../core/grid.js";
import { atlasLayout, BrickSlots, growSlots, slotCount } from "./brickslots.js";
import { MAX_LEVELS } from "./raymarch.js";

/** The page entry of an all-zero brick (no slot; the shader skips it). */
export const EMPTY = 0xffffffff;
/**
 * A page entry's bit for a brick whose labels are all zero (their slot's label texels are not
 * uploaded and the shader does not read them: one texture fetch less per sample).
 */
export const NO_LABELS = 0x40000000;

const LABEL_FORMATS = {
  uint8: { format: THREE.RedIntegerFormat, type: THREE.UnsignedByteType, internal: "R8UI", bytes: 1 },
  uint16: { format: THREE.RedIntegerFormat, type: THREE.UnsignedShortType, internal: "R16UI", bytes: 2 },
  uint32: { format: THREE.RedIntegerFormat, type: THREE.UnsignedIntType, internal: "R32UI", bytes: 4 },
  uint64: { format: THREE.RGIntegerFormat, type: THREE.UnsignedIntType, internal: "RG32UI", bytes: 8 },
};

function texture3D(data, size, fmt) {
  const t = new THREE.Data3DTexture(data, size[0], size[1], size[2]);
  t.format = fmt.format;
  t.type = fmt.type;
  t.internalFormat = fmt.internal;
  t.minFilter = THREE.NearestFilter;
  t.magFilter = THREE.NearestFilter;
  t.generateMipmaps = false;
  t.unpackAlignment = 1;
  t.needsUpdate = true;
  return t;
}

/** See the module doc. */
export class BrickAtlas {
  /**
   * @param {object} p
   * @param {THREE.WebGLRenderer} p.renderer
   * @param {{shape: number[], downsample: number[]}[]} p.levels finest first
   * @param {number[]} p.chunks [z, y, x]
   * @param {string} p.imageDtype
   * @param {string} p.labelDtype
   * @param {number} p.budgetBytes GPU bytes the atlases may hold
   */
  constructor({ renderer, levels, chunks, imageDtype, labelDtype, budgetBytes }) {
    this.renderer = renderer;
    this.levels = levels.slice(0, MAX_LEVELS);
    this.chunks = chunks;
    this.brick = [chunks[2], chunks[1], chunks[0]]; // texels (x, y, z)
    const voxels = chunks[0] * chunks[1] * chunks[2];
    this.imageFmt =
      imageDtype === "uint8"
        ? { format: THREE.RedFormat, type: THREE.UnsignedByteType, internal: "R8", bytes: 1 }
        : { format: THREE.RedFormat, type: THREE.FloatType, internal: "R32F", bytes: 4 };
    this.imageDtype = imageDtype;
    this.labelFmt = LABEL_FORMATS[labelDtype] ?? LABEL_FORMATS.uint32;
    this.labelDtype = labelDtype;
    this.slotBytes = voxels * (this.imageFmt.bytes + this.labelFmt.bytes);
    this.grids = this.levels.map((lv) => gridShape(lv.shape, chunks));
    const total = this.grids.reduce((n, g) => n + g[0] * g[1] * g[2], 0);
    const gl = renderer.getContext();
    const max3D = Math.min(2048, gl.getParameter(gl.MAX_3D_TEXTURE_SIZE) || 256);
    const pageBytes =
      4 * this.grids.reduce((n, g) => n + g[0], 0) * Math.max(...this.grids.map((g) => g[1] * g[2]));
    /** Slots the budget holds (bounded by the volume's bricks): the atlas grows up to this. */
    const budgetSlots = slotCount(budgetBytes - pageBytes, this.slotBytes, total);
    this.capacity = atlasLayout(budgetSlots, this.brick, max3D).count; // (what a layout holds)
    this.max3D = max3D;
    this.layout = null;
    this.slots = new BrickSlots(0);
    this.image = null;
    this.labels = null;
    // page table: the levels' brick grids (x, y) side by side in z
    this.pageZ = [];
    let z = 0;
    let px = 1;
    let py = 1;
    for (const g of this.grids) {
      this.pageZ.push(z);
      z += g[0];
      py = Math.max(py, g[1]);
      px = Math.max(px, g[2]);
    }
    this.pageSize = [px, py, Math.max(1, z)];
    this.page = new Uint32Array(px * py * Math.max(1, z));
    this.pageTex = texture3D(this.page, this.pageSize, {
      format: THREE.RedIntegerFormat,
      type: THREE.UnsignedIntType,
      internal: "R32UI",
    });
    /** @type {Map<string, {level: number, key: number[], imageGen: number, labelGen: number}>} */
    this.resident = new Map();
    this.uploads = 0;
    this.grows = 0; // allocations (see reserve)
  }

  /**
   * Allocate (or grow) the atlas textures to hold at least `n` slots, within the budget's capacity:
   * to what the plan needs (at least 1.5 times the slots held, so growth is rare), not the whole
   * budget at once — allocating and clearing texture memory takes the GPU (in software WebGL, the
   * CPU) time. Growing drops every resident brick (the page table is cleared): their bricks are
   * uploaded again from the brick client's memory.
   * @param {number} n
   * @returns {boolean} whether the textures changed
   */
  reserve(n) {
    const have = this.slots.count;
    let want = growSlots(have, n, this.capacity);
    if (want <= have) return false;
    let layout = atlasLayout(want, this.brick, this.max3D);
    while (layout.count <= have && want < this.capacity) layout = atlasLayout(++want, this.brick, this.max3D);
    if (layout.count <= have) return false;
    this.image?.dispose();
    this.labels?.dispose();
    this.layout = layout;
    this.slots = new BrickSlots(layout.count);
    this.image = texture3D(null, layout.size, this.imageFmt);
    this.image.source.dataReady = false; // storage only: bricks come with texSubImage3D
    this.labels = texture3D(null, layout.size, this.labelFmt);
    this.labels.source.dataReady = false;
    this.resident.clear();
    this.page.fill(0);
    this.pageTex.needsUpdate = true;
    this.grows++;
    return true;
  }

  /** @returns {number} GPU bytes the atlases hold */
  get bytes() {
    if (!this.layout) return this.page.byteLength;
    const [x, y, z] = this.layout.size;
    return x * y * z * (this.imageFmt.bytes + this.labelFmt.bytes) + this.page.byteLength;
  }

  pageIndex(level, key) {
    const [px, py] = this.pageSize;
    return ((key[0] + this.pageZ[level]) * py + key[1]) * px + key[2];
  }

  /** @returns {number} the finest level with a resident brick (the coarsest level when none) */
  finestResident() {
    let m = this.levels.length - 1;
    for (const r of this.resident.values()) m = Math.min(m, r.level);
    return m;
  }

  /**
   * Make brick `id` resident with the layers' current data (uploading only what changed).
   * @param {string} id
   * @param {number} frame
   * @param {object} image the image tile (whole chunk)
   * @param {object} labels the label tile
   * @returns {boolean} false when no slot is free this frame
   */
  put(id, frame, image, labels) {
    if (image.level >= this.levels.length) return false;
    if (image.zero && labels.zero && !labels.rev) return this.putEmpty(id, image, labels);
    const got = this.slots.acquire(id, frame);
    if (!got) return false;
    const was = this.resident.get(id);
    if (was && was.slot < 0) this.resident.delete(id); // it was empty: upload into the new slot
    if (got.evicted) this.drop(got.evicted, false);
    const r = this.resident.get(id);
    const fresh = !r || r.slot !== got.slot;
    if (fresh || r.imageGen !== image.gen) this.upload(this.image, got.slot, image, this.imageData(image));
    // all-zero labels are not uploaded: the page entry's NO_LABELS bit tells the shader
    const noLabels = !!labels.zero && !labels.rev;
    if ((fresh || r.labelGen !== labels.gen || r.labelRev !== labels.rev) && !noLabels)
      this.upload(this.labels, got.slot, labels, this.labelData(labels));
    this.resident.set(id, {
      level: image.level,
      key: image.key,
      slot: got.slot,
      labelled: !noLabels,
      imageGen: image.gen,
      labelGen: labels.gen,
      labelRev: labels.rev, // painted locally (net/brickedits.js): uploaded again
    });
    const i = this.pageIndex(image.level, image.key);
    const entry = (got.slot + 1) | (noLabels ? NO_LABELS : 0);
    if (this.page[i] !== entry >>> 0) {
      this.page[i] = entry >>> 0;
      this.pageTex.needsUpdate = true;
    }
    return true;
  }

  /**
   * An all-zero brick (image and labels): no slot, its page entry says "empty" (EMPTY), so the
   * shader skips it in one step and sparse volumes cost GPU memory only where they hold data.
   */
  putEmpty(id, image, labels) {
    const r = this.resident.get(id);
    if (r && r.slot >= 0) this.slots.release(id);
    this.resident.set(id, {
      level: image.level,
      key: image.key,
      slot: -1,
      imageGen: image.gen,
      labelGen: labels.gen,
      labelRev: labels.rev,
    });
    const i = this.pageIndex(image.level, image.key);
    if (this.page[i] !== EMPTY) {
      this.page[i] = EMPTY;
      this.pageTex.needsUpdate = true;
    }
    return true;
  }

  /** @returns {{labelled: number, empty: number}} resident bricks holding labels, and all-zero ones */
  holds() {
    let labelled = 0;
    let empty = 0;
    for (const r of this.resident.values()) {
      if (r.slot < 0) empty++;
      else if (r.labelled) labelled++;
    }
    return { labelled, empty };
  }

  /** @returns {boolean} whether brick `id` is resident with these generations (and label revs) of its layers */
  current(id, image, labels) {
    const r = this.resident.get(id);
    return !!r && r.imageGen === image.gen && r.labelGen === labels.gen && r.labelRev === labels.rev;
  }

  /** Forget a resident brick (its slot is free, or was taken over when `release` is false). */
  drop(id, release = true) {
    const r = this.resident.get(id);
    if (!r) return;
    this.resident.delete(id);
    if (release && r.slot >= 0) this.slots.release(id);
    const i = this.pageIndex(r.level, r.key);
    this.page[i] = 0;
    this.pageTex.needsUpdate = true;
  }

  imageData(tile) {
    const d = tile.data;
    if (this.imageFmt.internal === "R8" && d instanceof Uint8Array) return d;
    if (d instanceof Float32Array) return d;
    const out = new Float32Array(d.length);
    for (let i = 0; i < d.length; i++) out[i] = Number(d[i]);
    return out;
  }

  labelData(tile) {
    const d = tile.data;
    if (this.labelFmt.internal === "RG32UI") return new Uint32Array(d.buffer, d.byteOffset, d.length * 2);
    return d;
  }

  /** texSubImage3D of one brick into its slot (edge bricks are smaller than a slot). */
  upload(tex, slot, tile, data) {
    const [sx, sy] = this.layout.slots;
    const pos = new THREE.Vector3(
      (slot % sx) * this.brick[0],
      (Math.floor(slot / sx) % sy) * this.brick[1],
      Math.floor(slot / (sx * sy)) * this.brick[2],
    );
    const [dz, dy, dx] = tile.shape;
    const fmt = tex === this.image ? this.imageFmt : this.labelFmt;
    const src = texture3D(data, [dx, dy, dz], fmt);
    this.renderer.copyTextureToTexture(src, tex, null, pos);
    this.uploads++;
  }

  /** Uniform values describing the atlas to the shader (views/raymarch.js). */
  uniforms() {
    const pad = (arr, fill) => {
      const out = arr.slice(0, MAX_LEVELS);
      while (out.length < MAX_LEVELS) out.push(fill);
      return out;
    };
    const v3 = (a) => new THREE.Vector3(a[2], a[1], a[0]);
    return {
      uNLevels: this.levels.length,
      uDown: pad(
        this.levels.map((l) => v3(l.downsample)),
        new THREE.Vector3(1, 1, 1),
      ),
      uLevelShape: pad(
        this.levels.map((l) => v3(l.shape)),
        new THREE.Vector3(1, 1, 1),
      ),
      uPageZ: pad(this.pageZ, 0),
      uChunk: v3(this.chunks),
      uSlots: new THREE.Vector3(...(this.layout?.slots ?? [1, 1, 1])),
      uLabels64: this.labelFmt.internal === "RG32UI",
    };
  }

  dispose() {
    this.image?.dispose();
    this.labels?.dispose();
    this.pageTex.dispose();
  }
}
