// The four delivery metrics per environment over a window, from Conveyor's Deployments:
// - deployment frequency: changes deployed (Deployments made) per day;
// - lead time for changes: source commit -> verified in that environment, where the source is known;
// - change failure rate: failed verifications / deployments;
// - time to restore: a failure -> the verified revert of that service in that environment.
// Each also comes as buckets (days, or weeks for long windows) for the charts.
import { firstStatusAt, type DeploymentHistory } from "./model.js";

export const WINDOWS = [7, 30, 90] as const;
export type WindowDays = (typeof WINDOWS)[number];

const DAY = 86_400_000;

export interface Bucket {
  /** Start of the bucket (ISO date). */
  start: string;
  deployments: number;
  failures: number;
  /** Median lead time of the changes verified in the bucket, seconds. */
  leadTime: number | null;
  /** Median time to restore of the failures restored in the bucket, seconds. */
  timeToRestore: number | null;
}

export interface EnvMetrics {
  env: string;
  windowDays: WindowDays;
  deployments: number;
  perDay: number;
  failures: number;
  /** failures / deployments; null without deployments. */
  changeFailureRate: number | null;
  /** Median, seconds; null when no verified change in the window named its source. */
  leadTime: number | null;
  leadTimeSamples: number;
  /** Median, seconds; null when no failure was restored in the window. */
  timeToRestore: number | null;
  restored: number;
  /** Failures in the window with no verified revert yet. */
  unrestored: number;
  buckets: Bucket[];
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

const FAILED = ["failure", "error"];

export function deliveryMetrics(input: {
  deployments: DeploymentHistory[];
  env: string;
  windowDays: WindowDays;
  now: number;
}): EnvMetrics {
  const { env, windowDays, now } = input;
  const bucketMs = windowDays > 30 ? 7 * DAY : DAY;
  const count = Math.ceil((windowDays * DAY) / bucketMs);
  // Buckets end at the end of today (UTC), so a bar is a calendar day (or the week ending then).
  const end = Math.floor(now / DAY) * DAY + DAY;
  const start = end - count * bucketMs;
  const bucketOf = (t: number) => (t >= start && t < end ? Math.floor((t - start) / bucketMs) : -1);
  const samples = Array.from({ length: count }, (_, i) => ({
    start: new Date(start + i * bucketMs).toISOString().slice(0, 10),
    deployments: 0,
    failures: 0,
    leads: [] as number[],
    restores: [] as number[],
  }));
  const inEnv = input.deployments
    .filter((d) => d.env === env)
    .sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt));

  let deployments = 0;
  let failures = 0;
  let unrestored = 0;
  const leads: number[] = [];
  const restores: number[] = [];
  inEnv.forEach((d, index) => {
    const created = Date.parse(d.createdAt);
    const b = bucketOf(created);
    if (b >= 0) {
      deployments++;
      (samples[b] as (typeof samples)[number]).deployments++;
    }
    const verified = firstStatusAt(d, ["success"]);
    if (verified && d.sourceCommittedAt && !d.revert) {
      const vb = bucketOf(Date.parse(verified));
      const lead = (Date.parse(verified) - Date.parse(d.sourceCommittedAt)) / 1000;
      if (vb >= 0 && lead >= 0) {
        leads.push(lead);
        (samples[vb] as (typeof samples)[number]).leads.push(lead);
      }
    }
    const failedAt = firstStatusAt(d, FAILED);
    if (!failedAt) return;
    const fb = bucketOf(Date.parse(failedAt));
    if (fb < 0) return;
    failures++;
    (samples[fb] as (typeof samples)[number]).failures++;
    // Restored by the first revert of the same service made after the failure that was verified.
    const revert = inEnv
      .slice(index + 1)
      .find((r) => r.revert && r.service === d.service && Date.parse(r.createdAt) >= created);
    const restoredAt = revert ? firstStatusAt(revert, ["success"]) : undefined;
    if (!restoredAt) {
      unrestored++;
      return;
    }
    const seconds = (Date.parse(restoredAt) - Date.parse(failedAt)) / 1000;
    restores.push(seconds);
    const rb = bucketOf(Date.parse(restoredAt));
    if (rb >= 0) (samples[rb] as (typeof samples)[number]).restores.push(seconds);
  });

  return {
    env,
    windowDays,
    deployments,
    perDay: deployments / windowDays,
    failures,
    changeFailureRate: deployments ? failures / deployments : null,
    leadTime: median(leads),
    leadTimeSamples: leads.length,
    timeToRestore: median(restores),
    restored: restores.length,
    unrestored,
    buckets: samples.map((s) => ({
      start: s.start,
      deployments: s.deployments,
      failures: s.failures,
      leadTime: median(s.leads),
      timeToRestore: median(s.restores),
    })),
  };
}

/** "2 h 5 min", "45 s": durations as people read them. */
export function humanDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ""}`;
  if (s < 86_400)
    return `${Math.floor(s / 3600)} h${Math.floor((s % 3600) / 60) ? ` ${Math.floor((s % 3600) / 60)} min` : ""}`;
  return `${Math.floor(s / 86_400)} d${Math.floor((s % 86_400) / 3600) ? ` ${Math.floor((s % 86_400) / 3600)} h` : ""}`;
}
