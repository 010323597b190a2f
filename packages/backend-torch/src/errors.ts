/** How a torch run fails: no torch (or python) to run it, or a failed run. */

export const TORCH_INSTALL_HINT = 'install it with: apt-get install python3-torch (Debian), or use a python with torch via ESM2_PYTHON';

/** torch (or the python to run it) is not there; the message names the python and the package to install. */
export class TorchMissingError extends Error {
  override name = 'TorchMissingError';
  constructor(
    readonly python: string,
    detail: string,
  ) {
    super(`the torch backend needs PyTorch for Python under ${python}: ${detail}; ${TORCH_INSTALL_HINT}`);
  }
}

/** The torch run failed (bad request, an id outside its table…); `stderr` holds the end of python's output. */
export class TorchRunError extends Error {
  override name = 'TorchRunError';
  constructor(
    message: string,
    readonly stderr = '',
  ) {
    super(message);
  }
}
