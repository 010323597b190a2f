import type { FastifyInstance } from 'fastify';
import { RequestError, utf8Text } from '../request.js';

/** One version in POST /v2/repository/index, in Triton's shape. */
export interface VersionState {
  name: string;
  version: string;
  /** READY: serving; LOADING: being loaded, verified and warmed; UNLOADING: replaced, finishing its requests; UNAVAILABLE: not loaded (`reason` says why). */
  state: 'READY' | 'LOADING' | 'UNLOADING' | 'UNAVAILABLE';
  reason: string;
}

/** What the repository routes drive: a model repository's versions (repository.ts at the package root). */
export interface RepositoryControl {
  readonly name: string;
  index(): Promise<VersionState[]>;
  /** Loads `version` (or the newest) and serves it; a RequestError when it is refused, the version serving before still serving. */
  load(version?: string): Promise<unknown>;
  /** Unloads `version`, falling back to the newest remaining one, or with no version the model. */
  unload(version?: string): Promise<unknown>;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A JSON body as an object; none (or an empty one) is `{}`. */
function jsonBody(body: Buffer | undefined, keys: readonly string[]): Record<string, unknown> {
  if (body === undefined || body.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(utf8Text(body, 'the body'));
  } catch (e) {
    if (e instanceof RequestError) throw e;
    throw new RequestError(`invalid JSON body: ${(e as Error).message}`);
  }
  if (!isObject(value)) throw new RequestError('body must be a JSON object');
  const extra = Object.keys(value).filter((k) => !keys.includes(k));
  if (extra.length > 0) throw new RequestError(`unknown key(s) ${extra.map((k) => `'${k}'`).join(', ')}; expected ${keys.map((k) => `"${k}"`).join(', ')}`);
  return value;
}

/** `parameters.version` of a load or unload body: a version directory's number, as a string or a number. */
function versionParameter(body: Record<string, unknown>, allowed: readonly string[]): string | undefined {
  const { parameters } = body;
  if (parameters === undefined) return undefined;
  if (!isObject(parameters)) throw new RequestError('"parameters" must be an object');
  const extra = Object.keys(parameters).filter((k) => !allowed.includes(k));
  if (extra.length > 0) {
    throw new RequestError(`unsupported parameter(s) ${extra.map((k) => `'${k}'`).join(', ')}: this server takes ${allowed.map((k) => `"${k}"`).join(', ')} (the model's files come from its repository directory)`);
  }
  const v = parameters.version;
  if (v === undefined) return undefined;
  if ((typeof v === 'string' && /^\d+$/.test(v)) || (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0)) return String(v);
  throw new RequestError(`parameter "version" must be a version number (a version directory's name such as "3"), got ${JSON.stringify(v)}`);
}

/**
 * Triton's model repository extension
 * (triton-inference-server/server docs/protocol/extension_model_repository.md):
 * POST /v2/repository/index lists the model's versions and their states;
 * POST /v2/repository/models/{name}/load and …/unload change what is
 * served, answering 200 with an empty body once done. Beyond Triton, both
 * take `{"parameters": {"version": "N"}}` to name one version (docs/serving.md
 * says what each does, rollback included).
 */
export function registerRepository(app: FastifyInstance, control: RepositoryControl): void {
  const checkName = (name: string) => {
    if (name !== control.name) throw new RequestError(`unknown model '${name}': this server serves '${control.name}'`, 404);
  };
  app.post<{ Body: Buffer | undefined }>('/v2/repository/index', async (request) => {
    const { ready } = jsonBody(request.body, ['ready']);
    if (ready !== undefined && typeof ready !== 'boolean') throw new RequestError('"ready" must be true or false');
    const states = await control.index();
    return ready ? states.filter((s) => s.state === 'READY') : states;
  });
  type Named = { Params: { name: string }; Body: Buffer | undefined };
  app.post<Named>('/v2/repository/models/:name/load', async (request, reply) => {
    checkName(request.params.name);
    await control.load(versionParameter(jsonBody(request.body, ['parameters']), ['version']));
    return reply.code(200).send();
  });
  app.post<Named>('/v2/repository/models/:name/unload', async (request, reply) => {
    checkName(request.params.name);
    // Triton's unload_dependents is taken and has nothing to act on: a model here has no dependents.
    const body = jsonBody(request.body, ['parameters']);
    const dependents = isObject(body.parameters) ? body.parameters.unload_dependents : undefined;
    if (dependents !== undefined && typeof dependents !== 'boolean') throw new RequestError('parameter "unload_dependents" must be true or false');
    await control.unload(versionParameter(body, ['version', 'unload_dependents']));
    return reply.code(200).send();
  });
}
