// What a kustomization makes kustomize read besides itself (files, directories, URLs), and which
// of those the conveyor/render check must refuse before kustomize runs: anything fetched from the
// network that is not a trusted, commit-pinned source (render.allowRemote), absolute paths, and
// paths that leave the repository. kustomize's load restrictor confines the files a kustomization
// reads to its directory, but not the directories it builds (`resources: [../../../../tmp/x]`),
// not URLs, and not other tenants' clones (`file://` git URLs), so the check is done here, on the
// text, for every field that names a file, a directory or a URL.
//
// The text is read the way kustomize reads it, not the way a tidy YAML reader would: kustomize
// converts YAML to JSON with go-yaml and decodes it with Go's encoding/json, so keys match field
// names case-insensitively (`Resources:`, even `reſources:`), a repeated key wins over an earlier
// one, `<<` merges and aliases apply, and `!!binary` scalars are decoded. Every one of those is
// followed here, and where the two readers could disagree the check errs towards reporting.
//
// Policy for remote references: refused unless under a render.allowRemote prefix AND pinned with
// ?ref=<full commit sha> (40 hex, or 64 for sha256 repositories). Tags are not accepted: a tag can
// be moved, and kustomize passes the ref to git as a name, so a branch cannot be told from a tag.
// file:// is never allowed; plain http:// is refused even when listed (kustomize GETs http(s) URLs
// before it clones them and uses the body if it answers 2xx, so a network attacker could answer).
//
// Hostile input is bounded: the text is capped (MAX_KUSTOMIZATION_BYTES), aliases are never
// expanded wholesale (no toJS; each alias followed is counted against a budget), and inline
// configurations parsed from strings count against a size budget. The function never throws.
import { posix } from "node:path";
import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseAllDocuments,
  type Document,
  type Node,
  type Scalar,
} from "yaml";

/** One reference kustomize must not follow, or a reason the whole file cannot be checked. */
export interface ReferenceProblem {
  /** The file checked, as given. */
  file: string;
  /** 1-based line of the reference (of an alias, where it is used; of an inline config, inside it). */
  line: number;
  /** Where it sits: "resources[2]", "patches[0].path", "configMapGenerator[1].files[0]", "openapi.path". */
  field: string;
  /** The reference as kustomize would use it (for `key=path` generator files, the path). */
  value: string;
  /** Why it is refused, for a person reading the check run. */
  reason: string;
}

export interface ReferenceCheckInput {
  /** Repository-relative directory of the kustomization ("." or "" for the root). */
  dir: string;
  /** Its path, echoed in problems. */
  file: string;
  text: string;
  /** render.allowRemote: trusted prefixes such as "github.com/acme/" (scheme, git:: and git@ forms match alike). */
  allowRemote: readonly string[];
}

export const MAX_KUSTOMIZATION_BYTES = 256 * 1024;
/** Problems listed per file at most; any problem fails the check, the rest would only be noise. */
export const MAX_PROBLEMS = 100;
/** Nodes visited (aliases and merges followed included) before a file counts as too complex. */
const MAX_VISITS = 100_000;
/** Characters of inline configurations parsed from strings, per file. */
const MAX_INLINE_CHARS = 4 * MAX_KUSTOMIZATION_BYTES;
const MAX_MERGE_DEPTH = 16;
const MAX_INLINE_DEPTH = 2;

const STR_TAG = "tag:yaml.org,2002:str";
const BINARY_TAG = "tag:yaml.org,2002:binary";
const FULL_SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

class TooComplex extends Error {}

/** What kustomize does with a reference: reads it as a file, or may also build it as a directory or clone. */
export type Loads = "file" | "any";

/**
 * Every reference in a kustomization (or in a builtin generator/transformer configuration, which
 * has the same kinds of fields) that a render must not follow; empty when there is none. Syntax
 * errors are not reported (the render reports them), but whatever the parser recovers from a
 * broken file is still checked: go-yaml may accept text this parser rejects. Never throws; text
 * that cannot be checked safely (too large, too complex) yields one problem for the whole file.
 */
