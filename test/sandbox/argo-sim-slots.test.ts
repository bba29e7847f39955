// The simulated Argo CD reports each Deployment a patch file sets (blue-green slots, canary
// tracks) with its own health in status.resources, as Argo CD does: a failing idle slot is
// Degraded on its own while the live slot stays Healthy, and Conveyor's verdict over one
// Deployment (core/verdict/resource-health.ts) tells them apart on what the simulator reports.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Application } from "../../src/core/argo-types.js";
import { focusOnResources } from "../../src/core/verdict/resource-health.js";
import { startArgoSim, type ApplicationView, type ArgoSim } from "../../sandbox/argo/index.js";
import { createManifestsRemote, type ManifestsRemote } from "../../sandbox/manifests-remote.js";
import { FAST_SIM } from "../helpers/argo-sim-repo.js";

const SLOTS = "services/cart-service/overlays/staging";
const TRACKS = "services/catalog-service/overlays/staging";

let remote: ManifestsRemote;
let sim: ArgoSim;

beforeAll(async () => {
  remote = createManifestsRemote();
  sim = await startArgoSim({
    repoPath: remote.bare,
    timings: FAST_SIM,
    applications: [
      { name: "cart-service-staging", path: SLOTS },
      { name: "catalog-service-staging", path: TRACKS },
      { name: "order-service-staging", path: "services/order-service/overlays/staging" },
    ],
  });
});
afterAll(async () => {
  await sim?.close();
  remote?.cleanup();
});

const deployments = (app: ApplicationView) =>
  Object.fromEntries(
    (app.status.resources ?? []).filter((r) => r.kind === "Deployment").map((r) => [r.name, r.health?.status]),
  );

const synced = (app: ApplicationView, revision: string) =>
  app.status.sync?.status === "Synced" && app.status.operationState?.syncResult?.revision === revision;

function setImage(path: string, from: string, to: string): string {
  const text = remote.show("main", path) as string;
  expect(text).toContain(from);
  return remote.commit("main", { [path]: text.replace(from, to) }, `${path}: ${to}`);
}

describe("per-Deployment health in the simulated Argo CD", () => {
  it("lists both slots and both tracks, each with its health; an images:-only app keeps one workload", () => {
    expect(deployments(sim.get("cart-service-staging") as ApplicationView)).toEqual({
      "cart-service-blue": "Healthy",
      "cart-service-green": "Healthy",
    });
    expect(deployments(sim.get("catalog-service-staging") as ApplicationView)).toEqual({
      "catalog-service-stable": "Healthy",
      "catalog-service-canary": "Healthy",
    });
    expect(deployments(sim.get("order-service-staging") as ApplicationView)).toEqual({ "order-service": "Healthy" });
    expect(sim.get("cart-service-staging")?.status.summary?.images).toEqual([
      "ghcr.io/acme/cart-service:1.3.0",
      "ghcr.io/acme/cart-service:1.4.0",
    ]);
  });

  it("a failing image on the idle slot degrades that Deployment only; the verdict's view tells them apart", async () => {
    const revision = setImage(`${SLOTS}/slot-green.yaml`, "cart-service:1.3.0", "cart-service:1.6.0-bad");
    await sim.refresh("cart-service-staging");
    const app = await sim.waitFor(
      "cart-service-staging",
      (a) => synced(a, revision) && deployments(a)["cart-service-green"] === "Degraded",
      15_000,
    );
    expect(deployments(app)).toEqual({ "cart-service-blue": "Healthy", "cart-service-green": "Degraded" });
    expect(app.status.health?.status).toBe("Degraded");
    const view = (name: string) =>
      focusOnResources(app as unknown as Application, [{ kind: "Deployment", name, group: "apps" }]).status?.health;
    expect(view("cart-service-blue")).toEqual({ status: "Healthy" });
    expect(view("cart-service-green")).toEqual({
      status: "Degraded",
      message: 'Deployment cart-service-green: Deployment "cart-service-green" exceeded its progress deadline',
    });
  });

  it("a good canary image goes Progressing then Healthy on the canary, the stable Deployment untouched", async () => {
    const revision = setImage(`${TRACKS}/track-canary.yaml`, "catalog-service:2.0.0", "catalog-service:2.1.0");
    const seen: string[] = [];
    sim.on("state", (a) => {
      if (a.metadata.name === "catalog-service-staging") seen.push(JSON.stringify(deployments(a)));
    });
    await sim.refresh("catalog-service-staging");
    const app = await sim.waitFor(
      "catalog-service-staging",
      (a) => synced(a, revision) && deployments(a)["catalog-service-canary"] === "Healthy",
      15_000,
    );
    expect(app.status.health?.status).toBe("Healthy");
    expect(seen).toContain(
      JSON.stringify({ "catalog-service-stable": "Healthy", "catalog-service-canary": "Progressing" }),
    );
    expect(seen.every((s) => (JSON.parse(s) as Record<string, string>)["catalog-service-stable"] === "Healthy")).toBe(
      true,
    );
  });
});
