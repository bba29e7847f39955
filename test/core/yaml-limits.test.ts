import { describe, expect, it } from "vitest";
import { parseDocument } from "yaml";
import {
  checkYamlSize,
  checkYamlText,
  duplicateKey,
  lineAt,
  MAX_YAML_BYTES,
  MAX_YAML_DEPTH,
  UNTRUSTED_PARSE_OPTIONS,
} from "../../src/core/yaml-limits.js";

const tooLarge = /^file is larger than 256 KiB/;
const tooDeep = `YAML nests deeper than ${MAX_YAML_DEPTH} levels`;

describe("the limits", () => {
  it("are 256 KiB, 64 levels", () => {
    expect(MAX_YAML_BYTES).toBe(256 * 1024);
    expect(MAX_YAML_DEPTH).toBe(64);
  });
});

describe("checkYamlSize", () => {
  it("accepts exactly the cap and refuses one byte more", () => {
    expect(checkYamlSize("a".repeat(MAX_YAML_BYTES))).toBeUndefined();
    expect(checkYamlSize("a".repeat(MAX_YAML_BYTES + 1))).toMatch(tooLarge);
  });

  it("counts UTF-8 bytes, not characters", () => {
    // é is 2 bytes, € 3, and 😀 (a surrogate pair, two UTF-16 units) 4.
    expect(checkYamlSize("é".repeat(MAX_YAML_BYTES / 2))).toBeUndefined();
    expect(checkYamlSize(`${"é".repeat(MAX_YAML_BYTES / 2)}a`)).toMatch(tooLarge);
    expect(checkYamlSize(`${"€".repeat(MAX_YAML_BYTES / 4)}`)).toBeUndefined();
    expect(checkYamlSize(`${"€".repeat(MAX_YAML_BYTES / 3 + 1)}`)).toMatch(tooLarge);
    expect(checkYamlSize("😀".repeat(MAX_YAML_BYTES / 4))).toBeUndefined();
    expect(checkYamlSize(`${"😀".repeat(MAX_YAML_BYTES / 4)}a`)).toMatch(tooLarge);
  });

  it("refuses a huge text", () => {
    expect(checkYamlSize("k: v\n".repeat(1_000_000))).toMatch(tooLarge);
  });
});

describe("checkYamlText", () => {
  const flow = (levels: number) => `${"[".repeat(levels)}1${"]".repeat(levels)}\n`;
  const block = (levels: number) => `${Array.from({ length: levels }, (_, i) => `${" ".repeat(i)}k:`).join("\n")} v\n`;
  const compactSeq = (levels: number) => `${"- ".repeat(levels)}v\n`;
  const mixed = (levels: number) => `a:\n  - b: ${"{c: ".repeat(levels - 3)}1${"}".repeat(levels - 3)}\n`;

  it.each([
    ["flow lists", flow],
    ["block mappings", block],
    ["compact block lists", compactSeq],
    ["block and flow collections mixed", mixed],
  ])(`counts nested %s: ${MAX_YAML_DEPTH} levels pass, one more does not`, (_what, nest) => {
    expect(parseDocument(nest(MAX_YAML_DEPTH)).errors).toEqual([]);
    expect(checkYamlText(nest(MAX_YAML_DEPTH))).toBeUndefined();
    expect(checkYamlText(nest(MAX_YAML_DEPTH + 1))).toBe(tooDeep);
  });

  it("refuses nesting the yaml package cannot survive, without parsing it", () => {
    // Forty thousand levels abort the process with an out-of-memory error inside yaml's composer.
    expect(checkYamlText(flow(40_000))).toBe(tooDeep);
    expect(checkYamlText(compactSeq(40_000))).toBe(tooDeep);
    expect(checkYamlText(`${"[".repeat(100_000)}\n`)).toBe(tooDeep); // unclosed, too
  });

  it("does not count siblings, long documents or many documents as depth", () => {
    expect(checkYamlText("k: v\n".repeat(5_000))).toBeUndefined();
    expect(checkYamlText(`x: [${"[1], ".repeat(5_000)}1]\n`)).toBeUndefined();
    expect(checkYamlText("---\na: [b]\n".repeat(2_000))).toBeUndefined();
  });

  it("leaves syntax errors to the real parse", () => {
    expect(checkYamlText("a: [\n")).toBeUndefined();
    expect(checkYamlText("a: b: c\n")).toBeUndefined();
    expect(checkYamlText("")).toBeUndefined();
  });

  it("checks the size first", () => {
    expect(checkYamlText("#".repeat(MAX_YAML_BYTES + 1))).toMatch(tooLarge);
  });
});

describe("duplicateKey", () => {
  const dup = (text: string) => {
    const doc = parseDocument(text, UNTRUSTED_PARSE_OPTIONS);
    expect(doc.errors).toEqual([]);
    return duplicateKey(doc);
  };

  it("finds what yaml's own uniqueKeys check finds", () => {
    for (const text of [
      "a: 1\nb: 2\na: 3\n",
      "x:\n  - {a: 1, b: 2, a: 3}\n",
      "x: [{a: 1}, {b: 1, b: 2}]\n",
      "deep:\n  deeper:\n    k: 1\n    k: 2\n",
      "1: a\n0x1: b\n",
      "~: a\nnull: b\n",
      "true: a\nTrue: b\n",
      "? a\n: 1\n? a\n: 2\n",
    ]) {
      expect(parseDocument(text).errors.map((e) => e.code)).toEqual(["DUPLICATE_KEY"]);
      expect(dup(text)).toBeDefined();
    }
  });

  it("accepts what yaml's own uniqueKeys check accepts", () => {
    for (const text of [
      "a: 1\nb: 2\n",
      '1: a\n"1": b\n',
      "a: 1\nx:\n  a: 2\n",
      "x: [{a: 1}, {a: 1}]\n",
      "? [a]\n: 1\n? [a]\n: 2\n",
      ".nan: a\n.NaN: b\n",
    ]) {
      expect(parseDocument(text).errors).toEqual([]);
      expect(dup(text)).toBeUndefined();
    }
  });

  it("reports the key and where its second occurrence starts", () => {
    const text = "a: 1\nlist:\n  - b: 1\n    b: 2\n";
    expect(dup(text)).toEqual({ key: "b", offset: text.lastIndexOf("b:") });
    expect(lineAt(text, text.lastIndexOf("b:"))).toBe(4);
  });

  it("finds a duplicate among ten thousand keys in one mapping", () => {
    const keys = Array.from({ length: 10_000 }, (_, i) => `k${i}: v\n`);
    expect(dup(keys.join(""))).toBeUndefined();
    expect(dup(`${keys.join("")}k0: again\n`)).toEqual({ key: "k0", offset: keys.join("").length });
  });
});

describe("lineAt", () => {
  it("counts lines from 1", () => {
    expect(lineAt("a\nb\nc", 0)).toBe(1);
    expect(lineAt("a\nb\nc", 1)).toBe(1);
    expect(lineAt("a\nb\nc", 2)).toBe(2);
    expect(lineAt("a\nb\nc", 4)).toBe(3);
    expect(lineAt("a\r\nb", 3)).toBe(2);
  });
});