export function checkReferences(input: ReferenceCheckInput): ReferenceProblem[] {
  const size = utf8Length(input.text, MAX_KUSTOMIZATION_BYTES + 1);
  if (size > MAX_KUSTOMIZATION_BYTES)
    return [
      whole(
        input,
        `the kustomization is too large to check (over ${MAX_KUSTOMIZATION_BYTES / 1024} KiB), so it is not rendered`,
      ),
    ];
  const run = new Run(input);
  try {
    const parsed = parse(input.text);
    for (const doc of parsed.docs) {
      const ctx: Ctx = { doc, lines: parsed.lines, mapLine: (line) => line, prefix: "", inlineDepth: 0 };
      run.document(ctx);
    }
    return run.problems;
  } catch (error) {
    if (error instanceof TooComplex)
      return [
        whole(
          input,
          "the kustomization is too complex to check (too many YAML aliases, merges or inline configurations), so it is not rendered",
        ),
      ];
    return [whole(input, "the kustomization could not be checked for references, so it is not rendered")];
  }
}

function whole(input: ReferenceCheckInput, reason: string): ReferenceProblem {
  return { file: input.file, line: 1, field: "(file)", value: "", reason };
}

/**
 * Why kustomize must not follow `value` from a kustomization in `dir`, or undefined when it may:
 * a local path inside the repository, or a remote under `allowRemote` pinned to a full commit sha.
 */
export function referenceProblem(
  dir: string,
  value: string,
  allowRemote: readonly string[],
  loads: Loads = "any",
): string | undefined {
  if (value === "") return undefined;
  if (isRemote(value, loads)) return remoteProblem(value, allowRemote);
  if (value.startsWith("/"))
    return `absolute path: kustomize would read "${show(value)}" from Conveyor's own disk; use a path relative to the kustomization`;
  const resolved = posix.normalize(posix.join(dir === "" ? "." : dir, value));
  if (resolved === ".." || resolved.startsWith("../") || posix.isAbsolute(resolved))
    return `leaves the repository: "${show(value)}" from ${dir === "" ? "." : dir} resolves to "${show(resolved)}", outside the repository root`;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Remote references

/**
 * Whether kustomize (v5, and the go-getter forms of older versions) would fetch `value` rather
 * than read it from the tree. Anything with a scheme or forced getter (`https:`, `file:`, `git::`,
 * `gh:`, `oci:`, `github.com:`) counts; kustomize downloads only http(s) files, but a file path
 * that looks like a URL is refused all the same. Where a directory may be named ("any": resources,
 * components, generators, ...) kustomize also clones an scp-like `user@host:path`, a scheme-less
 * `github.com/...` and Azure's `_git/`; in a file name (`logo@2x.png`) those are just characters.
 */
export function isRemote(value: string, loads: Loads = "any"): boolean {
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(value)) return true;
  if (loads === "file") return false;
  const first = value.split("/", 1)[0] as string;
  if (first.includes("@")) return true;
  if (["github.com", "gitlab.com", "bitbucket.org"].includes(first.toLowerCase())) return true;
  return value.includes("_git/");
}

interface RemoteParts {
  /** "https", "http", "ssh", "scp" (user@host:path), "github" (scheme-less), or "other". */
  form: string;
  /** host[:port]/path, host lower-cased, `//` collapsed, a `.git` repo suffix dropped. */
  normalized: string;
  /** Nothing that could make two URL parsers disagree about host or path. */
  clean: boolean;
  query: string | undefined;
}

