import { type OpenApiPaths, operationSummary, responseSchema } from './openapi';

const body = { type: 'object', properties: { id: { type: 'string' } } };
const paths: OpenApiPaths = {
  '/api/things': {
    post: {
      operationId: 'createThing',
      responses: {
        '409': { content: { 'application/json': { schema: {} } } },
        '201': { content: { 'application/json': { schema: body } } },
      },
      security: [],
    },
  },
  '/api/things/{id}': {
    delete: { operationId: 'deleteThing', responses: { '204': {} }, security: [] },
  },
};

it('summarises every operation by method and path, with its statuses sorted', () => {
  expect(operationSummary(paths)).toEqual({
    'POST /api/things': { operationId: 'createThing', statuses: ['201', '409'] },
    'DELETE /api/things/{id}': { operationId: 'deleteThing', statuses: ['204'] },
  });
});

it('reads the JSON schema of an answer and names an answer without one', () => {
  expect(responseSchema(paths['/api/things']!.post!, '201')).toBe(body);
  expect(() => responseSchema(paths['/api/things/{id}']!.delete!, '204')).toThrow(
    'deleteThing documents no JSON body for 204',
  );
  expect(() => responseSchema(paths['/api/things']!.post!, '500')).toThrow(/500/);
});
