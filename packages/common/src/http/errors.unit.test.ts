import mongoose from 'mongoose';
import request from 'supertest';
import {
  BadRequestError,
  ConflictError,
  ForbiddenError,
  type HttpError,
  NotAuthorizedError,
  NotFoundError,
  PayloadTooLargeError,
  RequestValidationError,
  TooManyRequestsError,
} from './errors';
import { captureLogger, testApp } from './test-support/app';

function appThrowing(error: unknown, overrides = {}) {
  return testApp((app) => {
    app.get('/boom', () => {
      throw error;
    });
    app.get('/async-boom', async () => {
      await new Promise((resolve) => setImmediate(resolve));
      throw error;
    });
  }, overrides);
}

describe('HttpError subclasses', () => {
  const cases: [HttpError, number, string, unknown][] = [
    [
      new BadRequestError('Bad title', 'title'),
      400,
      'BAD_REQUEST',
      [{ message: 'Bad title', field: 'title' }],
    ],
    [new BadRequestError('Bad'), 400, 'BAD_REQUEST', [{ message: 'Bad' }]],
    [
      new RequestValidationError([
        { message: 'Required', field: 'email' },
        { message: 'Too short', field: 'password' },
      ]),
      400,
      'VALIDATION_FAILED',
      [
        { message: 'Required', field: 'email' },
        { message: 'Too short', field: 'password' },
      ],
    ],
    [new NotAuthorizedError(), 401, 'NOT_AUTHORIZED', [{ message: 'Not authorized' }]],
    [new ForbiddenError(), 403, 'FORBIDDEN', [{ message: 'Forbidden' }]],
    [new NotFoundError('Ticket not found'), 404, 'NOT_FOUND', [{ message: 'Ticket not found' }]],
    [new ConflictError('Ticket is reserved'), 409, 'CONFLICT', [{ message: 'Ticket is reserved' }]],
    [
      new ConflictError('Email in use', 'email'),
      409,
      'CONFLICT',
      [{ message: 'Email in use', field: 'email' }],
    ],
    [new PayloadTooLargeError(), 413, 'PAYLOAD_TOO_LARGE', [{ message: 'Request body is too large' }]],
    [new TooManyRequestsError(), 429, 'TOO_MANY_REQUESTS', [{ message: 'Too many requests' }]],
  ];

  it.each(cases)('%p answers its status and body', async (error, status, code, errors) => {
    expect(error.code).toBe(code);
    expect(error.name).toBe(error.constructor.name);
    expect(error).toBeInstanceOf(Error);
    for (const path of ['/boom', '/async-boom']) {
      const res = await request(appThrowing(error)).get(path);
      expect(res.status).toBe(status);
      expect(res.body).toEqual({ errors: errors });
    }
  });

  it('sends Retry-After on 429 when a delay is known, rounded up to whole seconds', async () => {
    const res = await request(appThrowing(new TooManyRequestsError(29.2))).get('/boom');
    expect(res.status).toBe(429);
    expect(res.headers['retry-after']).toBe('30');
    const without = await request(appThrowing(new TooManyRequestsError())).get('/boom');
    expect(without.headers['retry-after']).toBeUndefined();
  });

  it('never sends an empty error list', () => {
    expect(new RequestValidationError([]).serialize()).toEqual([{ message: 'Invalid request' }]);
  });
});

describe('errorHandler with unknown errors', () => {
  it('answers 500 with a fixed message, no stack or internals, and logs the error', async () => {
    const { logger, lines } = captureLogger();
    const secret = new Error('connect ECONNREFUSED 10.0.0.7:27017 password=hunter2');
    for (const path of ['/boom', '/async-boom']) {
      const res = await request(appThrowing(secret, { logger })).get(path);
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ errors: [{ message: 'Something went wrong' }] });
      expect(res.text).not.toContain('ECONNREFUSED');
      expect(res.text).not.toContain('hunter2');
      expect(res.text).not.toContain('at ');
    }
    const logged = lines().filter((line) => line.msg === 'unhandled error');
    expect(logged).toHaveLength(2);
    expect(logged[0]).toMatchObject({
      level: 50,
      err: { message: secret.message },
      method: 'GET',
      url: '/boom',
    });
    expect(String((logged[0]?.err as { stack?: string } | undefined)?.stack)).toContain(
      'errors.unit.test.ts',
    );
  });

  it('treats thrown non-errors and 5xx library errors as 500', async () => {
    for (const thrown of ['a string', 42, Object.assign(new Error('upstream down'), { status: 503 })]) {
      const res = await request(appThrowing(thrown)).get('/boom');
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ errors: [{ message: 'Something went wrong' }] });
    }
  });

  it('keeps a 4xx library error status, with its message only when the library marks it safe', async () => {
    const exposed = Object.assign(new Error('Unsupported thing'), { status: 415, expose: true });
    const res = await request(appThrowing(exposed)).get('/boom');
    expect(res.status).toBe(415);
    expect(res.body).toEqual({ errors: [{ message: 'Unsupported thing' }] });

    const hidden = Object.assign(new Error('internal detail'), { statusCode: 400 });
    const res2 = await request(appThrowing(hidden)).get('/boom');
    expect(res2.status).toBe(400);
    expect(res2.body).toEqual({ errors: [{ message: 'Bad Request' }] });
  });
});

