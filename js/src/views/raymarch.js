/**
 * The 3D view's ray-marching shader (GLSL ES 3.00, three.js `ShaderMaterial` with `GLSL3`).
 *
 * One proxy box covers the volume; each fragment of its back faces marches its ray through the
 * volume in level-0 voxel coordinates. Bricks live in two atlases (views/brickatlas.js): an image
 * atlas (`R8` for uint8, else `R32F`) and a label atlas (`R8UI`/`R16UI`/`R32UI`, or `RG32UI` for
 * uint64: low and high 32 bits), one fixed slot per resident brick. A page table (`R32UI`, the
 * levels' brick grids stacked along z) maps a level's brick key to its slot + 1 (0: not resident;
 * bit 30 set: the brick's labels are all zero and are not read).
 * Per sample the shader takes the finest resident level from `uMinLevel` on: a coarser brick
 * shows wherever the finer one has not arrived.
 *
 * Modes: MIP (maximum intensity along the ray) and composite (front-to-back emission-absorption,
 * grey transfer function from the contrast limits). Labels are composited front to back in the
 * same pass, in the 2D view's hashed colours (core/colors.js: fmix32 of the id's halves; 0 is
 * transparent) with `uOpacity` per length of the smallest level-0 voxel side crossed (so an
 * anisotropic volume is as opaque along each axis); MIP shows them over the maximum. Hidden
 * ids (`hidden_labels`, any number) are found by binary search in a sorted id texture
 * (views/hiddenlabels.js), once per change of the label along the ray.
 *
 * Two defines leave out what no resident brick needs (shaderDefines): `HAS_LABELS` (some resident
 * brick holds labels) and `HAS_EMPTY` (some is all zero, skipped in one step). Software WebGL
 * (SwiftShader) runs both sides of a branch for every sample, so code a uniform switches off still
 * costs: without the label code a frame of an unlabelled volume took 40 % less time.
 * @module views/raymarch
 */

/**
 * The program's defines for what the resident bricks hold (a change compiles the other variant).
 * @param {{labelled: number, empty: number}} counts resident bricks with labels, all-zero ones
 * @returns {{HAS_LABELS: number, HAS_EMPTY: number}}
 */
export function shaderDefines({ labelled, empty }) {
  return { HAS_LABELS: labelled > 0 ? 1 : 0, HAS_EMPTY: empty > 0 ? 1 : 0 };
}

/** Levels the shader handles at most (more are clamped to the coarsest of these). */
export const MAX_LEVELS = 10;

export const VERTEX = /* glsl */ `
uniform vec3 uShape;
out vec3 vPos;
flat out vec3 vVoxel; // voxel size (x, y, z) over the smallest one: the box is scaled to the world size
void main() {
  vPos = position * uShape;
  vec3 v = vec3(length(modelMatrix[0].xyz), length(modelMatrix[1].xyz), length(modelMatrix[2].xyz)) / uShape;
  vVoxel = v / min(min(v.x, v.y), v.z);
  gl_Position = projectionMatrix * modelViewMatrix * vec4(position, 1.0);
}
`;

