import type { Express, NextFunction, Request, RequestHandler, Response } from 'express';
import { z } from 'zod';
import { requireAuth } from './auth';
import { validate } from './validate';

/** HTTP methods the API uses. */
export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** Who may call an operation: signed-in users only, anyone (who may be signed in), or anyone. */
export type AuthRequirement = 'required' | 'optional' | 'none';

/** One documented answer of an operation. */
export interface ResponseSpec {
  /** What the answer means. */
  description: string;
  /** Schema of its JSON body; absent for an empty body (204). */
  schema?: z.ZodType;
  /** Headers the answer carries, e.g. `Retry-After` on a 429. */
  headers?: Record<string, { description: string; schema: z.ZodType }>;
}

/** The schema of every error body: `{"errors":[{"message", "field"?}]}`. */
export const errorBodySchema = z
  .object({
    errors: z.array(z.object({ message: z.string(), field: z.string().optional() }).strict()).min(1),
  })
  .strict()
  .meta({ description: 'Error answer: one entry per problem, `field` names the input at fault' });

type Infer<S> = S extends z.ZodType ? z.output<S> : undefined;

/** A request whose body, params and query were validated by the operation's schemas. */
export type TypedRequest<B, P, Q> = Request<
  P extends z.ZodType ? z.output<P> : Record<string, string>,
  unknown,
  Infer<B>
> & { validQuery: Infer<Q> };

/** One operation: its contract (schemas, answers, auth) and its handler. The schemas validate and document. */
export interface RouteSpec<
  B extends z.ZodType | undefined,
  P extends z.ZodType | undefined,
  Q extends z.ZodType | undefined,
> {
  /** HTTP method. */
  method: HttpMethod;
  /** Express path, e.g. `/api/tickets/:id`. */
  path: string;
  /** Unique, stable operation name, e.g. `createTicket`. */
  operationId: string;
  /** One line for the docs. */
  summary: string;
  /** Who may call it. */
  auth: AuthRequirement;
  /** Schema of the JSON body. */
  body?: B;
  /** Schema of the path parameters. */
  params?: P;
  /** Schema of the query string. */
  query?: Q;
  /**
   * Every answer the operation gives on purpose, by status (400/401/413/500 for errors are added for you). An
   * error answer may be given by its description alone: its body is the error body.
   */
  responses: Record<number, ResponseSpec | string>;
  /** Middleware that runs first, before auth and validation (e.g. a rate limit that must count bad requests too). */
  before?: RequestHandler[];
  /** The handler; throw the HTTP error classes for error answers. */
  handler: (req: TypedRequest<B, P, Q>, res: Response) => unknown | Promise<unknown>;
}

type AnyRoute = RouteSpec<z.ZodType | undefined, z.ZodType | undefined, z.ZodType | undefined>;

/** Options of {@link ApiRouter}. */
export interface ApiRouterOptions {
  /** Title of the service's document. */
  title: string;
  /** Version of the API. */
  version?: string;
  /** Check every JSON answer against its documented schema; a mismatch becomes a logged 500 (on in tests). */
  validateResponses?: boolean;
}

/** Thrown (as a 500) when an answer does not match the document: the code and the contract disagree. */
export class ResponseContractError extends Error {
  override readonly name = 'ResponseContractError';
  /** Stable code for callers and logs. */
  readonly code = 'RESPONSE_CONTRACT_VIOLATION';
}

function toOpenApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/** A JSON Schema (2020-12, as OpenAPI 3.1 uses) of a zod schema, as requests send it or as answers carry it. */
export function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema, ...rest } = z.toJSONSchema(schema, {
    io,
    unrepresentable: 'any',
    reused: 'inline',
  }) as Record<string, unknown>;
  return rest;
}

function objectShape(schema: z.ZodType | undefined): Record<string, z.ZodType> {
  if (!schema) return {};
  const shape = (schema as unknown as { shape?: Record<string, z.ZodType> }).shape;
  return shape ?? {};
}

/** The route's answers, the default error answers included. */
function answersOf(route: AnyRoute): Record<number, ResponseSpec> {
  const declared = Object.entries(route.responses).map(([status, spec]) => [
    status,
    typeof spec === 'string' ? { description: spec, schema: errorBodySchema } : spec,
  ]);
  return { ...defaultErrors(route), ...Object.fromEntries(declared) };
}

function defaultErrors(route: AnyRoute): Record<number, ResponseSpec> {
  const errors: Record<number, ResponseSpec> = {
    500: { description: 'Unexpected failure', schema: errorBodySchema },
  };
  if (route.body || route.params || route.query)
    errors[400] = { description: 'Invalid input', schema: errorBodySchema };
  if (route.auth === 'required') errors[401] = { description: 'Not signed in', schema: errorBodySchema };
  if (route.body) {
    errors[413] = { description: 'Body too large', schema: errorBodySchema };
    errors[415] = { description: 'Unsupported body encoding', schema: errorBodySchema };
  }
  if (/:[A-Za-z]/.test(route.path))
    errors[404] = errors[404] ?? { description: 'Not found', schema: errorBodySchema };
  return errors;
}

