// What the dashboard shows, as plain data gathered from GitHub (Deployments and their statuses,
// hold and freeze issues, open promotion PRs): the flows gather it, core decides what it means.
// Time is passed in; nothing here reads a clock.

/** One status of a Deployment, oldest first in `DeploymentHistory.statuses`. */
export interface StatusEvent {
  state: string;
  at: string;
  description: string;
}

/** One of Conveyor's Deployments with every status it went through. */
export interface DeploymentHistory {
  id: number;
  service: string;
  env: string;
  /** The image the change moved the environment to (null for an overlay change without one). */
  image: string | null;
  from: string | null;
  pr: number | null;
  /** The change undid a failed one. */
  revert: boolean;
  sha: string;
  createdAt: string;
  /** The source commit the change was built from, where the Deployment names it. */
  source?: { repository: string; sha: string };
  /** When the change's source commit was made, where it is known. */
  sourceCommittedAt?: string;
  statuses: StatusEvent[];
}

export interface HoldFact {
  service: string;
  env: string;
  image?: string;
  issue: number;
  since: string;
  reason?: string;
}

export interface FreezeFact {
  env: string;
  issue: number;
  since: string;
  by?: string;
  reason?: string;
}

/** An open Conveyor PR into an environment that does not merge on its own: it waits for a reviewer. */
export interface WaitingPromotion {
  service: string;
  env: string;
  image: string;
  pr: number;
}

export interface DashboardInput {
  repo: string;
  /** The repository's web address, for links. */
  htmlUrl: string;
  environments: Array<{ name: string; approvers: string[]; autoMerge: boolean }>;
  services: string[];
  /** Newest first. */
  deployments: DeploymentHistory[];
  holds: HoldFact[];
  freezes: FreezeFact[];
  waiting: WaitingPromotion[];
  /** (service, env) pairs being watched in Argo CD right now. */
  verifying: Array<{ service: string; env: string }>;
}

export type CellState = "verifying" | "verified" | "failed" | "held" | "frozen" | "none";

export interface Cell {
  service: string;
  env: string;
  state: CellState;
  /** The outcome of the last change, under a hold or freeze. */
  verdict: Exclude<CellState, "held" | "frozen">;
  image: string | null;
  since: string | null;
  pr: number | null;
  deployment: number | null;
}

/** The terminal meaning of a Deployment's latest status. */
export function verdictOf(d: DeploymentHistory | undefined): Cell["verdict"] {
  const last = d?.statuses[d.statuses.length - 1];
  if (!d) return "none";
  if (!last) return "verifying";
  if (last.state === "success") return "verified";
  if (last.state === "failure" || last.state === "error") return "failed";
  return "verifying";
}

/** When the latest status was set (or the Deployment made, before any status). */
export function latestAt(d: DeploymentHistory): string {
  return d.statuses[d.statuses.length - 1]?.at ?? d.createdAt;
}

/** The time a status of this state was first set, if ever. */
export function firstStatusAt(d: DeploymentHistory, states: string[]): string | undefined {
  return d.statuses.find((s) => states.includes(s.state))?.at;
}
