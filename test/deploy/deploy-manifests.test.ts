// The Kubernetes manifests under deploy/: rendered with the real kustomize (`kubectl kustomize`, or
// KUSTOMIZE_BIN's `build` where that is set), every object checked against the Kubernetes API
// schemas (kubernetes-models: types, formats and required fields at run time, unknown fields through
// its TypeScript interfaces), then what a reviewer of a deployment looks for: replicas, probes,
// security context, credentials from the Secret, least-privilege RBAC in the right namespaces.
// The Dockerfile the Deployment runs is linted and cross-checked against the manifests.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { DockerfileParser, type Instruction } from "dockerfile-ast";
import { validate as lintDockerfile, ValidationSeverity, type ValidatorSettings } from "dockerfile-utils";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { IDeployment } from "kubernetes-models/apps/v1/Deployment";
import type { IIngress } from "kubernetes-models/networking.k8s.io/v1/Ingress";
import type { IPodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import type { IPolicyRule } from "kubernetes-models/rbac.authorization.k8s.io/v1/PolicyRule";
import type { IRoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding";
import type { IService } from "kubernetes-models/v1/Service";
import ts from "typescript";
import { beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";

const execFileAsync = promisify(execFile);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const DEPLOY = join(ROOT, "deploy");

const CONVEYOR_NS = "conveyor";
const ARGOCD_NS = "argocd";
const WORKSPACES = "/var/lib/conveyor/workspaces";
const OVERLAY_IMAGE = "ghcr.io/conveyor/conveyor:0.1.0";

interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

async function render(dir: string): Promise<KubeObject[]> {
  const bin = process.env.KUSTOMIZE_BIN?.trim();
  const [cmd, ...args] = bin ? [bin, "build", dir] : ["kubectl", "kustomize", dir];
  const { stdout } = await execFileAsync(cmd as string, args, { maxBuffer: 8 * 1024 * 1024, timeout: 20_000 });
  return parseAllDocuments(stdout).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${dir}: ${doc.errors.map((e) => e.message).join("; ")}`);
    return doc.toJS() as KubeObject;
  });
}

const label = (o: KubeObject) =>
  `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata.name}`;

function only<T>(items: readonly T[] | undefined, what: string): T {
  expect(items, what).toHaveLength(1);
  return (items as readonly T[])[0] as T;
}

function find<T>(objects: KubeObject[], kind: string, name: string): T {
  return only(
    objects.filter((o) => o.kind === kind && o.metadata.name === name),
    `${kind} ${name}`,
  ) as unknown as T;
}

/** Validates one object with the kubernetes-models class for its apiVersion and kind. */
async function schemaErrors(object: unknown): Promise<string | undefined> {
  const { apiVersion, kind } = object as KubeObject;
  let Model: (new (data: never) => { validate(): void }) | undefined;
  try {
    Model = (await import(/* @vite-ignore */ `kubernetes-models/${apiVersion}/${kind}`))[kind];
  } catch {
    Model = undefined;
  }
  if (Model === undefined) return `no Kubernetes schema for ${apiVersion} ${kind}`;
  try {
    new Model(object as never).validate();
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/**
 * Fields the API server does not know: the run-time validators allow them (kube-apiserver drops them,
 * with at most a warning), so a typo like `readOnlyRootFileSystem` would pass them unnoticed. Each
 * object becomes an object literal typed as kubernetes-models' interface for its kind, and
 * TypeScript's excess-property check reports every unknown field, at any depth.
 * Returns the diagnostics per object index.
 */
function unknownFields(objects: KubeObject[]): Map<number, string[]> {
  const file = join(ROOT, "test", "deploy", "__rendered-manifests__.ts");
  // One object per line, so a diagnostic's line is the object's index.
  const source = objects
    .map(
      (o, i) =>
        `export const o${i}: import("kubernetes-models/${o.apiVersion}/${o.kind}").I${o.kind} = ${JSON.stringify(o)};`,
    )
    .join("\n");
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    lib: ["lib.es2022.d.ts"],
    types: [],
    strict: true,
    noEmit: true,
    skipLibCheck: true,
  };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, version, ...rest) =>
    name === file ? ts.createSourceFile(name, source, version) : getSourceFile.call(host, name, version, ...rest);
  host.fileExists = (name) => name === file || fileExists.call(host, name);
  host.readFile = (name) => (name === file ? source : readFile.call(host, name));
  const program = ts.createProgram([file], options, host);
  const sourceFile = program.getSourceFile(file);
  const byObject = new Map<number, string[]>();
  for (const d of ts.getPreEmitDiagnostics(program, sourceFile)) {
    const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : -1;
    byObject.set(line, [...(byObject.get(line) ?? []), ts.flattenDiagnosticMessageText(d.messageText, " ")]);
  }
  return byObject;
}

const container = (deployment: IDeployment): IContainer =>
  only(deployment.spec?.template.spec?.containers, "containers");

const envOf = (c: IContainer, name: string) =>
  only(
    c.env?.filter((e) => e.name === name),
    `env ${name}`,
  );

// ---------------------------------------------------------------------------------------------

let base: KubeObject[];
let argocdAccess: KubeObject[];
let example: KubeObject[];

beforeAll(async () => {
  [base, argocdAccess, example] = await Promise.all([
    render(join(DEPLOY, "base")),
    render(join(DEPLOY, "argocd-access")),
    render(join(DEPLOY, "overlays", "example")),
  ]);
});

describe("deploy/: Kubernetes schemas", () => {
  it("renders what each kustomization is meant to hold", () => {
    const kinds = (objects: KubeObject[]) => objects.map(label).sort();
    expect(kinds(base)).toEqual(
      [
        "ClusterRole conveyor-rollouts-reader",
        "ClusterRoleBinding conveyor-rollouts-reader",
        "Deployment conveyor/conveyor",
        "PodDisruptionBudget conveyor/conveyor",
        "Role conveyor/conveyor-leases",
        "RoleBinding conveyor/conveyor-leases",
        "Service conveyor/conveyor",
        "ServiceAccount conveyor/conveyor",
      ].sort(),
    );
    expect(kinds(argocdAccess)).toEqual([
      "Role argocd/conveyor-applications",
      "RoleBinding argocd/conveyor-applications",
    ]);
    expect(kinds(example)).toEqual([...kinds(base), ...kinds(argocdAccess), "Ingress conveyor/conveyor"].sort());
  });

  it("every rendered object passes the Kubernetes API schema of its kind", async () => {
    const all = [...base, ...argocdAccess, ...example];
    const problems: string[] = [];
    for (const object of all) {
      const error = await schemaErrors(object);
      if (error !== undefined) problems.push(`${label(object)}: ${error}`);
    }
    expect(problems).toEqual([]);
    // The validator is not a no-op: a wrongly typed field and a missing required one are caught.
    const deployment = structuredClone(find<IDeployment>(example, "Deployment", "conveyor")) as unknown as {
      spec: { replicas: unknown; selector?: unknown };
    };
    deployment.spec.replicas = "two";
    delete deployment.spec.selector;
    const error = await schemaErrors(deployment);
    expect(error).toMatch(/replicas must be integer/);
    expect(error).toMatch(/selector/);
  });

  it("no rendered object has a field the Kubernetes API does not know", () => {
    // A copy with a typo rides along in the same program to show the check reports such fields.
    const typo = structuredClone(find<IDeployment>(example, "Deployment", "conveyor"));
    const sc = container(typo).securityContext as Record<string, unknown>;
    sc.readOnlyRootFileSystem = sc.readOnlyRootFilesystem;
    delete sc.readOnlyRootFilesystem;
    const objects = [...base, ...argocdAccess, ...example];
    const found = unknownFields([...objects, typo as unknown as KubeObject]);
    const sentinel = found.get(objects.length) ?? [];
    found.delete(objects.length);
    expect(sentinel.join("\n")).toMatch(/'"?readOnlyRootFileSystem"?' does not exist in type 'ISecurityContext'/);
    const problems = [...found].map(
      ([line, messages]) => `${objects[line] ? label(objects[line]) : `line ${line}`}: ${messages.join("; ")}`,
    );
    expect(problems).toEqual([]);
  });

  it("labels every object as Conveyor's, and selectors still match the pods", () => {
    for (const object of example)
      expect(object.metadata.labels?.["app.kubernetes.io/name"], label(object)).toBe("conveyor");
    const deployment = find<IDeployment>(example, "Deployment", "conveyor");
    const podLabels = deployment.spec?.template.metadata?.labels ?? {};
    const matches = (selector: Record<string, string> | undefined) => {
      expect(selector).toBeDefined();
      for (const [k, v] of Object.entries(selector ?? {})) expect(podLabels[k], k).toBe(v);
    };
    matches(deployment.spec?.selector.matchLabels);
    matches(find<IService>(example, "Service", "conveyor").spec?.selector);
    matches(find<IPodDisruptionBudget>(example, "PodDisruptionBudget", "conveyor").spec?.selector?.matchLabels);
    const antiAffinity = only(
      deployment.spec?.template.spec?.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution,
      "anti-affinity term",
    );
    expect(antiAffinity.podAffinityTerm.topologyKey).toBe("kubernetes.io/hostname");
    matches(antiAffinity.podAffinityTerm.labelSelector?.matchLabels);
  });
});

describe("deploy/: the Conveyor Deployment", () => {
  for (const [name, objects] of [
    ["base", () => base],
    ["overlays/example", () => example],
  ] as const) {
    describe(name, () => {
      const deployment = () => find<IDeployment>(objects(), "Deployment", "conveyor");

      it("runs 2 replicas that roll without losing capacity and keep one through disruptions", () => {
        const spec = deployment().spec;
        expect(spec?.replicas).toBe(2);
        expect(spec?.strategy?.rollingUpdate?.maxUnavailable).toBe(0);
        expect(find<IPodDisruptionBudget>(objects(), "PodDisruptionBudget", "conveyor").spec?.minAvailable).toBe(1);
        expect(spec?.template.spec?.terminationGracePeriodSeconds).toBe(30);
      });

      it("probes /healthz for liveness and /readyz for readiness on the served port", () => {
        const c = container(deployment());
        const port = only(c.ports, "ports");
        expect(port).toMatchObject({ name: "http", containerPort: 3000 });
        expect(c.livenessProbe?.httpGet).toMatchObject({ path: "/healthz", port: "http" });
        expect(c.readinessProbe?.httpGet).toMatchObject({ path: "/readyz", port: "http" });
        const service = find<IService>(objects(), "Service", "conveyor");
        expect(only(service.spec?.ports, "service ports")).toMatchObject({
          name: "http",
          port: 80,
          targetPort: "http",
        });
      });

      it("runs as non-root on a read-only root filesystem, with writable emptyDirs for workspaces and /tmp", () => {
        const pod = deployment().spec?.template.spec;
        const c = container(deployment());
        expect(pod?.securityContext).toMatchObject({
          runAsNonRoot: true,
          runAsUser: 1000,
          seccompProfile: { type: "RuntimeDefault" },
        });
        expect(c.securityContext).toMatchObject({
          runAsNonRoot: true,
          runAsUser: 1000,
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          capabilities: { drop: ["ALL"] },
          seccompProfile: { type: "RuntimeDefault" },
        });
        expect(c.securityContext?.capabilities?.add ?? []).toEqual([]);
        expect(c.securityContext?.privileged ?? false).toBe(false);
        const mounts = new Map((c.volumeMounts ?? []).map((m) => [m.mountPath, m]));
        const volumes = new Map((pod?.volumes ?? []).map((v) => [v.name, v]));
        for (const path of [WORKSPACES, "/tmp"]) {
          const mount = mounts.get(path);
          expect(mount, path).toBeDefined();
          expect(mount?.readOnly ?? false, path).toBe(false);
          expect(volumes.get(mount?.name ?? "")?.emptyDir, path).toBeDefined();
        }
        expect(envOf(c, "CONVEYOR_WORKSPACE_DIR").value).toBe(WORKSPACES);
      });

      it("takes the GitHub App credentials from the conveyor-github Secret, never from literals", () => {
        const c = container(deployment());
        for (const key of ["APP_ID", "PRIVATE_KEY", "WEBHOOK_SECRET"]) {
          const env = envOf(c, key);
          expect(env.value, key).toBeUndefined();
          expect(env.valueFrom?.secretKeyRef, key).toEqual({ name: "conveyor-github", key });
        }
        expect(envOf(c, "REDIS_URL").valueFrom?.secretKeyRef).toEqual({
          name: "conveyor-github",
          key: "REDIS_URL",
          optional: true,
        });
        expect(objects().filter((o) => o.kind === "Secret" || o.kind === "ConfigMap")).toEqual([]);
      });

      it("sets the runtime environment and bounded resources", () => {
        const c = container(deployment());
        expect(envOf(c, "HOST").value).toBe("0.0.0.0");
        expect(envOf(c, "ARGOCD_NAMESPACE").value).toBe(ARGOCD_NS);
        expect(envOf(c, "KUSTOMIZE_BIN").value).toBe("/usr/local/bin/kustomize");
        expect(envOf(c, "POD_NAME").valueFrom?.fieldRef?.fieldPath).toBe("metadata.name");
        expect(envOf(c, "POD_NAMESPACE").valueFrom?.fieldRef?.fieldPath).toBe("metadata.namespace");
        expect(c.resources?.requests).toMatchObject({ cpu: "100m", memory: "256Mi" });
        expect(c.resources?.limits?.memory).toBe("512Mi");
        // The heap's ceiling leaves the limit room for the renders, which run beside it.
        const heapMb = Number(/--max-old-space-size=(\d+)/.exec(envOf(c, "NODE_OPTIONS").value ?? "")?.[1]);
        expect(heapMb).toBeGreaterThan(0);
        expect(heapMb).toBeLessThanOrEqual(512 / 2);
        expect(deployment().spec?.template.spec?.serviceAccountName).toBe("conveyor");
      });
    });
  }

  it("base keeps the placeholder image; the example overlay pins its own tag", () => {
    expect(container(find<IDeployment>(base, "Deployment", "conveyor")).image).toBe("ghcr.io/conveyor/conveyor:latest");
    expect(container(find<IDeployment>(example, "Deployment", "conveyor")).image).toBe(OVERLAY_IMAGE);
  });
});

describe("deploy/: RBAC", () => {
  type Grant = string; // "<scope> <apiGroup>/<resource> <verb>"
  /** A RoleBinding or a ClusterRoleBinding: the same shape. */
  type Binding = KubeObject & Pick<IRoleBinding, "roleRef" | "subjects">;

  /** What the conveyor ServiceAccount may do, following every binding to its role. */
  function grants(objects: KubeObject[]): Grant[] {
    const out: Grant[] = [];
    for (const binding of objects.filter(
      (o) => o.kind === "RoleBinding" || o.kind === "ClusterRoleBinding",
    ) as unknown as Binding[]) {
      const forConveyor = (binding.subjects ?? []).some(
        (s) => s.kind === "ServiceAccount" && s.name === "conveyor" && s.namespace === CONVEYOR_NS,
      );
      expect(forConveyor, label(binding)).toBe(true);
      expect(binding.subjects, label(binding)).toHaveLength(1);
      const scope = binding.kind === "ClusterRoleBinding" ? "cluster" : (binding.metadata.namespace ?? "?");
      const role = find<KubeObject & { rules?: IPolicyRule[] }>(
        objects.filter((o) => o.kind !== "Role" || o.metadata.namespace === binding.metadata.namespace),
        binding.roleRef.kind,
        binding.roleRef.name,
      );
      for (const rule of role.rules ?? []) {
        expect(rule.nonResourceURLs, label(role)).toBeUndefined();
        for (const group of rule.apiGroups ?? [""])
          for (const resource of rule.resources ?? [])
            for (const verb of rule.verbs) out.push(`${scope} ${group}/${resource} ${verb}`);
      }
    }
    return out.sort();
  }

  it("grants exactly: watch + patch Applications and watch AppProjects in argocd, watch Rollouts, manage its own Leases", () => {
    expect(grants(example)).toEqual(
      [
        "argocd argoproj.io/applications get",
        "argocd argoproj.io/applications list",
        "argocd argoproj.io/applications watch",
        "argocd argoproj.io/applications patch",
        "argocd argoproj.io/appprojects get",
        "argocd argoproj.io/appprojects list",
        "argocd argoproj.io/appprojects watch",
        "cluster argoproj.io/rollouts get",
        "cluster argoproj.io/rollouts list",
        "cluster argoproj.io/rollouts watch",
        "conveyor coordination.k8s.io/leases get",
        "conveyor coordination.k8s.io/leases create",
        "conveyor coordination.k8s.io/leases update",
      ].sort(),
    );
  });

  it("has no wildcards, no unbound roles and nothing beyond those", () => {
    const roles = example.filter((o) => o.kind === "Role" || o.kind === "ClusterRole");
    const bound = new Set(
      (example.filter((o) => o.kind.endsWith("Binding")) as unknown as Binding[]).map(
        (b) => `${b.roleRef.kind} ${b.metadata.namespace ?? ""} ${b.roleRef.name}`,
      ),
    );
    for (const role of roles) {
      expect(
        bound.has(`${role.kind} ${role.metadata.namespace ?? ""} ${role.metadata.name}`),
        `${label(role)} is bound`,
      ).toBe(true);
      expect(role.aggregationRule, label(role)).toBeUndefined();
      for (const rule of (role.rules as IPolicyRule[] | undefined) ?? []) {
        for (const value of [...(rule.apiGroups ?? []), ...(rule.resources ?? []), ...rule.verbs])
          expect(value, label(role)).not.toContain("*");
        expect(rule.resources ?? [], label(role)).not.toContain("secrets");
      }
    }
    // Applications are reachable in Argo CD's namespace only: no ClusterRole mentions them.
    const clusterResources = example
      .filter((o) => o.kind === "ClusterRole")
      .flatMap((o) => (o.rules as IPolicyRule[]).flatMap((r) => r.resources ?? []));
    expect(clusterResources).toEqual(["rollouts"]);
  });

  it("the Argo CD Role and its binding render in namespace argocd, bound to conveyor/conveyor", () => {
    for (const objects of [argocdAccess, example]) {
      const role = find<KubeObject>(objects, "Role", "conveyor-applications");
      const binding = find<Binding>(objects, "RoleBinding", "conveyor-applications");
      expect(role.metadata.namespace).toBe(ARGOCD_NS);
      expect(binding.metadata.namespace).toBe(ARGOCD_NS);
      expect(binding.roleRef).toEqual({
        apiGroup: "rbac.authorization.k8s.io",
        kind: "Role",
        name: "conveyor-applications",
      });
      expect(binding.subjects).toEqual([{ kind: "ServiceAccount", name: "conveyor", namespace: CONVEYOR_NS }]);
    }
    // Everything else of Conveyor's (cluster-scoped objects aside) lives in its own namespace.
    const clusterScoped = new Set(["ClusterRole", "ClusterRoleBinding"]);
    for (const object of example.filter(
      (o) => !o.metadata.name.startsWith("conveyor-applications") && !clusterScoped.has(o.kind),
    )) {
      expect(object.metadata.namespace, label(object)).toBe(CONVEYOR_NS);
    }
    for (const object of example.filter((o) => clusterScoped.has(o.kind)))
      expect(object.metadata.namespace, label(object)).toBeUndefined();
  });
});

describe("deploy/: the example overlay", () => {
  it("routes only the webhook path to the Service's http port", () => {
    const ingress = find<IIngress>(example, "Ingress", "conveyor");
    const rule = only(ingress.spec?.rules, "ingress rules");
    const path = only(rule.http?.paths, "ingress paths");
    expect(path.path).toBe("/api/github/webhooks");
    expect(path.backend.service).toEqual({ name: "conveyor", port: { name: "http" } });
    expect(only(ingress.spec?.tls, "tls").hosts).toContain(rule.host);
  });

  it("the README's install commands match the manifests", () => {
    const readme = readFileSync(join(DEPLOY, "README.md"), "utf8");
    expect(readme).toContain(`kubectl create namespace ${CONVEYOR_NS}`);
    expect(readme).toMatch(/kubectl create secret generic conveyor-github\b[^`]*--namespace[ =]conveyor/);
    for (const key of ["APP_ID=", "PRIVATE_KEY=", "WEBHOOK_SECRET="]) expect(readme).toContain(key);
    expect(readme).toContain("kubectl apply -k deploy/overlays/example");
    expect(readme).toContain("/api/github/webhooks");
  });
});