export const FRAGMENT = /* glsl */ `
precision highp float;
precision highp int;
precision highp usampler3D;
precision highp sampler3D;

#define MAX_LEVELS ${MAX_LEVELS}
uniform vec3 uShape;          // level-0 shape, (x, y, z)
uniform vec3 uChunk;          // brick shape, (x, y, z)
uniform int uNLevels;
uniform int uMinLevel;
uniform vec3 uDown[MAX_LEVELS];
uniform vec3 uLevelShape[MAX_LEVELS];
// page entries: slot + 1, 0 = not resident, 0xffffffff = all zero (no slot, skipped)
uniform int uPageZ[MAX_LEVELS];
uniform usampler3D uPage;
uniform sampler3D uImage;
uniform usampler3D uLabels;
uniform ivec3 uSlots;
uniform vec3 uCam;            // camera position, level-0 voxel coordinates
uniform vec2 uContrast;       // in the image atlas's units
uniform int uMode;            // 0 MIP, 1 composite
uniform float uOpacity;
uniform float uStep;          // level-0 voxels per sample
uniform int uMaxSteps;
uniform bool uHasLabels;
uniform bool uLabels64;
uniform bool uSelectedOnly;
uniform uvec2 uSelected;
uniform int uNHidden;
uniform int uHiddenW;
uniform highp usampler2D uHiddenIds; // the hidden ids, ascending, (low, high) (views/hiddenlabels.js)
in vec3 vPos;
flat in vec3 vVoxel;
out vec4 outColor;

uint fmix32(uint h) {
  h ^= h >> 16u; h *= 0x85ebca6bu; h ^= h >> 13u; h *= 0xc2b2ae35u; h ^= h >> 16u;
  return h;
}

vec3 labelColor(uint lo, uint hi) {
  uint h = fmix32(lo ^ fmix32(hi ^ 0x9e3779b9u));
  return vec3(float(48u + (h & 0xffu) % 208u), float(48u + ((h >> 8u) & 0xffu) % 208u),
              float(48u + ((h >> 16u) & 0xffu) % 208u)) / 255.0;
}

// binary search of the sorted hidden ids (uint64 order: high half, then low half)
bool isHidden(uint lo, uint hi) {
  int a = 0;
  int b = uNHidden;
  for (int k = 0; k < 64; k++) {
    if (a >= b) break;
    int m = (a + b) / 2;
    uvec2 v = texelFetch(uHiddenIds, ivec2(m % uHiddenW, m / uHiddenW), 0).rg;
    if (v.x == lo && v.y == hi) return true;
    if (v.y < hi || (v.y == hi && v.x < lo)) a = m + 1; else b = m;
  }
  return false;
}

// the atlas texel of level-0 point p in the finest resident brick: 1 (labelled: its labels are
// not all zero, bit 30 of the page entry clear); an all-zero brick: 2 (skip to exitT, where the ray
// leaves it); none resident: 0
int locate(vec3 p, vec3 dir, out ivec3 texel, out float exitT, out bool labelled) {
  for (int l = 0; l < MAX_LEVELS; l++) {
    if (l >= uNLevels) break;
    if (l < uMinLevel) continue;
    vec3 q = clamp(floor(p / uDown[l]), vec3(0.0), uLevelShape[l] - 1.0);
    ivec3 key = ivec3(floor(q / uChunk));
    uint e = texelFetch(uPage, ivec3(key.x, key.y, key.z + uPageZ[l]), 0).r;
    if (e == 0xffffffffu) {
      vec3 lo = vec3(key) * uChunk * uDown[l];
      vec3 hi = min(lo + uChunk * uDown[l], uShape);
      vec3 d = dir + vec3(equal(dir, vec3(0.0))) * 1e-8;
      vec3 tt = max((lo - p) / d, (hi - p) / d); // the far side of the brick along each axis
      exitT = min(min(tt.x, tt.y), tt.z);
      return 2;
    }
    if (e > 0u) {
      labelled = (e & 0x40000000u) == 0u;
      int s = int(e & 0x3fffffffu) - 1;
      ivec3 slot = ivec3(s % uSlots.x, (s / uSlots.x) % uSlots.y, s / (uSlots.x * uSlots.y));
      ivec3 chunk = ivec3(uChunk);
      texel = slot * chunk + ivec3(q) - key * chunk;
      return 1;
    }
  }
  return 0;
}

void main() {
  vec3 dir = normalize(vPos - uCam);
  vec3 inv = 1.0 / dir;
  vec3 t0 = (vec3(0.0) - uCam) * inv;
  vec3 t1 = (uShape - uCam) * inv;
  vec3 tmin = min(t0, t1);
  vec3 tmax = max(t0, t1);
  float tnear = max(max(max(tmin.x, tmin.y), tmin.z), 0.0);
  float tfar = min(min(tmax.x, tmax.y), tmax.z);
  if (tfar <= tnear) discard;
  // a per-pixel offset of the first sample against wood-grain banding
  float jitter = fract(sin(dot(gl_FragCoord.xy, vec2(12.9898, 78.233))) * 43758.5453);
  float t = tnear + jitter * uStep;
  vec3 acc = vec3(0.0);
  float alpha = 0.0;
  float mip = 0.0;
  bool any = false;
  float span = max(uContrast.y - uContrast.x, 1e-20);
  // opacities are per physical length (the smallest voxel side), not per voxel crossed: an
  // anisotropic volume looks as opaque along its coarse axis as along the fine ones
  float stepLen = uStep * length(dir * vVoxel);
  float labelA = 1.0 - pow(1.0 - clamp(uOpacity, 0.0, 0.999), stepLen);
  uvec2 seen = uvec2(0u);     // the last label id looked up, and whether it is drawn
  bool seenDrawn = false;
  for (int i = 0; i < uMaxSteps; i++) {
    if (t >= tfar || alpha >= 0.985) break;
    vec3 p = uCam + dir * t;
    ivec3 tx;
    float exitT;
    bool labelled;
    int where = locate(p, dir, tx, exitT, labelled);
#if HAS_EMPTY
    if (where == 2) {
      if (uMode == 0 && uContrast.x < 0.0) { mip = max(mip, clamp(-uContrast.x / span, 0.0, 1.0)); any = true; }
      t += max(exitT, 0.0) + 1e-3 * uStep; // (exitT is relative to p)
      t = tnear + ceil((t - tnear) / uStep - jitter) * uStep + jitter * uStep; // stay on the sample grid
      continue;
    }
#endif
    if (where == 1) {
#if HAS_LABELS
      if (uHasLabels && labelled) {
        uvec4 lv = texelFetch(uLabels, tx, 0);
        uint lo = lv.r;
        uint hi = uLabels64 ? lv.g : 0u;
        if ((lo != 0u || hi != 0u) && uvec2(lo, hi) != seen) {
          seen = uvec2(lo, hi);
          seenDrawn = uSelectedOnly ? (lo == uSelected.x && hi == uSelected.y) : !isHidden(lo, hi);
        }
        if ((lo != 0u || hi != 0u) && seenDrawn) {
          vec3 c = labelColor(lo, hi);
          acc += (1.0 - alpha) * labelA * c;
          alpha += (1.0 - alpha) * labelA;
        }
      }
#endif
      float v = clamp((texelFetch(uImage, tx, 0).r - uContrast.x) / span, 0.0, 1.0);
      if (uMode == 0) {
        mip = max(mip, v);
        any = true;
      } else if (v > 0.0) {
        float a = 1.0 - pow(1.0 - 0.12 * v, stepLen);
        acc += (1.0 - alpha) * a * vec3(v);
        alpha += (1.0 - alpha) * a;
      }
    }
    t += uStep;
  }
  if (uMode == 0 && any) {
    acc += (1.0 - alpha) * vec3(mip);
    alpha = 1.0;
  }
  outColor = vec4(acc, alpha);
}
`;
