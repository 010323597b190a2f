export { integer, nameList, optionParser, nonNegativeInt, nonNegativeNumber, oneOf, port, positiveInt, positiveIntPerField, positiveNumber, seed, wholeNumberIn, widthList } from './parsers.js';
export { userCwd, userPath } from './user-path.js';
export { Progress, type ProgressOptions, type ProgressStream, type ProgressUpdate } from './progress.js';
export { packageVersion, runCli, type CliInfo } from './run-cli.js';
