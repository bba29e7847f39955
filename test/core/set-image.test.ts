import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseImageSpec, type ImageChange } from "../../src/core/image-spec.js";
import { readImages, setImage, setImages } from "../../src/core/set-image.js";
import { MAX_YAML_BYTES, MAX_YAML_DEPTH } from "../../src/core/yaml-limits.js";

const CORPUS = new URL("../fixtures/kustomize-corpus/files/", import.meta.url);
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
  const start = lines.findIndex((line) =>
    new RegExp(`^(\\s*)-(\\s+)name:\\s*(["']?)${escaped}\\3\\s*(#.*)?\\r?$`).test(line),
  );
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
      const { name: _name, digest: _digest, ...kept } = first;
      expect(again).toEqual({ ok: true, text: once, changed: false, before: { ...kept, newTag: NEW_TAG } });
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
    expect(added).toMatch(
      new RegExp(`^(${eol})?images:${eol} *- name: ghcr\\.io/acme/app${eol} +newTag: v1(${eol})?$`),
    );
    expect(added.endsWith(eol)).toBe(text.endsWith("\n"));
    expect(parse(result.text)).toEqual({
      ...(parse(text) as Js),
      images: [{ name: "ghcr.io/acme/app", newTag: "v1" }],
    });
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
    expect(result.text).toBe(text.replace("  newTag: c228381abd50c3f03a1b1e9f1d9ac95d0df2ede4\n", "  newTag: v2\n"));
  });
});

describe("set-image golden files", () => {
  const cases = JSON.parse(readFileSync(new URL("cases.json", GOLDEN), "utf8")) as Record<string, string[]>;
  const inputs = readdirSync(GOLDEN).filter((file) => file.endsWith(".in.yaml"));

  it("has specs for every input and an expected output for every case", () => {
    expect(inputs.map((file) => file.replace(".in.yaml", "")).sort()).toEqual(Object.keys(cases).sort());
  });

  it.each(Object.entries(cases))("%s", (name, specs) => {
    const input = readFileSync(new URL(`${name}.in.yaml`, GOLDEN), "utf8");
    const expected = readFileSync(new URL(`${name}.out.yaml`, GOLDEN), "utf8");
    expect(mustSet(input, ...specs.map(change))).toBe(expected);
  });

  it("keeps CRLF line endings and a missing final newline as they are", () => {
    const crlf = readFileSync(new URL("crlf.out.yaml", GOLDEN), "utf8");
    expect(
      crlf
        .split("\n")
        .slice(0, -1)
        .every((line) => line.endsWith("\r")),
    ).toBe(true);
    for (const name of ["no-final-newline", "missing-images-no-final-newline"]) {
      expect(readFileSync(new URL(`${name}.in.yaml`, GOLDEN), "utf8").endsWith("\n")).toBe(false);
      expect(readFileSync(new URL(`${name}.out.yaml`, GOLDEN), "utf8").endsWith("\n")).toBe(false);
    }
  });

  it("writes numeric-looking tags so that YAML reads them back as strings", () => {
    const out = readFileSync(new URL("numeric-tags.out.yaml", GOLDEN), "utf8");
    expect((parse(out) as { images: Js[] }).images.map((image) => image.newTag)).toEqual([
      "1.20",
      "1.20",
      "1e3",
      "true",
      "0x1F",
      "yes",
    ]);
  });
});

