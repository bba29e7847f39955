import { join } from "node:path";
import { GitWorkspace } from "./git-workspace.js";

/** The cache of manifests-repo clones, one per repository, kept for the life of the process. */
export class Workspaces {
  private readonly byRepo = new Map<string, GitWorkspace>();

  constructor(private readonly root: string) {}

  get(fullName: string, remoteUrl: string): GitWorkspace {
    let workspace = this.byRepo.get(fullName);
    if (!workspace) {
      // fullName comes from a signed webhook and GitHub's own naming rules; encode it anyway.
      workspace = new GitWorkspace({ dir: join(this.root, encodeURIComponent(fullName)), remoteUrl });
      this.byRepo.set(fullName, workspace);
    }
    return workspace;
  }
}
