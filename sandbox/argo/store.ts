import { randomUUID } from "node:crypto";
import { clone, deepEqual, isObject, rfc3339, type JsonObject } from "./json.js";

/** A namespaced custom resource type served by the simulated API server. */
export interface ResourceType {
  group: string;
  version: string;
  plural: string;
  singular: string;
  kind: string;
  listKind: string;
  shortNames: string[];
  /** With a status subresource, generation only moves when spec (not status) changes. */
  statusSubresource: boolean;
  /** Returns validation errors (empty when valid), as the real apiserver does with the CRD schema. */
  validate?: (object: JsonObject) => string[];
}

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED";

export interface StoredEvent {
  resourceVersion: number;
  type: WatchEventType;
  plural: string;
  object: JsonObject;
}

/** Who wrote an object: the controller reacts to API writes only, never to its own. */
export type WriteSource = "api" | "controller";

export class StoreError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export function metadataOf(object: JsonObject): JsonObject {
  const metadata = object.metadata;
  if (!isObject(metadata)) throw new StoreError(422, "Invalid", "metadata: Required value");
  return metadata;
}

function withoutKeys(object: JsonObject, keys: string[]): JsonObject {
  const copy: JsonObject = { ...object };
  for (const key of keys) delete copy[key];
  return copy;
}

/**
 * In-memory etcd stand-in: one global, monotonically increasing resourceVersion and a bounded
 * event history that watches replay from (older versions answer 410 Expired).
 */
export class ObjectStore {
  private revision: number;
  private readonly objects = new Map<string, JsonObject>();
  private history: StoredEvent[] = [];
  /** Events at or below this revision are no longer replayable. */
  private compactedRevision: number;
  private readonly listeners = new Set<(event: StoredEvent, source: WriteSource) => void>();

  constructor(
    readonly types: ResourceType[],
    private readonly historyLimit = 1000,
    startRevision = 1000,
  ) {
    this.revision = startRevision;
    this.compactedRevision = startRevision;
  }

  type(plural: string): ResourceType | undefined {
    return this.types.find((t) => t.plural === plural);
  }

  get resourceVersion(): number {
    return this.revision;
  }

