// The service repository's side of a flow test: acme/order-service in the same installation, its
// commit's Deployments listed with their latest statuses, and, when a stage is written, the status
// (on a Deployment made first when there is none) and the conveyor/environments check run.
import type nock from "nock";
import { INSTALLATION } from "./flow-world.js";

export const SOURCE = "/repos/acme/order-service";

export interface SourceDeployment {
  id: number;
  environment: string;
  /** The latest status; none when omitted. */
  state?: string;
  description?: string;
  log_url?: string;
  service?: string;
}

export interface SourceViewSeen {
  create?: Record<string, unknown>;
  status?: Record<string, unknown>;
  /** The check run as made (with head_sha and name) or as updated (status and output only). */
  check?: {
    head_sha?: string;
    name?: string;
    status: string;
    conclusion?: string;
    output: { title: string; summary: string };
  };
}

/** acme/order-service is in the manifests repository's installation (asked once: it is cached). */
export function expectSourceInstalled(scope: nock.Scope): void {
  scope.get(`${SOURCE}/installation`).reply(200, { id: INSTALLATION });
}

export function expectSourceView(
  scope: nock.Scope,
  sha: string,
  existing: SourceDeployment[],
  write?: {
    deploymentId: number;
    env: string;
    create?: boolean;
    /** The commit's check run, made by an earlier stage: updated in place. */
    checkRun?: number;
  },
): SourceViewSeen {
  const seen: SourceViewSeen = {};
  const deployment = (id: number, environment: string, service = "order-service") => ({
    id,
    sha,
    environment,
    created_at: "2026-01-01T09:00:00Z",
    url: `https://api.github.com${SOURCE}/deployments/${id}`,
    payload: { conveyor: true, service },
  });
  scope
    .get(`${SOURCE}/deployments`)
    .query({ sha, per_page: "100" })
    .reply(
      200,
      existing.map((d) => deployment(d.id, d.environment, d.service)),
    );
  for (const d of existing)
    scope
      .get(`${SOURCE}/deployments/${d.id}/statuses`)
      .query({ per_page: "1" })
      .reply(
        200,
        d.state
          ? [
              {
                state: d.state,
                description: d.description ?? "",
                log_url: d.log_url,
                created_at: "2026-01-01T09:30:00Z",
              },
            ]
          : [],
      );
  if (!write) return seen;
  if (write.create)
    scope
      .post(`${SOURCE}/deployments`, (b) => ((seen.create = b), true))
      .reply(201, deployment(write.deploymentId, write.env));
  scope.post(`${SOURCE}/deployments/${write.deploymentId}/statuses`, (b) => ((seen.status = b), true)).reply(201, {});
  const runs = write.checkRun !== undefined ? [{ id: write.checkRun, name: "conveyor/environments" }] : [];
  scope
    .get(`${SOURCE}/commits/${sha}/check-runs`)
    .query(true)
    .reply(200, { total_count: runs.length, check_runs: runs });
  const check = (b: object) => ((seen.check = b as SourceViewSeen["check"]), true);
  if (write.checkRun !== undefined) scope.patch(`${SOURCE}/check-runs/${write.checkRun}`, check).reply(200, {});
  else scope.post(`${SOURCE}/check-runs`, check).reply(201, { id: 1 });
  return seen;
}