function parseRemote(value: string): RemoteParts {
  const q = value.indexOf("?");
  const query = q >= 0 ? value.slice(q + 1) : undefined;
  let rest = (q >= 0 ? value.slice(0, q) : value).replace(/^git::/i, "");
  let form = "other";
  let host = "";
  let path = "";
  let clean = true;
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(rest);
  if (scheme) {
    form = (scheme[1] as string).toLowerCase();
    rest = rest.slice(scheme[0].length);
    const slash = rest.indexOf("/");
    let authority = slash >= 0 ? rest.slice(0, slash) : rest;
    path = slash >= 0 ? rest.slice(slash + 1) : "";
    const at = authority.lastIndexOf("@");
    if (at >= 0) {
      // Credentials in an http(s) URL, or more than one '@', are where URL parsers part ways.
      const user = authority.slice(0, at);
      if (form !== "ssh" || !/^[A-Za-z0-9._-]+$/.test(user)) clean = false;
      authority = authority.slice(at + 1);
    }
    host = authority;
    if (!["https", "http", "ssh"].includes(form)) form = form === "file" ? "file" : "other";
  } else {
    const scp = /^(?:[A-Za-z0-9._-]+@)?([A-Za-z0-9.-]+):(?!\/\/)(.*)$/.exec(rest);
    const first = (rest.split("/", 1)[0] as string).toLowerCase();
    if (scp) {
      form = "scp";
      host = scp[1] as string;
      path = scp[2] as string;
    } else if (first === "github.com") {
      form = "github";
      host = first;
      path = rest.slice(first.length + 1);
    }
  }
  if (!/^[A-Za-z0-9.-]+(?::\d{1,5})?$/.test(host)) clean = false;
  if (!/^[A-Za-z0-9._~/:+-]*$/.test(path)) clean = false;
  if (path.split("/").some((segment) => segment === "." || segment === "..")) clean = false;
  const normalized = `${host.toLowerCase()}/${path}`.replace(/\/{2,}/g, "/").replace(/\.git(?=\/|$)/, "");
  return { form, normalized, clean, query };
}

