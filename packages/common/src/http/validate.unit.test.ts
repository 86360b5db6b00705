import request from 'supertest';
import { z } from 'zod';
import { testApp } from './test-support/app';
import { validate } from './validate';

const signupBody = z.object({
  email: z.email(),
  password: z.string().min(8).max(128),
});

const ticketBody = z.object({
  title: z.string().min(1).max(200),
  price: z.coerce.number().positive(),
  event: z.object({ venue: z.object({ name: z.string() }) }).optional(),
  tags: z.array(z.object({ label: z.string() })).optional(),
});

const idParams = z.object({ id: z.string().regex(/^[0-9a-f]{24}$/, 'must be an id') });
const listQuery = z.object({ page: z.coerce.number().int().min(1).default(1), q: z.string().optional() });

const app = testApp((a) => {
  a.post('/signup', validate({ body: signupBody }), (req, res) => {
    res.json({ body: req.body });
  });
  a.post('/tickets', validate({ body: ticketBody }), (req, res) => {
    res.json({ body: req.body, priceType: typeof req.body.price });
  });
  a.get('/tickets/:id', validate({ params: idParams }), (req, res) => {
    res.json({ params: req.params });
  });
  a.get('/tickets', validate({ query: listQuery }), (req, res) => {
    const query = req.query as unknown as z.output<typeof listQuery>;
    res.json({ query, pageType: typeof query.page, again: req.query });
  });
  a.put('/tickets/:id', validate({ params: idParams, body: ticketBody }), (req, res) => {
    res.json({ params: req.params, body: req.body });
  });
});

describe('validate', () => {
  it('names each invalid field in the 400 body', async () => {
    const res = await request(app).post('/signup').send({ email: 'not-an-email', password: 'short' });
    expect(res.status).toBe(400);
    expect(res.body.errors).toHaveLength(2);
    expect(res.body.errors).toEqual([
      { message: expect.any(String), field: 'email' },
      { message: expect.any(String), field: 'password' },
    ]);
  });

  it('reports missing fields by name', async () => {
    const res = await request(app).post('/signup').send({});
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { field?: string }) => e.field)).toEqual(['email', 'password']);
  });

  it('joins nested paths with dots', async () => {
    const res = await request(app)
      .post('/tickets')
      .send({
        title: 'Concert',
        price: 10,
        event: { venue: { name: 7 } },
        tags: [{ label: 'ok' }, { label: 1 }],
      });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { field?: string }) => e.field)).toEqual([
      'event.venue.name',
      'tags.1.label',
    ]);
  });

  it('refuses a string holding U+0000 (PostgreSQL-backed servers cannot store it), naming each field', async () => {
    const res = await request(app)
      .post('/tickets')
      .send({ title: 'Con\u0000cert', price: 10, tags: [{ label: 'ok' }, { label: '\u0000' }] });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      { message: 'must not contain the NUL character (U+0000)', field: 'title' },
      { message: 'must not contain the NUL character (U+0000)', field: 'tags.1.label' },
    ]);
    const query = await request(app).get('/tickets').query({ q: 'a\u0000' });
    expect(query.status).toBe(400);
    expect(query.body.errors).toEqual([
      { message: 'must not contain the NUL character (U+0000)', field: 'q' },
    ]);
  });

  it('rejects a Mongo operator object where the schema wants a string, naming the field', async () => {
    const res = await request(app)
      .post('/signup')
      .send({ email: { $gt: '' }, password: 'long-enough-password' });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ message: expect.stringMatching(/string|email/i), field: 'email' }]);
  });

  it('replaces req.body with the parsed value: coerced, unknown keys stripped', async () => {
    const res = await request(app)
      .post('/tickets')
      .send({ title: 'Concert', price: '12.5', userId: 'someone-else', $where: 'sleep(1000)' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ body: { title: 'Concert', price: 12.5 }, priceType: 'number' });
  });

  it('rejects bodies that are not JSON objects', async () => {
    const array = await request(app)
      .post('/signup')
      .send([{ email: 'a@b.co', password: 'long-enough' }]);
    expect(array.status).toBe(400);
    expect(array.body).toEqual({ errors: [{ message: 'Request body must be a JSON object' }] });

    const missing = await request(app).post('/signup');
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual({ errors: [{ message: 'Request body must be a JSON object' }] });

    const text = await request(app).post('/signup').set('Content-Type', 'text/plain').send('email=a@b.co');
    expect(text.status).toBe(400);
    expect(text.body).toEqual({ errors: [{ message: 'Request body must be a JSON object' }] });

    // express.json's strict mode refuses top-level primitives before validate runs.
    for (const primitive of ['"a string"', '42', 'null']) {
      const res = await request(app).post('/signup').set('Content-Type', 'application/json').send(primitive);
      expect(res.status).toBe(400);
      expect(res.body.errors).toHaveLength(1);
    }
  });

  it('validates and replaces route parameters', async () => {
    const bad = await request(app).get('/tickets/123');
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ errors: [{ message: 'must be an id', field: 'id' }] });

    const good = await request(app).get('/tickets/0123456789abcdef01234567');
    expect(good.status).toBe(200);
    expect(good.body).toEqual({ params: { id: '0123456789abcdef01234567' } });
  });

  it('validates the query and makes the parsed value req.query despite Express 5 getter', async () => {
    const good = await request(app).get('/tickets?page=3&q=rock&extra=1');
    expect(good.status).toBe(200);
    expect(good.body).toEqual({
      query: { page: 3, q: 'rock' },
      pageType: 'number',
      again: { page: 3, q: 'rock' },
    });

    const defaulted = await request(app).get('/tickets');
    expect(defaulted.body.query).toEqual({ page: 1 });

    const bad = await request(app).get('/tickets?page=0');
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([{ message: expect.any(String), field: 'page' }]);

    // Express 5's simple query parser keeps `q[$ne]` a flat key: it never becomes an operator object on `q`.
    const bracketed = await request(app).get('/tickets?q[$ne]=x');
    expect(bracketed.status).toBe(200);
    expect(bracketed.body.query).toEqual({ page: 1 });

    const repeated = await request(app).get('/tickets?q=a&q=b');
    expect(repeated.status).toBe(400);
    expect(repeated.body.errors).toEqual([{ message: expect.any(String), field: 'q' }]);
  });

  it('reports problems of params and body together', async () => {
    const res = await request(app).put('/tickets/xyz').send({ title: '', price: -1 });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { field?: string }) => e.field)).toEqual(['title', 'price', 'id']);
  });
});
