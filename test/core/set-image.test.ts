import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseImageSpec, type ImageChange } from "../../src/core/image-spec.js";
import { readImages, setImage, setImages } from "../../src/core/set-image.js";

const CORPUS = new URL("../../../shared/fixtures/kustomize-corpus/files/", import.meta.url);
const GOLDEN = new URL("../fixtures/set-image/", import.meta.url);

const NEW_TAG = "v9.8.7-conveyor";
const NEW_DIGEST = `sha256:${"0123456789abcdef".repeat(4)}`;

type Js = Record<string, unknown>;

interface Source {
  file: string;
  hasImages: boolean;
  features: string[];
}

function corpusSources(): Source[] {
  const tsv = readFileSync(new URL("../SOURCES.tsv", CORPUS), "utf8");
  return tsv
    .trim()
    .split("\n")
    .slice(1)
    .map((line) => line.split("\t"))
    .map(([file = "", , , , hasImages = "", features = ""]) => ({
      file,
      hasImages: hasImages === "yes",
      features: features.split(","),
    }));
}

const corpusText = (file: string): string => readFileSync(new URL(file, CORPUS), "utf8");

function change(spec: string): ImageChange {
  const parsed = parseImageSpec(spec);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.value;
}

function mustSet(text: string, ...changes: ImageChange[]): string {
  const result = setImages(text, changes);
  if (!result.ok) throw new Error(`${result.kind}: ${result.reason}`);
  return result.text;
}

/**
 * An independent, line-based model of the edit for block-style entries (every real file uses
 * them): the entry's `field` line gets its value token swapped (same quotes), or a new line is
 * added after the entry's last line; the `drop` line, if any, disappears. Nothing else moves.
 */
function expectedLines(text: string, name: string, field: string, value: string, drop: string): string {
  const lines = text.split("\n");
  const escaped = name.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  const start = lines.findIndex((line) => new RegExp(`^(\\s*)-(\\s+)name:\\s*(["']?)${escaped}\\3\\s*(#.*)?\\r?$`).test(line));
  if (start === -1) throw new Error(`no "- name: ${name}" line`);
  const head = /^(\s*-\s+)/.exec(lines[start] ?? "");
  const keyColumn = head?.[1]?.length ?? 0;
  const isContent = (line: string): boolean => line.trim() !== "" && !line.trim().startsWith("#");
  let end = start + 1;
  while (end < lines.length) {
    const line = lines[end] ?? "";
    const indent = /^ */.exec(line)?.[0].length ?? 0;
    if (isContent(line) && indent < keyColumn) break;
    end++;
  }
  let last = start;
  for (let i = start; i < end; i++) if (isContent(lines[i] ?? "")) last = i;

  const keyLine = (key: string): number => {
    for (let i = start + 1; i < end; i++) {
      if (new RegExp(`^ {${keyColumn}}${key}:`).test(lines[i] ?? "")) return i;
    }
    return -1;
  };
  const crlf = text.includes("\r\n");
  const target = keyLine(field);
  const dropped = keyLine(drop);
  if (target !== -1) {
    lines[target] = (lines[target] ?? "").replace(
      new RegExp(`^( {${keyColumn}}${field}:\\s*)("[^"]*"|'[^']*'|[^\\s#"']+)`),
      (_, prefix: string, old: string) =>
        `${prefix}${old.startsWith('"') ? `"${value}"` : old.startsWith("'") ? `'${value}'` : value}`,
    );
  } else {
    const added = `${" ".repeat(keyColumn)}${field}: ${value}`;
    const isFinal = last === lines.length - 1;
    if (isFinal && crlf) lines[last] = `${lines[last] ?? ""}\r`;
    lines.splice(last + 1, 0, isFinal || !crlf ? added : `${added}\r`);
  }
  if (dropped !== -1) {
    if (dropped === lines.length - 1) lines[dropped - 1] = (lines[dropped - 1] ?? "").replace(/\r$/, "");
    lines.splice(dropped, 1);
  }
  return lines.join("\n");
}

/** The document the edit should produce, computed from plain JS. */
function expectedJs(text: string, name: string, set: Record<string, string>, drop: string): Js {
  const js = parse(text) as Js;
  const images = (js.images as Js[]).map((image) => {
    if (image.name !== name) return image;
    const next: Js = { ...image, ...set };
    delete next[drop];
    return next;
  });
  return { ...js, images };
}