describe("setImage semantics", () => {
  const base = `images:\n  - name: app\n    newName: registry.example.com/app\n    newTag: v1\n`;

  it("reports the previous values and whether anything changed", () => {
    expect(setImage(base, change("app:v2"))).toEqual({
      ok: true,
      text: base.replace("v1", "v2"),
      changed: true,
      before: { newName: "registry.example.com/app", newTag: "v1" },
    });
    expect(setImage(base, change("app:v1"))).toMatchObject({ ok: true, text: base, changed: false });
  });

  it("keeps newName when the spec has none (kustomize would drop it)", () => {
    expect(readImages(mustSet(base, change("app:v2")))).toEqual({
      ok: true,
      images: [{ name: "app", newName: "registry.example.com/app", newTag: "v2" }],
    });
  });

  it("sets a tag and a digest together with name:tag@digest", () => {
    const out = mustSet(base, change(`app:v3@${NEW_DIGEST}`));
    expect(out).toBe(`${base.replace("v1", "v3")}    digest: ${NEW_DIGEST}\n`);
  });

  it("re-quotes an unquoted numeric tag even when its text stays the same", () => {
    const text = "images:\n- name: app\n  newTag: 1.20\n";
    expect(setImage(text, change("app:1.20"))).toMatchObject({
      ok: true,
      changed: true,
      text: 'images:\n- name: app\n  newTag: "1.20"\n',
    });
  });

  it("applies several changes in order, the later one winning", () => {
    expect(mustSet(base, change("app:v2"), change("app:v3"))).toBe(base.replace("v1", "v3"));
    expect(setImages(base, [change("app:v2"), change("app:v3")])).not.toHaveProperty("before");
  });

  it("matches names exactly", () => {
    const out = mustSet(base, change("registry.example.com/app:v2"));
    expect(readImages(out)).toMatchObject({
      ok: true,
      images: [
        { name: "app", newTag: "v1" },
        { name: "registry.example.com/app", newTag: "v2" },
      ],
    });
  });

  it("edits an anchored value nobody refers to, and keeps the anchor", () => {
    const text = "images:\n  - name: app\n    newTag: &t v1\n";
    expect(mustSet(text, change("app:v2"))).toBe("images:\n  - name: app\n    newTag: &t v2\n");
  });

  it("edits an anchored entry and an anchored list nobody refers to, and keeps the anchors", () => {
    const text = "images: &list\n  - &entry\n    name: app\n    newTag: v1\n";
    expect(mustSet(text, change("app:v2"), change("web:v1"))).toBe(
      "images: &list\n  - &entry\n    name: app\n    newTag: v2\n  - name: web\n    newTag: v1\n",
    );
  });

  it.each([
    ["two entries with the same name", "images:\n- name: app\n- name: app\n", /2 entries named "app"/],
    ["images that is not a list", "images:\n  app: v1\n", /images is not a list/],
    ["an entry that is not a mapping", "images:\n  - app\n", /entry 1 is not a mapping/],
    ["an entry without a name", "images:\n  - newTag: v1\n", /entry 1 has no name/],
    ["a block scalar value", "images:\n  - name: app\n    newTag: |\n      v1\n", /block scalar/],
    ["a merge key in the entry", "images:\n  - name: app\n    <<: {newTag: v1}\n", /merge key/],
    ["invalid YAML", "images:\n  - name: app\n   newTag: [v1\n", /invalid YAML/],
  ])("refuses %s with kind invalid", (_what, text, reason) => {
    const result = setImage(text, change("app:v2"));
    expect(result).toMatchObject({ ok: false, kind: "invalid" });
    if (!result.ok) expect(result.reason).toMatch(reason);
  });

  it.each([
    ["an empty file", "", /empty/],
    ["a blank file", "  \n\n", /empty/],
    ["a file with only comments", "# nothing here\n", /only comments/],
    ["a document with only ---", "---\n", /no YAML content/],
    ["several documents", "resources: [a]\n---\nresources: [b]\n", /2 YAML documents/],
    ["a list at the top", "- a\n- b\n", /not a mapping/],
    ["a scalar at the top", "hello\n", /not a mapping/],
    ["another kind of object", "apiVersion: apps/v1\nkind: Deployment\n", /kind is "Deployment"/],
    ["a Go template", "images:\n  - name: app\n    newTag: {{ .Values.tag }}\n", /template/],
    [
      "a Go template that is valid YAML",
      'images:\n  - name: app\n    newTag: "{{ .Values.tag }}"\n',
      /images hold template syntax/,
    ],
    ["a Go template outside values", "{{- if .Values.enabled }}\nimages: []\n{{- end }}\n", /template/],
    ["a Liquid template", "resources:\n{% for r in list %}\n  - {{ r }}\n{% endfor %}\n", /template/],
  ])("refuses %s with kind not-kustomization", (_what, text, reason) => {
    for (const result of [setImage(text, change("app:v2")), readImages(text)]) {
      expect(result).toMatchObject({ ok: false, kind: "not-kustomization" });
      if (!result.ok) expect(result.reason).toMatch(reason);
    }
  });

  it.each([
    [{ name: "app", newTag: "-bad" }, /tag "-bad" is invalid/],
    [{ name: "app", digest: "sha256:abc" }, /sha256 needs exactly 64/],
    [{ name: "app", digest: `sha512:${"f".repeat(128)}` }, /uses "sha512": only sha256 digests are supported/],
    [{ name: "app", newName: "Registry/App" }, /must be lowercase/],
    [{ name: "app with space", newTag: "v1" }, /may not contain whitespace/],
    [{ name: "app", newTag: "v1\n  evil: true" }, /invalid/],
  ])("refuses an invalid change %j without touching the text", (bad, reason) => {
    const result = setImage(base, bad);
    expect(result).toMatchObject({ ok: false, kind: "invalid" });
    if (!result.ok) expect(result.reason).toMatch(reason);
  });
});

