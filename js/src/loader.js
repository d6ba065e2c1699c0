/**
 * anywidget entry point (`_esm`): a small loader that imports the real bundle (widget.js, sent as
 * the model's `_bundle` text) once per page and per bundle version (`_bundle_key`), and hands each
 * `render` to it.
 *
 * Why: anywidget imports every widget's `_esm` from a fresh blob URL, and a browser never frees an
 * imported module (manzt/anywidget#613). With the whole bundle as `_esm`, each VoxWidget created
 * while a page stays open (a re-run cell, a kernel restart) kept ~4 MiB of source and compiled code
 * for good; the soak (bench/soak.py) measured the tab's heap growing 34 → 194 MiB over 20 kernel
 * restarts. Through this loader each widget keeps only this file's module; the bundle's text in
 * the model state is freed with the model.
 * @module loader
 */

const BUNDLES = Symbol.for("voxwidget.bundles");

/**
 * The bundle module for this model's `_bundle_key`, imported once per page.
 * @param {{get: (name: string) => unknown}} model
 * @returns {Promise<{default: {render: Function}}>}
 */
function bundleOf(model) {
  globalThis[BUNDLES] ??= new Map();
  const cache = globalThis[BUNDLES];
  const key = String(model.get("_bundle_key"));
  let mod = cache.get(key);
  if (!mod) {
    const url = URL.createObjectURL(new Blob([String(model.get("_bundle"))], { type: "text/javascript" }));
    mod = import(url).finally(() => URL.revokeObjectURL(url));
    mod.catch(() => cache.delete(key)); // a failed import is tried again by the next view
    cache.set(key, mod);
  }
  return mod;
}

export default {
  /**
   * anywidget render: the bundle's render (one view in `el`); returns its cleanup.
   * @param {{model: object, el: HTMLElement}} ctx
   */
  async render(ctx) {
    const mod = await bundleOf(ctx.model);
    return mod.default.render(ctx);
  },
};
