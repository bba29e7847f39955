/**
 * `kustomize edit set image`, done losslessly: only the bytes of the values that change are
 * touched. Comments (Flux `$imagepolicy` markers included), key order, quoting, indentation,
 * blank lines, CRLF line endings and a missing final newline all survive, which `kustomize edit`
 * itself does not manage.
 *
 * How: parse with `yaml` to find the source range of each value, splice new text into the
 * original string at those ranges, then re-parse the result and check that it means exactly what
 * was intended. A mismatch is returned as an error rather than as corrupt text.
 *
 * Semantics, and where they deliberately differ from kustomize:
 * - The entry is matched on `name`, exactly. Two entries with the same name are refused.
 * - A tag and a digest replace each other: setting only a tag removes `digest`, setting only a
 *   digest removes `newTag` (as kustomize does). `name:tag@digest` sets both.
 * - "*" keeps the current value (as kustomize does).
 * - A change without `newName` keeps the current `newName`. kustomize drops it for `name:tag`;
 *   for a promotion tool, silently losing a registry rewrite is the wrong default.
 * - A new entry is appended after the existing ones in the file's own list style; kustomize
 *   re-sorts all entries by name.
 * - A file with any YAML alias (`*name`) is refused. Expanding aliases is how a few hundred bytes
 *   become gigabytes (an "alias bomb"); and where an image value is shared, changing the anchored
 *   value would change every place that refers to it, while replacing an alias would silently cut
 *   the link the author set up. An anchor nobody refers to is harmless: it is kept and its value
 *   edited.
 * - Files larger than 256 KiB or nested deeper than 64 levels are refused before they are parsed
 *   (see yaml-limits.ts): these files come from anyone who can open a pull request.
 * - Template syntax (`{{`, `{%`) is refused when it makes the file something other than plain
 *   YAML or appears in `images`. Inside ordinary string values elsewhere (for instance runtime
 *   placeholders in a configMapGenerator literal) it is data that kustomize passes through, and
 *   the file is edited normally.
 */
import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  parseAllDocuments,
  parseDocument,
  visit,
  type Document,
  type Node,
  type Pair,
  type Scalar,
  type YAMLMap,
  type YAMLSeq,
} from "yaml";
import { checkDigest, checkTag, parseImageName, quote } from "./image-ref.js";
import { checkEntryName, KEEP, type ImageChange } from "./image-spec.js";
import {
  checkYamlText,
  duplicateKey,
  lineAt,
  UNTRUSTED_PARSE_OPTIONS,
  UNTRUSTED_TO_JS_OPTIONS,
} from "./yaml-limits.js";

export interface ImageFields {
  newName?: string;
  newTag?: string;
  digest?: string;
}

export interface ImageEntry extends ImageFields {
  name: string;
}

export type SetImageFailure = { ok: false; kind: "not-kustomization" | "invalid"; reason: string };

export type SetImageResult = { ok: true; text: string; changed: boolean; before?: ImageFields } | SetImageFailure;

export type ReadImagesResult = { ok: true; images: ImageEntry[] } | SetImageFailure;

const FIELDS = ["newName", "newTag", "digest"] as const;
type Field = (typeof FIELDS)[number];

