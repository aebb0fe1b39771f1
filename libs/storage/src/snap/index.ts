export { Snapshotter, type BrokenSnapshot, type SnapshotterOptions } from './snapshotter';
export {
  CHECKSUM_TRAILER_BYTES,
  readChecksummedFile,
  verifyChecksummedFile,
  writeChecksummedFile,
  type ChecksummedFileInfo,
} from './checksummed-file';
export { SnapError, SnapErrorCode } from './errors';
