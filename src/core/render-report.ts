// What a change does to the cluster, per overlay: resources added, removed and changed, images
// before -> after, and the unified diff of the rendered YAML; then the whole report, fitted into
// one check run. Secret values never appear: the data of a Secret (any kind named or ending in
// "Secret", any apiVersion, or an object that was one on the other side) is shown only as
// "[redacted]" or "[redacted, changed]", and a secret value copied elsewhere is cut out there too
// (see secretKind and valueScrubber).
import { parseDocument, stringify, visit } from "yaml";
import { duplicateKey, UNTRUSTED_PARSE_OPTIONS, UNTRUSTED_TO_JS_OPTIONS } from "./yaml-limits.js";
import { diffLines, unifiedDiff } from "./line-diff.js";

/** GitHub refuses a check run output summary longer than this. */
export const CHECK_OUTPUT_LIMIT = 65_535;

export type RenderSide = { kind: "rendered"; yaml: string } | { kind: "absent" } | { kind: "failed"; error: string };

export interface OverlayRender {
  dir: string;
  service: string;
  env: string;
  because: string[];
  before: RenderSide;
  after: RenderSide;
  /** Render time of each side in ms (0 when cached), for the report. */
  ms?: { before?: number; after?: number };
  cached?: boolean;
}

export interface ImageChange {
  name: string;
  before: string[];
  after: string[];
}

export interface RenderedImage {
  resource: string;
  image: string;
}

export interface OverlayAnalysis {
  dir: string;
  service: string;
  env: string;
  because: string[];
  /** Set when a side failed to render: the renderer's (redacted) message. */
  failure?: { side: "base" | "head"; error: string };
  added: string[];
  removed: string[];
  changed: string[];
  images: ImageChange[];
  /** Every image in the head render, for policy checks. */
  headImages: RenderedImage[];
  diff: string;
  diffAdded: number;
  diffRemoved: number;
  ms?: { before?: number; after?: number };
  cached?: boolean;
}

interface Resource {
  key: string;
  value: unknown;
  /** The document as the renderer wrote it: kustomize's output is canonical, so it diffs as is. */
  text: string;
}

/** A resource as the report may show it. */
interface Shown {
  key: string;
  /** The key as shown (a copied secret value in a name is cut out). */
  label: string;
  /** Secret fields masked, copied secret values cut out. */
  value: unknown;
  /** Whether its secret fields are masked. */
  hidden: boolean;
  /** Whether `value` differs from what the renderer wrote, so the document is serialized anew. */
  rewritten: boolean;
  text: string;
}

function parseResources(yaml: string): Resource[] {
  const out: Resource[] = [];
  for (const text of yaml.split(/^---[ \t]*$/m)) {
    const trimmed = text.replace(/^\n+/, "").trimEnd();
    if (!trimmed) continue;
    // kustomize prints plain YAML: no aliases (a self-referencing one would make a cycle no
    // walk ends), and keys checked for duplicates in linear time, not the parser's quadratic one.
    const doc = parseDocument(trimmed, UNTRUSTED_PARSE_OPTIONS);
    if (doc.errors.length) throw new Error(doc.errors[0]?.message);
    let alias = false;
    visit(doc, {
      Alias() {
        alias = true;
        return visit.BREAK;
      },
    });
    if (alias) throw new Error("the rendered output contains YAML aliases, which kustomize never prints");
    const duplicate = duplicateKey(doc);
    if (duplicate) throw new Error(`the rendered output repeats the key ${JSON.stringify(duplicate.key.slice(0, 80))}`);
    const value: unknown = doc.toJS(UNTRUSTED_TO_JS_OPTIONS);
    if (!value || typeof value !== "object") continue;
    out.push({ key: resourceKey(value as Record<string, unknown>), value, text: trimmed });
  }
  return out;
}

