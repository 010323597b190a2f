import type { HostTensor } from '@esm2/core';
import { concatFeeds, scoresToRows, sliceScores, type Feeds, type Scores } from './feeds.js';
import type { ScoringModel } from './model.js';
import { inferResponse, inputSpecs, parseInferRequest, type InferRequest, type InputSpec } from './open-inference.js';
import { RequestError, allowedFields, encodeRows, parseRows, utf8Text } from './request.js';

/** A scoring request as it arrived: which route, and its body bytes (undefined when it had none). */
export interface RawRequest {
  route: 'v1' | 'v2';
  body: Uint8Array | undefined;
  /** /v2 only: the Inference-Header-Content-Length header (binary tensor data extension). */
  binaryHeader?: string | undefined;
  /** Most rows per request (413 beyond). */
  maxRows: number;
}

/** A request parsed, validated and encoded: its rows' feeds, and for /v2 what the response carries. */
export interface PreparedRequest {
  rows: number;
  feeds: Record<string, HostTensor>;
  infer?: Omit<InferRequest, 'rows'>;
}

/** What a request's body is checked against: computed once per model. */
export interface PrepareContext {
  model: ScoringModel;
  allowed: ReadonlySet<string>;
  /** The model's input columns, which an unknown-key refusal lists. */
  inputs: readonly string[];
  specs: readonly InputSpec[];
}

export function prepareContext(model: ScoringModel): PrepareContext {
  return { model, allowed: allowedFields(model), inputs: model.encoders.columns(false), specs: inputSpecs(model) };
}

/**
 * Body bytes → feeds, or a RequestError saying exactly what is wrong: the
 * JSON parse, validation and encoding of POST /v1/score and POST
 * /v2/models/{name}/infer. The service runs it in a scoring worker (off the
 * HTTP thread) or, with a scorer that has no workers, on its own thread;
 * either way this is the code that runs. `onRows` hears the row count as
 * soon as the body is parsed (for metrics), before encoding may refuse it.
 */
export function prepareRequest(context: PrepareContext, request: RawRequest, onRows?: (rows: number) => void): PreparedRequest {
  const { model } = context;
  if (request.route === 'v1') {
    let body: unknown;
    if (request.body !== undefined) {
      const text = utf8Text(request.body, 'the body');
      try {
        // JSON.parse instead of secure-json-parse: its error names the position of a syntax error, and a
        // "__proto__" key becomes a plain own key (JSON.parse never sets a prototype), which parseRows then
        // refuses by name like any other unknown key.
        body = JSON.parse(text);
      } catch (e) {
        throw new RequestError(`invalid JSON body: ${(e as Error).message}`);
      }
    }
    const rows = parseRows(body, context.allowed, request.maxRows, context.inputs);
    onRows?.(rows.length);
    return { rows: rows.length, feeds: encodeRows(model, rows) };
  }
  const bytes = request.body === undefined ? Buffer.alloc(0) : Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength);
  const { rows, ...infer } = parseInferRequest(bytes, request.binaryHeader, model, context.specs, request.maxRows);
  onRows?.(rows.length);
  return { rows: rows.length, feeds: encodeRows(model, rows), infer };
}

/** A request's answer: the response body of its route (JSON text, or with the binary extension bytes after a JSON header of `headerLength` bytes). */
export interface Answer {
  rows: number;
  body: string | Uint8Array;
  headerLength?: number;
}

/** The response body for a prepared request's scores: POST /v1/score's {modelVersion, model_version, predictions}, or /v2's $inference_response. */
export function answerRequest(model: ScoringModel, prepared: PreparedRequest, scores: Scores): Answer {
  const { rows, infer } = prepared;
  if (!infer) {
    // modelVersion: the content version, as before; model_version: the version serving (the same with --model).
    const body = { modelVersion: model.info.modelVersion, model_version: model.version, predictions: scoresToRows(scores, model.predictions, rows) };
    return { rows, body: JSON.stringify(body) };
  }
  const response = inferResponse(model, infer, scores, rows);
  return response.kind === 'json' ? { rows, body: JSON.stringify(response.body) } : { rows, body: response.body, headerLength: response.headerLength };
}

/** A request's refusal as it crosses back from a worker (errors do not keep their class across threads). */
export interface Refusal {
  ok: false;
  message: string;
  /** The 4xx of a RequestError; absent for anything else (a bug: 500). */
  status?: number;
  /** The rows of a body that parsed before it was refused. */
  rows?: number;
}

/** A prepared request or its refusal. */
export type PrepareOutcome = ({ ok: true } & PreparedRequest) | Refusal;

/** An answered request or its refusal. */
export type AnswerOutcome = ({ ok: true } & Answer) | Refusal;

/** prepareRequest with its errors as values, for a worker to send back. */
export function prepareOutcome(context: PrepareContext, request: RawRequest): PrepareOutcome {
  let rows: number | undefined;
  try {
    return { ok: true, ...prepareRequest(context, request, (n) => (rows = n)) };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const error = e instanceof RequestError ? { ok: false as const, message, status: e.statusCode } : { ok: false as const, message };
    return rows === undefined ? error : { ...error, rows };
  }
}

/** The thrown form again on the HTTP thread: a RequestError for the client's mistakes, a plain Error (500) otherwise. */
export function outcomeError(outcome: Refusal): Error {
  return outcome.status === undefined ? new Error(outcome.message) : new RequestError(outcome.message, outcome.status);
}

/** A batch's answers, one per request in order, and the rows of each session run it took. */
export interface AnsweredBatch {
  outcomes: AnswerOutcome[];
  runs: number[];
}

/**
 * Answers a batch of requests: each is prepared on its own (a bad one is
 * refused without failing the others), the good ones are scored together
 * in session runs of at most `maxBatchRows` rows (a larger request runs
 * alone), and each gets its response body. A failing run rejects the
 * whole batch. The pool runs this in a worker; a scorer without workers,
 * on the HTTP thread.
 */
export async function answerBatch(context: PrepareContext, requests: readonly RawRequest[], maxBatchRows: number, run: (feeds: Feeds) => Promise<Scores>): Promise<AnsweredBatch> {
  const prepared = requests.map((r) => prepareOutcome(context, r));
  const outcomes = prepared.map((p): AnswerOutcome | undefined => (p.ok ? undefined : p));
  const runs: number[] = [];
  let group: number[] = [];
  let rows = 0;
  const flush = async () => {
    if (group.length === 0) return;
    const parts = group.map((k) => prepared[k] as PreparedRequest);
    const scores = await run(concatFeeds(parts.map((p) => p.feeds)));
    let start = 0;
    group.forEach((k, i) => {
      const part = parts[i]!;
      outcomes[k] = { ok: true, ...answerRequest(context.model, part, sliceScores(scores, start, part.rows)) };
      start += part.rows;
    });
    runs.push(rows);
    group = [];
    rows = 0;
  };
  for (const [k, p] of prepared.entries()) {
    if (!p.ok) continue;
    if (group.length > 0 && rows + p.rows > maxBatchRows) await flush();
    group.push(k);
    rows += p.rows;
  }
  await flush();
  return { outcomes: outcomes as AnswerOutcome[], runs };
}
