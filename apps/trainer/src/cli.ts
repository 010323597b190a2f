#!/usr/bin/env node
/**
 * esm2-train: one binary for the model's whole life: data preparation,
 * fitting, evaluation and export. Each subcommand lives in its own module.
 */
import { packageVersion, runCli } from '@esm2/cli-kit';
import { trainerProgram } from './program.js';

await runCli(trainerProgram(), { name: 'esm2-train', version: packageVersion(import.meta.url) });