/** An allowRemote entry in the same normal form: "https://github.com/acme" -> "github.com/acme". */
function normalizeAllowed(entry: string): string {
  let e = entry
    .trim()
    .replace(/^git::/i, "")
    .replace(/^(?:https|ssh):\/\//i, "")
    .replace(/^[A-Za-z0-9._-]+@/, "");
  const scp = /^([^/:]+):(?!\d+(?:\/|$))(.*)$/.exec(e);
  if (scp) e = `${scp[1]}/${scp[2]}`;
  const slash = e.indexOf("/");
  const host = slash >= 0 ? e.slice(0, slash) : e;
  return `${host.toLowerCase()}${slash >= 0 ? e.slice(slash) : ""}`
    .replace(/\/{2,}/g, "/")
    .replace(/\.git(?=\/|$)/, "");
}

function allowedBy(normalized: string, allowRemote: readonly string[]): boolean {
  return allowRemote.some((entry) => {
    const prefix = normalizeAllowed(entry);
    if (prefix === "" || prefix === "/") return false;
    if (prefix.endsWith("/")) return normalized.startsWith(prefix);
    return normalized === prefix || normalized.startsWith(`${prefix}/`);
  });
}

/**
 * The ref kustomize clones, read the way it reads it (Go's url.ParseQuery; `ref` wins over
 * `version`; a query Go cannot parse means no ref at all, i.e. the default branch).
 */
export function effectiveRef(query: string | undefined): string {
  if (query === undefined) return "";
  const values = new Map<string, [string]>();
  for (const part of query.split("&")) {
    if (part.includes(";")) return "";
    if (part === "") continue;
    const eq = part.indexOf("=");
    const key = queryUnescape(eq >= 0 ? part.slice(0, eq) : part);
    const value = queryUnescape(eq >= 0 ? part.slice(eq + 1) : "");
    if (key === undefined || value === undefined) return "";
    if (!values.has(key)) values.set(key, [value]); // only the first value of a key counts
  }
  const ref = values.get("ref")?.[0] ?? "";
  return ref !== "" ? ref : (values.get("version")?.[0] ?? "");
}

function queryUnescape(s: string): string | undefined {
  if (/%(?![0-9A-Fa-f]{2})/.test(s)) return undefined;
  try {
    return decodeURIComponent(s.replace(/\+/g, " "));
  } catch {
    // Go accepts any bytes after %XX; what it decodes to does not matter for a sha comparison.
    return s.replace(/\+/g, " ");
  }
}

function remoteProblem(value: string, allowRemote: readonly string[]): string | undefined {
  const remote = parseRemote(value);
  if (remote.form === "file")
    return "remote references are not rendered: a file:// URL reads a repository from Conveyor's own disk, where other repositories' clones live";
  const listed = allowRemote.length > 0;
  const notAllowed = `remote references are not rendered: kustomize would fetch "${show(value)}" from outside the repository${
    listed
      ? ", and it is not under any prefix in render.allowRemote"
      : " (trusted sources can be listed in render.allowRemote and pinned to a commit)"
  }`;
  if (remote.form === "other")
    return `remote references are not rendered: kustomize would fetch "${show(value)}" from outside the repository; only https:// and ssh git references can be allowed by render.allowRemote`;
  if (!remote.clean)
    return `remote references are not rendered: "${show(value)}" has credentials, percent-encoding, '.' or '..' segments or unusual characters, so it cannot be matched to render.allowRemote safely`;
  if (!allowedBy(remote.normalized, allowRemote)) return notAllowed;
  if (remote.form === "http")
    return "remote reference uses plain http: kustomize downloads http(s) URLs before it clones them and would use whatever a network attacker returns; use https or ssh";
  const ref = effectiveRef(remote.query);
  if (!FULL_SHA.test(ref))
    return `remote reference is not pinned${ref ? ` (ref "${show(ref)}")` : ""}: add ?ref=<full 40-character commit sha>; a tag or branch can move, and a branch cannot be told from a tag`;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Reading the YAML

interface Parsed {
  docs: Document.Parsed[];
  lines: LineCounter;
}

function parse(text: string): Parsed {
  const lines = new LineCounter();
  // failsafe: every scalar is a string, as in the text; duplicate keys are kept (Go's last one
  // wins, so all are checked); merge keys stay plain pairs and are followed below.
  const docs = parseAllDocuments(text, {
    lineCounter: lines,
    schema: "failsafe",
    uniqueKeys: false,
    strict: false,
    prettyErrors: false,
  });
  return { docs: Array.isArray(docs) ? docs : [], lines };
}

interface Ctx {
  doc: Document.Parsed;
  lines: LineCounter;
  /** Line in this document -> line in the file checked (inline configurations sit inside strings). */
  mapLine: (line: number) => number;
  /** Field prefix for problems found inside an inline configuration. */
  prefix: string;
  inlineDepth: number;
  /** Anchored nodes by name, in document order; built on the first alias (see anchorsOf). */
  anchors?: Map<string, Node[]>;
}

interface Entry {
  key: string;
  keyNode: Node;
  value: Node | null;
}

type Check = (run: Run, ctx: Ctx, field: string, value: Node | null) => void;

/** Entries kustomize may build as directories (kustomizations, git clones), not only read as files. */
const dirList: Check = (run, ctx, field, value) =>
  run.list(ctx, field, value, (f, item) => run.path(ctx, f, item, "any"));
const pathList: Check = (run, ctx, field, value) => run.list(ctx, field, value, (f, item) => run.path(ctx, f, item));
const pluginList: Check = (run, ctx, field, value) =>
  run.list(ctx, field, value, (f, item) => run.pathOrInline(ctx, f, item, true));
const patchList: Check = (run, ctx, field, value) =>
  run.list(ctx, field, value, (f, item) => run.pathOrInline(ctx, f, item, false));
const pathField: Check = (run, ctx, field, value) => run.path(ctx, field, value);
const objectsWithPath: Check = (run, ctx, field, value) =>
  run.list(ctx, field, value, (f, item) => run.fields(ctx, f, item, { PATH: pathField }));
const fileSources: Check = (run, ctx, field, value) =>
  run.list(ctx, field, value, (f, item) => run.path(ctx, f, item, "file", fileSourcePath));
const generatorArgs = { FILES: fileSources, ENVS: pathList, ENV: pathField };
const generators: Check = (run, ctx, field, value) =>
  run.list(ctx, field, value, (f, item) => run.fields(ctx, f, item, generatorArgs));
const helm: Check = (run, ctx, field, value) => run.helm(ctx, field, value);

/**
 * Fields of a Kustomization (and of the builtin generator/transformer configurations inline or
 * in files: PatchTransformer.path, PatchStrategicMergeTransformer.paths, ConfigMapGenerator.files,
 * ...) that name files, directories or URLs, by Go-folded name. `images` names none.
 */
const TOP_LEVEL: Record<string, [string, Check]> = {
  RESOURCES: ["resources", dirList],
  BASES: ["bases", dirList],
  COMPONENTS: ["components", dirList],
  CRDS: ["crds", pathList],
  CONFIGURATIONS: ["configurations", pathList],
  GENERATORS: ["generators", pluginList],
  TRANSFORMERS: ["transformers", pluginList],
  VALIDATORS: ["validators", pluginList],
  PATCHESSTRATEGICMERGE: ["patchesStrategicMerge", patchList],
  PATCHES: ["patches", objectsWithPath],
  PATCHESJSON6902: ["patchesJson6902", objectsWithPath],
  REPLACEMENTS: ["replacements", objectsWithPath],
  CONFIGMAPGENERATOR: ["configMapGenerator", generators],
  SECRETGENERATOR: ["secretGenerator", generators],
  OPENAPI: ["openapi", (run, ctx, field, value) => run.fields(ctx, field, value, { PATH: pathField })],
  HELMCHARTS: ["helmCharts", helm],
  HELMGLOBALS: ["helmGlobals", helm],
  HELMCHARTINFLATIONGENERATOR: ["helmChartInflationGenerator", helm],
  // Builtin plugin configurations (kind: PatchTransformer, ConfigMapGenerator, ...).
  PATH: ["path", pathField],
  PATHS: ["paths", patchList],
  FILES: ["files", fileSources],
  ENVS: ["envs", pathList],
  ENV: ["env", pathField],
};

class Run {
  readonly problems: ReferenceProblem[] = [];
  private readonly seen = new Set<string>();
  private visits = 0;
  private inlineChars = 0;

  constructor(private readonly input: ReferenceCheckInput) {}

  document(ctx: Ctx): void {
    const root = this.resolve(ctx, ctx.doc.contents);
    if (!isMap(root)) return;
    for (const entry of this.entries(ctx, root)) {
      const rule = TOP_LEVEL[entry.key];
      if (rule) rule[1](this, ctx, rule[0], entry.value);
      else if (entry.key === "KIND" && fold(this.text(ctx, entry.value) ?? "") === "HELMCHARTINFLATIONGENERATOR")
        this.helm(ctx, "kind", entry.value);
    }
  }

  /** Items of a list field; a lone scalar where a list belongs is checked too. */
  list(ctx: Ctx, field: string, value: Node | null, each: (field: string, item: Node | null) => void): void {
    const node = this.resolve(ctx, value);
    if (isSeq(node)) {
      node.items.forEach((item, i) => {
        this.tick();
        each(`${field}[${i}]`, item as Node | null);
      });
    } else if (isScalar(node)) each(field, value);
  }

  /** The named sub-fields of a mapping (Go-folded names), e.g. `path` of a patch. */
  fields(ctx: Ctx, field: string, value: Node | null, rules: Record<string, Check>): void {
    const node = this.resolve(ctx, value);
    if (isScalar(node)) {
      // `patches: [file.yaml]` does not decode in kustomize, but a path is a path.
      if (rules.PATH) this.path(ctx, field, value);
      return;
    }
    if (!isMap(node)) return;
    for (const entry of this.entries(ctx, node)) {
      const rule = rules[entry.key];
      if (rule) rule(this, ctx, `${field}.${entry.key.toLowerCase()}`, entry.value);
    }
  }

  /** A string that names a file (`loads: "file"`), or a file, directory or git repository ("any"). */
  path(ctx: Ctx, field: string, value: Node | null, loads: Loads = "file", extract = (s: string) => s): void {
    const node = this.resolve(ctx, value);
    if (!isScalar(node)) return;
    const line = this.line(ctx, value ?? node);
    // go-yaml decodes !!binary into the string kustomize then uses; so does scalarText.
    const text = scalarText(node);
    const tag = node.tag;
    if (tag && tag !== STR_TAG && tag !== "!")
      this.report(
        ctx,
        line,
        field,
        node.source ?? text,
        `explicit YAML tag ${tag} on a reference: write references as plain strings`,
      );
    const target = extract(text);
    const reason = referenceProblem(this.input.dir, target, this.input.allowRemote, loads);
    if (reason) this.report(ctx, line, field, target, reason);
  }

  /**
   * An entry that is a path or an inline YAML document: patchesStrategicMerge patches, and the
   * generator/transformer/validator configurations kustomize accepts inline. A string that is a
   * YAML mapping with a `kind` is inline (kustomize builds it as a resource); inline plugin
   * configurations are checked for the same fields; anything else is a path.
   */
  pathOrInline(ctx: Ctx, field: string, value: Node | null, plugin: boolean): void {
    const node = this.resolve(ctx, value);
    if (!isScalar(node)) return;
    const text = scalarText(node);
    const inline = text.includes(":") ? this.inline(text) : undefined;
    // Generators, transformers and validators that are not inline are built like resources.
    if (!inline) return this.path(ctx, field, value, plugin ? "any" : "file");
    if (!plugin || ctx.inlineDepth >= MAX_INLINE_DEPTH) return;
    const base = this.line(ctx, node);
    // A literal block scalar keeps its lines: inner line n is n lines below the `|`.
    const literal = node.type === "BLOCK_LITERAL";
    for (const doc of inline.docs)
      this.document({
        doc,
        lines: inline.lines,
        mapLine: (line) => (literal ? base + line : base),
        prefix: `${ctx.prefix}${field} (inline config).`,
        inlineDepth: ctx.inlineDepth + 1,
      });
  }

  helm(ctx: Ctx, field: string, value: Node | null): void {
    const node = this.resolve(ctx, value);
    if (node === null || (isScalar(node) && ["", "null", "Null", "NULL", "~"].includes(scalarText(node)))) return;
    if ((isSeq(node) || isMap(node)) && node.items.length === 0) return;
    const line = value ? this.line(ctx, value) : 1;
    this.report(
      ctx,
      line,
      field,
      field === "kind" ? "HelmChartInflationGenerator" : field,
      "helm charts are not rendered: Conveyor does not inflate charts (they fetch from chart repositories); commit the rendered manifests instead",
    );
  }

  private inline(text: string): Parsed | undefined {
    this.inlineChars += text.length;
    if (this.inlineChars > MAX_INLINE_CHARS) throw new TooComplex();
    const parsed = parse(text);
    if (parsed.docs.length === 0 || parsed.docs.some((d) => d.errors.length > 0)) return undefined;
    const first = parsed.docs[0]?.contents;
    if (!isMap(first)) return undefined;
    const hasKind = first.items.some((pair) => isScalar(pair.key) && fold(scalarText(pair.key)) === "KIND");
    return hasKind ? parsed : undefined;
  }

  /** The pairs of a mapping with Go-folded keys, `<<` merges expanded, aliases resolved. */
  private entries(ctx: Ctx, map: Node, depth = 0, out: Entry[] = []): Entry[] {
    if (depth > MAX_MERGE_DEPTH) throw new TooComplex();
    if (!isMap(map)) return out;
    for (const pair of map.items) {
      this.tick();
      const keyNode = pair.key as Node | null;
      const key = this.text(ctx, keyNode);
      const value = pair.value as Node | null;
      if (key === undefined || keyNode === null) continue;
      if (key === "<<") {
        const source = this.resolve(ctx, value);
        const maps = isSeq(source) ? source.items.map((item) => this.resolve(ctx, item as Node | null)) : [source];
        for (const m of maps) if (isMap(m)) this.entries(ctx, m, depth + 1, out);
        continue;
      }
      out.push({ key: fold(key), keyNode, value });
    }
    return out;
  }

  /** A scalar's string as go-yaml reads it (`!!binary` decoded), or undefined for collections. */
  private text(ctx: Ctx, value: Node | null): string | undefined {
    const node = this.resolve(ctx, value);
    return isScalar(node) ? scalarText(node) : undefined;
  }

  private resolve(ctx: Ctx, node: unknown): Node | null {
    this.tick();
    if (isAlias(node)) {
      // Not Alias.resolve: it walks the whole document on every call, quadratic on hostile input.
      ctx.anchors ??= anchorsOf(ctx.doc);
      const start = node.range?.[0] ?? 0;
      let target: Node | null = null;
      for (const candidate of ctx.anchors.get(node.source) ?? []) {
        if ((candidate.range?.[0] ?? 0) >= start) break;
        target = candidate; // the latest definition before the alias, as YAML has it
      }
      return target;
    }
    return (node ?? null) as Node | null;
  }

  private tick(): void {
    if (++this.visits > MAX_VISITS) throw new TooComplex();
  }

  private line(ctx: Ctx, node: Node): number {
    const offset = node.range?.[0] ?? 0;
    return ctx.mapLine(ctx.lines.linePos(offset).line);
  }

  private report(ctx: Ctx, line: number, field: string, value: string, reason: string): void {
    const problem = { file: this.input.file, line, field: `${ctx.prefix}${field}`, value: show(value, 500), reason };
    const key = JSON.stringify(problem);
    if (this.seen.has(key) || this.problems.length >= MAX_PROBLEMS) return;
    this.seen.add(key);
    this.problems.push(problem);
  }
}

/** Every anchored node of a document by anchor name, in document order (no recursion, no aliases followed). */
function anchorsOf(doc: Document.Parsed): Map<string, Node[]> {
  const anchors = new Map<string, Node[]>();
  const pending: unknown[] = [doc.contents];
  while (pending.length > 0) {
    const node = pending.pop();
    if (isMap(node)) for (const pair of node.items) pending.push(pair.key, pair.value);
    else if (isSeq(node)) for (const item of node.items) pending.push(item);
    if ((isMap(node) || isSeq(node) || isScalar(node)) && node.anchor) {
      const named = anchors.get(node.anchor);
      if (named) named.push(node);
      else anchors.set(node.anchor, [node]);
    }
  }
  for (const nodes of anchors.values()) nodes.sort((a, b) => (a.range?.[0] ?? 0) - (b.range?.[0] ?? 0));
  return anchors;
}

/** A value as quoted in a problem: hostile text can be long. */
function show(value: string, max = 200): string {
  return value.length > max ? `${value.slice(0, max)}…` : value;
}

/** Go's encoding/json field matching: ASCII case-insensitive, plus Unicode simple folding (ſ, K). */
function fold(s: string): string {
  let out = "";
  for (const ch of s) out += ch.charCodeAt(0) < 0x80 ? ch.toUpperCase() : ch.toLowerCase().toUpperCase();
  return out;
}

/** A scalar's string as go-yaml reads it: `!!binary` decoded (the yaml package may already have). */
function scalarText(node: Scalar): string {
  const value: unknown = node.value;
  if (value instanceof Uint8Array) return bytesToString(Array.from(value));
  const text = String(value ?? "");
  return node.tag === BINARY_TAG ? (decodeBase64(text) ?? text) : text;
}

/** `key=path` or `path` (kustomize's file sources); the path is what is read. */
function fileSourcePath(source: string): string {
  const eq = source.indexOf("=");
  return eq > 0 ? source.slice(eq + 1) : source;
}

function decodeBase64(s: string): string | undefined {
  const clean = s.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 === 1) return undefined;
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const bytes: number[] = [];
  let bits = 0;
  let buffer = 0;
  for (const ch of clean.replace(/=+$/, "")) {
    buffer = (buffer << 6) | alphabet.indexOf(ch);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((buffer >> bits) & 0xff);
    }
  }
  return bytesToString(bytes);
}

