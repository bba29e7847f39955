import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { isObject, type JsonObject } from "./json.js";

/**
 * The subset of OpenAPI v3 that Kubernetes structural schemas use, enough to check that every
 * object the simulator serves would be accepted (and not pruned) by a real apiserver.
 */
export interface SchemaNode {
  type?: "object" | "array" | "string" | "integer" | "number" | "boolean";
  properties?: Record<string, SchemaNode>;
  required?: string[];
  items?: SchemaNode;
  enum?: unknown[];
  additionalProperties?: boolean | SchemaNode;
  anyOf?: SchemaNode[];
  allOf?: SchemaNode[];
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  nullable?: boolean;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  "x-kubernetes-int-or-string"?: boolean;
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Returns one message per violation, each starting with the JSON path of the offending value. */
export function validateAgainstSchema(value: unknown, schema: SchemaNode, path = ""): string[] {
  const at = path === "" ? "<root>" : path;
  if (value === null || value === undefined) {
    return schema.nullable ? [] : [`${at}: must not be null`];
  }
  if (schema["x-kubernetes-int-or-string"]) {
    const ok = (typeof value === "number" && Number.isInteger(value)) || typeof value === "string";
    return ok ? [] : [`${at}: must be an integer or a string`];
  }
  const errors: string[] = [];
  for (const sub of schema.allOf ?? []) errors.push(...validateAgainstSchema(value, sub, path));
  if (schema.anyOf && !schema.anyOf.some((sub) => validateAgainstSchema(value, sub, path).length === 0)) {
    errors.push(`${at}: matches none of anyOf`);
  }
  if (schema.enum && !schema.enum.some((allowed) => allowed === value)) {
    errors.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  }
  switch (schema.type) {
    case undefined:
      break;
    case "string":
      if (typeof value !== "string") return [...errors, `${at}: must be of type string, got ${JSON.stringify(value)}`];
      if (schema.format === "date-time" && !DATE_TIME.test(value))
        errors.push(`${at}: ${value} is not an RFC 3339 date-time`);
      if (schema.pattern !== undefined && !new RegExp(schema.pattern).test(value))
        errors.push(`${at}: does not match ${schema.pattern}`);
      if (schema.minLength !== undefined && value.length < schema.minLength)
        errors.push(`${at}: shorter than ${schema.minLength}`);
      if (schema.maxLength !== undefined && value.length > schema.maxLength)
        errors.push(`${at}: longer than ${schema.maxLength}`);
      break;
    case "integer":
      if (typeof value !== "number" || !Number.isInteger(value)) return [...errors, `${at}: must be of type integer`];
      if (schema.format === "int32" && (value > 2 ** 31 - 1 || value < -(2 ** 31)))
        errors.push(`${at}: out of int32 range`);
      break;
    case "number":
      if (typeof value !== "number") return [...errors, `${at}: must be of type number`];
      break;
    case "boolean":
      if (typeof value !== "boolean") return [...errors, `${at}: must be of type boolean`];
      break;
    case "array":
      if (!Array.isArray(value)) return [...errors, `${at}: must be of type array`];
      if (schema.items)
        value.forEach((item, i) =>
          errors.push(...validateAgainstSchema(item, schema.items as SchemaNode, `${path}[${i}]`)),
        );
      break;
    case "object": {
      if (!isObject(value)) return [...errors, `${at}: must be of type object`];
      for (const required of schema.required ?? []) {
        if (value[required] === undefined) errors.push(`${path}.${required}: Required value`);
      }
      for (const [field, fieldValue] of Object.entries(value)) {
        const fieldPath = `${path}.${field}`;
        const known = schema.properties?.[field];
        if (known) errors.push(...validateAgainstSchema(fieldValue, known, fieldPath));
        else if (isObject(schema.additionalProperties))
          errors.push(...validateAgainstSchema(fieldValue, schema.additionalProperties, fieldPath));
        else if (schema.additionalProperties !== true && !schema["x-kubernetes-preserve-unknown-fields"]) {
          errors.push(`${fieldPath}: unknown field (the apiserver would prune it)`);
        }
      }
      break;
    }
  }
  return errors;
}

/** ObjectMeta is not described by CRD schemas; check the parts every object needs. */
function validateMetadata(metadata: unknown): string[] {
  if (!isObject(metadata)) return [".metadata: Required value"];
  const errors: string[] = [];
  for (const field of ["name", "namespace", "uid", "creationTimestamp", "resourceVersion"]) {
    if (metadata[field] !== undefined && typeof metadata[field] !== "string")
      errors.push(`.metadata.${field}: must be a string`);
  }
  if (typeof metadata.name !== "string" || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(metadata.name)) {
    errors.push(`.metadata.name: invalid DNS subdomain ${JSON.stringify(metadata.name)}`);
  }
  if (metadata.generation !== undefined && !Number.isInteger(metadata.generation))
    errors.push(".metadata.generation: must be an integer");
  for (const map of ["labels", "annotations"]) {
    const entries = metadata[map];
    if (entries === undefined) continue;
    if (!isObject(entries) || Object.values(entries).some((v) => typeof v !== "string"))
      errors.push(`.metadata.${map}: must map strings to strings`);
  }
  return errors;
}

/** Validates a whole custom resource: metadata by hand, everything else by the CRD schema. */
export function validateCustomResource(object: JsonObject, schema: SchemaNode): string[] {
  const { metadata, ...rest } = object;
  const rootWithoutMetadata: SchemaNode = {
    ...schema,
    properties: { ...schema.properties },
    required: schema.required?.filter((r) => r !== "metadata"),
  };
  delete rootWithoutMetadata.properties?.metadata;
  return [...validateMetadata(metadata), ...validateAgainstSchema(rest, rootWithoutMetadata)];
}

/** Reads openAPIV3Schema of `version` from a CustomResourceDefinition YAML file. */
export function loadCrdSchema(file: string | URL, version = "v1alpha1"): SchemaNode {
  const crd: unknown = parse(readFileSync(file, "utf8"));
  const versions = isObject(crd) && isObject(crd.spec) && Array.isArray(crd.spec.versions) ? crd.spec.versions : [];
  const entry = versions.find((v) => isObject(v) && v.name === version);
  const schema = isObject(entry) && isObject(entry.schema) ? entry.schema.openAPIV3Schema : undefined;
  if (!isObject(schema)) throw new Error(`${String(file)}: no openAPIV3Schema for version ${version}`);
  return schema as SchemaNode;
}

let bundled: { application: SchemaNode; rollout: SchemaNode; appProject: SchemaNode } | undefined;

/** The Application, Rollout and AppProject schemas copied from the upstream CRDs in crds/ (parsed once). */
export function bundledSchemas(): { application: SchemaNode; rollout: SchemaNode; appProject: SchemaNode } {
  bundled ??= {
    application: loadCrdSchema(new URL("./crds/application-crd.yaml", import.meta.url)),
    rollout: loadCrdSchema(new URL("./crds/rollout-crd.yaml", import.meta.url)),
    appProject: loadCrdSchema(new URL("./crds/appproject-crd.yaml", import.meta.url)),
  };
  return bundled;
}
