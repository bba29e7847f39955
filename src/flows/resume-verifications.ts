// After a restart (or when another replica started one) the leader rebuilds what it was doing from
// GitHub: every Conveyor Deployment still in progress is verified again, with its original start
// time so deadlines still hold; one whose status records a verdict still owed is acted on
// instead; one that never got a status (made just before a crash) is marked and verified. It
// pages through every installation, repository and recent Deployment: how far back is set by the
// environments' own deadlines, not by a count.
import { applicationName, findEnvironment, type Config } from "../core/config.js";
import { parseOwed } from "../core/owed.js";
import { changeFromDeployment, humanOf, verificationOf, type Verification } from "../core/verification.js";
import type { VerdictActor } from "./act-on-verdict.js";
import { readConfig } from "./load-config.js";
import type { Log, Services } from "./services.js";

/** At least this far back: a verdict owed through a long GitHub outage is still found. */
const MIN_LOOKBACK_MS = 24 * 3_600_000;

export class VerificationResumer {
  /** Deployments seen with a final status; never asked about again. */
  private readonly settled = new Set<number>();

  constructor(
    private readonly services: Services,
    private readonly log: Log,
    private readonly actor?: VerdictActor,
  ) {}

  /** Looks through every installation's repositories; returns how many it resumed or acted on. */
  async resume(): Promise<number> {
    const verifier = this.services.verifier;
    if (!verifier) return 0;
    const github = this.services.github;
    let resumed = 0;
    for (const installationId of await github.installations()) {
      for (const repository of await github.repositories(installationId)) {
        const gh = await github.repo(installationId, repository.ref);
        // A week back at most; the config (read only where Conveyor has something in progress)
        // narrows it to the environments' own deadlines below.
        const open = await gh.deployments.inProgress({
          since: Date.now() - MIN_LOOKBACK_MS * 7,
          skip: (id) => this.settled.has(id) || verifier.isTracking(id) || this.busy(id),
          settled: (id) => this.settled.add(id),
        });
        if (open.length === 0) continue;
        const config = await readConfig(gh);
        if (!config) continue;
        const horizon = Date.now() - lookbackMs(config);
        for (const d of open) {
          const change = changeFromDeployment(d);
          const env = change ? findEnvironment(config, change.env) : undefined;
          if (!change || !env || verifier.isTracking(d.id) || this.busy(d.id)) continue;
          const owed = parseOwed(d.status?.description);
          // Older than any environment's deadlines and not owing a verdict: nothing left to judge.
          if (!owed && Date.parse(d.createdAt) < horizon) continue;
          let pr: Verification["pr"];
          if (change.pr !== undefined) {
            const got = await gh.pulls.get(change.pr);
            pr = { number: got.number, author: humanOf(got.author, got.mergedBy), labels: got.labels };
          }
          const v = verificationOf({
            config,
            env,
            repo: {
              ...repository.ref,
              installationId,
              cloneUrl: repository.cloneUrl,
              defaultBranch: repository.defaultBranch,
            },
            change,
            deploymentId: d.id,
            startedAt: d.createdAt,
            pr,
            application: change.application,
          });
          if (owed && this.actor) {
            void this.actor.act(v, owed, { recorded: true });
          } else {
            if (!d.status) {
              const app = change.application ?? applicationName(config, change.service, env.name);
              await gh.deployments.setStatus(d.id, "in_progress", `Watching Argo CD application ${app}`);
            }
            verifier.track(v);
          }
          resumed++;
        }
      }
    }
    if (resumed) this.log.info({ resumed }, "resumed in-progress verifications from GitHub Deployments");
    return resumed;
  }

  /** Acted on in this process now, or its E2E gates already waited for here. */
  private busy(id: number): boolean {
    return (this.actor?.isActing(id) ?? false) || (this.services.gateWaits?.has(id) ?? false);
  }
}

/** How far back a Deployment may still be in progress: the longest environment's deadlines, with room. */
function lookbackMs(config: Config): number {
  const longest = Math.max(
    ...config.environments.map((e) => e.timeouts.sync + e.timeouts.health + e.timeouts.suspended + e.soak),
  );
  return Math.max(MIN_LOOKBACK_MS, 2 * longest);
}
