// What a change does to the cluster, per overlay: resources added, removed and changed, images
// before -> after, and the unified diff of the rendered YAML; then the whole report, fitted into
// one check run. Secret values never appear: a Secret's data is shown only as "[redacted]" or
// "[redacted, changed]".
import { parseDocument, stringify } from "yaml";
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

function parseResources(yaml: string): Resource[] {
  const out: Resource[] = [];
  for (const text of yaml.split(/^---[ \t]*$/m)) {
    const trimmed = text.replace(/^\n+/, "").trimEnd();
    if (!trimmed) continue;
    const doc = parseDocument(trimmed);
    if (doc.errors.length) throw new Error(doc.errors[0]?.message);
    const value: unknown = doc.toJS();
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

const isSecret = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" &&
  value !== null &&
  (value as Record<string, unknown>).kind === "Secret" &&
  (value as Record<string, unknown>).apiVersion === "v1";

/** A copy of a Secret whose values say only whether they differ from `other`'s. */
function maskSecret(
  secret: Record<string, unknown>,
  other: Record<string, unknown> | undefined,
): Record<string, unknown> {
  const masked: Record<string, unknown> = { ...secret };
  for (const field of ["data", "stringData"]) {
    const values = secret[field];
    if (!values || typeof values !== "object") continue;
    const previous = (other?.[field] ?? {}) as Record<string, unknown>;
    masked[field] = Object.fromEntries(
      Object.entries(values as Record<string, unknown>).map(([key, value]) => [
        key,
        other === undefined || previous[key] === value ? "[redacted]" : "[redacted, changed]",
      ]),
    );
  }
  const metadata = secret.metadata as Record<string, unknown> | undefined;
  const annotations = metadata?.annotations as Record<string, unknown> | undefined;
  // kubectl apply's memory of the object holds the values too.
  if (annotations && "kubectl.kubernetes.io/last-applied-configuration" in annotations) {
    masked.metadata = {
      ...metadata,
      annotations: { ...annotations, "kubectl.kubernetes.io/last-applied-configuration": "[redacted]" },
    };
  }
  return masked;
}

/** Every string under an `image` key, with the resource it belongs to. */
function imagesOf(resource: Resource): RenderedImage[] {
  const found: RenderedImage[] = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === "object") {
      for (const [key, value] of Object.entries(node)) {
        if (key === "image" && typeof value === "string") found.push({ resource: resource.key, image: value });
        else walk(value);
      }
    }
  };
  walk(resource.value);
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
    return { ...base, failure: { side: "head", error: `the renderer's output is not YAML: ${String(error)}` } };
  }
  const beforeByKey = new Map(before.map((r) => [r.key, r]));
  const afterByKey = new Map(after.map((r) => [r.key, r]));
  const text = (resources: Resource[], others: Map<string, Resource>, side: "before" | "after") =>
    resources.map((r) => {
      if (!isSecret(r.value)) return r.text;
      const other = others.get(r.key)?.value;
      // The "before" side is always plain "[redacted]"; the "after" side says what changed.
      return serialize(maskSecret(r.value, side === "before" ? r.value : isSecret(other) ? other : undefined));
    });
  const beforeText = text(before, afterByKey, "before");
  const afterText = text(after, beforeByKey, "after");

  for (const r of after) {
    const previous = beforeByKey.get(r.key);
    if (!previous) base.added.push(r.key);
    else if (previous.text !== r.text) base.changed.push(r.key);
  }
  for (const r of before) if (!afterByKey.has(r.key)) base.removed.push(r.key);

  const beforeImages = before.flatMap(imagesOf);
  base.headImages = after.flatMap(imagesOf);
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
