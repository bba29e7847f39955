// A generator of kustomization-shaped YAML text, built from a small grammar rather than by
// serializing objects, so the text has what real and hostile files have: block and flow styles,
// all scalar styles, anchors and aliases, tags, comments, duplicate keys, deep nesting, huge
// scalars, CRLF, a BOM, several documents. Most of what it makes is valid YAML; some is not, on
// purpose. Not a test file: vitest only collects *.test.ts.
import fc from "fast-check";
import { hostileString, sha256Digest, validImageName, validTag } from "./arbitraries.js";

type ScalarStyle = "plain" | "single" | "double" | "literal" | "folded";

export type YNode =
  | { kind: "scalar"; value: string; style: ScalarStyle; anchor?: string; tag?: string; comment?: string }
  | { kind: "alias"; name: string }
  | { kind: "map"; flow: boolean; anchor?: string; entries: YEntry[] }
  | { kind: "seq"; flow: boolean; anchor?: string; items: YNode[] };

export interface YEntry {
  key: string;
  keyStyle: "plain" | "single" | "double";
  value: YNode;
  /** A full-line comment written before the entry (block mappings only). */
  before?: string;
}

// ---------------------------------------------------------------------------------------------
// Rendering

const pad = (n: number) => " ".repeat(n);

function quoteSingle(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

function quoteDouble(value: string): string {
  return JSON.stringify(value);
}

function renderKey(entry: YEntry): string {
  if (entry.keyStyle === "single") return quoteSingle(entry.key);
  if (entry.keyStyle === "double") return quoteDouble(entry.key);
  return entry.key;
}

function props(node: { anchor?: string; tag?: string }): string {
  return `${node.tag ? `${node.tag} ` : ""}${node.anchor ? `&${node.anchor} ` : ""}`;
}

/** A node on one line: scalars (block scalars become double-quoted), aliases, flow collections. */
function inline(node: YNode): string {
  switch (node.kind) {
    case "alias":
      return `*${node.name}`;
    case "scalar": {
      const text =
        node.style === "single"
          ? quoteSingle(node.value)
          : node.style === "plain"
            ? node.value
            : quoteDouble(node.value);
      return `${props(node)}${text}`;
    }
    case "map":
      return `${props(node)}{${node.entries.map((e) => `${renderKey(e)}: ${inline(e.value)}`).join(", ")}}`;
    case "seq":
      return `${props(node)}[${node.items.map(inline).join(", ")}]`;
  }
}

const isBlockCollection = (node: YNode) => (node.kind === "map" || node.kind === "seq") && !node.flow;
const hasItems = (node: YNode) =>
  (node.kind === "map" && node.entries.length > 0) || (node.kind === "seq" && node.items.length > 0);

/** What follows `key:` (or `-`) for a value that belongs at `indent`. */
function afterIndicator(node: YNode, indent: number, indentless: boolean): string {
  if (node.kind === "scalar" && (node.style === "literal" || node.style === "folded")) {
    const lines = node.value.split("\n").map((line) => (line === "" ? "" : `${pad(indent + 2)}${line}`));
    return ` ${props(node)}${node.style === "literal" ? "|" : ">"}\n${lines.join("\n")}`;
  }
  if (isBlockCollection(node) && hasItems(node)) {
    const head = node.kind === "scalar" || node.kind === "alias" ? "" : props(node).trimEnd();
    const inner = node.kind === "seq" && indentless ? indent : indent + 2;
    return `${head ? ` ${head}` : ""}\n${renderBlock(node, inner)}`;
  }
  const comment = node.kind === "scalar" && node.comment ? ` # ${node.comment}` : "";
  return ` ${inline(node)}${comment}`;
}

function renderBlock(node: YNode, indent: number): string {
  if (node.kind === "map" && !node.flow && node.entries.length > 0) {
    return node.entries
      .map(
        (e) =>
          `${e.before !== undefined ? `${pad(indent)}# ${e.before}\n` : ""}${pad(indent)}${renderKey(e)}:${afterIndicator(e.value, indent, true)}`,
      )
      .join("\n");
  }
  if (node.kind === "seq" && !node.flow && node.items.length > 0) {
    return node.items
      .map((item) => {
        if (isBlockCollection(item) && hasItems(item) && !(item as { anchor?: string }).anchor) {
          // Compact form: the first line of the nested block goes on the dash's line.
          const nested = renderBlock(item, indent + 2);
          return `${pad(indent)}- ${nested.slice(indent + 2)}`;
        }
        return `${pad(indent)}-${afterIndicator(item, indent, false)}`;
      })
      .join("\n");
  }
  return `${pad(indent)}${inline(node)}`;
}

export interface Framing {
  crlf: boolean;
  finalNewline: boolean;
  bom: boolean;
  header: "" | "---\n" | "%YAML 1.2\n---\n" | "# $imagepolicy comments follow\n";
  trailer: "" | "\n...\n" | "\n---\n" | "\n---\nkind: Other\n";
}

/** The document as text, framed (line endings, BOM, directives, trailing documents). */
export function renderDocument(root: YNode, framing: Framing): string {
  let text = `${framing.header}${renderBlock(root, 0)}${framing.trailer}`;
  if (framing.finalNewline && !text.endsWith("\n")) text += "\n";
  if (!framing.finalNewline) text = text.replace(/\n+$/, "");
  if (framing.crlf) text = text.replace(/\n/g, "\r\n");
  return framing.bom ? `\ufeff${text}` : text;
}

// ---------------------------------------------------------------------------------------------
// Generators
//
// Two dialects: "clean" text is valid YAML with unique keys and no aliases in most files (so the
// interesting paths, editing and reading back, are reached), "hostile" text uses everything.

const ANCHORS = ["a", "b", "img", "base", "x1"];

/** Real field names of a Kustomization (and image entries), Go-folded variants, and noise. */
export const FIELD_NAMES = [
  "apiVersion",
  "kind",
  "resources",
  "bases",
  "components",
  "images",
  "namePrefix",
  "nameSuffix",
  "namespace",
  "commonLabels",
  "commonAnnotations",
  "labels",
  "patches",
  "patchesStrategicMerge",
  "patchesJson6902",
  "replacements",
  "configMapGenerator",
  "secretGenerator",
  "generatorOptions",
  "generators",
  "transformers",
  "validators",
  "crds",
  "configurations",
  "openapi",
  "helmCharts",
  "replicas",
  "buildMetadata",
  "name",
  "newName",
  "newTag",
  "digest",
  "path",
  "files",
  "envs",
  "literals",
  "Resources",
  "RESOURCES",
  "reſources",
  "<<",
  "?",
  "",
  "k",
];

/** Words that read back as themselves, or as another type (1.20, yes, null), written plain. */
const SAFE_WORDS = [
  "app",
  "nginx",
  "1.20",
  "1.0",
  "01",
  "yes",
  "no",
  "on",
  "null",
  "~",
  "true",
  "0x1F",
  "1e3",
  ".inf",
  "1:20",
  "1_000",
  "2001-12-14",
  "v1.2.3",
  "latest",
  "ghcr.io/acme/api",
  "../base",
  "/etc/passwd",
  "https://github.com/acme/x?ref=main",
  "a b",
];
/** Words that break a plain scalar, or mean something else there. */
const RISKY_WORDS = [
  "{{ .Values.tag }}",
  "a #b",
  "a: b",
  "-x",
  "? x",
  "%x",
  "@x",
  "`x`",
  "x,y",
  "[x]",
  "{x}",
  "*a",
  "&a x",
];

const str = (value: string, style: ScalarStyle = "plain"): YNode => ({ kind: "scalar", value, style });

/** `arb` about once in `oneIn` draws, otherwise undefined. */
function sometimes<T>(arb: fc.Arbitrary<T>, oneIn: number): fc.Arbitrary<T | undefined> {
  return fc.oneof({ weight: oneIn - 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });
}

const hugeText = fc
  .tuple(fc.constantFrom("x", "é", "😀", "a b ", "\\"), fc.integer({ min: 1_000, max: 8_000 }))
  .map(([piece, n]) => piece.repeat(n));

interface Grammar {
  node: (depth: number) => fc.Arbitrary<YNode>;
  scalar: fc.Arbitrary<YNode>;
  key: fc.Arbitrary<string>;
  anchor: fc.Arbitrary<string | undefined>;
}

function grammar(clean: boolean, aliases = true): Grammar {
  const risky = aliases ? RISKY_WORDS : RISKY_WORDS.filter((word) => !word.startsWith("*"));
  const plainWord = clean ? fc.constantFrom(...SAFE_WORDS) : fc.constantFrom(...SAFE_WORDS, ...risky);
  const anchor = sometimes(fc.constantFrom(...ANCHORS), clean ? 20 : 5);
  const tag = sometimes(fc.constantFrom("!!str", "!!binary", "!custom", "!!int", "!!map"), clean ? 1000 : 10);
  // Plain text stays plain-safe in clean files; anything else is quoted there.
  const scalar: fc.Arbitrary<YNode> = fc
    .record({
      value: fc.oneof(
        { weight: 5, arbitrary: plainWord },
        { weight: 2, arbitrary: validTag },
        { weight: 3, arbitrary: hostileString(4) },
        {
          weight: 1,
          arbitrary: fc.oneof({ weight: 1, arbitrary: hugeText }, { weight: 4, arbitrary: fc.constant("") }),
        },
      ),
      style: fc.constantFrom<ScalarStyle>("plain", "plain", "plain", "single", "double", "literal", "folded"),
      anchor,
      tag,
      comment: sometimes(fc.constantFrom('{"$imagepolicy": "flux-system:app:tag"}', "x # y", "&a *a"), 8),
    })
    .map(({ value, style, anchor: a, tag: t, comment }) => {
      let chosen = style;
      if (clean && style === "plain" && !SAFE_WORDS.includes(value) && !/^[\w][\w.-]*$/.test(value)) chosen = "double";
      if (clean && (style === "literal" || style === "folded") && !/^[\x21-\x7e]+(?:\n[\x21-\x7e]+)*$/.test(value))
        chosen = "double";
      if (clean && style === "single" && /[\n\r\u2028\u2029\u0085]/.test(value)) chosen = "double";
      return {
        kind: "scalar" as const,
        value: chosen === "literal" || chosen === "folded" ? value.replace(/^\s+/gm, "") || "x" : value,
        style: chosen,
        ...(a ? { anchor: a } : {}),
        ...(t ? { tag: t } : {}),
        ...(comment ? { comment } : {}),
      };
    });
  const alias: fc.Arbitrary<YNode> = fc.constantFrom(...ANCHORS, "missing").map((name) => ({ kind: "alias", name }));
  const key = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...FIELD_NAMES) }, { weight: 1, arbitrary: plainWord });
  const keyStyle = fc.constantFrom<YEntry["keyStyle"]>("plain", "plain", "plain", "single", "double");
  const comment = sometimes(fc.constantFrom("$imagepolicy: flux-system:app", "- not: yaml", "---"), 10);
  const entries = (value: fc.Arbitrary<YNode>) => {
    const entry = fc.record({ key, keyStyle, value, before: comment }).map(withoutUndefined);
    return clean ? fc.uniqueArray(entry, { maxLength: 4, selector: (e) => e.key }) : fc.array(entry, { maxLength: 4 });
  };
  const node = (depth: number): fc.Arbitrary<YNode> =>
    fc.letrec<{ node: YNode; map: YNode; seq: YNode }>((tie) => ({
      node: fc.oneof(
        { depthSize: "small", maxDepth: depth, withCrossShrink: true },
        { weight: 4, arbitrary: scalar },
        { weight: clean || !aliases ? 0 : 1, arbitrary: alias },
        { weight: 2, arbitrary: tie("map") },
        { weight: 2, arbitrary: tie("seq") },
      ),
      map: fc
        .record({ flow: fc.boolean(), anchor, entries: entries(tie("node")) })
        .map(({ flow, anchor: a, entries: list }) => ({
          kind: "map" as const,
          flow,
          entries: list,
          ...(a ? { anchor: a } : {}),
        })),
      seq: fc
        .record({ flow: fc.boolean(), anchor, items: fc.array(tie("node"), { maxLength: 4 }) })
        .map(({ flow, anchor: a, items }) => ({ kind: "seq" as const, flow, items, ...(a ? { anchor: a } : {}) })),
    })).node;
  return { node, scalar, key, anchor };
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** An image name an entry may carry, and a change may name. */
export const ENTRY_NAMES = ["app", "nginx", "ghcr.io/acme/api", "gcr.io/PROJECT_ID/IMAGE", "busybox"];

