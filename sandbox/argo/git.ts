import { posix } from "node:path";
import { parse } from "yaml";
import { GitBatch, type BatchObject } from "../../src/adapters/git-batch.js";
import { isObject } from "./json.js";
import { patchPaths, patchWorkload, type PatchWorkload } from "./patch-workloads.js";

/**
 * Reads the manifests repo through one long-lived `git cat-file --batch` (see GitBatch): a render
 * asks a few questions, and at 10,000 Applications a git process per question would be the cost.
 */
export class GitReader {
  private readonly batch: GitBatch;
  private closed = false;

  constructor(gitDir: string) {
    const env = Object.fromEntries(
      Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined),
    );
    this.batch = new GitBatch(gitDir, env);
  }

  /** The id of the object a name (`<rev>^{commit}`, `<rev>:<path>`) stands for; undefined when none (or unreadable). */
  async id(name: string): Promise<string | undefined> {
    return (await this.read(name))?.id;
  }

  /** The text of the blob a name stands for; undefined when there is none. */
  async text(name: string): Promise<string | undefined> {
    const object = await this.read(name);
    return object?.type === "blob" ? object.body.toString("utf8") : undefined;
  }

  /** Stops the git process; nothing is read afterwards. */
  close(): void {
    this.closed = true;
    this.batch.close();
  }

  private async read(name: string): Promise<BatchObject | undefined> {
    if (this.closed) return undefined;
    try {
      return await this.batch.read(name);
    } catch {
      return undefined;
    }
  }
}

/** The commit a branch points at, or undefined when the branch does not exist (yet). */
export function resolveBranch(git: GitReader, branch: string): Promise<string | undefined> {
  return git.id(`refs/heads/${branch}^{commit}`);
}

/** Resolves any revision (sha, branch, tag) to a commit sha. */
export function resolveRevision(git: GitReader, revision: string): Promise<string | undefined> {
  return git.id(`${revision}^{commit}`);
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

/** What an overlay directory says, which depends on nothing but the directory's tree. */
export interface Overlay {
  images: string[];
  tags: string[];
  workloads: PatchWorkload[];
  /** Local resources (normalized paths), whose trees count in the fingerprint. */
  resources: string[];
}

/** Reads `kustomization.yaml` (and the patch files it lists) in the tree of overlay directory `dir`. */
export async function readOverlay(git: GitReader, treeId: string, dir: string): Promise<Overlay> {
  let text: string | undefined;
  for (const file of ["kustomization.yaml", "kustomization.yml", "Kustomization"]) {
    text = await git.text(`${treeId}:${file}`);
    if (text !== undefined) break; // else try the next file name kustomize accepts
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
    // patchPaths keeps files inside `dir` only, so the overlay's tree holds them.
    const patchText = await git.text(`${treeId}:${patch.slice(dir.length + 1)}`);
    const workload = patchText === undefined ? undefined : patchWorkload(patchText);
    if (!workload) continue;
    workloads.push(workload);
    images.push(...workload.images);
    tags.push(...workload.tags);
  }
  const resources: string[] = [];
  for (const resource of isObject(doc) && Array.isArray(doc.resources) ? doc.resources : []) {
    if (typeof resource !== "string" || /^[a-z]+:\/\//.test(resource)) continue;
    resources.push(posix.normalize(posix.join(dir, resource)));
  }
  return { images, tags, workloads, resources };
}

/**
 * Works out the images `<path>/kustomization.yaml` deploys at `sha`. `overlay` reads the overlay
 * directory's tree (the repo-server passes a cached readOverlay: a tree's content never changes).
 */
export async function renderTarget(
  git: GitReader,
  sha: string,
  path: string,
  overlay: (treeId: string, dir: string) => Promise<Overlay> = (treeId, dir) => readOverlay(git, treeId, dir),
): Promise<RenderedTarget> {
  const dir = posix.normalize(path).replace(/\/+$/, "");
  const treeId = await git.id(`${sha}:${dir}`);
  if (!treeId) throw new ComparisonError(`${dir}: app path does not exist`);
  const { images, tags, workloads, resources } = await overlay(treeId, dir);
  const parts = [treeId];
  for (const resource of resources) {
    const id = await git.id(`${sha}:${resource}`);
    if (id) parts.push(id);
  }
  return {
    revision: sha,
    fingerprint: parts.join("+"),
    images: [...images],
    tags: [...tags],
    ...(workloads.length ? { workloads: [...workloads] } : {}),
  };
}
