/**
 * Writes the JSON network spec the PyTorch reference builds from:
 *   node --import tsx bench/write-spec.ts <backbone> <width> <out.json> [ungated]
 */
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { MultiExitNetwork } from '../src/engine/tfjs/network';
import { benchNetworkConfig, netSpec } from './lib/netspec';

async function main(): Promise<void> {
  const [backbone, width, out, ungated] = process.argv.slice(2);
  await tf.setBackend('cpu');
  const net = new MultiExitNetwork(benchNetworkConfig(backbone as 'resnet18', Number(width), ungated !== 'ungated'));
  fs.writeFileSync(out, JSON.stringify(netSpec(net), null, 1));
  net.dispose();
}
void main();
