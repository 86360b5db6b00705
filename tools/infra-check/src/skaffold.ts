import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import Ajv from 'ajv';
import { parse } from 'yaml';
import { repoPath, repoRoot } from './repo';

/** skaffold's official config schema for the apiVersion skaffold.yaml uses; kept outside the repository. */
export const skaffoldSchemaPath = resolve(repoRoot, '..', 'shared', 'schemas', 'skaffold-v4beta14.json');

/** The schema file is not where the checks expect it. */
export class SchemaMissingError extends Error {
  override readonly name = 'SchemaMissingError';
}

/** Reads the skaffold JSON schema; a missing file is reported as such, not as a validation failure. */
export function loadSkaffoldSchema(path: string = skaffoldSchemaPath): object {
  if (!existsSync(path)) {
    throw new SchemaMissingError(
      `The skaffold schema file is missing: ${path}. It is skaffold's official schema for skaffold/v4beta14 ` +
        '(from the skaffold repository, docs-v2/content/en/schemas/v4beta14.json) and is expected in ' +
        '../shared/schemas/ next to the repository.',
    );
  }
  return JSON.parse(readFileSync(path, 'utf8')) as object;
}

/** Schema violations of a parsed skaffold config (empty when valid). */
export function skaffoldSchemaProblems(config: unknown, schema: object): string[] {
  // The schema carries editor hints (x-intellij-html-description, preferredOrder...): not errors.
  const ajv = new Ajv({ strict: false, allErrors: true });
  const validate = ajv.compile(schema);
  if (validate(config)) return [];
  return (validate.errors ?? []).map(
    (e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`,
  );
}

/** The parts of skaffold.yaml the consistency checks read. */
export interface SkaffoldConfig {
  apiVersion: string;
  kind: string;
  build: {
    artifacts: Array<{
      image: string;
      context?: string;
      docker?: { dockerfile?: string; buildArgs?: Record<string, string> };
    }>;
  };
  manifests?: { kustomize?: { paths?: string[] } };
  portForward?: Array<{
    resourceType: string;
    resourceName: string;
    namespace?: string;
    port: number | string;
    localPort?: number;
  }>;
  profiles?: Array<{
    name: string;
    build?: SkaffoldConfig['build'];
    manifests?: SkaffoldConfig['manifests'];
  }>;
}

export function readSkaffoldConfig(): SkaffoldConfig {
  return parse(readFileSync(repoPath('skaffold.yaml'), 'utf8')) as SkaffoldConfig;
}