function imageEntry(clean: boolean, g: Grammar): fc.Arbitrary<YNode> {
  const name = fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...ENTRY_NAMES) },
    { weight: 1, arbitrary: hostileString(3) },
  );
  const value = fc.oneof(
    { weight: 3, arbitrary: validTag },
    { weight: 2, arbitrary: validImageName },
    { weight: 2, arbitrary: sha256Digest },
    { weight: 2, arbitrary: fc.constantFrom(...SAFE_WORDS) },
    { weight: 1, arbitrary: hostileString(3) },
  );
  const field = fc.tuple(
    fc.constantFrom("newName", "newTag", "digest", "newTag", "extra", "name"),
    value,
    fc.constantFrom<ScalarStyle>("plain", "plain", "single", "double", "literal"),
  );
  return fc
    .record({
      flow: fc.boolean(),
      anchor: g.anchor,
      name,
      nameStyle: fc.constantFrom<ScalarStyle>("plain", "single", "double"),
      fields: clean
        ? fc
            .uniqueArray(field, { maxLength: 4, selector: ([key]) => key })
            .map((list) => list.filter(([k]) => k !== "name"))
        : fc.array(field, { maxLength: 4 }),
      emptyDigest: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
    })
    .map(({ flow, anchor, name: entryName, nameStyle, fields, emptyDigest }) => {
      const safe = (text: string, style: ScalarStyle): ScalarStyle => {
        if (!clean) return flow && style === "literal" ? "double" : style;
        if (style === "plain" && !/^[\w./:@-]+$/.test(text)) return "double";
        if (style === "literal" && (flow || !/^[\x21-\x7e]+$/.test(text))) return "double";
        if (style === "single" && /[\n\r\u2028\u2029\u0085]/.test(text)) return "double";
        return style;
      };
      const list: YEntry[] = [{ key: "name", keyStyle: "plain", value: str(entryName, safe(entryName, nameStyle)) }];
      for (const [key, text, style] of fields)
        list.push({
          key,
          keyStyle: "plain",
          value: emptyDigest && key === "digest" ? str("", "plain") : str(text, safe(text, style)),
        });
      return { kind: "map" as const, flow, entries: list, ...(anchor ? { anchor } : {}) };
    });
}

