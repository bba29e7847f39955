// Rules on what an overlay renders to, per environment (`policy` in .github/conveyor.yml), and
// on what Conveyor's own promotion PRs may touch. Judged on the rendered output, not on the
// kustomization text, so an image set in a base, a component or a patch is checked the same way.
import type { Config, EnvironmentConfig } from "./config.js";
import { overlayFileOwner } from "./discover.js";
import { parseImageRef } from "./image-ref.js";
import type { RenderedImage } from "./render-report.js";

export type PolicyRule = "mutable-tag" | "digest-required" | "registry" | "promotion-scope";

export interface PolicyViolation {
  rule: PolicyRule;
  overlay?: string;
  message: string;
}

export interface EffectivePolicy {
  protected: boolean;
  mutableTags: string[];
  requireDigest: boolean;
  allowedRegistries: string[];
}

export function effectivePolicy(env: EnvironmentConfig): EffectivePolicy {
  return {
    protected: env.policy.protected ?? env.approvers.length > 0,
    mutableTags: env.policy.mutableTags,
    requireDigest: env.policy.requireDigest,
    allowedRegistries: env.policy.allowedRegistries,
  };
}

export interface PolicyInput {
  config: Config;
  /** Overlays that rendered at the head commit, with every image they run. */
  overlays: Array<{ dir: string; env: string; images: RenderedImage[] }>;
  /** Present for Conveyor's own promotion/deploy PRs: every file the PR changes. */
  promotion?: { changedFiles: string[] };
}

/** "ghcr.io/acme/app" may come from "ghcr.io" or "ghcr.io/acme"; Docker Hub images from "docker.io". */
function registryAllowed(registry: string, repository: string, allowed: string[]): boolean {
  const full = `${registry}/${repository}`;
  return allowed.some((entry) => {
    const prefix = entry.replace(/\/+$/, "");
    return registry === prefix || full === prefix || full.startsWith(`${prefix}/`);
  });
}

export function evaluatePolicy(input: PolicyInput): PolicyViolation[] {
  const violations: PolicyViolation[] = [];
  for (const overlay of input.overlays) {
    const env = input.config.environments.find((e) => e.name === overlay.env);
    if (!env) continue;
    const policy = effectivePolicy(env);
    const seen = new Set<string>();
    for (const { resource, image } of overlay.images) {
      if (seen.has(image)) continue;
      seen.add(image);
      const parsed = parseImageRef(image);
      const where = `${code(image)} in ${resource}`;
      if (!parsed.ok) {
        violations.push({
          rule: "registry",
          overlay: overlay.dir,
          message: `${where} is not a valid image reference: ${parsed.reason}`,
        });
        continue;
      }
      const ref = parsed.value;
      // No tag and no digest means "latest" to the container runtime.
      const tag = ref.tag ?? (ref.digest ? undefined : "latest");
      if (policy.protected && !ref.digest && tag !== undefined && policy.mutableTags.includes(tag)) {
        violations.push({
          rule: "mutable-tag",
          overlay: overlay.dir,
          message: `${where} uses the mutable tag ${code(tag)}, which ${env.name} (protected) does not allow; pin a version or a digest`,
        });
      }
      if (policy.requireDigest && !ref.digest) {
        violations.push({
          rule: "digest-required",
          overlay: overlay.dir,
          message: `${where} is not pinned by digest, which ${env.name} requires`,
        });
      }
      if (
        policy.allowedRegistries.length &&
        !registryAllowed(ref.registry ?? "docker.io", ref.repository, policy.allowedRegistries)
      ) {
        violations.push({
          rule: "registry",
          overlay: overlay.dir,
          message: `${where} comes from ${code(ref.registry ?? "docker.io")}; ${env.name} allows only ${policy.allowedRegistries.map(code).join(", ")}`,
        });
      }
    }
  }
  if (input.promotion) {
    const strays = input.promotion.changedFiles.filter((file) => !overlayFileOwner(file, input.config));
    for (const file of strays) {
      violations.push({
        rule: "promotion-scope",
        message: `this promotion PR changes ${code(file)}, which is not an overlay file; a promotion may change overlays only`,
      });
    }
  }
  return violations;
}

const code = (text: string) => `\`${text.replaceAll("`", "'")}\``;
