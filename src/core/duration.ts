// Durations in `.github/conveyor.yml`: "90s", "5m", "1h", "250ms", or a number of seconds; in
// milliseconds once parsed.
import { z } from "zod";

const DURATION = /^(\d+)(ms|s|m|h)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

export const duration = z
  .union([
    z.number().int().nonnegative(),
    z.string().regex(DURATION, 'use a number of seconds or a duration like "30s", "5m", "1h"'),
  ])
  .transform((value) => {
    if (typeof value === "number") return value * 1_000;
    const [, amount, unit] = DURATION.exec(value) as RegExpExecArray;
    return Number(amount) * (UNIT_MS[unit as string] as number);
  });
