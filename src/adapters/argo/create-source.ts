// Picks how Conveyor reads Argo CD from the environment: the Argo CD API server when a server and
// token are given, else the Kubernetes API (kubeconfig file or in-cluster service account).
import { existsSync } from "node:fs";
import { KubeConfig } from "@kubernetes/client-node";
import { ApiServerArgoSource } from "./api-server-source.js";
import { KubeArgoSource } from "./kube-source.js";
import { silentLog, type SourceLog } from "./reflector.js";
import type { ArgoSource } from "../../core/argo-source.js";

export function createArgoSource(env: NodeJS.ProcessEnv, log: SourceLog = silentLog): ArgoSource | undefined {
  const namespace = env.ARGOCD_NAMESPACE?.trim() || undefined;
  const server = env.ARGOCD_SERVER?.trim();
  const token = env.ARGOCD_TOKEN?.trim();
  if (server && token) {
    const base = /^https?:\/\//.test(server) ? server : `https://${server}`;
    log.info({ server: base, namespace: namespace ?? "(server default)" }, "argo source: Argo CD API server");
    return new ApiServerArgoSource({ server: base, token, namespace, log });
  }
  if (server || token)
    log.warn(
      { server: Boolean(server), token: Boolean(token) },
      "argo source: ARGOCD_SERVER and ARGOCD_TOKEN are needed together; ignoring them",
    );

  const kubeConfig = loadKubeConfig(env, log);
  if (!kubeConfig) return undefined;
  const cluster = kubeConfig.getCurrentCluster();
  log.info({ cluster: cluster?.server, namespace: namespace ?? "argocd" }, "argo source: Kubernetes API");
  return new KubeArgoSource({ kubeConfig, namespace: namespace ?? "argocd", log });
}

/** A kubeconfig from CONVEYOR_KUBECONFIG / KUBECONFIG, else the in-cluster service account. */
export function loadKubeConfig(env: NodeJS.ProcessEnv, log: SourceLog = silentLog): KubeConfig | undefined {
  const file = env.CONVEYOR_KUBECONFIG?.trim() || env.KUBECONFIG?.trim();
  const kubeConfig = new KubeConfig();
  if (file) {
    // KUBECONFIG may list several files; the first one that exists is the one read.
    const path = file.split(":").find((p) => p !== "" && existsSync(p));
    if (!path) {
      log.warn({ kubeconfig: file }, "kubeconfig not found; not using the Kubernetes API");
      return undefined;
    }
    kubeConfig.loadFromFile(path);
    return kubeConfig;
  }
  if (env.KUBERNETES_SERVICE_HOST) {
    kubeConfig.loadFromCluster();
    return kubeConfig;
  }
  return undefined;
}
