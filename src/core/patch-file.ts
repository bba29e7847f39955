/**
 * Lossless edits of an overlay's patch files, the way blue-green slots and canary tracks carry
 * their own image: a Deployment patch per slot or track (`spec.template.spec.containers[].image`,
 * `spec.replicas`) and the Service patch whose selector names the live slot. As with `images:`
 * entries (set-image.ts), only the bytes of the value change; the result is re-parsed and must
 * mean exactly the old file with that one value changed, or the edit is refused.
 */
import { isMap, isScalar, isSeq, parseAllDocuments, visit, type Document, type Node, type YAMLMap } from "yaml";
import { quote } from "./names.js";
import {
  applySplices,
  column,
  detectEol,
  lineStart,
  renderScalar,
  sameJson,
  styleOf,
  type Splice,
} from "./set-image.js";
import {
  checkYamlText,
  duplicateKey,
  lineAt,
  UNTRUSTED_PARSE_OPTIONS,
  UNTRUSTED_TO_JS_OPTIONS,
} from "./yaml-limits.js";

export interface PatchSummary {
  kind: string;
  name: string;
  containers: Array<{ name: string; image?: string }>;
  replicas?: number;
  selector?: Record<string, string>;
}

export type PatchEdit = { ok: true; text: string; changed: boolean; before?: string } | { ok: false; reason: string };
export type PatchRead = ({ ok: true } & PatchSummary) | { ok: false; reason: string };

interface Loaded {
  text: string;
  doc: Document.Parsed;
  root: YAMLMap;
  summary: PatchSummary;
}

const refuse = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });

function load(text: string): Loaded | { ok: false; reason: string } {
  if (text.trim().length === 0) return refuse("the patch file is empty");
  const limit = checkYamlText(text);
  if (limit !== undefined) return refuse(limit);
  const docs = parseAllDocuments(text, { ...UNTRUSTED_PARSE_OPTIONS, keepSourceTokens: true });
  const list = Array.isArray(docs) ? docs : [];
  if (list.length !== 1) return refuse(`the patch file holds ${list.length} YAML documents; Conveyor edits one`);
  const doc = list[0] as Document.Parsed;
  if (doc.errors.length > 0) return refuse(`invalid YAML: ${doc.errors[0]?.message.split("\n")[0] ?? "parse error"}`);
  const duplicate = duplicateKey(doc);
  if (duplicate)
    return refuse(`invalid YAML: ${quote(duplicate.key)} appears twice (line ${lineAt(text, duplicate.offset)})`);
  let alias: number | undefined;
  visit(doc, {
    Alias(_, node) {
      alias ??= node.range?.[0] ?? 0;
    },
  });
  if (alias !== undefined)
    return refuse(`YAML aliases are not supported in a patch Conveyor edits (line ${lineAt(text, alias)})`);
  const root = doc.contents;
  if (!isMap(root)) return refuse("the patch is not a mapping (a JSON 6902 patch list is not edited)");
  const kind = root.get("kind");
  const name = root.getIn(["metadata", "name"]);
  if (typeof kind !== "string" || typeof name !== "string") return refuse("the patch has no kind or metadata.name");

  const summary: PatchSummary = { kind, name, containers: [] };
  const containers = root.getIn(["spec", "template", "spec", "containers"], true);
  if (isSeq(containers))
    for (const item of containers.items) {
      if (!isMap(item)) continue;
      const containerName = item.get("name");
      const image = item.get("image");
      if (typeof containerName === "string")
        summary.containers.push({ name: containerName, ...(typeof image === "string" ? { image } : {}) });
    }
  const replicas = root.getIn(["spec", "replicas"]);
  if (typeof replicas === "number") summary.replicas = replicas;
  const selector = root.getIn(["spec", "selector"], true);
  if (isMap(selector)) {
    summary.selector = {};
    for (const pair of selector.items)
      if (isScalar(pair.key) && isScalar(pair.value))
        summary.selector[String(pair.key.value)] = String(pair.value.value);
  }
  return { text, doc, root, summary };
}

const failed = (value: unknown): value is { ok: false; reason: string } =>
  typeof value === "object" && value !== null && (value as { ok?: unknown }).ok === false;

/** What a patch file is about: its kind, name, containers, replicas and selector. */
export function readPatch(text: string): PatchRead {
  const loaded = load(text);
  if (failed(loaded)) return loaded;
  return { ok: true, ...loaded.summary };
}

/** Splices `value` over the scalar `node`, keeping its quoting; checks the result means `expected`. */
function replaceScalar(
  loaded: Loaded,
  node: unknown,
  value: string,
  what: string,
  expected: (js: Record<string, unknown>) => void,
): PatchEdit {
  if (!isScalar(node) || !node.range) return refuse(`${what} is not a single value`);
  const style = styleOf(node);
  if (!style) return refuse(`${what} is a block scalar; write it on one line first`);
  const before = node.type === "PLAIN" ? loaded.text.slice(node.range[0], node.range[1]) : String(node.value);
  if (before === value) return { ok: true, text: loaded.text, changed: false, before };
  const rendered = typeof node.value === "number" ? value : renderScalar(value, style, false);
  return finish(loaded, [{ start: node.range[0], end: node.range[1], insert: rendered }], expected, before);
}

