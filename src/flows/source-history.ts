// What a PR carries, read from the service repository: where the image an environment runs came
// from (its Deployment's record in the manifests repository), how its commit compares with the
// new image's, and the changelog in between. Only a repository of the same installation is read:
// a deploy event must not make Conveyor read (and publish) another tenant's history by naming it.
import { describeError, statusOf } from "../adapters/github/client.js";
import type { GitHubRepo } from "../adapters/github/repo.js";
import { changelogSection, CHANGELOG_LIMIT, rangeOf, type History, type Range } from "../core/changelog.js";
import type { DispatchSource } from "../core/source.js";
import type { RepoScope } from "./repo-scope.js";
import type { Services } from "./services.js";

/** Merged-PR look-ups per changelog (1 call each): the newest commits get their PR named. */
const PR_LOOKUPS = 20;

export interface Provenance {
  range: Range;
  /** What the environment runs now came from, as its Deployment recorded it. */
  fromSource?: DispatchSource;
  /** The compare, or why there is none; absent when there is no range. */
  history?: History;
  /** The source repository's client, when it could be read. */
  repo?: GitHubRepo;
}

/**
 * The source repository as this installation reaches it, or why it cannot be read. 1 app call
 * (which installation covers it).
 */
export async function sourceRepository(
  services: Services,
  scope: RepoScope,
  repository: string,
): Promise<{ kind: "ok"; gh: GitHubRepo } | { kind: "unavailable"; reason: string }> {
  const [owner, repo] = repository.split("/") as [string, string];
  const installation = await services.github.installationOf({ owner, repo });
  if (installation === undefined)
    return {
      kind: "unavailable",
      reason: `Conveyor is not installed on ${repository} (it needs \`contents: read\` there to list commits)`,
    };
  if (installation !== scope.installationId)
    return {
      kind: "unavailable",
      reason: `${repository} is in another installation of Conveyor than ${scope.gh.fullName}`,
    };
  return { kind: "ok", gh: scope.gh.sibling({ owner, repo }) };
}

/**
 * How the image an environment runs (`from`) and the one a PR brings (`to`, with its source)
 * compare. Costs nothing when the new image has no source commit; else 1 call for the current
 * image's source, and when both are of one repository 1 app call and 1 compare.
 */
export async function compareImages(
  services: Services,
  scope: RepoScope,
  input: {
    service: string;
    env: string;
    from: string | undefined;
    to: string;
    toSource: DispatchSource;
    /** The source of `from` when already known (an open PR's signed marker): no look-up. */
    fromSource?: DispatchSource;
  },
): Promise<Provenance> {
  const { from, toSource } = input;
  const fromSource =
    input.fromSource ??
    (from !== undefined && toSource.repository && toSource.sha
      ? await scope.gh.deployments.sourceOf(input.service, from)
      : undefined);
  const range = rangeOf({ env: input.env, from, fromSource, to: input.to, toSource });
  if (range.kind === "none") return { range, ...(fromSource ? { fromSource } : {}) };
  const source = await sourceRepository(services, scope, range.repository);
  if (source.kind === "unavailable")
    return { range, fromSource, history: { kind: "unavailable", reason: source.reason } };
  try {
    const comparison = await source.gh.history.compare(range.base, range.head);
    return { range, fromSource, history: { kind: "compared", comparison }, repo: source.gh };
  } catch (error) {
    const status = statusOf(error);
    if (status !== 404 && status !== 403 && status !== 422) throw error;
    const reason =
      status === 403
        ? `Conveyor may not read ${range.repository} (it needs \`contents: read\` there)`
        : `GitHub cannot compare these commits in ${range.repository} (${status}: ${describeError(error).slice(0, 120)})`;
    return { range, fromSource, history: { kind: "unavailable", reason } };
  }
}

/** The changelog section for a PR body; names the merged PR of the newest commits it lists. */
export async function changelogFor(
  scope: RepoScope,
  provenance: Provenance,
  move: { env: string; from: string | undefined; to: string },
): Promise<string> {
  const { history, repo } = provenance;
  let named = history;
  if (history?.kind === "compared" && repo) {
    const newest = history.comparison.commits.slice(-Math.min(PR_LOOKUPS, CHANGELOG_LIMIT));
    const pulls = new Map<string, { number: number; title: string }>();
    for (const commit of newest) {
      try {
        const pr = await repo.history.mergedPullOf(commit.sha);
        if (pr) pulls.set(commit.sha, pr);
      } catch (error) {
        // A PR title is a nicety: the list stands without it.
        scope.log.info({ err: describeError(error) }, `no PR for ${commit.sha.slice(0, 12)}`);
        break;
      }
    }
    named = {
      kind: "compared",
      comparison: {
        ...history.comparison,
        commits: history.comparison.commits.map((c) => {
          const pr = pulls.get(c.sha);
          return pr ? { ...c, pr } : c;
        }),
      },
    };
  }
  return changelogSection({ ...move, range: provenance.range, history: named, web: scope.webUrl });
}
