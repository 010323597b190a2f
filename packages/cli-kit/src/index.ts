export { integer, nameList, nonNegativeInt, nonNegativeNumber, oneOf, positiveInt, positiveNumber, widthList } from './parsers.js';
export { userCwd, userPath } from './user-path.js';
export { Progress, type ProgressOptions, type ProgressStream, type ProgressUpdate } from './progress.js';
export { packageVersion, runCli, type CliInfo } from './run-cli.js';
