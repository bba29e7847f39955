// "What should this deploy event change?" One decision over plain data: the handler gathers the
// overlay as it is on the default branch and on the bot branch, plus the open PR if any, and
// executes whatever plan comes back.
import { findEnvironment, overlayDir, type Config } from "./config.js";
import type { DeployRequest, DispatchSource, RejectCode } from "./dispatch.js";
import { compareSemver, formatImageRef } from "./image-ref.js";
import { quote } from "./names.js";
import { branchFor, deployPrText, type ImageMove } from "./pr-text.js";
import { readImages, setImages } from "./set-image.js";
import { withDigest } from "./source.js";
import { strategyKindFor } from "./strategy.js";
import type { ImageChange } from "./image-spec.js";

export interface DeployTarget {
  service: string;
  env: string;
  /** Repository-relative path of the overlay's kustomization.yaml. */
  overlayFile: string;
  branch: string;
  /** Set when the release is blue-green: the slots' patch files move, not the images: entry. */
  strategy?: "blueGreen" | "canary";
}

export type Rejection = { kind: "reject"; code: RejectCode; reason: string; service?: string; source: DispatchSource };

/**
 * Picks the service and environment a request is for, or says why it cannot be served. Deploy
 * events may only name the first environment (or one with directDeploy); promotions, reverts and
 * commands name any environment, having been checked by their own rules.
 */
export function resolveTarget(
  request: DeployRequest,
  config: Config,
  knownServices: ReadonlySet<string>,
  mode: "dispatch" | "promotion" = "dispatch",
): { kind: "target"; target: DeployTarget } | Rejection {
  const reject = (code: RejectCode, reason: string): Rejection => ({
    kind: "reject",
    code,
    reason,
    service: request.service,
    source: request.source,
  });
  if (!knownServices.has(request.service)) {
    const known = [...knownServices].sort();
    return reject(
      "unknown-service",
      `service ${quote(request.service)} is not configured and has no overlay in this repository${known.length ? ` (known: ${known.slice(0, 20).join(", ")}${known.length > 20 ? ", …" : ""})` : ""}`,
    );
  }
  const first = config.environments[0] as Config["environments"][number];
  const envName = request.environment ?? first.name;
  const env = findEnvironment(config, envName);
  if (!env) {
    return reject(
      "unknown-environment",
      `environment ${quote(envName)} is not one of ${config.environments.map((e) => e.name).join(", ")}`,
    );
  }
  if (mode === "dispatch" && env !== first && !env.directDeploy) {
    return reject(
      "direct-deploy-refused",
      `deploys go to ${first.name} first; ${env.name} is reached by promotion (set directDeploy: true on ${env.name} in .github/conveyor.yml to allow this)`,
    );
  }
  // Blue-green and canary releases move their Deployments' patch files, never the images: entry
  // (which would put the image on both slots or tracks at once): core/plan-blue-green.ts and
  // core/plan-canary.ts plan them, the target says which.
  const strategy = strategyKindFor(config, request.service, env.name);
  return {
    kind: "target",
    target: {
      service: request.service,
      env: env.name,
      overlayFile: `${overlayDir(config, request.service, env)}/kustomization.yaml`,
      branch: branchFor(env.name, request.service),
      ...(strategy !== "image" ? { strategy } : {}),
    },
  };
}

export interface DeployState {
  target: DeployTarget;
  request: DeployRequest;
  config: Config;
  /** The overlay on the default branch (undefined when the file does not exist). */
  onDefault: string | undefined;
  /** The bot branch, when it exists on the remote. */
  botBranch?: { text: string | undefined; containsDefault: boolean };
  /** The open PR from the bot branch, if any. */
  openPr?: { number: number };
  /** Lines for the PR body that say why this change is safe (e.g. where it was verified). */
  evidence?: string[];
  /** The GitHub server's web address, for links in the PR body. */
  web?: string;
}

export type DeployPlan =
  | Rejection
  /** Nothing to change; `pr` is the open PR that already proposes the image, when that is why. */
  | { kind: "noop"; reason: string; pr?: number }
  | {
      kind: "change";
      target: DeployTarget;
      /** Commit on top of the bot branch, or rebuild the branch from the default branch. */
      base: "branch" | "default";
      text: string;
      move: ImageMove;
      supersedes?: string;
      existingPr?: number;
      commitMessage: string;
      title: string;
      body: string;
      labels: string[];
    };

