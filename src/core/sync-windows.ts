// Argo CD sync windows: whether an AppProject's windows let an Application sync now, and if not,
// which windows hold it and until when. Pure: the project, the app and the time come in.
//
// Argo CD's rules (pkg/apis/application/v1alpha1 SyncWindows.Matches / CanSync, and
// docs/user-guide/sync_windows.md):
//   - a window applies to an app when any of its applications, namespaces or clusters globs
//     matches the app's name, destination namespace, or destination name or server (all of the
//     lists given, with andOperator);
//   - no matching windows: syncs are allowed;
//   - an active matching deny window blocks syncs, and wins over allow windows;
//   - matching allow windows block syncs while none of them is active;
//   - manualSync on every window that blocks lets manual syncs through (automated ones never).
// A window is active from each start its cron schedule gives, for its duration. Argo CD reads the
// schedule in the window's timeZone by shifting the current time by the zone's current UTC offset;
// so does this, at every instant it evaluates. Argo CD leaves the start instant itself out of the
// window (start < now); here a window is active from its start on: the two differ for less than a
// millisecond. Windows Argo CD could not parse (kind, schedule or duration) never block here, as
// in older Argo CD (newer controllers refuse syncs while one exists; its API refuses to store one).
import type { Application, AppProject, SyncWindow } from "./argo-types.js";
import { nextAfter, parseCron, type CronSchedule } from "./cron.js";
import { globMatch } from "./glob.js";

/** A window that blocks (or blocked) a sync, as people know it. */
export interface SyncWindowRef {
  /** Position in the project's spec.syncWindows: the ID `argocd proj windows list` shows. */
  index: number;
  kind: "allow" | "deny";
  schedule: string;
  duration: string;
  timeZone?: string;
  description?: string;
  manualSync: boolean;
}

export type SyncWindowState =
  | {
      denied: false;
      /** The last time in the period asked about (`since` .. now) that windows held the app, and which. */
      lastDenial?: { endedAt: string; windows: SyncWindowRef[] };
      /** Matching windows Argo CD could not parse, which therefore never block. */
      invalid?: { index: number; error: string }[];
    }
  | {
      denied: true;
      /** "deny": active deny windows; "outside-allow": allow windows exist and none is open. */
      because: "deny" | "outside-allow";
      /** The active deny windows, or the allow windows (the one that opens first, first). */
      windows: SyncWindowRef[];
      /** When a sync becomes possible again; absent when none was found in the next 400 days. */
      until?: string;
      invalid?: { index: number; error: string }[];
    };

export interface SyncWindowQuery {
  /** The app's AppProject; undefined (not known) means no windows. */
  project: AppProject | undefined;
  app: Application;
  now: string;
  /** Also find when windows last held the app between `since` and now (for deadlines). */
  since?: string;
  /**
   * Whether the sync that would come next is a manual one. Default: the operation in flight's
   * initiator when there is one, else manual exactly when auto-sync is off.
   */
  manual?: boolean;
}

// -------------------------------------------------------------------------------------------------
// Go durations (time.ParseDuration): "300ms", "1.5h", "2h45m", "-1m"; a bare "0" is allowed.

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "\u00b5s": 1e-3,
  "\u03bcs": 1e-3,
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
};

/** Milliseconds, or undefined when Go's time.ParseDuration would refuse the text. */
export function parseGoDuration(text: string): number | undefined {
  let rest = text;
  let sign = 1;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    sign = rest.startsWith("-") ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === "0") return 0;
  if (rest === "") return undefined;
  let total = 0;
  const part = /^(\d*)(?:\.(\d*))?([^\d.]+)/;
  while (rest !== "") {
    const m = part.exec(rest);
    if (!m) return undefined;
    const [whole, int = "", frac, unit = ""] = m;
    if (int === "" && (frac === undefined || frac === "")) return undefined;
    const ms = UNIT_MS[unit];
    if (ms === undefined) return undefined;
    total += Number(`${int || "0"}.${frac || "0"}`) * ms;
    rest = rest.slice(whole.length);
  }
  return sign * total;
}

// -------------------------------------------------------------------------------------------------
// Time zones through Intl: the offset of a zone at an instant. Unknown zones are UTC, as in Argo CD.

const zoneFormats = new Map<string, Intl.DateTimeFormat | null>();

