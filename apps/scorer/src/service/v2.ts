import { packageVersion } from '@esm2/cli-kit';
import type { FastifyInstance } from 'fastify';
import { BINARY_EXTENSION, BINARY_HEADER, modelMetadata } from '../open-inference.js';
import type { PrepareContext } from '../prepare.js';
import { RequestError } from '../request.js';
import type { ServiceLimits } from './limits.js';
import type { Answerer } from './answer.js';

/** The Open Inference Protocol (KServe v2) REST API under /v2: see open-inference.ts for the texts followed. */
export function registerOpenInference(app: FastifyInstance, context: PrepareContext, answerer: Answerer, limits: ServiceLimits): void {
  const { model } = context;
  const name = model.name;
  const version = model.info.modelVersion;
  const metadata = modelMetadata(model, context.specs);
  const serverMetadata = { name: 'esm2-score', version: packageVersion(import.meta.url), extensions: [BINARY_EXTENSION] };
  /** The model a /v2/models/{name}[/versions/{version}] path names, or a 404 naming the one served. */
  const checkModel = (params: { name: string; version?: string }) => {
    if (params.name !== name) throw new RequestError(`unknown model '${params.name}': this server serves '${name}'`, 404);
    if (params.version !== undefined && params.version !== version) {
      throw new RequestError(`model '${name}' has no version '${params.version}': it serves version '${version}'`, 404);
    }
  };
  type ModelParams = { Params: { name: string; version?: string } };
  // Health answers are the status code alone, with an empty body, as the protocol asks.
  app.get('/v2/health/live', (_request, reply) => reply.code(200).send());
  app.get('/v2/health/ready', (_request, reply) => reply.code(200).send());
  app.get('/v2', () => serverMetadata);
  for (const base of ['/v2/models/:name', '/v2/models/:name/versions/:version']) {
    app.get<ModelParams>(base, (request) => {
      checkModel(request.params);
      return metadata;
    });
    app.get<ModelParams>(`${base}/ready`, (request, reply) => {
      checkModel(request.params);
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
        checkModel(request.params);
        const header = request.headers[BINARY_HEADER];
        const binaryHeader = Array.isArray(header) ? header[0] : header;
        const { body, headerLength } = await answerer.answer({ route: 'v2', body: request.body, binaryHeader, maxRows: limits.maxRows });
        if (headerLength === undefined) return reply.type('application/json; charset=utf-8').send(body);
        const bytes = typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
        return reply.header('content-type', 'application/octet-stream').header(BINARY_HEADER, String(headerLength)).send(bytes);
      });
    }
    registered();
  });
}
