import { describe, expect, it } from "vitest";
import { nextAfter, parseCron } from "../../src/core/cron.js";

const at = (iso: string) => Date.parse(iso);
const next = (expression: string, after: string): string | undefined => {
  const parsed = parseCron(expression);
  if (!parsed.ok) throw new Error(parsed.error);
  const found = nextAfter(parsed.schedule, at(after));
  return found === undefined ? undefined : new Date(found).toISOString();
};

describe("parseCron: schedules Argo CD accepts, and the ones it refuses", () => {
  it.each([
    "0 22 * * *", // the docs' nightly window
    "10 1 * * *",
    "* * * * *",
    "*/15 9-17 * * mon-fri",
    "0 0 1,15 * *",
    "30 10 * JAN-Mar *",
    "0 0 ? * 0",
    "0 0 * * SUN",
    "5/20 * * * *",
    "0 2 3 3 3", // from the docs' `argocd app get` example
    "0  22  *  *  *", // several spaces between fields
  ])("accepts %j", (expression) => {
    expect(parseCron(expression)).toMatchObject({ ok: true });
  });

  it.each([
    ["", "empty spec string"],
    ["* * * *", "expected exactly 5 fields, found 4"],
    ["0 0 * * * *", "expected exactly 5 fields, found 6"], // no seconds field
    ["@daily", "does not accept descriptors"],
    ["CRON_TZ=Europe/Amsterdam 0 22 * * *", "time zone prefixes are not supported"],
    ["60 * * * *", "end of range (60) above maximum (59)"],
    ["0 24 * * *", "above maximum (23)"],
    ["0 0 0 * *", "below minimum (1)"],
    ["0 0 * 13 *", "above maximum (12)"],
    ["0 0 * * 7", "above maximum (6)"], // robfig: Sunday is 0 only
    ["5-1 * * * *", "beginning of range (5) beyond end of range (1)"],
    ["*/0 * * * *", "step of range should be a positive number"],
    ["1-2-3 * * * *", "too many hyphens"],
    ["1/2/3 * * * *", "too many slashes"],
    ["x * * * *", "failed to parse int from x"],
    ["-1 * * * *", "failed to parse int from"],
  ])("refuses %j (%s)", (expression, error) => {
    const parsed = parseCron(expression);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? "" : parsed.error).toContain(error);
  });
});

describe("nextAfter: the first start strictly after a time (robfig's Next)", () => {
  it.each([
    ["0 22 * * *", "2024-03-05T21:59:59.999Z", "2024-03-05T22:00:00.000Z"],
    ["0 22 * * *", "2024-03-05T22:00:00.000Z", "2024-03-06T22:00:00.000Z"], // strictly after
    ["0 22 * * *", "2024-12-31T22:00:00.000Z", "2025-01-01T22:00:00.000Z"], // over the year's end
    ["*/15 * * * *", "2024-03-05T10:07:30.000Z", "2024-03-05T10:15:00.000Z"],
    ["5/20 * * * *", "2024-03-05T10:06:00.000Z", "2024-03-05T10:25:00.000Z"], // 5, 25, 45
    ["0 9 * * mon-fri", "2024-03-08T09:00:00.000Z", "2024-03-11T09:00:00.000Z"], // Friday -> Monday
    ["*/15 9-17 * * 1-5", "2024-03-05T17:45:00.000Z", "2024-03-06T09:00:00.000Z"],
    // Both day fields restricted: either matches (the 13th, or a Friday).
    ["0 0 13 * 5", "2024-03-05T00:00:00.000Z", "2024-03-08T00:00:00.000Z"],
    ["0 0 13 * 5", "2024-03-12T00:00:00.000Z", "2024-03-13T00:00:00.000Z"],
    // One of them `*` or `?`: both must match.
    ["0 0 ? * 0", "2024-03-05T00:00:00.000Z", "2024-03-10T00:00:00.000Z"],
    ["0 0 1,15 * *", "2024-03-05T00:00:00.000Z", "2024-03-15T00:00:00.000Z"],
    ["30 10 * jan-mar *", "2024-03-31T10:30:00.000Z", "2025-01-01T10:30:00.000Z"],
    ["0 0 29 2 *", "2024-03-01T00:00:00.000Z", "2028-02-29T00:00:00.000Z"], // leap days only
    ["0 2 3 3 3", "2024-03-01T00:00:00.000Z", "2024-03-03T02:00:00.000Z"], // the 3rd, or a Wednesday in March
  ])("%s after %s is %s", (expression, after, expected) => {
    expect(next(expression, after)).toBe(expected);
  });

  it("gives up after five years, as robfig does, for a day that never comes", () => {
    expect(next("0 0 30 2 *", "2024-01-01T00:00:00.000Z")).toBeUndefined();
  });
});