function zoneFormat(zone: string): Intl.DateTimeFormat | null {
  let format = zoneFormats.get(zone);
  if (format === undefined) {
    try {
      format = new Intl.DateTimeFormat("en-US", {
        timeZone: zone,
        hourCycle: "h23",
        year: "numeric",
        month: "numeric",
        day: "numeric",
        hour: "numeric",
        minute: "numeric",
        second: "numeric",
      });
    } catch {
      format = null;
    }
    zoneFormats.set(zone, format);
  }
  return format;
}

/** Whether Argo CD would know the zone (an empty one means UTC). */
export function isKnownTimeZone(zone: string | undefined): boolean {
  return zone === undefined || zone === "" || zone === "UTC" || zoneFormat(zone) !== null;
}

/**
 * A zone's offset changes within one UTC year, found once per zone and year: the offset on every
 * day of the year, then the exact second of each change (zones change at most a few times a year,
 * and never twice in a day).
 */
interface ZoneYear {
  start: number;
  end: number;
  startOffset: number;
  changes: { at: number; offset: number }[];
}

const zoneYears = new Map<string, ZoneYear>();
const DAY_MS = 24 * 3_600_000;

function zoneYear(zone: string, format: Intl.DateTimeFormat, year: number): ZoneYear {
  const key = `${zone} ${year}`;
  let table = zoneYears.get(key);
  if (table !== undefined) return table;
  const start = Date.UTC(year, 0, 1);
  const end = Date.UTC(year + 1, 0, 1);
  table = { start, end, startOffset: offsetAt(format, start), changes: [] };
  let before = start;
  let offset = table.startOffset;
  while (before < end) {
    const after = Math.min(before + DAY_MS, end);
    const next = offsetAt(format, after);
    if (next !== offset) {
      // The first second in (before, after] with the new offset.
      let lo = before / 1000;
      let hi = after / 1000;
      while (hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2);
        if (offsetAt(format, mid * 1000) === offset) lo = mid;
        else hi = mid;
      }
      table.changes.push({ at: hi * 1000, offset: next });
      offset = next;
    }
    before = after;
  }
  if (zoneYears.size > 10_000) zoneYears.clear();
  zoneYears.set(key, table);
  return table;
}

/** The year table each zone was last asked about: most lookups fall in it. */
const lastYear = new Map<string, ZoneYear>();

/** The zone's offset from UTC at `at`, in milliseconds (UTC for an empty or unknown zone). */
export function zoneOffsetMs(zone: string | undefined, at: number): number {
  if (zone === undefined || zone === "" || zone === "UTC") return 0;
  let table = lastYear.get(zone);
  if (table === undefined || at < table.start || at >= table.end) {
    const format = zoneFormat(zone);
    if (format === null) return 0;
    table = zoneYear(zone, format, new Date(at).getUTCFullYear());
    lastYear.set(zone, table);
  }
  let offset = table.startOffset;
  for (const change of table.changes) if (change.at <= at) offset = change.offset;
  return offset;
}

/** The first instant in (after, before] at which the zone's offset changes, if any. */
function nextZoneChange(zone: string | undefined, after: number, before: number): number | undefined {
  if (zone === undefined || zone === "" || zone === "UTC") return undefined;
  const format = zoneFormat(zone);
  if (format === null) return undefined;
  const last = new Date(before).getUTCFullYear();
  for (let year = new Date(after).getUTCFullYear(); year <= last; year++) {
    for (const change of zoneYear(zone, format, year).changes) {
      if (change.at > after && change.at <= before) return change.at;
    }
  }
  return undefined;
}

function offsetAt(format: Intl.DateTimeFormat, at: number): number {
  const seconds = Math.floor(at / 1000) * 1000;
  const parts: Record<string, number> = {};
  for (const p of format.formatToParts(new Date(seconds))) if (p.type !== "literal") parts[p.type] = Number(p.value);
  const wall = Date.UTC(
    parts.year ?? 1970,
    (parts.month ?? 1) - 1,
    parts.day ?? 1,
    (parts.hour ?? 0) % 24,
    parts.minute ?? 0,
    parts.second ?? 0,
  );
  return wall - seconds;
}

// -------------------------------------------------------------------------------------------------
// Windows.

interface ParsedWindow {
  ref: SyncWindowRef;
  cron: CronSchedule;
  durationMs: number;
  zone?: string;
  /** startAfter's last answers, one per call site. */
  memo: [{ from: number; next?: number }?, { from: number; next?: number }?];
}

interface AppTarget {
  name: string;
  namespace: string;
  server: string;
  cluster: string;
}