describe("YAML aliases", () => {
  const refused = /^YAML aliases are not supported in an overlay Conveyor edits \(".*" at line \d+\)/;

  /** Each level lists the previous one `width` times: `levels` levels expand to width^levels scalars. */
  function aliasBomb(levels: number, width: number): string {
    const lines = ["apiVersion: kustomize.config.k8s.io/v1beta1", "kind: Kustomization"];
    lines.push("images:", "  - name: app", "    newTag: v1");
    lines.push(`l0: &l0 [${Array(width).fill("lol").join(",")}]`);
    for (let level = 1; level < levels; level++) {
      lines.push(
        `l${level}: &l${level} [${Array(width)
          .fill(`*l${level - 1}`)
          .join(",")}]`,
      );
    }
    return `${lines.join("\n")}\n`;
  }

  it("refuses an alias bomb before expanding it", () => {
    // The shape that blocked the event loop for minutes: 10^9 scalars from well under 1 KiB.
    const bomb = aliasBomb(9, 10);
    expect(bomb.length).toBeLessThan(1024);
    for (const result of [setImage(bomb, change("app:v2")), readImages(bomb)]) {
      expect(result).toMatchObject({ ok: false, kind: "invalid" });
      if (!result.ok) expect(result.reason).toMatch(refused);
    }
  });

  it.each([
    ["a small alias bomb", aliasBomb(3, 3)],
    ["an alias outside images", "labels:\n  a: &v v1\n  b: *v\nimages:\n  - name: app\n    newTag: v1\n"],
    ["an image value that is an alias", "x: &t v1\nimages:\n  - name: app\n    newTag: *t\n"],
    ["an anchored image value used elsewhere", "images:\n  - name: app\n    newTag: &t v1\nlabels:\n  version: *t\n"],
    ["an entry that is an alias", "base: &b {name: app, newTag: v1}\nimages:\n  - *b\n"],
    ["an anchored entry that is reused", "images:\n  - &b\n    name: app\n    newTag: v1\nother: [*b]\n"],
    ["images that is an alias", "list: &l [{name: app, newTag: v1}]\nimages: *l\n"],
    ["a merge key", "x: &x {newTag: v1}\nimages:\n  - name: app\n    <<: *x\n"],
    ["an alias as a key", "k: &k name\nlabels:\n  *k : x\nimages: []\n"],
    ["a digest whose anchor is reused", `images:\n  - name: app\n    digest: &d ${NEW_DIGEST}\nx: *d\n`],
  ])("refuses a file with %s, whatever the change", (_what, text) => {
    for (const spec of ["app:v2", `app@${NEW_DIGEST}`, "other:v1"]) {
      const result = setImage(text, change(spec));
      expect(result).toMatchObject({ ok: false, kind: "invalid" });
      if (!result.ok) expect(result.reason).toMatch(refused);
    }
    const read = readImages(text);
    expect(read).toMatchObject({ ok: false, kind: "invalid" });
    if (!read.ok) expect(read.reason).toMatch(refused);
  });

  it("names the first alias and its line", () => {
    const result = setImage("a: &x 1\nb: *x\nc: *x\nimages: []\n", change("app:v1"));
    expect(result).toMatchObject({ ok: false, reason: expect.stringContaining('("*x" at line 2)') });
  });
});

