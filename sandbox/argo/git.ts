import { execFile } from "node:child_process";
import { posix } from "node:path";
import { parse } from "yaml";
import { isObject } from "./json.js";
import { patchPaths, patchWorkload, type PatchWorkload } from "./patch-workloads.js";

function git(gitDir: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("git", [`--git-dir=${gitDir}`, ...args], { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`git ${args.join(" ")}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

/** The commit a branch points at, or undefined when the branch does not exist (yet). */
export async function resolveBranch(gitDir: string, branch: string): Promise<string | undefined> {
  try {
    return (
      (await git(gitDir, ["rev-parse", "--verify", "--quiet", `refs/heads/${branch}^{commit}`])).trim() || undefined
    );
  } catch {
    return undefined;
  }
}

/** Resolves any revision (sha, branch, tag) to a commit sha. */
export async function resolveRevision(gitDir: string, revision: string): Promise<string | undefined> {
  try {
    return (await git(gitDir, ["rev-parse", "--verify", "--quiet", `${revision}^{commit}`])).trim() || undefined;
  } catch {
    return undefined;
  }
}

async function objectId(gitDir: string, sha: string, path: string): Promise<string | undefined> {
  try {
    return (await git(gitDir, ["rev-parse", "--verify", "--quiet", `${sha}:${path}`])).trim() || undefined;
  } catch {
    return undefined;
  }
}

export interface KustomizeImage {
  name: string;
  newName?: string;
  newTag?: string;
  digest?: string;
}

/** What the app's overlay renders to at one commit, as far as the simulator cares. */
export interface RenderedTarget {
  revision: string;
  /** Changes whenever anything the overlay pulls in changes (overlay dir and local resource dirs). */
  fingerprint: string;
  /** Full image references after kustomize's images transformer, e.g. ghcr.io/acme/api:1.2.3. */
  images: string[];
  /** The tag (or digest) of each image, what the failure pattern is matched against. */
  tags: string[];
  /** Deployments whose image a patch file sets (blue-green slots, canary tracks), each with its own health. */
  workloads?: PatchWorkload[];
}

export class ComparisonError extends Error {}

/** The image reference kustomize would write for one `images:` entry. */
export function renderImage(image: KustomizeImage): { ref: string; tag: string } {
  const name = image.newName ?? image.name;
  if (image.digest) return { ref: `${name}@${image.digest}`, tag: image.digest };
  const tag = image.newTag ?? "latest";
  return { ref: `${name}:${tag}`, tag };
}

/** Reads `<path>/kustomization.yaml` at `sha` and works out the images it deploys. */
export async function renderTarget(gitDir: string, sha: string, path: string): Promise<RenderedTarget> {
  const dir = posix.normalize(path).replace(/\/+$/, "");
  const treeId = await objectId(gitDir, sha, dir);
  if (!treeId) throw new ComparisonError(`${dir}: app path does not exist`);
  let text: string | undefined;
  for (const file of ["kustomization.yaml", "kustomization.yml", "Kustomization"]) {
    try {
      text = await git(gitDir, ["show", `${sha}:${dir}/${file}`]);
      break;
    } catch {
      // try the next file name kustomize accepts
    }
  }
  if (text === undefined) throw new ComparisonError(`${dir}: kustomization.yaml not found`);
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new ComparisonError(
      `${dir}/kustomization.yaml: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`,
    );
  }
  if (doc !== null && !isObject(doc))
    throw new ComparisonError(`${dir}/kustomization.yaml: not a kustomization object`);
  const images: string[] = [];
  const tags: string[] = [];
  const entries = isObject(doc) && Array.isArray(doc.images) ? doc.images : [];
  for (const entry of entries) {
    if (!isObject(entry) || typeof entry.name !== "string")
      throw new ComparisonError(`${dir}/kustomization.yaml: images entries need a name`);
    const image: KustomizeImage = { name: entry.name };
    if (typeof entry.newName === "string") image.newName = entry.newName;
    if (typeof entry.newTag === "string" || typeof entry.newTag === "number") image.newTag = String(entry.newTag);
    if (typeof entry.digest === "string") image.digest = entry.digest;
    const { ref, tag } = renderImage(image);
    images.push(ref);
    tags.push(tag);
  }
  const workloads: PatchWorkload[] = [];
  for (const patch of patchPaths(dir, doc)) {
    const workload = await git(gitDir, ["show", `${sha}:${patch}`]).then(patchWorkload, () => undefined);
    if (!workload) continue;
    workloads.push(workload);
    images.push(...workload.images);
    tags.push(...workload.tags);
  }
  const parts = [treeId];
  const resources = isObject(doc) && Array.isArray(doc.resources) ? doc.resources : [];
  for (const resource of resources) {
    if (typeof resource !== "string" || /^[a-z]+:\/\//.test(resource)) continue;
    const id = await objectId(gitDir, sha, posix.normalize(posix.join(dir, resource)));
    if (id) parts.push(id);
  }
  return { revision: sha, fingerprint: parts.join("+"), images, tags, ...(workloads.length ? { workloads } : {}) };
}
