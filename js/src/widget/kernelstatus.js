/**
 * The kernel's own status, from the host, for net/connection.js's quiet liveness.
 *
 * anywidget's model exposes `widget_manager`; in JupyterLab and Notebook 7 (both use
 * `@jupyter-widgets/jupyterlab-manager`) that is a `KernelWidgetManager` whose `kernel` is the
 * notebook's `Kernel.IKernelConnection`: `status` ("idle", "busy", "restarting", "dead", …),
 * `connectionStatus` ("connected", "connecting", "disconnected") and the Lumino signals
 * `statusChanged` / `connectionStatusChanged`. Other hosts (VS Code, Colab, voila, a test's fake
 * model) may have none of that: then this returns null and the connection keeps its heartbeat.
 * @module widget/kernelstatus
 */

/**
 * @param {object} model anywidget model
 * @returns {object|null} the host's kernel connection (JupyterLab, Notebook 7), else null
 */
export function kernelOf(model) {
  try {
    return model?.widget_manager?.kernel ?? null;
  } catch {
    return null;
  }
}

/**
 * @param {object} model anywidget model
 * @returns {import("../net/connection.js").KernelStatus|null}
 */
export function kernelStatusOf(model) {
  const kernel = kernelOf(model);
  const signal = (s) => s && typeof s.connect === "function" && typeof s.disconnect === "function";
  if (!kernel || typeof kernel.status !== "string" || !signal(kernel.statusChanged)) return null;
  return {
    status: () => kernel.status,
    connection: () => kernel.connectionStatus ?? "connected",
    watch(fn) {
      const slot = () => fn();
      kernel.statusChanged.connect(slot);
      const link = signal(kernel.connectionStatusChanged) ? kernel.connectionStatusChanged : null;
      link?.connect(slot);
      return () => {
        kernel.statusChanged.disconnect(slot);
        link?.disconnect(slot);
      };
    },
  };
}
