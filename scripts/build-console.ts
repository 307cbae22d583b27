// Builds the web console (src/console/app → src/console/dist). `--if-missing`: only when
// it is not built yet (`npm start`'s prestart). Prints the JavaScript size of the first load.
import { buildConsole, consoleBuilt } from '../src/console/build.ts';

if (process.argv.includes('--if-missing') && consoleBuilt()) process.exit(0);
const m = await buildConsole();
const kb = (n: number) => (n / 1024).toFixed(1);
console.log(
  `console built: ${m.files.map((f) => f.name).join(', ')} — first-load JavaScript ${kb(m.jsGzipBytes)} KB gzipped`,
);
