/**
 * A zero-copy Identity for the wasm backend. tfjs calls Identity for every tensor it keeps for the
 * backward pass (and for tf.clone); wasm's kernel copies the data (≈ 260 copies, ≈ 14 ms per
 * ResNet-18 ×1/8 training step) where the cpu backend's shares it. tfjs tensors are immutable
 * (a variable's assign swaps its data id, kernels never write their inputs), so sharing the data
 * with one more reference, as wasm's own Reshape does, is the same function.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { incRef, replaceKernel } from './tfjs-internals';

/** Replaces wasm's Identity kernel (`on`) or puts tfjs's copying one back. */
export function installZeroCopyIdentity(on = true): void {
  replaceKernel('Identity', 'wasm', on, (stock) => ({
    kernelName: 'Identity',
    backendName: 'wasm',
    kernelFunc: (args) => {
      const x = args.inputs.x as tf.TensorInfo;
      if (x.dtype === 'string') return stock.kernelFunc(args) as tf.TensorInfo;
      incRef(args.backend, x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  }));
}
