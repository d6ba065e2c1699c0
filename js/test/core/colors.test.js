import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { fmix32, labelRGB, labelRGBA32, labelRGBOf } from "../../src/core/colors.js";

const { colors } = JSON.parse(readFileSync(new URL("../fixtures/colors.json", import.meta.url)));

test("colours equal voxwidget.colors.label_rgb, uint64 included", () => {
  assert.ok(colors.some((c) => c.label === "18446744073709551615"));
  for (const c of colors) assert.deepEqual(labelRGBOf(c.label), c.rgb, `label ${c.label}`);
});

test("fixed values", () => {
  assert.deepEqual(labelRGBOf("1"), [70, 88, 59]);
  assert.deepEqual(labelRGB(0xffffffff, 0xffffffff), labelRGBOf(2n ** 64n - 1n));
  assert.equal(fmix32(0), 0);
  assert.equal(labelRGBOf(0), null);
});

test("rgba packing: label 0 transparent, others opaque little-endian RGBA", () => {
  assert.equal(labelRGBA32(0, 0), 0);
  const [r, g, b] = labelRGB(5, 0);
  const px = new Uint8Array(new Uint32Array([labelRGBA32(5, 0)]).buffer);
  assert.deepEqual([...px], [r, g, b, 255]);
  for (const v of labelRGB(123, 456)) assert.ok(v >= 48 && v <= 255);
});