export function planDeploy(state: DeployState): DeployPlan {
  const { target, request, config } = state;
  const reject = (code: RejectCode, reason: string): Rejection => ({
    kind: "reject",
    code,
    reason,
    service: request.service,
    source: request.source,
  });

  if (state.onDefault === undefined)
    return reject("invalid-overlay", `${target.overlayFile} does not exist on the default branch`);
  const deployed = readImages(state.onDefault);
  if (!deployed.ok) return reject("invalid-overlay", `${target.overlayFile} cannot be edited: ${deployed.reason}`);

  const match = matchImage(deployed.images, config.services[target.service]?.image, request);
  if (!match.ok) return reject("image-mismatch", match.reason);
  const { entryName, repository, current } = match;
  const next = desiredImage(repository, request);

  let proposed: string | undefined;
  if (state.openPr && state.botBranch?.text !== undefined) {
    const onBranch = readImages(state.botBranch.text);
    if (onBranch.ok)
      proposed = imageOf(
        onBranch.images.find((i) => i.name === entryName),
        entryName,
      );
  }

  if (state.openPr && proposed === next.image)
    return {
      kind: "noop",
      reason: `PR #${state.openPr.number} already proposes ${next.image}`,
      pr: state.openPr.number,
    };
  if (!state.openPr && current === next.image)
    return { kind: "noop", reason: `${target.overlayFile} already has ${next.image}` };

  for (const [where, image] of [
    ["the open PR", proposed],
    [target.env, current],
  ] as const) {
    const older = image && isOlder(next.tag, tagOf(image));
    if (older)
      return reject(
        "older-version",
        `${next.image} is older than ${image} in ${where}; an older version never replaces a newer one (send a rollback instead)`,
      );
  }

  const base =
    state.openPr && state.botBranch?.containsDefault && state.botBranch.text !== undefined ? "branch" : "default";
  const change: ImageChange = { name: entryName, ...next.change };
  const edited = setImages(base === "branch" ? (state.botBranch?.text as string) : state.onDefault, [change]);
  if (!edited.ok) return reject("invalid-overlay", `${target.overlayFile} cannot be edited: ${edited.reason}`);

  const move: ImageMove = {
    service: target.service,
    env: target.env,
    from: current,
    to: next.image,
    file: target.overlayFile,
    source: withDigest(request.source, next.digest),
  };
  const text = deployPrText(move, config, { evidence: state.evidence, web: state.web });
  return {
    kind: "change",
    target,
    base,
    text: edited.text,
    move,
    supersedes: state.openPr && proposed !== next.image ? proposed : undefined,
    existingPr: state.openPr?.number,
    ...text,
  };
}

interface ImageEntry {
  name: string;
  newName?: string;
  newTag?: string;
  digest?: string;
}

type Match =
  { ok: true; entryName: string; repository: string; current: string | undefined } | { ok: false; reason: string };

/**
 * Finds the overlay entry a request may change. The request's repository must be the service's
 * configured image, or the image (newName, else name) already in its overlay: one service
 * cannot deploy another's image.
 */
function matchImage(images: ImageEntry[], configured: string | undefined, request: DeployRequest): Match {
  const repoOf = (entry: ImageEntry) => entry.newName ?? entry.name;
  const wanted = request.image?.name;
  if (configured !== undefined) {
    if (wanted !== undefined && wanted !== configured) {
      return {
        ok: false,
        reason: `image ${quote(wanted)} is not this service's image; ${request.service} deploys ${quote(configured)}`,
      };
    }
    const entry = images.find((i) => repoOf(i) === configured || i.name === configured);
    return {
      ok: true,
      entryName: entry?.name ?? configured,
      repository: configured,
      current: entry ? imageOf(entry, entry.name) : undefined,
    };
  }
  if (images.length === 0)
    return { ok: false, reason: `the overlay has no images and no image is configured for ${request.service}` };
  const entry =
    wanted !== undefined
      ? images.find((i) => repoOf(i) === wanted || i.name === wanted)
      : images.length === 1
        ? images[0]
        : undefined;
  if (!entry) {
    const own = images.map((i) => repoOf(i)).join(", ");
    return {
      ok: false,
      reason:
        wanted !== undefined
          ? `image ${quote(wanted)} is not this service's image; ${request.service} deploys ${own}`
          : `the overlay has several images (${own}); send the full image instead of a tag or digest`,
    };
  }
  return { ok: true, entryName: entry.name, repository: repoOf(entry), current: imageOf(entry, entry.name) };
}

function desiredImage(
  repository: string,
  request: DeployRequest,
): { image: string; tag?: string; digest?: string; change: Omit<ImageChange, "name"> } {
  const tag = request.image?.tag ?? request.tag;
  const digest = request.image?.digest ?? request.digest;
  const change: Omit<ImageChange, "name"> = {};
  if (tag !== undefined) change.newTag = tag;
  if (digest !== undefined) change.digest = digest;
  return { image: formatImageRef({ name: repository, tag, digest }), tag, digest, change };
}

function imageOf(entry: ImageEntry | undefined, fallbackName: string): string | undefined {
  if (!entry) return undefined;
  return formatImageRef({ name: entry.newName ?? fallbackName, tag: entry.newTag, digest: entry.digest });
}

function tagOf(image: string): string | undefined {
  const withoutDigest = image.split("@")[0] as string;
  const slash = withoutDigest.lastIndexOf("/");
  const colon = withoutDigest.lastIndexOf(":");
  return colon > slash ? withoutDigest.slice(colon + 1) : undefined;
}

function isOlder(next: string | undefined, current: string | undefined): boolean {
  if (next === undefined || current === undefined) return false;
  const order = compareSemver(next, current);
  return order !== undefined && order < 0;
}
