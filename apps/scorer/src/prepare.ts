import type { HostTensor } from '@esm2/core';
import type { FeatureArrays, RowWriter } from '@esm2/data';
import { scoreRowsJson, type Feeds, type Scores } from './feeds.js';
import type { ScoringModel } from './model.js';
import { inferResponse, inferRows, inputSpecs, parseInferRequest, type InferRequest, type InputSpec } from './open-inference.js';
import { RequestError, allowedFields, bodyRows, checkRows, encodeRows, utf8Text } from './request.js';

/** A scoring request as it arrived: which route, and its body bytes (undefined when it had none). */
export interface RawRequest {
  route: 'v1' | 'v2';
  body: Uint8Array | undefined;
  /** /v2 only: the Inference-Header-Content-Length header (binary tensor data extension). */
  binaryHeader?: string | undefined;
  /** Most rows per request (413 beyond). */
  maxRows: number;
}

/** What /v2 answers with besides the scores: the request's id and the outputs it asked for. */
export type InferAnswer = Pick<InferRequest, 'id' | 'outputs'>;

/** A request parsed, validated and encoded: its rows' feeds, and for /v2 what the response carries. */
export interface PreparedRequest {
  rows: number;
  feeds: Record<string, HostTensor>;
  infer?: InferAnswer;
}

/** One input of the scoring graph: its name, element type, and values per row (the dims after the batch dim). */
interface FeedLayout {
  name: string;
  float: boolean;
  tail: number[];
  width: number;
}

/** What a request's body is checked against: computed once per model. */
export interface PrepareContext {
  model: ScoringModel;
  allowed: ReadonlySet<string>;
  /** The model's input columns, which an unknown-key refusal lists. */
  inputs: readonly string[];
  specs: readonly InputSpec[];
  /** The scoring graph's inputs, batch dim first: how a batch's arrays are laid out. */
  layout: readonly FeedLayout[];
  /** The encoders' fast path, when it writes exactly the graph's inputs (else every request takes encodeRows). */
  writer?: RowWriter;
  /** POST /v1/score's body up to its predictions' array: JSON.stringify's own text of the fixed keys. */
  v1Head: string;
}

export function prepareContext(model: ScoringModel): PrepareContext {
  const layout = model.graph.inputs.map((input): FeedLayout => {
    const [first, ...tail] = input.type.shape;
    if (first !== 'batch' || !tail.every((d): d is number => typeof d === 'number')) {
      throw new Error(`input '${input.name}' of graph '${model.graph.name}': shape [${input.type.shape.join(', ')}] is not [batch, …fixed dims]`);
    }
    return { name: input.name, float: input.type.dtype !== 'i32', tail, width: tail.reduce((a, b) => a * b, 1) };
  });
  const writer = model.encoders.rowWriter();
  // The writer fills every field; used only when those are exactly the graph's inputs, each as the graph lays it out.
  const probe = writer?.allocate(0);
  const fits =
    probe !== undefined &&
    Object.keys(probe).length === layout.length &&
    layout.every((l) => probe[l.name] !== undefined && probe[l.name] instanceof (l.float ? Float32Array : Int32Array) && writer!.width(l.name) === l.width);
  const head = JSON.stringify({ modelVersion: model.info.modelVersion, model_version: model.version, predictions: [] });
  return {
    model,
    allowed: allowedFields(model),
    inputs: model.encoders.columns(false),
    specs: inputSpecs(model),
    layout,
    ...(fits ? { writer: writer! } : {}),
    v1Head: head.slice(0, -3),
  };
}

/** A request parsed: its row count, and its rows (/v1, not yet looked at one by one) or its tensors (/v2). */
type ParsedRequest = { rows: number; body: unknown[]; infer?: undefined } | { rows: number; infer: InferRequest };

/**
 * Body bytes → the parsed request, or a RequestError: the JSON parse and
 * every check that needs no encoding (/v1: the body's shape and its rows
 * array; /v2: the whole $inference_request).
 */
function parseRequest(context: PrepareContext, request: RawRequest): ParsedRequest {
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
    const rows = bodyRows(body, request.maxRows);
    return { rows: rows.length, body: rows };
  }
  const bytes = request.body === undefined ? Buffer.alloc(0) : Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength);
  const infer = parseInferRequest(bytes, request.binaryHeader, model, context.specs, request.maxRows);
  return { rows: infer.rows, infer };
}