describe("hostile sizes and shapes", () => {
  const head =
    "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nimages:\n  - name: app\n    newTag: v1\n";

  /** `head` and `prefix`, then `line(0)`, `line(1)`, ... while the text, `tail` included, fits in `bytes` (ASCII). */
  function filled(line: (i: number) => string, bytes: number, prefix = "", tail = ""): string {
    const parts = [head, prefix];
    let length = head.length + prefix.length + tail.length;
    for (let i = 0; length + line(i).length <= bytes; i++) {
      parts.push(line(i));
      length += line(i).length;
    }
    parts.push(tail);
    return parts.join("");
  }

  it("refuses a kustomization larger than the cap, counting UTF-8 bytes", () => {
    const padded = filled(() => "# padding\n", MAX_YAML_BYTES + 10);
    const wide = `${head}# ${"é".repeat(MAX_YAML_BYTES / 2)}\n`; // fewer characters than the cap, more bytes
    expect(wide.length).toBeLessThan(MAX_YAML_BYTES);
    for (const text of [padded, wide]) {
      for (const result of [setImage(text, change("app:v2")), readImages(text)]) {
        expect(result).toMatchObject({
          ok: false,
          kind: "invalid",
          reason: expect.stringMatching(/larger than 256 KiB/),
        });
      }
    }
  });

  it("refuses the 5 MB kustomization of many keys without parsing it", () => {
    const text = filled((i) => `key${i}: ${i}\n`, 5 * 1024 * 1024);
    expect(setImage(text, change("app:v2"))).toMatchObject({ ok: false, reason: expect.stringMatching(/larger than/) });
  });

  it("edits a kustomization just under the cap made of many keys in one mapping", () => {
    // Over 30,000 keys: the yaml package's own duplicate-key check compares each with every earlier one.
    const text = filled((i) => ` x${i.toString(36)}:\n`, MAX_YAML_BYTES, "commonAnnotations:\n");
    expect(text.length).toBeGreaterThan(MAX_YAML_BYTES - 16);
    expect(text.split("\n").length).toBeGreaterThan(30_000);
    expect(setImage(text, change("app:v2"))).toEqual({
      ok: true,
      text: text.replace("newTag: v1", "newTag: v2"),
      changed: true,
      before: { newTag: "v1" },
    });
  });

  it("still refuses a duplicate key at the end of a file just under the cap", () => {
    const text = filled((i) => `  x${i.toString(36)}: v\n`, MAX_YAML_BYTES, "labels:\n", "  x0: again\n");
    const result = setImage(text, change("app:v2"));
    expect(result).toMatchObject({ ok: false, kind: "invalid" });
    if (!result.ok)
      expect(result.reason).toMatch(/^invalid YAML: Map keys must be unique; "x0" appears twice \(line \d+\)$/);
  });

  it("tells keys apart as YAML does: 1 and '1' differ, 1 and 0x1 do not", () => {
    expect(setImage(`${head}labels:\n  1: a\n  "1": b\n`, change("app:v2"))).toMatchObject({ ok: true });
    expect(setImage(`${head}labels:\n  1: a\n  0x1: b\n`, change("app:v2"))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/must be unique/),
    });
  });

  it("edits a file just under the cap full of template markers in string values", () => {
    const prefix = "configMapGenerator:\n  - name: c\n    literals:\n";
    const text = filled((i) => `      - K${i}={{ .Value }}\n`, MAX_YAML_BYTES, prefix);
    expect(setImage(text, change("app:v2"))).toMatchObject({
      ok: true,
      text: text.replace("newTag: v1", "newTag: v2"),
    });
  });

  it("refuses nesting deeper than the limit, and edits nesting at the limit", () => {
    // The top-level mapping is one level, so `x:` can hold MAX_YAML_DEPTH - 1 more.
    const nested = (levels: number) => `${head}x: ${"[".repeat(levels)}1${"]".repeat(levels)}\n`;
    expect(setImage(nested(MAX_YAML_DEPTH - 1), change("app:v2"))).toMatchObject({ ok: true, changed: true });
    for (const levels of [MAX_YAML_DEPTH, 5_000]) {
      const result = setImage(nested(levels), change("app:v2"));
      expect(result).toMatchObject({ ok: false, kind: "invalid" });
      if (!result.ok) expect(result.reason).toBe(`YAML nests deeper than ${MAX_YAML_DEPTH} levels`);
    }
  });
});

