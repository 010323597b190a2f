import type { FastifyInstance } from 'fastify';
import { answerOn, type VersionSet } from './versions.js';

/** POST /v1/score: `{"rows": [...]}` in, `{modelVersion, model_version, predictions}` out, from the version current when the request is taken. */
export function registerV1(app: FastifyInstance, set: VersionSet): void {
  app.post<{ Body: Buffer | undefined }>('/v1/score', async (request, reply) => {
    const { body } = await answerOn(set, request, undefined, (answerer) => answerer.answer({ route: 'v1', body: request.body, maxRows: set.limits.maxRows }));
    return reply.type('application/json; charset=utf-8').send(body);
  });
}
