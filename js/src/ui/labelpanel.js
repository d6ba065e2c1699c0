/**
 * The label panel beside the view: the ids in use (ascending) with their colour swatch, name
 * (`label_names`) and voxel count (from the kernel's `labels.counts`, ui/panelmodel.js); a click on
 * a row selects its id (`label`), its checkbox shows or hides it (`hidden_labels`), its × deletes
 * it (the kernel's `replace(id, 0)`, one undo step), a double-click on it edits its name
 * (`label_names`; Enter keeps, Escape drops, an empty name removes it), and "selected only" draws
 * only the selected id (`show_selected_only`).
 *
 * Elements (stable, for the browser tests): the panel `.voxwidget-panel`; rows
 * `.voxwidget-row[data-label=<id>]` (`aria-selected`), each with `.voxwidget-row-count`,
 * `.voxwidget-row-name`, `input.voxwidget-row-visible` and `button.voxwidget-row-delete`;
 * `input.voxwidget-only`.
 * @module ui/labelpanel
 */

import { panelRows } from "./panelmodel.js";

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/**
 * Build the label panel.
 * @param {object} p
 * @param {(id: string) => void} p.onSelect a row was clicked
 * @param {(id: string, visible: boolean) => void} p.onVisible a row's checkbox changed
 * @param {(only: boolean) => void} p.onOnly "selected only" changed
 * @param {(id: string) => void} p.onDelete a row's × was clicked
 * @param {(id: string, name: string) => void} [p.onRename] a row's name was edited
 * @returns {{el: HTMLElement, render: (state: object) => void}} `render({counts, names, selected,
 *   hidden, only})` redraws the rows (see `panelRows`)
 */
export function makePanel({ onSelect, onVisible, onOnly, onDelete, onRename = () => {} }) {
  const root = el("div", "voxwidget-panel");
  const head = el("div", "voxwidget-panel-head");
  const only = el("input", "voxwidget-only");
  only.type = "checkbox";
  only.title = "Draw only the selected label";
  const onlyLabel = el("label", "voxwidget-group");
  onlyLabel.append(only, "selected only");
  head.append(el("span", "voxwidget-panel-title", "labels"), onlyLabel);
  const list = el("div", "voxwidget-panel-list");
  list.setAttribute("role", "listbox");
  const more = el("div", "voxwidget-panel-more");
  root.append(head, list, more);
  let editing = false; // a name is being edited: redraws wait (they would drop the input)
  let last = null;
  only.addEventListener("change", () => onOnly(only.checked));
  list.addEventListener("click", (e) => {
    const row = e.target.closest?.(".voxwidget-row");
    if (!row) return;
    const id = row.dataset.label;
    if (e.target.classList.contains("voxwidget-row-rename")) return; // editing the name
    if (e.target.classList.contains("voxwidget-row-delete")) onDelete(id);
    else if (e.target.classList.contains("voxwidget-row-visible")) onVisible(id, e.target.checked);
    else onSelect(id);
  });
  list.addEventListener("dblclick", (e) => {
    const row = e.target.closest?.(".voxwidget-row");
    if (!row || e.target.tagName === "INPUT" || e.target.tagName === "BUTTON") return;
    const cell = row.querySelector(".voxwidget-row-name");
    if (!cell || cell.querySelector("input")) return;
    const id = row.dataset.label;
    const input = el("input", "voxwidget-row-rename");
    input.type = "text";
    input.value = cell.textContent;
    let done = false;
    const finish = (keep) => {
      if (done) return;
      done = true;
      editing = false;
      if (keep) onRename(id, input.value.trim());
      render(last); // the redraws deferred while editing happen now (Escape: the old name again)
    };
    editing = true;
    cell.replaceChildren(input);
    input.addEventListener("keydown", (k) => {
      k.stopPropagation(); // typing a name is not a view key
      if (k.key === "Enter") finish(true);
      else if (k.key === "Escape") finish(false);
    });
    input.addEventListener("blur", () => finish(true));
    input.focus();
    input.select();
  });

  const render = (state) => {
    last = state;
    if (editing) return;
    const { rows, more: extra } = panelRows(state);
    only.checked = state.only === true;
    const frag = document.createDocumentFragment();
    for (const r of rows) {
      const row = el("div", "voxwidget-row");
      row.dataset.label = r.id;
      row.setAttribute("role", "option");
      row.setAttribute("aria-selected", String(r.selected));
      const vis = el("input", "voxwidget-row-visible");
      vis.type = "checkbox";
      vis.checked = r.visible;
      vis.disabled = state.only === true;
      vis.title = r.visible ? "Hide this label" : "Show this label";
      const sw = el("span", "voxwidget-swatch");
      sw.style.background = r.colour;
      const del = el("button", "voxwidget-row-delete", "×");
      del.type = "button";
      del.title = `Delete label ${r.id} (set its voxels to 0; ctrl+z undoes)`;
      del.hidden = r.count === 0;
      row.append(
        vis,
        sw,
        el("span", "voxwidget-row-id", r.id),
        el("span", "voxwidget-row-name", r.name),
        el("span", "voxwidget-row-count", r.count ? String(r.count) : "new"),
        del,
      );
      frag.append(row);
    }
    list.replaceChildren(frag);
    more.textContent = extra ? `+ ${extra} more ids` : "";
  };
  return { el: root, render };
}