describe("readImages", () => {
  it("returns values as the file spells them", () => {
    const text = `images:\n- name: a\n  newTag: 1.20\n- name: b\n  newName: 'x/b'\n  digest: "${NEW_DIGEST}"\n- name: c\n`;
    expect(readImages(text)).toEqual({
      ok: true,
      images: [{ name: "a", newTag: "1.20" }, { name: "b", newName: "x/b", digest: NEW_DIGEST }, { name: "c" }],
    });
  });

  it("returns an empty list when there is no images key", () => {
    expect(readImages("resources: [a]\n")).toEqual({ ok: true, images: [] });
  });
});

describe("parseImageSpec", () => {
  const digest = NEW_DIGEST;
  it.each([
    ["app:v1", { name: "app", newTag: "v1" }],
    [`app@${digest}`, { name: "app", digest }],
    [`app:v1@${digest}`, { name: "app", newTag: "v1", digest }],
    ["app=registry.example.com/app", { name: "app", newName: "registry.example.com/app" }],
    ["app=registry.example.com/app:v1", { name: "app", newName: "registry.example.com/app", newTag: "v1" }],
    [`app=registry.example.com/app@${digest}`, { name: "app", newName: "registry.example.com/app", digest }],
    ["app=localhost:5000/app", { name: "app", newName: "localhost:5000/app" }],
    ["localhost:5000/app:v1", { name: "localhost:5000/app", newTag: "v1" }],
    ["app=*:v2", { name: "app", newName: "*", newTag: "v2" }],
    ["app=ghcr.io/x/app:*", { name: "app", newName: "ghcr.io/x/app", newTag: "*" }],
    [`app:*@${digest}`, { name: "app", newTag: "*", digest }],
    ["app:v1@*", { name: "app", newTag: "v1", digest: "*" }],
    ["gcr.io/PROJECT_ID/IMAGE:v1", { name: "gcr.io/PROJECT_ID/IMAGE", newTag: "v1" }],
  ])("%s", (spec, expected) => {
    expect(parseImageSpec(spec)).toEqual({ ok: true, value: expected });
  });

  it.each([
    ["", /empty/],
    ["app", /sets nothing/],
    ["app v1", /whitespace/],
    ["a=b=c", /more than one "="/],
    ["app=", /nothing after "="/],
    ["app=:v1", /no new name/],
    ["=ghcr.io/x:v1", /no image name/],
    [":v1", /no image name/],
    ["app:-x", /invalid tag: tag "-x" is invalid/],
    ["app@sha256:xyz", /invalid digest/],
    [`app@sha512:${"f".repeat(128)}`, /invalid digest: digest "sha512:f.*" uses "sha512": only sha256/],
    ["app=Upper/Case:v1", /invalid new name: repository "Upper\/Case" must be lowercase/],
    ["*:v1", /invalid image name/],
  ])("rejects %j", (spec, reason) => {
    const result = parseImageSpec(spec);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });
});
