// Limits on the YAML Conveyor reads from repositories. Anyone who can open a pull request or push
// to a bot branch writes these files, and the `yaml` package parses synchronously on the event
// loop, so a hostile file must cost bounded work before it is refused. Every limit sits far above
// what a real kustomization needs: the largest in test/fixtures/kustomize-corpus is 4 KiB, the
// deepest nests 7 levels, and none uses an alias.
import { CST, isMap, isPair, isScalar, isSeq, Lexer, Parser, type Document, type Node } from "yaml";

/** The largest kustomization Conveyor reads or edits, in UTF-8 bytes. */
export const MAX_YAML_BYTES = 256 * 1024;

/**
 * The most collections (mappings and lists, block or flow) nested inside each other. The `yaml`
 * composer, `visit` and `toJS` recurse once per level: a few thousand levels overflow the stack,
 * and in testing `toJS` over forty thousand (80 KiB of `[` and `]`) aborted the whole process (a
 * fatal out-of-memory error in V8's regexp compiler), which no try/catch survives.
 */
export const MAX_YAML_DEPTH = 64;

/** `maxAliasCount` for every YAML-to-JS conversion: caps how far aliases may expand the data. */
export const MAX_YAML_ALIASES = 100;

/**
 * Parse options for untrusted YAML. The `yaml` package's own duplicate-key check (`uniqueKeys`)
 * compares every key with every earlier key of its mapping, which is quadratic: 256 KiB of short
 * keys takes tens of seconds to minutes. It is switched off here, and `duplicateKey` does the same
 * check in linear time.
 */
export const UNTRUSTED_PARSE_OPTIONS = { uniqueKeys: false } as const;

/** Options for `toJS` on untrusted YAML. */
export const UNTRUSTED_TO_JS_OPTIONS = { maxAliasCount: MAX_YAML_ALIASES } as const;

const KIB = 1024;

/** Why the text is too large to read, or undefined. Stops counting at the limit. */
export function checkYamlSize(text: string): string | undefined {
  // A UTF-16 code unit is at least one UTF-8 byte, so a short text needs no counting.
  if (text.length * 3 <= MAX_YAML_BYTES) return undefined;
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      // A surrogate pair: one 4-byte character.
      bytes += 4;
      i++;
    } else bytes += 3;
    if (bytes > MAX_YAML_BYTES) {
      return `file is larger than ${MAX_YAML_BYTES / KIB} KiB; Conveyor reads kustomizations up to that size`;
    }
  }
  return undefined;
}

/**
 * Why this YAML text should not be parsed, or undefined: too large, or nested too deep. Runs the
 * `yaml` lexer and CST parser (both iterative) and stops as soon as the nesting passes the limit,
 * so it costs linear work in the size of the text, which is itself capped first.
 */
export function checkYamlText(text: string): string | undefined {
  const size = checkYamlSize(text);
  if (size !== undefined) return size;
  const parser = new Parser();
  for (const lexeme of new Lexer().lex(text)) {
    for (const _token of parser.next(lexeme)) {
      // Documents and errors come out here; the real parse reports the errors.
    }
    // The parser's stack holds the document, each open collection and the value being read; it
    // is counted exactly only when it is long enough to matter.
    const stack = parser.stack;
    if (stack.length - 1 > MAX_YAML_DEPTH && stack.filter(CST.isCollection).length > MAX_YAML_DEPTH) {
      return `YAML nests deeper than ${MAX_YAML_DEPTH} levels`;
    }
  }
  return undefined;
}

/**
 * A key that appears twice in one mapping of the document, with the offset of its second
 * occurrence, or undefined. Keys are equal as `yaml`'s `uniqueKeys` check has them: scalars with the same value
 * (so `1` and `"1"` differ); a collection or alias key only equals itself. Iterative, linear.
 */
export function duplicateKey(doc: Document.Parsed): { key: string; offset: number } | undefined {
  const pending: unknown[] = [doc.contents];
  while (pending.length > 0) {
    const node = pending.pop();
    if (isMap(node)) {
      const seen = new Set<unknown>();
      for (const pair of node.items) {
        const key = pair.key as Node | null;
        if (isScalar(key) && !Number.isNaN(key.value)) {
          if (seen.has(key.value)) return { key: String(key.value), offset: key.range?.[0] ?? 0 };
          seen.add(key.value);
        }
        pending.push(pair.key, pair.value);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) pending.push(item);
    } else if (isPair(node)) {
      // A single-pair mapping inside a flow sequence: `[a: 1]`.
      pending.push(node.key, node.value);
    }
  }
  return undefined;
}

/** 1-based line of `offset` in `text`. */
export function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let at = text.indexOf("\n"); at !== -1 && at < offset; at = text.indexOf("\n", at + 1)) line++;
  return line;
}
