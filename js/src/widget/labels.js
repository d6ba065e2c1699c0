/**
 * The label panel of one view (ui/labelpanel.js) wired to the model and the kernel: the counts of
 * `labels.counts` messages (ui/panelmodel.js `LabelCounts`), redrawn when they or the traits it
 * shows (`label`, `label_names`, `hidden_labels`, `show_selected_only`) change, at most once per
 * animation frame; its clicks set those traits (a name edit: `label_names`) or delete a label
 * (widget/tools.js).
 * @module widget/labels
 */

import { makePanel } from "../ui/labelpanel.js";
import { LabelCounts } from "../ui/panelmodel.js";

const TRAITS = ["label", "label_names", "hidden_labels", "show_selected_only"];

/** The label panel and the label counts of one view. */
export class LabelPanel {
  /**
   * @param {object} p
   * @param {object} p.model anywidget model
   * @param {HTMLElement} p.parent where the panel goes (ui/dom.js `side`)
   * @param {(name: string, value: any) => void} p.setTrait
   * @param {(id: string) => void} p.onDelete delete a label
   */
  constructor({ model, parent, setTrait, onDelete }) {
    this.model = model;
    this.counts = new LabelCounts();
    this.frame = null;
    const hidden = () => (model.get("hidden_labels") ?? []).map(String);
    this.panel = makePanel({
      onSelect: (id) => setTrait("label", id),
      onVisible: (id, visible) => {
        const rest = hidden().filter((h) => h !== id);
        setTrait("hidden_labels", visible ? rest : [...rest, id]);
      },
      onOnly: (only) => setTrait("show_selected_only", only),
      onDelete,
      onRename: (id, name) => {
        const names = { ...(model.get("label_names") ?? {}) };
        if (name) names[id] = name;
        else delete names[id];
        setTrait("label_names", names);
      },
    });
    parent.append(this.panel.el);
    this.off = TRAITS.map((t) => {
      const h = () => this.soon();
      model.on(`change:${t}`, h);
      return () => model.off(`change:${t}`, h);
    });
    this.render();
  }

  /**
   * A `labels.counts` message.
   * @param {object} msg validated message
   */
  handle(msg) {
    this.counts.apply(msg);
    this.soon();
  }

  soon() {
    if (this.frame !== null) return;
    const raf = globalThis.requestAnimationFrame ?? ((f) => setTimeout(f, 16));
    this.frame = raf(() => {
      this.frame = null;
      this.render();
    });
  }

  render() {
    const m = this.model;
    this.panel.render({
      counts: this.counts.counts,
      names: m.get("label_names") ?? {},
      selected: String(m.get("label") ?? "0"),
      hidden: (m.get("hidden_labels") ?? []).map(String),
      only: m.get("show_selected_only") === true,
    });
  }

  dispose() {
    for (const f of this.off) f();
    this.panel.el.remove();
  }
}
