// The learning proxy for benchmarks, as `rampart learn` runs it: src/learn only, no gateway
// loaded. argv: upstream URL, scenario name (one with `learn` in bench/scenarios.ts).
import { Learner } from '../src/learn/learner.ts';
import { LearningProxy } from '../src/learn/proxy.ts';
import { scenarios } from './scenarios.ts';

const [upstream, scenarioName] = process.argv.slice(2) as [string, string];
const scenario = scenarios[scenarioName];
if (!scenario?.learn) throw new Error(`not a learn scenario: ${scenarioName}`);
const learner = new Learner();
const proxy = new LearningProxy({ upstream, learner, sample: scenario.learn.sample });
await proxy.start();
process.stdout.write(JSON.stringify({ port: Number(new URL(proxy.url).port) }) + '\n');
process.on('SIGTERM', () => {
  void proxy.close().then(() => {
    process.stderr.write(
      `learned ${learner.stats.learned} exchanges, skipped ${JSON.stringify(learner.stats.skipped)}\n`,
    );
    process.exit(0);
  });
});
