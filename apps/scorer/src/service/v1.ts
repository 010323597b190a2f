import type { FastifyInstance } from 'fastify';
import type { ServiceLimits } from './limits.js';
import type { Answerer } from './answer.js';

/** POST /v1/score: `{"rows": [...]}` in, `{modelVersion, predictions}` out. */
export function registerV1(app: FastifyInstance, answerer: Answerer, limits: ServiceLimits): void {
  app.post<{ Body: Buffer | undefined }>('/v1/score', async (request, reply) => {
    const { body } = await answerer.answer({ route: 'v1', body: request.body, maxRows: limits.maxRows });
    return reply.type('application/json; charset=utf-8').send(body);
  });
}
