import * as tf from '@tensorflow/tfjs';

/** Which tfjs backend runs the math, and why. */
export interface TfRuntime {
  backend: string;
  description: string;
}

// A variable, not a literal: tfjs-node is an optional peer that may be absent,
// and neither TypeScript nor the bundler should try to resolve it.
const NODE_BINDING = '@tensorflow/tfjs-node';

let selected: Promise<TfRuntime> | undefined;

async function select(): Promise<TfRuntime> {
  // The cpu backend's "install tfjs-node" banner is printed unless in prod mode; we log our own line instead.
  tf.env().set('PROD', true);
  const forced = process.env.ESM2_TFJS_BACKEND;
  if (forced !== 'cpu') {
    try {
      await import(NODE_BINDING);
      if (await tf.setBackend('tensorflow')) {
        return { backend: 'tensorflow', description: 'tfjs-node (native TensorFlow)' };
      }
    } catch {
      // Not installed or its native library failed to load: fall through to the pure-JS backend.
    }
    if (forced === 'tensorflow') throw new Error(`ESM2_TFJS_BACKEND=tensorflow but ${NODE_BINDING} could not be loaded`);
  }
  if (!(await tf.setBackend('cpu'))) throw new Error('the tfjs cpu backend failed to initialise');
  return { backend: 'cpu', description: `tfjs cpu (pure JS; ${NODE_BINDING} not available)` };
}

/**
 * Picks the fastest tfjs backend that loads — tfjs-node when present, else
 * the pure-JS cpu backend — once per process, and logs the choice.
 * ESM2_TFJS_BACKEND=cpu forces cpu; =tensorflow makes a missing tfjs-node an error.
 */
export function selectTfBackend(log: (message: string) => void = (m) => process.stderr.write(`${m}\n`)): Promise<TfRuntime> {
  if (!selected) {
    selected = select().then((runtime) => {
      log(`tfjs backend: ${runtime.description}`);
      return runtime;
    });
    selected.catch(() => (selected = undefined));
  }
  return selected;
}
