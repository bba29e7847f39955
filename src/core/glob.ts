// Globs as Argo CD matches sync window selectors (gobwas/glob without separators): `*`, `?`,
// `[abc]`, `[!a-z]`, `{a,b}` (nested too) and `\` escapes, over code points. Patterns become a
// small automaton that is run over the value state set by state set, so matching takes time in
// proportion to the value's length times the pattern's, whatever the pattern: a regular
// expression would backtrack exponentially on patterns like `*a*a*a*a*b`.

interface GlobNode {
  /** A node that consumes one code point it accepts; without it, an empty step. */
  accepts?: (codePoint: number) => boolean;
  out: number[];
}

interface Glob {
  nodes: GlobNode[];
  start: number;
  accept: number;
}

class GlobSyntaxError extends Error {}

function compile(pattern: string): Glob {
  const chars = [...pattern];
  const nodes: GlobNode[] = [];
  const node = (accepts?: (c: number) => boolean): number => nodes.push({ accepts, out: [] }) - 1;
  let i = 0;

  /** One sequence up to the end, or (inside braces) up to its `,` or `}`: returns its first and last node. */
  const sequence = (inBraces: boolean): { start: number; end: number } => {
    const start = node();
    let end = start;
    const append = (first: number, last: number) => {
      nodes[end]?.out.push(first);
      end = last;
    };
    const single = (accepts: (c: number) => boolean) => {
      const step = node(accepts);
      const after = node();
      nodes[step]?.out.push(after);
      append(step, after);
    };
    while (i < chars.length) {
      const c = chars[i] as string;
      if (inBraces && (c === "," || c === "}")) break;
      i++;
      if (c === "\\") {
        const next = chars[i++];
        if (next === undefined) throw new GlobSyntaxError("trailing escape");
        const code = next.codePointAt(0);
        single((x) => x === code);
      } else if (c === "*") {
        const loop = node(() => true);
        const hub = node();
        nodes[hub]?.out.push(loop);
        nodes[loop]?.out.push(hub);
        append(hub, hub);
      } else if (c === "?") {
        single(() => true);
      } else if (c === "[") {
        single(characterClass());
      } else if (c === "{") {
        const hub = node();
        const after = node();
        for (;;) {
          const branch = sequence(true);
          nodes[hub]?.out.push(branch.start);
          nodes[branch.end]?.out.push(after);
          const stop = chars[i++];
          if (stop === "}") break;
          if (stop !== ",") throw new GlobSyntaxError("unclosed {");
        }
        append(hub, after);
      } else {
        const code = c.codePointAt(0);
        single((x) => x === code);
      }
    }
    return { start, end };
  };

  /** `[...]` after its `[`: the first `]` after at least one character closes it. */
  const characterClass = (): ((c: number) => boolean) => {
    let close = -1;
    for (let j = i + 1; j < chars.length; j++) {
      if (chars[j] === "]") {
        close = j;
        break;
      }
    }
    if (close < 0) throw new GlobSyntaxError("unclosed [");
    let body = chars.slice(i, close);
    i = close + 1;
    const negated = body[0] === "!";
    if (negated) body = body.slice(1);
    if (body.length === 0) throw new GlobSyntaxError("empty class");
    const ranges: [number, number][] = [];
    for (let j = 0; j < body.length; j++) {
      const lo = (body[j] as string).codePointAt(0) as number;
      if (body[j + 1] === "-" && body[j + 2] !== undefined) {
        const hi = (body[j + 2] as string).codePointAt(0) as number;
        if (hi < lo) throw new GlobSyntaxError("reversed range");
        ranges.push([lo, hi]);
        j += 2;
      } else ranges.push([lo, lo]);
    }
    return (c) => ranges.some(([lo, hi]) => c >= lo && c <= hi) !== negated;
  };

  const whole = sequence(false);
  return { nodes, start: whole.start, accept: whole.end };
}

/** The nodes reachable from `from` by empty steps, added to `into`. */
function close(glob: Glob, from: number[], into: Set<number>): void {
  const stack = [...from];
  while (stack.length > 0) {
    const n = stack.pop() as number;
    if (into.has(n)) continue;
    into.add(n);
    const current = glob.nodes[n];
    if (current && !current.accepts) stack.push(...current.out);
  }
}

function run(glob: Glob, value: string): boolean {
  let states = new Set<number>();
  close(glob, [glob.start], states);
  for (const ch of value) {
    const code = ch.codePointAt(0) as number;
    const next = new Set<number>();
    for (const n of states) {
      const current = glob.nodes[n];
      if (current?.accepts?.(code)) close(glob, current.out, next);
    }
    if (next.size === 0) return false;
    states = next;
  }
  return states.has(glob.accept);
}

const cache = new Map<string, Glob | null>();

/** Argo CD's globMatch: "*" matches anything; a pattern that does not compile matches nothing. */
export function globMatch(pattern: string, value: string): boolean {
  if (pattern === "*") return true;
  let glob = cache.get(pattern);
  if (glob === undefined) {
    try {
      glob = compile(pattern);
    } catch (error) {
      if (!(error instanceof GlobSyntaxError)) throw error;
      glob = null;
    }
    if (cache.size > 1_000) cache.clear();
    cache.set(pattern, glob);
  }
  return glob !== null && run(glob, value);
}
