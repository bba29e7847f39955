import {
  GitReader,
  readOverlay,
  renderTarget,
  resolveBranch,
  resolveRevision,
  type Overlay,
  type RenderedTarget,
} from "./git.js";

/**
 * Argo CD's repo-server, reduced to what the controller asks of it: resolve revisions of the
 * manifests repo and render an overlay at a commit. Every app is rendered on every branch move,
 * so renders are shared, and an overlay directory whose tree did not change is not read again.
 * Everything is read through one `git cat-file --batch` process, stopped by close().
 */
export class RepoServer {
  private readonly git: GitReader;
  /** Rendering a commit is pure, so results are kept (bounded) by sha and path. */
  private readonly rendered = new Map<string, Promise<RenderedTarget>>();
  /** What an overlay directory says, by its tree id (and path, which error messages name). */
  private readonly overlays = new Map<string, Promise<Overlay>>();
  /** Two renders per app (the deployed commit and the branch head) stay cached. */
  private readonly capacity: number;

  constructor(repoPath: string, applications = 0) {
    this.git = new GitReader(repoPath);
    this.capacity = Math.max(500, 2 * applications);
  }

  resolveBranch(branch: string): Promise<string | undefined> {
    return resolveBranch(this.git, branch);
  }

  resolveRevision(revision: string): Promise<string | undefined> {
    return resolveRevision(this.git, revision);
  }

  render(sha: string, path: string): Promise<RenderedTarget> {
    return this.cached(this.rendered, `${sha}:${path}`, () =>
      renderTarget(this.git, sha, path, (treeId, dir) =>
        this.cached(this.overlays, `${treeId}:${dir}`, () => readOverlay(this.git, treeId, dir)),
      ),
    );
  }

  close(): void {
    this.git.close();
  }

  private cached<T>(cache: Map<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> {
    let found = cache.get(key);
    if (!found) {
      found = make();
      cache.set(key, found);
      found.catch(() => cache.delete(key));
      if (cache.size > this.capacity) cache.delete(cache.keys().next().value as string);
    }
    return found;
  }
}
