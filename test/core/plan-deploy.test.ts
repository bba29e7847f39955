import { describe, expect, it } from "vitest";
import { goldenFiles } from "../helpers/golden.js";
import { parseConfig, type Config } from "../../src/core/config.js";
import { parseDispatch, type DeployRequest } from "../../src/core/dispatch.js";
import { discoverServices } from "../../src/core/discover.js";
import { planDeploy, resolveTarget, type DeployTarget } from "../../src/core/plan-deploy.js";

const config = (raw: unknown = null): Config => {
  const result = parseConfig(raw);
  if (!result.ok) throw new Error("bad config");
  return result.config;
};

const OVERLAY = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../base
images:
  - name: ghcr.io/acme/api # the api
    newTag: "1.4.0"
`;

function request(eventType: string, payload: unknown): DeployRequest {
  const intent = parseDispatch(eventType, payload);
  if (intent.kind !== "deploy") throw new Error(JSON.stringify(intent));
  return intent.request;
}

const target: DeployTarget = {
  service: "api",
  env: "staging",
  overlayFile: "services/api/overlays/staging/kustomization.yaml",
  branch: "conveyor/staging/api",
};

const golden = goldenFiles(new URL("../fixtures/pr-text/", import.meta.url));

describe("resolveTarget", () => {
  const known = discoverServices(
    [
      "services/api/overlays/staging/kustomization.yaml",
      "services/api/overlays/production/kustomization.yaml",
      "services/web/base/kustomization.yaml",
      "README.md",
    ],
    config(),
  );
  it("discovers services from overlay files only", () => {
    expect([...known]).toEqual(["api"]);
  });
  it("defaults to the first environment", () => {
    expect(resolveTarget(request("deploy-api", { tag: "1" }), config(), known)).toEqual({ kind: "target", target });
  });
  it("refuses an environment later in the order unless directDeploy allows it", () => {
    expect(
      resolveTarget(request("deploy", { service: "api", tag: "1", environment: "production" }), config(), known),
    ).toMatchObject({ kind: "reject", code: "direct-deploy-refused" });
    const direct = config({ environments: [{ name: "staging" }, { name: "production", directDeploy: true }] });
    expect(
      resolveTarget(request("deploy", { service: "api", tag: "1", environment: "production" }), direct, known),
    ).toMatchObject({ kind: "target", target: { env: "production", branch: "conveyor/production/api" } });
  });
  it("marks blue-green and canary targets: their patch files move, never the images: entry", () => {
    const blueGreen = config({ services: { api: { strategy: { production: "blueGreen" } } } });
    const prod = request("deploy", { service: "api", tag: "1", environment: "production" });
    expect(resolveTarget(request("deploy-api", { tag: "1" }), blueGreen, known)).toEqual({
      kind: "target",
      target: {
        service: "api",
        env: "staging",
        overlayFile: "services/api/overlays/staging/kustomization.yaml",
        branch: "conveyor/staging/api",
      },
    });
    expect(resolveTarget(prod, blueGreen, known, "promotion")).toMatchObject({
      kind: "target",
      target: { env: "production", strategy: "blueGreen" },
    });
    const canary = config({ services: { api: { strategy: { production: "canary" } } } });
    expect(resolveTarget(prod, canary, known, "promotion")).toMatchObject({
      kind: "target",
      target: { env: "production", strategy: "canary" },
    });
  });
  it("refuses unknown services and lists the known ones", () => {
    expect(resolveTarget(request("deploy-web", { tag: "1" }), config(), known)).toMatchObject({
      kind: "reject",
      code: "unknown-service",
      reason: expect.stringContaining("known: api"),
    });
  });
  it("uses per-service path overrides", () => {
    const custom = config({ services: { api: { paths: { staging: "apps/api/stage" } } } });
    expect(resolveTarget(request("deploy-api", { tag: "1" }), custom, known)).toMatchObject({
      target: { overlayFile: "apps/api/stage/kustomization.yaml" },
    });
  });
});

describe("planDeploy", () => {
  const base = { target, config: config(), onDefault: OVERLAY, web: "https://github.com" };

  it("a new image: rebuild the branch from the default branch, only the tag changes, golden PR text", () => {
    const plan = planDeploy({
      ...base,
      request: request("deploy", {
        service: "api",
        image: "ghcr.io/acme/api:1.5.0",
        source: { repository: "acme/api", sha: "a".repeat(40), run_url: "https://github.com/acme/api/actions/runs/9" },
      }),
    });
    expect(plan.kind).toBe("change");
    if (plan.kind !== "change") return;
    expect(plan.base).toBe("default");
    expect(plan.text).toBe(OVERLAY.replace('"1.4.0"', '"1.5.0"'));
    expect(plan.labels).toEqual(["conveyor", "env/staging"]);
    golden("new-pr.title.txt", `${plan.title}\n`);
    golden("new-pr.body.md", plan.body);
    golden("new-pr.commit.txt", plan.commitMessage);
  });

  it("an open PR that is up to date with the default branch gets a commit on top, and names what it supersedes", () => {
    const onBranch = OVERLAY.replace('"1.4.0"', '"1.5.0"');
    const plan = planDeploy({
      ...base,
      request: request("deploy-api", { image: "ghcr.io/acme/api:1.6.0" }),
      botBranch: { text: onBranch, containsDefault: true },
      openPr: { number: 4 },
    });
    expect(plan).toMatchObject({ kind: "change", base: "branch", existingPr: 4, supersedes: "ghcr.io/acme/api:1.5.0" });
  });

  it("an open PR behind the default branch is rebuilt from the default branch", () => {
    const plan = planDeploy({
      ...base,
      request: request("deploy-api", { image: "ghcr.io/acme/api:1.6.0" }),
      botBranch: { text: OVERLAY, containsDefault: false },
      openPr: { number: 4 },
    });
    expect(plan).toMatchObject({ kind: "change", base: "default", existingPr: 4 });
  });

  it("a closed PR's leftover branch is rebuilt and a new PR opened", () => {
    const plan = planDeploy({
      ...base,
      request: request("deploy-api", { tag: "1.6.0" }),
      botBranch: { text: OVERLAY, containsDefault: true },
    });
    expect(plan).toMatchObject({ kind: "change", base: "default", existingPr: undefined });
  });

  it.each([
    [
      "the same image as the open PR",
      "1.5.0",
      { text: OVERLAY.replace('"1.4.0"', '"1.5.0"'), containsDefault: true },
      { number: 4 },
      "PR #4 already proposes",
    ],
    ["the image already deployed", "1.4.0", undefined, undefined, "already has ghcr.io/acme/api:1.4.0"],
  ])("noop for %s", (_name, tag, botBranch, openPr, words) => {
    const plan = planDeploy({ ...base, request: request("deploy-api", { tag }), botBranch, openPr });
    expect(plan).toMatchObject({ kind: "noop", reason: expect.stringContaining(words) });
  });

  it.each([
    ["older than deployed", "1.3.9", undefined, undefined, "in staging"],
    [
      "older than the open PR",
      "1.5.0",
      { text: OVERLAY.replace('"1.4.0"', '"2.0.0"'), containsDefault: true },
      { number: 4 },
      "in the open PR",
    ],
  ])("refuses a semver %s", (_name, tag, botBranch, openPr, words) => {
    const plan = planDeploy({ ...base, request: request("deploy-api", { tag }), botBranch, openPr });
    expect(plan).toMatchObject({ kind: "reject", code: "older-version", reason: expect.stringContaining(words) });
  });

  it("latest wins when tags are not semver", () => {
    const plan = planDeploy({
      ...base,
      onDefault: OVERLAY.replace('"1.4.0"', "main-zzz"),
      request: request("deploy-api", { tag: "main-aaa" }),
    });
    expect(plan.kind).toBe("change");
  });

  it("refuses another service's image, and a configured image overrides discovery", () => {
    expect(planDeploy({ ...base, request: request("deploy-api", { image: "ghcr.io/acme/web:1.5.0" }) })).toMatchObject({
      kind: "reject",
      code: "image-mismatch",
    });
    const pinned = config({ services: { api: { image: "ghcr.io/acme/api" } } });
    expect(
      planDeploy({ ...base, config: pinned, request: request("deploy-api", { image: "ghcr.io/acme/api-evil:1.5.0" }) }),
    ).toMatchObject({ kind: "reject", code: "image-mismatch" });
  });

  it("matches an entry by newName and keeps the name", () => {
    const renamed = OVERLAY.replace(
      "name: ghcr.io/acme/api # the api",
      "name: api # the api\n    newName: ghcr.io/acme/api",
    );
    const plan = planDeploy({
      ...base,
      onDefault: renamed,
      request: request("deploy-api", { image: "ghcr.io/acme/api:1.5.0" }),
    });
    expect(plan.kind === "change" && plan.text).toBe(renamed.replace('"1.4.0"', '"1.5.0"'));
  });

  it("adds an entry for a configured image the overlay does not list yet", () => {
    const noImages = "resources:\n  - ../../base\n";
    const plan = planDeploy({
      ...base,
      onDefault: noImages,
      config: config({ services: { api: { image: "ghcr.io/acme/api" } } }),
      request: request("deploy-api", { tag: "2.0.0" }),
    });
    expect(plan.kind === "change" && plan.text).toBe(
      "resources:\n  - ../../base\nimages:\n  - name: ghcr.io/acme/api\n    newTag: 2.0.0\n",
    );
  });

  it.each([
    ["a missing overlay", undefined, "does not exist"],
    ["a templated overlay", "images: {{ .Values.images }}\n", "cannot be edited"],
  ])("refuses %s", (_name, onDefault, words) => {
    expect(planDeploy({ ...base, onDefault, request: request("deploy-api", { tag: "1.5.0" }) })).toMatchObject({
      kind: "reject",
      code: "invalid-overlay",
      reason: expect.stringContaining(words),
    });
  });
});
