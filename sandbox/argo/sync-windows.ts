import { nextAfter, parseCron } from "../../src/core/cron.js";
import { globMatch } from "../../src/core/glob.js";
import { parseGoDuration, zoneOffsetMs } from "../../src/core/sync-windows.js";
import { isObject, type JsonObject } from "./json.js";

/**
 * Sync windows as the Argo CD controller applies them, step for step as described by
 * pkg/apis/application/v1alpha1/types.go (SyncWindows.Matches, CanSync, Active, InactiveAllows,
 * hasDeny, hasAllow, manualEnabled; the version whose CRD is in crds/appproject-crd.yaml: any of
 * the selectors matches, no andOperator). Conveyor decides with its own code (core/sync-windows.ts,
 * which looks ahead for when a hold ends); only the cron, glob, duration and time-zone primitives
 * are shared, so the two can disagree in a test.
 */
export interface SimSyncWindow {
  kind: string;
  schedule: string;
  duration: string;
  applications?: string[];
  namespaces?: string[];
  clusters?: string[];
  manualSync?: boolean;
  timeZone?: string;
}

/** Where an app deploys, as SyncWindows.Matches reads it. */
export interface WindowedApp {
  name: string;
  destination: { server?: string; name?: string; namespace?: string };
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

/** The spec.syncWindows of a stored AppProject. */
export function projectWindows(project: JsonObject | undefined): SimSyncWindow[] {
  const spec = project && isObject(project.spec) ? project.spec : {};
  const windows = Array.isArray(spec.syncWindows) ? spec.syncWindows.filter(isObject) : [];
  return windows.map((w) => ({
    kind: typeof w.kind === "string" ? w.kind : "",
    schedule: typeof w.schedule === "string" ? w.schedule : "",
    duration: typeof w.duration === "string" ? w.duration : "",
    applications: strings(w.applications),
    namespaces: strings(w.namespaces),
    clusters: strings(w.clusters),
    manualSync: w.manualSync === true,
    timeZone: typeof w.timeZone === "string" ? w.timeZone : undefined,
  }));
}

/** SyncWindows.Matches: the windows that apply to the app. */
export function matches(windows: SimSyncWindow[], app: WindowedApp): SimSyncWindow[] {
  const matching: SimSyncWindow[] = [];
  for (const w of windows) {
    if ((w.applications ?? []).some((a) => globMatch(a, app.name))) {
      matching.push(w);
      continue;
    }
    const dst = app.destination;
    const clusterMatch = (w.clusters ?? []).some(
      (c) => (!!dst.name && globMatch(c, dst.name)) || (!!dst.server && globMatch(c, dst.server)),
    );
    if (clusterMatch) {
      matching.push(w);
      continue;
    }
    if ((w.namespaces ?? []).some((n) => globMatch(n, dst.namespace ?? ""))) matching.push(w);
  }
  return matching;
}

/** SyncWindow.active: nextWindow := schedule.Next(now + offset - duration); nextWindow.Before(now + offset). */
function active(w: SimSyncWindow, now: number): boolean {
  const schedule = parseCron(w.schedule);
  const duration = parseGoDuration(w.duration);
  if (!schedule.ok || duration === undefined) return false;
  const offset = zoneOffsetMs(w.timeZone, now);
  const next = nextAfter(schedule.schedule, now + offset - duration);
  return next !== undefined && next < now + offset;
}

/** SyncWindows.Active. */
export function activeWindows(windows: SimSyncWindow[], now: number): SimSyncWindow[] {
  return windows.filter((w) => active(w, now));
}

/** The project's windows active now, as stored (the API server's GetSyncWindowsState). */
export function activeProjectWindows(project: JsonObject | undefined, now: number): JsonObject[] {
  const spec = project && isObject(project.spec) ? project.spec : {};
  const raw = Array.isArray(spec.syncWindows) ? spec.syncWindows.filter(isObject) : [];
  const parsed = projectWindows(project);
  return raw.filter((_w, i) => {
    const w = parsed[i];
    return w !== undefined && active(w, now);
  });
}

/** SyncWindows.InactiveAllows (windows whose schedule or duration does not parse are left out). */
function inactiveAllows(windows: SimSyncWindow[], now: number): SimSyncWindow[] {
  return windows.filter(
    (w) =>
      w.kind === "allow" && parseCron(w.schedule).ok && parseGoDuration(w.duration) !== undefined && !active(w, now),
  );
}

/** SyncWindows.CanSync(isManual) of the windows that match the app. */
export function canSync(windows: SimSyncWindow[], app: WindowedApp, isManual: boolean, now: number): boolean {
  const matching = matches(windows, app);
  if (matching.length === 0) return true;
  const current = activeWindows(matching, now);
  const deny = current.filter((w) => w.kind === "deny");
  if (deny.length > 0) return isManual && deny.every((w) => w.manualSync === true);
  if (current.some((w) => w.kind === "allow")) return true;
  const inactive = inactiveAllows(matching, now);
  if (inactive.length > 0) return isManual && inactive.every((w) => w.manualSync === true);
  return true;
}

/** The app as stored, for Matches. */
export function windowedApp(app: JsonObject): WindowedApp {
  const metadata = isObject(app.metadata) ? app.metadata : {};
  const spec = isObject(app.spec) ? app.spec : {};
  const destination = isObject(spec.destination) ? spec.destination : {};
  const text = (v: unknown) => (typeof v === "string" ? v : undefined);
  return {
    name: text(metadata.name) ?? "",
    destination: {
      server: text(destination.server),
      name: text(destination.name),
      namespace: text(destination.namespace),
    },
  };
}
