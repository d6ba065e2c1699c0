/**
 * Every tool and key of the view, in one table: ui/input.js binds the single keys from it, the `?`
 * overlay (ui/help.js) lists it, and README.md's "Tools and keys" table lists the same rows
 * (js/test/ui/keys.test.js checks both).
 * @module ui/keys
 */

/**
 * @typedef {object} KeyRow
 * @property {string} keys how the user does it, as the README's table writes it
 * @property {string} what what it does
 * @property {string} [key] the single key (KeyboardEvent.key) input.js binds to `action`
 * @property {string} [action] the action input.js calls with that key
 */

/** @type {readonly KeyRow[]} */
export const KEYS = Object.freeze([
  {
    keys: "b",
    key: "b",
    action: "tool:brush",
    what: "brush tool: drag paints `label` (a disk; a ball with 3D)",
  },
  { keys: "e", key: "e", action: "tool:erase", what: "erase tool: drag paints 0" },
  { keys: "p", key: "p", action: "tool:pan", what: "pan tool: drag pans" },
  {
    keys: "f",
    key: "f",
    action: "tool:fill",
    what: "fill tool: a click fills the connected region under it with `label` (2D slice or 3D)",
  },
  {
    keys: "g",
    key: "g",
    action: "tool:polygon",
    what: "polygon tool: clicks add vertices on the slice",
  },
  { keys: "Enter / double-click", what: "close the polygon and fill it with `label`" },
  { keys: "Backspace", what: "remove the polygon's last vertex" },
  { keys: "Escape", what: "drop the polygon; close this help" },
  { keys: "d", key: "d", action: "dims", what: "brush and fill in 2D or 3D (`brush_dims`)" },
  {
    keys: "l / alt+click",
    key: "l",
    action: "pick",
    what: "picker: `label` becomes the id under the cursor",
  },
  { keys: "n", key: "n", action: "newLabel", what: "new label: one more than the largest id in use" },
  {
    keys: "i",
    key: "i",
    action: "interpolate",
    what: "interpolate `label` between its annotated slices along the view axis",
  },
  { keys: "[ / ]", what: "brush radius smaller / larger" },
  { keys: "wheel / ↑ ↓ / , .", what: "previous / next slice" },
  { keys: "ctrl+wheel / + -", what: "zoom (about the cursor with the wheel)" },
  { keys: "middle-drag", what: "pan with any tool" },
  { keys: "ctrl+z", what: "undo (the kernel keeps the history: a stroke, fill or command is one step)" },
  { keys: "ctrl+shift+z / ctrl+y", what: "redo" },
  { keys: "?", key: "?", action: "help", what: "show or hide this help" },
]);

/** @type {ReadonlyMap<string, string>} single key -> action */
export const KEY_ACTIONS = new Map(KEYS.filter((r) => r.key).map((r) => [r.key, r.action]));