/** The answer side of a parsed request (/v2: its id and outputs). */
function inferAnswer(parsed: ParsedRequest): InferAnswer | undefined {
  if (!parsed.infer) return undefined;
  const { id, outputs } = parsed.infer;
  return { ...(id !== undefined ? { id } : {}), outputs };
}

/**
 * The reference path for a parsed request, and the one that words every
 * refusal: /v1's rows checked key by key (parseRows), then encodeRows on
 * the rows (/v2: rows built from its tensors). `onRows` hears the row
 * count once the rows are known good to look at, before encoding may refuse them.
 */
function encodeParsed(context: PrepareContext, parsed: ParsedRequest, onRows?: (rows: number) => void): Record<string, HostTensor> {
  if (parsed.infer) {
    onRows?.(parsed.rows);
    return encodeRows(context.model, inferRows(parsed.infer));
  }
  checkRows(parsed.body, context.allowed, context.inputs);
  onRows?.(parsed.rows);
  return encodeRows(context.model, parsed.body as Record<string, unknown>[]);
}

/**
 * Body bytes → feeds, or a RequestError saying exactly what is wrong: the
 * JSON parse, validation and encoding of POST /v1/score and POST
 * /v2/models/{name}/infer, by the reference path (encodeRows; answerBatch
 * writes well-formed requests by the encoders' fast path instead, into the
 * batch's arrays, and gives the same values). `onRows` hears the row count
 * as soon as the body is parsed (for metrics), before encoding may refuse it.
 */
export function prepareRequest(context: PrepareContext, request: RawRequest, onRows?: (rows: number) => void): PreparedRequest {
  const parsed = parseRequest(context, request);
  const feeds = encodeParsed(context, parsed, onRows);
  const infer = inferAnswer(parsed);
  return { rows: parsed.rows, feeds, ...(infer ? { infer } : {}) };
}

/** A request's answer: the response body of its route (JSON text, or with the binary extension bytes after a JSON header of `headerLength` bytes). */
export interface Answer {
  rows: number;
  body: string | Uint8Array;
  headerLength?: number;
}

/**
 * The response body for a request's scores (rows [start, start + rows) of `scores`): POST /v1/score's {modelVersion,
 * model_version, predictions}, or /v2's $inference_response. Written
 * without building the response's objects, byte for byte what
 * JSON.stringify writes for them.
 */
