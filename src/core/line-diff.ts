// A line diff (Myers' O(ND) algorithm) and its unified-diff text. Rendered manifests differ in a
// few lines far more often than in many, so common ends are trimmed first and the search is
// bounded: past `maxEdits` the middle is reported as replaced wholesale, which is still a correct
// diff, only a less minimal one.

export type DiffOp = { op: " " | "-" | "+"; line: string };

export function diffLines(a: string[], b: string[], maxEdits = 2_000): DiffOp[] {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const head: DiffOp[] = a.slice(0, start).map((line) => ({ op: " ", line }));
  const tail: DiffOp[] = a.slice(endA).map((line) => ({ op: " ", line }));
  const midA = a.slice(start, endA);
  const midB = b.slice(start, endB);
  const middle = myers(midA, midB, maxEdits) ?? [
    ...midA.map((line): DiffOp => ({ op: "-", line })),
    ...midB.map((line): DiffOp => ({ op: "+", line })),
  ];
  return [...head, ...middle, ...tail];
}

/** Shortest edit script, or undefined when it needs more than `maxEdits` edits. */
function myers(a: string[], b: string[], maxEdits: number): DiffOp[] | undefined {
  const n = a.length;
  const m = b.length;
  if (n === 0) return b.map((line) => ({ op: "+", line }));
  if (m === 0) return a.map((line) => ({ op: "-", line }));
  const max = n + m;
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  // trace[d][k + d]: the furthest x reached on diagonal k after d edits.
  const trace: Int32Array[] = [];
  for (let d = 0; d <= Math.min(max, maxEdits); d++) {
    const snapshot = new Int32Array(2 * d + 1);
    for (let k = -d; k <= d; k += 2) {
      let x =
        k === -d || (k !== d && (v[offset + k - 1] as number) < (v[offset + k + 1] as number))
          ? (v[offset + k + 1] as number)
          : (v[offset + k - 1] as number) + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      snapshot[k + d] = x;
      if (x >= n && y >= m) {
        trace.push(snapshot);
        return backtrack(a, b, trace);
      }
    }
    trace.push(snapshot);
  }
  return undefined;
}

function backtrack(a: string[], b: string[], trace: Int32Array[]): DiffOp[] {
  const ops: DiffOp[] = [];
  let x = a.length;
  let y = b.length;
  for (let d = trace.length - 1; d > 0; d--) {
    const previous = trace[d - 1] as Int32Array;
    const at = (k: number) => previous[k + d - 1] as number;
    const k = x - y;
    const down = k === -d || (k !== d && at(k - 1) < at(k + 1));
    const prevK = down ? k + 1 : k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    const startX = down ? prevX : prevX + 1;
    const startY = down ? prevY + 1 : prevY;
    while (x > startX && y > startY) {
      x--;
      y--;
      ops.push({ op: " ", line: a[x] as string });
    }
    if (down) ops.push({ op: "+", line: b[prevY] as string });
    else ops.push({ op: "-", line: a[prevX] as string });
    x = prevX;
    y = prevY;
  }
  while (x > 0 && y > 0) {
    x--;
    y--;
    ops.push({ op: " ", line: a[x] as string });
  }
  return ops.reverse();
}

export interface UnifiedDiff {
  text: string;
  added: number;
  removed: number;
}

/** Unified diff text (hunks only, no file headers) with `context` lines around each change. */
export function unifiedDiff(ops: DiffOp[], context = 3): UnifiedDiff {
  const changed = ops.map((o, i) => (o.op === " " ? -1 : i)).filter((i) => i >= 0);
  let added = 0;
  let removed = 0;
  for (const o of ops) {
    if (o.op === "+") added++;
    else if (o.op === "-") removed++;
  }
  if (changed.length === 0) return { text: "", added, removed };

  // Group changes whose context windows touch into one hunk.
  const groups: Array<[number, number]> = [];
  for (const i of changed) {
    const last = groups[groups.length - 1];
    if (last && i - last[1] <= 2 * context + 1) last[1] = i;
    else groups.push([i, i]);
  }
  // Line numbers before each op, on both sides.
  const lineA: number[] = [];
  const lineB: number[] = [];
  let na = 1;
  let nb = 1;
  for (const o of ops) {
    lineA.push(na);
    lineB.push(nb);
    if (o.op !== "+") na++;
    if (o.op !== "-") nb++;
  }
  const out: string[] = [];
  for (const [first, last] of groups) {
    const from = Math.max(0, first - context);
    const to = Math.min(ops.length - 1, last + context);
    const slice = ops.slice(from, to + 1);
    const countA = slice.filter((o) => o.op !== "+").length;
    const countB = slice.filter((o) => o.op !== "-").length;
    const startA = countA === 0 ? (lineA[from] as number) - 1 : (lineA[from] as number);
    const startB = countB === 0 ? (lineB[from] as number) - 1 : (lineB[from] as number);
    out.push(`@@ -${startA},${countA} +${startB},${countB} @@`);
    for (const o of slice) out.push(`${o.op}${o.line}`);
  }
  return { text: out.join("\n"), added, removed };
}
