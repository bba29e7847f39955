// Commit a file (or a few) onto a bot branch and open or update its PR: the one way deploys, promotions
// and reverts reach GitHub. It runs in the service's turn of the repository queue, so this process
// never races itself on a branch; a push another writer beat is fetched again and re-planned, a
// bounded number of times.
import type { PullRequestSummary } from "../adapters/github/pull-requests.js";
import { withStateMarker } from "../core/markers.js";
import { serviceKey } from "../runtime/keyed-queue.js";
import { signedStateMarker, type Move } from "./pr-state.js";
import type { RepoScope } from "./repo-scope.js";
import type { Services } from "./services.js";

const PUSH_ATTEMPTS = 3;

export interface Edit {
  branch: string;
  /** Where the branch is now (undefined: it does not exist); the push is leased on it. */
  branchSha: string | undefined;
  /** The commit to build on. */
  parent: string;
  file: string;
  text: string;
  /** Further files the commit writes (a canary's PR 2 edits both Deployments' patch files). */
  more?: Array<{ path: string; text: string }>;
  message: string;
  pr: {
    /** The PR to update; without one, a new PR is opened. */
    existing?: number;
    title: string;
    /** The body, once the commit exists (a render summary may read it). */
    body(commit: string): Promise<string> | string;
    /** What the PR moves: signed, with the commit, into the marker at the end of the body. */
    state: Move;
    labels: string[];
    /** Said on an existing PR when it is updated. */
    updateComment?: string;
  };
}

export type EditPlan<T> = { kind: "stop"; result: T } | { kind: "edit"; edit: Edit };

export type Published = { kind: "opened" | "updated"; pr: number; headSha: string };

/** What a plan may read about the repository before deciding. */
export interface EditView {
  defaultSha: string;
  branchSha(branch: string): Promise<string | undefined>;
  openPr(branch: string): Promise<PullRequestSummary | undefined>;
}

export function publishEdit<T>(
  services: Services,
  scope: RepoScope,
  input: {
    service: string;
    what: string;
    plan: (view: EditView) => Promise<EditPlan<T>>;
    /** Told once, when a plan first decides to edit (before the commit is made). */
    onEdit?: () => void;
  },
): Promise<T | Published> {
  const { gh, workspace } = scope;
  return services.queue.run(
    serviceKey(gh.fullName, input.service),
    async () => {
      for (let attempt = 1; attempt <= PUSH_ATTEMPTS; attempt++) {
        // Where the remote's branches are now; only the branches read are fetched.
        const remoteBranch = await workspace.remoteBranches();
        const defaultSha = await remoteBranch(scope.defaultBranch);
        if (!defaultSha) throw new Error(`default branch ${scope.defaultBranch} not found in ${gh.fullName}`);
        const view: EditView = {
          defaultSha,
          branchSha: remoteBranch,
          openPr: (branch) => gh.pulls.findOpen(branch),
        };
        const plan = await input.plan(view);
        if (plan.kind === "stop") return plan.result;
        if (attempt === 1) input.onEdit?.();

        const { edit } = plan;
        const commit = await workspace.commitFile({
          parent: edit.parent,
          path: edit.file,
          text: edit.text,
          ...(edit.more?.length ? { more: edit.more } : {}),
          message: edit.message,
        });
        if (!(await workspace.pushBranch(edit.branch, commit, edit.branchSha))) {
          scope.log.info(
            { attempt },
            `push to ${edit.branch} was rejected (someone else moved it); fetching and retrying`,
          );
          continue;
        }
        const body = withStateMarker(
          await edit.pr.body(commit),
          signedStateMarker(services, gh.fullName, edit.pr.state, commit),
        );
        if (edit.pr.existing !== undefined) {
          await gh.pulls.update(edit.pr.existing, { title: edit.pr.title, body });
          if (edit.pr.updateComment) await gh.issues.comment(edit.pr.existing, edit.pr.updateComment);
          return { kind: "updated", pr: edit.pr.existing, headSha: commit } satisfies Published;
        }
        const pr = await gh.pulls.create({
          branch: edit.branch,
          base: scope.defaultBranch,
          title: edit.pr.title,
          body,
          labels: edit.pr.labels,
        });
        return { kind: "opened", pr: pr.number, headSha: commit } satisfies Published;
      }
      throw new Error(`could not push ${input.what} after ${PUSH_ATTEMPTS} attempts: the branch kept moving`);
    },
    gh.fullName,
  );
}
