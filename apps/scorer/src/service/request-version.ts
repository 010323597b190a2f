import type { FastifyRequest } from 'fastify';

/** The model version that took each scoring request, for its `version` label on /metrics. */
const versions = new WeakMap<FastifyRequest, string>();

/** Records the version a request is answered by (its /metrics series carry it). */
export function labelVersion(request: FastifyRequest, version: string): void {
  versions.set(request, version);
}

/** The version that took `request`, or undefined when none did (/healthz, a 404). */
export function requestVersion(request: FastifyRequest): string | undefined {
  return versions.get(request);
}
