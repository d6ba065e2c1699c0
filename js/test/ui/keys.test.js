import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { KEY_ACTIONS, KEYS } from "../../src/ui/keys.js";

const README = new URL("../../../README.md", import.meta.url);

/** The rows of README's "Tools and keys" table: first cell (backticks dropped) -> second. */
function readmeRows() {
  const text = readFileSync(README, "utf8");
  const start = text.indexOf("### Tools and keys");
  assert.ok(start >= 0, "README.md has a '### Tools and keys' section");
  const rows = new Map();
  for (const line of text.slice(start).split("\n").slice(1)) {
    if (line.startsWith("#")) break;
    if (!line.startsWith("|") || line.startsWith("|---")) continue;
    const cells = line.split(/(?<!\\)\|/).map((c) => c.trim());
    const keys = cells[1].replaceAll("`", "").replaceAll("\\|", "|");
    if (keys === "keys") continue; // the header
    rows.set(keys, cells[2]);
  }
  return rows;
}

test("README's table lists exactly the view's keys (ui/keys.js), in the same order", () => {
  const rows = readmeRows();
  assert.deepEqual(
    [...rows.keys()],
    KEYS.map((r) => r.keys),
  );
  for (const r of KEYS) assert.ok(rows.get(r.keys).length > 0, `README explains ${r.keys}`);
});

test("every bound key is a row of the help, and single keys are unique", () => {
  assert.equal(KEY_ACTIONS.size, KEYS.filter((r) => r.key).length);
  for (const [key, action] of KEY_ACTIONS) {
    const row = KEYS.find((r) => r.key === key);
    assert.ok(row.keys.split(" / ")[0] === key, `${key} leads its row's keys`);
    assert.match(action, /^(tool:(brush|erase|pan|fill|polygon)|dims|pick|newLabel|interpolate|help)$/);
  }
});