describe("set-image over the real kustomization corpus", () => {
  const sources = corpusSources();
  const withImages = sources.filter((source) => source.hasImages);

  it("covers the corpus listed in SOURCES.tsv", () => {
    expect(withImages.length).toBeGreaterThan(60);
    expect(new Set(readdirSync(CORPUS))).toEqual(new Set(sources.map((source) => source.file)));
  });

  describe.each(withImages.map((source) => [source.file, source] as const))("%s", (file) => {
    const text = corpusText(file);
    const read = readImages(text);
    const images = read.ok ? read.images : [];

    it("reads its images", () => {
      expect(read.ok).toBe(true);
      expect(images.length).toBeGreaterThan(0);
      expect(images.map((image) => image.name)).toEqual(
        ((parse(text) as Js).images as Js[]).map((image) => image.name),
      );
    });

    it.each(images.map((image) => [image.name]))("sets a new tag on %s, changing only that value", (name) => {
      const result = setImage(text, { name, newTag: NEW_TAG });
      if (!result.ok) throw new Error(result.reason);
      expect(result.changed).toBe(true);
      expect(result.text).toBe(expectedLines(text, name, "newTag", NEW_TAG, "digest"));
      expect(parse(result.text)).toEqual(expectedJs(text, name, { newTag: NEW_TAG }, "digest"));
    });

    it.each(images.map((image) => [image.name]))("sets a digest on %s, replacing its tag", (name) => {
      const result = setImage(text, { name, digest: NEW_DIGEST });
      if (!result.ok) throw new Error(result.reason);
      expect(result.text).toBe(expectedLines(text, name, "digest", NEW_DIGEST, "newTag"));
      expect(parse(result.text)).toEqual(expectedJs(text, name, { digest: NEW_DIGEST }, "newTag"));
    });

    it.each(images.map((image) => [image.name]))("keeps the tag with %s=*:*@digest", (name) => {
      const result = setImage(text, change(`${name}=*:*@${NEW_DIGEST}`));
      if (!result.ok) throw new Error(result.reason);
      expect(result.text).toBe(expectedLines(text, name, "digest", NEW_DIGEST, "no-such-key"));
    });

    it("changes nothing when the tag is already set", () => {
      const first = images[0];
      if (!first) throw new Error("no images");
      const once = mustSet(text, { name: first.name, newTag: NEW_TAG });
      const again = setImage(once, { name: first.name, newTag: NEW_TAG });
      expect(again).toEqual({ ok: true, text: once, changed: false, before: { ...first, name: undefined, newTag: NEW_TAG, digest: undefined } });
    });
  });

  const others = sources.filter((source) => !source.hasImages && !["059.yaml", "154.yaml"].includes(source.file));
  it.each(others.map((source) => [source.file]))("%s: adds an images list after every original byte", (file) => {
    const text = corpusText(file);
    const result = setImage(text, change("ghcr.io/acme/app:v1"));
    if (!result.ok) throw new Error(result.reason);
    const eol = text.includes("\r\n") ? "\r\n" : "\n";
    const added = result.text.slice(text.length - (text.endsWith("\n") ? 0 : 0));
    expect(result.text.startsWith(text)).toBe(true);
    expect(added).toMatch(new RegExp(`^(${eol})?images:${eol} *- name: ghcr\\.io/acme/app${eol} +newTag: v1(${eol})?$`));
    expect(added.endsWith(eol)).toBe(text.endsWith("\n"));
    expect(parse(result.text)).toEqual({ ...(parse(text) as Js), images: [{ name: "ghcr.io/acme/app", newTag: "v1" }] });
  });

  it.each([
    ["059.yaml", "not-kustomization", /empty/],
    ["154.yaml", "not-kustomization", /template/],
  ] as const)("refuses %s as %s, without throwing", (file, kind, reason) => {
    const text = corpusText(file);
    for (const result of [setImage(text, change("app:v1")), readImages(text)]) {
      expect(result).toMatchObject({ ok: false, kind });
      if (!result.ok) expect(result.reason).toMatch(reason);
    }
  });

  it("edits 109.yaml, whose {{ }} placeholders are only runtime data inside configMap literals", () => {
    const text = corpusText("109.yaml");
    const result = setImage(text, change("quay.io/konflux-ci/integration-service:v2"));
    if (!result.ok) throw new Error(result.reason);
    expect(result.text).toBe(
      text.replace("  newTag: c228381abd50c3f03a1b1e9f1d9ac95d0df2ede4\n", "  newTag: v2\n"),
    );
  });
});
