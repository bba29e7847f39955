// The dashboard's matrix and lists: every service x environment with its state, the promotions
// waiting for a reviewer (open PRs) or for someone to start them (verified before, not yet
// proposed), open holds and freezes, and recent failures. One pure function over gathered facts.
import {
  firstStatusAt,
  latestAt,
  verdictOf,
  type Cell,
  type DashboardInput,
  type DeploymentHistory,
  type FreezeFact,
  type HoldFact,
  type WaitingPromotion,
} from "./model.js";

/** An image verified in the environment before, that nobody has proposed for this one yet. */
export interface PromotionCandidate {
  service: string;
  env: string;
  from: string;
  image: string;
  /** The PR that carried the image into `from`, when there was one. */
  pr: number | null;
  verifiedAt: string;
}

export interface Failure {
  service: string;
  env: string;
  image: string | null;
  at: string;
  reason: string;
  deployment: number;
  pr: number | null;
}

export interface Dashboard {
  repo: string;
  htmlUrl: string;
  environments: string[];
  services: string[];
  /** One row per service, one cell per environment, in promotion order. */
  rows: Cell[][];
  waiting: WaitingPromotion[];
  candidates: PromotionCandidate[];
  holds: HoldFact[];
  freezes: FreezeFact[];
  failures: Failure[];
}

const RECENT_FAILURES = 10;

export function buildDashboard(input: DashboardInput): Dashboard {
  const envs = input.environments.map((e) => e.name);
  const byPair = new Map<string, DeploymentHistory[]>();
  for (const d of input.deployments) {
    const key = `${d.service}/${d.env}`;
    const list = byPair.get(key) ?? [];
    list.push(d);
    byPair.set(key, list);
  }
  const services = [...new Set([...input.services, ...input.deployments.map((d) => d.service)])].sort();
  const frozen = new Map(input.freezes.map((f) => [f.env, f]));
  const held = new Map(input.holds.map((h) => [`${h.service}/${h.env}`, h]));
  const watching = new Set(input.verifying.map((v) => `${v.service}/${v.env}`));

  const rows = services.map((service) =>
    envs.map((env): Cell => {
      const latest = byPair.get(`${service}/${env}`)?.[0];
      let verdict = verdictOf(latest);
      if (watching.has(`${service}/${env}`) && latest) verdict = "verifying";
      const hold = held.get(`${service}/${env}`);
      const freeze = frozen.get(env);
      const state = freeze ? "frozen" : hold ? "held" : verdict;
      return {
        service,
        env,
        state,
        verdict,
        image: latest?.image ?? null,
        since: freeze?.since ?? hold?.since ?? (latest ? latestAt(latest) : null),
        pr: latest?.pr ?? null,
        deployment: latest?.id ?? null,
      };
    }),
  );

  const waitingKeys = new Set(input.waiting.map((w) => `${w.service}/${w.env}`));
  const candidates: PromotionCandidate[] = [];
  for (const row of rows) {
    row.forEach((cell, index) => {
      const previous = row[index - 1];
      if (!previous || previous.verdict !== "verified" || !previous.image) return;
      const latestPrevious = byPair.get(`${cell.service}/${previous.env}`)?.[0];
      // A revert is never promoted; an image already there, or already proposed, is not a candidate.
      if (!latestPrevious || latestPrevious.revert) return;
      if (cell.image === previous.image || waitingKeys.has(`${cell.service}/${cell.env}`)) return;
      if (held.get(`${cell.service}/${cell.env}`)?.image === previous.image) return;
      candidates.push({
        service: cell.service,
        env: cell.env,
        from: previous.env,
        image: previous.image,
        pr: latestPrevious.pr,
        verifiedAt: firstStatusAt(latestPrevious, ["success"]) ?? latestAt(latestPrevious),
      });
    });
  }

  const failures: Failure[] = input.deployments
    .filter((d) => verdictOf(d) === "failed")
    .map((d) => {
      const last = d.statuses[d.statuses.length - 1];
      return {
        service: d.service,
        env: d.env,
        image: d.image,
        at: last?.at ?? d.createdAt,
        reason: last?.description ?? "",
        deployment: d.id,
        pr: d.pr,
      };
    })
    .sort((a, b) => Date.parse(b.at) - Date.parse(a.at))
    .slice(0, RECENT_FAILURES);

  return {
    repo: input.repo,
    htmlUrl: input.htmlUrl,
    environments: envs,
    services,
    rows,
    waiting: [...input.waiting].sort((a, b) => a.service.localeCompare(b.service) || a.env.localeCompare(b.env)),
    candidates,
    holds: [...input.holds].sort((a, b) => a.service.localeCompare(b.service) || a.env.localeCompare(b.env)),
    freezes: [...input.freezes].sort((a, b) => a.env.localeCompare(b.env)),
    failures,
  };
}

/** One service's story, newest first: deployments, their verdicts, and reverts. */
export interface TimelineEntry {
  at: string;
  env: string;
  kind: "deployed" | "verified" | "failed" | "reverted" | "revert-verified" | "superseded";
  image: string | null;
  deployment: number;
  pr: number | null;
  text: string;
}

export function serviceTimeline(deployments: DeploymentHistory[], service: string): TimelineEntry[] {
  const entries: TimelineEntry[] = [];
  for (const d of deployments) {
    if (d.service !== service) continue;
    const base = { env: d.env, image: d.image, deployment: d.id, pr: d.pr };
    entries.push({
      ...base,
      at: d.createdAt,
      kind: d.revert ? "reverted" : "deployed",
      text: d.revert
        ? `revert to ${d.image ?? "the previous overlay"} merged`
        : `${d.image ?? "overlay change"} merged`,
    });
    for (const s of d.statuses) {
      if (s.state === "success")
        entries.push({ ...base, at: s.at, kind: d.revert ? "revert-verified" : "verified", text: s.description });
      else if (s.state === "failure" || s.state === "error")
        entries.push({ ...base, at: s.at, kind: "failed", text: s.description });
      else if (s.state === "inactive") entries.push({ ...base, at: s.at, kind: "superseded", text: s.description });
    }
  }
  return entries.sort((a, b) => Date.parse(b.at) - Date.parse(a.at) || b.deployment - a.deployment);
}