// ---------------------------------------------------------------------------------------------

describe("Dockerfile", () => {
  const text = readFileSync(join(ROOT, "Dockerfile"), "utf8");
  const dockerfile = DockerfileParser.parse(text);
  const instructions = dockerfile.getInstructions();
  const lastFrom = instructions.map((i) => i.getKeyword()).lastIndexOf("FROM");
  const finalStage = instructions.slice(lastFrom);
  const args = (i: Instruction) => i.getArguments().map((a) => a.getValue());
  const envs = new Map(
    dockerfile
      .getENVs()
      .filter((e) => finalStage.includes(e))
      .flatMap((e) => e.getProperties())
      .map((p) => [p.getName(), p.getValue()]),
  );

  it("passes the dockerfile-utils linter with every rule as an error", () => {
    const strict: ValidatorSettings = {
      deprecatedMaintainer: ValidationSeverity.ERROR,
      directiveCasing: ValidationSeverity.ERROR,
      emptyContinuationLine: ValidationSeverity.ERROR,
      instructionCasing: ValidationSeverity.ERROR,
      instructionCmdMultiple: ValidationSeverity.ERROR,
      instructionEntrypointMultiple: ValidationSeverity.ERROR,
      instructionHealthcheckMultiple: ValidationSeverity.ERROR,
      instructionJSONInSingleQuotes: ValidationSeverity.ERROR,
      instructionWorkdirRelative: ValidationSeverity.ERROR,
    };
    const problems = lintDockerfile(text, strict).map((d) => `line ${d.range.start.line + 1}: ${d.message}`);
    expect(problems).toEqual([]);
    // And the linter does flag a broken file.
    expect(lintDockerfile("FROM node:24\nWORKDIR app\nCMD ['node']\n", strict).length).toBeGreaterThanOrEqual(2);
  });

  it("follows the practices the Deployment relies on", () => {
    expect(lastFrom).toBeGreaterThanOrEqual(0);
    // Exec-form CMD: node is PID 1 and receives the SIGTERM that starts the graceful shutdown.
    const cmd = only(
      finalStage.filter((i) => i.getKeyword() === "CMD" || i.getKeyword() === "ENTRYPOINT"),
      "CMD",
    );
    expect(cmd.getArgumentsContent()?.trim()).toMatch(/^\[.*\]$/);
    // The final user is not root. It is named (`node`), which the kubelet cannot check for
    // runAsNonRoot on its own: that is why the pod spec pins runAsUser 1000, the node image's uid.
    const user = args(
      only(
        finalStage.filter((i) => i.getKeyword() === "USER"),
        "USER",
      ),
    ).join(" ");
    expect(["node", "1000", "1000:1000", "node:node"]).toContain(user);
    // Base images are pinned to a tag, not `latest` or untagged.
    for (const from of dockerfile.getFROMs()) {
      const tag = from.getImageTag();
      expect(tag, from.getImage() ?? "").toBeTruthy();
      expect(tag).not.toBe("latest");
    }
    // apt-get installs are non-interactive and minimal; nothing is fetched with ADD.
    for (const run of instructions.filter((i) => i.getKeyword() === "RUN")) {
      const body = run.getArgumentsContent() ?? "";
      if (/apt-get install/.test(body)) {
        expect(body).toMatch(/apt-get install -y\b|apt-get install .*-y\b/);
        expect(body).toContain("--no-install-recommends");
      }
    }
    expect(instructions.filter((i) => i.getKeyword() === "ADD")).toEqual([]);
  });

  it("agrees with the Deployment on port, paths and binaries", () => {
    const c = container(find<IDeployment>(example, "Deployment", "conveyor"));
    const exposed = finalStage.filter((i) => i.getKeyword() === "EXPOSE").flatMap(args);
    expect(exposed).toContain(String(only(c.ports, "ports").containerPort));
    expect(envs.get("PORT")).toBe(String(only(c.ports, "ports").containerPort));
    for (const name of ["HOST", "CONVEYOR_WORKSPACE_DIR", "KUSTOMIZE_BIN"])
      expect(envs.get(name), name).toBe(envOf(c, name).value);
    expect(text).toContain(`/usr/local/bin/kustomize`);
  });
});
