import { clone, isObject, type Json, type JsonObject } from "./json.js";

/** RFC 7386 JSON merge patch: objects merge, null deletes, everything else replaces. */
export function applyMergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return clone(patch);
  const result: JsonObject = isObject(target) ? clone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key] ?? null, value);
  }
  return result;
}

export class PatchError extends Error {}

function unescapePointer(token: string): string {
  return token.replace(/~1/g, "/").replace(/~0/g, "~");
}

function parsePointer(pointer: string): string[] {
  if (pointer === "") return [];
  if (!pointer.startsWith("/")) throw new PatchError(`invalid JSON pointer ${JSON.stringify(pointer)}`);
  return pointer.slice(1).split("/").map(unescapePointer);
}

function parent(doc: Json, tokens: string[]): { container: Json; key: string } {
  let node: Json = doc;
  for (const token of tokens.slice(0, -1)) {
    if (Array.isArray(node)) node = node[Number(token)] ?? null;
    else if (isObject(node)) node = node[token] ?? null;
    else node = null;
    if (node === null) throw new PatchError(`path not found: /${tokens.join("/")}`);
  }
  const key = tokens[tokens.length - 1];
  if (key === undefined) throw new PatchError("cannot operate on the document root");
  return { container: node, key };
}

function read(doc: Json, pointer: string): Json | undefined {
  let node: Json | undefined = doc;
  for (const token of parsePointer(pointer)) {
    if (Array.isArray(node)) node = node[Number(token)];
    else if (isObject(node)) node = node[token];
    else return undefined;
  }
  return node;
}

/** RFC 6902 JSON patch (add, remove, replace, test, copy, move). */
export function applyJsonPatch(target: Json, ops: Json): Json {
  if (!Array.isArray(ops)) throw new PatchError("json patch must be an array of operations");
  let doc = clone(target);
  for (const op of ops) {
    if (!isObject(op) || typeof op.op !== "string" || typeof op.path !== "string") {
      throw new PatchError("each json patch operation needs op and path");
    }
    const tokens = parsePointer(op.path);
    const value = op.value === undefined ? null : op.value;
    switch (op.op) {
      case "test":
        if (JSON.stringify(read(doc, op.path)) !== JSON.stringify(value))
          throw new PatchError(`test failed at ${op.path}`);
        break;
      case "add":
      case "replace":
      case "copy":
      case "move": {
        let newValue: Json = clone(value);
        if (op.op === "copy" || op.op === "move") {
          if (typeof op.from !== "string") throw new PatchError(`${op.op} needs from`);
          const found = read(doc, op.from);
          if (found === undefined) throw new PatchError(`path not found: ${op.from}`);
          newValue = clone(found);
          if (op.op === "move") doc = remove(doc, parsePointer(op.from));
        }
        if (tokens.length === 0) {
          doc = newValue;
          break;
        }
        const { container, key } = parent(doc, tokens);
        if (Array.isArray(container)) {
          const index = key === "-" ? container.length : Number(key);
          if (!Number.isInteger(index) || index < 0 || index > container.length)
            throw new PatchError(`bad index ${key}`);
          if (op.op === "replace") {
            if (index >= container.length) throw new PatchError(`path not found: ${op.path}`);
            container[index] = newValue;
          } else container.splice(index, 0, newValue);
        } else if (isObject(container)) {
          if (op.op === "replace" && !(key in container)) throw new PatchError(`path not found: ${op.path}`);
          container[key] = newValue;
        } else throw new PatchError(`path not found: ${op.path}`);
        break;
      }
      case "remove":
        doc = remove(doc, tokens);
        break;
      default:
        throw new PatchError(`unsupported json patch op ${op.op}`);
    }
  }
  return doc;
}

function remove(doc: Json, tokens: string[]): Json {
  const { container, key } = parent(doc, tokens);
  if (Array.isArray(container)) {
    const index = Number(key);
    if (!Number.isInteger(index) || index < 0 || index >= container.length)
      throw new PatchError(`path not found: /${tokens.join("/")}`);
    container.splice(index, 1);
  } else if (isObject(container) && key in container) {
    delete container[key];
  } else throw new PatchError(`path not found: /${tokens.join("/")}`);
  return doc;
}
