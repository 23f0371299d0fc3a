/** Datasets: readers, downloads, the synthetic offline set and pure preprocessing (no tfjs). */
export type { Dataset, Split } from './types';
export { DATASET_DEFAULTS, DATASET_NAMES, datasetSpecSchema, validateDatasetSpec } from '../spec/dataset';
export type { DatasetName, DatasetSpec } from '../spec/dataset';
export { datasetSource, loadDataset, sniffPath, summarizeDataset } from './load';
export type { DatasetSummary, LoadOptions } from './load';
export { CIFAR10_CLASSES, parseCifarRecords, readCifar10, readCifar100 } from './cifar';
export { FASHION_MNIST_CLASSES, MNIST_CLASSES, parseIdx, readIdxPair, readMnistDir } from './idx';
export { readImageFolders } from './folder';
export type { FolderOptions } from './folder';
export { decodeImage, resizeBilinear } from './images';
export { listTar, walkTar } from './tar';
export type { TarEntry } from './tar';
export { DOWNLOADS, DownloadError, defaultCacheDir, downloadFile, ensureDataset, md5File, resolveUrl } from './download';
export type { DownloadOptions, Progress, RemoteFile } from './download';
export { generateSynthetic, SYNTHETIC_CLASSES, syntheticDataset } from './synthetic';
export { balancedLimit, channelStats, classCounts, splitValidation, subsetSplit, toFloatBatch } from './preprocess';
export { mulberry32, shuffleInPlace } from '../spec/rng';
