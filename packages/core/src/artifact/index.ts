/**
 * The model artifact format (version 2; version 1 still read) that every backend reads and writes:
 * the in-memory artifact, its schema and validation. Reading and writing the files is in node.ts.
 */
export { artifactFromModel, type ArtifactExtras, type ArtifactModelInfo, type ModelArtifact, type StateTensor } from './artifact.js';
export { ArtifactError } from './errors.js';
export {
  ARTIFACT_FORMAT,
  ARTIFACT_FORMAT_VERSION,
  SUPPORTED_FORMAT_VERSIONS,
  MODEL_FILE,
  WEIGHTS_FILE,
  TENSOR_ALIGNMENT,
  type TensorEntry,
  type TensorGroup,
  type WeightsManifest,
} from './format.js';
export { validateArtifact } from './validate.js';
