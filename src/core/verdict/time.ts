// Times cross the input and the verdict as ISO-8601 strings; inside they are compared as
// epoch milliseconds.

export function time(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Date.parse(value);
  return Number.isNaN(parsed) ? undefined : parsed;
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
