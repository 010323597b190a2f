import { Command } from 'commander';
import { vi } from 'vitest';
import { registerExportCommand } from '../commands/export.js';

/** `esm2-train export …` in-process (errors thrown, not exited); what it printed to stdout. */
export async function exportCli(...args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  registerExportCommand(program);
  const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
  try {
    await program.parseAsync(['node', 'esm2-train', 'export', ...args]);
    return log.mock.calls.map((c) => c.join(' ')).join('\n');
  } finally {
    log.mockRestore();
  }
}