const TEMPLATE_MARKER = /\{\{|\{%/g;
const KUSTOMIZE_KINDS = new Set(["Kustomization", "Component"]);

type ParsedDoc = Document.Parsed;
export type ScalarStyle = "PLAIN" | "QUOTE_SINGLE" | "QUOTE_DOUBLE";

const notKustomization = (reason: string): SetImageFailure => ({ ok: false, kind: "not-kustomization", reason });
const invalid = (reason: string): SetImageFailure => ({ ok: false, kind: "invalid", reason });

interface Entry {
  index: number;
  map: YAMLMap;
  name: string;
}

interface Loaded {
  text: string;
  doc: ParsedDoc;
  root: YAMLMap;
  /** The `images` pair of the root mapping, if any. */
  imagesPair?: Pair;
  /** The `images` list; undefined when the key is missing or its value is null. */
  seq?: YAMLSeq;
  entries: Entry[];
}

const ALIASES_REFUSED = "YAML aliases are not supported in an overlay Conveyor edits";

/** Whether `at` lies inside one of `ranges`: sorted, non-overlapping [start, end) pairs. */
function insideRanges(ranges: Array<[number, number]>, at: number): boolean {
  let low = 0;
  let high = ranges.length - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const [start, end] = ranges[middle] as [number, number];
    if (at < start) high = middle - 1;
    else if (at >= end) low = middle + 1;
    else return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Loading and refusing

function load(text: string): Loaded | SetImageFailure {
  if (text.trim().length === 0) return notKustomization("file is empty");
  const limit = checkYamlText(text);
  if (limit !== undefined) return invalid(limit);

  const docs = parseAllDocuments(text, { ...UNTRUSTED_PARSE_OPTIONS, keepSourceTokens: true });
  const list = Array.isArray(docs) ? docs : [];
  const hasTemplate = text.includes("{{") || text.includes("{%");
  if (list.length === 0) return notKustomization("file has no YAML content, only comments");
  if (list.length > 1) return notKustomization(`file holds ${list.length} YAML documents; a kustomization is one`);
  const doc = list[0] as ParsedDoc;

  if (doc.errors.length > 0) {
    if (hasTemplate) return notKustomization("file is a template ({{ or {%), not plain YAML");
    const first = doc.errors[0];
    return invalid(`invalid YAML: ${first ? first.message.split("\n")[0] : "parse error"}`);
  }
  const duplicate = duplicateKey(doc);
  if (duplicate) {
    if (hasTemplate) return notKustomization("file is a template ({{ or {%), not plain YAML");
    return invalid(
      `invalid YAML: Map keys must be unique; ${quote(duplicate.key)} appears twice (line ${lineAt(text, duplicate.offset)})`,
    );
  }
  const root = doc.contents;
  if (root === null || (isScalar(root) && root.value === null)) return notKustomization("file has no YAML content");
  if (!isMap(root)) return notKustomization("top level of the file is not a mapping");

  const kind = root.get("kind");
  if (typeof kind === "string" && !KUSTOMIZE_KINDS.has(kind)) {
    return notKustomization(`kind is ${quote(kind)}, not Kustomization or Component`);
  }

  let alias: { source: string; offset: number } | undefined;
  const scalarRanges: Array<[number, number]> = [];
  visit(doc, {
    Alias(_, node) {
      alias ??= { source: node.source, offset: node.range?.[0] ?? 0 };
    },
    Scalar(_, node) {
      if (node.range) scalarRanges.push([node.range[0], node.range[1]]);
    },
  });

  const imagesPair = root.items.find((pair) => isScalar(pair.key) && pair.key.value === "images");
  const imagesNode = imagesPair?.value as Node | null | undefined;

  if (hasTemplate) {
    const imagesRange = imagesNode?.range;
    // Scalars never overlap; sorted, each marker is looked up in logarithmic time.
    scalarRanges.sort((a, b) => a[0] - b[0]);
    for (const match of text.matchAll(TEMPLATE_MARKER)) {
      const at = match.index;
      if (imagesRange && at >= imagesRange[0] && at < imagesRange[2]) {
        return notKustomization("images hold template syntax ({{ or {%); edit the template instead");
      }
      if (!insideRanges(scalarRanges, at)) {
        return notKustomization("file is a template ({{ or {%), not plain YAML");
      }
    }
  }

  if (alias) {
    return invalid(
      `${ALIASES_REFUSED} (${quote(`*${alias.source}`)} at line ${lineAt(text, alias.offset)}); write the value out in full`,
    );
  }

  let seq: YAMLSeq | undefined;
  if (imagesNode !== undefined && imagesNode !== null && !(isScalar(imagesNode) && imagesNode.value === null)) {
    if (!isSeq(imagesNode)) return invalid("images is not a list");
    seq = imagesNode;
  }

  const entries: Entry[] = [];
  for (const [index, item] of (seq?.items ?? []).entries()) {
    if (!isMap(item)) return invalid(`images entry ${index + 1} is not a mapping`);
    const name = item.get("name");
    if (typeof name !== "string" || name.length === 0) return invalid(`images entry ${index + 1} has no name`);
    entries.push({ index, map: item, name });
  }

  return {
    text,
    doc,
    root,
    ...(imagesPair ? { imagesPair } : {}),
    ...(seq ? { seq } : {}),
    entries,
  };
}

function isFailure(value: unknown): value is SetImageFailure {
  return typeof value === "object" && value !== null && (value as { ok?: unknown }).ok === false;
}

/** The value as the file spells it: the source of a plain `1.20`, not the number 1.2. */
function scalarText(loaded: Loaded, node: unknown): string | undefined {
  if (!isScalar(node) || node.value === null) return undefined;
  if (typeof node.value === "string") return node.value;
  if (node.type === "PLAIN" && node.range) return loaded.text.slice(node.range[0], node.range[1]);
  return String(node.value);
}

function fieldsOf(loaded: Loaded, map: YAMLMap): ImageFields {
  const fields: ImageFields = {};
  for (const field of FIELDS) {
    const value = scalarText(loaded, map.get(field, true));
    if (value !== undefined) fields[field] = value;
  }
  return fields;
}

export function readImages(text: string): ReadImagesResult {
  const loaded = load(text);
  if (isFailure(loaded)) return loaded;
  const images = loaded.entries.map((entry) => ({ name: entry.name, ...fieldsOf(loaded, entry.map) }));
  return { ok: true, images };
}

// ---------------------------------------------------------------------------------------------
// Deciding what an entry should become

type Action = { do: "keep" } | { do: "set"; value: string } | { do: "remove" };

function validateChange(change: ImageChange): SetImageFailure | undefined {
  const name = checkEntryName(change.name);
  if (!name.ok) return invalid(name.reason);
  if (change.newName !== undefined && change.newName !== KEEP) {
    const checked = parseImageName(change.newName);
    if (!checked.ok) return invalid(`new name: ${checked.reason}`);
  }
  if (change.newTag !== undefined && change.newTag !== KEEP) {
    const checked = checkTag(change.newTag);
    if (!checked.ok) return invalid(checked.reason);
  }
  if (change.digest !== undefined && change.digest !== KEEP) {
    const checked = checkDigest(change.digest);
    if (!checked.ok) return invalid(checked.reason);
  }
  return undefined;
}

function actionsFor(change: ImageChange): Record<Field, Action> {
  const explicit = (value: string | undefined): Action =>
    value === undefined || value === KEEP ? { do: "keep" } : { do: "set", value };
  const setsTag = change.newTag !== undefined && change.newTag !== KEEP;
  const setsDigest = change.digest !== undefined && change.digest !== KEEP;
  return {
    newName: explicit(change.newName),
    // A tag and a digest replace each other unless the change names both.
    newTag: change.newTag === undefined && setsDigest ? { do: "remove" } : explicit(change.newTag),
    digest: change.digest === undefined && setsTag ? { do: "remove" } : explicit(change.digest),
  };
}

function applyToFields(before: ImageFields, actions: Record<Field, Action>): ImageFields {
  const after: ImageFields = { ...before };
  for (const field of FIELDS) {
    const action = actions[field];
    if (action.do === "set") after[field] = action.value;
    if (action.do === "remove") delete after[field];
  }
  return after;
}

// ---------------------------------------------------------------------------------------------
// Text positions

export interface Splice {
  start: number;
  end: number;
  insert: string;
}

export function applySplices(text: string, splices: Splice[]): string {
  // Back to front so earlier offsets stay valid; at equal starts the deletion goes first so an
  // insertion at the same point is not swallowed by it.
  const ordered = [...splices].sort((a, b) => b.start - a.start || b.end - a.end);
  let out = text;
  let limit = Infinity;
  for (const splice of ordered) {
    if (splice.end > limit) throw new Error("overlapping edits");
    out = out.slice(0, splice.start) + splice.insert + out.slice(splice.end);
    limit = splice.start;
  }
  return out;
}

export function lineStart(text: string, at: number): number {
  return text.lastIndexOf("\n", at - 1) + 1;
}

/** End of the line holding `at`, before its line break. */
function lineEnd(text: string, at: number): number {
  const newline = text.indexOf("\n", at);
  if (newline === -1) return text.length;
  return text[newline - 1] === "\r" ? newline - 1 : newline;
}

export function column(text: string, at: number): number {
  return at - lineStart(text, at);
}

export function detectEol(text: string): string {
  const newline = text.indexOf("\n");
  return newline > 0 && text[newline - 1] === "\r" ? "\r\n" : "\n";
}

/** Where the last meaningful character of a node ends, ignoring trailing blank lines and comments. */
function contentEnd(text: string, node: unknown, fallback: number): number {
  let end = fallback;
  if (isMap(node) || isSeq(node)) {
    if (node.flow || node.items.length === 0) end = node.range?.[1] ?? fallback;
    else {
      const last = node.items[node.items.length - 1];
      if (isMap(node)) {
        const pair = last as Pair;
        const keyEnd = (pair.key as Node | null)?.range?.[1] ?? fallback;
        end = contentEnd(text, pair.value, keyEnd);
      } else end = contentEnd(text, last, fallback);
    }
  } else if ((isScalar(node) || isAlias(node)) && node.range) {
    end = node.range[1];
    // An empty value ("key:") has a zero-width range that can sit after trailing spaces.
    if (node.range[0] === node.range[1]) end = Math.min(end, fallback);
  }
  while (end > 0 && /\s/.test(text[end - 1] ?? "")) end--;
  return Math.max(end, fallback);
}

// ---------------------------------------------------------------------------------------------
// Rendering scalars

function parsesAsSameString(source: string, value: string): boolean {
  for (const version of ["1.1", "1.2"] as const) {
    const doc = parseDocument(source, { version });
    if (doc.errors.length > 0 || !isMap(doc.contents)) return false;
    const node = doc.contents.items[0]?.value;
    if (!isScalar(node) || node.type !== "PLAIN" || node.value !== value || node.comment) return false;
  }
  return true;
}

/**
 * True when `value` can be written without quotes and still read back as this exact string, both
 * by YAML 1.2 parsers and by YAML 1.1 ones (where `yes`, `1:20` or `1_000` are not strings).
 */
export function isPlainSafe(value: string, inFlow: boolean): boolean {
  if (value.length === 0 || value !== value.trim() || /[\r\n\t]/.test(value)) return false;
  if (!parsesAsSameString(`k: ${value}\n`, value)) return false;
  return !inFlow || parsesAsSameString(`{k: ${value}}\n`, value);
}

export function renderScalar(value: string, style: ScalarStyle, inFlow: boolean): string {
  if (style === "QUOTE_SINGLE") return `'${value.replace(/'/g, "''")}'`;
  if (style === "PLAIN" && isPlainSafe(value, inFlow)) return value;
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

export function styleOf(node: unknown): ScalarStyle | undefined {
  if (!isScalar(node)) return undefined;
  return node.type === "QUOTE_SINGLE" || node.type === "QUOTE_DOUBLE" || node.type === "PLAIN" ? node.type : undefined;
}

/** How the file already writes `key` in image entries, so new values look like their neighbours. */
function preferredStyle(loaded: Loaded, key: string): ScalarStyle {
  for (const entry of loaded.entries) {
    const style = styleOf(entry.map.get(key, true));
    if (style) return style;
  }
  return "PLAIN";
}

// ---------------------------------------------------------------------------------------------
// Editing

function pairOf(map: YAMLMap, key: string): Pair | undefined {
  return map.items.find((pair) => isScalar(pair.key) && pair.key.value === key);
}

function editEntry(loaded: Loaded, entry: Entry, actions: Record<Field, Action>): Splice[] | SetImageFailure {
  const { text } = loaded;
  const map = entry.map;
  const label = `image ${quote(entry.name)}`;
  if (pairOf(map, "<<")) return invalid(`${label} uses a merge key (<<); edit it by hand`);

  const splices: Splice[] = [];
  const removed = new Map<Pair, Field>();
  const inserts: Array<[Field, string]> = [];

  for (const field of FIELDS) {
    const action = actions[field];
    if (action.do === "keep") continue;
    const pair = pairOf(map, field);
    const what = `${field} of ${label}`;
    if (action.do === "remove") {
      if (!pair) continue;
      removed.set(pair, field);
      continue;
    }
    if (!pair) {
      inserts.push([field, action.value]);
      continue;
    }
    const node = pair.value;
    if (!isScalar(node) || !node.range) return invalid(`${what} is not a plain value`);
    if (node.value === action.value) continue;
    const style = styleOf(node);
    if (!style) return invalid(`${what} is a block scalar; rewrite it as a single-line value first`);
    const [start, end] = node.range;
    if (start === end) {
      // "newTag:" with no value at all.
      const rendered = renderScalar(action.value, preferredStyle(loaded, field), map.flow ?? false);
      splices.push({ start, end, insert: `${text[start - 1] === ":" ? " " : ""}${rendered}` });
    } else {
      splices.push({ start, end, insert: renderScalar(action.value, style, map.flow ?? false) });
    }
  }

  const remaining = map.items.filter((pair) => !removed.has(pair));
  for (const [pair, field] of removed) {
    const index = map.items.indexOf(pair);
    const keyStart = (pair.key as Node).range?.[0] ?? 0;
    const end = contentEnd(text, pair.value, (pair.key as Node).range?.[1] ?? keyStart);
    const next = map.items[index + 1];
    const nextStart = (next?.key as Node | undefined)?.range?.[0];
    if (map.flow) {
      const previous = map.items[index - 1];
      if (previous) {
        const previousEnd = contentEnd(text, previous.value, (previous.key as Node).range?.[1] ?? 0);
        splices.push({ start: previousEnd, end, insert: "" });
      } else if (nextStart !== undefined) {
        splices.push({ start: keyStart, end: nextStart, insert: "" });
      }
      continue;
    }
    const start = lineStart(text, keyStart);
    if (text.slice(start, keyStart).trim().length > 0) {
      // The key shares its line with the list dash ("- digest: ..."): pull the next key up.
      if (nextStart === undefined) return invalid(`cannot remove ${field} of ${label}`);
      splices.push({ start: keyStart, end: nextStart, insert: "" });
      continue;
    }
    const newline = text.indexOf("\n", end);
    if (newline === -1) {
      // Last line of a file without a final newline: take the preceding line break instead.
      const breakStart = start >= 2 && text[start - 2] === "\r" ? start - 2 : Math.max(start - 1, 0);
      splices.push({ start: breakStart, end: text.length, insert: "" });
    } else {
      splices.push({ start, end: newline + 1, insert: "" });
    }
  }

  if (inserts.length > 0) {
    const last = remaining[remaining.length - 1];
    if (!last) return invalid(`the entry for ${label} is empty`);
    const lastEnd = contentEnd(text, last.value, (last.key as Node).range?.[1] ?? 0);
    if (map.flow) {
      const added = inserts
        .map(([field, value]) => `, ${field}: ${renderScalar(value, preferredStyle(loaded, field), true)}`)
        .join("");
      splices.push({ start: lastEnd, end: lastEnd, insert: added });
    } else {
      const eol = detectEol(text);
      const indent = " ".repeat(column(text, (map.items[0]?.key as Node).range?.[0] ?? 0));
      const at = lineEnd(text, lastEnd);
      const added = inserts
        .map(
          ([field, value]) => `${eol}${indent}${field}: ${renderScalar(value, preferredStyle(loaded, field), false)}`,
        )
        .join("");
      splices.push({ start: at, end: at, insert: added });
    }
  }
  return splices;
}

function newEntryPairs(loaded: Loaded, name: string, fields: ImageFields, inFlow: boolean): string[] {
  const pairs = [`name: ${renderScalar(name, preferredStyle(loaded, "name"), inFlow)}`];
  for (const field of FIELDS) {
    const value = fields[field];
    if (value !== undefined) pairs.push(`${field}: ${renderScalar(value, preferredStyle(loaded, field), inFlow)}`);
  }
  return pairs;
}

const flowEntry = (pairs: string[]): string => `{${pairs.join(", ")}}`;

function blockEntry(pairs: string[], dashColumn: number, keyColumn: number, eol: string): string {
  const gap = Math.max(keyColumn - dashColumn - 1, 1);
  return pairs
    .map((pair, index) =>
      index === 0 ? `${" ".repeat(dashColumn)}-${" ".repeat(gap)}${pair}` : `${" ".repeat(keyColumn)}${pair}`,
    )
    .join(eol);
}

/** How far the file indents block list dashes past their key (0 for "indentless" lists). */
function listIndent(loaded: Loaded): number {
  const { text } = loaded;
  for (const pair of loaded.root.items) {
    const value = pair.value;
    const keyStart = (pair.key as Node | null)?.range?.[0];
    if (!isSeq(value) || value.flow || keyStart === undefined) continue;
    const first = value.items[0] as Node | undefined;
    const start = first?.range?.[0];
    if (start === undefined) continue;
    const match = /^(\s*)-\s/.exec(text.slice(lineStart(text, start), start + 1));
    if (match) return Math.max((match[1] ?? "").length - column(text, keyStart), 0);
  }
  return 0;
}

function appendEntry(loaded: Loaded, name: string, fields: ImageFields): Splice[] | SetImageFailure {
  const { text, seq, imagesPair } = loaded;
  const eol = detectEol(text);

  if (seq) {
    if (seq.flow) {
      const last = seq.items[seq.items.length - 1];
      const entry = flowEntry(newEntryPairs(loaded, name, fields, true));
      if (last) {
        const at = contentEnd(text, last, 0);
        return [{ start: at, end: at, insert: `, ${entry}` }];
      }
      const open = seq.range?.[0] ?? 0;
      if (text[open] !== "[") return invalid("cannot find the start of the images list");
      return [{ start: open + 1, end: open + 1, insert: entry }];
    }
    const last = seq.items[seq.items.length - 1] as Node | undefined;
    const lastStart = last?.range?.[0];
    if (!last || lastStart === undefined) return invalid("images list is empty");
    const lineOfLast = text.slice(lineStart(text, lastStart), lastStart);
    const dash = /^(\s*)-(\s+)/.exec(lineOfLast);
    const keyColumn = column(text, lastStart);
    const dashColumn = dash ? (dash[1] ?? "").length : Math.max(keyColumn - 2, 0);
    const at = lineEnd(text, contentEnd(text, last, 0));
    const entry =
      isMap(last) && last.flow
        ? `${" ".repeat(dashColumn)}- ${flowEntry(newEntryPairs(loaded, name, fields, true))}`
        : blockEntry(newEntryPairs(loaded, name, fields, false), dashColumn, keyColumn, eol);
    return [{ start: at, end: at, insert: `${eol}${entry}` }];
  }

  const root = loaded.root;
  if (imagesPair) {
    // "images:" with an empty or null value.
    const value = imagesPair.value as Scalar | null;
    const range = value?.range;
    if (range && range[0] !== range[1]) {
      // Replace an explicit "~" or "null" with a one-entry flow list.
      return [{ start: range[0], end: range[1], insert: `[${flowEntry(newEntryPairs(loaded, name, fields, true))}]` }];
    }
    if (root.flow) return invalid("images has no value in a flow mapping");
    const keyStart = (imagesPair.key as Node).range?.[0] ?? 0;
    const dashColumn = column(text, keyStart) + listIndent(loaded);
    const at = lineEnd(text, (imagesPair.key as Node).range?.[1] ?? keyStart);
    const entry = blockEntry(newEntryPairs(loaded, name, fields, false), dashColumn, dashColumn + 2, eol);
    return [{ start: at, end: at, insert: `${eol}${entry}` }];
  }

  if (root.flow) {
    const last = root.items[root.items.length - 1];
    const entry = `images: [${flowEntry(newEntryPairs(loaded, name, fields, true))}]`;
    if (last) {
      const at = contentEnd(text, last.value, (last.key as Node).range?.[1] ?? 0);
      return [{ start: at, end: at, insert: `, ${entry}` }];
    }
    const open = root.range?.[0] ?? 0;
    return [{ start: open + 1, end: open + 1, insert: entry }];
  }

  const keyColumn = column(text, (root.items[0]?.key as Node | undefined)?.range?.[0] ?? 0);
  const dashColumn = keyColumn + listIndent(loaded);
  const entry = blockEntry(newEntryPairs(loaded, name, fields, false), dashColumn, dashColumn + 2, eol);
  const block = `${" ".repeat(keyColumn)}images:${eol}${entry}`;
  const endsWithNewline = text.endsWith("\n");
  return [
    {
      start: text.length,
      end: text.length,
      insert: endsWithNewline ? `${block}${eol}` : `${eol}${block}`,
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// Self-check

export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) {
    return typeof a === "number" && typeof b === "number" && Number.isNaN(a) && Number.isNaN(b);
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (a instanceof Map || b instanceof Map || a instanceof Set || b instanceof Set) return false;
  const aKeys = Object.keys(a);
  const bKeys = Object.keys(b);
  if (aKeys.length !== bKeys.length) return false;
  return aKeys.every(
    (key) =>
      Object.prototype.hasOwnProperty.call(b, key) &&
      sameJson((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]),
  );
}

function expectedJs(loaded: Loaded, index: number | undefined, name: string, after: ImageFields): unknown {
  const js = loaded.doc.toJS(UNTRUSTED_TO_JS_OPTIONS) as Record<string, unknown>;
  const images = Array.isArray(js.images) ? [...(js.images as unknown[])] : [];
  const current: Record<string, unknown> =
    index === undefined ? { name } : { ...(images[index] as Record<string, unknown>) };
  for (const field of FIELDS) delete current[field];
  const next = { ...current, ...after };
  if (index === undefined) images.push(next);
  else images[index] = next;
  return { ...js, images };
}

function verify(edited: string, expected: unknown): SetImageFailure | undefined {
  const reloaded = load(edited);
  if (isFailure(reloaded))
    return invalid(`the edit would produce a broken file (${reloaded.reason}); file left unchanged`);
  const actual = reloaded.doc.toJS(UNTRUSTED_TO_JS_OPTIONS);
  if (!sameJson(actual, expected)) {
    return invalid("the edit would change more than the image values; file left unchanged");
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Public API

function setImageOnce(text: string, change: ImageChange): SetImageResult {
  const problem = validateChange(change);
  if (problem) return problem;
  const loaded = load(text);
  if (isFailure(loaded)) return loaded;

  const matches = loaded.entries.filter((entry) => entry.name === change.name);
  if (matches.length > 1) {
    return invalid(`images has ${matches.length} entries named ${quote(change.name)}; kustomize would use only one`);
  }
  const actions = actionsFor(change);
  const match = matches[0];

  let splices: Splice[] | SetImageFailure;
  let before: ImageFields | undefined;
  let after: ImageFields;
  if (match) {
    before = fieldsOf(loaded, match.map);
    after = applyToFields(before, actions);
    splices = editEntry(loaded, match, actions);
  } else {
    after = applyToFields({}, actions);
    splices = appendEntry(loaded, change.name, after);
  }
  if (isFailure(splices)) return splices;

  const edited = applySplices(text, splices);
  if (edited !== text) {
    const failure = verify(edited, expectedJs(loaded, match?.index, change.name, after));
    if (failure) return failure;
  }
  return { ok: true, text: edited, changed: edited !== text, ...(before ? { before } : {}) };
}

/** Apply one `kustomize edit set image` change to the text of a kustomization file. */
export function setImage(text: string, change: ImageChange): SetImageResult {
  return setImageOnce(text, change);
}

/**
 * Apply several changes in order. `before` is reported only for a single change, where it is
 * unambiguous.
 */
export function setImages(text: string, changes: ImageChange[]): SetImageResult {
  if (changes.length === 1 && changes[0]) return setImageOnce(text, changes[0]);
  let current = text;
  if (changes.length === 0) {
    const loaded = load(text);
    if (isFailure(loaded)) return loaded;
  }
  for (const change of changes) {
    const result = setImageOnce(current, change);
    if (!result.ok) return result;
    current = result.text;
  }
  return { ok: true, text: current, changed: current !== text };
}
