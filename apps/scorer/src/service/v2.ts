import { packageVersion } from '@esm2/cli-kit';
import type { FastifyInstance } from 'fastify';
import { BINARY_EXTENSION, BINARY_HEADER } from '../open-inference.js';
import { RequestError } from '../request.js';
import { answerOn, type VersionSet } from './versions.js';

/**
 * The Open Inference Protocol (KServe v2) REST API under /v2: see
 * open-inference.ts for the texts followed. Every model route reads the
 * version serving now; `/versions/{version}/…` must name it (404 otherwise).
 */
export function registerOpenInference(app: FastifyInstance, set: VersionSet): void {
  const { name } = set;
  const serverMetadata = { name: 'esm2-score', version: packageVersion(import.meta.url), extensions: [BINARY_EXTENSION] };
  /** A 404 naming the model served when a /v2/models/{name} path names another. */
  const checkName = (params: { name: string }) => {
    if (params.name !== name) throw new RequestError(`unknown model '${params.name}': this server serves '${name}'`, 404);
  };
  type ModelParams = { Params: { name: string; version?: string } };
  // Health answers are the status code alone, with an empty body, as the protocol asks.
  app.get('/v2/health/live', (_request, reply) => reply.code(200).send());
  // Ready: a version is serving (with a model repository, not so after the model was unloaded).
  app.get('/v2/health/ready', (_request, reply) => reply.code(set.current ? 200 : 503).send());
  app.get('/v2', () => serverMetadata);
  for (const base of ['/v2/models/:name', '/v2/models/:name/versions/:version']) {
    app.get<ModelParams>(base, (request) => {
      checkName(request.params);
      const lease = set.acquire(request.params.version);
      lease.release();
      return lease.served.metadata;
    });
    app.get<ModelParams>(`${base}/ready`, (request, reply) => {
      checkName(request.params);
      // The protocol's answer is the status code: 200 ready, 4xx not (404: no such version serving; 400: nothing serving).
      if (!set.current) return reply.code(400).send();
      set.acquire(request.params.version).release();
      return reply.code(200).send();
    });
  }
  // The infer routes read their body as bytes: JSON, or with the binary tensor data extension
  // a JSON header followed by raw tensors (sent as application/octet-stream).
  void app.register((scope, _options, registered) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(['application/json', 'application/octet-stream'], { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    for (const base of ['/v2/models/:name', '/v2/models/:name/versions/:version']) {
      scope.post<ModelParams & { Body: Buffer | undefined }>(`${base}/infer`, async (request, reply) => {
        checkName(request.params);
        const header = request.headers[BINARY_HEADER];
        const binaryHeader = Array.isArray(header) ? header[0] : header;
        const { body, headerLength } = await answerOn(set, request, request.params.version, (answerer) =>
          answerer.answer({ route: 'v2', body: request.body, binaryHeader, maxRows: set.limits.maxRows }),
        );
        if (headerLength === undefined) return reply.type('application/json; charset=utf-8').send(body);
        const bytes = typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
        return reply.header('content-type', 'application/octet-stream').header(BINARY_HEADER, String(headerLength)).send(bytes);
      });
    }
    registered();
  });
}
