// Five-field cron schedules as Argo CD reads sync window schedules: robfig/cron v3's parser with
// the fields minute, hour, day of month, month and day of week (no seconds, no @descriptors, no
// CRON_TZ= prefix). Kept to robfig's rules, so a schedule means here what it means to Argo CD:
//   - each field is a comma-separated list of `*` or `?`, `n`, `a-b`, each optionally `/step`;
//     `n/step` means `n-max/step`;
//   - months and weekdays also by name (jan-dec, sun-sat, any case); weekdays are 0-6 (0 = Sunday);
//   - when both day fields are restricted, a day matches either (standard cron); when either is
//     `*` or `?` (without a step above 1), a day must match both.
// Times are plain numbers (milliseconds) read as wall-clock time in UTC fields: callers shift
// them by a time zone's offset first, as Argo CD does.

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: Record<string, number>;
}

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

const FIELDS: FieldSpec[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12, names: Object.fromEntries(MONTHS.map((m, i) => [m, i + 1])) },
  { name: "day of week", min: 0, max: 6, names: Object.fromEntries(WEEKDAYS.map((d, i) => [d, i])) },
];

export interface CronField {
  /** allowed[v] for every value v of the field's range. */
  allowed: boolean[];
  /** The field was `*` or `?` (with no step above 1): robfig's star bit, which matters for days. */
  star: boolean;
}

export interface CronSchedule {
  expression: string;
  minute: CronField;
  hour: CronField;
  dayOfMonth: CronField;
  month: CronField;
  dayOfWeek: CronField;
}

export type CronParse = { ok: true; schedule: CronSchedule } | { ok: false; error: string };

class CronError extends Error {}

function parseNumber(text: string, spec: FieldSpec): number {
  const named = spec.names?.[text.toLowerCase()];
  if (named !== undefined) return named;
  if (!/^[+-]?\d+$/.test(text)) throw new CronError(`failed to parse int from ${text}`);
  const value = Number(text);
  if (value < 0) throw new CronError(`negative number (${value}) not allowed: ${text}`);
  return value;
}

function parseRange(expr: string, spec: FieldSpec, field: CronField): void {
  const rangeAndStep = expr.split("/");
  const lowAndHigh = (rangeAndStep[0] ?? "").split("-");
  let start: number;
  let end: number;
  let star = false;
  if (lowAndHigh[0] === "*" || lowAndHigh[0] === "?") {
    start = spec.min;
    end = spec.max;
    star = true;
  } else {
    start = parseNumber(lowAndHigh[0] ?? "", spec);
    if (lowAndHigh.length === 1) end = start;
    else if (lowAndHigh.length === 2) end = parseNumber(lowAndHigh[1] ?? "", spec);
    else throw new CronError(`too many hyphens: ${expr}`);
  }
  let step = 1;
  if (rangeAndStep.length === 2) {
    step = parseNumber(rangeAndStep[1] ?? "", { ...spec, names: undefined });
    // "n/step" means "n-max/step".
    if (lowAndHigh.length === 1) end = spec.max;
    if (step > 1) star = false;
  } else if (rangeAndStep.length > 2) {
    throw new CronError(`too many slashes: ${expr}`);
  }
  if (start < spec.min) throw new CronError(`beginning of range (${start}) below minimum (${spec.min}): ${expr}`);
  if (end > spec.max) throw new CronError(`end of range (${end}) above maximum (${spec.max}): ${expr}`);
  if (start > end) throw new CronError(`beginning of range (${start}) beyond end of range (${end}): ${expr}`);
  if (step === 0) throw new CronError(`step of range should be a positive number: ${expr}`);
  for (let v = start; v <= end; v += step) field.allowed[v] = true;
  if (star) field.star = true;
}

function parseField(text: string, spec: FieldSpec): CronField {
  const field: CronField = { allowed: [], star: false };
  // Go's strings.FieldsFunc: empty items between commas are skipped.
  const ranges = text.split(",").filter((r) => r !== "");
  for (const range of ranges) parseRange(range, spec, field);
  return field;
}

/** Parses a five-field cron expression the way Argo CD's sync windows do. */
export function parseCron(expression: string): CronParse {
  try {
    if (expression.trim() === "") throw new CronError("empty spec string");
    if (expression.startsWith("@")) throw new CronError(`parser does not accept descriptors: ${expression}`);
    if (/^(CRON_)?TZ=/.test(expression)) {
      throw new CronError(`time zone prefixes are not supported (use the window's timeZone): ${expression}`);
    }
    const fields = expression.split(/\s+/).filter((f) => f !== "");
    if (fields.length !== FIELDS.length) {
      throw new CronError(`expected exactly ${FIELDS.length} fields, found ${fields.length}: ${expression}`);
    }
    const [minute, hour, dayOfMonth, month, dayOfWeek] = FIELDS.map((spec, i) => parseField(fields[i] ?? "", spec));
    return {
      ok: true,
      schedule: {
        expression,
        minute: minute as CronField,
        hour: hour as CronField,
        dayOfMonth: dayOfMonth as CronField,
        month: month as CronField,
        dayOfWeek: dayOfWeek as CronField,
      },
    };
  } catch (error) {
    if (error instanceof CronError) return { ok: false, error: error.message };
    throw error;
  }
}

function dayMatches(s: CronSchedule, date: Date): boolean {
  const dom = s.dayOfMonth.allowed[date.getUTCDate()] === true;
  const dow = s.dayOfWeek.allowed[date.getUTCDay()] === true;
  return s.dayOfMonth.star || s.dayOfWeek.star ? dom && dow : dom || dow;
}

const MINUTE = 60_000;

/** The first value from `from` on (up to `max`) that the field allows. */
function nextAllowed(field: CronField, from: number, max: number): number | undefined {
  for (let v = from; v <= max; v++) if (field.allowed[v] === true) return v;
  return undefined;
}

/**
 * The first minute strictly after `after` that the schedule matches (robfig's Next), or undefined
 * when there is none within five years (robfig gives up there too, e.g. for "0 0 30 2 *").
 */
export function nextAfter(schedule: CronSchedule, after: number): number | undefined {
  let at = Math.floor(after / MINUTE) * MINUTE + MINUTE;
  const yearLimit = new Date(at).getUTCFullYear() + 5;
  for (;;) {
    const d = new Date(at);
    const year = d.getUTCFullYear();
    const month = d.getUTCMonth();
    const day = d.getUTCDate();
    const hour = d.getUTCHours();
    const minute = d.getUTCMinutes();
    if (year > yearLimit) return undefined;
    // Each miss moves to the next value the field allows (or the start of the next larger unit),
    // which resets the smaller units.
    if (schedule.month.allowed[month + 1] !== true) {
      const next = nextAllowed(schedule.month, month + 2, 12);
      at = next === undefined ? Date.UTC(year + 1, 0, 1) : Date.UTC(year, next - 1, 1);
    } else if (!dayMatches(schedule, d)) {
      at = Date.UTC(year, month, day + 1);
    } else if (schedule.hour.allowed[hour] !== true) {
      const next = nextAllowed(schedule.hour, hour + 1, 23);
      at = next === undefined ? Date.UTC(year, month, day + 1) : Date.UTC(year, month, day, next);
    } else if (schedule.minute.allowed[minute] !== true) {
      const next = nextAllowed(schedule.minute, minute + 1, 59);
      at = next === undefined ? Date.UTC(year, month, day, hour + 1) : Date.UTC(year, month, day, hour, next);
    } else {
      return at;
    }
  }
}