function kustomizationRoot(clean: boolean, depth: number, aliases: boolean): fc.Arbitrary<YNode> {
  const g = grammar(clean, aliases);
  const images: fc.Arbitrary<YNode> = fc.oneof(
    {
      weight: 10,
      arbitrary: fc
        .record({ flow: fc.boolean(), items: fc.array(imageEntry(clean, g), { maxLength: 4 }) })
        .map(({ flow, items }) => ({ kind: "seq" as const, flow, items })),
    },
    { weight: 1, arbitrary: fc.constantFrom(str(""), str("~"), str("null"), str("[]", "plain")) },
    { weight: clean ? 0 : 1, arbitrary: g.node(2) },
  );
  const resources = fc
    .record({
      flow: fc.boolean(),
      items: fc.array(
        fc.oneof(
          fc.constantFrom(
            "deployment.yaml",
            "../../base",
            "../base",
            "service.yaml",
            "./x",
            "https://github.com/acme/x",
          ),
          hostileString(3),
        ),
        { maxLength: 3 },
      ),
    })
    .map(({ flow, items }) => ({
      kind: "seq" as const,
      flow,
      items: items.map((p) => str(p, clean && !/^[\w./:-]+$/.test(p) ? "double" : "plain")),
    }));
  const keyStyle = fc.constantFrom<YEntry["keyStyle"]>("plain", "plain", "plain", "single", "double");
  const entry: fc.Arbitrary<YEntry> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ key: fc.constant("images"), keyStyle, value: images }) },
    { weight: 2, arbitrary: fc.record({ key: fc.constant("resources"), keyStyle, value: resources }) },
    { weight: 3, arbitrary: fc.record({ key: g.key, keyStyle, value: g.node(3) }) },
  );
  const deep = fc.integer({ min: 1, max: depth }).map((levels): YEntry => {
    let node: YNode = str("leaf");
    for (let i = 0; i < levels; i++)
      node =
        i % 2
          ? { kind: "seq", flow: i % 3 === 0, items: [node] }
          : { kind: "map", flow: i % 3 === 0, entries: [{ key: "k", keyStyle: "plain", value: node }] };
    return { key: "commonAnnotations", keyStyle: "plain", value: node };
  });
  return fc
    .record({
      apiVersion: fc.option(fc.constantFrom("kustomize.config.k8s.io/v1beta1", "v1"), { freq: 5, nil: undefined }),
      kind: fc.option(
        clean
          ? fc.constantFrom("Kustomization", "Component")
          : fc.constantFrom("Kustomization", "Component", "Deployment", "kustomization", "Kustomization "),
        { freq: 4, nil: undefined },
      ),
      // (fc.option leaves a value out once in `freq` draws: apiVersion and kind are usually there.)
      entries: clean
        ? fc.uniqueArray(entry, {
            minLength: 1,
            maxLength: 5,
            selector: (e) => (["apiVersion", "kind"].includes(e.key) ? "images" : e.key),
          })
        : fc.array(entry, { minLength: 1, maxLength: 5 }),
      deep: sometimes(deep, 6),
      rootFlow: fc.integer({ min: 0, max: 15 }).map((n) => n === 0),
    })
    .map(({ apiVersion, kind, entries, deep: deepEntry, rootFlow }): YNode => {
      const all: YEntry[] = [];
      if (apiVersion) all.push({ key: "apiVersion", keyStyle: "plain", value: str(apiVersion) });
      if (kind) all.push({ key: "kind", keyStyle: "plain", value: str(kind) });
      all.push(...entries);
      if (deepEntry && !(clean && all.some((e) => e.key === deepEntry.key))) all.push(deepEntry);
      return { kind: "map", flow: rootFlow, entries: all };
    });
}

