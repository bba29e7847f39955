// A generated manifests repository in the fixture's layout (services/<svc>/base + one overlay per
// environment), with a long history, written in one `git fast-import` stream.
import { run } from "./common.js";

export interface RepoSpec {
  services: number;
  envs: string[];
  /** Total commits on main, the first one adding every file. */
  commits: number;
  /** `.github/conveyor.yml`. */
  config: string;
}

export const serviceName = (i: number) => `svc-${String(i).padStart(4, "0")}`;
export const imageOf = (service: string) => `ghcr.io/acme/${service}`;
export const overlayDir = (service: string, env: string) => `services/${service}/overlays/${env}`;

export function overlayText(service: string, env: string, tag: string): string {
  return `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
# ${service} in ${env}: Conveyor edits the images list below; everything else is yours.
namespace: ${service}-${env}
resources:
  - ../../base
replicas:
  - name: ${service}
    count: ${env === "production" ? 3 : 1}
images:
  - name: ${imageOf(service)}
    newTag: "${tag}" # deployed by Conveyor
`;
}

export function baseFiles(service: string): Record<string, string> {
  return {
    [`services/${service}/base/kustomization.yaml`]: `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - deployment.yaml
  - service.yaml
labels:
  - pairs:
      app.kubernetes.io/name: ${service}
    includeSelectors: true
`,
    [`services/${service}/base/deployment.yaml`]: `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${service}
spec:
  replicas: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: ${service}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: ${service}
    spec:
      containers:
        - name: app
          image: ${imageOf(service)}:latest
          ports:
            - containerPort: 8080
`,
    [`services/${service}/base/service.yaml`]: `apiVersion: v1
kind: Service
metadata:
  name: ${service}
spec:
  ports:
    - port: 80
      targetPort: 8080
`,
  };
}

/** The fast-import stream: commit 1 adds everything, each later commit bumps one overlay's tag. */
function stream(spec: RepoSpec, branch: string, start: number): { text: string; tags: Map<string, string> } {
  const parts: string[] = [];
  const data = (text: string) => `data ${Buffer.byteLength(text)}\n${text}\n`;
  const header = (i: number, message: string) =>
    `commit refs/heads/${branch}\nauthor Dev ${i % 7} <dev${i % 7}@example.com> ${start + i * 60} +0000\ncommitter Dev ${i % 7} <dev${i % 7}@example.com> ${start + i * 60} +0000\n` +
    data(message);
  const tags = new Map<string, string>();
  let first = header(0, "Add all services\n") + "deleteall\n";
  first += `M 100644 inline .github/conveyor.yml\n${data(spec.config)}`;
  for (let s = 0; s < spec.services; s++) {
    const service = serviceName(s);
    for (const [path, text] of Object.entries(baseFiles(service))) first += `M 100644 inline ${path}\n${data(text)}`;
    for (const env of spec.envs) {
      tags.set(`${service}/${env}`, "1.0.0");
      first += `M 100644 inline ${overlayDir(service, env)}/kustomization.yaml\n${data(overlayText(service, env, "1.0.0"))}`;
    }
  }
  parts.push(first);
  // Later commits walk the services with a stride so the history touches most of them.
  for (let i = 1; i < spec.commits; i++) {
    const service = serviceName((i * 7919) % spec.services);
    const env = spec.envs[i % spec.envs.length] as string;
    const tag = `1.${Math.floor(i / spec.services)}.${i}`;
    tags.set(`${service}/${env}`, tag);
    parts.push(
      header(i, `Deploy ${service} ${tag} to ${env}\n`) +
        `M 100644 inline ${overlayDir(service, env)}/kustomization.yaml\n${data(overlayText(service, env, tag))}`,
    );
  }
  return { text: parts.join("\n") + "done\n", tags };
}

/** Writes the repository into an (empty, bare) git dir; returns main's sha and each overlay's tag. */
export async function generateRepo(
  gitDir: string,
  spec: RepoSpec,
  branch = "main",
): Promise<{ head: string; tags: Map<string, string>; ms: number }> {
  const t0 = performance.now();
  const { text, tags } = stream(spec, branch, 1_700_000_000);
  await run("git", ["--git-dir", gitDir, "fast-import", "--quiet", "--done"], { input: text });
  const head = (await run("git", ["--git-dir", gitDir, "rev-parse", `refs/heads/${branch}`])).stdout.trim();
  return { head, tags, ms: Math.round(performance.now() - t0) };
}

/** One commit on top of `branch` that sets the given overlays' tags (a merge of many promotions). */
export async function commitOverlays(
  gitDir: string,
  changes: Array<{ service: string; env: string; tag: string }>,
  message: string,
  branch = "main",
): Promise<string> {
  const when = Math.floor(Date.now() / 1000);
  let text = `commit refs/heads/${branch}\ncommitter Bench <bench@example.com> ${when} +0000\ndata ${Buffer.byteLength(message)}\n${message}\nfrom refs/heads/${branch}^0\n`;
  for (const c of changes) {
    const body = overlayText(c.service, c.env, c.tag);
    text += `M 100644 inline ${overlayDir(c.service, c.env)}/kustomization.yaml\ndata ${Buffer.byteLength(body)}\n${body}\n`;
  }
  await run("git", ["--git-dir", gitDir, "fast-import", "--quiet", "--done"], { input: text + "done\n" });
  return (await run("git", ["--git-dir", gitDir, "rev-parse", `refs/heads/${branch}`])).stdout.trim();
}
