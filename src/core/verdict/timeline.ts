// Timeline: the caller's history plus the current observation. Soak, grace periods, flapping and
// suspended time are measured over it instead of being kept here, which keeps the decision pure.

import { time } from "./time.js";
import type { Observation } from "./types.js";

/** Changes between Healthy and Degraded within the soak window that count as flapping. */
export const FLAP_TRANSITIONS = 3;

type Phase = "pending" | "healthy" | "degraded" | "suspended" | "progressing";

export function phaseOf(o: Observation): Phase {
  if (!o.applied || !o.fresh) return "pending";
  const statuses = [o.health, o.rolloutHealth].filter((s): s is string => s !== undefined);
  if (statuses.includes("Degraded")) return "degraded";
  if (statuses.includes("Suspended")) return "suspended";
  if (o.synced && o.health === "Healthy" && (o.rolloutHealth === undefined || o.rolloutHealth === "Healthy")) {
    return "healthy";
  }
  return "progressing";
}

interface Sample {
  at: number;
  iso: string;
  observation: Observation;
}

/**
 * The time of each observation, read once: the same history is judged again at every tick and
 * event (up to 500 observations for each of thousands of verifications). The string is kept
 * with it, so an observation whose time was changed is read again.
 */
const observedAt = new WeakMap<Observation, { iso: string; at: number | undefined }>();

function atOf(observation: Observation): number | undefined {
  const known = observedAt.get(observation);
  if (known && known.iso === observation.at) return known.at;
  const at = time(observation.at);
  observedAt.set(observation, { iso: observation.at, at });
  return at;
}

export function timelineOf(history: Observation[], current: Observation, now: number): Sample[] {
  const past = history
    .map((observation) => ({ at: atOf(observation), iso: observation.at, observation }))
    .filter((s): s is Sample => s.at !== undefined && s.at < now)
    .sort((a, b) => a.at - b.at);
  return [...past, { at: now, iso: current.at, observation: current }];
}

/** When the unbroken run of samples matching `test` that ends with the current sample began. */
export function runStart(timeline: Sample[], test: (o: Observation) => boolean): Sample | undefined {
  let start: Sample | undefined;
  for (let i = timeline.length - 1; i >= 0; i--) {
    const sample = timeline[i];
    if (sample === undefined || !test(sample.observation)) break;
    start = sample;
  }
  return start;
}

export function flapCount(timeline: Sample[], now: number, windowMs: number): number {
  const from = now - windowMs;
  const states: Phase[] = [];
  for (let i = 0; i < timeline.length; i++) {
    const sample = timeline[i];
    const next = timeline[i + 1];
    if (sample === undefined) continue;
    // The last sample before the window tells what state the window opened in.
    if (sample.at < from && next !== undefined && next.at <= from) continue;
    const phase = phaseOf(sample.observation);
    if (phase !== "healthy" && phase !== "degraded") continue;
    if (states[states.length - 1] !== phase) states.push(phase);
  }
  return Math.max(0, states.length - 1);
}

/** Time spent suspended since `from`: paused canaries have their own deadline. */
export function suspendedTime(timeline: Sample[], from: number): number {
  let total = 0;
  for (let i = 0; i + 1 < timeline.length; i++) {
    const sample = timeline[i];
    const next = timeline[i + 1];
    if (sample === undefined || next === undefined || next.at <= from) continue;
    if (phaseOf(sample.observation) === "suspended") total += next.at - Math.max(sample.at, from);
  }
  return total;
}
