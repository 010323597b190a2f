/** The model artifact format (version 2; version 1 still read) that every backend reads and writes. */
export { artifactFromModel, type ArtifactExtras, type ArtifactModelInfo, type ModelArtifact, type StateTensor } from './artifact.js';
export { ArtifactError } from './errors.js';
export {
  ARTIFACT_FORMAT,
  ARTIFACT_FORMAT_VERSION,
  SUPPORTED_FORMAT_VERSIONS,
  MODEL_FILE,
  WEIGHTS_FILE,
  TENSOR_ALIGNMENT,
  modelJsonChecksum,
  modelJsonText,
  type TensorEntry,
  type TensorGroup,
  type WeightsManifest,
} from './format.js';
export { validateArtifact } from './validate.js';
export { encodeArtifact, writeArtifact } from './write.js';
export { readArtifact } from './read.js';
export { locateArtifact, BEST_ARTIFACT_DIR } from './locate.js';
