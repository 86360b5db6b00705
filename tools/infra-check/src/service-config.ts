import { existsSync } from 'node:fs';
import { ConfigError, parseConfig, type serviceConfigSchema } from '@ticketing/common';
import type { ServiceName } from './contract';
import { repoPath } from './repo';

/** A service's config schema: serviceConfigSchema extended with the service's own variables. */
export type ConfigSchema = typeof serviceConfigSchema;

/** What the checks need to know about a service's environment. */
export interface ServiceConfigContract {
  service: ServiceName;
  /** Where it came from (file and export). */
  source: string;
  /** Variables without a default: a Deployment must set them. */
  required: string[];
  /** Every variable the service reads: a Deployment must not set anything else (a typo would go unnoticed). */
  known: string[];
  /** Problems of parsing `env` the way the service will at start (empty when it starts). */
  problems(env: Record<string, string>): string[];
}

interface FieldSchema {
  safeParse(value: unknown): { success: boolean };
}

function isObjectSchema(value: unknown): value is ConfigSchema {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as { shape?: unknown; safeParse?: unknown };
  return (
    typeof candidate.safeParse === 'function' &&
    typeof candidate.shape === 'object' &&
    candidate.shape !== null
  );
}

/** The variables of a schema that have no default and are not optional. */
export function requiredOf(schema: ConfigSchema): string[] {
  return Object.entries(schema.shape as Record<string, FieldSchema>)
    .filter(([, field]) => !field.safeParse(undefined).success)
    .map(([name]) => name);
}

/**
 * The config contract of a service, from the schema its `src/config.ts` exports as `<service>ConfigSchema`
 * (loaded through jest's TypeScript transform, so the check reads the source, not a build that may be stale).
 */
export function serviceConfig(service: ServiceName): ServiceConfigContract {
  const file = repoPath('services', service, 'src', 'config.ts');
  const exportName = `${service}ConfigSchema`;
  if (!existsSync(file))
    throw new Error(`services/${service}/src/config.ts is missing (it exports ${exportName})`);
  const loaded: Record<string, unknown> = require(file);
  const schema = loaded[exportName];
  if (!isObjectSchema(schema)) {
    throw new Error(`services/${service}/src/config.ts does not export ${exportName} (a zod object schema)`);
  }
  return {
    service,
    source: `services/${service}/src/config.ts (${exportName})`,
    required: requiredOf(schema),
    known: Object.keys(schema.shape),
    problems: (env) => {
      try {
        parseConfig(schema, env);
        return [];
      } catch (error) {
        if (error instanceof ConfigError)
          return error.issues.map((issue) => `${issue.variable}: ${issue.message}`);
        throw error;
      }
    },
  };
}
