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