/** "Deployment order-service-staging/order-service", or "Namespace team-a" for cluster-scoped ones. */
function resourceKey(value: Record<string, unknown>): string {
  const metadata = (value.metadata ?? {}) as Record<string, unknown>;
  const kind = typeof value.kind === "string" ? value.kind : "(no kind)";
  const name = typeof metadata.name === "string" ? metadata.name : "(no name)";
  const group =
    typeof value.apiVersion === "string" && value.apiVersion.includes("/") ? value.apiVersion.split("/")[0] : undefined;
  const kindLabel =
    group &&
    !["apps", "batch", "autoscaling", "policy", "networking.k8s.io", "rbac.authorization.k8s.io"].includes(group)
      ? `${kind}.${group}`
      : kind;
  return `${kindLabel} ${typeof metadata.namespace === "string" ? `${metadata.namespace}/` : ""}${name}`;
}

type Obj = Record<string, unknown>;
const isObj = (value: unknown): value is Obj => typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * Objects whose values are never shown: every kind named "Secret", in any group or version (core
 * v1, a mistyped v2, bitnami.com/v1alpha1), and every kind ending in "Secret" (SealedSecret,
 * ExternalSecret, SopsSecret, ...), case aside. Their `data`, `stringData` and `binaryData` are
 * hidden wherever they sit, so a SealedSecret's spec.template.data (plaintext merged into the
 * Secret it makes) and a SopsSecret's secretTemplates[].stringData are hidden too. Left visible:
 * a SealedSecret's encryptedData (ciphertext only the cluster's controller can open: the reviewer
 * sees which keys changed) and an ExternalSecret's data list (references into a secret store,
 * not values).
 */
const secretKind = (value: unknown): boolean =>
  isObj(value) && typeof value.kind === "string" && /secret$/i.test(value.kind.trim());

/** Fields whose values a hidden object never shows. */
const SECRET_FIELDS = new Set(["data", "stringData", "binaryData"]);
const HIDDEN = "[redacted]";
const HIDDEN_CHANGED = "[redacted, changed]";

/** "namespace/name": how an object is matched across the two sides whatever its kind becomes. */
function identity(value: unknown): string {
  const metadata = isObj(value) && isObj(value.metadata) ? value.metadata : {};
  return `${typeof metadata.namespace === "string" ? metadata.namespace : ""}/${String(metadata.name)}`;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * A copy of `value` with the values of its secret fields replaced by whether they differ from the
 * same place in `other` ("[redacted, changed]") or not ("[redacted]"; all of them when `compare`
 * is false), and the values it replaced. Secret fields are `data`, `stringData` and `binaryData`
 * at any depth inside an object of a secret kind: `value` itself when `secret`, or any object
 * nested in it (a Secret inside a template). Keys stay; a list under a secret field (an
 * ExternalSecret's references) keeps its structure, its scalars hidden.
 */
function maskSecrets(
  value: unknown,
  other: unknown,
  compare: boolean,
  secret: boolean,
): { value: unknown; values: string[]; masked: boolean } {
  const values: string[] = [];
  let masked = false;
  const collect = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(collect);
    else if (isObj(v)) Object.values(v).forEach(collect);
    else if (v !== null && v !== undefined) values.push(String(v));
  };
  const marker = (v: unknown, o: unknown) => {
    collect(v);
    masked = true;
    return compare && !same(v, o) ? HIDDEN_CHANGED : HIDDEN;
  };
  const at = (o: unknown, k: string | number): unknown =>
    typeof k === "number" ? (Array.isArray(o) ? o[k] : undefined) : isObj(o) ? o[k] : undefined;
  const hide = (v: unknown, o: unknown): unknown =>
    isObj(v) ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, hide(x, at(o, k))])) : marker(v, o);
  const walk = (v: unknown, o: unknown, inSecret: boolean): unknown => {
    if (Array.isArray(v)) return v.map((x, i) => walk(x, at(o, i), inSecret));
    if (!isObj(v)) return v;
    const hiding = inSecret || secretKind(v);
    const out: Obj = Object.fromEntries(
      Object.entries(v).map(([k, x]) => {
        const ox = at(o, k);
        if (!hiding || !SECRET_FIELDS.has(k)) return [k, walk(x, ox, hiding)];
        if (Array.isArray(x))
          return [k, x.map((e, i) => (isObj(e) || Array.isArray(e) ? walk(e, at(ox, i), true) : marker(e, at(ox, i))))];
        return [k, hide(x, ox)];
      }),
    );
    // kubectl apply's memory of the object holds the values too.
    const metadata = out.metadata;
    if (hiding && isObj(metadata) && isObj(metadata.annotations)) {
      const annotations = metadata.annotations;
      const lastApplied = "kubectl.kubernetes.io/last-applied-configuration";
      if (lastApplied in annotations) {
        collect(annotations[lastApplied]);
        masked = true;
        out.metadata = { ...metadata, annotations: { ...annotations, [lastApplied]: HIDDEN } };
      }
    }
    return out;
  };
  return { value: walk(value, other, secret), values, masked };
}