function bytesToString(bytes: number[]): string {
  try {
    return decodeURIComponent(bytes.map((b) => `%${b.toString(16).padStart(2, "0")}`).join(""));
  } catch {
    return bytes.map((b) => String.fromCharCode(b)).join("");
  }
}

/** UTF-8 length of `s`, counting no further than `stop`. */
function utf8Length(s: string, stop: number): number {
  if (s.length > stop) return s.length;
  let n = 0;
  for (let i = 0; i < s.length && n < stop; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/**
 * Why an overlay was not rendered, for the check run: each refused reference with its file, line
 * and field. Values are shown in code spans (backticks removed), so they cannot shape the report.
 */
export function referenceRefusal(problems: ReferenceProblem[]): string {
  const span = (text: string) => `\`${text.replace(/[`\r\n]/g, " ").slice(0, 200)}\``;
  return [
    "Not rendered: Conveyor renders only what is inside this repository (remote references only when `render.allowRemote` lists them and they are pinned to a commit).",
    ...problems
      .slice(0, 20)
      .map((p) => `- ${span(`${p.file}:${p.line}`)} ${span(p.field)} ${span(p.value)}: ${p.reason}`),
    ...(problems.length > 20 ? [`- … and ${problems.length - 20} more`] : []),
  ].join("\n");
}
