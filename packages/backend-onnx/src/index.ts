/**
 * @esm2/backend-onnx: IR → ONNX through one lowering table, ONNX protobuf
 * serialization, and scoring with onnxruntime-node. `backend` is its
 * descriptor (@esm2/core/backend): `esm2-train fit --backend onnx`.
 */
export { backend } from './backend.js';
export { lowerings, type Lowering, type LoweringArgs } from './lower/table.js';
export { compileGraph, type CompileOptions } from './lower/compile.js';
export type { IdType } from './lower/builder.js';
export { modelProto, OPSET_VERSION, IR_VERSION, type ModelProtoOptions } from './lower/model.js';
export { encodeModel, decodeModel, decodeGraphInputs, decodeMetadataProps } from './proto/codec.js';
export type * from './proto/types.js';
export { DataType, AttributeType, DataLocation } from './proto/types.js';
export { artifactToModelProto, exportArtifactToOnnx, scoringOutputs, type OnnxExportOptions } from './export/export.js';
export { writeOnnxModel, type WrittenModel } from './export/write-model.js';
export { withRawFeatureInputs, ML_DOMAIN, ML_OPSET_VERSION, type RawFieldEncoding, type RawInputInfo } from './export/raw-features.js';
export { PROTOBUF_LIMIT, needsExternalData, externalize, type ExternalDataOptions } from './export/external-data.js';
export { METADATA_KEYS, EXPORT_FORMAT, LEGACY_EXPORT_FORMAT, contentVersion, exportMetadata, parseExportMetadata, type OnnxModelInfo } from './export/metadata.js';
export { readOnnxInfo, readVerifiedOnnx, onnxInfoFromBytes, irInputs, type VerifiedOnnx } from './export/read-info.js';
export { checkChecksum, type ChecksumStatus } from './export/checksum.js';
export { verifyExport, verifyRawExport, type RawVerifySample, type VerifyResult } from './export/verify.js';
export {
  DEFAULT_TRITON_MAX_BATCH_SIZE,
  TRITON_CONFIG_FILE,
  TRITON_MODEL_FILE,
  TRITON_PLATFORM,
  checkTritonModelName,
  exportArtifactToTriton,
  formatTritonConfig,
  parseTritonConfig,
  readTritonConfig,
  tritonConfig,
  tritonModelFile,
  tritonVersions,
  type TritonExportOptions,
  type TritonModelConfig,
  type TritonTensorConfig,
  type WrittenTritonModel,
} from './export/triton.js';
export { OnnxSession, type SessionOptions, type SessionOutputs, type StringTensor } from './runtime/session.js';
export { createOnnxTrainingEngine, onnxCompiler, type OnnxEngineOptions } from './train/engine.js';
export { onnxEngineFactory } from './train/factory.js';