/** `text` decoded from base64, when it is base64 of printable UTF-8 text. */
function fromBase64(text: string): string | undefined {
  if (text.length < 8 || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  try {
    const raw = atob(text);
    const decoded = new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(raw, (c) => c.charCodeAt(0)));
    // eslint-disable-next-line no-control-regex
    return /[\x00-\x08\x0e-\x1f\x7f]/.test(decoded) ? undefined : decoded;
  } catch {
    return undefined;
  }
}

/** A secret value this long is hidden wherever it is a whole string; this long, wherever it appears in one. */
const MIN_WHOLE = 8;
const MIN_INSIDE = 12;
const MAX_INSIDE_VALUES = 32;

/**
 * Hides secret values that turn up outside the fields that hold them: a kustomize replacement can
 * copy a Secret's value into a ConfigMap, an image or a name. A string equal to one (at least 8
 * characters, as written or base64-decoded) becomes "[redacted]"; one of at least 12 characters
 * is cut out of any string containing it. Shorter values are left alone: hiding every "true" or
 * "5432" would blank half a diff. A ConfigMap that holds the same value as a Secret on purpose is
 * masked too: the price of not showing a copy.
 */
function valueScrubber(values: Iterable<string>): (text: string) => string {
  const whole = new Set<string>();
  const inside = new Set<string>();
  const add = (v: string) => {
    for (const form of [v, v.trim()]) {
      if (form.length >= MIN_WHOLE) whole.add(form);
      if (form.length >= MIN_INSIDE) inside.add(form);
    }
    // A multi-line value (a key, a config file) copied into a block scalar is seen line by line.
    if (v.includes("\n"))
      for (const line of v.split("\n")) if (line.trim().length >= MIN_INSIDE) inside.add(line.trim());
  };
  for (const value of values) {
    add(value);
    const decoded = fromBase64(value.trim());
    if (decoded !== undefined) add(decoded);
  }
  // Cut out of longer strings wherever they appear: the longest values, at most MAX_INSIDE_VALUES
  // of them, so the work stays linear in the size of the output (every value against every
  // string would not be). Any value is still hidden as a whole string or a separated piece.
  const longestFirst = [...inside].sort((a, b) => b.length - a.length).slice(0, MAX_INSIDE_VALUES);
  return (text) => {
    if (whole.has(text) || whole.has(text.trim())) return HIDDEN;
    // A value embedded between separators (a password in a connection string, a token after
    // "Bearer ") is found by its pieces, in one pass over the string whatever the number of values.
    let out = text.replace(/[^\s:@/=;,"'&?#]+/g, (piece) => (inside.has(piece) ? HIDDEN : piece));
    for (const value of longestFirst) if (out.includes(value)) out = out.split(value).join(HIDDEN);
    return out;
  };
}

/** A copy of `value` with every string value (keys aside) passed through `scrub`, and whether any changed. */
function scrubStrings(value: unknown, scrub: (text: string) => string): { value: unknown; changed: boolean } {
  let changed = false;
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") {
      const out = v === HIDDEN || v === HIDDEN_CHANGED ? v : scrub(v);
      if (out !== v) changed = true;
      return out;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (isObj(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return { value: walk(value), changed };
}

/**
 * Every string under an `image` key, with the resource it belongs to, as shown: never from a
 * secret field, and with copied secret values cut out.
 */
function imagesOf(resource: Shown): RenderedImage[] {
  const found: RenderedImage[] = [];
  const walk = (node: unknown, inSecret: boolean) => {
    if (Array.isArray(node)) node.forEach((n) => walk(n, inSecret));
    else if (isObj(node)) {
      const hiding = inSecret || secretKind(node);
      for (const [key, value] of Object.entries(node)) {
        if (hiding && SECRET_FIELDS.has(key)) continue;
        if (key === "image" && typeof value === "string") found.push({ resource: resource.label, image: value });
        else walk(value, hiding);
      }
    }
  };
  walk(resource.value, resource.hidden);
  return found;
}

/** "ghcr.io/acme/app:1.2@sha256:..." -> "ghcr.io/acme/app". */
export function imageName(image: string): string {
  const withoutDigest = image.split("@")[0] as string;
  const colon = withoutDigest.lastIndexOf(":");
  return colon > withoutDigest.lastIndexOf("/") ? withoutDigest.slice(0, colon) : withoutDigest;
}

const serialize = (value: unknown) => stringify(value, { lineWidth: 0 }).trimEnd();

export function analyzeOverlay(render: OverlayRender): OverlayAnalysis {
  const base: OverlayAnalysis = {
    dir: render.dir,
    service: render.service,
    env: render.env,
    because: render.because,
    added: [],
    removed: [],
    changed: [],
    images: [],
    headImages: [],
    diff: "",
    diffAdded: 0,
    diffRemoved: 0,
    ms: render.ms,
    cached: render.cached,
  };
  if (render.after.kind === "failed") return { ...base, failure: { side: "head", error: render.after.error } };
  if (render.before.kind === "failed") return { ...base, failure: { side: "base", error: render.before.error } };

  let before: Resource[];
  let after: Resource[];
  try {
    before = render.before.kind === "rendered" ? parseResources(render.before.yaml) : [];
    after = render.after.kind === "rendered" ? parseResources(render.after.yaml) : [];
  } catch (error) {
    // Only the parser's first line: the rest quotes the document, which may be a Secret.
    const message = String(error).split("\n")[0] as string;
    return { ...base, failure: { side: "head", error: `the renderer's output is not YAML: ${message}` } };
  }
  const beforeByKey = new Map(before.map((r) => [r.key, r]));
  const afterByKey = new Map(after.map((r) => [r.key, r]));

  // Hidden: a secret kind; or an object whose namespace/name was a secret kind on the other side
  // while its own kind is not there (a Secret turned ConfigMap keeps its values hidden, both ways).
  const secretIds = (resources: Resource[]) =>
    new Set(resources.filter((r) => secretKind(r.value)).map((r) => identity(r.value)));
  const secretsBefore = secretIds(before);
  const secretsAfter = secretIds(after);
  const isHidden = (r: Resource, side: "before" | "after") => {
    if (secretKind(r.value)) return true;
    const [otherSecrets, otherByKey] = side === "before" ? [secretsAfter, afterByKey] : [secretsBefore, beforeByKey];
    return otherSecrets.has(identity(r.value)) && !otherByKey.has(r.key);
  };
  const hiddenBefore = before.filter((r) => isHidden(r, "before"));
  const hidden = new Set([...hiddenBefore, ...after.filter((r) => isHidden(r, "after"))]);
  /** What a head object's values are compared with: the same key at the base, else the hidden object that had its namespace/name. */
  const counterpart = (r: Resource) =>
    beforeByKey.get(r.key) ??
    (hidden.has(r)
      ? hiddenBefore.find((b) => identity(b.value) === identity(r.value) && !afterByKey.has(b.key))
      : undefined);
  // The "before" side is always plain "[redacted]"; the "after" side says what changed.
  const mask = (r: Resource, side: "before" | "after") => {
    const other = side === "after" ? counterpart(r)?.value : undefined;
    return maskSecrets(r.value, other, other !== undefined, hidden.has(r));
  };
  const maskedBefore = before.map((r) => mask(r, "before"));
  const maskedAfter = after.map((r) => mask(r, "after"));
  const scrub = valueScrubber([...maskedBefore, ...maskedAfter].flatMap((m) => m.values));

  const show = (r: Resource, m: ReturnType<typeof maskSecrets>): Shown => {
    const scrubbed = scrubStrings(m.value, scrub);
    return {
      key: r.key,
      label: scrubbed.changed && isObj(scrubbed.value) ? resourceKey(scrubbed.value) : r.key,
      value: scrubbed.value,
      hidden: hidden.has(r),
      rewritten: m.masked || scrubbed.changed,
      text: r.text,
    };
  };
  const shownBefore = before.map((r, i) => show(r, maskedBefore[i] as ReturnType<typeof maskSecrets>));
  const shownAfter = after.map((r, i) => show(r, maskedAfter[i] as ReturnType<typeof maskSecrets>));
  // A document rewritten on either side is serialized on both, so its diff shows what changed, not formatting.
  const rewritten = new Set([...shownBefore, ...shownAfter].filter((r) => r.rewritten).map((r) => r.key));
  const text = (shown: Shown[]) => shown.map((r) => (rewritten.has(r.key) ? serialize(r.value) : r.text));
  const beforeText = text(shownBefore);
  const afterText = text(shownAfter);

  for (const r of shownAfter) {
    const previous = beforeByKey.get(r.key);
    if (!previous) base.added.push(r.label);
    else if (previous.text !== r.text) base.changed.push(r.label);
  }
  for (const r of shownBefore) if (!afterByKey.has(r.key)) base.removed.push(r.label);

  const beforeImages = shownBefore.flatMap(imagesOf);
  base.headImages = shownAfter.flatMap(imagesOf);
  const names = [...new Set([...beforeImages, ...base.headImages].map((i) => imageName(i.image)))].sort();
  for (const name of names) {
    const was = [...new Set(beforeImages.filter((i) => imageName(i.image) === name).map((i) => i.image))].sort();
    const now = [...new Set(base.headImages.filter((i) => imageName(i.image) === name).map((i) => i.image))].sort();
    if (was.join("\n") !== now.join("\n")) base.images.push({ name, before: was, after: now });
  }

  const lines = (docs: string[]) => (docs.length ? docs.join("\n---\n").split("\n") : []);
  const diff = unifiedDiff(diffLines(lines(beforeText), lines(afterText)));
  return { ...base, diff: diff.text, diffAdded: diff.added, diffRemoved: diff.removed };
}

export interface PolicyFinding {
  rule: string;
  overlay?: string;
  message: string;
}

export interface ReportInput {
  renderer: string;
  overlays: OverlayAnalysis[];
  violations: PolicyFinding[];
  /** Extra lines for the reader (left-out symlinks, remote resources not cached). */
  notes?: string[];
  limit?: number;
}

export interface CheckReport {
  conclusion: "success" | "failure" | "neutral";
  title: string;
  summary: string;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
const code = (text: string) => `\`${text.replaceAll("`", "'")}\``;

/** A fence longer than any run of backticks inside `text`, so the block cannot be closed early. */
function fence(text: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  return "`".repeat(longest + 1);
}

function imageLine(change: ImageChange): string {
  const side = (images: string[]) => (images.length ? images.map(code).join(", ") : "(none)");
  return `- ${side(change.before)} → ${side(change.after)}`;
}

function listResources(label: string, keys: string[]): string {
  if (keys.length === 0) return "";
  const shown = keys.slice(0, 20).map(code).join(", ");
  return `${label}: ${shown}${keys.length > 20 ? ` and ${keys.length - 20} more` : ""}`;
}

function overlayHeading(o: OverlayAnalysis): string {
  return `### ${o.failure ? "❌" : "✅"} ${code(o.dir)} (${o.service} in ${o.env})`;
}

/** Everything about one overlay except its diff: small, and always shown. */
export function overlaySummary(o: OverlayAnalysis): string {
  const lines = [overlayHeading(o), ""];
  lines.push(`Affected through: ${o.because.map((b) => (b === "the overlay" ? b : code(b))).join(", ") || "—"}`);
  if (o.failure) {
    lines.push(
      "",
      `The render at the ${o.failure.side} commit failed:`,
      "",
      `${fence(o.failure.error)}text`,
      o.failure.error,
      fence(o.failure.error),
    );
    return lines.join("\n");
  }
  lines.push(`Resources: ${o.added.length} added, ${o.removed.length} removed, ${o.changed.length} changed`);
  for (const line of [
    listResources("- added", o.added),
    listResources("- removed", o.removed),
    listResources("- changed", o.changed),
  ])
    if (line) lines.push(line);
  if (o.images.length) lines.push("", "Images:", ...o.images.map(imageLine));
  if (!o.diff) lines.push("", "The rendered output does not change.");
  if (o.ms && (o.ms.before !== undefined || o.ms.after !== undefined)) {
    const ms = (n: number | undefined) => (n === undefined ? "—" : n === 0 ? "cached" : `${n} ms`);
    lines.push("", `<sub>Render time: base ${ms(o.ms.before)}, head ${ms(o.ms.after)}</sub>`);
  }
  return lines.join("\n");
}

function diffBlock(o: OverlayAnalysis, body: string, note: string | undefined): string {
  const f = fence(body);
  return [
    `<details><summary>Rendered diff of ${code(o.dir)} (+${o.diffAdded} −${o.diffRemoved})</summary>`,
    "",
    `${f}diff`,
    body,
    f,
    ...(note ? ["", note] : []),
    "",
    "</details>",
  ].join("\n");
}

/** Cuts a diff at a line boundary to at most `budget` characters, saying what was left out. */
function truncatedDiff(o: OverlayAnalysis, budget: number): string {
  const full = diffBlock(o, o.diff, undefined);
  if (full.length <= budget) return full;
  const lines = o.diff.split("\n");
  const noteFor = (shown: number) =>
    `**Diff truncated:** showing ${shown} of ${lines.length} lines. Render it yourself with \`kubectl kustomize ${o.dir}\` at both commits, or \`git diff\` the output.`;
  // Fixed overhead: the block around an empty body, with the longest note it could carry.
  const overhead = diffBlock(o, "", noteFor(lines.length)).length;
  let room = budget - overhead;
  if (room <= 0) return "";
  const kept: string[] = [];
  for (const line of lines) {
    if (line.length + 1 > room) break;
    kept.push(line);
    room -= line.length + 1;
  }
  return diffBlock(o, kept.join("\n"), noteFor(kept.length));
}

export function renderReport(input: ReportInput): CheckReport {
  const limit = input.limit ?? CHECK_OUTPUT_LIMIT;
  const failed = input.overlays.filter((o) => o.failure);
  const conclusion = failed.length || input.violations.length ? "failure" : "success";
  const titleParts = [plural(input.overlays.length, "overlay") + " rendered"];
  if (failed.length) titleParts.push(`${failed.length} failed`);
  if (input.violations.length) titleParts.push(plural(input.violations.length, "policy violation"));
  const title = input.overlays.length === 0 ? "No overlays affected" : titleParts.join(", ");

  const head: string[] = [`Renderer: ${input.renderer}`];
  if (failed.length)
    head.push(
      "",
      `**${plural(failed.length, "overlay")} did not render.** Conveyor will not merge this pull request automatically.`,
    );
  if (input.violations.length) {
    head.push("", "#### Policy", "", "| rule | overlay | problem |", "|---|---|---|");
    for (const v of input.violations)
      head.push(
        `| ${v.rule} | ${v.overlay ? code(v.overlay) : "—"} | ${v.message.replaceAll("|", "\\|").replaceAll("\n", " ")} |`,
      );
  }
  if (input.notes?.length) head.push("", ...input.notes.map((n) => `> ${n}`));

  const summaries = input.overlays.map(overlaySummary);
  let text = [head.join("\n"), ...summaries].join("\n\n");
  const tooLong = `\n\n**Report truncated** to fit GitHub's ${limit}-character limit.`;
  if (text.length > limit) return { conclusion, title, summary: `${text.slice(0, limit - tooLong.length)}${tooLong}` };

  // Diffs share what is left, smallest first, so one huge diff cannot crowd out the others.
  const withDiff = input.overlays.map((o, i) => ({ o, i })).filter(({ o }) => !o.failure && o.diff);
  const blocks = new Map<number, string>();
  let remaining = limit - text.length - withDiff.length * 2;
  const order = [...withDiff].sort((a, b) => a.o.diff.length - b.o.diff.length);
  order.forEach(({ o, i }, n) => {
    const share = Math.floor(remaining / (order.length - n));
    const block = truncatedDiff(o, share);
    blocks.set(i, block);
    remaining -= block.length;
  });
  text = [head.join("\n"), ...summaries.map((s, i) => (blocks.get(i) ? `${s}\n\n${blocks.get(i)}` : s))].join("\n\n");
  return { conclusion, title, summary: text.length > limit ? text.slice(0, limit) : text };
}
