import { z } from "zod";
import { configSchema } from "./config.js";

/** JSON schema of what a person writes in `.github/conveyor.yml` (the input side of the schema). */
export function configJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(configSchema, { io: "input", unrepresentable: "any" }),
    $id: "https://github.com/conveyor/conveyor/schema/conveyor.schema.json",
    title: "Conveyor configuration (.github/conveyor.yml)",
  };
}
