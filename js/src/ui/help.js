/**
 * The `?` overlay: every tool and key of the view (the table of ui/keys.js), over the canvas.
 * Escape, `?` or a click on it closes it.
 * @module ui/help
 */

import { KEYS } from "./keys.js";

/**
 * The help overlay of one view (hidden until shown).
 * @param {HTMLElement} wrap the canvas's container (position: relative)
 * @returns {{el: HTMLElement, toggle: (show?: boolean) => boolean, shown: () => boolean}}
 */
export function makeHelp(wrap) {
  const el = document.createElement("div");
  el.className = "voxwidget-help";
  el.hidden = true;
  el.setAttribute("role", "dialog");
  el.setAttribute("aria-label", "voxwidget keys");
  const table = document.createElement("table");
  for (const row of KEYS) {
    const tr = document.createElement("tr");
    const k = document.createElement("th");
    k.textContent = row.keys;
    const w = document.createElement("td");
    w.textContent = row.what.replaceAll("`", "");
    tr.append(k, w);
    table.append(tr);
  }
  const title = document.createElement("div");
  title.className = "voxwidget-help-title";
  title.textContent = "Tools and keys (? or Escape closes)";
  el.append(title, table);
  el.addEventListener("click", () => toggle(false));
  wrap.append(el);
  const toggle = (show = el.hidden) => {
    el.hidden = !show;
    return show;
  };
  return { el, toggle, shown: () => !el.hidden };
}
