import type { FastifyInstance } from 'fastify';

/**
 * The service's shutdown: `close()` stops taking requests, closes idle
 * connections at once, lets in-flight requests finish, then drains the
 * batchers (`drain`). Connections still open after `shutdownTimeoutMs` are destroyed
 * and the batcher is no longer waited for: resolves `true` when everything
 * finished in time, `false` when it had to cut things off.
 */
export function shutdown(app: FastifyInstance, drain: () => Promise<void>, shutdownTimeoutMs: number): () => Promise<boolean> {
  // While shutting down, answers end their keep-alive connection: the server
  // closes only once every connection is gone, and a client's idle pooled
  // connection would otherwise hold it open after the last in-flight reply.
  let closing = false;
  // A callback hook: an async one costs every response a promise.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) void reply.header('connection', 'close');
    done(null, payload);
  });

  return async () => {
    closing = true;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<false>((resolve) => {
      timer = setTimeout(() => {
        app.log.warn(`shutdown: connections still open after ${shutdownTimeoutMs} ms, closing them`);
        app.server.closeAllConnections();
        resolve(false);
      }, Math.min(shutdownTimeoutMs, 2 ** 31 - 1)); // setTimeout cannot wait longer
    });
    try {
      // Fastify closes idle keep-alive connections at once, then waits for the rest.
      const closed = app.close();
      const finished = closed.then(drain).then(() => true as const);
      const clean = await Promise.race([finished, deadline]);
      // Past the deadline every connection is destroyed, so the server closes now;
      // work still in the batcher belongs to requests that are gone.
      if (!clean) await closed;
      return clean;
    } finally {
      clearTimeout(timer);
    }
  };
}