  subscribe(listener: (event: StoredEvent, source: WriteSource) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get(plural: string, namespace: string, name: string): JsonObject | undefined {
    const found = this.objects.get(key(plural, namespace, name));
    return found && clone(found);
  }

  list(plural: string, namespace?: string): JsonObject[] {
    return this.view(plural, namespace).map(clone);
  }

  /**
   * The stored objects themselves, in key order, for choosing what to copy (a page of a list):
   * read them, never change or keep them.
   */
  view(plural: string, namespace?: string): readonly JsonObject[] {
    const prefix = namespace === undefined ? `${plural}/` : `${plural}/${namespace}/`;
    return [...this.objects.entries()]
      .filter(([k]) => k.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, v]) => v);
  }

  create(plural: string, input: JsonObject, source: WriteSource): JsonObject {
    const type = this.requireType(plural);
    const object = clone(input);
    const metadata = metadataOf(object);
    const { namespace, name } = identity(metadata);
    if (this.objects.has(key(plural, namespace, name))) {
      throw new StoreError(409, "AlreadyExists", `${type.plural}.${type.group} "${name}" already exists`);
    }
    object.apiVersion = `${type.group}/${type.version}`;
    object.kind = type.kind;
    metadata.uid = typeof metadata.uid === "string" ? metadata.uid : randomUUID();
    metadata.creationTimestamp =
      typeof metadata.creationTimestamp === "string" ? metadata.creationTimestamp : rfc3339();
    metadata.generation = 1;
    return this.commit(type, "ADDED", object, source);
  }

  /** Replaces an object; a no-op write (nothing changed) keeps its resourceVersion and emits nothing. */
  update(plural: string, input: JsonObject, source: WriteSource, expectedResourceVersion?: string): JsonObject {
    const type = this.requireType(plural);
    const object = clone(input);
    const metadata = metadataOf(object);
    const { namespace, name } = identity(metadata);
    const current = this.objects.get(key(plural, namespace, name));
    if (!current) throw new StoreError(404, "NotFound", `${type.plural}.${type.group} "${name}" not found`);
    const currentMeta = metadataOf(current);
    if (expectedResourceVersion !== undefined && expectedResourceVersion !== currentMeta.resourceVersion) {
      throw new StoreError(
        409,
        "Conflict",
        `Operation cannot be fulfilled on ${type.plural}.${type.group} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      );
    }
    object.apiVersion = current.apiVersion ?? null;
    object.kind = current.kind ?? null;
    for (const field of ["uid", "creationTimestamp", "generation", "resourceVersion"]) {
      metadata[field] = currentMeta[field] ?? null;
    }
    if (deepEqual(object, current)) return clone(current);
    const ignored = type.statusSubresource ? ["metadata", "status"] : ["metadata"];
    if (!deepEqual(withoutKeys(object, ignored), withoutKeys(current, ignored))) {
      metadata.generation = Number(currentMeta.generation ?? 0) + 1;
    }
    return this.commit(type, "MODIFIED", object, source);
  }

  delete(plural: string, namespace: string, name: string, source: WriteSource): JsonObject {
    const type = this.requireType(plural);
    const current = this.objects.get(key(plural, namespace, name));
    if (!current) throw new StoreError(404, "NotFound", `${type.plural}.${type.group} "${name}" not found`);
    this.objects.delete(key(plural, namespace, name));
    this.revision += 1;
    const gone = clone(current);
    metadataOf(gone).resourceVersion = String(this.revision);
    this.record({ resourceVersion: this.revision, type: "DELETED", plural, object: gone }, source);
    return clone(gone);
  }

  /** Events after `resourceVersion`, or "expired" when some of them were already compacted away. */
  eventsSince(resourceVersion: number): StoredEvent[] | "expired" {
    if (resourceVersion < this.compactedRevision) return "expired";
    return this.history
      .filter((e) => e.resourceVersion > resourceVersion)
      .map((e) => ({ ...e, object: clone(e.object) }));
  }

  get oldestReplayableRevision(): number {
    return this.compactedRevision;
  }

  /** Forget all history, as etcd compaction does: every older resourceVersion now answers 410. */
  compact(): void {
    this.history = [];
    this.compactedRevision = this.revision;
  }

  private commit(type: ResourceType, eventType: WatchEventType, object: JsonObject, source: WriteSource): JsonObject {
    const errors = type.validate?.(object) ?? [];
    if (errors.length > 0) {
      const name = String(metadataOf(object).name);
      throw new StoreError(
        422,
        "Invalid",
        `${type.kind}.${type.group} "${name}" is invalid: ${errors.slice(0, 5).join("; ")}`,
      );
    }
    const metadata = metadataOf(object);
    this.revision += 1;
    metadata.resourceVersion = String(this.revision);
    const { namespace, name } = identity(metadata);
    this.objects.set(key(type.plural, namespace, name), object);
    this.record(
      { resourceVersion: this.revision, type: eventType, plural: type.plural, object: clone(object) },
      source,
    );
    return clone(object);
  }

  private record(event: StoredEvent, source: WriteSource): void {
    this.history.push(event);
    while (this.history.length > this.historyLimit) {
      const dropped = this.history.shift();
      if (dropped) this.compactedRevision = dropped.resourceVersion;
    }
    for (const listener of [...this.listeners]) listener({ ...event, object: clone(event.object) }, source);
  }

  private requireType(plural: string): ResourceType {
    const type = this.type(plural);
    if (!type) throw new StoreError(404, "NotFound", `the server could not find the requested resource (${plural})`);
    return type;
  }
}

function identity(metadata: JsonObject): { namespace: string; name: string } {
  const { namespace, name } = metadata;
  if (typeof name !== "string" || name === "") throw new StoreError(422, "Invalid", "metadata.name: Required value");
  if (typeof namespace !== "string" || namespace === "")
    throw new StoreError(422, "Invalid", "metadata.namespace: Required value");
  return { namespace, name };
}

function key(plural: string, namespace: string, name: string): string {
  return `${plural}/${namespace}/${name}`;
}