function targetOf(app: Application): AppTarget {
  const destination = app.spec?.destination ?? {};
  return {
    name: app.metadata?.name ?? "",
    namespace: destination.namespace ?? "",
    server: destination.server ?? "",
    cluster: destination.name ?? "",
  };
}

/** Whether a window applies to the app (Argo CD's SyncWindows.Matches). */
export function windowMatches(window: SyncWindow, app: Application): boolean {
  const target = targetOf(app);
  const selectors: boolean[] = [];
  const applications = window.applications ?? [];
  const namespaces = window.namespaces ?? [];
  const clusters = window.clusters ?? [];
  if (applications.length > 0) selectors.push(applications.some((p) => globMatch(p, target.name)));
  if (clusters.length > 0) {
    selectors.push(
      clusters.some(
        (p) =>
          (target.cluster !== "" && globMatch(p, target.cluster)) ||
          (target.server !== "" && globMatch(p, target.server)),
      ),
    );
  }
  if (namespaces.length > 0) selectors.push(namespaces.some((p) => globMatch(p, target.namespace)));
  if (window.andOperator === true) return selectors.length > 0 && selectors.every(Boolean);
  return selectors.some(Boolean);
}

function refOf(window: SyncWindow, index: number, kind: "allow" | "deny"): SyncWindowRef {
  const ref: SyncWindowRef = {
    index,
    kind,
    schedule: window.schedule ?? "",
    duration: window.duration ?? "",
    manualSync: window.manualSync === true,
  };
  if (window.timeZone) ref.timeZone = window.timeZone;
  if (window.description) ref.description = window.description;
  return ref;
}

function parseWindows(
  project: AppProject | undefined,
  app: Application,
): { windows: ParsedWindow[]; invalid: { index: number; error: string }[] } {
  const windows: ParsedWindow[] = [];
  const invalid: { index: number; error: string }[] = [];
  (project?.spec?.syncWindows ?? []).forEach((window, index) => {
    if (window == null || !windowMatches(window, app)) return;
    const kind = window.kind;
    if (kind !== "allow" && kind !== "deny") {
      invalid.push({ index, error: `kind '${String(kind ?? "")}' mismatch: can only be allow or deny` });
      return;
    }
    const cron = parseCron(window.schedule ?? "");
    if (!cron.ok) {
      invalid.push({ index, error: `cannot parse schedule '${window.schedule ?? ""}': ${cron.error}` });
      return;
    }
    const durationMs = parseGoDuration(window.duration ?? "");
    if (durationMs === undefined) {
      invalid.push({ index, error: `cannot parse duration '${window.duration ?? ""}'` });
      return;
    }
    const parsed: ParsedWindow = { ref: refOf(window, index, kind), cron: cron.schedule, durationMs, memo: [] };
    if (window.timeZone) parsed.zone = window.timeZone;
    windows.push(parsed);
  });
  return { windows, invalid };
}

/**
 * The schedule's first start after `wall`, remembered per window and call site: the answer r for
 * t holds for every t' in [t, r), and a search walks forward in time, so most questions are
 * answered without the cron search (which may walk days, for a window that opens once a year).
 */
function startAfter(w: ParsedWindow, slot: 0 | 1, wall: number): number | undefined {
  const memo = w.memo[slot];
  if (memo && memo.from <= wall && memo.next !== undefined && wall < memo.next) return memo.next;
  const next = nextAfter(w.cron, wall);
  w.memo[slot] = { from: wall, next };
  return next;
}

/** The window's occurrence that contains `at` (the earliest, when occurrences overlap), in real time. */
function occurrenceAt(w: ParsedWindow, at: number): { start: number; end: number } | undefined {
  if (w.durationMs <= 0) return undefined;
  const offset = zoneOffsetMs(w.zone, at);
  const wall = at + offset;
  const start = startAfter(w, 0, wall - w.durationMs);
  if (start === undefined || start > wall) return undefined;
  return { start: start - offset, end: start + w.durationMs - offset };
}

type Decision = { denied: false } | { denied: true; because: "deny" | "outside-allow"; windows: ParsedWindow[] };

