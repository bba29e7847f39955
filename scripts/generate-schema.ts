// Writes schema/conveyor.schema.json from the zod schema, the single source of truth for config.
// Editors pick it up with `# yaml-language-server: $schema=...` at the top of .github/conveyor.yml.
import { writeFileSync } from "node:fs";
import { configJsonSchema } from "../src/core/config-json-schema.js";

const target = new URL("../schema/conveyor.schema.json", import.meta.url);
writeFileSync(target, `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
console.log(`wrote ${target.pathname}`);
