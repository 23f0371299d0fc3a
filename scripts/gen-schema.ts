// Writes schema/experiment.schema.json from the one definition in src/spec/experiment.ts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { experimentSchema } from '../src/spec/experiment';

const out = path.resolve(__dirname, '../schema/experiment.schema.json');
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, JSON.stringify(experimentSchema, null, 2) + '\n');
console.log(`wrote ${out}`);