describe('errorHandler with mongoose and Mongo errors (defensive; routes validate first)', () => {
  const schema = new mongoose.Schema({
    title: { type: String, required: [true, 'title is required'] },
    price: { type: Number, min: [0, 'price must not be negative'] },
  });
  const Model = mongoose.model('ErrorHandlerTestDoc', schema);

  it('maps a CastError to 400 naming the field without echoing model or value', async () => {
    const cast = new mongoose.Error.CastError('ObjectId', 'not-an-id', '_id');
    const res = await request(appThrowing(cast)).get('/boom');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ errors: [{ message: 'Invalid value for _id', field: '_id' }] });
  });

  it('maps a ValidationError to 400 with one entry per field', async () => {
    const invalid = new Model({ price: 'abc' }).validateSync();
    expect(invalid).toBeDefined();
    const res = await request(appThrowing(invalid)).get('/boom');
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual(
      expect.arrayContaining([
        { message: 'title is required', field: 'title' },
        { message: 'Invalid value for price', field: 'price' },
      ]),
    );
    expect(res.body.errors).toHaveLength(2);

    const negative = new Model({ title: 'x', price: -1 }).validateSync();
    const res2 = await request(appThrowing(negative)).get('/boom');
    expect(res2.body).toEqual({ errors: [{ message: 'price must not be negative', field: 'price' }] });
  });

  it('maps a duplicate key error (code 11000) to 409, naming the key when the server says it', async () => {
    const withKey = Object.assign(new Error('E11000 duplicate key'), {
      code: 11000,
      keyValue: { email: 'a@b.c' },
    });
    const res = await request(appThrowing(withKey)).get('/boom');
    expect(res.status).toBe(409);
    expect(res.body).toEqual({ errors: [{ message: 'email already exists', field: 'email' }] });

    const withPattern = Object.assign(new Error('E11000'), { code: 11000, keyPattern: { orderId: 1 } });
    const res3 = await request(appThrowing(withPattern)).get('/boom');
    expect(res3.body).toEqual({ errors: [{ message: 'orderId already exists', field: 'orderId' }] });

    const withoutKey = Object.assign(new Error('E11000 duplicate key'), { code: 11000 });
    const res2 = await request(appThrowing(withoutKey)).get('/boom');
    expect(res2.status).toBe(409);
    expect(res2.body).toEqual({ errors: [{ message: 'Already exists' }] });
  });
});

describe('request-level errors', () => {
  const app = testApp(
    (a) => {
      a.post('/echo', (req, res) => {
        res.json({ got: req.body });
      });
      a.get('/items/:id', (req, res) => {
        res.json({ id: req.params.id });
      });
    },
    { bodyLimit: '1kb' },
  );

  it('answers unknown routes with 404 in the standard body', async () => {
    const res = await request(app).get('/nope');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ errors: [{ message: 'Route not found' }] });
    const post = await request(app).post('/nope').send({ a: 1 });
    expect(post.status).toBe(404);
  });

  it('answers malformed JSON with 400', async () => {
    const res = await request(app).post('/echo').set('Content-Type', 'application/json').send('{"a": ');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ errors: [{ message: 'Malformed JSON body' }] });
  });

  it('answers a body over the limit with 413', async () => {
    const res = await request(app)
      .post('/echo')
      .send({ text: 'x'.repeat(2048) });
    expect(res.status).toBe(413);
    expect(res.body).toEqual({ errors: [{ message: 'Request body is too large' }] });
    const small = await request(app).post('/echo').send({ text: 'x' });
    expect(small.status).toBe(200);
    expect(small.body).toEqual({ got: { text: 'x' } });
  });

  it('answers an unsupported charset with 415, not 500', async () => {
    const res = await request(app)
      .post('/echo')
      .set('Content-Type', 'application/json; charset=koi8-r')
      .send('{}');
    expect(res.status).toBe(415);
    expect(res.body.errors[0].message).toMatch(/charset/i);
  });

  it('answers an undecodable route parameter with 400, not 500', async () => {
    const res = await request(app).get('/items/%E0%A4%A');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ errors: [{ message: 'Bad Request' }] });
  });
});
