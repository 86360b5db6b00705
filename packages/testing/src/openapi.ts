import type { RequestListener } from 'node:http';
import { listenHttp } from './http';

/** One operation of an OpenAPI document: the parts the services' document tests read. */
export interface OpenApiOperation {
  /** The operation's id. */
  operationId: string;
  /** Path, query and header parameters. */
  parameters?: Array<{ name: string; in: string; required: boolean; schema?: unknown }>;
  /** The JSON body it accepts, if any. */
  requestBody?: { content: { 'application/json': { schema: Record<string, unknown> } } };
  /** Its answers by status code; a body-less answer has no `content`. */
  responses: Record<string, { content?: { 'application/json': { schema: Record<string, unknown> } } }>;
  /** Accepted auth schemes (`{}` = none needed). */
  security: unknown[];
}

/** The `paths` of an OpenAPI document: path → method → operation. */
export type OpenApiPaths = Record<string, Record<string, OpenApiOperation>>;

/** Every operation as `METHOD /path` → its operationId and the statuses it documents, sorted. */
export function operationSummary(
  paths: OpenApiPaths,
): Record<string, { operationId: string; statuses: string[] }> {
  return Object.fromEntries(
    Object.entries(paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => [
        `${method.toUpperCase()} ${path}`,
        { operationId: op.operationId, statuses: Object.keys(op.responses).sort() },
      ]),
    ),
  );
}

/** The JSON schema of an operation's answer with `status`; throws when that answer has no JSON body. */
export function responseSchema(op: OpenApiOperation, status: string): Record<string, unknown> {
  const schema = op.responses[status]?.content?.['application/json']?.schema;
  if (!schema) throw new Error(`${op.operationId} documents no JSON body for ${status}`);
  return schema;
}

/**
 * The `paths` of the OpenAPI document `app` serves at /openapi.json, after checking it is an OpenAPI 3.1 document
 * titled `title` (e.g. `tickets API`).
 */
export async function servedOpenApiPaths(app: RequestListener, title: string): Promise<OpenApiPaths> {
  const server = await listenHttp(app);
  try {
    const response = await fetch(`${server.url}/openapi.json`);
    if (response.status !== 200) throw new Error(`GET /openapi.json answered ${response.status}`);
    const document = (await response.json()) as {
      openapi?: string;
      info?: { title?: string };
      paths: OpenApiPaths;
    };
    if (document.openapi !== '3.1.0' || document.info?.title !== title) {
      throw new Error(
        `not the OpenAPI 3.1.0 document of ${title}: ${JSON.stringify({ ...document, paths: undefined })}`,
      );
    }
    return document.paths;
  } finally {
    await server.close();
  }
}
