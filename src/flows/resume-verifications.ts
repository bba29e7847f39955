// After a restart (or when another replica started one) the leader rebuilds what it was doing from
// GitHub: every Conveyor Deployment whose latest status is in_progress is verified again, with its
// original start time, so deadlines still hold.
import { findEnvironment } from "../core/config.js";
import { changeFromDeployment, humanOf, verificationOf, type Verification } from "../core/verification.js";
import { readConfig } from "./load-config.js";
import type { Log, Services } from "./services.js";

const LOOKBACK_MS = 24 * 3_600_000;

export class VerificationResumer {
  /** Deployments seen with a final status; never asked about again. */
  private readonly settled = new Set<number>();

  constructor(
    private readonly services: Services,
    private readonly log: Log,
  ) {}

  /** Looks through every installation's repositories; returns how many verifications it resumed. */
  async resume(): Promise<number> {
    const verifier = this.services.verifier;
    if (!verifier) return 0;
    const github = this.services.github;
    let resumed = 0;
    for (const installationId of await github.installations()) {
      for (const repository of await github.repositories(installationId)) {
        const gh = await github.repo(installationId, repository.ref);
        const open = await gh.deployments.inProgress({
          since: Date.now() - LOOKBACK_MS,
          skip: (id) => this.settled.has(id) || verifier.isTracking(id),
          settled: (id) => this.settled.add(id),
        });
        if (open.length === 0) continue;
        const config = await readConfig(gh);
        if (!config) continue;
        for (const d of open) {
          const change = changeFromDeployment(d);
          const env = change ? findEnvironment(config, change.env) : undefined;
          if (!change || !env || verifier.isTracking(d.id)) continue;
          let pr: Verification["pr"];
          if (change.pr !== undefined) {
            const got = await gh.pulls.get(change.pr);
            pr = { number: got.number, author: humanOf(got.author, got.mergedBy), labels: got.labels };
          }
          verifier.track(
            verificationOf({
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
            }),
          );
          resumed++;
        }
      }
    }
    if (resumed) this.log.info({ resumed }, "resumed in-progress verifications from GitHub Deployments");
    return resumed;
  }
}
