/** `berth schema workspace|config|openapi`: the JSON Schemas of berth.yaml and of config files, and the API's OpenAPI document. */
import type { Command } from 'commander';
import { z } from 'zod';
import { buildOpenApiDocument, configResourceSchema, projectSpecSchema } from '../../api/index.js';
import type { CliContext } from '../context.js';
import { writeJson } from '../output/json.js';

/** Registers `berth schema`. */
export function registerSchema(program: Command, ctx: CliContext): void {
  const schema = program.command('schema').description('print the JSON Schema of a berth file format');
  schema
    .command('workspace')
    .description("the JSON Schema of berth.yaml (point your editor's YAML language server at it)")
    .action(() => {
      // The input form: what a person may write, before defaults are filled in.
      const json = z.toJSONSchema(projectSpecSchema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' });
      writeJson(ctx.io.stdout, { title: 'berth workspace spec (berth.yaml)', ...json });
    });
  schema
    .command('config')
    .description('the JSON Schema of a configuration file (`berth config pull` writes them; one resource per file)')
    .action(() => {
      const json = z.toJSONSchema(configResourceSchema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' });
      writeJson(ctx.io.stdout, { title: 'berth configuration file (one resource: kind, name, spec)', ...json });
    });
  schema
    .command('openapi')
    .description('the OpenAPI 3.1 document of the HTTP API (a server serves the same at /api/v1/openapi.json)')
    .action(() => writeJson(ctx.io.stdout, buildOpenApiDocument()));
}
