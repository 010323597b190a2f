/** Every artifact problem (invalid input, unreadable or corrupt files) is reported as one of these. */
export class ArtifactError extends Error {
  override name = 'ArtifactError';
}

/** Joins problems into one message, capped so a badly broken artifact still gives a readable error. */
export function listProblems(problems: readonly string[], max = 8): string {
  const shown = problems.slice(0, max).join('; ');
  return problems.length > max ? `${shown}; … and ${problems.length - max} more` : shown;
}
