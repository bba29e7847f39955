import { renderTarget, resolveBranch, resolveRevision, type RenderedTarget } from "./git.js";

/**
 * Argo CD's repo-server, reduced to what the controller asks of it: resolve revisions of the
 * manifests repo and render an overlay at a commit. Every app is rendered on every branch move,
 * so renders are shared.
 */
export class RepoServer {
  /** Rendering a commit is pure, so results are kept (bounded) by sha and path. */
  private readonly rendered = new Map<string, Promise<RenderedTarget>>();

  constructor(private readonly repoPath: string) {}

  resolveBranch(branch: string): Promise<string | undefined> {
    return resolveBranch(this.repoPath, branch);
  }

  resolveRevision(revision: string): Promise<string | undefined> {
    return resolveRevision(this.repoPath, revision);
  }

  render(sha: string, path: string): Promise<RenderedTarget> {
    const key = `${sha}:${path}`;
    let found = this.rendered.get(key);
    if (!found) {
      found = renderTarget(this.repoPath, sha, path);
      this.rendered.set(key, found);
      found.catch(() => this.rendered.delete(key));
      if (this.rendered.size > 500) this.rendered.delete(this.rendered.keys().next().value as string);
    }
    return found;
  }
}