/** Argo CD's CanSync at one instant. */
function decideAt(windows: ParsedWindow[], at: number, manual: boolean): Decision {
  if (windows.length === 0) return { denied: false };
  const active = windows.filter((w) => occurrenceAt(w, at) !== undefined);
  const deny = active.filter((w) => w.ref.kind === "deny");
  if (deny.length > 0) {
    return manual && deny.every((w) => w.ref.manualSync)
      ? { denied: false }
      : { denied: true, because: "deny", windows: deny };
  }
  if (active.some((w) => w.ref.kind === "allow")) return { denied: false };
  const closed = windows.filter((w) => w.ref.kind === "allow");
  if (closed.length === 0 || (manual && closed.every((w) => w.ref.manualSync))) return { denied: false };
  return { denied: true, because: "outside-allow", windows: closed };
}

/** The next instant after `at` when the decision may change: a window opening or closing, or a zone's offset changing. */
function nextChange(windows: ParsedWindow[], at: number): number | undefined {
  let next = Infinity;
  for (const w of windows) {
    const offset = zoneOffsetMs(w.zone, at);
    const occurrence = occurrenceAt(w, at);
    if (occurrence) next = Math.min(next, occurrence.end);
    const start = startAfter(w, 1, at + offset);
    if (start !== undefined) next = Math.min(next, start - offset);
  }
  if (next === Infinity) return undefined;
  // A daylight-saving change moves every start of the zone's windows: decide again from there.
  for (const w of windows) next = nextZoneChange(w.zone, at, next) ?? next;
  return next;
}

/** How far ahead to look for the end of a hold, and how many window edges to step over at most. */
const HORIZON_MS = 400 * 24 * 3_600_000;
const MAX_STEPS = 2_000;

function isManual(app: Application): boolean {
  const state = app.status?.operationState;
  const running = state?.phase === "Running" || state?.phase === "Terminating";
  const operation = app.operation ?? (running ? state?.operation : undefined);
  if (operation) return operation.initiatedBy?.automated !== true;
  const automated = app.spec?.syncPolicy?.automated;
  return !(automated != null && automated.enabled !== false);
}

function ordered(windows: ParsedWindow[], first: (w: ParsedWindow) => boolean): SyncWindowRef[] {
  return [...windows.filter(first), ...windows.filter((w) => !first(w))].map((w) => w.ref);
}

/**
 * When a hold that lasts at `now` ends: the first window edge after which a sync is possible.
 * Looking far ahead can take many steps (a deny window every few minutes while the only allow
 * window opens once a year), and the answer stays the same for every instant until then, so it
 * is remembered per set of windows; "not found" is looked for again a minute later.
 */
const holdEnds = new Map<string, { from: number; until?: number; validUntil: number }>();

function holdEnd(windows: ParsedWindow[], now: number, manual: boolean): number | undefined {
  const key = JSON.stringify([manual, windows.map((w) => [w.ref, w.cron.expression, w.durationMs, w.zone ?? ""])]);
  const known = holdEnds.get(key);
  if (known && known.from <= now && now < known.validUntil) return known.until;
  let until: number | undefined;
  let at = now;
  for (let step = 0; step < MAX_STEPS; step++) {
    const next = nextChange(windows, at);
    if (next === undefined || next > now + HORIZON_MS) break;
    if (!decideAt(windows, next, manual).denied) {
      until = next;
      break;
    }
    at = next;
  }
  if (holdEnds.size > 1_000) holdEnds.clear();
  holdEnds.set(key, { from: now, until, validUntil: until ?? now + 60_000 });
  return until;
}

/** Whether the app's project windows let it sync now, and if not, which hold it and until when. */
export function syncWindowState(query: SyncWindowQuery): SyncWindowState {
  const now = Date.parse(query.now);
  if (Number.isNaN(now)) throw new Error(`syncWindowState: unparseable time ${query.now}`);
  const { windows, invalid } = parseWindows(query.project, query.app);
  const extra = invalid.length > 0 ? { invalid } : {};
  if (windows.length === 0) return { denied: false, ...extra };
  const manual = query.manual ?? isManual(query.app);

  const current = decideAt(windows, now, manual);
  if (current.denied) {
    const until = holdEnd(windows, now, manual);
    // Outside allow windows, the one that opens first is the one to name first.
    const opens = (w: ParsedWindow) => until !== undefined && occurrenceAt(w, until) !== undefined;
    return {
      denied: true,
      because: current.because,
      windows:
        current.because === "outside-allow" ? ordered(current.windows, opens) : current.windows.map((w) => w.ref),
      ...(until !== undefined ? { until: new Date(until).toISOString() } : {}),
      ...extra,
    };
  }

  const since = query.since === undefined ? NaN : Date.parse(query.since);
  if (Number.isNaN(since) || since >= now) return { denied: false, ...extra };
  let lastDenial: { endedAt: number; windows: ParsedWindow[] } | undefined;
  let at = since;
  let previous = decideAt(windows, at, manual);
  for (let step = 0; step < MAX_STEPS; step++) {
    const next = nextChange(windows, at);
    if (next === undefined || next > now) break;
    const decision = decideAt(windows, next, manual);
    if (previous.denied && !decision.denied) lastDenial = { endedAt: next, windows: previous.windows };
    previous = decision;
    at = next;
  }
  if (lastDenial === undefined) return { denied: false, ...extra };
  return {
    denied: false,
    lastDenial: { endedAt: new Date(lastDenial.endedAt).toISOString(), windows: lastDenial.windows.map((w) => w.ref) },
    ...extra,
  };
}

