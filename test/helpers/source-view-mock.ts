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
  check?: { name: string; status: string; conclusion?: string; output: { title: string; summary: string } };
}

/** acme/order-service is in the manifests repository's installation (asked once: it is cached). */
export function expectSourceInstalled(scope: nock.Scope): void {
  scope.get(`${SOURCE}/installation`).reply(200, { id: INSTALLATION });
}

export function expectSourceView(
  scope: nock.Scope,
  sha: string,
  existing: SourceDeployment[],
  write?: { deploymentId: number; env: string; create?: boolean },
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
  scope.get(`${SOURCE}/commits/${sha}/check-runs`).query(true).reply(200, { total_count: 0, check_runs: [] });
  scope.post(`${SOURCE}/check-runs`, (b) => ((seen.check = b as SourceViewSeen["check"]), true)).reply(201, { id: 1 });
  return seen;
}
