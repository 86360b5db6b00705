import request from 'supertest';
import { z } from 'zod';
import { objectIdSchema } from '../events/catalog';
import { ApiRouter, errorBodySchema, jsonSchema, mergeOpenApiDocuments } from './api';
import { signUserToken } from './auth';
import { ConflictError } from './errors';
import { captureLogger, TEST_JWT_KEY, testApp } from './test-support/app';

const noteSchema = z.object({ id: objectIdSchema, title: z.string(), version: z.number().int() }).strict();

function notesApi(options: { validateResponses: boolean; lie?: boolean }) {
  const api = new ApiRouter({ title: 'notes', validateResponses: options.validateResponses });
  api.route({
    method: 'post',
    path: '/api/notes',
    operationId: 'createNote',
    summary: 'Create a note',
    auth: 'required',
    body: z.object({ title: z.string().trim().min(1).max(20) }),
    responses: {
      201: { description: 'Created', schema: noteSchema },
      409: 'Taken',
    },
    handler: (req, res) => {
      if (req.body.title === 'taken') throw new ConflictError('Title taken', 'title');
      const answer = { id: 'a'.repeat(24), title: req.body.title, version: 0 };
      res.status(201).json(options.lie ? { ...answer, version: 'zero' } : answer);
    },
  });
  api.route({
    method: 'get',
    path: '/api/notes/:id',
    operationId: 'showNote',
    summary: 'Show a note',
    auth: 'optional',
    params: z.object({ id: objectIdSchema }),
    responses: { 200: { description: 'The note', schema: noteSchema } },
    handler: (req, res) => {
      res.json({ id: req.params.id, title: 'x', version: 3 });
    },
  });
  return api;
}

const bearer = `Bearer ${signUserToken({ id: 'b'.repeat(24), email: 'a@b.dev' }, TEST_JWT_KEY, '1h')}`;

describe('the document', () => {
  const document = notesApi({ validateResponses: false }).document() as {
    openapi: string;
    paths: Record<string, Record<string, Record<string, unknown>>>;
    components: { securitySchemes: Record<string, unknown> };
  };

  it('is OpenAPI 3.1 with every operation, its body, parameters, answers and auth', () => {
    expect(document.openapi).toBe('3.1.0');
    const create = document.paths['/api/notes']!.post!;
    expect(create.operationId).toBe('createNote');
    expect(create.requestBody).toMatchObject({
      required: true,
      content: {
        'application/json': {
          schema: { type: 'object', properties: { title: { type: 'string', maxLength: 20 } } },
        },
      },
    });
    expect(Object.keys(create.responses as object).sort()).toEqual([
      '201',
      '400',
      '401',
      '409',
      '413',
      '415',
      '500',
    ]);
    // An answer given by its description alone is an error answer: its body is the error body.
    expect((create.responses as Record<string, unknown>)['409']).toEqual({
      description: 'Taken',
      content: { 'application/json': { schema: jsonSchema(errorBodySchema, 'output') } },
    });
    expect(create.security).toEqual([{ cookieAuth: [] }, { bearerAuth: [] }]);
    const show = document.paths['/api/notes/{id}']!.get!;
    expect(show.parameters).toEqual([
      {
        name: 'id',
        in: 'path',
        required: true,
        schema: expect.objectContaining({ type: 'string', pattern: '^[a-f0-9]{24}$' }),
      },
    ]);
    expect(show.security).toEqual([{}, { cookieAuth: [] }, { bearerAuth: [] }]);
    expect(Object.keys(show.responses as object).sort()).toEqual(['200', '400', '404', '500']);
    expect(Object.keys(document.components.securitySchemes)).toEqual(['cookieAuth', 'bearerAuth']);
  });

  it('is served at /openapi.json and merges with other services’ documents', async () => {
    const api = notesApi({ validateResponses: false });
    const served = await request(testApp((app) => api.mount(app)))
      .get('/openapi.json')
      .expect(200);
    expect(served.body).toEqual(api.document());
    const other = { paths: { '/api/other': { get: {} } }, components: {} };
    const merged = mergeOpenApiDocuments('all', [served.body, other]) as { paths: object };
    expect(Object.keys(merged.paths).sort()).toEqual(['/api/notes', '/api/notes/{id}', '/api/other']);
  });
});

describe('serving', () => {
  it('validates input and auth from the same schemas', async () => {
    const app = testApp((app) => notesApi({ validateResponses: true }).mount(app));
    await request(app).post('/api/notes').send({ title: 'x' }).expect(401);
    const bad = await request(app)
      .post('/api/notes')
      .set('Authorization', bearer)
      .send({ title: '' })
      .expect(400);
    expect(bad.body.errors[0].field).toBe('title');
    await request(app).post('/api/notes').set('Authorization', bearer).send({ title: 'ok' }).expect(201);
    await request(app).post('/api/notes').set('Authorization', bearer).send({ title: 'taken' }).expect(409);
    await request(app).get('/api/notes/nope').expect(400);
    await request(app)
      .get(`/api/notes/${'c'.repeat(24)}`)
      .expect(200);
  });

  it('turns an answer that breaks the document into a logged 500 when checking answers', async () => {
    const { logger, lines } = captureLogger();
    const app = testApp((app) => notesApi({ validateResponses: true, lie: true }).mount(app), { logger });
    const answer = await request(app)
      .post('/api/notes')
      .set('Authorization', bearer)
      .send({ title: 'ok' })
      .expect(500);
    expect(answer.body).toEqual({ errors: [{ message: 'Something went wrong' }] });
    expect(JSON.stringify(lines())).toMatch(/createNote answered 201 against its document[\s\S]*version/);
  });

  it('does not check answers when told not to (production)', async () => {
    const app = testApp((app) => notesApi({ validateResponses: false, lie: true }).mount(app));
    await request(app).post('/api/notes').set('Authorization', bearer).send({ title: 'ok' }).expect(201);
  });
});

describe('per-operation middleware and documented headers', () => {
  const limited = new ApiRouter({ title: 'limited', validateResponses: true }).route({
    method: 'post',
    path: '/api/limited/:name',
    operationId: 'limited',
    summary: 'Rate limited',
    auth: 'none',
    params: z.object({ name: z.string() }),
    body: z.object({ n: z.number() }),
    before: [
      (_req, res, next) => {
        if (res.locals.blocked) return next();
        res
          .set('Retry-After', '7')
          .status(429)
          .json({ errors: [{ message: 'Too many requests' }] });
      },
    ],
    responses: {
      200: { description: 'OK', schema: z.object({}).strict() },
      429: {
        description: 'Too many requests',
        schema: errorBodySchema,
        headers: { 'Retry-After': { description: 'Seconds to wait', schema: z.number().int() } },
      },
    },
    handler: (_req, res) => {
      res.json({});
    },
  });

  it('runs `before` ahead of validation, and checks its answer against the document too', async () => {
    const app = testApp((app) => limited.mount(app));
    const answer = await request(app).post('/api/limited/x').send({ n: 'not a number' }).expect(429);
    expect(answer.headers['retry-after']).toBe('7');
  });

  it('documents response headers, and no 400 for path parameters that accept any string', () => {
    const operation = (
      limited.document() as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> }
    ).paths['/api/limited/{name}']!.post!;
    expect(operation.responses['429']).toMatchObject({
      headers: { 'Retry-After': { schema: { type: 'integer' } } },
    });
    expect(Object.keys(operation.responses).sort()).toEqual([
      '200',
      '400',
      '404',
      '413',
      '415',
      '429',
      '500',
    ]);
  });
});
