/**
 * The shape of js/src: no module over MAX_LINES lines, no circle in the graph of relative imports,
 * and the folders layered as widget.js documents (a module imports only from its own folder or
 * from folders below it in LAYERS). The checkers are tested on synthetic input first, so that none
 * of these can pass vacuously.
 */

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const SRC = fileURLToPath(new URL("../src/", import.meta.url));
const MAX_LINES = 500;
/** Lowest first: each folder may import from itself and the folders before it. */
const LAYERS = ["core", "store", "net", "views", "ui", "widget", "."];

/** Relative module specifiers of static `import … from`, `export … from` and `import "…"`. */
const IMPORT = /^[ \t]*(?:import|export)\s+(?:[^;'"`]*?\s+from\s+)?["'](\.{1,2}\/[^"']+)["']/gm;

/**
 * @param {string} text module source
 * @returns {string[]} its relative import specifiers, in order
 */
function importsOf(text) {
  return [...text.matchAll(IMPORT)].map((m) => m[1]);
}

/**
 * @param {string} text
 * @returns {number} lines, as an editor counts them (a final newline ends the last line)
 */
function lineCount(text) {
  if (text === "") return 0;
  return text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
}

/**
 * @param {Map<string, string>} files name -> source
 * @returns {string[]} "name: N lines (limit MAX_LINES)" for every file over the limit
 */
function longFiles(files) {
  const out = [];
  for (const [name, text] of files) {
    const n = lineCount(text);
    if (n > MAX_LINES) out.push(`${name}: ${n} lines (limit ${MAX_LINES})`);
  }
  return out;
}

/**
 * The import graph of `files`, by module path relative to their root ("net/client.js").
 * @param {Map<string, string>} files relative path (with "/") -> source
 * @returns {Map<string, string[]>} module -> the modules it imports
 */
function importGraph(files) {
  const graph = new Map();
  for (const [name, text] of files) {
    const dir = path.posix.dirname(name);
    graph.set(
      name,
      importsOf(text).map((spec) => path.posix.normalize(path.posix.join(dir, spec))),
    );
  }
  return graph;
}

/**
 * A circle of the graph, if there is one.
 * @param {Map<string, string[]>} graph
 * @returns {string[]|null} `[a, b, …, a]`
 */
function findCycle(graph) {
  const state = new Map(); // node -> "open" (on the path) | "done"
  const pathStack = [];
  const visit = (node) => {
    state.set(node, "open");
    pathStack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === "open") return [...pathStack.slice(pathStack.indexOf(next)), next];
      if (!state.has(next)) {
        const found = visit(next);
        if (found) return found;
      }
    }
    pathStack.pop();
    state.set(node, "done");
    return null;
  };
  for (const node of [...graph.keys()].sort()) {
    if (state.has(node)) continue;
    const found = visit(node);
    if (found) return found;
  }
  return null;
}

/**
 * @param {Map<string, string[]>} graph
 * @returns {string[]} "a imports b" for every import from a higher layer (see LAYERS)
 */
function layerViolations(graph) {
  const layer = (name) => {
    const dir = name.includes("/") ? name.slice(0, name.indexOf("/")) : ".";
    const i = LAYERS.indexOf(dir);
    if (i < 0) throw new Error(`${name}: folder '${dir}' is not one of LAYERS`);
    return i;
  };
  const out = [];
  for (const [from, tos] of graph) {
    for (const to of tos) if (layer(to) > layer(from)) out.push(`${from} imports ${to}`);
  }
  return out;
}

/** @returns {Map<string, string>} every .js under js/src, by path relative to it */
function sources() {
  const files = new Map();
  for (const entry of readdirSync(SRC, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith(".js")) continue;
    const full = path.join(entry.parentPath ?? entry.path, entry.name);
    files.set(path.relative(SRC, full).split(path.sep).join("/"), readFileSync(full, "utf8"));
  }
  return files;
}

// -- the checkers --------------------------------------------------------------------------------
test("structure: importsOf reads static relative imports, and only those", () => {
  const text = [
    'import { a } from "./a.js";',
    "import {",
    "  b,",
    "  c,",
    '} from "../core/b.js";',
    'import "./side.js";',
    'export { d } from "./d.js";',
    'export * from "../e.js";',
    'import assert from "node:assert/strict";',
    'import { x } from "fake-indexeddb";',
    ' * @param {import("./typeonly.js").T} p',
    'const s = "./not-an-import.js";',
    'export const f = () => import("./dynamic.js");',
  ].join("\n");
  assert.deepEqual(importsOf(text), ["./a.js", "../core/b.js", "./side.js", "./d.js", "../e.js"]);
});

test("structure: the size check flags a 501-line file, not a 500-line one", () => {
  const files = new Map([
    ["ok.js", "x\n".repeat(MAX_LINES)],
    ["long.js", "x\n".repeat(MAX_LINES + 1)],
    ["long-no-newline.js", `${"x\n".repeat(MAX_LINES)}x`],
  ]);
  assert.deepEqual(longFiles(files), [
    `long.js: ${MAX_LINES + 1} lines (limit ${MAX_LINES})`,
    `long-no-newline.js: ${MAX_LINES + 1} lines (limit ${MAX_LINES})`,
  ]);
});

test("structure: the cycle finder finds a synthetic circle, and none where there is none", () => {
  const files = new Map([
    ["widget.js", 'import { v } from "./widget/v.js";'],
    ["widget/v.js", 'import { c } from "../net/c.js";\nimport { g } from "../core/g.js";'],
    ["net/c.js", 'import { g } from "../core/g.js";\nimport { i } from "./ids.js";'],
    ["net/ids.js", ""],
    ["core/g.js", ""],
  ]);
  const graph = importGraph(files);
  assert.deepEqual(graph.get("widget/v.js"), ["net/c.js", "core/g.js"]);
  assert.equal(findCycle(graph), null);
  files.set("net/ids.js", 'import { v } from "../widget/v.js";'); // net/ids -> widget/v -> net/c -> net/ids
  assert.deepEqual(findCycle(importGraph(files)), ["net/c.js", "net/ids.js", "widget/v.js", "net/c.js"]);
  assert.deepEqual(findCycle(new Map([["a.js", ["a.js"]]])), ["a.js", "a.js"]);
  assert.deepEqual(layerViolations(importGraph(files)), ["net/ids.js imports widget/v.js"]);
});

// -- the code base -------------------------------------------------------------------------------
test("structure: no module under js/src is over 500 lines", () => {
  const files = sources();
  assert.ok(files.size > 10, `only ${files.size} modules found under ${SRC}`);
  assert.deepEqual(longFiles(files), []);
});

test("structure: the relative imports of js/src resolve and have no circle", () => {
  const files = sources();
  const graph = importGraph(files);
  const edges = [...graph.values()].reduce((n, tos) => n + tos.length, 0);
  assert.ok(edges > 20, `only ${edges} imports found`);
  const missing = [];
  for (const [from, tos] of graph) for (const to of tos) if (!files.has(to)) missing.push(`${from} -> ${to}`);
  assert.deepEqual(missing, [], "imports of modules that do not exist");
  const cycle = findCycle(graph);
  assert.equal(cycle, null, `import circle: ${cycle?.join(" -> ")}`);
});

test("structure: the folders of js/src are layered (core < store < net < views < ui < widget)", () => {
  assert.deepEqual(layerViolations(importGraph(sources())), []);
});