export interface KustomizationOptions {
  /** How deep the extra nesting goes, besides the file's own structure (default 20). */
  depth?: number;
  /** Whether hostile files may hold aliases (default true). */
  aliases?: boolean;
}

/** A kustomization-shaped file: usually valid YAML with images, sometimes hostile in shape. */
export function kustomizationText(options: KustomizationOptions = {}): fc.Arbitrary<string> {
  const depth = options.depth ?? 20;
  const aliases = options.aliases ?? true;
  const framing = (clean: boolean): fc.Arbitrary<Framing> =>
    fc.record({
      crlf: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
      finalNewline: fc.integer({ min: 0, max: 4 }).map((n) => n !== 0),
      bom: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
      header: fc.constantFrom<Framing["header"]>(
        "",
        "",
        "",
        "",
        "---\n",
        "%YAML 1.2\n---\n",
        "# $imagepolicy comments follow\n",
      ),
      trailer: clean
        ? fc.constantFrom<Framing["trailer"]>("", "", "", "", "", "", "\n...\n")
        : fc.constantFrom<Framing["trailer"]>("", "", "\n...\n", "\n---\n", "\n---\nkind: Other\n"),
    });
  const file = (clean: boolean) =>
    fc
      .tuple(kustomizationRoot(clean, depth, aliases), framing(clean))
      .map(([node, frame]) => renderDocument(node, frame));
  return fc.oneof(
    { weight: 6, arbitrary: file(true) },
    { weight: 3, arbitrary: file(false) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(grammar(false, aliases).node(4), framing(false))
        .map(([node, frame]) => renderDocument(node, frame)),
    },
  );
}