// -------------------------------------------------------------------------------------------------
// Wording.

/** How much a window's name says: everything, its description or ID, or its ID alone. */
export type LabelDetail = "full" | "brief" | "id";

/**
 * "'prod-freeze' (deny)", or "#0 (deny, '0 22 * * *' for 1h)" for a window without a description
 * ("brief": "#0 (deny)"); "id": "#0 (deny)" even when it has a description. The number is the ID
 * `argocd proj windows list` shows.
 */
export function windowLabel(w: SyncWindowRef, detail: LabelDetail = "full"): string {
  if (w.description && detail !== "id") return `'${w.description}' (${w.kind})`;
  if (detail !== "full") return `#${w.index} (${w.kind})`;
  const zone = w.timeZone && w.timeZone !== "UTC" ? ` ${w.timeZone}` : "";
  return `#${w.index} (${w.kind}, '${w.schedule}'${zone} for ${w.duration})`;
}

/** "sync window 'prod-freeze' (deny)", "sync windows A and B", "sync windows A, B and 2 more". */
export function windowsLabel(windows: SyncWindowRef[], detail: LabelDetail = "full"): string {
  const [first, second] = windows;
  if (first === undefined) return "sync windows";
  const label = (w: SyncWindowRef) => windowLabel(w, detail);
  if (second === undefined) return `sync window ${label(first)}`;
  const more = windows.length - 2;
  return `sync windows ${label(first)}${more > 0 ? `, ${label(second)} and ${more} more` : ` and ${label(second)}`}`;
}

/** "14:00 UTC" on the same (UTC) day as `now`, else "2024-03-06 14:00 UTC"; seconds only when not zero. */
export function clockTime(at: string, now: string): string {
  const iso = new Date(at).toISOString();
  const seconds = iso.slice(17, 19) === "00" ? "" : iso.slice(16, 19);
  const time = `${iso.slice(11, 16)}${seconds} UTC`;
  return iso.slice(0, 10) === new Date(now).toISOString().slice(0, 10) ? time : `${iso.slice(0, 10)} ${time}`;
}

/** GitHub keeps 140 characters of a Deployment status description. */
export const STATUS_DESCRIPTION_MAX = 140;

/**
 * What Conveyor waits for while windows hold the app, for the Deployment's in_progress status:
 * "Argo CD sync window 'prod-freeze' (deny) holds the sync until 14:00 UTC". The time is when a
 * sync can start again (a deny window may end while no allow window is open yet). It names no
 * elapsed time, so it is stable while the hold lasts and written to GitHub once per hold. It fits
 * in `max` characters (code points): windows are named more briefly rather than the time cut off.
 */
export function syncWindowWait(
  state: Extract<SyncWindowState, { denied: true }>,
  now: string,
  max = STATUS_DESCRIPTION_MAX,
): string {
  const outside = state.because === "outside-allow";
  const named = outside ? state.windows.slice(0, 1) : state.windows;
  const when = state.until === undefined ? "; no end found within 400 days" : ` until ${clockTime(state.until, now)}`;
  const say = (detail: LabelDetail) =>
    outside
      ? `Outside Argo CD's allow sync windows (next: ${windowLabel(named[0] as SyncWindowRef, detail)})${when}`
      : `Argo CD ${windowsLabel(named, detail)} ${named.length > 1 ? "hold" : "holds"} the sync${when}`;
  for (const detail of ["full", "brief"] as const) {
    const text = say(detail);
    if ([...text].length <= max) return text;
  }
  return [...say("id")].slice(0, max).join("");
}