function finish(
  loaded: Loaded,
  splices: Splice[],
  expected: (js: Record<string, unknown>) => void,
  before?: string,
): PatchEdit {
  const text = applySplices(loaded.text, splices);
  const want = loaded.doc.toJS(UNTRUSTED_TO_JS_OPTIONS) as Record<string, unknown>;
  expected(want);
  const reloaded = load(text);
  if (failed(reloaded)) return refuse(`the edit would produce a broken file (${reloaded.reason}); file left unchanged`);
  if (!sameJson(reloaded.doc.toJS(UNTRUSTED_TO_JS_OPTIONS), want))
    return refuse("the edit would change more than the value; file left unchanged");
  return { ok: true, text, changed: true, ...(before !== undefined ? { before } : {}) };
}

/** Walks plain objects of the expected value (the patch's parsed form). */
function at(js: Record<string, unknown>, path: Array<string | number>): Record<string, unknown> {
  let node: unknown = js;
  for (const key of path) node = (node as Record<string | number, unknown>)[key];
  return node as Record<string, unknown>;
}

/** Sets the image of one container (`container`, or the patch's only container). */
export function setPatchImage(text: string, image: string, container?: string): PatchEdit {
  if (image.length === 0 || image.length > 512 || /\s/.test(image)) return refuse(`${quote(image)} is not an image`);
  const loaded = load(text);
  if (failed(loaded)) return loaded;
  const list = loaded.root.getIn(["spec", "template", "spec", "containers"], true);
  if (!isSeq(list)) return refuse(`${loaded.summary.name}'s patch has no spec.template.spec.containers list`);
  const names = loaded.summary.containers.map((c) => c.name);
  const index =
    container !== undefined
      ? list.items.findIndex((item) => isMap(item) && item.get("name") === container)
      : list.items.length === 1
        ? 0
        : -1;
  if (index < 0)
    return refuse(
      container !== undefined
        ? `${loaded.summary.name}'s patch has no container named ${quote(container)} (it has ${names.join(", ") || "none"})`
        : `${loaded.summary.name}'s patch has ${list.items.length} containers (${names.join(", ")}); name the container in the strategy's config`,
    );
  const entry = list.items[index];
  if (!isMap(entry)) return refuse(`container ${index + 1} of ${loaded.summary.name}'s patch is not a mapping`);
  const node = entry.get("image", true);
  if (node === undefined)
    return refuse(`container ${quote(entry.get("name"))} of ${loaded.summary.name}'s patch has no image to set`);
  return replaceScalar(loaded, node, image, `the image of ${loaded.summary.name}`, (js) => {
    at(js, ["spec", "template", "spec", "containers", index]).image = image;
  });
}

/** Sets `spec.replicas`, adding it as spec's first key when the patch has none. */
export function setPatchReplicas(text: string, replicas: number): PatchEdit {
  if (!Number.isInteger(replicas) || replicas < 0 || replicas > 100_000)
    return refuse(`${replicas} is not a replica count`);
  const loaded = load(text);
  if (failed(loaded)) return loaded;
  const spec = loaded.root.get("spec", true);
  if (!isMap(spec)) return refuse(`${loaded.summary.name}'s patch has no spec mapping`);
  const expected = (js: Record<string, unknown>) => {
    at(js, ["spec"]).replicas = replicas;
  };
  const node = spec.get("replicas", true);
  if (node !== undefined) {
    if (!isScalar(node) || typeof node.value !== "number")
      return refuse(`spec.replicas of ${loaded.summary.name}'s patch is not a number`);
    return replaceScalar(loaded, node, String(replicas), `spec.replicas of ${loaded.summary.name}`, expected);
  }
  const first = spec.items[0]?.key as Node | undefined;
  if (spec.flow || !first?.range) return refuse(`spec of ${loaded.summary.name}'s patch is not a block mapping`);
  const firstLine = lineStart(loaded.text, first.range[0]);
  if (loaded.text.slice(firstLine, first.range[0]).trim().length > 0)
    return refuse(`spec of ${loaded.summary.name}'s patch shares a line with other keys`);
  // Right under `spec:`, above any comment that belongs to the first key.
  const specKey = loaded.root.items.find((pair) => isScalar(pair.key) && pair.key.value === "spec")?.key as Node;
  const start = loaded.text.indexOf("\n", specKey.range?.[1] ?? 0) + 1;
  const indent = " ".repeat(column(loaded.text, first.range[0]));
  const insert = `${indent}replicas: ${replicas}${detectEol(loaded.text)}`;
  return finish(loaded, [{ start, end: start, insert }], expected);
}

/** Sets one label of a Service patch's `spec.selector` (the live slot); the label must be there. */
export function setSelectorLabel(text: string, label: string, value: string): PatchEdit {
  const loaded = load(text);
  if (failed(loaded)) return loaded;
  if (loaded.summary.kind !== "Service")
    return refuse(`${loaded.summary.name}'s patch is a ${loaded.summary.kind}, not a Service`);
  const selector = loaded.root.getIn(["spec", "selector"], true);
  if (!isMap(selector)) return refuse(`Service ${loaded.summary.name}'s patch has no spec.selector`);
  const node = selector.get(label, true);
  if (node === undefined)
    return refuse(`Service ${loaded.summary.name}'s patch has no selector label ${quote(label)} naming the live slot`);
  return replaceScalar(loaded, node, value, `selector ${label} of ${loaded.summary.name}`, (js) => {
    at(js, ["spec", "selector"])[label] = value;
  });
}