export function answerRequest(context: PrepareContext, rows: number, infer: InferAnswer | undefined, scores: Scores, start = 0): Answer {
  const { model } = context;
  if (!infer) {
    // modelVersion: the content version, as before; model_version: the version serving (the same with --model).
    return { rows, body: `${context.v1Head}${scoreRowsJson(scores, model.predictions, rows, start)}}` };
  }
  const response = inferResponse(model, infer, scores, rows, start);
  return response.kind === 'json' ? { rows, body: response.body } : { rows, body: response.body, headerLength: response.headerLength };
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

/** An answered request or its refusal. */
export type AnswerOutcome = ({ ok: true } & Answer) | Refusal;

/** An error as a refusal: a RequestError's message and status, anything else's message alone (a 500); with the rows of a body that got that far. */
function refusal(e: unknown, rows: number | undefined): Refusal {
  const message = e instanceof Error ? e.message : String(e);
  const error = e instanceof RequestError ? { ok: false as const, message, status: e.statusCode } : { ok: false as const, message };
  return rows === undefined ? error : { ...error, rows };
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

/** The arrays one session run reads, for up to `capacity` rows. */
interface RunArrays {
  arrays: FeatureArrays;
  capacity: number;
}

function runArrays(layout: readonly FeedLayout[], capacity: number): RunArrays {
  const arrays: FeatureArrays = {};
  for (const l of layout) arrays[l.name] = l.float ? new Float32Array(capacity * l.width) : new Int32Array(capacity * l.width);
  return { arrays, capacity };
}

/** The first `rows` rows of a run's arrays as feeds (views, no copy). */
function runFeeds(layout: readonly FeedLayout[], run: RunArrays, rows: number): Feeds {
  const feeds: Feeds = {};
  for (const l of layout) {
    const data = run.arrays[l.name]!;
    feeds[l.name] = { shape: [rows, ...l.tail], data: rows === run.capacity ? data : data.subarray(0, rows * l.width) };
  }
  return feeds;
}

/**
 * Encodes a parsed request into rows [at, at + rows) of `arrays`: by the
 * encoders' fast path when it takes the request, else by the reference
 * path (which refuses it, or gives feeds that are copied in). Undefined,
 * or the refusal.
 */
function writeRequest(context: PrepareContext, parsed: ParsedRequest, arrays: FeatureArrays, at: number): Refusal | undefined {
  const { writer } = context;
  let rows: number | undefined;
  try {
    if (writer) {
      const { infer } = parsed;
      const fast = infer ? writer.writeColumns((c) => infer.columns.get(c), parsed.rows, arrays, at) : writer.writeRows(parsed.body, arrays, at);
      if (fast) return undefined;
    }
    const feeds = encodeParsed(context, parsed, (n) => (rows = n));
    for (const l of context.layout) arrays[l.name]!.set(feeds[l.name]!.data, at * l.width);
    return undefined;
  } catch (e) {
    // A bug (not a RequestError) fails this request alone, as a 500.
    return refusal(e, rows);
  }
}

/**
 * Answers a batch of requests: each is prepared on its own (a bad one is
 * refused without failing the others), the good ones are scored together
 * in session runs of at most `maxBatchRows` rows (a larger request runs
 * alone), and each gets its response body. A failing run rejects the
 * whole batch. The pool runs this in a worker; a scorer without workers,
 * on the HTTP thread.
 *
 * Each request is encoded straight into its run's arrays at its row
 * offset (one allocation per run, no per-request feeds to copy), by the
 * encoders' fast path when the request is well-formed, else by
 * prepareRequest's path, which gives the same values or the refusal.
 */
export async function answerBatch(context: PrepareContext, requests: readonly RawRequest[], maxBatchRows: number, run: (feeds: Feeds) => Promise<Scores>): Promise<AnsweredBatch> {
  const parsed = requests.map((r): ParsedRequest | Refusal => {
    try {
      return parseRequest(context, r);
    } catch (e) {
      return refusal(e, undefined);
    }
  });
  const outcomes: (AnswerOutcome | undefined)[] = parsed.map((p) => ('ok' in p ? p : undefined));
  // Rows of the parsed requests from k on: a run's arrays are sized for what can still join it.
  const later = new Array<number>(parsed.length + 1).fill(0);
  for (let k = parsed.length - 1; k >= 0; k--) later[k] = later[k + 1]! + ('ok' in parsed[k]! ? 0 : (parsed[k] as ParsedRequest).rows);
  const runs: number[] = [];
  let current: RunArrays | undefined;
  let members: { k: number; at: number; request: ParsedRequest }[] = [];
  let rows = 0;
  const flush = async () => {
    if (members.length === 0) return;
    // The arrays go with the run (a pool transfers their buffers): the next run gets new ones.
    const scores = await run(runFeeds(context.layout, current!, rows));
    for (const { k, at, request } of members) outcomes[k] = { ok: true, ...answerRequest(context, request.rows, inferAnswer(request), scores, at) };
    runs.push(rows);
    members = [];
    rows = 0;
    current = undefined;
  };
  for (const [k, p] of parsed.entries()) {
    if ('ok' in p) continue;
    const n = p.rows;
    // Joins the current run when it fits; else it starts the next one, which happens only once it is known to be good.
    const joins = current !== undefined && rows + n <= maxBatchRows && rows + n <= current.capacity;
    const target = joins ? current! : runArrays(context.layout, Math.max(n, Math.min(maxBatchRows, later[k]!)));
    const at = joins ? rows : 0;
    const refused = writeRequest(context, p, target.arrays, at);
    if (refused) {
      outcomes[k] = refused;
      continue;
    }
    if (!joins) {
      await flush();
      current = target;
    }
    members.push({ k, at, request: p });
    rows = at + n;
  }
  await flush();
  return { outcomes: outcomes as AnswerOutcome[], runs };
}
