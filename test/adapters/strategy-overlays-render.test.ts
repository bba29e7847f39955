// The seed's blue-green and canary overlays (fixtures/manifests-repo), rendered by real
// kustomize before and after each step of a release: the patch files carry what the strategy
// needs, and Conveyor's edits of them change exactly the objects they should.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { Renderer } from "../../src/adapters/renderer.js";
import { planSlotDeploy, planSlotSwitch, readBlueGreenLayout, type FileEdit } from "../../src/core/blue-green.js";
import { planCanaryStart, readCanaryLayout } from "../../src/core/canary.js";
import { strategyFor, type BlueGreenStrategy, type CanaryStrategy } from "../../src/core/strategy.js";
import { SEED_DIR } from "../../sandbox/manifests-remote.js";
import { validConfig } from "../helpers/config.js";
import { seedPatches } from "../helpers/strategy-overlays.js";

const tree = mkdtempSync(join(tmpdir(), "conveyor-strategy-render-"));
cpSync(SEED_DIR, tree, { recursive: true });
afterAll(() => rmSync(tree, { recursive: true, force: true }));

const config = validConfig({
  services: { "cart-service": { strategy: "blueGreen" }, "catalog-service": { strategy: "canary" } },
});
const renderer = new Renderer();

interface K8sObject {
  kind: string;
  metadata: { name: string; namespace?: string };
  spec: {
    replicas?: number;
    selector?: Record<string, string>;
    template?: { spec: { containers: Array<{ image: string }> } };
  };
}

async function render(dir: string, edits: FileEdit[] = []): Promise<Map<string, K8sObject>> {
  for (const edit of edits) writeFileSync(join(tree, edit.path), edit.text);
  const result = await renderer.render(join(tree, dir), { root: tree });
  if (!result.ok) throw new Error(result.error);
  const objects = parseAllDocuments(result.yaml).map((doc) => doc.toJS() as K8sObject);
  return new Map(objects.map((o) => [`${o.kind}/${o.metadata.name}`, o]));
}
const image = (o: K8sObject | undefined) => o?.spec.template?.spec.containers[0]?.image;

describe("blue-green overlay, rendered", () => {
  const dir = "services/cart-service/overlays/staging";
  const strategy = strategyFor(config, "cart-service", "staging") as BlueGreenStrategy;
  const layout = () => {
    const read = readBlueGreenLayout(strategy, dir, seedPatches(dir));
    if (!read.ok) throw new Error(read.reason);
    return read.value;
  };

  it("renders two slot Deployments with their own images and a Service selecting the live slot", async () => {
    const objects = await render(dir);
    expect(image(objects.get("Deployment/cart-service-blue"))).toBe("ghcr.io/acme/cart-service:1.4.0");
    expect(image(objects.get("Deployment/cart-service-green"))).toBe("ghcr.io/acme/cart-service:1.3.0");
    expect(objects.get("Service/cart-service")?.spec.selector).toEqual({ app: "cart-service", slot: "blue" });
    expect(objects.get("Service/cart-service")?.metadata.namespace).toBe("cart-service-staging");
  });

  it("PR 1 changes only the idle (green) Deployment; PR 2 only the Service's selector", async () => {
    const deploy = planSlotDeploy(strategy, layout(), "ghcr.io/acme/cart-service:1.5.0");
    if (deploy.kind !== "deploy-idle") throw new Error(JSON.stringify(deploy));
    const afterDeploy = await render(dir, [deploy.edit]);
    expect(image(afterDeploy.get("Deployment/cart-service-green"))).toBe("ghcr.io/acme/cart-service:1.5.0");
    expect(image(afterDeploy.get("Deployment/cart-service-blue"))).toBe("ghcr.io/acme/cart-service:1.4.0");
    expect(afterDeploy.get("Service/cart-service")?.spec.selector?.slot).toBe("blue");

    const switched = planSlotSwitch(strategy, layout(), "green");
    if (switched.kind !== "switch") throw new Error(JSON.stringify(switched));
    const afterSwitch = await render(dir, [switched.edit]);
    expect(afterSwitch.get("Service/cart-service")?.spec.selector).toEqual({ app: "cart-service", slot: "green" });
    expect(image(afterSwitch.get("Deployment/cart-service-blue"))).toBe("ghcr.io/acme/cart-service:1.4.0");
  });
});

describe("canary overlay, rendered", () => {
  const dir = "services/catalog-service/overlays/staging";
  const strategy = strategyFor(config, "catalog-service", "staging") as CanaryStrategy;

  it("renders 9 stable replicas and an idle canary, one Service selecting both", async () => {
    const objects = await render(dir);
    expect(objects.get("Deployment/catalog-service-stable")?.spec.replicas).toBe(9);
    expect(objects.get("Deployment/catalog-service-canary")?.spec.replicas).toBe(0);
    expect(objects.get("Service/catalog-service")?.spec.selector).toEqual({ app: "catalog-service" });
  });

  it("PR 1 runs the new image on one canary replica beside the untouched stable Deployment", async () => {
    const read = readCanaryLayout(strategy, dir, seedPatches(dir));
    if (!read.ok) throw new Error(read.reason);
    const plan = planCanaryStart(strategy, read.value, "ghcr.io/acme/catalog-service:2.1.0");
    if (plan.kind !== "change") throw new Error(JSON.stringify(plan));
    const objects = await render(dir, plan.edits);
    expect(objects.get("Deployment/catalog-service-canary")?.spec.replicas).toBe(1);
    expect(image(objects.get("Deployment/catalog-service-canary"))).toBe("ghcr.io/acme/catalog-service:2.1.0");
    expect(image(objects.get("Deployment/catalog-service-stable"))).toBe("ghcr.io/acme/catalog-service:2.0.0");
    expect(objects.get("Deployment/catalog-service-stable")?.spec.replicas).toBe(9);
  });
});
