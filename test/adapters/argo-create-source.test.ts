import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiServerArgoSource } from "../../src/adapters/argo/api-server-source.js";
import { createArgoSource } from "../../src/adapters/argo/create-source.js";
import { KubeArgoSource } from "../../src/adapters/argo/kube-source.js";

let dir: string;
let kubeconfig: string;
const TOKEN = "s3cret-token-value";

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "create-source-"));
  kubeconfig = join(dir, "kubeconfig");
  await writeFile(
    kubeconfig,
    [
      "apiVersion: v1",
      "kind: Config",
      "clusters: [{name: c, cluster: {server: 'https://kube.example.com'}}]",
      `users: [{name: u, user: {token: ${TOKEN}}}]`,
      "contexts: [{name: x, context: {cluster: c, user: u}}]",
      "current-context: x",
      "",
    ].join("\n"),
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function recorder() {
  const lines: string[] = [];
  const log = {
    info: (obj: object, msg?: string) => void lines.push(`${msg} ${JSON.stringify(obj)}`),
    warn: (obj: object, msg?: string) => void lines.push(`${msg} ${JSON.stringify(obj)}`),
  };
  return { lines, log };
}

describe("createArgoSource", () => {
  it("prefers the Argo CD API server when ARGOCD_SERVER and ARGOCD_TOKEN are set", () => {
    const { lines, log } = recorder();
    const source = createArgoSource(
      { ARGOCD_SERVER: "argocd.example.com", ARGOCD_TOKEN: TOKEN, KUBECONFIG: kubeconfig },
      log,
    );
    expect(source).toBeInstanceOf(ApiServerArgoSource);
    expect(lines.join("\n")).toContain("https://argocd.example.com");
    expect(lines.join("\n")).not.toContain(TOKEN);
  });

  it("uses the kubeconfig (CONVEYOR_KUBECONFIG or KUBECONFIG) otherwise", () => {
    const { lines, log } = recorder();
    expect(createArgoSource({ CONVEYOR_KUBECONFIG: kubeconfig }, log)).toBeInstanceOf(KubeArgoSource);
    expect(
      createArgoSource({ KUBECONFIG: `${join(dir, "missing")}:${kubeconfig}`, ARGOCD_NAMESPACE: "gitops" }, log),
    ).toBeInstanceOf(KubeArgoSource);
    expect(lines.join("\n")).toContain('"namespace":"gitops"');
    expect(lines.join("\n")).not.toContain(TOKEN);
  });

  it("returns undefined without any way to reach Argo CD, and warns about half a configuration", () => {
    const { lines, log } = recorder();
    expect(createArgoSource({}, log)).toBeUndefined();
    expect(createArgoSource({ ARGOCD_TOKEN: TOKEN }, log)).toBeUndefined();
    expect(createArgoSource({ KUBECONFIG: join(dir, "missing") }, log)).toBeUndefined();
    expect(lines).toHaveLength(2);
    expect(lines.join("\n")).not.toContain(TOKEN);
  });
});
