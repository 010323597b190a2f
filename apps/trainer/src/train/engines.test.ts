import { backend as onnxBackend } from '@esm2/backend-onnx';
import { backend as tfjsBackend } from '@esm2/backend-tfjs';
import { backend as torchBackend } from '@esm2/backend-torch';
import { DEFAULT_OPTIMIZER } from '@esm2/core';
import { SPECIFICATION_VERSION } from '@esm2/core/backend';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BACKEND_NAMES, BACKENDS, backendDescriptor, backendName, DEFAULT_BACKEND, engineFactory, trainerFactory, type Listed } from './engines.js';
import { epochRunSettings, isEpochTrainerFactory } from './loop.js';

describe('the backend registry: a list of descriptors', () => {
  const packages = { onnx: onnxBackend, tfjs: tfjsBackend, torch: torchBackend };

  it('each backend package exports a v1 descriptor named as the registry lists it, documenting the options it reads', () => {
    expect(SPECIFICATION_VERSION).toBe('v1');
    expect(BACKEND_NAMES).toEqual(['onnx', 'tfjs', 'torch']);
    expect(DEFAULT_BACKEND).toBe('onnx');
    for (const name of BACKEND_NAMES) {
      const descriptor = packages[name];
      expect(descriptor.specificationVersion).toBe('v1');
      expect(descriptor.name).toBe(name);
      expect(descriptor.description).not.toBe('');
      for (const doc of Object.values(descriptor.options)) expect(doc).toMatch(/\w/);
    }
    expect([onnxBackend.kind, tfjsBackend.kind, torchBackend.kind]).toEqual(['steps', 'steps', 'epochs']);
    expect(Object.keys(onnxBackend.options).sort()).toEqual(['spinning', 'threads', 'workers']);
    expect(Object.keys(torchBackend.options).sort()).toEqual(['spinning', 'threads', 'torch', 'workers']);
  });

  it('finds each backend by name, loading its package, and makes its factory', async () => {
    for (const name of BACKEND_NAMES) expect(await backendDescriptor(name)).toBe(packages[name]);
    const onnx = await trainerFactory('onnx', { workers: 1, threads: 1 });
    expect(isEpochTrainerFactory(onnx) ? undefined : onnx.name).toBe('onnx');
    expect((await engineFactory('tfjs')).name).toBe('tfjs');
    const torch = await trainerFactory('torch', { threads: 1, torch: { nprocPerNode: 2 } });
    expect(isEpochTrainerFactory(torch) && { kind: torch.kind, name: torch.name, scoring: torch.scoring.name }).toEqual({ kind: 'epochs', name: 'torch', scoring: 'onnx' });
    // torch scores with the onnx engine, made with the options given (a bad one is refused when the factory is made).
    expect((await engineFactory('torch')).name).toBe('onnx');
    await expect(trainerFactory('torch', { threads: 0 })).rejects.toThrow(/threads/);
  });

  it("the torch descriptor's trainer refuses, before python starts, training data that is not a `data encode` directory", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'esm2-engines-'));
    try {
      const data = join(dir, 'train.csv');
      await writeFile(data, 'click\n1\n');
      const torch = await trainerFactory('torch');
      if (!isEpochTrainerFactory(torch)) throw new Error('torch is an epoch trainer');
      await expect(torch.check(epochRunSettings({ train: data, batchSize: 4, epochs: 1, optimizer: DEFAULT_OPTIMIZER }))).rejects.toThrow(
        `--backend torch reads encoded shards, and ${data} is not a \`data encode\` directory`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses an unknown name, a descriptor of another specification version or name, and says which optional package to install', async () => {
    expect(() => backendName('jax')).toThrow("unknown backend 'jax' (available: onnx, tfjs, torch)");
    await expect(backendDescriptor('jax')).rejects.toThrow("unknown backend 'jax' (available: onnx, tfjs, torch)");
    const v2 = { ...onnxBackend, specificationVersion: 'v2' };
    const listed: Listed[] = [
      { name: 'future', package: '@esm2/backend-future', load: () => Promise.resolve({ ...v2, name: 'future' }) },
      { name: 'renamed', load: () => Promise.resolve(onnxBackend) },
      // A package that is not installed: what a trainer without its optional peer meets.
      { name: 'absent', package: '@esm2/backend-absent', load: async () => ((await import(/* @vite-ignore */ ['@esm2', 'backend-absent'].join('/'))) as { backend: typeof onnxBackend }).backend },
    ];
    await expect(backendDescriptor('future', listed)).rejects.toThrow("backend 'future' (@esm2/backend-future) implements backend specification v2; this trainer reads v1");
    await expect(backendDescriptor('renamed', listed)).rejects.toThrow("backend 'renamed' (the trainer) describes itself as 'onnx'");
    await expect(backendDescriptor('absent', listed)).rejects.toThrow("backend 'absent' needs the optional package @esm2/backend-absent: install it beside @esm2/trainer (npm install @esm2/backend-absent)");
    expect(BACKENDS.map((b) => ('package' in b ? b.package : undefined))).toEqual([undefined, '@esm2/backend-tfjs', '@esm2/backend-torch']);
  });
});