/**
 * A service's operations, declared once with their schemas: `mount` serves them (validation, auth, and in
 * tests a check of every answer against its schema), `document` describes them as OpenAPI 3.1.
 */
export class ApiRouter {
  private readonly routes: AnyRoute[] = [];

  constructor(private readonly options: ApiRouterOptions) {}

  /** Declares an operation. */
  route<
    B extends z.ZodType | undefined = undefined,
    P extends z.ZodType | undefined = undefined,
    Q extends z.ZodType | undefined = undefined,
  >(spec: RouteSpec<B, P, Q>): this {
    this.routes.push(spec as unknown as AnyRoute);
    return this;
  }

  /** Registers the operations on the app, and `GET /openapi.json` with the service's document. */
  mount(app: Express): void {
    const document = this.document();
    app.get('/openapi.json', (_req, res) => {
      res.json(document);
    });
    for (const route of this.routes) {
      const chain: RequestHandler[] = [];
      if (this.options.validateResponses) chain.push(this.responseCheck(route));
      chain.push(...(route.before ?? []));
      if (route.auth === 'required') chain.push(requireAuth);
      if (route.body || route.params || route.query) {
        chain.push(validate({ body: route.body, params: route.params, query: route.query }));
      }
      chain.push(async (req: Request, res: Response, next: NextFunction) => {
        try {
          (req as Request & { validQuery: unknown }).validQuery = req.query;
          await route.handler(req as never, res);
        } catch (error) {
          next(error);
        }
      });
      app[route.method](route.path, ...chain);
    }
  }

  /** Wraps `res.json` so an answer that breaks the document fails loudly instead of reaching a client. */
  private responseCheck(route: AnyRoute): RequestHandler {
    const responses = answersOf(route);
    return (req, res, next) => {
      const send = res.json.bind(res);
      res.json = (body: unknown) => {
        const spec = responses[res.statusCode];
        const problem = !spec
          ? `status ${res.statusCode} is not documented`
          : spec.schema
            ? (() => {
                const result = spec.schema.safeParse(body);
                return result.success ? undefined : z.prettifyError(result.error);
              })()
            : 'a body was sent where none is documented';
        if (problem && res.statusCode !== 500) {
          const error = new ResponseContractError(
            `${route.operationId} answered ${res.statusCode} against its document: ${problem}`,
          );
          (req as Request & { log?: { error(obj: object, msg: string): void } }).log?.error(
            { err: error },
            'answer does not match the API document',
          );
          res.status(500);
          return send({ errors: [{ message: 'Something went wrong' }] });
        }
        return send(body);
      };
      next();
    };
  }

  /** The OpenAPI 3.1 document of the operations. */
  document(): Record<string, unknown> {
    const paths: Record<string, Record<string, unknown>> = {};
    for (const route of this.routes) {
      const parameters = [
        ...Object.entries(objectShape(route.params)).map(([name, schema]) => ({
          name,
          in: 'path',
          required: true,
          schema: jsonSchema(schema, 'input'),
        })),
        ...Object.entries(objectShape(route.query)).map(([name, schema]) => ({
          name,
          in: 'query',
          required: !schema.safeParse(undefined).success,
          schema: jsonSchema(schema, 'input'),
        })),
      ];
      const responses = Object.fromEntries(
        Object.entries(answersOf(route)).map(([status, spec]) => [
          status,
          {
            description: spec.description,
            ...(spec.headers
              ? {
                  headers: Object.fromEntries(
                    Object.entries(spec.headers).map(([name, header]) => [
                      name,
                      { description: header.description, schema: jsonSchema(header.schema, 'output') },
                    ]),
                  ),
                }
              : {}),
            ...(spec.schema
              ? { content: { 'application/json': { schema: jsonSchema(spec.schema, 'output') } } }
              : {}),
          },
        ]),
      );
      const security =
        route.auth === 'required'
          ? [{ cookieAuth: [] }, { bearerAuth: [] }]
          : route.auth === 'optional'
            ? [{}, { cookieAuth: [] }, { bearerAuth: [] }]
            : [];
      const path = toOpenApiPath(route.path);
      paths[path] ??= {};
      paths[path][route.method] = {
        operationId: route.operationId,
        summary: route.summary,
        ...(parameters.length ? { parameters } : {}),
        ...(route.body
          ? {
              requestBody: {
                required: true,
                content: { 'application/json': { schema: jsonSchema(route.body, 'input') } },
              },
            }
          : {}),
        responses,
        security,
      };
    }
    return {
      openapi: '3.1.0',
      info: { title: this.options.title, version: this.options.version ?? '1.0.0' },
      paths,
      components: {
        securitySchemes: {
          cookieAuth: { type: 'apiKey', in: 'cookie', name: 'session', description: 'Set by signup/signin' },
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        },
      },
    };
  }
}

/** Merges service documents into one (the gateway's `/api/openapi.json`). */
export function mergeOpenApiDocuments(
  title: string,
  documents: Array<Record<string, unknown>>,
): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const document of documents) Object.assign(paths, document.paths as Record<string, unknown>);
  const first = documents[0] ?? {};
  return { openapi: '3.1.0', info: { title, version: '1.0.0' }, paths, components: first.components ?? {} };
}
