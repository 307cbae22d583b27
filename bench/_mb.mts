import { scanJsonShape } from '../src/gateway/contract/json-guard.ts';
import { scanJsonStrict } from '../src/gateway/contract/json-strict.ts';
import { orderBody } from './scenarios.ts';
const b = Buffer.from(orderBody());
function bench(name: string, f: () => unknown) {
  for (let i = 0; i < 30000; i++) f();
  let best = Infinity;
  for (let r = 0; r < 5; r++) {
    const t = process.hrtime.bigint(); const N = 50000;
    for (let i = 0; i < N; i++) f();
    best = Math.min(best, Number(process.hrtime.bigint() - t) / N / 1000);
  }
  console.log(name.padEnd(12), best.toFixed(2), 'µs');
}
bench('shape', () => scanJsonShape(b));
bench('strict', () => scanJsonStrict(b));
