// Health of chosen resources, not of the whole app. A blue-green release verifies the idle slot's
// Deployment (the live slot and the Service are healthy whatever the new image does) and a canary
// release the canary Deployment; the app's overall health alone cannot say whether that one
// Deployment is Healthy. Per-resource health comes from `status.resources[].health` (filled in
// from the resource tree by the API-server source, where Argo CD 3 no longer stores it).
import type { Application, ResourceStatus } from "../argo-types.js";
import { HEALTH_RANK } from "./facts.js";

export interface FocusResource {
  kind: string;
  name: string;
  /** API group; "apps" for Deployments. Unset matches any group. */
  group?: string;
}

const matches = (resource: ResourceStatus, focus: FocusResource) =>
  resource.kind === focus.kind &&
  resource.name === focus.name &&
  (focus.group === undefined || (resource.group ?? "") === focus.group);

/**
 * The app as the verdict should see it when only `focus` counts: its health is the worst of those
 * resources' health (Missing when Argo CD does not list one, Progressing while one has no health
 * yet) and its resources are those alone, so a message names the resource that failed. Sync
 * state, operations and conditions stay the app's own: the commit must still be synced.
 */
export function focusOnResources(app: Application, focus: FocusResource[]): Application {
  if (focus.length === 0 || !app.status) return app;
  const resources = app.status.resources ?? [];
  let worst: { status: string; message?: string } | undefined;
  const kept: ResourceStatus[] = [];
  for (const wanted of focus) {
    const found = resources.find((r) => matches(r, wanted));
    if (found) kept.push(found);
    const label = `${wanted.kind} ${wanted.name}`;
    const health = !found
      ? { status: "Missing", message: `${label} is not among the app's resources` }
      : found.health?.status
        ? {
            status: found.health.status,
            ...(found.health.message ? { message: `${label}: ${found.health.message}` } : {}),
          }
        : { status: "Progressing", message: `${label} has no health status yet` };
    if (worst === undefined || (HEALTH_RANK[health.status] ?? 4) > (HEALTH_RANK[worst.status] ?? 4)) worst = health;
  }
  return { ...app, status: { ...app.status, health: worst, resources: kept } };
}
